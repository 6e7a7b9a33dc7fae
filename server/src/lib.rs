//! natter's server: the axum router that puts the site, the REST API and the sockets in front
//! of the chat core, and the lifecycle around it (start-up, graceful shutdown).

pub mod assets;
pub mod cluster;
pub mod config;
pub mod credentials;
pub mod guard;
pub mod http;
pub mod listener;
pub mod push;
pub mod socket;
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
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use natter::{Chat, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::{CompressionLayer, Predicate, predicate::DefaultPredicate};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::listener::ListenLimits;
use crate::state::{AppState, Settings};

/// The version reported by `/healthz` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A configured server, ready to serve.
pub struct Application {
    /// Where `main` binds.
    pub addr: SocketAddr,
    pub state: AppState,
    grace: Duration,
    limits: ListenLimits,
    request_timeout: Duration,
    session_purge: Duration,
    drain: Duration,
    /// The relay's tasks, spawned when serving starts.
    relay: Option<natter::relay::RelayTasks>,
    /// Web Push's delivery task, spawned when serving starts.
    push: Option<push::Delivery>,
}

impl Application {
    /// Opens storage (applying migrations), loads or creates the signing secret, and builds
    /// the state every handler shares.
    pub async fn build(config: Config, leptos: LeptosOptions) -> anyhow::Result<Self> {
        let addr = config.addr.unwrap_or(leptos.site_addr);
        if config.redis_url.is_some()
            && natter::store::Engine::of_url(&config.database_url)? == natter::store::Engine::Sqlite
        {
            anyhow::bail!(
                "REDIS_URL joins several nodes, which must share one PostgreSQL database; \
                 DATABASE_URL names a SQLite file (use postgres://…, or leave REDIS_URL unset \
                 for a single node)"
            );
        }
        let store = Store::connect_with(
            &config.database_url,
            config.db_connections,
            Duration::from_secs(config.db_timeout_secs.max(1)),
        )
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database_url)))?;
        let secret = signing_secret(&config)?;
        let chat = Chat::new(store, secret.as_bytes(), config.chat());
        let shutdown = CancellationToken::new();
        let relay = match &config.redis_url {
            None => None,
            Some(url) => {
                let link = cluster::RedisLink::connect(url)
                    .await
                    .with_context(|| format!("connecting to Redis at {}", redact(url)))?;
                let node = config.node_id.clone().unwrap_or_else(generated_node_id);
                let mut relay = natter::relay::RelayConfig::new(node.clone());
                relay.check_every = Duration::from_secs(config.position_check_secs.max(1));
                relay.drop_one_in = config.relay_drop_one_in;
                chat.share_limits(link.clone())?;
                tracing::info!(%node, "joining the other nodes through Redis");
                Some(chat.attach_relay(link, relay, shutdown.clone())?)
            }
        };
        let (push, delivery) = if config.web_push {
            let contact = config.vapid_contact.clone().unwrap_or_default();
            let settings = push::PushConfig {
                contact,
                endpoints: push::EndpointPolicy {
                    loopback: config.web_push_loopback_endpoints,
                },
            };
            let (push, delivery) = push::WebPush::start(&chat, settings, shutdown.clone()).await?;
            tracing::info!("Web Push is on");
            (Some(push), Some(delivery))
        } else {
            (None, None)
        };
        let state = AppState {
            chat,
            leptos,
            settings: Arc::new(Settings {
                allowed_origins: config.allowed_origins.clone(),
                trusted_proxies: config.trusted_proxies.clone(),
                max_frame_bytes: config.max_frame_bytes,
                write_timeout: Duration::from_secs(config.write_timeout_secs),
            }),
            shutdown,
            connections: TaskTracker::new(),
            draining: Arc::default(),
            push,
        };
        let limits = ListenLimits {
            max_connections: config
                .max_connections
                .unwrap_or_else(|| listener::default_max_connections(config.db_connections)),
            header_timeout: Duration::from_secs(config.header_timeout_secs.max(1)),
        };
        Ok(Self {
            addr,
            state,
            grace: Duration::from_secs(config.shutdown_grace_secs),
            limits,
            request_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
            session_purge: Duration::from_secs(config.session_purge_secs.max(1)),
            drain: Duration::from_secs(config.drain_secs),
            relay,
            push: delivery,
        })
    }

    /// Serves until `signal` resolves, then drains (`/readyz` answers 503 for `--drain-secs`),
    /// stops accepting, tells every socket the server is going away (1001), and waits up to
    /// the grace period for work in flight.
    pub async fn serve(
        mut self,
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
        let router = router(state.clone(), self.request_timeout);
        let (stop, draining, drain) = (shutdown.clone(), state.draining.clone(), self.drain);
        tokio::spawn(async move {
            signal.await;
            draining.store(true, std::sync::atomic::Ordering::Release);
            if !drain.is_zero() {
                tracing::info!(?drain, "draining: not ready any more");
                tokio::time::sleep(drain).await;
            }
            stop.cancel();
        });
        if let Some(relay) = self.relay.take() {
            state.connections.spawn(relay.publisher);
            state.connections.spawn(relay.subscriber);
            state.connections.spawn(relay.checker);
        }
        if let Some(delivery) = self.push.take() {
            state.connections.spawn(delivery);
        }
        state.connections.spawn(purge_sessions(
            state.chat.clone(),
            self.session_purge,
            shutdown.clone(),
        ));
        tracing::info!(
            max_connections = self.limits.max_connections,
            "accepting connections"
        );
        listener::serve(
            listener,
            router,
            self.limits,
            shutdown,
            state.connections.clone(),
        )
        .await;
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
/// site, behind the checks of `guard`. A request that takes longer than `request_timeout` to
/// arrive and be answered gets 408 (Socket.IO's long-polls and upgraded sockets are not
/// requests in that sense). Must run inside the Tokio runtime (Socket.IO spawns its shutdown
/// task).
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let routes = generate_route_list(app::App);
    let leptos = state.leptos.clone();
    let chat = state.chat.clone();
    let body_limit = DefaultBodyLimit::max(state.settings.max_frame_bytes);
    let mut router = Router::new()
        .merge(assets::routes(&state.leptos))
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
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(guard::json_errors))
        .layer(axum::middleware::from_fn(http::error::log_failures))
        // Pages and API answers are compressed as they are made; the site's files come
        // precompressed from disk (`assets`). Small and upgrade (WebSocket) responses are left
        // alone by the default predicate.
        .layer(
            CompressionLayer::new()
                .compress_when(DefaultPredicate::new().and(assets::compressible)),
        )
        // Socket.IO answers `/socket.io/` itself and passes every other request on.
        .layer(socketio::layer(&state))
        .layer(from_fn_with_state(state.clone(), guard::same_origin_writes))
        .layer(from_fn_with_state(state.clone(), guard::body_size))
        .layer(from_fn_with_state(state.clone(), guard::client_address));
    for (name, value, overriding) in guard::security_headers() {
        router = if overriding {
            router.layer(SetResponseHeaderLayer::overriding(name, value))
        } else {
            router.layer(SetResponseHeaderLayer::if_not_present(name, value))
        };
    }
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            assets::REVALIDATE,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Deletes expired sessions and old personal-feed events every `every` until shutdown.
async fn purge_sessions(chat: Chat, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match chat.purge_expired_sessions().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged expired sessions"),
            Err(error) => tracing::warn!(error = ?error, "purging expired sessions failed"),
        }
        match chat.purge_old_events().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged old personal-feed events"),
            Err(error) => tracing::warn!(error = ?error, "purging old events failed"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
/// Connections the kernel queues for `accept` (capped by `net.core.somaxconn`, 4096 on
/// current Linux). The default of 128 drops SYNs when a crowd reconnects at once (after a
/// restart, a network blip): clients then wait a full SYN retransmit (1 s, 3 s, …).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for serving, with [`LISTEN_BACKLOG`].
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's and tokio's own bind do: a restart can reuse the port at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

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

/// A node name for a node started without one: host, process and a random tail.
fn generated_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "node".into());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() & 0xffff)
    )
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
