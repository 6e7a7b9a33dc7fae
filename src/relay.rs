//! Relaying committed events between natter nodes that share one PostgreSQL database.
//!
//! The database is the truth; the bus (Redis pub/sub in production, [`MemoryBus`] in tests) is
//! a best-effort doorbell. After commit, `Chat` hands each event to the relay, which queues it
//! (bounded: a send never waits for the bus) for a publisher task; every node's subscriber
//! task injects what the other nodes publish into its own hub, where each connection puts room
//! messages in `seq` order and personal events in feed order, dropping what it already has and
//! reading gaps from storage.
//!
//! Whatever the bus loses — a full queue, a dropped connection, a restarted Redis, a node that
//! crashed between commit and publish — the position check ([`Chat::repair`]) finds, by
//! comparing what this node has fanned out with the database, and fans out from storage. Each
//! node also publishes a probe to itself every second: not hearing its own probe marks the bus
//! unhealthy (a subscription can look alive and deliver nothing), and the position check then
//! runs every second instead of every few.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::chat::Chat;
use crate::hub::{Ephemeral, Fanned, HubEvent, PersonalEvent, Topic};
use crate::protocol::{FeedPos, MessageView, ServerEvent, UserId};
use crate::sync::lock;

/// Why the bus failed an operation.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BusError(pub String);

/// A broadcast medium between nodes: what one node publishes, every subscribed node (itself
/// included) receives, best effort.
pub trait Bus: Send + Sync + 'static {
    /// Sends one payload to every subscribed node.
    fn publish(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), BusError>>;
    /// The payloads published from now on; the stream ends when the subscription is lost (the
    /// relay then subscribes again).
    fn subscribe(&self) -> BoxFuture<'_, Result<BoxStream<'static, Vec<u8>>, BusError>>;
}

/// How a node relays.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// This node's name on the bus (its own events are not injected twice).
    pub node: String,
    /// Events waiting for the publisher; past it they are dropped (and repaired).
    pub queue: usize,
    /// How often the position check runs while the bus is healthy.
    pub check_every: Duration,
    /// …and while it is not.
    pub check_every_unhealthy: Duration,
    /// How often a node probes the bus with a message to itself.
    pub probe_every: Duration,
    /// How long without hearing its own probe before the bus counts as unhealthy.
    pub unhealthy_after: Duration,
    /// Test only: drop one published event in this many (0: none).
    pub drop_one_in: u64,
}

impl RelayConfig {
    pub const DEFAULT_QUEUE: usize = 10_000;
    pub const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(5);
    pub const DEFAULT_CHECK_EVERY_UNHEALTHY: Duration = Duration::from_secs(1);

    pub fn new(node: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            queue: Self::DEFAULT_QUEUE,
            check_every: Self::DEFAULT_CHECK_EVERY,
            check_every_unhealthy: Self::DEFAULT_CHECK_EVERY_UNHEALTHY,
            probe_every: Duration::from_secs(1),
            unhealthy_after: Duration::from_secs(3),
            drop_one_in: 0,
        }
    }
}

/// What travels on the bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    node: String,
    body: Body,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
enum Body {
    Message {
        message: Box<MessageView>,
    },
    Personal {
        user: UserId,
        pos: FeedPos,
        event: PersonalEvent,
    },
    Probe {
        sent_ms: u64,
    },
    /// Typing, for the room's connections on every node (best effort: never repaired).
    Ephemeral {
        topic: Topic,
        about: UserId,
        event: Box<ServerEvent>,
    },
    /// Users whose first connection opened, or last one closed, on the sending node.
    Presence {
        online: Vec<UserId>,
        offline: Vec<UserId>,
    },
    /// Every user online on the sending node (a lost `presence` is repaired by the next).
    Roster {
        online: Vec<UserId>,
    },
}

/// A node's end of the relay: hands events to the publisher and reports the bus's health.
pub struct Relay {
    config: RelayConfig,
    queue: mpsc::Sender<Envelope>,
    health: Arc<Health>,
    published: AtomicU64,
}

/// What the relay knows of the bus.
#[derive(Debug)]
struct Health {
    started: Instant,
    /// When this node last heard its own probe (ms since `started`; 0: never).
    probe_heard_ms: AtomicU64,
    subscribed: AtomicBool,
    dropped: AtomicU64,
}

impl Health {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The relay's background work, for the caller to spawn (on its task tracker).
pub struct RelayTasks {
    pub publisher: BoxFuture<'static, ()>,
    pub subscriber: BoxFuture<'static, ()>,
    pub checker: BoxFuture<'static, ()>,
}

impl Relay {
    /// A relay for `chat` over `bus`, and the tasks that run it until `shutdown`.
    pub(crate) fn new(
        chat: &Chat,
        bus: Arc<dyn Bus>,
        config: RelayConfig,
        shutdown: CancellationToken,
    ) -> (Self, RelayTasks) {
        let (queue, outbox) = mpsc::channel(config.queue.max(1));
        let health = Arc::new(Health {
            started: Instant::now(),
            probe_heard_ms: AtomicU64::new(0),
            subscribed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let tasks = RelayTasks {
            publisher: Box::pin(publish_loop(
                Arc::clone(&bus),
                outbox,
                queue.clone(),
                config.clone(),
                Arc::clone(&health),
                shutdown.clone(),
            )),
            subscriber: Box::pin(subscribe_loop(
                chat.clone(),
                bus,
                config.node.clone(),
                Arc::clone(&health),
                shutdown.clone(),
            )),
            checker: Box::pin(check_loop(chat.clone(), shutdown)),
        };
        let relay = Self {
            config,
            queue,
            health,
            published: AtomicU64::new(0),
        };
        (relay, tasks)
    }

    /// Queues a committed event for the other nodes; never waits. A full queue drops it (the
    /// position check delivers it from storage instead).
    pub fn publish(&self, topic: Topic, event: &HubEvent) {
        let body = match (topic, event) {
            (_, HubEvent::Message(message)) => Body::Message {
                message: Box::new(message.view.clone()),
            },
            (Topic::User(user), HubEvent::Personal { pos, event }) => Body::Personal {
                user,
                pos: *pos,
                event: (**event).clone(),
            },
            (Topic::Room(_), HubEvent::Personal { .. }) => return,
            (topic, HubEvent::Ephemeral(ephemeral)) => Body::Ephemeral {
                topic,
                about: ephemeral.about,
                event: Box::new(ephemeral.event.clone()),
            },
        };
        let n = self.published.fetch_add(1, Ordering::Relaxed) + 1;
        if self.config.drop_one_in != 0 && n.is_multiple_of(self.config.drop_one_in) {
            return;
        }
        let envelope = Envelope {
            node: self.config.node.clone(),
            body,
        };
        if self.queue.try_send(envelope).is_err() {
            self.health.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether the bus carries this node's own probes (recently) and it is subscribed.
    /// Tells the other nodes which users' first connection opened or last one closed here.
    pub(crate) fn publish_presence(&self, online: &[UserId], offline: &[UserId]) {
        self.send(Body::Presence {
            online: online.to_vec(),
            offline: offline.to_vec(),
        });
    }

    /// Tells the other nodes every user online here.
    pub(crate) fn publish_roster(&self, online: Vec<UserId>) {
        self.send(Body::Roster { online });
    }

    fn send(&self, body: Body) {
        let envelope = Envelope {
            node: self.config.node.clone(),
            body,
        };
        if self.queue.try_send(envelope).is_err() {
            self.health.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn healthy(&self) -> bool {
        let heard = self.health.probe_heard_ms.load(Ordering::Acquire);
        let limit = u64::try_from(self.config.unhealthy_after.as_millis()).unwrap_or(u64::MAX);
        self.health.subscribed.load(Ordering::Acquire)
            && heard != 0
            && self.health.now_ms().saturating_sub(heard) <= limit
    }

    /// Whether the relay has subscribed (at least once and currently).
    pub fn subscribed(&self) -> bool {
        self.health.subscribed.load(Ordering::Acquire)
    }

    /// The node's name on the bus.
    pub fn node(&self) -> &str {
        &self.config.node
    }

    /// How long until the next position check, given the bus's health.
    pub fn check_interval(&self) -> Duration {
        if self.healthy() {
            self.config.check_every
        } else {
            self.config.check_every_unhealthy
        }
    }
}

/// Sends queued events (and this node's probes) to the bus, each within a second; a failed
/// publish is not retried (the position check repairs what it lost).
async fn publish_loop(
    bus: Arc<dyn Bus>,
    mut outbox: mpsc::Receiver<Envelope>,
    queue: mpsc::Sender<Envelope>,
    config: RelayConfig,
    health: Arc<Health>,
    shutdown: CancellationToken,
) {
    let mut probe = tokio::time::interval(config.probe_every);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let envelope = tokio::select! {
            () = shutdown.cancelled() => return,
            _ = probe.tick() => {
                let envelope = Envelope {
                    node: config.node.clone(),
                    body: Body::Probe { sent_ms: health.now_ms() },
                };
                // Through the queue, behind the events: a probe that comes back proves the
                // whole path.
                let _ = queue.try_send(envelope);
                continue;
            }
            envelope = outbox.recv() => match envelope {
                Some(envelope) => envelope,
                None => return,
            },
        };
        let payload = match serde_json::to_vec(&envelope) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, "could not encode a relayed event");
                continue;
            }
        };
        match tokio::time::timeout(Duration::from_secs(1), bus.publish(payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "relay publish failed"),
            Err(_) => tracing::debug!("relay publish timed out"),
        }
    }
}

/// Subscribes to the bus (again after every loss, with a growing pause) and injects what the
/// other nodes publish into this node's hub.
async fn subscribe_loop(
    chat: Chat,
    bus: Arc<dyn Bus>,
    node: String,
    health: Arc<Health>,
    shutdown: CancellationToken,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        let subscribed = tokio::select! {
            () = shutdown.cancelled() => return,
            subscribed = bus.subscribe() => subscribed,
        };
        match subscribed {
            Ok(mut stream) => {
                health.subscribed.store(true, Ordering::Release);
                pause = Duration::from_millis(100);
                tracing::info!(%node, "relay subscribed");
                loop {
                    let payload = tokio::select! {
                        () = shutdown.cancelled() => return,
                        payload = stream.next() => payload,
                    };
                    let Some(payload) = payload else { break };
                    match serde_json::from_slice::<Envelope>(&payload) {
                        Ok(envelope) if envelope.node == node => {
                            if let Body::Probe { .. } = envelope.body {
                                health
                                    .probe_heard_ms
                                    .store(health.now_ms().max(1), Ordering::Release);
                            }
                        }
                        Ok(envelope) => inject(&chat, &envelope.node, envelope.body),
                        Err(error) => tracing::warn!(%error, "unreadable relayed event"),
                    }
                }
                health.subscribed.store(false, Ordering::Release);
                tracing::warn!(%node, "relay subscription lost; subscribing again");
            }
            Err(error) => tracing::debug!(%error, "relay subscribe failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Fans an event committed on another node out to this node's connections.
fn inject(chat: &Chat, node: &str, body: Body) {
    match body {
        Body::Message { message } => chat.inject(
            Topic::Room(message.conv_id),
            HubEvent::Message(Fanned::new(*message)),
        ),
        Body::Personal { user, pos, event } => chat.inject(
            Topic::User(user),
            HubEvent::Personal {
                pos,
                event: Arc::new(event),
            },
        ),
        Body::Ephemeral {
            topic,
            about,
            event,
        } => chat.inject(topic, HubEvent::Ephemeral(Ephemeral::new(about, *event))),
        Body::Presence { online, offline } => chat.presence_heard(node, &online, &offline),
        Body::Roster { online } => chat.roster_heard(node, online),
        Body::Probe { .. } => {}
    }
}

/// Runs the position check, every few seconds while the bus is healthy and every second while
/// it is not.
async fn check_loop(chat: Chat, shutdown: CancellationToken) {
    loop {
        let every = chat
            .relay()
            .map_or(RelayConfig::DEFAULT_CHECK_EVERY, Relay::check_interval);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(error) = chat.repair().await {
            tracing::warn!(error = ?error, "position check failed");
        }
    }
}

/// A bus inside one process, for tests: every subscriber gets every payload, or — with faults
/// switched on — some dropped, some twice, some out of order (from a seed, so a failure
/// repeats).
pub struct MemoryBus {
    sender: tokio::sync::broadcast::Sender<Vec<u8>>,
    faults: std::sync::Mutex<Option<Faults>>,
}

/// Seeded faults of a [`MemoryBus`].
struct Faults {
    state: u64,
    /// Out of 100: dropped, duplicated, held back to go after the next one.
    drop: u64,
    duplicate: u64,
    reorder: u64,
    held: Option<Vec<u8>>,
}

impl Faults {
    fn roll(&mut self) -> u64 {
        // xorshift64*: deterministic for a seed.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % 100
    }
}

impl MemoryBus {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            sender: tokio::sync::broadcast::channel(65_536).0,
            faults: std::sync::Mutex::new(None),
        })
    }

    /// From now on, drops `drop`%, duplicates `duplicate`% and reorders `reorder`% of the
    /// payloads, as the seed decides.
    pub fn with_faults(
        self: Arc<Self>,
        seed: u64,
        drop: u64,
        duplicate: u64,
        reorder: u64,
    ) -> Arc<Self> {
        *lock(&self.faults) = Some(Faults {
            state: seed.max(1),
            drop,
            duplicate,
            reorder,
            held: None,
        });
        self
    }
}

impl Bus for MemoryBus {
    fn publish(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), BusError>> {
        let mut out = Vec::new();
        {
            let mut faults = lock(&self.faults);
            match faults.as_mut() {
                None => out.push(payload),
                Some(faults) => {
                    let roll = faults.roll();
                    if roll < faults.drop {
                    } else if roll < faults.drop + faults.duplicate {
                        out.push(payload.clone());
                        out.push(payload);
                    } else if roll < faults.drop + faults.duplicate + faults.reorder
                        && faults.held.is_none()
                    {
                        faults.held = Some(payload);
                    } else {
                        out.push(payload);
                    }
                    if !out.is_empty()
                        && let Some(held) = faults.held.take()
                    {
                        out.push(held);
                    }
                }
            }
        }
        for payload in out {
            let _ = self.sender.send(payload);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn subscribe(&self) -> BoxFuture<'_, Result<BoxStream<'static, Vec<u8>>, BusError>> {
        let receiver = self.sender.subscribe();
        let stream = tokio_stream::wrappers::BroadcastStream::new(receiver)
            .filter_map(|item| std::future::ready(item.ok()));
        Box::pin(std::future::ready(Ok(stream.boxed())))
    }
}
