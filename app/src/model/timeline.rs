//! One conversation's messages as this tab knows them: the stored messages (keyed and ordered
//! by `seq`, each once, whatever mix of history pages, live events and replays brought them)
//! and this tab's own sends that the server has not confirmed yet. A send is identified by its
//! client message id, so the stored copy replaces it exactly once, however it arrives.

use std::collections::BTreeMap;

use natter::protocol::{MessagePage, MessageView};
use time::{Date, OffsetDateTime};

/// Where an unconfirmed send stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendState {
    /// Handed to the socket; waiting for the server's acknowledgement.
    Pending,
    /// Not stored (as far as this tab knows), with the reason to show. Retrying reuses the
    /// client message id, so the server stores it at most once.
    Failed(String),
}

/// A message this tab sent that has no stored copy yet.
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

/// A row, or the heading of the day that the following rows belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Day(Date),
    Row(Row),
}

impl Item {
    pub fn key(&self) -> String {
        match self {
            Self::Day(date) => format!("d{date}"),
            Self::Row(row) => row.key(),
        }
    }
}

/// Puts a day heading before the first stored message of each day (`day_of` gives a message's
/// day in the reader's zone). Unconfirmed sends belong to the day of the row before them.
pub fn with_days(rows: Vec<Row>, day_of: impl Fn(OffsetDateTime) -> Date) -> Vec<Item> {
    let mut items = Vec::with_capacity(rows.len() + 4);
    let mut current = None;
    for row in rows {
        if let Row::Stored(message) = &row {
            let day = day_of(message.created_at);
            if current != Some(day) {
                current = Some(day);
                items.push(Item::Day(day));
            }
        }
        items.push(Item::Row(row));
    }
    items
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    stored: BTreeMap<i64, MessageView>,
    outgoing: Vec<Outgoing>,
    history: History,
}

impl Timeline {
    /// Takes in the newest page of history (the first load). Idempotent.
    pub fn absorb_latest(&mut self, page: MessagePage) {
        if self.history == History::NotLoaded {
            self.history = if page.has_more {
                History::More
            } else {
                History::Complete
            };
        }
        for message in page.messages {
            self.insert(message);
        }
    }

    /// Takes in a page of messages older than the ones held.
    pub fn absorb_older(&mut self, page: MessagePage) {
        self.history = if page.has_more {
            History::More
        } else {
            History::Complete
        };
        for message in page.messages {
            self.insert(message);
        }
    }

    /// Adds a stored message; `false` if it was already held (a replay or a second copy).
    /// A message carrying the client id of one of this tab's sends replaces that send.
    pub fn insert(&mut self, message: MessageView) -> bool {
        if self.stored.contains_key(&message.seq) {
            return false;
        }
        if let Some(client_id) = &message.client_id {
            self.outgoing.retain(|o| &o.client_id != client_id);
        }
        self.stored.insert(message.seq, message);
        true
    }

    /// Records a send this tab is about to make.
    pub fn queue(&mut self, client_id: String, text: String) {
        self.outgoing.push(Outgoing {
            client_id,
            text,
            state: SendState::Pending,
        });
    }

    /// Marks a pending send as failed; `false` if it is not pending (already stored).
    pub fn fail(&mut self, client_id: &str, reason: impl Into<String>) -> bool {
        match self
            .outgoing
            .iter_mut()
            .find(|o| o.client_id == client_id && o.state == SendState::Pending)
        {
            Some(outgoing) => {
                outgoing.state = SendState::Failed(reason.into());
                true
            }
            None => false,
        }
    }

    /// Puts a failed send back to pending and returns its text, to send again with the same id.
    pub fn retry(&mut self, client_id: &str) -> Option<String> {
        let outgoing = self
            .outgoing
            .iter_mut()
            .find(|o| o.client_id == client_id && matches!(o.state, SendState::Failed(_)))?;
        outgoing.state = SendState::Pending;
        Some(outgoing.text.clone())
    }

    /// The newest `seq` held (0 for none): what to give `joinConversation` as `lastSeq`.
    pub fn newest_seq(&self) -> i64 {
        self.stored.keys().next_back().copied().unwrap_or(0)
    }

    /// The oldest `seq` held: the `before` of the next older page.
    pub fn oldest_seq(&self) -> Option<i64> {
        self.stored.keys().next().copied()
    }

    pub fn is_loaded(&self) -> bool {
        self.history != History::NotLoaded
    }

    pub fn has_older(&self) -> bool {
        self.history == History::More
    }

    /// Stored messages by `seq`, then this tab's unconfirmed sends in the order they were made.
    pub fn rows(&self) -> Vec<Row> {
        self.stored
            .values()
            .cloned()
            .map(Row::Stored)
            .chain(self.outgoing.iter().cloned().map(Row::Outgoing))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter::protocol::{ConversationId, MessageId, UserId};
    use time::OffsetDateTime;

    fn message(seq: i64, client_id: Option<&str>) -> MessageView {
        MessageView {
            id: MessageId(100 + seq),
            conv_id: ConversationId(1),
            sender_id: UserId(1),
            sender_name: "alice".into(),
            message: format!("message {seq}"),
            seq,
            created_at: OffsetDateTime::UNIX_EPOCH,
            client_id: client_id.map(str::to_owned),
        }
    }

    fn keys(timeline: &Timeline) -> Vec<String> {
        timeline.rows().iter().map(Row::key).collect()
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
        assert_eq!(timeline.newest_seq(), 5);
        assert_eq!(timeline.oldest_seq(), Some(3));
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

    #[test]
    fn a_confirmed_send_replaces_its_pending_row_exactly_once() {
        let mut timeline = Timeline::default();
        timeline.insert(message(1, None));
        timeline.queue("c-1".into(), "hello".into());
        assert_eq!(keys(&timeline), ["m101", "pc-1"]);
        assert!(timeline.insert(message(2, Some("c-1"))));
        // The same message again (an ack after a replay, another tab): nothing changes.
        assert!(!timeline.insert(message(2, Some("c-1"))));
        assert_eq!(keys(&timeline), ["m101", "m102"]);
        assert_eq!(timeline.newest_seq(), 2);
    }

    #[test]
    fn a_failed_send_can_be_retried_with_the_same_id_and_lands_once() {
        let mut timeline = Timeline::default();
        timeline.queue("c-1".into(), "hello".into());
        assert!(timeline.fail("c-1", "connection lost"));
        assert_eq!(keys(&timeline), ["fc-1"]);
        assert_eq!(timeline.retry("c-1").as_deref(), Some("hello"));
        assert_eq!(
            timeline.retry("c-1"),
            None,
            "only a failed send can be retried"
        );
        assert_eq!(keys(&timeline), ["pc-1"]);
        timeline.insert(message(1, Some("c-1")));
        assert_eq!(keys(&timeline), ["m101"]);
    }

    #[test]
    fn a_heading_opens_each_day() {
        let mut timeline = Timeline::default();
        for (seq, day) in [(1, 0), (2, 0), (3, 1)] {
            let mut m = message(seq, None);
            m.created_at += time::Duration::days(day);
            timeline.insert(m);
        }
        timeline.queue("c-1".into(), "hi".into());
        let keys: Vec<String> = with_days(timeline.rows(), |t| t.date())
            .iter()
            .map(Item::key)
            .collect();
        assert_eq!(
            keys,
            ["d1970-01-01", "m101", "m102", "d1970-01-02", "m103", "pc-1"]
        );
    }

    #[test]
    fn a_send_stored_before_the_drop_is_confirmed_by_the_replay() {
        let mut timeline = Timeline::default();
        timeline.queue("c-1".into(), "hello".into());
        timeline.fail("c-1", "connection lost");
        // After reconnecting, `joinConversation {lastSeq}` replays it as a newMessage.
        timeline.insert(message(1, Some("c-1")));
        assert_eq!(keys(&timeline), ["m101"]);
        assert!(
            !timeline.fail("c-1", "late"),
            "a stored message cannot fail"
        );
    }
}
