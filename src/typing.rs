//! Which typing notices go out: a member's `typing: true` at most once per
//! [`TYPING_EVERY`] (renewals in between are ignored, silently), a `false` only after a `true`
//! went out. At most two notices a second per member and conversation whatever a client sends,
//! and nothing is remembered past [`TYPING_HOLDS`].

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;

use crate::protocol::limits::{TYPING_EVERY, TYPING_HOLDS};
use crate::protocol::{ConversationId, UserId};
use crate::sync::lock;

/// Entries kept before the stale ones are swept.
const SWEEP_ABOVE: usize = 4096;

/// The newest `typing: true` that went out per member and conversation.
#[derive(Default)]
pub(crate) struct TypingGate {
    started: Mutex<HashMap<(UserId, ConversationId), Instant>>,
}

impl TypingGate {
    /// Whether a notice of `typing` from `user` in `conversation` should go out now (not yet
    /// recorded: call [`record`](Self::record) once it does).
    pub(crate) fn admits(&self, user: UserId, conversation: ConversationId, typing: bool) -> bool {
        let started = lock(&self.started);
        match (started.get(&(user, conversation)), typing) {
            (Some(at), true) => at.elapsed() >= TYPING_EVERY,
            (None, true) => true,
            (Some(at), false) => at.elapsed() < TYPING_HOLDS,
            (None, false) => false,
        }
    }

    /// Records a notice that went out.
    pub(crate) fn record(&self, user: UserId, conversation: ConversationId, typing: bool) {
        let mut started = lock(&self.started);
        if typing {
            if started.len() >= SWEEP_ABOVE {
                started.retain(|_, at| at.elapsed() < TYPING_HOLDS);
            }
            started.insert((user, conversation), Instant::now());
        } else {
            started.remove(&(user, conversation));
        }
    }

    /// Forgets `user`'s typing in `conversation` (they sent a message); whether a `true` was
    /// standing, so that the others must be told it ended.
    pub(crate) fn end(&self, user: UserId, conversation: ConversationId) -> bool {
        lock(&self.started)
            .remove(&(user, conversation))
            .is_some_and(|at| at.elapsed() < TYPING_HOLDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn renewals_within_a_second_are_ignored_and_a_stop_follows_a_start() {
        let gate = TypingGate::default();
        let (alice, room) = (UserId(1), ConversationId(7));
        assert!(!gate.admits(alice, room, false), "a stop with no start");
        assert!(gate.admits(alice, room, true));
        gate.record(alice, room, true);
        assert!(!gate.admits(alice, room, true), "a renewal at once");
        tokio::time::advance(TYPING_EVERY).await;
        assert!(gate.admits(alice, room, true), "a renewal a second later");
        assert!(gate.admits(alice, room, false));
        gate.record(alice, room, false);
        assert!(!gate.admits(alice, room, false), "a second stop");
        gate.record(alice, room, true);
        assert!(gate.end(alice, room), "a send ends a standing start");
        assert!(!gate.end(alice, room));
    }
}
