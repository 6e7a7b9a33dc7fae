//! Server functions: the browser's request/response calls, for signing in and out and for
//! loading data. Each is a public `POST /_sf/<name>` endpoint (a prefix apart from the REST
//! API's `/api/`), so each authenticates its caller from the request's cookie or bearer token
//! exactly as a REST handler does, and leaves every rule to the chat core. Live traffic
//! (sending, receiving) goes over the WebSocket instead.

mod auth;
mod chat;
mod page;

pub use auth::*;
pub use chat::*;
pub use page::*;

/// What every server function body needs: the chat core and who is calling.
#[cfg(feature = "ssr")]
mod caller {
    use axum::Extension;
    use axum::http::HeaderMap;
    use axum::http::header::{HeaderValue, SET_COOKIE};
    use leptos::prelude::expect_context;
    use leptos::server_fn::error::FromServerFnError;
    use natter::auth::{ClientAddr, Query};
    use natter::{AuthUser, Chat, ChatError};

    use crate::error::AppError;

    /// The chat core the server provides to every server function and render.
    pub fn chat() -> Chat {
        expect_context::<Chat>()
    }

    /// The authenticated caller, from the `Authorization` header or the session cookie.
    pub async fn authenticate(chat: &Chat) -> Result<Result<AuthUser, ChatError>, AppError> {
        let headers: HeaderMap = leptos_axum::extract()
            .await
            .map_err(AppError::from_server_fn_error)?;
        Ok(chat
            .auth()
            .authenticate_request(&headers, Query::Ignored)
            .await)
    }

    /// The caller's network address (the server records it for every request).
    pub async fn client() -> Result<ClientAddr, AppError> {
        let Extension(client) = leptos_axum::extract::<Extension<ClientAddr>>()
            .await
            .map_err(AppError::from_server_fn_error)?;
        Ok(client)
    }

    /// The caller, or the refusal a REST handler would give (unauthenticated, expired…).
    pub async fn require(chat: &Chat) -> Result<AuthUser, AppError> {
        Ok(authenticate(chat).await??)
    }

    /// Adds a `Set-Cookie` header to the response.
    pub fn set_cookie(value: &str) -> Result<(), AppError> {
        let value = HeaderValue::from_str(value)
            .map_err(|e| AppError::from(ChatError::internal("setting the session cookie", e)))?;
        expect_context::<leptos_axum::ResponseOptions>().append_header(SET_COOKIE, value);
        Ok(())
    }
}
