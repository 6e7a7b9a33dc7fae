//! The server's settings: one `clap` struct, from flags or environment variables.
//! `natter --help` lists every option with its default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use natter::ChatConfig;
use natter::auth::{AuthConfig, ThrottleConfig};
use natter::message::MessageBody;

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
    #[arg(long, env = "NATTER_TOKEN_TTL_MINUTES", default_value_t = AuthConfig::DEFAULT_TOKEN_TTL_MINUTES)]
    pub token_ttl_minutes: u64,

    /// Browser origins allowed besides the server's own (comma-separated, e.g.
    /// https://chat.example.com): they may open sockets and send cookie-authenticated writes.
    /// Requests without an Origin header (non-browser clients) pass
    #[arg(long, env = "NATTER_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated
    /// IPs); the limits per client address count that client instead of the proxy
    #[arg(long, env = "NATTER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Longest message, in characters after trimming
    #[arg(long, env = "NATTER_MAX_MESSAGE_CHARS", default_value_t = MessageBody::DEFAULT_MAX_CHARS)]
    pub max_message_chars: usize,

    /// Largest WebSocket frame and request body, in bytes; a bigger frame closes the socket
    /// with 1009, a bigger declared body is refused with 413 before it is read
    #[arg(long, env = "NATTER_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Messages one user may send per second, sustained, over all transports (0: no limit)
    #[arg(long, env = "NATTER_SEND_RATE", default_value_t = ChatConfig::DEFAULT_SEND_PER_SECOND)]
    pub send_rate: u32,

    /// Messages one user may send in a burst above the sustained rate
    #[arg(long, env = "NATTER_SEND_BURST", default_value_t = ChatConfig::DEFAULT_SEND_BURST)]
    pub send_burst: u32,

    /// New conversations one user may start per hour (0: no limit); reopening one is free
    #[arg(long, env = "NATTER_CONVERSATION_RATE", default_value_t = ChatConfig::DEFAULT_CONVERSATIONS_PER_HOUR)]
    pub conversation_rate: u32,

    /// New conversations one user may start in a burst
    #[arg(long, env = "NATTER_CONVERSATION_BURST", default_value_t = ChatConfig::DEFAULT_CONVERSATION_BURST)]
    pub conversation_burst: u32,

    /// The most members a group conversation may have, its creator included
    #[arg(long, env = "NATTER_MAX_GROUP_MEMBERS", default_value_t = ChatConfig::DEFAULT_MAX_GROUP_MEMBERS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
    pub max_group_members: usize,

    /// Sign-in attempts per minute on one username from one client address, also the burst
    /// (0: no limit)
    #[arg(long, env = "NATTER_LOGIN_RATE", default_value_t = ThrottleConfig::DEFAULT_LOGIN_PER_MINUTE)]
    pub login_rate: u32,

    /// Sign-in attempts per minute from one client address over all usernames, also the burst
    /// (0: no limit)
    #[arg(long, env = "NATTER_LOGIN_ADDRESS_RATE", default_value_t = ThrottleConfig::DEFAULT_LOGIN_ADDRESS_PER_MINUTE)]
    pub login_address_rate: u32,

    /// Failed sign-ins on one username within 15 minutes, from anywhere, after which the
    /// clients that failed are held off for the rest of the window (0: no limit)
    #[arg(long, env = "NATTER_LOGIN_NAME_FAILURES", default_value_t = ThrottleConfig::DEFAULT_LOGIN_NAME_FAILURES)]
    pub login_name_failures: u32,

    /// Accounts one client address may create per hour, also the burst (0: no limit)
    #[arg(long, env = "NATTER_SIGNUP_RATE", default_value_t = ThrottleConfig::DEFAULT_SIGNUP_PER_HOUR)]
    pub signup_rate: u32,

    /// Accounts created per hour in total, also the burst (0: no limit)
    #[arg(long, env = "NATTER_SIGNUP_TOTAL_RATE", default_value_t = ThrottleConfig::DEFAULT_SIGNUP_TOTAL_PER_HOUR)]
    pub signup_total_rate: u32,

    /// Password hashes computed at once (each holds 19 MiB and a core for tens of ms)
    /// [default: the number of cores]
    #[arg(long, env = "NATTER_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// Sign-ins and sign-ups that may wait for a hashing slot (up to 3 s); more get 503
    #[arg(long, env = "NATTER_HASH_QUEUE", default_value_t = AuthConfig::DEFAULT_HASH_QUEUE)]
    pub hash_queue: usize,

    /// Live connections (WebSocket and Socket.IO) one user may hold at once (0: no limit)
    #[arg(long, env = "NATTER_MAX_USER_CONNECTIONS", default_value_t = ChatConfig::DEFAULT_MAX_CONNECTIONS_PER_USER)]
    pub max_user_connections: usize,

    /// TCP connections open at once, sockets included; more are answered 503 and closed
    /// [default: the file-descriptor limit less a reserve for the database and files]
    #[arg(long, env = "NATTER_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Seconds for a request's headers to arrive, and for an idle keep-alive connection to
    /// send its next request
    #[arg(long, env = "NATTER_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds for a request, its body included, to be read and answered; then 408
    #[arg(long, env = "NATTER_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Seconds between purges of expired sessions
    #[arg(long, env = "NATTER_SESSION_PURGE_SECS", default_value_t = 3600)]
    pub session_purge_secs: u64,

    /// Events buffered per room before a slow client is caught up from storage instead
    #[arg(long, env = "NATTER_ROOM_BUFFER", default_value_t = ChatConfig::DEFAULT_ROOM_BUFFER)]
    pub room_buffer: usize,

    /// Seconds a socket write may wait for a client that stopped reading; then it is
    /// disconnected (it resumes when it reconnects) instead of growing a queue
    #[arg(long, env = "NATTER_WRITE_TIMEOUT_SECS", default_value_t = 10)]
    pub write_timeout_secs: u64,

    /// Connections in the database pool
    #[arg(long, env = "NATTER_DB_CONNECTIONS", default_value_t = 8)]
    pub db_connections: u32,

    /// Seconds one database operation may take before it fails with `storageUnavailable`
    #[arg(long, env = "NATTER_DB_TIMEOUT_SECS", default_value_t = 5)]
    pub db_timeout_secs: u64,

    /// Redis that joins several natter nodes on one PostgreSQL database (redis://host:port):
    /// events cross between nodes through it and limits are counted on it. Without it, one
    /// process serves alone
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// This node's name among the others [default: generated]
    #[arg(long, env = "NATTER_NODE_ID")]
    pub node_id: Option<String>,

    /// Seconds between position checks (what this node missed from the others, read from the
    /// database) while Redis is healthy; every second while it is not
    #[arg(long, env = "NATTER_POSITION_CHECK_SECS", default_value_t = 5)]
    pub position_check_secs: u64,

    /// Test only: drop one relayed event in this many (0: none)
    #[arg(
        long,
        env = "NATTER_RELAY_DROP_ONE_IN",
        default_value_t = 0,
        hide = true
    )]
    pub relay_drop_one_in: u64,

    /// Seconds between SIGTERM and closing the sockets, while /readyz already answers 503 so
    /// that a load balancer stops sending new clients here
    #[arg(long, env = "NATTER_DRAIN_SECS", default_value_t = 0)]
    pub drain_secs: u64,

    /// Web Push: browsers that turn it on are notified of messages while no natter tab of
    /// theirs is open, through their push service. The server makes its own VAPID key once and
    /// keeps it in the database (no third-party account). Needs --vapid-contact
    #[arg(long, env = "NATTER_WEB_PUSH", requires = "vapid_contact")]
    pub web_push: bool,

    /// Where push services can reach the operator about this server's pushes: mailto:… or
    /// https://… (sent, signed, with every push)
    #[arg(long, env = "NATTER_VAPID_CONTACT")]
    pub vapid_contact: Option<String>,

    /// Test only: also push to http:// endpoints on loopback addresses
    #[arg(long, env = "NATTER_WEB_PUSH_LOOPBACK_ENDPOINTS", hide = true)]
    pub web_push_loopback_endpoints: bool,

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

    /// The chat core's part of the settings.
    pub fn chat(&self) -> ChatConfig {
        ChatConfig {
            max_message_chars: self.max_message_chars,
            room_buffer: self.room_buffer,
            send_per_second: self.send_rate,
            send_burst: self.send_burst,
            max_connections_per_user: self.max_user_connections,
            conversations_per_hour: self.conversation_rate,
            conversation_burst: self.conversation_burst,
            max_group_members: self.max_group_members,
            auth: AuthConfig {
                token_ttl: std::time::Duration::from_secs(
                    self.token_ttl_minutes.saturating_mul(60),
                ),
                secure_cookies: self.secure_cookies,
                hash_concurrency: self
                    .hash_concurrency
                    .unwrap_or_else(AuthConfig::default_hash_concurrency),
                hash_queue: self.hash_queue,
                throttle: ThrottleConfig {
                    login_per_minute: self.login_rate,
                    login_address_per_minute: self.login_address_rate,
                    login_name_failures: self.login_name_failures,
                    signup_per_hour: self.signup_rate,
                    signup_total_per_hour: self.signup_total_rate,
                },
            },
            ..ChatConfig::default()
        }
    }
}
