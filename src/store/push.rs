//! Web Push: the keys the server makes itself (shared by every node on the database) and the
//! browsers' push subscriptions. What a subscription must look like is checked before it gets
//! here (`server/src/push/subscription.rs`); this module only stores it.

use super::events::placeholders;
use super::{Store, with_pool};
use crate::clock::system_now;
use crate::error::ChatError;
use crate::protocol::{ConversationId, UserId};

/// A push subscription as a browser gave it, already checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPushSubscription {
    /// The push service's URL for this browser.
    pub endpoint: String,
    /// The browser's P-256 public key (`keys.p256dh`), base64url as given.
    pub p256dh: String,
    /// The browser's auth secret (`keys.auth`), base64url as given.
    pub auth: String,
    /// Conversations muted in that browser: nothing is pushed for them.
    pub muted: Vec<ConversationId>,
}

/// A stored subscription of a member of a conversation, to push a message to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushTarget {
    pub user: UserId,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub muted: Vec<ConversationId>,
}

impl Store {
    /// The server key called `name`: `candidate` if none was kept yet, else the one kept. Two
    /// nodes starting at once on one database both end with the same (the first insert's).
    pub async fn keep_server_key(&self, name: &str, candidate: &str) -> Result<String, ChatError> {
        let insert = "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3) \
                      ON CONFLICT (name) DO NOTHING";
        let select = "SELECT value FROM server_keys WHERE name = $1";
        let writer = self.writer().await;
        let value: String = with_pool!(self, pool => {
            sqlx::query(insert).bind(name).bind(candidate).bind(system_now().0).execute(pool).await?;
            sqlx::query_scalar(select).bind(name).fetch_one(pool).await?
        });
        drop(writer);
        Ok(value)
    }

    /// Stores `subscription` for `user` under `session` (replacing whatever was stored for
    /// its endpoint, whoever's it was: a browser pushes to whoever signed in last), then keeps
    /// only the user's `keep` most recently stored ones. Returns how many older ones went.
    pub async fn save_push_subscription(
        &self,
        user: UserId,
        session: &str,
        subscription: &NewPushSubscription,
        keep: usize,
    ) -> Result<u64, ChatError> {
        let upsert = "INSERT INTO push_subscriptions \
                      (user_id, session_id, endpoint, p256dh, auth, muted, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7) \
                      ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, \
                      session_id = excluded.session_id, p256dh = excluded.p256dh, \
                      auth = excluded.auth, muted = excluded.muted, updated_at = excluded.updated_at";
        let trim = "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN \
                    (SELECT id FROM push_subscriptions WHERE user_id = $1 \
                     ORDER BY updated_at DESC, id DESC LIMIT $2)";
        let muted = join_ids(&subscription.muted);
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let writer = self.writer().await;
        let trimmed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(upsert)
                .bind(user.0)
                .bind(session)
                .bind(&subscription.endpoint)
                .bind(&subscription.p256dh)
                .bind(&subscription.auth)
                .bind(&muted)
                .bind(system_now().0)
                .execute(&mut *tx)
                .await?;
            let trimmed = sqlx::query(trim).bind(user.0).bind(keep).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            trimmed
        });
        drop(writer);
        Ok(trimmed)
    }

    /// Removes `user`'s subscription at `endpoint`; false if they had none there.
    pub async fn delete_push_subscription(
        &self,
        user: UserId,
        endpoint: &str,
    ) -> Result<bool, ChatError> {
        let sql = "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2";
        let writer = self.writer().await;
        let deleted = with_pool!(self, pool => {
            sqlx::query(sql).bind(user.0).bind(endpoint).execute(pool).await?.rows_affected()
        });
        drop(writer);
        Ok(deleted > 0)
    }

    /// Forgets the subscription at `endpoint`, whoever's it is: its push service said it is
    /// gone (404, 410).
    pub async fn forget_push_endpoint(&self, endpoint: &str) -> Result<bool, ChatError> {
        let sql = "DELETE FROM push_subscriptions WHERE endpoint = $1";
        let writer = self.writer().await;
        let deleted = with_pool!(self, pool => {
            sqlx::query(sql).bind(endpoint).execute(pool).await?.rows_affected()
        });
        drop(writer);
        Ok(deleted > 0)
    }

    /// `user`'s subscriptions, newest first.
    pub async fn push_subscriptions_of(&self, user: UserId) -> Result<Vec<PushTarget>, ChatError> {
        let sql = "SELECT user_id, endpoint, p256dh, auth, muted FROM push_subscriptions \
                   WHERE user_id = $1 ORDER BY updated_at DESC, id DESC";
        let rows: Vec<TargetRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(user.0).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(PushTarget::from).collect())
    }

    /// The subscriptions of every member of each of `conversations`, with the conversation:
    /// where a message there may be pushed (the sender, who is online and what is muted are
    /// left to the caller). One query for a batch of messages.
    pub async fn push_targets(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<(ConversationId, PushTarget)>, ChatError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT m.conversation_id, s.user_id, s.endpoint, s.p256dh, s.auth, s.muted \
             FROM push_subscriptions s \
             JOIN conversation_members m ON m.user_id = s.user_id \
             WHERE m.conversation_id IN ({})",
            placeholders(conversations.len())
        );
        let rows: Vec<(i64, i64, String, String, String, String)> = with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for conversation in conversations {
                query = query.bind(conversation.0);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(conversation, user, endpoint, p256dh, auth, muted)| {
                let target = PushTarget::from((user, endpoint, p256dh, auth, muted));
                (ConversationId(conversation), target)
            })
            .collect())
    }
}

type TargetRow = (i64, String, String, String, String);

impl From<TargetRow> for PushTarget {
    fn from((user, endpoint, p256dh, auth, muted): TargetRow) -> Self {
        Self {
            user: UserId(user),
            endpoint,
            p256dh,
            auth,
            muted: split_ids(&muted),
        }
    }
}

/// Conversation ids as stored: comma-separated.
fn join_ids(ids: &[ConversationId]) -> String {
    ids.iter()
        .map(|id| id.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn split_ids(text: &str) -> Vec<ConversationId> {
    text.split(',')
        .filter_map(|id| id.parse().ok().map(ConversationId))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn muted_ids_round_trip_and_an_empty_list_is_empty() {
        let ids = vec![ConversationId(3), ConversationId(41)];
        assert_eq!(split_ids(&join_ids(&ids)), ids);
        assert_eq!(split_ids(""), Vec::new());
    }
}
