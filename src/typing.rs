//! Which typing notices go out: a member's `typing: true` at most once per [`TYPING_EVERY`]
//! (whatever came between: a `false` or a sent message does not reset the count; the rest is
//! ignored, silently), a `false` only after a `true` went out. So at most two notices a second
//! per member and conversation whatever a client sends. The gate is asked before any database
//! query and a `true` it lets through counts even if the checks then refuse it: at most one
//! membership and settings query a second per member and conversation. Entries older than
//! [`TYPING_HOLDS`] are swept once there are many.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;

use crate::protocol::limits::{TYPING_EVERY, TYPING_HOLDS};
use crate::protocol::{ConversationId, UserId};
use crate::sync::lock;

/// Entries kept before the stale ones are first swept.
const SWEEP_ABOVE: usize = 4096;

/// One member's typing in one conversation.
struct Typist {
    /// When the gate last let a `true` through.
    at: Instant,
    /// Whether a `true` went out and no `false` followed (a renewal being checked leaves it be).
    standing: bool,
}

/// Each member's typing per conversation.
#[derive(Default)]
pub(crate) struct TypingGate {
    typists: Mutex<Typists>,
}

struct Typists {
    by_member: HashMap<(UserId, ConversationId), Typist>,
    /// The size at which the stale entries are swept next: twice what a sweep left, so that a
    /// flood of fresh entries (a `true` is counted before the membership check, so anyone can
    /// add one per conversation id a second) costs each new entry O(1), not a walk of the map.
    sweep_above: usize,
}

impl Default for Typists {
    fn default() -> Self {
        Self {
            by_member: HashMap::new(),
            sweep_above: SWEEP_ABOVE,
        }
    }
}

impl TypingGate {
    /// Whether a notice of `typing` from `user` in `conversation` may go out now, counted as if
    /// it did. A `true` that then passes the checks must be told with [`stood`](Self::stood).
    pub(crate) fn admits(&self, user: UserId, conversation: ConversationId, typing: bool) -> bool {
        let mut typists = lock(&self.typists);
        let key = (user, conversation);
        if !typing {
            return typists.by_member.get_mut(&key).is_some_and(stop);
        }
        if typists
            .by_member
            .get(&key)
            .is_some_and(|t| t.at.elapsed() < TYPING_EVERY)
        {
            return false;
        }
        if typists.by_member.len() >= typists.sweep_above {
            typists
                .by_member
                .retain(|_, t| t.at.elapsed() < TYPING_HOLDS);
            typists.sweep_above = (typists.by_member.len() * 2).max(SWEEP_ABOVE);
        }
        let at = Instant::now();
        typists
            .by_member
            .entry(key)
            .and_modify(|typist| typist.at = at)
            .or_insert(Typist {
                at,
                standing: false,
            });
        true
    }

    /// The `true` just admitted went out.
    pub(crate) fn stood(&self, user: UserId, conversation: ConversationId) {
        if let Some(typist) = lock(&self.typists).by_member.get_mut(&(user, conversation)) {
            typist.standing = true;
        }
    }

    /// `user` sent a message in `conversation`: whether a `true` was standing, so that the
    /// others must be told it ended.
    pub(crate) fn end(&self, user: UserId, conversation: ConversationId) -> bool {
        lock(&self.typists)
            .by_member
            .get_mut(&(user, conversation))
            .is_some_and(stop)
    }
}

/// Ends a standing `true` (the entry stays, so the next `true` still waits its turn); whether
/// one was standing.
fn stop(typist: &mut Typist) -> bool {
    let was = typist.standing && typist.at.elapsed() < TYPING_HOLDS;
    typist.standing = false;
    was
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
        gate.stood(alice, room);
        assert!(!gate.admits(alice, room, true), "a renewal at once");
        tokio::time::advance(TYPING_EVERY).await;
        assert!(gate.admits(alice, room, true), "a renewal a second later");
        gate.stood(alice, room);
        assert!(gate.admits(alice, room, false));
        assert!(!gate.admits(alice, room, false), "a second stop");
        tokio::time::advance(TYPING_EVERY).await;
        assert!(gate.admits(alice, room, true));
        gate.stood(alice, room);
        assert!(gate.end(alice, room), "a send ends a standing start");
        assert!(!gate.end(alice, room));
        tokio::time::advance(TYPING_EVERY).await;
        assert!(gate.admits(alice, room, true));
        tokio::time::advance(TYPING_HOLDS).await;
        assert!(
            !gate.end(alice, room),
            "a start held no longer than TYPING_HOLDS"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_does_not_let_the_next_start_through_early() {
        let gate = TypingGate::default();
        let (alice, room) = (UserId(1), ConversationId(7));
        let mut forwarded = 0;
        // true, false, true, false… every 10 ms for 3 s.
        for step in 0..300 {
            let typing = step % 2 == 0;
            if gate.admits(alice, room, typing) {
                forwarded += 1;
                if typing {
                    gate.stood(alice, room);
                }
            }
            tokio::time::advance(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(forwarded, 6, "a start and its stop each second");
        // A send ends a start without resetting the count either.
        assert!(gate.admits(alice, room, true));
        gate.stood(alice, room);
        assert!(gate.end(alice, room));
        assert!(
            !gate.admits(alice, room, true),
            "a start right after a send"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_start_that_was_refused_still_counts_and_stops_nothing() {
        let gate = TypingGate::default();
        let (eve, room) = (UserId(5), ConversationId(7));
        assert!(
            gate.admits(eve, room, true),
            "the checks refuse it: no stood()"
        );
        assert!(
            !gate.admits(eve, room, true),
            "no second query within the second"
        );
        assert!(!gate.admits(eve, room, false), "nothing went out to stop");
        assert!(!gate.end(eve, room));
    }

    #[tokio::test(start_paused = true)]
    async fn stale_entries_are_swept_once_there_are_many() {
        let gate = TypingGate::default();
        for user in 0..SWEEP_ABOVE as i64 {
            assert!(gate.admits(UserId(user), ConversationId(1), true));
        }
        tokio::time::advance(TYPING_HOLDS).await;
        assert!(gate.admits(UserId(-1), ConversationId(1), true));
        assert_eq!(lock(&gate.typists).by_member.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_fresh_entries_is_not_swept_at_every_new_one() {
        let gate = TypingGate::default();
        // Strangers' `true`s to made-up conversations: all fresh when the map fills up.
        for conversation in 0..=SWEEP_ABOVE as i64 {
            assert!(gate.admits(UserId(1), ConversationId(conversation), true));
        }
        let typists = lock(&gate.typists);
        assert_eq!(typists.by_member.len(), SWEEP_ABOVE + 1);
        assert_eq!(
            typists.sweep_above,
            2 * SWEEP_ABOVE,
            "the next sweep waits for twice as many"
        );
    }
}
