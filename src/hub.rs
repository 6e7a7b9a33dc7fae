//! Fan-out of committed events to the connections of this process.
//!
//! A topic is a conversation's room or a user's personal feed. Each topic with subscribers has
//! one bounded `broadcast` channel (capacity: the server's `--room-buffer`); a subscriber that
//! falls further behind sees `Lagged` and catches up from the store, so a slow client never
//! grows memory. The topic's sender is dropped with its last subscriber.
//!
//! Every event carries its place in its topic (a room message its `seq`, a personal event its
//! `FeedPos`), and the hub remembers the newest place it has fanned out per topic: what the
//! relay's position check compares with the database to find what this node missed.
//!
//! Fan-out goes through this one seam: only `Chat` (and the relay, for events committed on
//! other nodes) publishes, and transports only hold `Subscription`s.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::protocol::{ConversationId, FeedPos, MessageView, Seq, UserId};

/// Where an event is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Topic {
    /// Everyone who joined the conversation's room (`conversation_{id}`).
    Room(ConversationId),
    /// Every connection of one user, whatever rooms it joined.
    User(UserId),
}

/// An event of a user's personal feed, as stored (`user_events`), relayed and fanned out.
/// Ids only: each connection builds what its client sees (a conversation as its user sees it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum PersonalEvent {
    /// A conversation with this user was created.
    ConversationCreated { conversation: ConversationId },
    /// A member's read mark of one of this user's conversations moved.
    Read {
        conversation: ConversationId,
        user: UserId,
        seq: Seq,
    },
    /// A session of this user was signed out: its connections must end.
    SessionEnded { session: String },
}

/// A committed change, as fanned out.
#[derive(Clone, Debug)]
pub enum HubEvent {
    /// A message, to its room.
    Message(Arc<MessageView>),
    /// A personal event at its place in the user's feed.
    Personal {
        pos: FeedPos,
        event: Arc<PersonalEvent>,
    },
}

impl HubEvent {
    /// The event's place in its topic.
    fn place(&self) -> i64 {
        match self {
            Self::Message(message) => message.seq.0,
            Self::Personal { pos, .. } => pos.0,
        }
    }
}

struct Channel {
    sender: broadcast::Sender<HubEvent>,
    /// The newest place fanned out on this topic (0: none yet).
    newest: i64,
}

type Topics = Arc<Mutex<HashMap<Topic, Channel>>>;

/// The in-process fan-out.
pub struct Hub {
    topics: Topics,
    capacity: usize,
}

impl Hub {
    /// `capacity`: events buffered per topic before a slow subscriber lags.
    pub fn new(capacity: usize) -> Self {
        Self {
            topics: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    /// Delivers `event` to every current subscriber of `topic`; nobody listening is fine.
    pub fn publish(&self, topic: Topic, event: HubEvent) {
        let sender = {
            let mut topics = lock(&self.topics);
            let Some(channel) = topics.get_mut(&topic) else {
                return;
            };
            channel.newest = channel.newest.max(event.place());
            channel.sender.clone()
        };
        // An error only means the last receiver left meanwhile.
        let _ = sender.send(event);
    }

    /// Starts receiving `topic`'s events published from now on.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let receiver = lock(&self.topics)
            .entry(topic)
            .or_insert_with(|| Channel {
                sender: broadcast::channel(self.capacity).0,
                newest: 0,
            })
            .sender
            .subscribe();
        Subscription {
            stream: BroadcastStream::new(receiver),
            _guard: TopicGuard {
                topics: Arc::clone(&self.topics),
                topic,
            },
        }
    }

    /// How many topics currently have subscribers (for tests and metrics).
    pub fn topic_count(&self) -> usize {
        lock(&self.topics).len()
    }

    /// Every topic with subscribers and the newest place fanned out on it.
    pub fn positions(&self) -> Vec<(Topic, i64)> {
        lock(&self.topics)
            .iter()
            .map(|(topic, channel)| (*topic, channel.newest))
            .collect()
    }

    /// Raises a topic's newest place without an event (a subscriber read up to there itself).
    pub fn seen(&self, topic: Topic, place: i64) {
        if let Some(channel) = lock(&self.topics).get_mut(&topic) {
            channel.newest = channel.newest.max(place);
        }
    }
}

fn lock(
    topics: &Mutex<HashMap<Topic, Channel>>,
) -> std::sync::MutexGuard<'_, HashMap<Topic, Channel>> {
    // No code panics while holding this lock, and the map stays valid if one did.
    topics
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A stream of one topic's events; `Err(Lagged(n))` when `n` were dropped for this subscriber.
pub struct Subscription {
    // Declared before the guard: the receiver must be gone when the guard counts receivers.
    stream: BroadcastStream<HubEvent>,
    _guard: TopicGuard,
}

impl Stream for Subscription {
    type Item = Result<HubEvent, BroadcastStreamRecvError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }
}

/// Removes a topic's channel when its last subscription is dropped.
struct TopicGuard {
    topics: Topics,
    topic: Topic,
}

impl Drop for TopicGuard {
    fn drop(&mut self) {
        let mut topics = lock(&self.topics);
        if topics
            .get(&self.topic)
            .is_some_and(|channel| channel.sender.receiver_count() == 0)
        {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn created(pos: i64) -> HubEvent {
        HubEvent::Personal {
            pos: FeedPos(pos),
            event: Arc::new(PersonalEvent::SessionEnded {
                session: format!("s{pos}"),
            }),
        }
    }

    #[tokio::test]
    async fn subscribers_of_a_topic_get_its_events_and_no_others() {
        let hub = Hub::new(8);
        let mut a = hub.subscribe(Topic::User(UserId(1)));
        let mut b = hub.subscribe(Topic::User(UserId(2)));
        hub.publish(Topic::User(UserId(1)), created(1));
        assert!(
            matches!(a.next().await, Some(Ok(HubEvent::Personal { pos, .. })) if pos == FeedPos(1))
        );
        hub.publish(Topic::User(UserId(2)), created(2));
        assert!(
            matches!(b.next().await, Some(Ok(HubEvent::Personal { pos, .. })) if pos == FeedPos(2))
        );
        assert_eq!(
            {
                let mut positions = hub.positions();
                positions.sort_by_key(|(_, p)| *p);
                positions
            },
            [(Topic::User(UserId(1)), 1), (Topic::User(UserId(2)), 2)]
        );
    }

    #[tokio::test]
    async fn a_topic_is_freed_with_its_last_subscriber() {
        let hub = Hub::new(8);
        let a = hub.subscribe(Topic::Room(ConversationId(1)));
        let b = hub.subscribe(Topic::Room(ConversationId(1)));
        assert_eq!(hub.topic_count(), 1);
        drop(a);
        assert_eq!(hub.topic_count(), 1);
        drop(b);
        assert_eq!(hub.topic_count(), 0);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_it_lagged() {
        let hub = Hub::new(2);
        let mut slow = hub.subscribe(Topic::User(UserId(1)));
        for pos in 1..=5 {
            hub.publish(Topic::User(UserId(1)), created(pos));
        }
        assert!(matches!(
            slow.next().await,
            Some(Err(BroadcastStreamRecvError::Lagged(3)))
        ));
    }
}
