//! Accounts and sessions: register, log in, log out, who am I.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use natter::auth::{ClientAddr, Issued};
use natter::protocol::{AuthResponse, Credentials, ErrorView, UserView};

use axum::http::header::SET_COOKIE;

use crate::credentials::CurrentUser;
use crate::http::body::JsonBody;
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/me", get(me))
}

/// `POST /api/auth/register`: creates an account and signs it in; 201 with a token and the
/// session cookie; 409 if the name is taken (any case), 422 if name or password break the rules
/// (a common or guessable password, or the username), 429 past the sign-up limits, 503 when
/// password hashing is saturated.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = Credentials,
    responses(
        (status = 201, description = "Account created and signed in; sets the session cookie", body = AuthResponse),
        (status = 409, description = "`usernameTaken`", body = ErrorView),
        (status = 422, description = "`invalidUsername`, `invalidPassword`, `invalidPayload`", body = ErrorView),
        (status = 429, description = "`rateLimited`, with `Retry-After`", body = ErrorView),
        (status = 503, description = "`serverBusy`, with `Retry-After`", body = ErrorView),
    ))]
pub(crate) async fn register(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    body: Result<JsonBody<Credentials>, ApiError>,
) -> Result<Response, ApiError> {
    let JsonBody(credentials) = body?;
    let issued = state
        .chat
        .auth()
        .register(client, &credentials.username, &credentials.password)
        .await?;
    Ok(signed_in(&state, StatusCode::CREATED, issued))
}

/// `POST /api/auth/login`: 200 with a token and the session cookie; 401 `wrongCredentials`;
/// 429 past the sign-in limits; 503 when password hashing is saturated.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in; sets the session cookie", body = AuthResponse),
        (status = 401, description = "`wrongCredentials`", body = ErrorView),
        (status = 422, description = "`invalidPayload`", body = ErrorView),
        (status = 429, description = "`rateLimited`, with `Retry-After`", body = ErrorView),
        (status = 503, description = "`serverBusy`, with `Retry-After`", body = ErrorView),
    ))]
pub(crate) async fn login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    body: Result<JsonBody<Credentials>, ApiError>,
) -> Result<Response, ApiError> {
    let JsonBody(credentials) = body?;
    let issued = state
        .chat
        .auth()
        .login(client, &credentials.username, &credentials.password)
        .await?;
    Ok(signed_in(&state, StatusCode::OK, issued))
}

/// `POST /api/auth/logout`: ends the caller's session (its token stops working everywhere)
/// and clears the cookie; 204.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Session ended; the cookie is cleared"),
    ))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Response, ApiError> {
    state.chat.logout(&me).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, state.chat.auth().cleared_cookie())],
    )
        .into_response())
}

/// `GET /api/me`: the signed-in user.
#[utoipa::path(get, path = "/api/me", tag = "auth", security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserView),
    ))]
pub(crate) async fn me(CurrentUser(me): CurrentUser) -> Json<UserView> {
    Json(UserView::from(&me.user))
}

fn signed_in(state: &AppState, status: StatusCode, issued: Issued) -> Response {
    let cookie = (SET_COOKIE, state.chat.auth().session_cookie(&issued.token));
    let body = AuthResponse {
        token: issued.token,
        user: UserView::from(&issued.user),
    };
    (status, [cookie], Json(body)).into_response()
}
