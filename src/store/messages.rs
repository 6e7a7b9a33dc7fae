//! Messages and read marks: the gapless, per-conversation `seq`, idempotent sends, history
//! pages, and members' read marks.

use super::events::{append_event, to_json};
use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Engine, Store, with_pool};
use crate::clock::{UnixMillis, system_now};
use crate::error::ChatError;
use crate::hub::PersonalEvent;
use crate::message::{ClientMessageId, Message, MessageBody};
use crate::protocol::{ConversationId, EntryKind, FeedPos, MessageId, Seq, UserId};
use crate::user::User;

/// A message to store: the writer's unit of work.
#[derive(Clone, Debug)]
pub struct NewSend {
    pub conversation: ConversationId,
    pub sender: User,
    pub body: MessageBody,
    pub client_id: Option<ClientMessageId>,
}

/// A send's result: the message and whether this call stored it (`false`: a retry, answered
/// with the original).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inserted {
    pub message: Message,
    pub fresh: bool,
}

/// A member's read mark after a move, and, when it moved, the place of the announcement in
/// each member's feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkMoved {
    pub mark: Seq,
    pub announced: Vec<(UserId, FeedPos)>,
}

/// A page of history, oldest first, and whether older messages exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

pub(super) const MESSAGE_SELECT: &str = "SELECT m.id, m.conversation_id, m.seq, m.sender_id, u.username AS sender_name, \
                              m.body, m.client_id, m.created_at, m.kind, m.event FROM messages m JOIN users u ON u.id = m.sender_id";

impl Store {
    /// Commits a batch of sends in one transaction — one commit, one fsync, for all of them
    /// (group commit). Each send gets the conversation's next `seq` if its sender is a member;
    /// a client id this sender already used returns the stored message instead (`fresh:
    /// false`, nothing written) or, used for other text, `ClientIdReused`. The answers come back
    /// in the order of `sends`; one that is refused does not stop the others. Conversations are
    /// written in id order (sends of one conversation in their given order), so batches of
    /// several nodes lock rows in one order and cannot deadlock.
    ///
    /// The usual batch — every sender a member, no client id seen before — is written with a
    /// handful of statements whatever its size ([`Store::insert_at_once`]); a batch with
    /// anything else in it is rolled back and written send by send, each answered on its own.
    pub async fn insert_batch(
        &self,
        sends: &[NewSend],
    ) -> Result<Vec<Result<Inserted, ChatError>>, ChatError> {
        match self.insert_at_once(sends).await? {
            Some(inserted) => Ok(inserted.into_iter().map(Ok).collect()),
            None => self.insert_one_by_one(sends).await,
        }
    }

    /// The usual batch of two sends or more in five statements (six with client ids, one more
    /// on PostgreSQL), not four per send; each is built for the batch's size, so none is kept
    /// prepared (they would crowd the fixed statements out of the connection's cache): lock the conversations in id order (PostgreSQL; SQLite's write lock
    /// covers them), move each one's `last_seq` by its number of sends, check every
    /// (conversation, sender) is a member, check no client id was used before, insert every
    /// message in one statement, move each sender's read mark. `None` (and nothing written)
    /// when the batch holds anything else: a conversation that does not exist, a sender who is
    /// not a member, a client id used before or twice in the batch.
    async fn insert_at_once(&self, sends: &[NewSend]) -> Result<Option<Vec<Inserted>>, ChatError> {
        let mut client_ids = HashSet::new();
        let unique_ids = sends
            .iter()
            .filter_map(|s| Some((s.sender.id, s.client_id.as_ref()?.as_str())))
            .all(|key| client_ids.insert(key));
        // One send alone is four statements either way, and the fixed ones are prepared once.
        if sends.len() < 2 || !unique_ids {
            return Ok(None);
        }
        // Seqs go to each conversation's sends in batch order: the i-th gets last_seq + i.
        let mut per_conversation: BTreeMap<i64, i64> = BTreeMap::new();
        let nth: Vec<i64> = sends
            .iter()
            .map(|send| {
                let count = per_conversation.entry(send.conversation.0).or_default();
                *count += 1;
                *count
            })
            .collect();
        // Each sender's newest message per conversation moves their read mark.
        let mut read: BTreeMap<(i64, i64), usize> = BTreeMap::new();
        for (i, send) in sends.iter().enumerate() {
            read.insert((send.conversation.0, send.sender.id.0), i);
        }
        let ids: Vec<i64> = per_conversation.keys().copied().collect();
        let postgres = self.engine() == Engine::Postgres;
        let params = Placeholders { numbered: postgres };
        let lock = format!(
            "SELECT id FROM conversations WHERE id IN ({}) ORDER BY id FOR UPDATE",
            params.list(1, ids.len())
        );
        let bump = format!(
            "UPDATE conversations SET last_seq = last_seq + v.column2 FROM (VALUES {}) AS v \
             WHERE conversations.id = v.column1 RETURNING id, last_seq",
            params.tuples(ids.len(), 2)
        );
        let members = format!(
            "SELECT COUNT(*) FROM (VALUES {}) AS v JOIN conversation_members cm \
             ON cm.conversation_id = v.column1 AND cm.user_id = v.column2",
            params.tuples(read.len(), 2)
        );
        let used = format!(
            "SELECT COUNT(*) FROM (VALUES {}) AS v JOIN messages m \
             ON m.sender_id = v.column1 AND m.client_id = v.column2",
            params.tuples(client_ids.len(), 2)
        );
        let insert = format!(
            "INSERT INTO messages (conversation_id, seq, sender_id, body, client_id, created_at) \
             VALUES {} ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, conversation_id, seq",
            params.tuples(sends.len(), 6)
        );
        let mark = format!(
            "UPDATE conversation_members SET last_read_seq = v.column3 FROM (VALUES {}) AS v \
             WHERE conversation_id = v.column1 AND user_id = v.column2 AND last_read_seq < v.column3",
            params.tuples(read.len(), 3)
        );
        let now = system_now();
        let writer = self.writer().await;
        let inserted = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let written = async {
                if postgres {
                    let mut query = sqlx::query(&lock).persistent(false);
                    for id in &ids {
                        query = query.bind(id);
                    }
                    query.execute(&mut *tx).await?;
                }
                let mut query = sqlx::query_as::<_, (i64, i64)>(&bump).persistent(false);
                for (id, count) in &per_conversation {
                    query = query.bind(id).bind(count);
                }
                let last: HashMap<i64, i64> = query.fetch_all(&mut *tx).await?.into_iter().collect();
                if last.len() != per_conversation.len() {
                    return Ok(None);
                }
                let mut query = sqlx::query_as::<_, (i64,)>(&members).persistent(false);
                for (conversation, sender) in read.keys() {
                    query = query.bind(conversation).bind(sender);
                }
                if query.fetch_one(&mut *tx).await?.0 != read.len() as i64 {
                    return Ok(None);
                }
                if !client_ids.is_empty() {
                    let mut query = sqlx::query_as::<_, (i64,)>(&used).persistent(false);
                    for (sender, client_id) in &client_ids {
                        query = query.bind(sender.0).bind(*client_id);
                    }
                    if query.fetch_one(&mut *tx).await?.0 != 0 {
                        return Ok(None);
                    }
                }
                let seq = |i: usize| {
                    let conversation = sends[i].conversation.0;
                    last[&conversation] - per_conversation[&conversation] + nth[i]
                };
                let mut query = sqlx::query_as::<_, (i64, i64, i64)>(&insert).persistent(false);
                for (i, send) in sends.iter().enumerate() {
                    query = query
                        .bind(send.conversation.0)
                        .bind(seq(i))
                        .bind(send.sender.id.0)
                        .bind(send.body.as_str())
                        .bind(send.client_id.as_ref().map(ClientMessageId::as_str))
                        .bind(now.0);
                }
                // A client id taken meanwhile (another node's retry) leaves its row out.
                let ids: HashMap<(i64, i64), i64> = query
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|(id, conversation, seq)| ((conversation, seq), id))
                    .collect();
                if ids.len() != sends.len() {
                    return Ok(None);
                }
                let mut query = sqlx::query(&mark).persistent(false);
                for (&(conversation, sender), &i) in &read {
                    query = query.bind(conversation).bind(sender).bind(seq(i));
                }
                query.execute(&mut *tx).await?;
                Ok::<_, sqlx::Error>(Some(
                    sends
                        .iter()
                        .enumerate()
                        .map(|(i, send)| {
                            let seq = seq(i);
                            Inserted {
                                message: Message {
                                    id: MessageId(ids[&(send.conversation.0, seq)]),
                                    conversation: send.conversation,
                                    seq: Seq(seq),
                                    sender: send.sender.id,
                                    sender_name: send.sender.username.clone(),
                                    body: send.body.as_str().to_owned(),
                                    client_id: send.client_id.as_ref().map(|c| c.as_str().to_owned()),
                                    created_at: now.to_datetime(),
                                    kind: EntryKind::Message,
                                    event: None,
                                },
                                fresh: true,
                            }
                        })
                        .collect::<Vec<_>>(),
                ))
            }
            .await?;
            match written {
                Some(_) => tx.commit().await?,
                None => tx.rollback().await?,
            }
            written
        });
        drop(writer);
        Ok(inserted)
    }

    /// A batch send by send, two commands each on SQLite and four statements on PostgreSQL:
    /// every refusal and retry answered.
    async fn insert_one_by_one(
        &self,
        sends: &[NewSend],
    ) -> Result<Vec<Result<Inserted, ChatError>>, ChatError> {
        let now = system_now();
        let sqlite = self.engine() == Engine::Sqlite;
        let member =
            "SELECT COUNT(*) FROM conversation_members WHERE conversation_id = $1 AND user_id = $2";
        let bump =
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq";
        // SQLite's writes all hold the one writer lock, so nothing can change the membership
        // between the two halves: one statement takes the seq if the sender is a member (one
        // hop to the connection's worker thread fewer per send).
        let bump_if_member = "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 \
                              AND EXISTS (SELECT 1 FROM conversation_members \
                              WHERE conversation_id = $1 AND user_id = $2) RETURNING last_seq";
        let found = "SELECT COUNT(*) FROM conversations WHERE id = $1";
        let unbump = "UPDATE conversations SET last_seq = last_seq - 1 WHERE id = $1";
        // A retried client id is found by the unique constraint, not by a lookup first: a
        // retry is rare, and a lookup would cost every send one more round trip.
        let insert = "INSERT INTO messages (conversation_id, seq, sender_id, body, client_id, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6) \
                      ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id";
        // Writing a message means having read the conversation up to it.
        let read = "UPDATE conversation_members SET last_read_seq = $3 \
                    WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < $3";
        // SQLite: the read mark rides with the insert, one hop to the worker thread for both
        // (sqlx runs a string of statements as one command, `$N` naming the same argument in
        // each). It moves only if the insert stored the message: a retried client id stores
        // nothing, and its seq is given back below.
        let insert_and_read = format!(
            "{insert}; UPDATE conversation_members SET last_read_seq = $2 \
             WHERE conversation_id = $1 AND user_id = $3 AND last_read_seq < $2 \
             AND EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND seq = $2)"
        );
        let existing = format!("{MESSAGE_SELECT} WHERE m.sender_id = $1 AND m.client_id = $2");
        let mut order: Vec<usize> = (0..sends.len()).collect();
        order.sort_by_key(|&i| sends[i].conversation.0);
        let writer = self.writer().await;
        let answers = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut answers: Vec<Option<Result<Inserted, ChatError>>> = sends.iter().map(|_| None).collect();
            for &i in &order {
                let send = &sends[i];
                let conversation = send.conversation;
                let client = send.client_id.as_ref().map(ClientMessageId::as_str);
                // The UPDATE takes the write lock (SQLite) or the row lock (PostgreSQL):
                // concurrent sends and group changes of one conversation queue here, and seq
                // stays gapless. On PostgreSQL membership is read by a statement of its own
                // after it, so a member removed by a change that committed while this send
                // waited for the row lock is refused (a subquery of the UPDATE would still see
                // them: it reads the snapshot from before the wait).
                let seq = if sqlite {
                    let bumped: Option<(i64,)> = sqlx::query_as(bump_if_member)
                        .bind(conversation.0)
                        .bind(send.sender.id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some((seq,)) = bumped {
                        seq
                    } else {
                        let (exists,): (i64,) = sqlx::query_as(found).bind(conversation.0).fetch_one(&mut *tx).await?;
                        answers[i] = Some(Err(if exists == 0 {
                            ChatError::ConversationNotFound(conversation)
                        } else {
                            ChatError::NotMember(conversation)
                        }));
                        continue;
                    }
                } else {
                    let bumped: Option<(i64,)> = sqlx::query_as(bump).bind(conversation.0).fetch_optional(&mut *tx).await?;
                    let Some((seq,)) = bumped else {
                        answers[i] = Some(Err(ChatError::ConversationNotFound(conversation)));
                        continue;
                    };
                    let (members,): (i64,) = sqlx::query_as(member)
                        .bind(conversation.0)
                        .bind(send.sender.id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    if members == 0 {
                        sqlx::query(unbump).bind(conversation.0).execute(&mut *tx).await?;
                        answers[i] = Some(Err(ChatError::NotMember(conversation)));
                        continue;
                    }
                    seq
                };
                let inserted: Option<(i64,)> = sqlx::query_as(if sqlite { &insert_and_read } else { insert })
                    .bind(conversation.0)
                    .bind(seq)
                    .bind(send.sender.id.0)
                    .bind(send.body.as_str())
                    .bind(client)
                    .bind(now.0)
                    // Every row, so that the second statement runs too (`fetch_optional` stops
                    // the string at the first row).
                    .fetch_all(&mut *tx)
                    .await?
                    .pop();
                let Some((id,)) = inserted else {
                    // The client id was used before (a retry, or an earlier send of this very
                    // batch): give the seq back, and answer with the stored message.
                    sqlx::query(unbump).bind(conversation.0).execute(&mut *tx).await?;
                    let stored: Option<MessageRow> = sqlx::query_as(&existing)
                        .bind(send.sender.id.0)
                        .bind(client)
                        .fetch_optional(&mut *tx)
                        .await?;
                    answers[i] = Some(match (stored, send.client_id.as_ref()) {
                        (Some(stored), Some(client_id)) => same_message(
                            Message::from(stored),
                            conversation,
                            &send.body,
                            client_id,
                        )
                        .map(|message| Inserted { message, fresh: false }),
                        _ => Err(ChatError::internal(
                            "storing a message",
                            "a conflicting client id has no stored message",
                        )),
                    });
                    continue;
                };
                if !sqlite {
                    sqlx::query(read).bind(conversation.0).bind(send.sender.id.0).bind(seq).execute(&mut *tx).await?;
                }
                answers[i] = Some(Ok(Inserted {
                    message: Message {
                        id: MessageId(id),
                        conversation,
                        seq: Seq(seq),
                        sender: send.sender.id,
                        sender_name: send.sender.username.clone(),
                        body: send.body.as_str().to_owned(),
                        client_id: client.map(str::to_owned),
                        created_at: now.to_datetime(),
                        kind: EntryKind::Message,
                        event: None,
                    },
                    fresh: true,
                }));
            }
            tx.commit().await?;
            answers
        });
        drop(writer);
        Ok(answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or_else(|| {
                    Err(ChatError::internal(
                        "storing a message",
                        "a send got no answer",
                    ))
                })
            })
            .collect())
    }

    /// Moves `user`'s read mark in `conversation` forward to `seq`, capped at the newest
    /// message; never back. A move is announced on every member's feed in the same
    /// transaction.
    pub async fn mark_read(
        &self,
        conversation: ConversationId,
        user: UserId,
        seq: Seq,
    ) -> Result<MarkMoved, ChatError> {
        let target = "(SELECT CASE WHEN c.last_seq < $3 THEN c.last_seq ELSE $3 END \
                      FROM conversations c WHERE c.id = $1)";
        let update = format!(
            "UPDATE conversation_members SET last_read_seq = {target} \
             WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < {target} \
             RETURNING last_read_seq"
        );
        let current = "SELECT last_read_seq FROM conversation_members WHERE conversation_id = $1 AND user_id = $2";
        let members =
            "SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY user_id";
        let now = system_now().0;
        let writer = self.writer().await;
        let moved = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let moved: Option<(i64,)> = sqlx::query_as(&update)
                .bind(conversation.0)
                .bind(user.0)
                .bind(seq.0)
                .fetch_optional(&mut *tx)
                .await?;
            match moved {
                Some((mark,)) => {
                    let json = to_json(&PersonalEvent::Read { conversation, user, seq: Seq(mark) })?;
                    let ids: Vec<(i64,)> = sqlx::query_as(members).bind(conversation.0).fetch_all(&mut *tx).await?;
                    let mut announced = Vec::new();
                    for (member,) in ids {
                        announced.push((UserId(member), append_event!(tx, member, &json, now)));
                    }
                    tx.commit().await?;
                    Some(MarkMoved { mark: Seq(mark), announced })
                }
                None => {
                    tx.rollback().await?;
                    None
                }
            }
        });
        drop(writer);
        if let Some(moved) = moved {
            return Ok(moved);
        }
        let mark: Option<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as(current).bind(conversation.0).bind(user.0).fetch_optional(pool).await?
        });
        // No mark: no longer a member (removed since the caller's membership was checked).
        let (mark,) = mark.ok_or(ChatError::NotMember(conversation))?;
        Ok(MarkMoved {
            mark: Seq(mark),
            announced: Vec::new(),
        })
    }

    /// Up to `limit` messages with `seq < before` (all when `None`), oldest first.
    pub async fn messages_before(
        &self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: i64,
    ) -> Result<Page, ChatError> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        );
        let rows: Vec<MessageRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(conversation.0)
                .bind(before.map_or(i64::MAX, |b| b.0))
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
        Ok(Page { messages, has_more })
    }

    /// Up to `limit` messages with `seq > after`, oldest first: what a client that has
    /// everything up to `after` missed.
    pub async fn messages_after(
        &self,
        conversation: ConversationId,
        after: Seq,
        limit: i64,
    ) -> Result<Vec<Message>, ChatError> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq ASC LIMIT $3"
        );
        let rows: Vec<MessageRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(conversation.0).bind(after.0).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Message::from).collect())
    }
}

#[derive(Clone, sqlx::FromRow)]
pub(super) struct MessageRow {
    id: i64,
    pub(super) conversation_id: i64,
    seq: i64,
    sender_id: i64,
    sender_name: String,
    body: String,
    client_id: Option<String>,
    created_at: i64,
    kind: String,
    event: Option<String>,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Message {
            id: MessageId(row.id),
            conversation: ConversationId(row.conversation_id),
            seq: Seq(row.seq),
            sender: UserId(row.sender_id),
            sender_name: row.sender_name,
            body: row.body,
            client_id: row.client_id,
            created_at: UnixMillis(row.created_at).to_datetime(),
            kind: if row.kind == EntryKind::Event.as_str() {
                EntryKind::Event
            } else {
                EntryKind::Message
            },
            event: row.event.and_then(|json| {
                serde_json::from_str(&json)
                    .inspect_err(
                        |error| tracing::error!(%error, "a stored timeline event does not decode"),
                    )
                    .ok()
            }),
        }
    }
}

/// Placeholders for statements built for a batch's size: PostgreSQL's `$1, $2, …`, SQLite's
/// anonymous `?` — SQLite looks a named parameter (`$7`) up in a list, one by one, when it parses
/// and again when it binds, which costs a statement of 3,000 of them tens of milliseconds.
#[derive(Clone, Copy)]
struct Placeholders {
    numbered: bool,
}

impl Placeholders {
    /// `count` placeholders, the first being parameter `from`.
    fn list(self, from: usize, count: usize) -> String {
        (from..from + count)
            .map(|n| {
                if self.numbered {
                    format!("${n}")
                } else {
                    "?".to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `($1, $2), ($3, $4), …`: `rows` tuples of `width` placeholders, for a VALUES list.
    fn tuples(self, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|row| format!("({})", self.list(1 + row * width, width)))
            .collect::<Vec<_>>()
            .join(", ")
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

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testdb::TestDb;
    use crate::user::UserName;

    /// The usual batch is written at once; one with a retry in it is left to the send-by-send
    /// path (the domain tests check what each answers either way).
    #[tokio::test]
    async fn a_plain_batch_is_written_at_once_and_one_with_a_retry_is_not() {
        for engine in [Engine::Sqlite, Engine::Postgres] {
            let db = TestDb::new(engine).await;
            let store = Store::connect(&db.url, 2).await.unwrap();
            let mut users = Vec::new();
            for name in ["ann", "ben"] {
                let name = UserName::parse(name).unwrap();
                users.push(store.create_user(&name, "not a hash").await.unwrap());
            }
            let conversation = store
                .find_or_create_direct(users[0].id, users[1].id)
                .await
                .unwrap()
                .id;
            let send = |client_id: &str| NewSend {
                conversation,
                sender: users[0].clone(),
                body: MessageBody::parse("hi", 100).unwrap(),
                client_id: Some(ClientMessageId::parse(client_id).unwrap()),
            };
            let at_once = store.insert_at_once(&[send("a"), send("b")]).await.unwrap();
            let seqs: Vec<i64> = at_once.unwrap().iter().map(|i| i.message.seq.0).collect();
            assert_eq!(seqs, [1, 2], "{engine:?}");
            assert!(
                store
                    .insert_at_once(&[send("c"), send("a")])
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                store
                    .insert_at_once(&[send("d"), send("d")])
                    .await
                    .unwrap()
                    .is_none()
            );
            // A send alone goes one by one.
            assert!(store.insert_at_once(&[send("e")]).await.unwrap().is_none());
            // Nothing of the refused batches was written: the next seq is 3.
            let next = store
                .insert_at_once(&[send("f"), send("g")])
                .await
                .unwrap()
                .unwrap();
            assert_eq!(next[0].message.seq, Seq(3), "{engine:?}");
        }
    }
}
