//! Personal feeds: each user's events (`hub::PersonalEvent`) as a gapless log, appended in the
//! transaction of the change they announce, read back by a connection or a node that missed
//! some, and purged after a retention period.

use super::{Store, with_pool};
use crate::clock::UnixMillis;
use crate::error::ChatError;
use crate::hub::PersonalEvent;
use crate::protocol::{ConversationId, FeedPos, Seq, UserId};

/// Bumps `$user`'s feed position and stores `$event` (JSON) there, inside the transaction
/// `$tx` (either engine); evaluates to the new `FeedPos`. The `users` row update serialises
/// concurrent appends for one user, so positions are gapless.
macro_rules! append_event {
    ($tx:expr, $user:expr, $json:expr, $now:expr) => {{
        let (pos,): (i64,) = sqlx::query_as(
            "UPDATE users SET last_event_pos = last_event_pos + 1 WHERE id = $1 RETURNING last_event_pos",
        )
        .bind($user)
        .fetch_one(&mut *$tx)
        .await?;
        sqlx::query("INSERT INTO user_events (user_id, pos, event, created_at) VALUES ($1, $2, $3, $4)")
            .bind($user)
            .bind(pos)
            .bind($json)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        $crate::protocol::FeedPos(pos)
    }};
}
pub(super) use append_event;

/// The JSON an event is stored as.
pub(super) fn to_json(event: &PersonalEvent) -> Result<String, ChatError> {
    serde_json::to_string(event).map_err(|e| ChatError::internal("encoding a personal event", e))
}

impl Store {
    /// Up to `limit` events of `user` after `after`, oldest first.
    pub async fn events_after(
        &self,
        user: UserId,
        after: FeedPos,
        limit: i64,
    ) -> Result<Vec<(FeedPos, PersonalEvent)>, ChatError> {
        let sql = "SELECT pos, event FROM user_events WHERE user_id = $1 AND pos > $2 \
                   ORDER BY pos LIMIT $3";
        let rows: Vec<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(user.0).bind(after.0).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(pos, json)| {
                serde_json::from_str(&json)
                    .map(|event| (FeedPos(pos), event))
                    .map_err(|e| ChatError::internal("decoding a personal event", e))
            })
            .collect()
    }

    /// The newest feed position of each of `users`.
    pub async fn feed_positions(
        &self,
        users: &[UserId],
    ) -> Result<Vec<(UserId, FeedPos)>, ChatError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, last_event_pos FROM users WHERE id IN ({})",
            placeholders(users.len())
        );
        let rows: Vec<(i64, i64)> = with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for user in users {
                query = query.bind(user.0);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, pos)| (UserId(id), FeedPos(pos)))
            .collect())
    }

    /// The newest `seq` of each of `conversations`.
    pub async fn room_positions(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, Seq)>, ChatError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, last_seq FROM conversations WHERE id IN ({})",
            placeholders(conversations.len())
        );
        let rows: Vec<(i64, i64)> = with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for conversation in conversations {
                query = query.bind(conversation.0);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, seq)| (ConversationId(id), Seq(seq)))
            .collect())
    }

    /// Forgets events stored before `before`; returns how many.
    pub async fn purge_events_before(&self, before: UnixMillis) -> Result<u64, ChatError> {
        let done = with_pool!(self, pool => {
            sqlx::query("DELETE FROM user_events WHERE created_at < $1").bind(before.0).execute(pool).await?.rows_affected()
        });
        Ok(done)
    }
}

/// `$1, $2, …, $n`.
pub(super) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
