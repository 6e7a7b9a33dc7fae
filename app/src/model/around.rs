//! Who is around: the members typing in each conversation (each notice holds for a few seconds
//! unless renewed, and a message from them ends it), each person's presence as the server last
//! told it, and when this tab should tell the server the person is typing.

use std::collections::HashMap;

use natter::protocol::limits::{TYPING_EVERY, TYPING_HOLDS};
use natter::protocol::{ConversationId, ConversationView, PresenceView, UserId};

use super::clock::Clock;

/// How often this tab renews its own `typing: true` while the person keeps typing (well
/// within [`TYPING_HOLDS`], and above the server's one a second).
pub const RENEW_MS: f64 = 3_000.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Typist {
    pub user: UserId,
    pub name: String,
    until_ms: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Around {
    typing: HashMap<ConversationId, Vec<Typist>>,
    presence: HashMap<UserId, PresenceView>,
    /// What a screen reader is told of typing in each conversation: the newest person who
    /// started, once per person (renewals, stops and restarts are not told again).
    announced: HashMap<ConversationId, Announced>,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Announced {
    people: Vec<UserId>,
    line: String,
}

impl Around {
    pub fn new(conversations: &[ConversationView]) -> Self {
        let mut around = Self::default();
        around.absorb(conversations);
        around
    }

    /// Takes in the presence the conversations carry (a list, a resume, a new conversation).
    pub fn absorb(&mut self, conversations: &[ConversationView]) {
        for view in conversations.iter().flat_map(|c| &c.presence) {
            self.presence.insert(view.user_id, view.clone());
        }
    }

    /// A `presence` event. A user shown as neither online nor ever seen hides their presence.
    pub fn presence(&mut self, view: PresenceView) {
        if !view.online && view.last_seen_at.is_none() {
            self.presence.remove(&view.user_id);
        } else {
            self.presence.insert(view.user_id, view);
        }
    }

    /// This tab lost its connection: what it was told of others has stopped being news. Nobody
    /// is shown online or typing until the next connection's `resume` says again (a
    /// `presence` or a typing stop sent meanwhile never reached it); a last-seen time stays, as
    /// it was true when told.
    pub fn connection_lost(&mut self) {
        self.typing.clear();
        self.presence.retain(|_, view| !view.online);
    }

    /// The person hid their own presence: they see nobody's.
    pub fn forget_presence(&mut self) {
        self.presence.clear();
    }

    pub fn of(&self, user: UserId) -> Option<&PresenceView> {
        self.presence.get(&user)
    }

    /// A `typing` event.
    pub fn typing(
        &mut self,
        conversation: ConversationId,
        user: UserId,
        name: String,
        typing: bool,
        now_ms: f64,
    ) {
        let typists = self.typing.entry(conversation).or_default();
        if !typing {
            typists.retain(|t| t.user != user);
            return;
        }
        let until_ms = now_ms + TYPING_HOLDS.as_secs_f64() * 1000.0;
        // A renewal keeps the typist's place, so the line does not change under a reader.
        match typists.iter_mut().find(|t| t.user == user) {
            Some(typist) => typist.until_ms = until_ms,
            None => {
                let announced = self.announced.entry(conversation).or_default();
                if !announced.people.contains(&user) {
                    announced.people.push(user);
                    announced.line = format!("{name} is typing");
                }
                typists.push(Typist {
                    user,
                    name,
                    until_ms,
                });
            }
        }
    }

    /// What the screen-reader live region says: "alice is typing" the first time alice starts
    /// in this conversation, and nothing new after (the visible line is not a live region: it
    /// changes with every start and stop).
    pub fn typing_announcement(&self, conversation: ConversationId) -> String {
        self.announced
            .get(&conversation)
            .map(|a| a.line.clone())
            .unwrap_or_default()
    }

    /// A message from `user` arrived: they are no longer typing it.
    pub fn spoke(&mut self, conversation: ConversationId, user: UserId) {
        if let Some(typists) = self.typing.get_mut(&conversation) {
            typists.retain(|t| t.user != user);
        }
    }

    /// Forgets notices that were not renewed in time.
    pub fn expire(&mut self, now_ms: f64) {
        for typists in self.typing.values_mut() {
            typists.retain(|t| t.until_ms > now_ms);
        }
        self.typing.retain(|_, typists| !typists.is_empty());
    }

    /// "alice is typing…", "alice and bob are typing…", "3 people are typing…".
    pub fn typing_line(&self, conversation: ConversationId) -> Option<String> {
        let names: Vec<&str> = self
            .typing
            .get(&conversation)?
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        match names.as_slice() {
            [] => None,
            [one] => Some(format!("{one} is typing…")),
            [one, two] => Some(format!("{one} and {two} are typing…")),
            more => Some(format!("{} people are typing…", more.len())),
        }
    }
}

/// "online", "last seen today at 14:05", "last seen yesterday at 09:12", "last seen 3 Mar";
/// `None` when there is nothing to show.
pub fn presence_line(view: Option<&PresenceView>, clock: &Clock) -> Option<String> {
    let view = view?;
    if view.online {
        return Some("online".to_owned());
    }
    let at = view.last_seen_at?;
    let date = clock.local_date(at);
    Some(match clock.today.map(|today| (today - date).whole_days()) {
        Some(0) => format!("last seen today at {}", clock.time_of_day(at)),
        Some(1) => format!("last seen yesterday at {}", clock.time_of_day(at)),
        Some(_) => format!("last seen {}", clock.stamp(at)),
        None => format!("last seen {}", clock.full(at)),
    })
}

/// When this tab tells the server that the person is typing in the open conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TypingSender {
    /// The conversation the person is shown typing in: a `true` went out, no `false` since.
    on: Option<ConversationId>,
    /// The last `true` sent: for which conversation, and when.
    last_true: Option<(ConversationId, f64)>,
    /// A start held back until the server would forward it (see [`TypingSender::held_until`]).
    held: Option<ConversationId>,
}

/// The server forwards one `typing: true` a second per person and conversation, counting from
/// the last one, even across a stop; a start sooner than this after the last `true` would be
/// dropped there, so it waits for the next keystroke past it (with a margin for the network).
const RESTART_MS: f64 = TYPING_EVERY.as_secs_f64() * 1000.0 + 150.0;

impl TypingSender {
    /// The composer of `conversation` changed: what to send, each `(conversation, typing)`.
    /// Typing starts with the first character and is renewed every [`RENEW_MS`] while it goes
    /// on; emptying the composer, or typing in another conversation, stops it.
    pub fn input(
        &mut self,
        conversation: ConversationId,
        empty: bool,
        now_ms: f64,
    ) -> Vec<(ConversationId, bool)> {
        let mut out = Vec::new();
        self.held = None;
        if let Some(previous) = self.on
            && (previous != conversation || empty)
        {
            out.push((previous, false));
            self.on = None;
        }
        if !empty {
            let since = self
                .last_true
                .filter(|(c, _)| *c == conversation)
                .map(|(_, at)| now_ms - at);
            let wait = if self.on.is_some() {
                RENEW_MS
            } else {
                RESTART_MS
            };
            if since.is_none_or(|since| since >= wait) {
                out.push((conversation, true));
                self.on = Some(conversation);
                self.last_true = Some((conversation, now_ms));
            } else if self.on.is_none() {
                self.held = Some(conversation);
            }
        }
        out
    }

    /// When a held-back start may go (then call [`TypingSender::retry`]), if one is held: a
    /// person who types one character and stops is still shown typing, a moment later.
    pub fn held_until(&self) -> Option<f64> {
        self.held?;
        self.last_true.map(|(_, at)| at + RESTART_MS)
    }

    /// Sends the held-back start, unless the composer changed since (emptied, another
    /// conversation) — any input decides afresh.
    pub fn retry(&mut self, now_ms: f64) -> Vec<(ConversationId, bool)> {
        match self.held.take() {
            Some(conversation) => self.input(conversation, false, now_ms),
            None => Vec::new(),
        }
    }

    /// The person left the conversation: the `false` to send, if they were shown typing.
    pub fn stop(&mut self) -> Option<(ConversationId, bool)> {
        self.held = None;
        self.on.take().map(|conversation| (conversation, false))
    }

    /// The message was sent: the server told the others already.
    pub fn sent(&mut self) {
        self.held = None;
        self.on = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const C: ConversationId = ConversationId(3);
    const ALICE: UserId = UserId(1);
    const BOB: UserId = UserId(2);

    #[test]
    fn typing_notices_expire_unless_renewed_and_end_with_a_message() {
        let mut around = Around::default();
        around.typing(C, ALICE, "alice".into(), true, 0.0);
        around.typing(C, BOB, "bob".into(), true, 1_000.0);
        assert_eq!(
            around.typing_line(C).as_deref(),
            Some("alice and bob are typing…")
        );
        around.spoke(C, BOB);
        assert_eq!(around.typing_line(C).as_deref(), Some("alice is typing…"));
        around.expire(TYPING_HOLDS.as_secs_f64() * 1000.0 + 1.0);
        assert_eq!(around.typing_line(C), None);
        around.typing(C, ALICE, "alice".into(), true, 0.0);
        around.typing(C, ALICE, "alice".into(), false, 10.0);
        assert_eq!(around.typing_line(C), None);
    }

    #[test]
    fn a_renewal_keeps_the_order_and_each_typist_is_announced_once() {
        let mut around = Around::default();
        around.typing(C, ALICE, "alice".into(), true, 0.0);
        assert_eq!(around.typing_announcement(C), "alice is typing");
        around.typing(C, BOB, "bob".into(), true, 500.0);
        assert_eq!(around.typing_announcement(C), "bob is typing");
        around.typing(C, ALICE, "alice".into(), true, 3_000.0);
        assert_eq!(
            around.typing_line(C).as_deref(),
            Some("alice and bob are typing…")
        );
        // Alice stops and starts again: still bob's announcement, not alice's again.
        around.typing(C, ALICE, "alice".into(), false, 3_500.0);
        around.typing(C, ALICE, "alice".into(), true, 4_000.0);
        assert_eq!(around.typing_announcement(C), "bob is typing");
        assert_eq!(around.typing_announcement(ConversationId(4)), "");
    }

    #[test]
    fn three_typists_are_counted() {
        let mut around = Around::default();
        for (id, name) in [(1, "a"), (2, "b"), (3, "c")] {
            around.typing(C, UserId(id), name.into(), true, 0.0);
        }
        assert_eq!(
            around.typing_line(C).as_deref(),
            Some("3 people are typing…")
        );
    }

    #[test]
    fn presence_reads_as_online_or_last_seen() {
        let clock = Clock::at(datetime!(2026-03-04 15:00 UTC), 0);
        let mut around = Around::default();
        around.presence(PresenceView {
            user_id: ALICE,
            online: true,
            last_seen_at: None,
        });
        assert_eq!(
            presence_line(around.of(ALICE), &clock).as_deref(),
            Some("online")
        );
        around.presence(PresenceView {
            user_id: ALICE,
            online: false,
            last_seen_at: Some(datetime!(2026-03-04 14:05 UTC)),
        });
        assert_eq!(
            presence_line(around.of(ALICE), &clock).as_deref(),
            Some("last seen today at 14:05")
        );
        around.presence(PresenceView {
            user_id: ALICE,
            online: false,
            last_seen_at: Some(datetime!(2026-03-03 09:12 UTC)),
        });
        assert_eq!(
            presence_line(around.of(ALICE), &clock).as_deref(),
            Some("last seen yesterday at 09:12")
        );
        // Hidden: nothing shown.
        around.presence(PresenceView {
            user_id: ALICE,
            online: false,
            last_seen_at: None,
        });
        assert_eq!(presence_line(around.of(ALICE), &clock), None);
    }

    #[test]
    fn a_lost_connection_shows_nobody_online_or_typing() {
        let clock = Clock::at(datetime!(2026-03-04 15:00 UTC), 0);
        let seen = PresenceView {
            user_id: BOB,
            online: false,
            last_seen_at: Some(datetime!(2026-03-04 14:05 UTC)),
        };
        let mut around = Around::default();
        around.presence(PresenceView {
            user_id: ALICE,
            online: true,
            last_seen_at: None,
        });
        around.presence(seen.clone());
        around.typing(C, ALICE, "alice".into(), true, 0.0);
        around.connection_lost();
        assert_eq!(presence_line(around.of(ALICE), &clock), None);
        assert_eq!(around.of(BOB), Some(&seen));
        assert_eq!(around.typing_line(C), None);
    }

    #[test]
    fn the_sender_starts_renews_and_stops() {
        let mut sender = TypingSender::default();
        assert_eq!(sender.input(C, false, 0.0), [(C, true)]);
        assert_eq!(sender.input(C, false, 1_000.0), []);
        assert_eq!(sender.input(C, false, RENEW_MS), [(C, true)]);
        assert_eq!(sender.input(C, true, RENEW_MS + 1.0), [(C, false)]);
        assert_eq!(sender.input(C, true, RENEW_MS + 2.0), []);
        assert_eq!(sender.input(C, false, 2.0 * RENEW_MS), [(C, true)]);
        let other = ConversationId(4);
        assert_eq!(
            sender.input(other, false, 2.0 * RENEW_MS + 10.0),
            [(C, false), (other, true)]
        );
        sender.sent();
        assert_eq!(sender.stop(), None);
    }

    #[test]
    fn a_new_start_waits_until_the_server_would_forward_it() {
        let mut sender = TypingSender::default();
        assert_eq!(sender.input(C, false, 0.0), [(C, true)]);
        sender.sent();
        // The next message, begun at once: held back until a second has passed since the
        // last `true` (the server would drop it), then sent with the next keystroke.
        assert_eq!(sender.input(C, false, 400.0), []);
        assert_eq!(sender.held_until(), Some(RESTART_MS));
        assert_eq!(sender.retry(RESTART_MS), [(C, true)]);
        assert_eq!(sender.held_until(), None);
        assert_eq!(sender.retry(RESTART_MS + 1.0), []);
        // Emptied while held: nothing goes later.
        sender.sent();
        sender.input(C, false, RESTART_MS + 100.0);
        sender.input(C, true, RESTART_MS + 200.0);
        assert_eq!(sender.held_until(), None);
        assert_eq!(sender.input(C, false, 2.0 * RESTART_MS), [(C, true)]);
        sender.sent();
        // Another conversation has its own second.
        assert_eq!(
            sender.input(ConversationId(4), false, 2.0 * RESTART_MS + 10.0),
            [(ConversationId(4), true)]
        );
    }
}
