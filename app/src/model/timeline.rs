//! One conversation's messages as this tab knows them: the stored messages, keyed and ordered
//! by `seq`, each once, whatever mix of history pages, live events and replays brought them;
//! how they are shown (day headings, groups of one sender's messages, the "New messages" line,
//! the person's unconfirmed sends after them, "Seen" on the last of the person's messages the
//! other member has read). The unconfirmed sends themselves belong to the outbox, which drops
//! each one once its stored copy arrives.

use std::collections::BTreeMap;

use natter::protocol::{MessagePage, MessageView, Seq, UserId};
use time::{Date, OffsetDateTime};

/// Where an unconfirmed send stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendState {
    /// In the outbox: sent, or to be sent once connected, under its client message id.
    Pending,
    /// Refused by the server for good, with the reason to show; it can only be discarded.
    Failed(String),
}

/// A message the person wrote that has no stored copy yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub client_id: String,
    pub text: String,
    pub state: SendState,
}

/// How much older history remains on the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum History {
    /// No page loaded yet.
    #[default]
    NotLoaded,
    /// Older messages exist before the oldest one held.
    More,
    /// The conversation's first message is held.
    Complete,
}

impl History {
    /// What a page says about the history before it.
    fn after_page(page: &MessagePage) -> Self {
        if page.has_more {
            Self::More
        } else {
            Self::Complete
        }
    }
}

/// One line of the conversation as shown, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    Stored(MessageView),
    Outgoing(Outgoing),
}

impl Row {
    /// A key that stays the same while the row shows the same thing.
    pub fn key(&self) -> String {
        match self {
            Self::Stored(message) => format!("m{}", message.id),
            Self::Outgoing(outgoing) => match &outgoing.state {
                SendState::Pending => format!("p{}", outgoing.client_id),
                SendState::Failed(_) => format!("f{}", outgoing.client_id),
            },
        }
    }
}

/// How close in time two messages of one sender must be to share a group (one name line).
pub const GROUP_WITHIN: time::Duration = time::Duration::minutes(5);

/// A row, the heading of the day that the following rows belong to, or the line above the
/// first message that was unread when the conversation was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Day(Date),
    NewMessages,
    /// `first`: the row opens a group (a new sender, a pause of more than `GROUP_WITHIN`, a
    /// new day or the "New messages" line before it), so it carries the sender's name.
    Row {
        row: Row,
        first: bool,
    },
}

impl Item {
    /// A key that changes whenever the item shows something else: a row that stops opening its
    /// group (an older page loaded above it) is drawn anew.
    pub fn key(&self) -> String {
        match self {
            Self::Day(date) => format!("d{date}"),
            Self::NewMessages => "new".to_owned(),
            Self::Row { row, first: true } => format!("{}^", row.key()),
            Self::Row { row, first: false } => row.key(),
        }
    }
}

/// The items to show for `rows`: a day heading before the first stored message of each day
/// (`day_of` gives a message's day in the reader's zone), the "New messages" line before
/// `first_unread`, and which rows open a group. Unconfirmed sends (the person's, `me`) belong
/// to the day and group of the row before them.
pub fn layout(
    rows: Vec<Row>,
    me: UserId,
    first_unread: Option<Seq>,
    day_of: impl Fn(OffsetDateTime) -> Date,
) -> Vec<Item> {
    let mut items = Vec::with_capacity(rows.len() + 4);
    let mut current = None;
    // The sender and time of the row before, while it can still be followed in its group.
    let mut previous: Option<(UserId, Option<OffsetDateTime>)> = None;
    for row in rows {
        let (sender, at) = match &row {
            Row::Stored(message) => {
                let day = day_of(message.created_at);
                if current != Some(day) {
                    current = Some(day);
                    items.push(Item::Day(day));
                    previous = None;
                }
                if Some(message.seq) == first_unread {
                    items.push(Item::NewMessages);
                    previous = None;
                }
                (message.sender_id, Some(message.created_at))
            }
            Row::Outgoing(_) => (me, None),
        };
        // A group's timeline entry ("alice added carol") stands alone: the message after it
        // opens a group of its own, with its sender's name.
        let event = matches!(&row, Row::Stored(message) if message.event.is_some());
        let continues = !event
            && previous.is_some_and(|(before, before_at)| {
                before == sender
                    && match (before_at, at) {
                        (Some(before_at), Some(at)) => at - before_at <= GROUP_WITHIN,
                        _ => true,
                    }
            });
        previous = if event {
            None
        } else {
            Some((sender, at.or(previous.and_then(|(_, t)| t))))
        };
        items.push(Item::Row {
            row,
            first: !continues,
        });
    }
    items
}

/// What a message of the person's own says under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    /// Stored; the other member has not read this far.
    Sent,
    /// The last of the person's messages the other member has read.
    Seen,
    /// Read, but a later message of the person's is read too (that one says "Seen").
    None,
}

impl Receipt {
    /// The receipt of the person's message `seq`, given the other member's read mark and the
    /// newest of the person's messages within it (`Timeline::newest_own_read`).
    pub fn of(seq: Seq, partner_read: Seq, newest_own_read: Seq) -> Self {
        if seq > partner_read {
            Self::Sent
        } else if seq == newest_own_read {
            Self::Seen
        } else {
            Self::None
        }
    }

    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::Sent => Some("Sent"),
            Self::Seen => Some("Seen"),
            Self::None => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    stored: BTreeMap<Seq, MessageView>,
    history: History,
}

impl Timeline {
    /// Takes in the newest page of history (the first load). Idempotent.
    pub fn absorb_latest(&mut self, page: MessagePage) {
        if self.history == History::NotLoaded {
            self.history = History::after_page(&page);
        }
        for message in page.messages {
            self.insert(message);
        }
    }

    /// Takes in a page of messages older than the ones held.
    pub fn absorb_older(&mut self, page: MessagePage) {
        self.history = History::after_page(&page);
        for message in page.messages {
            self.insert(message);
        }
    }

    /// Adds a stored message; `false` if it was already held (a replay or a second copy).
    pub fn insert(&mut self, message: MessageView) -> bool {
        if self.stored.contains_key(&message.seq) {
            return false;
        }
        self.stored.insert(message.seq, message);
        true
    }

    /// The stored messages held, oldest first.
    pub fn messages(&self) -> impl Iterator<Item = &MessageView> {
        self.stored.values()
    }

    /// The newest of `me`'s messages the other member has read (their mark is `partner_read`),
    /// 0 for none: the one that says "Seen".
    pub fn newest_own_read(&self, me: UserId, partner_read: Seq) -> Seq {
        self.stored
            .range(..=partner_read)
            .rev()
            .find(|(_, m)| m.sender_id == me)
            .map_or(Seq::ZERO, |(seq, _)| *seq)
    }

    /// The first of `unread` messages from others that were unread when the conversation was
    /// opened, counting back from `up_to` (its newest message then): where "New messages"
    /// goes. With fewer of them held, the oldest held one.
    pub fn first_unread(&self, me: UserId, unread: u32, up_to: Seq) -> Option<Seq> {
        let theirs = self
            .stored
            .range(..=up_to)
            .rev()
            .filter(|(_, m)| m.sender_id != me)
            .map(|(seq, _)| *seq);
        let wanted = usize::try_from(unread).ok()?.checked_sub(1)?;
        theirs.take(wanted + 1).last()
    }

    /// The newest `seq` held (0 for none): what to give `joinConversation` as `lastSeq`.
    pub fn newest_seq(&self) -> Seq {
        self.stored.keys().next_back().copied().unwrap_or(Seq::ZERO)
    }

    /// The oldest `seq` held: the `before` of the next older page.
    pub fn oldest_seq(&self) -> Option<Seq> {
        self.stored.keys().next().copied()
    }

    pub fn is_loaded(&self) -> bool {
        self.history != History::NotLoaded
    }

    pub fn has_older(&self) -> bool {
        self.history == History::More
    }

    /// Stored messages by `seq`, then the person's unconfirmed sends (`outgoing`, from the
    /// outbox) in the order written.
    pub fn rows(&self, outgoing: Vec<Outgoing>) -> Vec<Row> {
        self.stored
            .values()
            .cloned()
            .map(Row::Stored)
            .chain(outgoing.into_iter().map(Row::Outgoing))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter::protocol::{ConversationId, EntryKind, MessageId, UserId};
    use time::OffsetDateTime;

    fn message(seq: i64, client_id: Option<&str>) -> MessageView {
        let seq = Seq(seq);
        MessageView {
            id: MessageId(100 + seq.0),
            conv_id: ConversationId(1),
            sender_id: UserId(1),
            sender_name: "alice".into(),
            message: format!("message {seq}"),
            seq,
            created_at: OffsetDateTime::UNIX_EPOCH,
            client_id: client_id.map(str::to_owned),
            kind: EntryKind::Message,
            event: None,
        }
    }

    fn keys(timeline: &Timeline) -> Vec<String> {
        timeline.rows(Vec::new()).iter().map(Row::key).collect()
    }

    #[test]
    fn messages_are_ordered_by_seq_and_held_once_whatever_brought_them() {
        let mut timeline = Timeline::default();
        assert!(timeline.insert(message(5, None)));
        timeline.absorb_latest(MessagePage {
            messages: vec![message(3, None), message(4, None), message(5, None)],
            has_more: true,
        });
        assert!(!timeline.insert(message(4, None)));
        assert_eq!(keys(&timeline), ["m103", "m104", "m105"]);
        assert_eq!(timeline.newest_seq(), Seq(5));
        assert_eq!(timeline.oldest_seq(), Some(Seq(3)));
        assert!(timeline.has_older());
    }

    #[test]
    fn an_older_page_goes_before_and_says_whether_more_remain() {
        let mut timeline = Timeline::default();
        timeline.absorb_latest(MessagePage {
            messages: vec![message(3, None)],
            has_more: true,
        });
        timeline.absorb_older(MessagePage {
            messages: vec![message(1, None), message(2, None)],
            has_more: false,
        });
        assert_eq!(keys(&timeline), ["m101", "m102", "m103"]);
        assert!(!timeline.has_older());
        // Loading the latest page again (a re-render) does not forget that history is complete.
        timeline.absorb_latest(MessagePage {
            messages: vec![message(3, None)],
            has_more: true,
        });
        assert!(!timeline.has_older());
    }

    fn pending(client_id: &str) -> Outgoing {
        Outgoing {
            client_id: client_id.into(),
            text: "hello".into(),
            state: SendState::Pending,
        }
    }

    #[test]
    fn unconfirmed_sends_follow_the_stored_messages_and_change_key_when_refused() {
        let mut timeline = Timeline::default();
        timeline.insert(message(1, None));
        let refused = Outgoing {
            state: SendState::Failed("Not sent: too long.".into()),
            ..pending("c-2")
        };
        let keys: Vec<String> = timeline
            .rows(vec![pending("c-1"), refused])
            .iter()
            .map(Row::key)
            .collect();
        assert_eq!(keys, ["m101", "pc-1", "fc-2"]);
    }

    #[test]
    fn seen_is_shown_under_the_last_own_message_the_other_member_read() {
        let me = UserId(1);
        let mut timeline = Timeline::default();
        for seq in 1..=5 {
            let mut m = message(seq, None);
            // Seq 3 is the other member's.
            if seq == 3 {
                m.sender_id = UserId(2);
            }
            timeline.insert(m);
        }
        // They read up to their own message 3: the newest of mine within that is 2.
        let newest = timeline.newest_own_read(me, Seq(3));
        assert_eq!(newest, Seq(2));
        let receipts: Vec<Receipt> = [1, 2, 4, 5]
            .into_iter()
            .map(|seq| Receipt::of(Seq(seq), Seq(3), newest))
            .collect();
        assert_eq!(
            receipts,
            [Receipt::None, Receipt::Seen, Receipt::Sent, Receipt::Sent]
        );
        assert_eq!(Receipt::Seen.label(), Some("Seen"));
        assert_eq!(Receipt::None.label(), None);
        assert_eq!(
            timeline.newest_own_read(me, Seq(0)),
            Seq(0),
            "nothing read yet"
        );
        assert_eq!(timeline.newest_own_read(me, Seq(99)), Seq(5));
    }

    #[test]
    fn a_heading_opens_each_day() {
        let mut timeline = Timeline::default();
        for (seq, day) in [(1, 0), (2, 0), (3, 1)] {
            let mut m = message(seq, None);
            m.created_at += time::Duration::days(day);
            timeline.insert(m);
        }
        let keys: Vec<String> = layout(timeline.rows(vec![pending("c-1")]), UserId(9), None, |t| {
            t.date()
        })
        .iter()
        .map(Item::key)
        .collect();
        assert_eq!(
            keys,
            [
                "d1970-01-01",
                "m101^",
                "m102",
                "d1970-01-02",
                "m103^",
                "pc-1^"
            ]
        );
    }

    #[test]
    fn a_sender_s_messages_within_five_minutes_share_one_group() {
        let me = UserId(1);
        let mut timeline = Timeline::default();
        // (seq, sender, minute): bob twice, a pause, bob, then me twice.
        for (seq, sender, minute) in [(1, 2, 0), (2, 2, 4), (3, 2, 10), (4, 1, 11), (5, 1, 12)] {
            let mut m = message(seq, None);
            m.sender_id = UserId(sender);
            m.created_at += time::Duration::minutes(minute);
            timeline.insert(m);
        }
        let firsts: Vec<String> =
            layout(timeline.rows(vec![pending("c-1")]), me, None, |t| t.date())
                .iter()
                .filter_map(|item| match item {
                    Item::Row { row, first } => {
                        Some(format!("{}{}", row.key(), if *first { "^" } else { "" }))
                    }
                    _ => None,
                })
                .collect();
        assert_eq!(firsts, ["m101^", "m102", "m103^", "m104^", "m105", "pc-1"]);
    }

    #[test]
    fn new_messages_are_marked_at_the_first_one_unread_when_opened() {
        let me = UserId(1);
        let mut timeline = Timeline::default();
        for (seq, sender) in [(1, 2), (2, 1), (3, 2), (4, 1), (5, 2), (6, 2)] {
            let mut m = message(seq, None);
            m.sender_id = UserId(sender);
            timeline.insert(m);
        }
        // Three of theirs were unread when the conversation was opened at seq 5 (6 came later).
        let first = timeline.first_unread(me, 2, Seq(5));
        assert_eq!(first, Some(Seq(3)));
        assert_eq!(timeline.first_unread(me, 0, Seq(5)), None);
        assert_eq!(
            timeline.first_unread(me, 9, Seq(5)),
            Some(Seq(1)),
            "more than held"
        );
        let keys: Vec<String> = layout(timeline.rows(Vec::new()), me, first, |t| t.date())
            .iter()
            .map(Item::key)
            .collect();
        assert_eq!(
            keys,
            [
                "d1970-01-01",
                "m101^",
                "m102^",
                "new",
                "m103^",
                "m104^",
                "m105^",
                "m106"
            ]
        );
    }
}
