//! The one error type of every server function: either the chat core refused (its wire
//! `ErrorView`: code and message, shown to the person as is) or the call itself failed on the
//! way (network, encoding). It owns the translation from `ChatError` on the server and never
//! carries a source error (SQL, I/O) to the browser.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use natter::protocol::{ErrorCode, ErrorView};
use serde::{Deserialize, Serialize};

/// Why a server function did not return its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// The chat core said no: wrong password, taken name, unknown user…
    Refused(ErrorView),
    /// The call did not complete: the server could not be reached or answered nonsense.
    Transport(String),
}

impl AppError {
    /// The wire code when the chat core refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused(view) => Some(view.code),
            Self::Transport(_) => None,
        }
    }

    /// A sentence for the person using the app.
    pub fn message(&self) -> String {
        match self {
            Self::Refused(view) => sentence(&view.message),
            Self::Transport(_) => {
                "Could not reach natter. Check your connection and try again.".to_owned()
            }
        }
    }
}

/// The core's messages start in lower case (they are also API errors); a UI line starts
/// with a capital.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(view) => write!(f, "{}: {}", view.code, view.message),
            Self::Transport(detail) => write!(f, "server function call failed: {detail}"),
        }
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

/// A refusal answers the server function's request with the status the REST API gives the
/// same error (401 wrong password, 409 taken name…), so a refused sign-in is not logged as a
/// server failure (500, server_fn's default).
#[cfg(feature = "ssr")]
impl From<natter::ChatError> for AppError {
    fn from(error: natter::ChatError) -> Self {
        if error.is_internal() {
            tracing::error!(error = ?error, "server function failed");
        }
        let view = ErrorView::from(&error);
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http_status(view.code));
        }
        Self::Refused(view)
    }
}

/// The HTTP status of an error code, as the REST API answers it.
#[cfg(feature = "ssr")]
fn http_status(code: ErrorCode) -> axum::http::StatusCode {
    axum::http::StatusCode::from_u16(code.http_status())
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_a_sentence_and_keeps_its_code() {
        let error = AppError::Refused(ErrorView::new(
            ErrorCode::WrongCredentials,
            "wrong username or password",
        ));
        assert_eq!(error.message(), "Wrong username or password");
        assert_eq!(error.code(), Some(ErrorCode::WrongCredentials));
    }

    #[test]
    fn a_transport_failure_does_not_show_its_technical_detail() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::Request("dns".into()));
        assert!(!error.message().contains("dns"));
        assert_eq!(error.code(), None);
    }
}
