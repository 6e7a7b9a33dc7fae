//! The HTTP API under `/api` and `/healthz`: one module per resource, each exposing `routes()`.

mod auth;
mod body;
mod conversations;
pub mod error;
mod health;
mod openapi;
mod push;
mod users;

use axum::Router;
use axum::routing::any;
use natter::ChatError;

use crate::http::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(conversations::routes())
        .merge(openapi::routes())
        .merge(push::routes())
        .route("/api/{*rest}", any(no_such_route))
}

/// Any other path under `/api/`: a JSON 404 (not the site's HTML page).
async fn no_such_route() -> ApiError {
    ApiError::from(ChatError::RouteNotFound)
}
