//! Who is calling: the token a request presents (`natter::auth::token_from`: bearer header,
//! session cookie, or `?token=`), checked by the chat core. Every axum transport authenticates
//! through here; none reads identity from a payload.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use natter::auth::token_from;
use natter::{AuthUser, Chat, ChatError};

use crate::http::error::ApiError;
use crate::state::AppState;

/// Authenticates a request's headers and query with the chat core.
pub async fn authenticate(
    chat: &Chat,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<AuthUser, ChatError> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let cookies = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let token = token_from(authorization, cookies, query).ok_or(ChatError::Unauthenticated)?;
    chat.auth().authenticate(&token).await
}

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
        let user = authenticate(&state.chat, &parts.headers, parts.uri.query()).await?;
        parts.extensions.insert(user.clone());
        Ok(Self(user))
    }
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(user) => Ok(Some(user)),
            Err(ApiError::Chat(ChatError::Unauthenticated)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
