//! Sessions: the server-side half of a login, which logout deletes.

use super::events::{append_event, to_json};
use super::{Store, with_pool};
use crate::clock::{UnixMillis, system_now};
use crate::error::ChatError;
use crate::hub::PersonalEvent;
use crate::protocol::{FeedPos, UserId};
use crate::user::User;

/// A session that still exists, with its user.
pub struct LiveSession {
    pub user: User,
    pub expires_at: UnixMillis,
}

impl Store {
    pub async fn create_session(
        &self,
        id: &str,
        user: UserId,
        expires_at: UnixMillis,
    ) -> Result<(), ChatError> {
        let sql =
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        with_pool!(self, pool => {
            sqlx::query(sql).bind(id).bind(user.0).bind(system_now().0).bind(expires_at.0).execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// The session and its user, until it is deleted (logout, purge).
    pub async fn session(&self, id: &str) -> Result<Option<LiveSession>, ChatError> {
        let sql = "SELECT u.id, u.username, s.expires_at FROM sessions s \
                   JOIN users u ON u.id = s.user_id WHERE s.id = $1";
        let row: Option<(i64, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(|(id, username, expires)| LiveSession {
            user: User {
                id: UserId(id),
                username,
            },
            expires_at: UnixMillis(expires),
        }))
    }

    /// Ends the session `id` of `user`: deleted, and announced on the user's feed in the same
    /// transaction (`None`: it had ended already).
    pub async fn end_session(&self, id: &str, user: UserId) -> Result<Option<FeedPos>, ChatError> {
        let json = to_json(&PersonalEvent::SessionEnded {
            session: id.to_owned(),
        })?;
        let now = system_now().0;
        let writer = self.writer().await;
        let pos = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                tx.rollback().await?;
                None
            } else {
                let pos = append_event!(tx, user.0, &json, now);
                tx.commit().await?;
                Some(pos)
            }
        });
        drop(writer);
        Ok(pos)
    }

    /// Forgets sessions that expired before `now`; returns how many.
    pub async fn purge_expired_sessions(&self, now: UnixMillis) -> Result<u64, ChatError> {
        let done = with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now.0).execute(pool).await?.rows_affected()
        });
        Ok(done)
    }
}
