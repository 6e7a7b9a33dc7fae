//! The server's settings: one `clap` struct, from flags or environment variables.
//! `natter --help` lists every option with its default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Clone, Debug, Parser)]
#[command(
    name = "natter",
    version,
    about = "natter: real-time chat over WebSocket, Socket.IO and REST"
)]
pub struct Config {
    /// Address to listen on [default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000]
    #[arg(long, env = "NATTER_ADDR")]
    pub addr: Option<SocketAddr>,

    /// Database URL: sqlite://<file> (embedded; file and folder created on first start) or
    /// postgres://user@host:port/db
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/natter.db")]
    pub database_url: String,

    /// Folder for local state: the generated token-signing secret
    #[arg(long, env = "NATTER_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Secret that signs login tokens, at least 32 bytes [default: generated once and kept
    /// in <data-dir>/jwt-secret]
    #[arg(long, env = "NATTER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// How long a login lasts, in minutes (7 days by default)
    #[arg(long, env = "NATTER_TOKEN_TTL_MINUTES", default_value_t = 7 * 24 * 60)]
    pub token_ttl_minutes: u64,

    /// Origins allowed to open a WebSocket besides the server's own (comma-separated, e.g.
    /// https://chat.example.com); requests without an Origin header (non-browser clients) pass
    #[arg(long, env = "NATTER_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Longest message, in characters after trimming
    #[arg(long, env = "NATTER_MAX_MESSAGE_CHARS", default_value_t = 4000)]
    pub max_message_chars: usize,

    /// Largest WebSocket frame and REST body, in bytes; a bigger frame closes the socket with 1009
    #[arg(long, env = "NATTER_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Messages one user may send per second, sustained, over all transports (0: no limit)
    #[arg(long, env = "NATTER_SEND_RATE", default_value_t = 10)]
    pub send_rate: u32,

    /// Messages one user may send in a burst above the sustained rate
    #[arg(long, env = "NATTER_SEND_BURST", default_value_t = 30)]
    pub send_burst: u32,

    /// Sign-in attempts per minute for one username, also the burst (0: no limit)
    #[arg(long, env = "NATTER_LOGIN_RATE", default_value_t = 10)]
    pub login_rate: u32,

    /// Events buffered per room before a slow client is caught up from storage instead
    #[arg(long, env = "NATTER_ROOM_BUFFER", default_value_t = 256)]
    pub room_buffer: usize,

    /// Seconds a socket write may wait for a client that stopped reading; then it is
    /// disconnected (it resumes when it reconnects) instead of growing a queue
    #[arg(long, env = "NATTER_WRITE_TIMEOUT_SECS", default_value_t = 10)]
    pub write_timeout_secs: u64,

    /// Connections in the database pool
    #[arg(long, env = "NATTER_DB_CONNECTIONS", default_value_t = 8)]
    pub db_connections: u32,

    /// Mark the session cookie Secure (set when natter is served over HTTPS)
    #[arg(long, env = "NATTER_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Seconds to let connections finish after SIGTERM before exiting
    #[arg(long, env = "NATTER_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Log filter, in tracing's EnvFilter syntax
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The defaults, as `natter` with no flags and no environment would use them.
    pub fn defaults() -> Self {
        Self::parse_from(["natter"])
    }
}
