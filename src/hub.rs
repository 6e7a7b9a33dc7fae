//! Fan-out of committed events to connected clients, in one process.
//!
//! A topic is a conversation's room or a user's personal feed. Each topic with subscribers has
//! one bounded `broadcast` channel (capacity: the server's `--room-buffer`); a subscriber that
//! falls further behind sees `Lagged` and catches up from the store, so a slow client never
//! grows memory. The topic's sender is dropped with its last subscriber.
//!
//! Fan-out goes through this one seam: only `Chat` publishes and transports only hold
//! `Subscription`s. Relaying events between several nodes is a matter for `Chat` and a relay
//! beside the hub (what crosses nodes, and how loss is repaired from storage), not for the
//! transports.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::protocol::{ConversationId, ConversationView, MessageView, Seq, UserId};

/// Where an event is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Everyone who joined the conversation's room (`conversation_{id}`).
    Room(ConversationId),
    /// Every connection of one user, whatever rooms it joined.
    User(UserId),
}

/// A committed change, as fanned out.
#[derive(Clone, Debug)]
pub enum HubEvent {
    Message(Arc<MessageView>),
    ConversationCreated(Arc<ConversationView>),
    /// A session was logged out: its connections must end.
    SessionEnded(Arc<str>),
    /// A member's read mark moved.
    Read {
        conversation: ConversationId,
        user: UserId,
        seq: Seq,
    },
}

/// The in-process fan-out.
pub struct Hub {
    topics: Arc<Mutex<HashMap<Topic, broadcast::Sender<HubEvent>>>>,
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
        let sender = self.lock().get(&topic).cloned();
        if let Some(sender) = sender {
            // An error only means the last receiver left meanwhile.
            let _ = sender.send(event);
        }
    }

    /// Starts receiving `topic`'s events published from now on.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let receiver = self
            .lock()
            .entry(topic)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
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
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, broadcast::Sender<HubEvent>>> {
        lock(&self.topics)
    }
}

fn lock(
    topics: &Mutex<HashMap<Topic, broadcast::Sender<HubEvent>>>,
) -> std::sync::MutexGuard<'_, HashMap<Topic, broadcast::Sender<HubEvent>>> {
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
    topics: Arc<Mutex<HashMap<Topic, broadcast::Sender<HubEvent>>>>,
    topic: Topic,
}

impl Drop for TopicGuard {
    fn drop(&mut self) {
        let mut topics = lock(&self.topics);
        if topics
            .get(&self.topic)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn created(id: i64) -> HubEvent {
        HubEvent::ConversationCreated(Arc::new(ConversationView {
            id: ConversationId(id),
            room: ConversationId(id).room(),
            members: vec![],
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            last_message: None,
            unread: 0,
            read_up_to: vec![],
        }))
    }

    #[tokio::test]
    async fn subscribers_of_a_topic_get_its_events_and_no_others() {
        let hub = Hub::new(8);
        let mut a = hub.subscribe(Topic::User(UserId(1)));
        let mut b = hub.subscribe(Topic::User(UserId(2)));
        hub.publish(Topic::User(UserId(1)), created(1));
        assert!(
            matches!(a.next().await, Some(Ok(HubEvent::ConversationCreated(c))) if c.id == ConversationId(1))
        );
        hub.publish(Topic::User(UserId(2)), created(2));
        assert!(
            matches!(b.next().await, Some(Ok(HubEvent::ConversationCreated(c))) if c.id == ConversationId(2))
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
        for id in 0..5 {
            hub.publish(Topic::User(UserId(1)), created(id));
        }
        assert!(matches!(
            slow.next().await,
            Some(Err(BroadcastStreamRecvError::Lagged(3)))
        ));
    }
}
