//! Persistence. Only this module writes SQL.
//!
//! One SQL text serves both engines: the schemas (`migrations/sqlite`, `migrations/postgres`)
//! use the same names and store times as Unix milliseconds, and every query uses `$n`
//! placeholders, which SQLite accepts too. `with_pool!` runs the same code against whichever pool
//! is open, monomorphised per engine, and the storage tests run every query on both.
//!
//! Unique-constraint violations become domain errors here and nowhere else.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;
use tokio::sync::{Mutex, MutexGuard};

use crate::error::ChatError;
use crate::message::{ClientMessageId, Message, MessageBody};
use crate::protocol::{ConversationId, MessageId, UserId};
use crate::user::{User, UserName};

/// The database behind the chat: SQLite (embedded default) or PostgreSQL.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite {
        pool: SqlitePool,
        /// Taken by every writer; see [`Store::writer`].
        writer: Arc<Mutex<()>>,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the open pool, whichever engine it is.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite { pool: $pool, .. } => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

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
            Err(ChatError::Internal(format!(
                "unsupported database URL {url:?}: use sqlite://<file> or postgres://…"
            )))
        }
    }
}

impl Store {
    /// Opens the database named by `url` (creating a SQLite file and its folder if missing)
    /// and applies that engine's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ChatError> {
        let store = match Engine::of_url(url)? {
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
                    std::fs::create_dir_all(dir).map_err(|e| {
                        ChatError::Internal(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("migrations/sqlite")
                    .run(&pool)
                    .await
                    .map_err(|e| ChatError::Internal(format!("sqlite migrations failed: {e}")))?;
                Self::Sqlite {
                    pool,
                    writer: Arc::default(),
                }
            }
            Engine::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                sqlx::migrate!("migrations/postgres")
                    .run(&pool)
                    .await
                    .map_err(|e| ChatError::Internal(format!("postgres migrations failed: {e}")))?;
                Self::Postgres(pool)
            }
        };
        Ok(store)
    }

    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite { .. } => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// Queues a writer behind the others. SQLite takes one writer at a time, and one that
    /// finds the lock taken sleeps in the busy handler (1, 2, 5 … 100 ms) while later writers
    /// get in: a long tail under concurrent sends (docs/PERFORMANCE.md, finding 3). Here they
    /// wait in order instead. PostgreSQL locks rows and needs no queue.
    async fn writer(&self) -> Option<MutexGuard<'_, ()>> {
        match self {
            Self::Sqlite { writer, .. } => Some(writer.lock().await),
            Self::Postgres(_) => None,
        }
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    // ---- users -------------------------------------------------------------------------

    /// Stores a new user; `UsernameTaken` when the name exists in any letter case.
    pub async fn create_user(
        &self,
        name: &UserName,
        password_hash: &str,
    ) -> Result<User, ChatError> {
        let sql = "INSERT INTO users (username, username_key, password_hash, created_at) \
                   VALUES ($1, $2, $3, $4) RETURNING id";
        let inserted: Result<(i64,), sqlx::Error> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(name.as_str())
                .bind(name.key())
                .bind(password_hash)
                .bind(now_millis())
                .fetch_one(pool)
                .await
        });
        match inserted {
            Ok((id,)) => Ok(User {
                id: UserId(id),
                username: name.as_str().to_owned(),
            }),
            Err(e) if is_unique_violation(&e) => Err(ChatError::UsernameTaken(name.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// The user and password hash for a login, found without regard to case.
    pub async fn credentials(&self, name: &UserName) -> Result<Option<(User, String)>, ChatError> {
        let sql = "SELECT id, username, password_hash FROM users WHERE username_key = $1";
        let row: Option<(i64, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(name.key()).fetch_optional(pool).await?
        });
        Ok(row.map(|(id, username, hash)| {
            (
                User {
                    id: UserId(id),
                    username,
                },
                hash,
            )
        }))
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, ChatError> {
        let sql = "SELECT id, username FROM users WHERE id = $1";
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id.0).fetch_optional(pool).await?
        });
        Ok(row.map(User::from))
    }

    pub async fn user_by_name(&self, name: &UserName) -> Result<Option<User>, ChatError> {
        let sql = "SELECT id, username FROM users WHERE username_key = $1";
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(name.key()).fetch_optional(pool).await?
        });
        Ok(row.map(User::from))
    }

    /// Users whose name starts with `prefix` (any case), by name.
    pub async fn search_users(&self, prefix: &str, limit: i64) -> Result<Vec<User>, ChatError> {
        let pattern = format!("{}%", escape_like(&prefix.to_ascii_lowercase()));
        let sql = "SELECT id, username FROM users WHERE username_key LIKE $1 ESCAPE '\\' \
                   ORDER BY username_key LIMIT $2";
        let rows: Vec<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(&pattern).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(User::from).collect())
    }

    // ---- sessions ----------------------------------------------------------------------

    pub async fn create_session(
        &self,
        id: &str,
        user: UserId,
        expires_at_ms: i64,
    ) -> Result<(), ChatError> {
        let sql =
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        with_pool!(self, pool => {
            sqlx::query(sql).bind(id).bind(user.0).bind(now_millis()).bind(expires_at_ms).execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// The user of a live session and when it expires (Unix ms); `None` once ended.
    pub async fn session(&self, id: &str) -> Result<Option<(User, i64)>, ChatError> {
        let sql = "SELECT u.id, u.username, s.expires_at FROM sessions s \
                   JOIN users u ON u.id = s.user_id WHERE s.id = $1";
        let row: Option<(i64, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(|(id, username, expires)| {
            (
                User {
                    id: UserId(id),
                    username,
                },
                expires,
            )
        }))
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), ChatError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// Forgets sessions that expired before now.
    pub async fn purge_expired_sessions(&self) -> Result<u64, ChatError> {
        let done = with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now_millis()).execute(pool).await?.rows_affected()
        });
        Ok(done)
    }

    // ---- conversations -----------------------------------------------------------------

    /// The one-to-one conversation of `a` and `b`, if they have one.
    pub async fn direct_between(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, ChatError> {
        let sql = "SELECT id FROM conversations WHERE direct_key = $1";
        let row: Option<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(direct_key(a, b)).fetch_optional(pool).await?
        });
        Ok(row.map(|(id,)| ConversationId(id)))
    }

    /// The one-to-one conversation of `a` and `b`, created if it does not exist yet.
    /// Returns the conversation id and whether this call created it.
    pub async fn find_or_create_direct(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<(ConversationId, bool), ChatError> {
        let key = direct_key(a, b);
        let now = now_millis();
        let insert = "INSERT INTO conversations (direct_key, created_at) VALUES ($1, $2) \
                      ON CONFLICT (direct_key) DO NOTHING RETURNING id";
        let member = "INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES ($1, $2, $3)";
        let existing = "SELECT id FROM conversations WHERE direct_key = $1";
        let writer = self.writer().await;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let created: Option<(i64,)> = sqlx::query_as(insert).bind(&key).bind(now).fetch_optional(&mut *tx).await?;
            match created {
                Some((id,)) => {
                    for user in [a, b] {
                        sqlx::query(member).bind(id).bind(user.0).bind(now).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok((ConversationId(id), true))
                }
                None => {
                    tx.rollback().await?;
                    drop(writer);
                    let (id,): (i64,) = sqlx::query_as(existing).bind(&key).fetch_one(pool).await?;
                    Ok((ConversationId(id), false))
                }
            }
        })
    }

    /// Whether the conversation exists and whether `user` is one of its members.
    pub async fn access(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Access, ChatError> {
        let sql = "SELECT c.id, (SELECT COUNT(*) FROM conversation_members m \
                   WHERE m.conversation_id = c.id AND m.user_id = $2) AS member \
                   FROM conversations c WHERE c.id = $1";
        let row: Option<(i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(conversation.0).bind(user.0).fetch_optional(pool).await?
        });
        Ok(match row {
            None => Access::Missing,
            Some((_, 0)) => Access::Stranger,
            Some(_) => Access::Member,
        })
    }

    /// One conversation with its members and last message.
    pub async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationRecord>, ChatError> {
        let sql = "SELECT c.id, c.created_at, c.last_seq FROM conversations c WHERE c.id = $1";
        let members_sql = "SELECT m.conversation_id, u.id, u.username, m.last_read_seq FROM conversation_members m \
                           JOIN users u ON u.id = m.user_id WHERE m.conversation_id = $1 ORDER BY u.id";
        let last_sql =
            format!("{MESSAGE_SELECT} WHERE m.conversation_id = $1 ORDER BY m.seq DESC LIMIT 1");
        let (row, members, last): (Option<ConversationRow>, Vec<MemberRow>, Option<MessageRow>) = with_pool!(self, pool => {
            let row = sqlx::query_as(sql).bind(id.0).fetch_optional(pool).await?;
            let members = sqlx::query_as(members_sql).bind(id.0).fetch_all(pool).await?;
            let last = sqlx::query_as(&last_sql).bind(id.0).fetch_optional(pool).await?;
            (row, members, last)
        });
        Ok(row.map(|row| ConversationRecord {
            id,
            created_at: from_millis(row.created_at),
            last_seq: row.last_seq,
            read: members
                .iter()
                .map(|m| (UserId(m.id), m.last_read_seq))
                .collect(),
            members: members.iter().map(MemberRow::user).collect(),
            last_message: last.map(Message::from),
        }))
    }

    /// Every conversation `user` belongs to, most recently active first.
    pub async fn conversations_of(
        &self,
        user: UserId,
    ) -> Result<Vec<ConversationRecord>, ChatError> {
        let sql = "SELECT c.id, c.created_at, c.last_seq FROM conversations c \
                   JOIN conversation_members me ON me.conversation_id = c.id AND me.user_id = $1";
        let members_sql = "SELECT m.conversation_id, u.id, u.username, m.last_read_seq FROM conversation_members m \
                           JOIN users u ON u.id = m.user_id \
                           WHERE m.conversation_id IN (SELECT conversation_id FROM conversation_members WHERE user_id = $1) \
                           ORDER BY u.id";
        let last_sql = format!(
            "{MESSAGE_SELECT} JOIN conversations c ON c.id = m.conversation_id AND m.seq = c.last_seq \
             WHERE m.conversation_id IN (SELECT conversation_id FROM conversation_members WHERE user_id = $1)"
        );
        let (rows, members, lasts): (Vec<ConversationRow>, Vec<MemberRow>, Vec<MessageRow>) = with_pool!(self, pool => {
            let rows = sqlx::query_as(sql).bind(user.0).fetch_all(pool).await?;
            let members = sqlx::query_as(members_sql).bind(user.0).fetch_all(pool).await?;
            let lasts = sqlx::query_as(&last_sql).bind(user.0).fetch_all(pool).await?;
            (rows, members, lasts)
        });
        let mut records: Vec<ConversationRecord> = rows
            .into_iter()
            .map(|row| {
                let id = ConversationId(row.id);
                ConversationRecord {
                    id,
                    created_at: from_millis(row.created_at),
                    last_seq: row.last_seq,
                    members: members
                        .iter()
                        .filter(|m| m.conversation_id == row.id)
                        .map(MemberRow::user)
                        .collect(),
                    read: members
                        .iter()
                        .filter(|m| m.conversation_id == row.id)
                        .map(|m| (UserId(m.id), m.last_read_seq))
                        .collect(),
                    last_message: lasts
                        .iter()
                        .find(|m| m.conversation_id == row.id)
                        .cloned()
                        .map(Message::from),
                }
            })
            .collect();
        records.sort_by_key(|c| {
            std::cmp::Reverse(
                c.last_message
                    .as_ref()
                    .map_or(c.created_at, |m| m.created_at),
            )
        });
        Ok(records)
    }

    // ---- messages ----------------------------------------------------------------------

    /// Commits a message with the conversation's next `seq`. With a client id that this sender
    /// already used for the same conversation and text, returns the stored message instead
    /// (`false`: nothing new was written); with one used for something else, `ClientIdReused`.
    pub async fn insert_message(
        &self,
        conversation: ConversationId,
        sender: &User,
        body: &MessageBody,
        client_id: Option<&ClientMessageId>,
    ) -> Result<(Message, bool), ChatError> {
        // A retried client id is found by the unique constraint, not by a lookup first: a
        // retry is rare, and a lookup would cost every send one more round trip.
        let now = now_millis();
        let bump =
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq";
        let insert = "INSERT INTO messages (conversation_id, seq, sender_id, body, client_id, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        // Writing a message means having read the conversation up to it.
        let read = "UPDATE conversation_members SET last_read_seq = $3 \
                    WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < $3";
        let client = client_id.map(ClientMessageId::as_str);
        let writer = self.writer().await;
        let written: Result<(i64, i64), sqlx::Error> = with_pool!(self, pool => {
            async {
                // The UPDATE comes first: it takes the write lock (SQLite) or the row lock
                // (PostgreSQL) so concurrent sends to one conversation queue here, and a
                // rollback undoes the bump, so seq stays gapless.
                let mut tx = pool.begin().await?;
                let (seq,): (i64,) = sqlx::query_as(bump).bind(conversation.0).fetch_one(&mut *tx).await?;
                let (id,): (i64,) = sqlx::query_as(insert)
                    .bind(conversation.0)
                    .bind(seq)
                    .bind(sender.id.0)
                    .bind(body.as_str())
                    .bind(client)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(read).bind(conversation.0).bind(sender.id.0).bind(seq).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok((id, seq))
            }.await
        });
        drop(writer);
        match written {
            Ok((id, seq)) => Ok((
                Message {
                    id: MessageId(id),
                    conversation,
                    seq,
                    sender: sender.id,
                    sender_name: sender.username.clone(),
                    body: body.as_str().to_owned(),
                    client_id: client.map(str::to_owned),
                    created_at: from_millis(now),
                },
                true,
            )),
            // The client id was used before (a retry, or a concurrent one that won the race):
            // the transaction rolled back, seq included; answer with the stored message.
            Err(e) if is_unique_violation(&e) && client_id.is_some() => {
                let client_id = client_id.expect("checked by the guard");
                let existing = self
                    .message_by_client_id(sender.id, client_id)
                    .await?
                    .ok_or(ChatError::Storage(e))?;
                same_message(existing, conversation, body, client_id).map(|m| (m, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn message_by_client_id(
        &self,
        sender: UserId,
        client_id: &ClientMessageId,
    ) -> Result<Option<Message>, ChatError> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.sender_id = $1 AND m.client_id = $2");
        let row: Option<MessageRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sender.0).bind(client_id.as_str()).fetch_optional(pool).await?
        });
        Ok(row.map(Message::from))
    }

    /// Moves `user`'s read mark in `conversation` forward to `seq`, capped at the newest
    /// message; never back. Returns the mark afterwards and whether it moved.
    pub async fn mark_read(
        &self,
        conversation: ConversationId,
        user: UserId,
        seq: i64,
    ) -> Result<(i64, bool), ChatError> {
        let target = "(SELECT CASE WHEN c.last_seq < $3 THEN c.last_seq ELSE $3 END \
                      FROM conversations c WHERE c.id = $1)";
        let update = format!(
            "UPDATE conversation_members SET last_read_seq = {target} \
             WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < {target}"
        );
        let current = "SELECT last_read_seq FROM conversation_members WHERE conversation_id = $1 AND user_id = $2";
        let writer = self.writer().await;
        with_pool!(self, pool => {
            let moved = sqlx::query(&update)
                .bind(conversation.0)
                .bind(user.0)
                .bind(seq)
                .execute(pool)
                .await?
                .rows_affected() > 0;
            drop(writer);
            let (mark,): (i64,) = sqlx::query_as(current).bind(conversation.0).bind(user.0).fetch_one(pool).await?;
            Ok((mark, moved))
        })
    }

    /// Up to `limit` messages with `seq < before` (all when `None`), oldest first, and whether
    /// older ones exist.
    pub async fn messages_before(
        &self,
        conversation: ConversationId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<Message>, bool), ChatError> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        );
        let rows: Vec<MessageRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(conversation.0)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit + 1)
                .fetch_all(pool)
                .await?
        });
        let has_more = rows.len() as i64 > limit;
        let mut messages: Vec<Message> = rows
            .into_iter()
            .take(limit as usize)
            .map(Message::from)
            .collect();
        messages.reverse();
        Ok((messages, has_more))
    }

    /// Up to `limit` messages with `seq > after`, oldest first: what a client that has
    /// everything up to `after` missed.
    pub async fn messages_after(
        &self,
        conversation: ConversationId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>, ChatError> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq ASC LIMIT $3"
        );
        let rows: Vec<MessageRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(conversation.0).bind(after).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Message::from).collect())
    }
}

/// Whether a user may see a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Missing,
    Stranger,
    Member,
}

/// A conversation as stored, with its members and newest message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub created_at: OffsetDateTime,
    pub last_seq: i64,
    pub members: Vec<User>,
    /// Each member's read mark (highest `seq` read), in member order.
    pub read: Vec<(UserId, i64)>,
    pub last_message: Option<Message>,
}

const MESSAGE_SELECT: &str = "SELECT m.id, m.conversation_id, m.seq, m.sender_id, u.username AS sender_name, \
                              m.body, m.client_id, m.created_at FROM messages m JOIN users u ON u.id = m.sender_id";

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            username: row.username,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: i64,
    created_at: i64,
    last_seq: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    conversation_id: i64,
    id: i64,
    username: String,
    last_read_seq: i64,
}

impl MemberRow {
    fn user(&self) -> User {
        User {
            id: UserId(self.id),
            username: self.username.clone(),
        }
    }
}

#[derive(Clone, sqlx::FromRow)]
struct MessageRow {
    id: i64,
    conversation_id: i64,
    seq: i64,
    sender_id: i64,
    sender_name: String,
    body: String,
    client_id: Option<String>,
    created_at: i64,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Message {
            id: MessageId(row.id),
            conversation: ConversationId(row.conversation_id),
            seq: row.seq,
            sender: UserId(row.sender_id),
            sender_name: row.sender_name,
            body: row.body,
            client_id: row.client_id,
            created_at: from_millis(row.created_at),
        }
    }
}

/// A retry must name the same conversation and text as the message it repeats.
fn same_message(
    existing: Message,
    conversation: ConversationId,
    body: &MessageBody,
    client_id: &ClientMessageId,
) -> Result<Message, ChatError> {
    if existing.conversation == conversation && existing.body == body.as_str() {
        Ok(existing)
    } else {
        Err(ChatError::ClientIdReused(client_id.as_str().to_owned()))
    }
}

/// The key that makes a pair's one-to-one conversation unique, in either order.
fn direct_key(a: UserId, b: UserId) -> String {
    format!("direct:{}:{}", a.0.min(b.0), a.0.max(b.0))
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn escape_like(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// Now, in Unix milliseconds: the time unit of every stored timestamp.
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
