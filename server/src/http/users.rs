//! Finding people to talk to, and what the caller shares with them.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use natter::protocol::{ErrorView, Settings, UserView};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::credentials::CurrentUser;
use crate::http::body::JsonBody;
use crate::http::error::ApiError;
use crate::http::openapi;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(search_users))
        .route("/api/me/settings", get(settings).put(set_settings))
}

#[derive(Deserialize)]
pub(crate) struct Search {
    q: String,
    limit: Option<i64>,
}

impl utoipa::IntoParams for Search {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            openapi::query(
                "q",
                true,
                "Name prefix, any case; trimmed, then 1 to a username's length",
                openapi::search_prefix(),
            ),
            openapi::query(
                "limit",
                false,
                "At most this many users (default 10)",
                openapi::page_size(),
            ),
        ]
    }
}

/// `GET /api/users?q=<prefix>&limit=<n>`: users whose name starts with `q` (any case), the
/// caller excluded; 400 `invalidQuery` for an empty `q` or a limit out of 1..=200.
#[utoipa::path(get, path = "/api/users", tag = "users", params(Search), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Matching users, by name", body = [UserView]),
        (status = 400, description = "`invalidQuery`: `q` blank, too long or with a control character, `limit` out of range", body = ErrorView),
    ))]
pub(crate) async fn search_users(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    query: Result<Query<Search>, QueryRejection>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let Query(search) = query?;
    Ok(Json(
        state
            .chat
            .search_users(&me, &search.q, search.limit.unwrap_or(10))
            .await?,
    ))
}

/// `GET /api/me/settings`: what the caller shares with the people they talk to.
#[utoipa::path(get, path = "/api/me/settings", tag = "users", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The caller's settings", body = Settings)))]
pub(crate) async fn settings(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(state.chat.settings(&me).await?))
}

/// `PUT /api/me/settings` with `{"sharePresence": bool, "shareTyping": bool}`: hiding presence
/// also hides everyone else's from the caller; the people they talk to are told at once.
#[utoipa::path(put, path = "/api/me/settings", tag = "users", request_body = Settings,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The settings as stored", body = Settings),
        (status = 422, description = "`invalidPayload`: a field missing, unknown or not a boolean", body = ErrorView),
    ))]
pub(crate) async fn set_settings(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: Result<JsonBody<Settings>, ApiError>,
) -> Result<Json<Settings>, ApiError> {
    let JsonBody(settings) = body?;
    Ok(Json(state.chat.set_settings(&me, settings).await?))
}
