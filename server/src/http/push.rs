//! Web Push for browsers: the server's public key, and storing or removing the caller's
//! subscription. With push off, every route answers 404 `notFound` saying so.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use natter::ChatError;
use natter::protocol::ErrorView;
use serde::Serialize;

use crate::credentials::CurrentUser;
use crate::http::body::JsonBody;
use crate::http::error::ApiError;
use crate::push::subscription::{SubscriptionRequest, UnsubscribeRequest};
use crate::push::{MAX_PER_USER, WebPush};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/push/key", get(public_key)).route(
        "/api/push/subscription",
        axum::routing::put(subscribe).delete(unsubscribe),
    )
}

/// The server's VAPID public key.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushKey {
    /// The uncompressed P-256 point, base64url: `pushManager.subscribe`'s
    /// `applicationServerKey`.
    pub public_key: String,
}

fn enabled(state: &AppState) -> Result<&WebPush, ApiError> {
    state
        .push
        .as_ref()
        .ok_or(ApiError::Chat(ChatError::PushDisabled))
}

/// `GET /api/push/key`: the key browsers subscribe with; 404 `notFound` when push is off.
#[utoipa::path(get, path = "/api/push/key", tag = "push",
    responses(
        (status = 200, description = "Push is on: the server's VAPID public key", body = PushKey),
        (status = 404, description = "`notFound`: Web Push is off on this server", body = ErrorView),
    ))]
pub(crate) async fn public_key(State(state): State<AppState>) -> Result<Json<PushKey>, ApiError> {
    Ok(Json(PushKey {
        public_key: enabled(&state)?.public_key().to_owned(),
    }))
}

/// `PUT /api/push/subscription` with `PushSubscription.toJSON()` (and `muted`): stores it for
/// the caller, for as long as this sign-in lasts, replacing what was stored for the endpoint;
/// the caller's 10 most recent are kept.
#[utoipa::path(put, path = "/api/push/subscription", tag = "push", request_body = SubscriptionRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Stored"),
        (status = 404, description = "`notFound`: Web Push is off on this server", body = ErrorView),
        (status = 422, description = "`invalidPayload`: the endpoint is not an https URL with a host name (or is over 1024 bytes), a key does not decode to its size (65-byte P-256 point, 16-byte secret), `muted` is over 1000 ids or names a non-id, a field is missing or unknown", body = ErrorView),
    ))]
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: Result<JsonBody<SubscriptionRequest>, ApiError>,
) -> Result<StatusCode, ApiError> {
    let push = enabled(&state)?;
    let JsonBody(request) = body?;
    let subscription = request.check(push.endpoints())?;
    state
        .chat
        .store()
        .save_push_subscription(me.id(), &me.session_id, &subscription, MAX_PER_USER)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/push/subscription` with `{"endpoint": "…"}`: the caller's subscription there
/// is removed (204 either way: what the caller wanted is true).
#[utoipa::path(delete, path = "/api/push/subscription", tag = "push", request_body = UnsubscribeRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "The caller has no subscription at that endpoint now"),
        (status = 404, description = "`notFound`: Web Push is off on this server", body = ErrorView),
        (status = 422, description = "`invalidPayload`: `endpoint` missing or not a string", body = ErrorView),
    ))]
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: Result<JsonBody<UnsubscribeRequest>, ApiError>,
) -> Result<StatusCode, ApiError> {
    enabled(&state)?;
    let JsonBody(request) = body?;
    state
        .chat
        .store()
        .delete_push_subscription(me.id(), &request.endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
