//! What every request passes before it reaches a handler, and what every response carries.
//! Transports stay free of it; each check exists once, here:
//!
//! - the client's address ([`ClientAddr`], from the peer or a trusted proxy's
//!   `X-Forwarded-For`), for the sign-in and sign-up limits;
//! - a declared body over `--max-frame-bytes` is refused with 413 before a byte of it is read;
//!   a server function's body is read under the same bound (they are read whole);
//! - cross-site writes: a state-changing request that a browser could send with the session
//!   cookie must come from the server's own origin or an allowed one (issue 9, row 4);
//! - security headers (issue 9, row 5): `nosniff`, `Referrer-Policy`, no framing, and a
//!   `Content-Security-Policy` (pages get theirs, with a per-response nonce, from the app shell).

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::server_fn::error::{FromServerFnError, SERVER_FN_ERROR_HEADER};
use natter::ChatError;
use natter::auth::ClientAddr;
use natter::protocol::ErrorView;

use crate::http::error::{ApiError, status_of};
use crate::state::{AppState, Settings};

/// Where the server functions live; their errors have the app's encoding, not the API's.
pub const SERVER_FN_PREFIX: &str = "/_sf/";

/// Records the client's address in the request's extensions.
pub async fn client_address(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = peer.map_or(ClientAddr::LOCAL, |peer| {
        ClientAddr(client_ip(
            peer,
            req.headers(),
            &state.settings.trusted_proxies,
        ))
    });
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// The client behind `peer`: the peer itself unless it is a trusted proxy, then the
/// right-most `X-Forwarded-For` entry that is not one (entries further left are the client's
/// own claims and could be forged).
fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// Refuses a request whose declared body is over the limit, without reading it; reads a
/// server function's body whole, under the same limit.
pub async fn body_size(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let max = state.settings.max_frame_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || ChatError::PayloadTooLarge { max_bytes: max };
    if declared.is_some_and(|len| len > max as u64) {
        return refusal(req.uri().path(), too_large());
    }
    if !req.uri().path().starts_with(SERVER_FN_PREFIX) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, max).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => refusal(parts.uri.path(), too_large()),
    }
}

/// Refuses a cross-site state-changing request that rides on the session cookie.
///
/// Safe methods pass, and so do requests with an `Authorization` header (a browser cannot add
/// one to a cross-site request without a CORS preflight, which natter never grants) and
/// Socket.IO's transport requests (its handshake checks the origin, and each later request
/// needs the session id it returns). Every other request is judged by its `Origin` or, when a
/// browser sent none, its `Sec-Fetch-Site`; one with neither is not from a browser.
pub async fn same_origin_writes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe
        || req.headers().contains_key(header::AUTHORIZATION)
        || req.uri().path().starts_with("/socket.io/")
    {
        return next.run(req).await;
    }
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    let allowed = match origin_of(req.headers()) {
        Some(_) => origin_allowed(req.headers(), &state.settings),
        None => !matches!(fetch_site, Some("cross-site" | "same-site")),
    };
    if allowed {
        next.run(req).await
    } else {
        refusal(req.uri().path(), ChatError::ForeignOrigin)
    }
}

fn origin_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// A browser's `Origin` must be the server's own (its host is the request's `Host`) or one of
/// `--allowed-origins`. A request without one is not a browser's and passes; sockets and the
/// cross-site write check both judge origins with this.
pub fn origin_allowed(headers: &HeaderMap, settings: &Settings) -> bool {
    let Some(origin) = origin_of(headers) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    (host.is_some() && authority == host)
        || settings
            .allowed_origins
            .iter()
            .any(|o| o.trim_end_matches('/') == origin)
}

/// Gives a JSON body to an error answered without one (a 405 from the router, a 408 from the
/// request timeout): API errors are always `{code, message}`.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ChatError::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ChatError::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => ChatError::RequestTimeout,
        _ => return response,
    };
    let mut refused = refusal(&path, error);
    // Keep what the original answer said beyond its body (`Allow` on a 405).
    for (name, value) in response.headers() {
        refused
            .headers_mut()
            .entry(name)
            .or_insert_with(|| value.clone());
    }
    refused
}

/// The headers every response carries. A page's `Content-Security-Policy` is set by the app
/// shell (it holds the page's nonce); everything else gets the strictest one.
pub fn security_headers() -> [(HeaderName, HeaderValue, bool); 4] {
    [
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
            true,
        ),
        // Message text holds links; following one must not tell the other site which
        // conversation it was in. Within the site the referrer stays: a form posted before the
        // WASM has loaded is sent back to its page by it.
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
            true,
        ),
        (
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
            true,
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            false,
        ),
    ]
}

/// A refusal in the shape its caller reads: the server functions' error encoding under
/// [`SERVER_FN_PREFIX`], the API's `{code, message}` everywhere else.
pub fn refusal(path: &str, error: ChatError) -> Response {
    if !path.starts_with(SERVER_FN_PREFIX) {
        return ApiError::from(error).into_response();
    }
    let status = status_of(&error);
    let body = app::error::AppError::Refused(ErrorView::from(&error)).ser();
    let mut response = (status, body).into_response();
    if let Ok(value) = HeaderValue::from_str(path) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(SERVER_FN_ERROR_HEADER), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9"),
        );
        assert_eq!(
            client_ip(proxy, &headers, &[proxy]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let stranger: IpAddr = "198.51.100.2".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers, &[proxy]), stranger);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
