//! Who is calling, for REST handlers: the request's credential (the `Authorization: Bearer`
//! header or the session cookie, never the query string), checked by the chat core. Sockets
//! authenticate with the same core call at their upgrade, where the query may carry the token.
//! No transport reads identity from a payload.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use natter::AuthUser;
use natter::auth::Query;

use crate::http::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a REST handler; rejects with 401 otherwise.
pub struct CurrentUser(pub AuthUser);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(Self(user.clone()));
        }
        let user = state
            .chat
            .auth()
            .authenticate_request(&parts.headers, Query::Ignored)
            .await?;
        parts.extensions.insert(user.clone());
        Ok(Self(user))
    }
}
