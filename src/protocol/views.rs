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
    /// `message`, or `event`: a membership change or a rename in a group, at its place in the
    /// timeline (its sender is the actor, `message` the sentence to show, `event` the change).
    #[serde(default)]
    pub kind: EntryKind,
    /// What changed, for an `event` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Box<TimelineEvent>>,
}

/// What a timeline entry is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryKind {
    /// A message someone wrote.
    #[default]
    Message,
    /// A change of the group (see `TimelineEvent`).
    Event,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Event => "event",
        }
    }
}

/// A change of a group, as its timeline shows it: `actor` did `change` (to `subject`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    pub change: Change,
    /// Who made the change (for `promoted`: the admin who left).
    pub actor: UserView,
    /// Who it was made to (`added`, `removed`, `madeAdmin`, `promoted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<UserView>,
    /// The group's title after the change (`created`, `renamed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The kinds of change a group's timeline records.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// The actor created the group, titled `title`.
    Created,
    /// The actor renamed the group to `title`.
    Renamed,
    /// The actor added `subject`.
    Added,
    /// The actor removed `subject`.
    Removed,
    /// The actor left.
    Left,
    /// The actor made `subject` an admin.
    MadeAdmin,
    /// `subject` became an admin because the last admin (the actor) left.
    Promoted,
}

impl TimelineEvent {
    /// The sentence a timeline shows for the change ("alice added carol").
    pub fn sentence(&self) -> String {
        let actor = &self.actor.username;
        let subject = self
            .subject
            .as_ref()
            .map_or("someone", |s| s.username.as_str());
        let title = self.title.as_deref().unwrap_or_default();
        match self.change {
            Change::Created => format!("{actor} created the group \u{201c}{title}\u{201d}"),
            Change::Renamed => format!("{actor} renamed the group to \u{201c}{title}\u{201d}"),
            Change::Added => format!("{actor} added {subject}"),
            Change::Removed => format!("{actor} removed {subject}"),
            Change::Left => format!("{actor} left"),
            Change::MadeAdmin => format!("{actor} made {subject} an admin"),
            Change::Promoted => format!("{subject} is now an admin"),
        }
    }
}

/// A conversation as one of its members sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub id: ConversationId,
    /// `conversation_{id}`.
    pub room: String,
    /// `direct` (one-to-one) or `group`.
    #[serde(default)]
    pub kind: ConversationKind,
    /// A group's title; `null` for a direct conversation.
    #[serde(default)]
    pub title: Option<String>,
    pub members: Vec<UserView>,
    /// The members who are admins of a group (empty for a direct conversation).
    #[serde(default)]
    pub admins: Vec<UserId>,
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

/// A one-to-one conversation or a group.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConversationKind {
    #[default]
    Direct,
    Group,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }
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
