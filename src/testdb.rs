//! Throwaway databases for tests (feature `testing`): a fresh SQLite file in a temporary folder,
//! or a fresh PostgreSQL database created on the server that `NATTER_TEST_PG_URL` names
//! (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards. A PostgreSQL
//! that cannot be reached fails the test: storage tests never skip silently.

use sqlx::Connection;

use crate::store::Engine;

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub engine: Engine,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code, reason = "held only to delete the folder on drop")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn new(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => Self::sqlite(),
            Engine::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder for the test database");
        let url = format!("sqlite://{}", dir.path().join("natter.db").display());
        Self {
            url,
            engine: Engine::Sqlite,
            cleanup: Cleanup::Dir(dir),
        }
    }

    pub async fn postgres() -> Self {
        let admin_url = std::env::var("NATTER_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("natter_test_{}_{}", std::process::id(), unique());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is needed by the storage tests (set NATTER_TEST_PG_URL): {e}")
        });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("creating the test database");
        let _ = admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("NATTER_TEST_PG_URL must end with /<database>"),
        };
        Self {
            url,
            engine: Engine::Postgres,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }
}

/// A transaction a test holds open so that the server's writes wait for it (see
/// [`TestDb::hold_writes`]); [`Held::release`] rolls it back.
pub enum Held {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Held {
    /// Rolls the transaction back and closes the connection.
    pub async fn release(self) {
        let done = match self {
            Self::Sqlite(mut c) => {
                async {
                    sqlx::query("ROLLBACK").execute(&mut c).await?;
                    c.close().await
                }
                .await
            }
            Self::Postgres(mut c) => {
                async {
                    sqlx::query("ROLLBACK").execute(&mut c).await?;
                    c.close().await
                }
                .await
            }
        };
        done.expect("releasing the held transaction");
    }
}

impl TestDb {
    /// Opens a transaction that makes the server's writes wait: on SQLite the database's write
    /// lock (`BEGIN IMMEDIATE`: every write waits), on PostgreSQL the row of `conversation`
    /// (a write to it waits; writes to other rows go on, uncommitted, in the same transaction).
    pub async fn hold_writes(&self, conversation: i64) -> Held {
        match self.engine {
            Engine::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("a second connection to the test database");
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut c)
                    .await
                    .expect("taking the write lock");
                Held::Sqlite(c)
            }
            Engine::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("a second connection to the test database");
                sqlx::query("BEGIN").execute(&mut c).await.expect("BEGIN");
                sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
                    .bind(conversation)
                    .fetch_one(&mut c)
                    .await
                    .expect("locking the conversation's row");
                Held::Postgres(c)
            }
        }
    }

    /// PostgreSQL: how many sessions of this database wait for a lock right now (`None` on
    /// SQLite, which has no such view).
    pub async fn sessions_waiting_for_a_lock(&self) -> Option<i64> {
        if self.engine != Engine::Postgres {
            return None;
        }
        let mut c = sqlx::PgConnection::connect(&self.url).await.ok()?;
        let waiting: Option<(i64,)> = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_optional(&mut c)
        .await
        .ok()?;
        let _ = c.close().await;
        waiting.map(|(n,)| n)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a thread with its own runtime can block.
            let done = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime
                    .block_on(async {
                        let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await?;
                        admin.close().await
                    })
                    .map_err(std::io::Error::other)
            })
            .join();
            if !matches!(done, Ok(Ok(()))) {
                eprintln!("could not drop a test database: {done:?}");
            }
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    nanos * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Declares each listed `async fn(Engine)` as two `#[tokio::test]`s, `sqlite::<name>` and
/// `postgres::<name>`, so every storage test runs on both engines.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::store::Engine::Sqlite).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::store::Engine::Postgres).await }
            )*
        }
    };
}
