//! Presence: who is online, told to the people they talk to, and typing, told to the room.
//!
//! A user is online while any of their connections is open on any node. Each node counts its
//! own connections per user ([`Seats`]); a transition (first connection opened, last one
//! closed) wakes the presence task, which tells the other nodes (through the relay: the change
//! at once, and every few seconds the whole list, so a lost change is repaired and a node that
//! died is forgotten) and decides what the people concerned are told. Coming online is told at
//! once; going offline only after [`OFFLINE_AFTER`] without a connection anywhere, so a reload
//! or a flaky network does not flap. Every node tells its own connections, from the same
//! inputs, so nothing about presence is stored but a user's "last seen" time and settings.
//!
//! One announcement costs one query (who shares a conversation with the user and shares their
//! own presence) and one event per interested connection, however many conversations they
//! share. A user who hides their presence is never announced, and sees nobody's: presence is
//! shown both ways or not at all.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::chat::Inner;
use crate::clock::{UnixMillis, system_now};
use crate::error::ChatError;
use crate::hub::{Ephemeral, HubEvent, Topic};
use crate::protocol::limits::OFFLINE_AFTER;
use crate::protocol::{PresenceView, ServerEvent, UserId};
use crate::store::MemberSeen;
use crate::sync::lock;

/// How often a node tells the others every user it has online.
pub(crate) const ROSTER_EVERY: Duration = Duration::from_secs(5);
/// A node whose list has not been heard for this long is forgotten (its users go offline).
const NODE_FORGOTTEN_AFTER: Duration = Duration::from_secs(16);
/// How often the presence task looks at the clock when nothing wakes it.
const TICK: Duration = Duration::from_secs(1);

/// How many connections each user holds on this node, against a cap per user.
pub(crate) struct Seats {
    max: usize,
    shared: Arc<SeatsShared>,
}

struct SeatsShared {
    state: Mutex<SeatsState>,
    /// Woken when a user's first connection opens or their last one closes.
    changed: Notify,
}

#[derive(Default)]
struct SeatsState {
    held: HashMap<UserId, usize>,
    /// Users whose count went from or to zero since the presence task last looked.
    changed: HashSet<UserId>,
}

/// One user's claim on one connection; released when dropped.
pub(crate) struct Seat {
    user: UserId,
    shared: Arc<SeatsShared>,
}

impl Seats {
    /// `max` connections per user; 0 for no cap.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            shared: Arc::new(SeatsShared {
                state: Mutex::default(),
                changed: Notify::new(),
            }),
        }
    }

    /// A seat for one more connection of `user`, unless they hold the most already.
    pub(crate) fn take(&self, user: UserId) -> Result<Seat, ChatError> {
        let mut state = lock(&self.shared.state);
        let count = state.held.entry(user).or_insert(0);
        if self.max != 0 && *count >= self.max {
            return Err(ChatError::TooManyConnections { max: self.max });
        }
        *count += 1;
        if *count == 1 {
            state.changed.insert(user);
            self.shared.changed.notify_one();
        }
        Ok(Seat {
            user,
            shared: Arc::clone(&self.shared),
        })
    }

    /// The users whose first connection opened or last one closed since the last call, each
    /// with whether they hold a connection here now.
    fn take_changes(&self) -> Vec<(UserId, bool)> {
        let mut state = lock(&self.shared.state);
        let changed = std::mem::take(&mut state.changed);
        changed
            .into_iter()
            .map(|user| (user, state.held.contains_key(&user)))
            .collect()
    }

    async fn changed(&self) {
        self.shared.changed.notified().await;
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        if let Some(count) = state.held.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                state.held.remove(&self.user);
                state.changed.insert(self.user);
                self.shared.changed.notify_one();
            }
        }
    }
}

/// What this node knows of who is online, and what it has told.
pub(crate) struct Presence {
    seats: Seats,
    state: Mutex<PresenceState>,
}

#[derive(Default)]
struct PresenceState {
    /// Users others have been told are online (what conversation views show).
    announced: HashSet<UserId>,
    /// Every other node's users online, and when that node's list was last heard.
    nodes: HashMap<String, Node>,
    /// Users whose state other nodes changed since the presence task last looked.
    remote_changes: HashSet<UserId>,
}

struct Node {
    online: HashSet<UserId>,
    heard: Instant,
}

impl Presence {
    pub(crate) fn new(max_connections_per_user: usize) -> Self {
        Self {
            seats: Seats::new(max_connections_per_user),
            state: Mutex::default(),
        }
    }

    pub(crate) fn seats(&self) -> &Seats {
        &self.seats
    }

    /// Whether others are told `user` is online.
    pub(crate) fn is_online(&self, user: UserId) -> bool {
        lock(&self.state).announced.contains(&user)
    }

    /// Whether `user` holds a connection on this node or, as the other nodes last said, on
    /// one of theirs.
    pub(crate) fn is_connected(&self, user: UserId) -> bool {
        if lock(&self.seats.shared.state).held.contains_key(&user) {
            return true;
        }
        lock(&self.state)
            .nodes
            .values()
            .any(|node| node.online.contains(&user))
    }

    /// Another node's change: these users opened their first, or closed their last,
    /// connection there.
    pub(crate) fn remote_change(&self, node: &str, online: &[UserId], offline: &[UserId]) {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let entry = state.nodes.entry(node.to_owned()).or_insert_with(|| Node {
            online: HashSet::new(),
            heard: Instant::now(),
        });
        entry.online.extend(online.iter().copied());
        for user in offline {
            entry.online.remove(user);
        }
        state
            .remote_changes
            .extend(online.iter().chain(offline).copied());
        self.seats.shared.changed.notify_one();
    }

    /// Another node's whole list of users online.
    pub(crate) fn remote_roster(&self, node: &str, online: Vec<UserId>) {
        let online: HashSet<UserId> = online.into_iter().collect();
        let mut state = lock(&self.state);
        let state = &mut *state;
        let previous = state.nodes.insert(
            node.to_owned(),
            Node {
                online: online.clone(),
                heard: Instant::now(),
            },
        );
        let previous = previous.map(|node| node.online).unwrap_or_default();
        state
            .remote_changes
            .extend(previous.symmetric_difference(&online).copied());
        self.seats.shared.changed.notify_one();
    }

    /// The presence other members see in a conversation `viewer` belongs to: every other
    /// member who shares theirs, or nobody's if the viewer hides their own.
    pub(crate) fn views(&self, seen: &[MemberSeen], viewer: UserId) -> Vec<PresenceView> {
        let viewer_shares = seen
            .iter()
            .find(|member| member.user == viewer)
            .is_none_or(|member| member.shares_presence);
        if !viewer_shares {
            return Vec::new();
        }
        let state = lock(&self.state);
        seen.iter()
            .filter(|member| member.user != viewer && member.shares_presence)
            .map(|member| PresenceView {
                user_id: member.user,
                online: state.announced.contains(&member.user),
                last_seen_at: member.last_seen_at.map(to_the_minute),
            })
            .collect()
    }
}

/// A last sighting as shown: rounded down to the minute ("last seen" is coarse on purpose).
pub(crate) fn to_the_minute(at: UnixMillis) -> OffsetDateTime {
    UnixMillis(at.0 - at.0.rem_euclid(60_000)).to_datetime()
}

/// The presence task of one node: runs until the chat is dropped.
pub(crate) async fn run(chat: Weak<Inner>) {
    let mut here: HashSet<UserId> = HashSet::new();
    // Users told online whose last connection anywhere has closed, and when to tell others.
    let mut leaving: HashMap<UserId, Instant> = HashMap::new();
    let mut roster_due = Instant::now();
    loop {
        // Held for one round at most (a second): the task ends within a round of the chat.
        let Some(inner) = chat.upgrade() else { return };
        let _ = tokio::time::timeout(TICK, inner.presence.seats.changed()).await;
        let presence = &inner.presence;

        // This node's transitions: recorded, and told to the other nodes.
        let (mut came, mut went) = (Vec::new(), Vec::new());
        for (user, connected) in presence.seats.take_changes() {
            if connected && here.insert(user) {
                came.push(user);
            } else if !connected && here.remove(&user) {
                went.push(user);
            }
        }
        if !went.is_empty()
            && let Err(error) = inner.store.touch_last_seen(&went, system_now()).await
        {
            tracing::warn!(error = ?error, "recording last seen failed");
        }
        if let Some(relay) = inner.relay.get() {
            if !came.is_empty() || !went.is_empty() {
                relay.publish_presence(&came, &went);
            }
            if Instant::now() >= roster_due {
                relay.publish_roster(here.iter().copied().collect());
                roster_due = Instant::now() + ROSTER_EVERY;
            }
        }

        // Who may have changed: this node's transitions, the other nodes', those of nodes
        // gone silent, and those waiting to be told offline.
        let mut candidates: HashSet<UserId> = came.into_iter().chain(went).collect();
        {
            let mut state = lock(&presence.state);
            candidates.extend(state.remote_changes.drain());
            let now = Instant::now();
            state.nodes.retain(|_, node| {
                let alive = now.duration_since(node.heard) < NODE_FORGOTTEN_AFTER;
                if !alive {
                    candidates.extend(node.online.iter().copied());
                }
                alive
            });
        }
        candidates.extend(leaving.keys().copied());

        let mut tell = Vec::new();
        {
            let mut state = lock(&presence.state);
            let now = Instant::now();
            for user in candidates {
                let online = here.contains(&user)
                    || state.nodes.values().any(|node| node.online.contains(&user));
                if online {
                    leaving.remove(&user);
                    if state.announced.insert(user) {
                        tell.push((user, true));
                    }
                } else if state.announced.contains(&user) {
                    let due = *leaving.entry(user).or_insert(now + OFFLINE_AFTER);
                    if now >= due {
                        leaving.remove(&user);
                        state.announced.remove(&user);
                        tell.push((user, false));
                    }
                } else {
                    leaving.remove(&user);
                }
            }
        }
        for (user, online) in tell {
            if let Err(error) = announce(&inner, user, online).await {
                tracing::warn!(%user, error = ?error, "announcing presence failed");
            }
        }
    }
}

/// Tells everyone on this node who shares a conversation with `user` (and shares their own
/// presence) that `user` is online or not; nothing at all if `user` hides their presence.
pub(crate) async fn announce(inner: &Inner, user: UserId, online: bool) -> Result<(), ChatError> {
    let audience = inner.store.presence_audience(user).await?;
    if !audience.shares {
        return Ok(());
    }
    let view = PresenceView {
        user_id: user,
        online,
        last_seen_at: audience.last_seen_at.map(to_the_minute),
    };
    tell(inner, view, &audience.audience);
    Ok(())
}

/// Puts one `presence` event, encoded once, on each listener's feed on this node.
pub(crate) fn tell(inner: &Inner, view: PresenceView, listeners: &[UserId]) {
    let event = Ephemeral::new(view.user_id, ServerEvent::Presence(view));
    for listener in listeners {
        inner.hub.publish(
            Topic::User(*listener),
            HubEvent::Ephemeral(Arc::clone(&event)),
        );
    }
}
