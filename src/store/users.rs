//! Accounts: creating them, finding them by id or name, searching names.

use super::{Constraint, Store, with_pool};
use crate::clock::UnixMillis;
use crate::clock::system_now;
use crate::error::ChatError;
use crate::protocol::{Settings, UserId};
use crate::user::{User, UserName};

/// Who hears of a user's presence, and what they are told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceAudience {
    /// Whether the user shares their presence at all.
    pub shares: bool,
    pub last_seen_at: Option<UnixMillis>,
    /// The users who share a conversation with them and share their own presence.
    pub audience: Vec<UserId>,
}

/// What a sign-in is checked against.
pub struct StoredCredentials {
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
}

impl Store {
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
                .bind(system_now().0)
                .fetch_one(pool)
                .await
        });
        match inserted {
            Ok((id,)) => Ok(User {
                id: UserId(id),
                username: name.as_str().to_owned(),
            }),
            Err(e) if Constraint::violated_by(&e) == Some(Constraint::UsernameKey) => {
                Err(ChatError::UsernameTaken(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user and password hash for a sign-in, found without regard to case.
    pub async fn credentials(
        &self,
        name: &UserName,
    ) -> Result<Option<StoredCredentials>, ChatError> {
        let sql = "SELECT id, username, password_hash FROM users WHERE username_key = $1";
        let row: Option<CredentialsRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(name.key()).fetch_optional(pool).await?
        });
        Ok(row.map(|row| StoredCredentials {
            user: User {
                id: UserId(row.id),
                username: row.username,
            },
            password_hash: row.password_hash,
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
}

impl Store {
    /// What `user` shares with others (the defaults for a user that does not exist).
    pub async fn settings(&self, user: UserId) -> Result<Settings, ChatError> {
        let sql = "SELECT share_presence, share_typing FROM users WHERE id = $1";
        let row: Option<(bool, bool)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(user.0).fetch_optional(pool).await?
        });
        Ok(
            row.map_or_else(Settings::default, |(share_presence, share_typing)| {
                Settings {
                    share_presence,
                    share_typing,
                }
            }),
        )
    }

    pub async fn set_settings(&self, user: UserId, settings: Settings) -> Result<(), ChatError> {
        let sql = "UPDATE users SET share_presence = $1, share_typing = $2 WHERE id = $3";
        let _guard = self.writer().await;
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(settings.share_presence)
                .bind(settings.share_typing)
                .bind(user.0)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records that each of `users` was last seen `at` (their last connection closed).
    pub async fn touch_last_seen(&self, users: &[UserId], at: UnixMillis) -> Result<(), ChatError> {
        if users.is_empty() {
            return Ok(());
        }
        let sql = "UPDATE users SET last_seen_at = $1 WHERE id = $2";
        let _guard = self.writer().await;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for user in users {
                sqlx::query(sql).bind(at.0).bind(user.0).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Who is told of `user`'s presence: everyone sharing a conversation with them who shares
    /// their own presence (one query, however many conversations they share).
    pub async fn presence_audience(&self, user: UserId) -> Result<PresenceAudience, ChatError> {
        let own = "SELECT share_presence, last_seen_at FROM users WHERE id = $1";
        let others = "SELECT DISTINCT o.user_id FROM conversation_members mine \
                      JOIN conversation_members o ON o.conversation_id = mine.conversation_id \
                      AND o.user_id <> mine.user_id \
                      JOIN users u ON u.id = o.user_id AND u.share_presence \
                      WHERE mine.user_id = $1";
        type Own = Option<(bool, Option<i64>)>;
        let (own, others): (Own, Vec<(i64,)>) = with_pool!(self, pool => {
            let own = sqlx::query_as(own).bind(user.0).fetch_optional(pool).await?;
            let others = sqlx::query_as(others).bind(user.0).fetch_all(pool).await?;
            (own, others)
        });
        let (shares, last_seen_at) = own.unwrap_or((false, None));
        Ok(PresenceAudience {
            shares,
            last_seen_at: last_seen_at.map(UnixMillis),
            audience: others.into_iter().map(|(id,)| UserId(id)).collect(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: i64,
    pub(super) username: String,
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
struct CredentialsRow {
    id: i64,
    username: String,
    password_hash: String,
}

fn escape_like(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}
