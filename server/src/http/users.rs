//! Finding people to talk to.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use natter::protocol::UserView;
use serde::Deserialize;

use crate::credentials::CurrentUser;
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/users", get(search_users))
}

#[derive(Deserialize)]
struct Search {
    q: String,
    limit: Option<i64>,
}

/// `GET /api/users?q=<prefix>&limit=<n>`: users whose name starts with `q` (any case), the
/// caller excluded; 400 `invalidQuery` for an empty `q` or a limit out of 1..=200.
async fn search_users(
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
