//! Finding people to talk to.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use natter::protocol::{ErrorView, UserView};
use serde::Deserialize;

use crate::credentials::CurrentUser;
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/users", get(search_users))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct Search {
    /// Name prefix, 1 to 32 characters, any case
    q: String,
    /// At most this many users (1 to 200, default 10)
    limit: Option<i64>,
}

/// `GET /api/users?q=<prefix>&limit=<n>`: users whose name starts with `q` (any case), the
/// caller excluded; 400 `invalidQuery` for an empty `q` or a limit out of 1..=200.
#[utoipa::path(get, path = "/api/users", tag = "users", params(Search), security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Matching users, by name", body = [UserView]),
        (status = 400, description = "`invalidQuery`", body = ErrorView),
        (status = 401, description = "Not signed in", body = ErrorView),
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
