//! What the server shows of users, messages and conversations, identical on every transport.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ids::{ConversationId, MessageId, Seq, UserId};

/// A user as others see them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: UserId,
    pub username: String,
}

/// A stored message, identical on every transport.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: MessageId,
    pub conv_id: ConversationId,
    pub sender_id: UserId,
    pub sender_name: String,
    /// The text, exactly as stored (trimmed). Always rendered as text, never as HTML.
    pub message: String,
    /// Position in the conversation: 1, 2, 3… without gaps, assigned at commit.
    pub seq: Seq,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The sender's idempotency key, when the sender gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A conversation as one of its members sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub id: ConversationId,
    /// `conversation_{id}`.
    pub room: String,
    pub members: Vec<UserView>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub last_message: Option<MessageView>,
    /// Messages the viewing member has not read yet (after their read mark).
    #[serde(default)]
    pub unread: i64,
    /// Each member's read mark: the highest `seq` they have read.
    #[serde(default)]
    pub read_up_to: Vec<ReadMark>,
    /// The other members' presence, for those who share it (empty when the viewer hides
    /// their own: presence is shown both ways or not at all).
    #[serde(default)]
    pub presence: Vec<PresenceView>,
}

/// Whether a user is online, and when they were last seen (to the minute).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceView {
    pub user_id: UserId,
    /// While any of the user's connections is open (going offline waits a few seconds, so a
    /// reload does not flap).
    pub online: bool,
    /// When their last connection closed, rounded down to the minute; `null` if never or
    /// hidden.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
}

/// How far one member has read a conversation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMark {
    pub user_id: UserId,
    pub seq: Seq,
}

/// What a user shares with the people they talk to; both on by default.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Others see when this user is online and when they were last seen; off, this user sees
    /// nobody's presence either.
    pub share_presence: bool,
    /// Others see when this user is typing.
    pub share_typing: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            share_presence: true,
            share_typing: true,
        }
    }
}
