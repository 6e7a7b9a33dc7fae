//! `GET /healthz`: liveness and the build version.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router, routing::get};
use natter::protocol::Health;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// `GET /healthz`: 200 `{"status":"ok","version":…}` while the server runs.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Running", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: crate::VERSION.into(),
    })
}

/// `GET /readyz`: 200 while this node can serve — its database answers and, with several
/// nodes, its relay is subscribed and hears its own probe — and 503 with the reason while it
/// cannot or is draining (after SIGTERM). Load balancers route by it; `/healthz` only says the
/// process runs.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready", body = Health),
    (status = 503, description = "Starting, draining, or a dependency is out of reach", body = Health),
))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let problem = if state.draining.load(Ordering::Acquire) {
        Some("draining")
    } else if tokio::time::timeout(Duration::from_secs(1), state.chat.store().ping())
        .await
        .map_or(true, |answer| answer.is_err())
    {
        Some("database unreachable")
    } else if state.chat.relay().is_some_and(|relay| !relay.subscribed()) {
        Some("relay not subscribed")
    } else if state.chat.relay().is_some_and(|relay| !relay.healthy()) {
        // Subscribed, yet its own probe has not come back: a hung Redis looks exactly so.
        Some("relay silent")
    } else {
        None
    };
    let status = match problem {
        None => StatusCode::OK,
        Some(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        Json(Health {
            status: problem.unwrap_or("ready").into(),
            version: crate::VERSION.into(),
        }),
    )
}
