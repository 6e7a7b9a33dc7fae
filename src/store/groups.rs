//! Groups: creating one, and each change of its title or members, in one transaction with
//! the timeline entries it adds (each at the conversation's next `seq`, like a message) and
//! the personal-feed events it announces. The rules (who may do what) are the chat core's:
//! `Store::change_group` reads the group inside the transaction, asks the core's `decide` for
//! a [`Plan`], and writes that plan or nothing.

use super::conversations::ADMIN;
use super::events::{append_event, to_json};
use super::{Store, with_pool};
use crate::clock::system_now;
use crate::error::ChatError;
use crate::hub::PersonalEvent;
use crate::message::Message;
use crate::protocol::{
    ConversationId, ConversationKind, EntryKind, FeedPos, MessageId, Seq, TimelineEvent, UserId,
};
use crate::user::User;

/// A group as a change finds it, read (and, on PostgreSQL, locked) in the change's
/// transaction.
#[derive(Clone, Debug)]
pub struct GroupState {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub title: Option<String>,
    /// Longest-standing first (by when they joined, then by id).
    pub members: Vec<GroupMember>,
}

#[derive(Clone, Debug)]
pub struct GroupMember {
    pub user: User,
    pub admin: bool,
}

impl GroupState {
    pub fn member(&self, user: UserId) -> Option<&GroupMember> {
        self.members.iter().find(|m| m.user.id == user)
    }
}

/// What one change writes. An empty plan (no entries) writes nothing.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub title: Option<String>,
    /// Becomes a member.
    pub add: Option<UserId>,
    /// Stops being a member.
    pub remove: Option<UserId>,
    /// Become admins.
    pub admins: Vec<UserId>,
    /// The timeline entries, in order.
    pub entries: Vec<TimelineEvent>,
}

/// What a change wrote: its timeline entries, in `seq` order, and the personal events it
/// announced, each at its place in its user's feed.
#[derive(Clone, Debug, Default)]
pub struct GroupChange {
    pub id: ConversationId,
    pub entries: Vec<Message>,
    pub announced: Vec<(UserId, FeedPos, PersonalEvent)>,
}

/// Appends one timeline entry for `$event` (a `TimelineEvent`) to `$conversation` at its next
/// `seq` inside the transaction `$tx`; evaluates to the stored `Message`.
macro_rules! append_entry {
    ($tx:expr, $conversation:expr, $event:expr, $now:expr) => {{
        let event: &TimelineEvent = $event;
        let (seq,): (i64,) = sqlx::query_as(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        )
        .bind($conversation.0)
        .fetch_one(&mut *$tx)
        .await?;
        let sentence = event.sentence();
        let json = serde_json::to_string(event)
            .map_err(|e| ChatError::internal("encoding a timeline event", e))?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO messages (conversation_id, seq, sender_id, body, created_at, kind, event) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind($conversation.0)
        .bind(seq)
        .bind(event.actor.id.0)
        .bind(&sentence)
        .bind($now.0)
        .bind(EntryKind::Event.as_str())
        .bind(&json)
        .fetch_one(&mut *$tx)
        .await?;
        Message {
            id: MessageId(id),
            conversation: $conversation,
            seq: Seq(seq),
            sender: event.actor.id,
            sender_name: event.actor.username.clone(),
            body: sentence,
            client_id: None,
            created_at: $now.to_datetime(),
            kind: EntryKind::Event,
            event: Some(Box::new(event.clone())),
        }
    }};
}

impl Store {
    /// Creates a group titled `title` of `creator` (its admin) and `others` (distinct, not the
    /// creator), with its `created` entry at `seq` 1 (read by the creator), announced on every
    /// member's feed.
    pub async fn create_group(
        &self,
        creator: &User,
        title: &str,
        others: &[User],
        created: TimelineEvent,
    ) -> Result<GroupChange, ChatError> {
        let now = system_now();
        let insert =
            "INSERT INTO conversations (kind, title, created_at) VALUES ($1, $2, $3) RETURNING id";
        let member = "INSERT INTO conversation_members (conversation_id, user_id, joined_at, role) \
                      VALUES ($1, $2, $3, $4)";
        let read = "UPDATE conversation_members SET last_read_seq = $3 WHERE conversation_id = $1 AND user_id = $2";
        let writer = self.writer().await;
        let change = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(insert)
                .bind(ConversationKind::Group.as_str())
                .bind(title)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await?;
            let id = ConversationId(id);
            let everyone = std::iter::once((creator, ADMIN)).chain(others.iter().map(|u| (u, "member")));
            for (user, role) in everyone.clone() {
                sqlx::query(member).bind(id.0).bind(user.id.0).bind(now.0).bind(role).execute(&mut *tx).await?;
            }
            let entry = append_entry!(tx, id, &created, now);
            sqlx::query(read).bind(id.0).bind(creator.id.0).bind(entry.seq.0).execute(&mut *tx).await?;
            let event = PersonalEvent::ConversationCreated { conversation: id };
            let json = to_json(&event)?;
            // Feeds in user id order, as every other transaction that appends to several
            // (read marks) takes them: PostgreSQL row locks in one order cannot deadlock.
            let mut feeds: Vec<UserId> = everyone.map(|(user, _)| user.id).collect();
            feeds.sort_unstable_by_key(|user| user.0);
            let mut announced = Vec::new();
            for user in feeds {
                announced.push((user, append_event!(tx, user.0, &json, now.0), event.clone()));
            }
            tx.commit().await?;
            GroupChange { id, entries: vec![entry], announced }
        });
        drop(writer);
        Ok(change)
    }

    /// Changes a group as `decide` plans it after reading it in the same transaction (which
    /// holds the conversation's row, so changes and sends to one conversation queue up):
    /// `decide`'s refusal writes nothing; its plan is written whole, with `actor`'s read mark
    /// moved past the new entries, an added member's set just before them (the rest of the
    /// history is there to read, not unread), and `addedToConversation` /
    /// `removedFromConversation` on the feed of whoever joined or left.
    pub async fn change_group(
        &self,
        conversation: ConversationId,
        actor: UserId,
        decide: impl FnOnce(&GroupState) -> Result<Plan, ChatError> + Send,
    ) -> Result<GroupChange, ChatError> {
        let now = system_now();
        // A no-op UPDATE to lock the row (PostgreSQL) before reading the members.
        let lock = "UPDATE conversations SET last_seq = last_seq WHERE id = $1 RETURNING kind, title, last_seq";
        let members = "SELECT u.id, u.username, m.role FROM conversation_members m \
                       JOIN users u ON u.id = m.user_id WHERE m.conversation_id = $1 \
                       ORDER BY m.joined_at, u.id";
        let rename = "UPDATE conversations SET title = $2 WHERE id = $1";
        let add = "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, role) \
                   VALUES ($1, $2, $3, $4, 'member')";
        let remove = "DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2";
        let promote = "UPDATE conversation_members SET role = 'admin' WHERE conversation_id = $1 AND user_id = $2";
        let read = "UPDATE conversation_members SET last_read_seq = $3 \
                    WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < $3";
        let writer = self.writer().await;
        let change = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(String, Option<String>, i64)> = sqlx::query_as(lock)
                .bind(conversation.0)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((kind, title, last_seq)) = row else {
                return Err(ChatError::ConversationNotFound(conversation));
            };
            let rows: Vec<(i64, String, String)> = sqlx::query_as(members)
                .bind(conversation.0)
                .fetch_all(&mut *tx)
                .await?;
            let state = GroupState {
                id: conversation,
                kind: if kind == ConversationKind::Group.as_str() { ConversationKind::Group } else { ConversationKind::Direct },
                title,
                members: rows
                    .into_iter()
                    .map(|(id, username, role)| GroupMember {
                        user: User { id: UserId(id), username },
                        admin: role == ADMIN,
                    })
                    .collect(),
            };
            let plan = decide(&state)?;
            if plan.entries.is_empty() {
                tx.rollback().await?;
                GroupChange { id: conversation, ..GroupChange::default() }
            } else {
                if let Some(title) = &plan.title {
                    sqlx::query(rename).bind(conversation.0).bind(title).execute(&mut *tx).await?;
                }
                if let Some(user) = plan.add {
                    sqlx::query(add).bind(conversation.0).bind(user.0).bind(now.0).bind(last_seq).execute(&mut *tx).await?;
                }
                if let Some(user) = plan.remove {
                    sqlx::query(remove).bind(conversation.0).bind(user.0).execute(&mut *tx).await?;
                }
                for user in &plan.admins {
                    sqlx::query(promote).bind(conversation.0).bind(user.0).execute(&mut *tx).await?;
                }
                let mut entries = Vec::new();
                for event in &plan.entries {
                    entries.push(append_entry!(tx, conversation, event, now));
                }
                if let Some(last) = entries.last() {
                    sqlx::query(read).bind(conversation.0).bind(actor.0).bind(last.seq.0).execute(&mut *tx).await?;
                }
                let mut announced = Vec::new();
                let feeds = plan
                    .add
                    .map(|user| (user, PersonalEvent::AddedToConversation { conversation }))
                    .into_iter()
                    .chain(plan.remove.map(|user| (user, PersonalEvent::RemovedFromConversation { conversation })));
                for (user, event) in feeds {
                    let json = to_json(&event)?;
                    announced.push((user, append_event!(tx, user.0, &json, now.0), event));
                }
                tx.commit().await?;
                GroupChange { id: conversation, entries, announced }
            }
        });
        drop(writer);
        Ok(change)
    }
}
