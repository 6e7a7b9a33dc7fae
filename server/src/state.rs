//! What every handler can reach: the chat core, the site options and the server's lifecycle.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use natter::Chat;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Settings the transports need at request time.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Origins (scheme://host[:port]) that may open a socket or send a cookie-authenticated
    /// write besides the server's own (an Origin whose host matches the request's Host).
    pub allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub max_frame_bytes: usize,
    /// How long a socket write may wait for a client that is not reading before it is dropped.
    pub write_timeout: std::time::Duration,
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub chat: Chat,
    pub leptos: LeptosOptions,
    pub settings: Arc<Settings>,
    /// Cancelled when the server starts shutting down; long-lived connections watch it.
    pub shutdown: CancellationToken,
    /// Tracks upgraded sockets, which axum's graceful shutdown does not wait for.
    pub connections: TaskTracker,
    /// Set on SIGTERM, before the sockets are closed: `/readyz` answers 503 from then on.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Web Push, when the operator turned it on.
    pub push: Option<crate::push::WebPush>,
}
