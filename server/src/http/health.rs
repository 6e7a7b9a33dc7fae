//! `GET /healthz`: liveness and the build version.

use axum::{Json, Router, routing::get};
use natter::protocol::Health;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// `GET /healthz`: 200 `{"status":"ok","version":…}` while the server runs.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Running", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: crate::VERSION.into(),
    })
}
