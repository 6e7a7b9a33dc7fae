//! Messages: the validated body, the client's idempotency key, and the stored message.

use time::OffsetDateTime;

use crate::error::ChatError;
use crate::protocol::{ConversationId, MessageId, MessageView, UserId};

/// A message text after trimming: 1 to `max` characters (Unicode scalar values), with line
/// breaks as `\n` (a `\r\n` pair becomes `\n`) and no other control character than tab:
/// NUL and its kind are refused alike on both engines (PostgreSQL cannot store NUL; a terminal
/// or a log should not receive escape codes from a message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// The default longest body, in characters; the server's `--max-message-chars` overrides it.
    pub const DEFAULT_MAX_CHARS: usize = 4000;

    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, ChatError> {
        let normalized;
        let raw = if raw.contains('\r') {
            normalized = raw.replace("\r\n", "\n");
            &normalized
        } else {
            raw
        };
        let body = raw.trim();
        if body.is_empty() {
            return Err(ChatError::EmptyMessage);
        }
        if body
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ChatError::InvalidMessage(
                "control characters (only line breaks and tabs are allowed)",
            ));
        }
        let len = body.chars().count();
        if len > max_chars {
            return Err(ChatError::MessageTooLong {
                max: max_chars,
                len,
            });
        }
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sender's idempotency key for one message: 1 to 64 characters of `[A-Za-z0-9_:.-]`
/// (a UUID fits). A retried send with the same key is stored once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    pub fn parse(raw: &str) -> Result<Self, ChatError> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ChatError::InvalidClientId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A committed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation: ConversationId,
    pub seq: i64,
    pub sender: UserId,
    pub sender_name: String,
    pub body: String,
    pub client_id: Option<String>,
    pub created_at: OffsetDateTime,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        MessageView {
            id: m.id,
            conv_id: m.conversation,
            sender_id: m.sender,
            sender_name: m.sender_name.clone(),
            message: m.body.clone(),
            seq: m.seq,
            created_at: m.created_at,
            client_id: m.client_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_trimmed_and_bounded_in_characters() {
        assert_eq!(MessageBody::parse("  hi \n", 10).unwrap().as_str(), "hi");
        assert!(matches!(
            MessageBody::parse(" \n\t ", 10),
            Err(ChatError::EmptyMessage)
        ));
        assert!(MessageBody::parse(&"é".repeat(10), 10).is_ok());
        assert!(matches!(
            MessageBody::parse(&"é".repeat(11), 10),
            Err(ChatError::MessageTooLong { max: 10, len: 11 })
        ));
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_and_tabs_kept() {
        assert_eq!(
            MessageBody::parse("a\r\nb\tc", 10).unwrap().as_str(),
            "a\nb\tc"
        );
        for bad in ["a\0b", "\u{1b}[31mred", "a\rb", "x\u{7f}", "a\u{85}b"] {
            assert!(
                matches!(
                    MessageBody::parse(bad, 100),
                    Err(ChatError::InvalidMessage(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn client_ids_accept_uuids_and_refuse_junk() {
        assert!(ClientMessageId::parse("6f1c3a52-8f7e-4c55-b0e2-0c8d9f1f2a11").is_ok());
        for bad in ["", "has space", "<x>", &"a".repeat(65)] {
            assert!(ClientMessageId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
