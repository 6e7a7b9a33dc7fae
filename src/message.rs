//! Messages: the validated body, the client's idempotency key, and the stored message.

use time::OffsetDateTime;

use crate::error::ChatError;
use crate::protocol::limits::{self, MessageRule};
use crate::protocol::{
    ConversationId, EntryKind, MessageId, MessageView, Seq, TimelineEvent, UserId,
};

/// A message text as stored (`protocol::limits::check_message`): `\r\n` made `\n`, trimmed,
/// 1 to `max` characters, no control character but line break and tab — NUL and its kind are
/// refused alike on both engines (PostgreSQL cannot store NUL; a terminal or log should not
/// receive escape codes from a message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// The default longest body, in characters; the server's `--max-message-chars` overrides it.
    pub const DEFAULT_MAX_CHARS: usize = limits::DEFAULT_MESSAGE_MAX_CHARS;

    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, ChatError> {
        match limits::check_message(raw, max_chars) {
            Ok(text) => Ok(Self(text.into_owned())),
            Err(MessageRule::Empty) => Err(ChatError::EmptyMessage),
            Err(MessageRule::TooLong { len, max }) => Err(ChatError::MessageTooLong { max, len }),
            Err(MessageRule::ControlCharacter) => Err(ChatError::InvalidMessage(
                "control characters (only line breaks and tabs are allowed)",
            )),
        }
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
        if limits::is_client_id(raw) {
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
    pub seq: Seq,
    pub sender: UserId,
    pub sender_name: String,
    pub body: String,
    pub client_id: Option<String>,
    pub created_at: OffsetDateTime,
    /// A message, or a group's change (then `event` says which).
    pub kind: EntryKind,
    pub event: Option<Box<TimelineEvent>>,
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
            kind: m.kind,
            event: m.event.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_broken_rule_has_its_error() {
        assert_eq!(MessageBody::parse("  hi \n", 10).unwrap().as_str(), "hi");
        assert!(matches!(
            MessageBody::parse(" \n\t ", 10),
            Err(ChatError::EmptyMessage)
        ));
        assert!(matches!(
            MessageBody::parse(&"é".repeat(11), 10),
            Err(ChatError::MessageTooLong { max: 10, len: 11 })
        ));
        assert!(matches!(
            MessageBody::parse("a\0b", 10),
            Err(ChatError::InvalidMessage(_))
        ));
        assert!(ClientMessageId::parse("6f1c3a52-8f7e-4c55-b0e2-0c8d9f1f2a11").is_ok());
        assert!(matches!(
            ClientMessageId::parse("has space"),
            Err(ChatError::InvalidClientId)
        ));
    }
}
