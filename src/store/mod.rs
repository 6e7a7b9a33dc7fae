//! Persistence. Only this module writes SQL; one file per resource (`users`, `sessions`,
//! `conversations`, `messages`), each method returning a named result.
//!
//! One SQL text serves both engines: the schemas (`migrations/sqlite`, `migrations/postgres`)
//! use the same names and store times as Unix milliseconds, and every query uses `$n`
//! placeholders, which SQLite accepts too. `with_pool!` runs the same code against whichever pool
//! is open, monomorphised per engine, and the storage tests run every query on both.
//!
//! Unique-constraint violations become domain errors here and nowhere else, matched by the
//! constraint's name (`Constraint`), as the migrations name them.

mod conversations;
mod events;
mod groups;
mod messages;
mod push;
mod sessions;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Mutex, MutexGuard};

pub use conversations::{Access, ConversationRecord, Created, MemberSeen};
pub use groups::{GroupChange, GroupMember, GroupState, Plan};
pub use messages::{Inserted, MarkMoved, NewSend, Page};
pub use push::{NewPushSubscription, PushTarget};
pub use sessions::LiveSession;
pub use users::{PresenceAudience, StoredCredentials};

use crate::error::ChatError;

/// The database behind the chat: SQLite (embedded default) or PostgreSQL.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Taken by every SQLite writer; see [`Store::writer`].
    writer: Arc<Mutex<()>>,
    /// How long one operation may take before it fails with `storageUnavailable` (a
    /// database that stopped answering must not hold requests and sockets for ever).
    timeout: Duration,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the open pool, whichever engine it is, within the
/// store's time limit. `?` inside `$body` gives up the operation with its error.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        $store
            .timed(async {
                Ok::<_, $crate::error::ChatError>(match &$store.pool {
                    $crate::store::Pool::Sqlite($pool) => $body,
                    $crate::store::Pool::Postgres($pool) => $body,
                })
            })
            .await?
    };
}
pub(crate) use with_pool;

/// Which engine a database URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of_url(url: &str) -> Result<Self, ChatError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(ChatError::internal(
                "opening the database",
                format!("unsupported database URL {url:?}: use sqlite://<file> or postgres://…"),
            ))
        }
    }
}

impl Store {
    /// How long one operation may take by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Opens the database named by `url` (creating a SQLite file and its folder if missing)
    /// and applies that engine's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ChatError> {
        Self::connect_with(url, max_connections, Self::DEFAULT_TIMEOUT).await
    }

    /// `connect`, with `timeout` for every operation.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        timeout: Duration,
    ) -> Result<Self, ChatError> {
        let pool = match Engine::of_url(url)? {
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: an acknowledged message survives power loss, not only a crash.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                if let Some(dir) = options.get_filename().parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| ChatError::internal("creating the database folder", e))?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    // An embedded database has no other end to hang up: sqlx's ping before
                    // each acquire would only cost every transaction one more hop to the
                    // connection's worker thread and back.
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("migrations/sqlite")
                    .run(&pool)
                    .await
                    .map_err(|e| ChatError::internal("applying the SQLite migrations", e))?;
                Pool::Sqlite(pool)
            }
            Engine::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(timeout)
                    .connect(url)
                    .await?;
                sqlx::migrate!("migrations/postgres")
                    .run(&pool)
                    .await
                    .map_err(|e| ChatError::internal("applying the PostgreSQL migrations", e))?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self {
            pool,
            writer: Arc::default(),
            timeout,
        })
    }

    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs one operation within the store's time limit.
    async fn timed<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, ChatError>>,
    ) -> Result<T, ChatError> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .map_err(|_| ChatError::StorageUnavailable)?
    }

    /// Whether the database answers (for readiness).
    pub async fn ping(&self) -> Result<(), ChatError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// Queues a writer behind the others. SQLite takes one writer at a time, and one that
    /// finds the lock taken sleeps in the busy handler (1, 2, 5 … 100 ms) while later writers
    /// get in: a long tail under concurrent sends (docs/PERFORMANCE.md, finding 3). Here they
    /// wait in order instead. PostgreSQL locks rows and needs no queue.
    async fn writer(&self) -> Option<MutexGuard<'_, ()>> {
        match self.pool {
            Pool::Sqlite(_) => Some(self.writer.lock().await),
            Pool::Postgres(_) => None,
        }
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The unique constraints the domain gives a meaning to, by the names the migrations give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Constraint {
    /// `users_username_key`: the name is taken, in any letter case.
    UsernameKey,
}

impl Constraint {
    /// The constraint a unique violation broke, if it is one of these. PostgreSQL names it;
    /// SQLite names the columns instead ("UNIQUE constraint failed: users.username_key").
    fn violated_by(error: &sqlx::Error) -> Option<Self> {
        let sqlx::Error::Database(db) = error else {
            return None;
        };
        if !db.is_unique_violation() {
            return None;
        }
        let (name, columns) = (db.constraint().unwrap_or_default(), db.message());
        (name == "users_username_key" || columns.ends_with("users.username_key"))
            .then_some(Self::UsernameKey)
    }
}
