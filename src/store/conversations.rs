//! Conversations and their members: finding or creating a pair's conversation, who may see
//! one, and what a member's list shows (members, read marks, newest message).

use time::OffsetDateTime;

use super::events::{append_event, to_json};
use super::messages::{MESSAGE_SELECT, MessageRow};
use super::{Store, with_pool};
use crate::clock::{UnixMillis, system_now};
use crate::error::ChatError;
use crate::hub::PersonalEvent;
use crate::message::Message;
use crate::protocol::{ConversationId, ConversationKind, FeedPos, ReadMark, Seq, UserId};
use crate::user::User;

/// Whether a user may see a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Missing,
    Stranger,
    Member,
}

/// A conversation found or created, whether this call created it, and (when it did) the
/// place of the announcement in each member's feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub id: ConversationId,
    pub fresh: bool,
    pub announced: Vec<(UserId, FeedPos)>,
}

/// A conversation as stored, with its members and newest message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub kind: ConversationKind,
    /// A group's title.
    pub title: Option<String>,
    /// A group's admins, in member order.
    pub admins: Vec<UserId>,
    pub created_at: OffsetDateTime,
    pub last_seq: Seq,
    pub members: Vec<User>,
    /// Each member's read mark (highest `seq` read), in member order.
    pub read: Vec<ReadMark>,
    pub last_message: Option<Message>,
    /// Each member's presence settings and last sighting, in member order.
    pub seen: Vec<MemberSeen>,
}

/// What a member shares of their presence, and when they were last seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberSeen {
    pub user: UserId,
    pub shares_presence: bool,
    pub last_seen_at: Option<UnixMillis>,
}

impl Store {
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

    /// The one-to-one conversation of `a` and `b`, created if it does not exist yet; a new one
    /// is announced on both members' feeds in the same transaction.
    pub async fn find_or_create_direct(&self, a: UserId, b: UserId) -> Result<Created, ChatError> {
        let key = direct_key(a, b);
        let now = system_now().0;
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
                    let json = to_json(&PersonalEvent::ConversationCreated { conversation: ConversationId(id) })?;
                    let mut announced = Vec::new();
                    // In id order, as every transaction that appends to several feeds.
                    for user in [a.min(b), a.max(b)] {
                        sqlx::query(member).bind(id).bind(user.0).bind(now).execute(&mut *tx).await?;
                        announced.push((user, append_event!(tx, user.0, &json, now)));
                    }
                    tx.commit().await?;
                    Ok(Created { id: ConversationId(id), fresh: true, announced })
                }
                None => {
                    tx.rollback().await?;
                    drop(writer);
                    let (id,): (i64,) = sqlx::query_as(existing).bind(&key).fetch_one(pool).await?;
                    Ok(Created { id: ConversationId(id), fresh: false, announced: Vec::new() })
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
        let sql = "SELECT c.id, c.kind, c.title, c.created_at, c.last_seq FROM conversations c WHERE c.id = $1";
        let members_sql = "SELECT m.conversation_id, u.id, u.username, m.last_read_seq, u.last_seen_at, u.share_presence, m.role \
                           FROM conversation_members m \
                           JOIN users u ON u.id = m.user_id WHERE m.conversation_id = $1 ORDER BY u.id";
        let last_sql =
            format!("{MESSAGE_SELECT} WHERE m.conversation_id = $1 ORDER BY m.seq DESC LIMIT 1");
        let (row, members, last): (Option<ConversationRow>, Vec<MemberRow>, Option<MessageRow>) = with_pool!(self, pool => {
            let row = sqlx::query_as(sql).bind(id.0).fetch_optional(pool).await?;
            let members = sqlx::query_as(members_sql).bind(id.0).fetch_all(pool).await?;
            let last = sqlx::query_as(&last_sql).bind(id.0).fetch_optional(pool).await?;
            (row, members, last)
        });
        Ok(row.map(|row| row.record(&members, last.map(Message::from))))
    }

    /// Every conversation `user` belongs to, most recently active first.
    pub async fn conversations_of(
        &self,
        user: UserId,
    ) -> Result<Vec<ConversationRecord>, ChatError> {
        let sql = "SELECT c.id, c.kind, c.title, c.created_at, c.last_seq FROM conversations c \
                   JOIN conversation_members me ON me.conversation_id = c.id AND me.user_id = $1";
        let members_sql = "SELECT m.conversation_id, u.id, u.username, m.last_read_seq, u.last_seen_at, u.share_presence, m.role \
                           FROM conversation_members m \
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
                let last = lasts
                    .iter()
                    .find(|m| m.conversation_id == row.id)
                    .cloned()
                    .map(Message::from);
                row.record(&members, last)
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
}

/// The key that makes a pair's one-to-one conversation unique, in either order.
fn direct_key(a: UserId, b: UserId) -> String {
    format!("direct:{}:{}", a.0.min(b.0), a.0.max(b.0))
}

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: i64,
    kind: String,
    title: Option<String>,
    created_at: i64,
    last_seq: i64,
}

impl ConversationRow {
    /// The record, with this conversation's rows of `members` (which may hold others').
    fn record(self, members: &[MemberRow], last_message: Option<Message>) -> ConversationRecord {
        let mine = || members.iter().filter(|m| m.conversation_id == self.id);
        ConversationRecord {
            id: ConversationId(self.id),
            kind: if self.kind == ConversationKind::Group.as_str() {
                ConversationKind::Group
            } else {
                ConversationKind::Direct
            },
            title: self.title,
            admins: mine()
                .filter(|m| m.role == ADMIN)
                .map(|m| UserId(m.id))
                .collect(),
            created_at: UnixMillis(self.created_at).to_datetime(),
            last_seq: Seq(self.last_seq),
            members: mine().map(MemberRow::user).collect(),
            read: mine()
                .map(|m| ReadMark {
                    user_id: UserId(m.id),
                    seq: Seq(m.last_read_seq),
                })
                .collect(),
            last_message,
            seen: mine()
                .map(|m| MemberSeen {
                    user: UserId(m.id),
                    shares_presence: m.share_presence,
                    last_seen_at: m.last_seen_at.map(UnixMillis),
                })
                .collect(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    conversation_id: i64,
    id: i64,
    username: String,
    last_read_seq: i64,
    last_seen_at: Option<i64>,
    share_presence: bool,
    role: String,
}

/// `conversation_members.role` of a group's admin.
pub(super) const ADMIN: &str = "admin";

impl MemberRow {
    fn user(&self) -> User {
        User {
            id: UserId(self.id),
            username: self.username.clone(),
        }
    }
}
