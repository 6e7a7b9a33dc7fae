//! Finding people to talk to.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use natter::protocol::{ErrorView, UserView};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::credentials::CurrentUser;
use crate::http::error::ApiError;
use crate::http::openapi;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/users", get(search_users))
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
