//! The composer's wording of the message rules (`natter::protocol::limits::check_message`,
//! the very function the server enforces): the text that would be sent and why it cannot be
//! sent yet, so the composer never accepts what the server would refuse.

use std::borrow::Cow;

use natter::protocol::limits::{self, MessageRule};
use natter::protocol::{ConversationId, UserId};

/// Why a draft cannot be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DraftProblem(pub MessageRule);

impl std::fmt::Display for DraftProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            MessageRule::Empty => f.write_str("Write something first."),
            MessageRule::TooLong { len, max } => write!(
                f,
                "Too long to send: {len} characters, the limit is {max}. Remove {} to send it.",
                len - max
            ),
            MessageRule::ControlCharacter => f.write_str(
                "This text holds an invisible control character that cannot be sent; retype it.",
            ),
        }
    }
}

impl DraftProblem {
    /// Whether the draft is merely empty (said only once the person tries to send).
    pub fn is_empty(self) -> bool {
        self.0 == MessageRule::Empty
    }
}

/// The length the server will count.
pub fn length(text: &str) -> usize {
    limits::message_chars(text)
}

/// The text to send, or why not.
pub fn check(text: &str, max: usize) -> Result<Cow<'_, str>, DraftProblem> {
    limits::check_message(text, max).map_err(DraftProblem)
}

/// Where a person's unsent draft of one conversation is kept (browser `localStorage`): one
/// key per account and conversation, so another account on the browser never sees it.
pub fn storage_key(user: UserId, conversation: ConversationId) -> String {
    format!("{}{}", storage_prefix(user), conversation.0)
}

/// The prefix of every draft key of `user` (to forget them all at sign-out).
pub fn storage_prefix(user: UserId) -> String {
    format!("natter.draft.{}.", user.0)
}

/// Whether to show the character count: once the draft is within a tenth of the limit.
pub fn near_limit(len: usize, max: usize) -> bool {
    len.saturating_mul(10) >= max.saturating_mul(9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_trimmed_and_counted_in_characters() {
        assert_eq!(check("  hi\n", 10).unwrap(), "hi");
        assert!(check(" \n\t", 10).unwrap_err().is_empty());
        assert_eq!(check(&"é".repeat(10), 10).unwrap(), "éééééééééé");
        assert_eq!(
            check(&"é".repeat(11), 10),
            Err(DraftProblem(MessageRule::TooLong { len: 11, max: 10 }))
        );
        assert_eq!(length("  ab  "), 2);
    }

    #[test]
    fn the_reason_for_a_long_draft_says_how_much_to_remove() {
        let reason = DraftProblem(MessageRule::TooLong {
            len: 4010,
            max: 4000,
        })
        .to_string();
        assert!(reason.contains("4010") && reason.contains("4000") && reason.contains("Remove 10"));
    }

    #[test]
    fn drafts_are_kept_per_account_and_conversation() {
        let key = storage_key(UserId(7), ConversationId(3));
        assert_eq!(key, "natter.draft.7.3");
        assert!(key.starts_with(&storage_prefix(UserId(7))));
        assert!(
            !storage_key(UserId(71), ConversationId(3)).starts_with(&storage_prefix(UserId(7)))
        );
    }

    #[test]
    fn the_count_appears_near_the_limit() {
        assert!(!near_limit(3599, 4000));
        assert!(near_limit(3600, 4000));
        assert!(near_limit(5000, 4000));
    }
}
