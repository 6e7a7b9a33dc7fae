//! Accounts: creating them, finding them by id or name, searching names.

use super::{Constraint, Store, with_pool};
use crate::clock::system_now;
use crate::error::ChatError;
use crate::protocol::UserId;
use crate::user::{User, UserName};

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
