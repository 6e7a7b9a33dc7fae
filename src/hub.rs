//! Fan-out of committed events to the connections of this process.
//!
//! A topic is a conversation's room or a user's personal feed. Each connection has one
//! [`Inbox`]: a bounded queue (`--room-buffer` events) that every topic it subscribes to
//! delivers into, so an idle connection costs a few hundred bytes however many rooms it
//! joined, and a topic is only a list of inboxes. An inbox that is full drops the event and
//! remembers that its topic lagged; the connection then reads what it missed from the store,
//! so a slow client never grows memory. A topic is forgotten with its last subscriber.
//!
//! Every event carries its place in its topic (a room message its `seq`, a personal event its
//! `FeedPos`), and the hub remembers the newest place it has fanned out per topic: what the
//! relay's position check compares with the database to find what this node missed.
//!
//! Fan-out goes through this one seam: only `Chat` (and the relay, for events committed on
//! other nodes) publishes, and transports only hold connections.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::protocol::{
    ConversationId, FeedPos, MessageView, Seq, ServerEvent, ServerFrame, UserId,
};
use crate::sync::lock;

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
    /// This user was added to a group.
    AddedToConversation { conversation: ConversationId },
    /// This user is no longer a member of a group (removed, or left): its connections leave
    /// the room.
    RemovedFromConversation { conversation: ConversationId },
    /// A session of this user was signed out: its connections must end.
    SessionEnded { session: String },
}

/// A committed change, as fanned out.
#[derive(Clone, Debug)]
pub enum HubEvent {
    /// A message, to its room.
    Message(Arc<Fanned>),
    /// A personal event at its place in the user's feed.
    Personal {
        pos: FeedPos,
        event: Arc<PersonalEvent>,
    },
    /// Typing or presence: not stored, no place in its topic, dropped rather than queued when
    /// an inbox is busy.
    Ephemeral(Arc<Ephemeral>),
}

/// An event that is never stored (typing, presence), encoded once for every receiver.
#[derive(Debug)]
pub struct Ephemeral {
    /// The user it is about: their own connections do not get it.
    pub about: UserId,
    pub event: ServerEvent,
    pub frame: Arc<str>,
}

impl Ephemeral {
    pub fn new(about: UserId, event: ServerEvent) -> Arc<Self> {
        let frame = Arc::from(ServerFrame::broadcast(event.clone()).encode());
        Arc::new(Self {
            about,
            event,
            frame,
        })
    }

    /// The frame a connection sends.
    pub fn frame(&self) -> ServerFrame {
        ServerFrame::shared(self.event.clone(), Arc::clone(&self.frame))
    }
}

/// A committed message as fanned out: its view, and its `newMessage` frame encoded once for
/// every connection that receives it as is.
#[derive(Debug)]
pub struct Fanned {
    pub view: MessageView,
    pub frame: Arc<str>,
}

impl Fanned {
    pub fn new(view: MessageView) -> Arc<Self> {
        let frame = ServerFrame::broadcast(ServerEvent::NewMessage {
            message: view.clone(),
        })
        .encode();
        Arc::new(Self {
            view,
            frame: Arc::from(frame),
        })
    }
}

impl std::ops::Deref for Fanned {
    type Target = MessageView;

    fn deref(&self) -> &MessageView {
        &self.view
    }
}

impl HubEvent {
    /// The event's place in its topic (none for an ephemeral one).
    fn place(&self) -> Option<i64> {
        match self {
            Self::Message(message) => Some(message.seq.0),
            Self::Personal { pos, .. } => Some(pos.0),
            Self::Ephemeral(_) => None,
        }
    }
}

/// What an inbox holds next.
#[derive(Clone, Debug)]
pub enum Received {
    Event(Topic, HubEvent),
    /// Events of this topic were dropped (the inbox was full): read them from the store.
    Lagged(Topic),
}

/// One connection's queue of the events of every topic it subscribes to.
pub struct Inbox {
    shared: Arc<InboxShared>,
}

struct InboxShared {
    id: u64,
    capacity: usize,
    state: Mutex<InboxState>,
    notify: Notify,
}

#[derive(Default)]
struct InboxState {
    queue: VecDeque<(Topic, HubEvent)>,
    lagged: Vec<Topic>,
}

impl InboxShared {
    fn deliver(&self, topic: Topic, event: HubEvent) {
        {
            let mut state = lock(&self.state);
            if matches!(event, HubEvent::Ephemeral(_)) && state.queue.len() >= self.capacity / 2 {
                // Busy: typing and presence are worth nothing late, and need no repair.
                return;
            }
            if state.queue.len() >= self.capacity {
                if !state.lagged.contains(&topic) {
                    state.lagged.push(topic);
                }
            } else {
                state.queue.push_back((topic, event));
            }
        }
        self.notify.notify_one();
    }
}

impl Inbox {
    /// The next event, or the news that a topic lagged. Cancel-safe: nothing is taken from the
    /// inbox unless it is returned.
    pub async fn recv(&self) -> Received {
        loop {
            {
                let mut state = lock(&self.shared.state);
                if let Some(topic) = state.lagged.pop() {
                    return Received::Lagged(topic);
                }
                if let Some((topic, event)) = state.queue.pop_front() {
                    if state.queue.is_empty() && state.queue.capacity() > 64 {
                        // A burst is over: give its memory back.
                        state.queue = VecDeque::new();
                    }
                    return Received::Event(topic, event);
                }
            }
            self.shared.notify.notified().await;
        }
    }
}

struct Channel {
    subscribers: Vec<Arc<InboxShared>>,
    /// The newest place fanned out on this topic (0: none yet).
    newest: i64,
}

type Topics = Arc<Mutex<HashMap<Topic, Channel>>>;

/// The in-process fan-out.
pub struct Hub {
    topics: Topics,
    capacity: usize,
    inboxes: AtomicU64,
}

impl Hub {
    /// `capacity`: events an inbox holds before its topics lag.
    pub fn new(capacity: usize) -> Self {
        Self {
            topics: Arc::default(),
            capacity: capacity.max(1),
            inboxes: AtomicU64::new(0),
        }
    }

    /// A new, empty inbox for one connection.
    pub fn inbox(&self) -> Inbox {
        Inbox {
            shared: Arc::new(InboxShared {
                id: self.inboxes.fetch_add(1, Ordering::Relaxed),
                capacity: self.capacity,
                state: Mutex::default(),
                notify: Notify::new(),
            }),
        }
    }

    /// Delivers `event` to every inbox subscribed to `topic`; nobody listening is fine.
    pub fn publish(&self, topic: Topic, event: HubEvent) {
        let mut topics = lock(&self.topics);
        let Some(channel) = topics.get_mut(&topic) else {
            return;
        };
        if let Some(place) = event.place() {
            channel.newest = channel.newest.max(place);
        }
        for inbox in &channel.subscribers {
            inbox.deliver(topic, event.clone());
        }
    }

    /// Delivers `topic`'s events published from now on into `inbox`, until the returned
    /// subscription is dropped.
    pub fn subscribe(&self, topic: Topic, inbox: &Inbox) -> Subscription {
        lock(&self.topics)
            .entry(topic)
            .or_insert_with(|| Channel {
                subscribers: Vec::new(),
                newest: 0,
            })
            .subscribers
            .push(Arc::clone(&inbox.shared));
        Subscription {
            topics: Arc::clone(&self.topics),
            topic,
            inbox: inbox.shared.id,
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

/// One inbox's place among a topic's subscribers; leaving it (on drop) forgets the topic when
/// it was the last.
pub struct Subscription {
    topics: Topics,
    topic: Topic,
    inbox: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = lock(&self.topics);
        if let Some(channel) = topics.get_mut(&self.topic) {
            channel.subscribers.retain(|inbox| inbox.id != self.inbox);
            if channel.subscribers.is_empty() {
                topics.remove(&self.topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(pos: i64) -> HubEvent {
        HubEvent::Personal {
            pos: FeedPos(pos),
            event: Arc::new(PersonalEvent::SessionEnded {
                session: format!("s{pos}"),
            }),
        }
    }

    #[tokio::test]
    async fn an_inbox_gets_the_events_of_its_topics_and_no_others() {
        let hub = Hub::new(8);
        let (a, b) = (hub.inbox(), hub.inbox());
        let _a1 = hub.subscribe(Topic::User(UserId(1)), &a);
        let _b2 = hub.subscribe(Topic::User(UserId(2)), &b);
        hub.publish(Topic::User(UserId(1)), ended(1));
        hub.publish(Topic::User(UserId(2)), ended(2));
        assert!(matches!(
            a.recv().await,
            Received::Event(Topic::User(UserId(1)), HubEvent::Personal { pos, .. }) if pos == FeedPos(1)
        ));
        assert!(matches!(
            b.recv().await,
            Received::Event(Topic::User(UserId(2)), HubEvent::Personal { pos, .. }) if pos == FeedPos(2)
        ));
        let mut positions = hub.positions();
        positions.sort_by_key(|(_, p)| *p);
        assert_eq!(
            positions,
            [(Topic::User(UserId(1)), 1), (Topic::User(UserId(2)), 2)]
        );
    }

    #[tokio::test]
    async fn a_topic_is_freed_with_its_last_subscriber() {
        let hub = Hub::new(8);
        let (a, b) = (hub.inbox(), hub.inbox());
        let sa = hub.subscribe(Topic::Room(ConversationId(1)), &a);
        let sb = hub.subscribe(Topic::Room(ConversationId(1)), &b);
        assert_eq!(hub.topic_count(), 1);
        drop(sa);
        assert_eq!(hub.topic_count(), 1);
        drop(sb);
        assert_eq!(hub.topic_count(), 0);
    }

    #[tokio::test]
    async fn a_busy_inbox_drops_typing_and_presence_and_does_not_lag() {
        let hub = Hub::new(4);
        let busy = hub.inbox();
        let topic = Topic::User(UserId(1));
        let _s = hub.subscribe(topic, &busy);
        let presence = || {
            let view = crate::protocol::PresenceView {
                user_id: UserId(2),
                online: true,
                last_seen_at: None,
            };
            HubEvent::Ephemeral(Ephemeral::new(UserId(2), ServerEvent::Presence(view)))
        };
        let typing = || {
            let event = ServerEvent::Typing {
                conv_id: ConversationId(7),
                user_id: UserId(2),
                username: "bob".into(),
                typing: true,
            };
            HubEvent::Ephemeral(Ephemeral::new(UserId(2), event))
        };
        hub.publish(topic, presence()); // an idle inbox takes it
        hub.publish(topic, ended(1)); // half full from here
        hub.publish(topic, presence());
        hub.publish(topic, typing());
        hub.publish(topic, ended(2)); // stored events still queue up to the capacity
        {
            let state = lock(&busy.shared.state);
            assert_eq!(state.queue.len(), 3, "the two late ones were dropped");
            assert!(state.lagged.is_empty(), "nothing to read from the store");
        }
        assert!(matches!(
            busy.recv().await,
            Received::Event(_, HubEvent::Ephemeral(_))
        ));
        for expected in [1, 2] {
            assert!(matches!(
                busy.recv().await,
                Received::Event(_, HubEvent::Personal { pos, .. }) if pos == FeedPos(expected)
            ));
        }
    }

    #[tokio::test]
    async fn a_full_inbox_drops_and_says_which_topic_lagged() {
        let hub = Hub::new(2);
        let slow = hub.inbox();
        let _s = hub.subscribe(Topic::User(UserId(1)), &slow);
        for pos in 1..=5 {
            hub.publish(Topic::User(UserId(1)), ended(pos));
        }
        assert!(matches!(
            slow.recv().await,
            Received::Lagged(Topic::User(UserId(1)))
        ));
        assert!(matches!(
            slow.recv().await,
            Received::Event(_, HubEvent::Personal { pos, .. }) if pos == FeedPos(1)
        ));
    }
}
