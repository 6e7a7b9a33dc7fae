//! The HTTP API under `/api` and `/healthz`: one module per resource, each exposing `routes()`.

mod auth;
mod conversations;
pub mod error;
mod health;
mod openapi;
mod users;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(conversations::routes())
        .merge(openapi::routes())
}
