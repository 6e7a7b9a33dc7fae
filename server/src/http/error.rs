//! REST errors: every failure is `{"code","message"}` JSON with the status its code implies;
//! a 401 also says how to authenticate (`WWW-Authenticate: Bearer`, RFC 9110 §15.5.2), a
//! refusal that can be retried says when (`Retry-After`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use natter::ChatError;
use natter::protocol::{ErrorCode, ErrorView};

/// Why a REST request failed.
#[derive(Debug)]
pub enum ApiError {
    Chat(ChatError),
    Body(JsonRejection),
    Query(QueryRejection),
    Path(PathRejection),
    /// A JSON body that is not the request's type (`body::JsonBody`).
    Decode(serde_path_to_error::Error<serde_json::Error>),
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        Self::Chat(error)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::Body(rejection)
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::Path(rejection)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Query(rejection)
    }
}

/// The HTTP status of a domain error: the one its wire code implies
/// (`ErrorCode::http_status`, shared with the server functions).
pub fn status_of(error: &ChatError) -> StatusCode {
    StatusCode::from_u16(error.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, view) = match &self {
            Self::Chat(error) => (status_of(error), ErrorView::from(error)),
            Self::Body(rejection) => body_error(rejection),
            Self::Query(rejection) => (
                StatusCode::BAD_REQUEST,
                ErrorView::new(ErrorCode::InvalidQuery, rejection.body_text()),
            ),
            Self::Path(rejection) => (
                StatusCode::BAD_REQUEST,
                ErrorView::new(ErrorCode::InvalidQuery, rejection.body_text()),
            ),
            // Worded as axum words the same refusal (`JsonDataError`).
            Self::Decode(error) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorView::new(
                    ErrorCode::InvalidPayload,
                    format!("Failed to deserialize the JSON body into the target type: {error}"),
                ),
            ),
        };
        let mut response = (status, Json(view)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::Chat(error) = &self
            && let Some(retry_after_ms) = error.retry_after_ms()
        {
            let secs = retry_after_ms.div_ceil(1000).max(1);
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
        }
        // Logged once, by `log_failures`, inside the request's span.
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// Logs the server's own failures (storage, internal) that a response carries, once per
/// request: handlers and extractors only return errors.
pub async fn log_failures(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(req).await;
    if let Some(error) = response.extensions().get::<Arc<ApiError>>()
        && let ApiError::Chat(error) = error.as_ref()
        && error.is_internal()
    {
        tracing::error!(error = ?error, "request failed");
    }
    response
}

fn body_error(rejection: &JsonRejection) -> (StatusCode, ErrorView) {
    match rejection {
        JsonRejection::JsonDataError(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorView::new(ErrorCode::InvalidPayload, e.body_text()),
        ),
        JsonRejection::JsonSyntaxError(e) => (
            StatusCode::BAD_REQUEST,
            ErrorView::new(ErrorCode::InvalidPayload, e.body_text()),
        ),
        JsonRejection::MissingJsonContentType(e) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorView::new(ErrorCode::InvalidPayload, e.body_text()),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorView::new(
                ErrorCode::PayloadTooLarge,
                "the request body is over the size limit",
            ),
        ),
        other => (
            other.status(),
            ErrorView::new(ErrorCode::InvalidPayload, other.body_text()),
        ),
    }
}
