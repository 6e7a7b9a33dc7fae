//! natter's server: the axum router that puts the site, the REST API and the sockets in front
//! of the chat core, and the lifecycle around it (start-up, graceful shutdown).

pub mod config;
pub mod credentials;
pub mod http;
pub mod socketio;
pub mod state;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use natter::{Chat, ChatConfig, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::state::{AppState, Settings};

/// The version reported by `/healthz` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A configured server, ready to serve.
pub struct App {
    /// Where `main` binds.
    pub addr: SocketAddr,
    pub state: AppState,
    grace: Duration,
}

impl App {
    /// Opens storage (applying migrations), loads or creates the signing secret, and builds
    /// the state every handler shares.
    pub async fn build(config: Config, leptos: LeptosOptions) -> anyhow::Result<Self> {
        let addr = config.addr.unwrap_or(leptos.site_addr);
        let store = Store::connect(&config.database_url, config.db_connections)
            .await
            .with_context(|| format!("opening the database {}", redact(&config.database_url)))?;
        let secret = signing_secret(&config)?;
        let chat = Chat::new(
            store,
            secret.as_bytes(),
            ChatConfig {
                max_message_chars: config.max_message_chars,
                room_buffer: config.room_buffer,
                token_ttl: Duration::from_secs(config.token_ttl_minutes.saturating_mul(60)),
                secure_cookies: config.secure_cookies,
                send_per_second: config.send_rate,
                send_burst: config.send_burst,
                login_per_minute: config.login_rate,
                ..ChatConfig::default()
            },
        );
        let state = AppState {
            chat,
            leptos,
            settings: Arc::new(Settings {
                allowed_origins: config.allowed_origins.clone(),
                max_frame_bytes: config.max_frame_bytes,
                write_timeout: Duration::from_secs(config.write_timeout_secs),
            }),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
        };
        Ok(Self {
            addr,
            state,
            grace: Duration::from_secs(config.shutdown_grace_secs),
        })
    }

    /// Serves until `signal` resolves, then stops accepting, tells every socket the server is
    /// going away (1001), and waits up to the grace period for work in flight.
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mut state = self.state.clone();
        if let Ok(local) = listener.local_addr() {
            // The port may have been chosen by the OS (port 0): let that origin in too.
            let mut settings = (*state.settings).clone();
            settings.allowed_origins.push(format!("http://{local}"));
            if local.ip().is_loopback() {
                settings
                    .allowed_origins
                    .push(format!("http://localhost:{}", local.port()));
            }
            state.settings = Arc::new(settings);
        }
        let shutdown = state.shutdown.clone();
        let router = router(state.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            signal.await;
            stop.cancel();
        });
        // Answers go out at once instead of waiting for the client's next ACK (Nagle's
        // algorithm held a busy sender's acks back one send interval: PERFORMANCE.md, finding 2).
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("serving")?;
        state.connections.close();
        if tokio::time::timeout(self.grace, state.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the grace period; exiting anyway");
        }
        state.chat.store().close().await;
        Ok(())
    }
}

/// Every route: REST, sockets (native and Socket.IO), health, server functions and the Leptos
/// site. Must run inside the Tokio runtime (Socket.IO spawns its shutdown task).
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let leptos = state.leptos.clone();
    let chat = state.chat.clone();
    let body_limit = DefaultBodyLimit::max(state.settings.max_frame_bytes);
    Router::new()
        .merge(http::routes())
        .merge(ws::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || leptos::context::provide_context(chat.clone()),
            move || app::shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(body_limit)
        // The site's wasm and JS shrink to about a third with brotli; small and upgrade
        // (WebSocket) responses are left alone by the default predicate.
        .layer(CompressionLayer::new())
        // Socket.IO answers `/socket.io/` itself and passes every other request on.
        .layer(socketio::layer(&state))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The configured secret, or the one kept in the data folder (created on first start).
fn signing_secret(config: &Config) -> anyhow::Result<String> {
    if let Some(secret) = &config.jwt_secret {
        anyhow::ensure!(secret.len() >= 32, "--jwt-secret must be at least 32 bytes");
        return Ok(secret.clone());
    }
    let path = config.data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= 32 => return Ok(secret.trim().to_owned()),
        Ok(_) => anyhow::bail!("{} is shorter than 32 bytes", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let secret = natter::auth::Auth::generate_secret();
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a token-signing secret");
    Ok(secret)
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// A database URL without its password, for logs and errors.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
