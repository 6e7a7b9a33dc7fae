//! Who is calling: the token from a request (session cookie, `Authorization: Bearer`, or
//! `?token=` for WebSocket clients that cannot set headers), checked by the chat core. Every
//! transport authenticates through here; none reads identity from a payload.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use natter::{AuthUser, Chat, ChatError};

use crate::http::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "natter_session";

/// The token a request presents, from the first place that has one: bearer header, cookie,
/// then the `token` query parameter.
pub fn token_from(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    bearer
        .or_else(|| cookie(headers, COOKIE_NAME))
        .or_else(|| query.and_then(query_token))
        .filter(|t| !t.is_empty())
}

/// Authenticates a request's headers and query with the chat core.
pub async fn authenticate(
    chat: &Chat,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<AuthUser, ChatError> {
    let token = token_from(headers, query).ok_or(ChatError::Unauthenticated)?;
    chat.auth().authenticate(&token).await
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn query_token(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "token")
        .map(|(_, value)| value.to_owned())
}

/// `Set-Cookie` for a fresh login: HttpOnly (scripts cannot read it), SameSite=Lax (not sent
/// on cross-site posts), Secure when configured.
pub fn session_cookie(
    token: &str,
    max_age_secs: u64,
    secure: bool,
) -> (axum::http::HeaderName, HeaderValue) {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    );
    (
        SET_COOKIE,
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> (axum::http::HeaderName, HeaderValue) {
    session_cookie("", 0, secure)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_header_wins_over_cookie_and_query() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; natter_session=from-cookie"),
        );
        assert_eq!(
            token_from(&headers, Some("token=from-query")).as_deref(),
            Some("from-cookie")
        );
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer from-header"),
        );
        assert_eq!(token_from(&headers, None).as_deref(), Some("from-header"));
        assert_eq!(
            token_from(&HeaderMap::new(), Some("x=1&token=q")).as_deref(),
            Some("q")
        );
        assert_eq!(token_from(&HeaderMap::new(), Some("token=")), None);
    }
}
