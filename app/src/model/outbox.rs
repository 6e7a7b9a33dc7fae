//! The signed-in person's outbox: every message they wrote that the server has not stored yet
//! (as far as this tab knows), in the order written, connected or not. It decides what goes
//! out next, what the server's answer means for each entry, and the saved form that survives a
//! reload; it must not touch the browser (the `storage` module keeps the saved form in
//! `localStorage`) nor the socket (the socket task asks it what is due).
//!
//! Sending is strictly sequential per conversation: the oldest waiting entry of a conversation
//! goes out, and the next one only once the server has stored it (or refused it for good).
//! A window of several sends would be faster, but a transient refusal (`rateLimited`) of one
//! send could then let the one after it be stored first; one at a time keeps the written order
//! whatever the server answers, and costs one round trip per message of a backlog that is
//! rarely longer than a few messages. Conversations do not wait for each other.
//!
//! Every entry keeps its client message id from the moment it is written, so a resend after a
//! drop (the server may have stored it before the drop) is answered with the stored original
//! and never stored twice.

use natter::protocol::{ConversationId, ErrorCode, ErrorView, MessageView, UserId};
use serde::{Deserialize, Serialize};

use crate::model::backoff::Backoff;
use crate::model::timeline::{Outgoing, SendState};

/// One unconfirmed message in its saved form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub conversation: ConversationId,
    pub client_id: String,
    pub text: String,
    /// Why the server refused it for good. A refused entry is out of the sending queue; it is
    /// kept (and saved) only so that its text is not lost until the person discards it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The saved document: whose outbox it is and its entries, oldest first.
#[derive(Serialize, Deserialize)]
struct Document {
    user: UserId,
    entries: Vec<Saved>,
}

/// The `localStorage` key of a person's outbox: one per account, so that another account
/// signed in on the same browser never reads (or sends) it.
pub fn storage_key(user: UserId) -> String {
    format!("natter.outbox.{user}")
}

/// The entries of a saved document. A document of another account (a key written by hand or a
/// bug) or one that cannot be read gives nothing: a broken save must not break the page.
pub fn decode(user: UserId, text: &str) -> Vec<Saved> {
    match serde_json::from_str::<Document>(text) {
        Ok(document) if document.user == user => document.entries,
        Ok(_) | Err(_) => Vec::new(),
    }
}

pub fn encode(user: UserId, entries: &[Saved]) -> String {
    serde_json::json!({ "user": user, "entries": entries }).to_string()
}

/// One change to the outbox. The same change is applied to this tab's copy and to the saved
/// copy, read afresh just before it is written back, so that two tabs of one person add and
/// remove entries without undoing each other's changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Add(Saved),
    /// Stored by the server, or discarded by the person.
    Remove {
        client_id: String,
    },
    Refuse {
        client_id: String,
        reason: String,
    },
}

impl Change {
    /// Applies the change to a list of saved entries. Idempotent.
    pub fn apply(&self, entries: &mut Vec<Saved>) {
        match self {
            Self::Add(saved) => {
                if !entries.iter().any(|e| e.client_id == saved.client_id) {
                    entries.push(saved.clone());
                }
            }
            Self::Remove { client_id } => entries.retain(|e| &e.client_id != client_id),
            Self::Refuse { client_id, reason } => {
                if let Some(entry) = entries.iter_mut().find(|e| &e.client_id == client_id) {
                    entry.refused = Some(reason.clone());
                }
            }
        }
    }
}

/// Whether the server's refusal of a send is final. Transient refusals (rate limits, a busy or
/// failing server) pass; an ended session is for the sign-in page to handle, and the entry is
/// sent once the person is signed in again. Everything else would be refused again, whatever
/// the timing.
pub fn is_final(code: ErrorCode) -> bool {
    !(code.is_transient() || code.ends_session())
}

/// The reason shown under a refused message: "Not sent: <the server's message>."
pub fn refusal_reason(error: &ErrorView) -> String {
    format!("Not sent: {}.", error.message.trim_end_matches('.'))
}

/// A send the socket should make now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub conversation: ConversationId,
    pub client_id: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    saved: Saved,
    /// Sent on the current connection and not answered yet.
    in_flight: bool,
    /// Transient refusals so far, for the delay before the next attempt.
    setbacks: u32,
    /// Not to be sent before this time (after a transient refusal).
    not_before_ms: f64,
}

impl Entry {
    fn new(saved: Saved) -> Self {
        Self {
            saved,
            in_flight: false,
            setbacks: 0,
            not_before_ms: 0.0,
        }
    }

    fn waiting(&self) -> bool {
        self.saved.refused.is_none()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    entries: Vec<Entry>,
    backoff: Backoff,
}

impl Outbox {
    /// Takes in the saved entries (after a reload): they come first, in their saved order;
    /// entries this tab holds that were not saved (storage failed) keep their place after them.
    pub fn restore(&mut self, saved: Vec<Saved>) {
        let mut entries: Vec<Entry> = Vec::with_capacity(saved.len() + self.entries.len());
        for saved in saved {
            if !entries.iter().any(|e| e.saved.client_id == saved.client_id) {
                let held = self
                    .entries
                    .iter()
                    .position(|e| e.saved.client_id == saved.client_id);
                entries.push(match held {
                    Some(i) => self.entries.remove(i),
                    None => Entry::new(saved),
                });
            }
        }
        entries.append(&mut self.entries);
        self.entries = entries;
    }

    /// Queues a message the person wrote, behind everything written before it.
    pub fn write(
        &mut self,
        conversation: ConversationId,
        client_id: String,
        text: String,
    ) -> Change {
        let saved = Saved {
            conversation,
            client_id,
            text,
            refused: None,
        };
        self.entries.push(Entry::new(saved.clone()));
        Change::Add(saved)
    }

    /// A stored message arrived (the answer to a send, a replay, another tab's copy, a page of
    /// history): the person's entry with its client id is done. `None` if none matched.
    pub fn confirm(&mut self, message: &MessageView, me: UserId) -> Option<Change> {
        let client_id = message
            .client_id
            .as_deref()
            .filter(|_| message.sender_id == me)?;
        let index = self.entries.iter().position(|e| {
            e.saved.client_id == client_id && e.saved.conversation == message.conv_id
        })?;
        self.entries.remove(index);
        Some(Change::Remove {
            client_id: client_id.to_owned(),
        })
    }

    /// The server refused a send. A final refusal takes the entry out of the queue (the change
    /// to save); a transient one keeps it first in line, retried after a growing delay
    /// (`random` in `[0, 1)` spreads the retries of many tabs).
    pub fn refused(
        &mut self,
        client_id: &str,
        error: &ErrorView,
        now_ms: f64,
        random: f64,
    ) -> Option<Change> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.saved.client_id == client_id && e.waiting())?;
        entry.in_flight = false;
        if is_final(error.code) {
            let reason = refusal_reason(error);
            entry.saved.refused = Some(reason.clone());
            Some(Change::Refuse {
                client_id: client_id.to_owned(),
                reason,
            })
        } else {
            entry.setbacks = entry.setbacks.saturating_add(1);
            entry.not_before_ms = now_ms + f64::from(self.backoff.delay_ms(entry.setbacks, random));
            None
        }
    }

    /// What to send now, marked as in flight: of each conversation, its oldest waiting entry,
    /// unless that one is already in flight or must wait after a transient refusal. Entries
    /// behind it wait for it to be answered.
    pub fn due(&mut self, now_ms: f64) -> Vec<Due> {
        let mut seen: Vec<ConversationId> = Vec::new();
        let mut due = Vec::new();
        for entry in self.entries.iter_mut().filter(|e| e.waiting()) {
            let conversation = entry.saved.conversation;
            if seen.contains(&conversation) {
                continue;
            }
            seen.push(conversation);
            if !entry.in_flight && entry.not_before_ms <= now_ms {
                entry.in_flight = true;
                due.push(Due {
                    conversation,
                    client_id: entry.saved.client_id.clone(),
                    text: entry.saved.text.clone(),
                });
            }
        }
        due
    }

    /// The connection is gone: whatever was in flight waits to be sent again (with the same
    /// client id) on the next connection.
    pub fn release(&mut self) {
        for entry in &mut self.entries {
            entry.in_flight = false;
        }
    }

    /// The person discards a refused message. Only refused entries can be discarded: a waiting
    /// one may already be stored, and its answer is on the way.
    pub fn discard(&mut self, client_id: &str) -> Option<Change> {
        let index = self
            .entries
            .iter()
            .position(|e| e.saved.client_id == client_id && !e.waiting())?;
        self.entries.remove(index);
        Some(Change::Remove {
            client_id: client_id.to_owned(),
        })
    }

    /// A conversation's entries as its timeline shows them, in the order written.
    pub fn outgoing(&self, conversation: ConversationId) -> Vec<Outgoing> {
        self.entries
            .iter()
            .filter(|e| e.saved.conversation == conversation)
            .map(|e| Outgoing {
                client_id: e.saved.client_id.clone(),
                text: e.saved.text.clone(),
                state: match &e.saved.refused {
                    Some(reason) => SendState::Failed(reason.clone()),
                    None => SendState::Pending,
                },
            })
            .collect()
    }

    /// How many of a conversation's messages wait to be sent, and how many were refused.
    pub fn tally(&self, conversation: ConversationId) -> Tally {
        self.entries
            .iter()
            .filter(|e| e.saved.conversation == conversation)
            .fold(Tally::default(), |mut tally, e| {
                if e.waiting() {
                    tally.waiting += 1;
                } else {
                    tally.refused += 1;
                }
                tally
            })
    }

    /// Whether an entry has this client id.
    pub fn holds(&self, client_id: &str) -> bool {
        self.entries.iter().any(|e| e.saved.client_id == client_id)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The saved form of every entry, oldest first.
    pub fn saved(&self) -> Vec<Saved> {
        self.entries.iter().map(|e| e.saved.clone()).collect()
    }
}

/// A conversation's unconfirmed messages, for the conversation list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub waiting: usize,
    pub refused: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter::protocol::{EntryKind, MessageId};
    use time::OffsetDateTime;

    const ME: UserId = UserId(1);
    const A: ConversationId = ConversationId(7);
    const B: ConversationId = ConversationId(8);

    fn stored(conversation: ConversationId, client_id: &str, sender: UserId) -> MessageView {
        MessageView {
            id: MessageId(1),
            conv_id: conversation,
            sender_id: sender,
            sender_name: "me".into(),
            message: "text".into(),
            seq: natter::protocol::Seq(1),
            created_at: OffsetDateTime::UNIX_EPOCH,
            client_id: Some(client_id.to_owned()),
            kind: EntryKind::Message,
            event: None,
        }
    }

    fn ids(due: &[Due]) -> Vec<&str> {
        due.iter().map(|d| d.client_id.as_str()).collect()
    }

    fn outbox_of(writes: &[(ConversationId, &str)]) -> Outbox {
        let mut outbox = Outbox::default();
        for (conversation, id) in writes {
            outbox.write(*conversation, (*id).to_owned(), format!("text of {id}"));
        }
        outbox
    }

    #[test]
    fn each_conversation_sends_one_message_at_a_time_in_the_order_written() {
        let mut outbox = outbox_of(&[(A, "a1"), (B, "b1"), (A, "a2"), (A, "a3")]);
        let due = outbox.due(0.0);
        assert_eq!(ids(&due), ["a1", "b1"]);
        assert_eq!(due[0].text, "text of a1");
        // Nothing more until an answer comes, however often the socket asks.
        assert!(outbox.due(1.0).is_empty());
        assert!(outbox.confirm(&stored(A, "a1", ME), ME).is_some());
        assert_eq!(ids(&outbox.due(2.0)), ["a2"]);
        assert!(outbox.confirm(&stored(A, "a2", ME), ME).is_some());
        assert!(outbox.confirm(&stored(B, "b1", ME), ME).is_some());
        assert_eq!(ids(&outbox.due(3.0)), ["a3"]);
    }

    #[test]
    fn a_dropped_connection_sends_the_same_entry_again_under_the_same_client_id() {
        let mut outbox = outbox_of(&[(A, "a1"), (A, "a2")]);
        assert_eq!(ids(&outbox.due(0.0)), ["a1"]);
        outbox.release();
        assert_eq!(ids(&outbox.due(1.0)), ["a1"]);
    }

    #[test]
    fn a_stored_copy_from_anywhere_confirms_the_entry_but_only_the_senders_own() {
        let mut outbox = outbox_of(&[(A, "a1"), (A, "a2")]);
        // Someone else's message that happens to carry the same client id is not ours.
        assert_eq!(outbox.confirm(&stored(A, "a1", UserId(2)), ME), None);
        // Neither is one in another conversation.
        assert_eq!(outbox.confirm(&stored(B, "a1", ME), ME), None);
        // A replay after a reconnect confirms an entry that was stored before the drop, even
        // one that is not first in line (another tab sent it).
        assert_eq!(
            outbox.confirm(&stored(A, "a2", ME), ME),
            Some(Change::Remove {
                client_id: "a2".into()
            })
        );
        assert_eq!(outbox.confirm(&stored(A, "a2", ME), ME), None);
        assert!(!outbox.holds("a2"));
        assert!(outbox.holds("a1"));
        assert_eq!(ids(&outbox.due(0.0)), ["a1"]);
    }

    #[test]
    fn a_final_refusal_takes_the_entry_out_of_the_queue_and_keeps_it_to_discard() {
        let mut outbox = outbox_of(&[(A, "a1"), (A, "a2")]);
        outbox.due(0.0);
        let error = ErrorView::new(
            ErrorCode::NotMember,
            "you are not a member of conversation 7",
        );
        let change = outbox.refused("a1", &error, 0.0, 0.5);
        let reason = "Not sent: you are not a member of conversation 7.".to_owned();
        assert_eq!(
            change,
            Some(Change::Refuse {
                client_id: "a1".into(),
                reason: reason.clone()
            })
        );
        assert_eq!(
            outbox.outgoing(A).first().map(|o| o.state.clone()),
            Some(SendState::Failed(reason))
        );
        // The next one goes; the refused one is never sent again.
        assert_eq!(ids(&outbox.due(1.0)), ["a2"]);
        assert_eq!(
            outbox.tally(A),
            Tally {
                waiting: 1,
                refused: 1
            }
        );
        // Only a refused entry can be discarded.
        assert_eq!(outbox.discard("a2"), None);
        assert_eq!(
            outbox.discard("a1"),
            Some(Change::Remove {
                client_id: "a1".into()
            })
        );
        assert_eq!(
            outbox.tally(A),
            Tally {
                waiting: 1,
                refused: 0
            }
        );
    }

    #[test]
    fn a_transient_refusal_keeps_the_entry_first_in_line_and_retries_it_later() {
        let mut outbox = outbox_of(&[(A, "a1"), (A, "a2"), (B, "b1")]);
        outbox.due(0.0);
        let limited = ErrorView::new(ErrorCode::RateLimited, "slow down");
        assert_eq!(outbox.refused("a1", &limited, 1_000.0, 0.0), None);
        // B's answer is not in yet; A waits out the delay (half of the first 1 s ceiling).
        assert!(outbox.due(1_400.0).is_empty());
        assert_eq!(ids(&outbox.due(1_500.0)), ["a1"]);
        outbox.refused("a1", &limited, 2_000.0, 0.0);
        assert!(outbox.due(2_999.0).is_empty(), "the delay grows");
        assert_eq!(ids(&outbox.due(3_000.0)), ["a1"]);
        assert_eq!(
            outbox.tally(A),
            Tally {
                waiting: 2,
                refused: 0
            }
        );
    }

    #[test]
    fn which_refusals_are_final() {
        for code in ErrorCode::ALL {
            let expected = !matches!(
                code,
                ErrorCode::RateLimited
                    | ErrorCode::ResyncRequired
                    | ErrorCode::Internal
                    | ErrorCode::Unauthenticated
                    | ErrorCode::InvalidToken
                    | ErrorCode::TokenExpired
                    | ErrorCode::TooManyConnections
                    | ErrorCode::ServerBusy
                    | ErrorCode::StorageUnavailable
                    | ErrorCode::RequestTimeout
            );
            assert_eq!(is_final(*code), expected, "{code:?}");
        }
        assert!(is_final(ErrorCode::ClientIdReused));
        assert!(is_final(ErrorCode::MessageTooLong));
    }

    #[test]
    fn the_saved_form_round_trips_and_belongs_to_one_account() {
        let mut outbox = outbox_of(&[(A, "a1"), (B, "b1")]);
        outbox.due(0.0);
        outbox.refused(
            "b1",
            &ErrorView::new(ErrorCode::MessageTooLong, "too long"),
            0.0,
            0.0,
        );
        let text = encode(ME, &outbox.saved());
        assert_eq!(decode(ME, &text), outbox.saved());
        assert!(
            decode(UserId(2), &text).is_empty(),
            "another account reads nothing"
        );
        assert!(decode(ME, "not json").is_empty());
        assert!(decode(ME, "{\"user\":1}").is_empty());
        assert_eq!(storage_key(ME), "natter.outbox.1");
        assert_ne!(storage_key(ME), storage_key(UserId(2)));
    }

    #[test]
    fn a_restored_outbox_picks_up_where_the_page_left_off() {
        let mut before = outbox_of(&[(A, "a1"), (A, "a2")]);
        before.due(0.0);
        let saved = before.saved();
        let mut after = Outbox::default();
        after.restore(saved.clone());
        assert_eq!(after.saved(), saved);
        assert_eq!(
            ids(&after.due(0.0)),
            ["a1"],
            "nothing is in flight after a reload"
        );
        // Restoring again (or restoring what this tab already holds) duplicates nothing.
        after.restore(saved);
        assert_eq!(after.saved().len(), 2);
        assert_eq!(
            after
                .outgoing(A)
                .iter()
                .map(|o| o.state.clone())
                .collect::<Vec<_>>(),
            [SendState::Pending, SendState::Pending]
        );
    }

    #[test]
    fn an_entry_this_tab_could_not_save_keeps_its_place_after_the_saved_ones() {
        let mut outbox = outbox_of(&[(A, "unsaved")]);
        let saved = outbox_of(&[(A, "a1")]).saved();
        outbox.restore(saved);
        assert_eq!(ids(&outbox.due(0.0)), ["a1"]);
        assert_eq!(outbox.outgoing(A).len(), 2);
    }

    #[test]
    fn changes_replayed_on_another_tabs_save_keep_both_tabs_entries() {
        // Tab 1 saved a1; tab 2, loaded before that, writes b1 and later sees a1 stored.
        let mut on_disk = vec![];
        let mut tab1 = Outbox::default();
        let mut tab2 = Outbox::default();
        tab1.write(A, "a1".into(), "one".into()).apply(&mut on_disk);
        tab2.write(B, "b1".into(), "two".into()).apply(&mut on_disk);
        if let Some(change) = tab2.confirm(&stored(A, "a1", ME), ME) {
            change.apply(&mut on_disk);
        }
        let client_ids: Vec<&str> = on_disk.iter().map(|s| s.client_id.as_str()).collect();
        assert_eq!(
            client_ids,
            ["a1", "b1"],
            "tab 2 never held a1, so it removes nothing"
        );
        // Tab 1 gets its answer: a1 goes, b1 stays. Changes are idempotent.
        let removed = tab1
            .confirm(&stored(A, "a1", ME), ME)
            .expect("tab 1 holds a1");
        removed.apply(&mut on_disk);
        removed.apply(&mut on_disk);
        Change::Add(tab2.saved()[0].clone()).apply(&mut on_disk);
        assert_eq!(tab2.saved(), on_disk);
    }
}
