//! The commands a client sends and the events the server sends, named as the seed names them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::ErrorView;
use super::ids::{ConversationId, Seq, UserId};
use super::views::{ConversationView, MessageView, PresenceView};

/// What a resuming client already has of one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cursor {
    pub conv_id: ConversationId,
    /// The newest `seq` the client holds (0: none).
    pub last_seq: Seq,
}

/// The seed's `createConvDto`: the other member, by id or by name; or a group: its `title`
/// and the other members (`memberIds` and/or `usernames`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateConvDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user2_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, rename = "memberIds", skip_serializing_if = "Option::is_none")]
    pub member_ids: Option<Vec<UserId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usernames: Option<Vec<String>>,
}

/// The seed's `message` object inside `sendMessage`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    pub message: String,
}

/// Client → server commands, named as the seed names them.
///
/// `user_id` fields exist only because the seed's clients send them: the server compares them
/// with the authenticated user and rejects a mismatch (`spoofedUser`); it never acts on them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    content = "data",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ClientCommand {
    /// A one-to-one conversation (`user2_id` or `username`) or a group (`title` and
    /// `memberIds` and/or `usernames`), inside `createConvDto` or bare.
    CreateConversation {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_conv_dto: Option<CreateConvDto>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_ids: Option<Vec<UserId>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usernames: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
    SendMessage {
        conv_id: ConversationId,
        message: NewMessage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
    /// Joins the room. With `lastSeq` (the newest `seq` the client has), the server first
    /// replays every later message, in order, then continues live with no gap or duplicate.
    JoinConversation {
        conv_id: ConversationId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<Seq>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
    LeaveConversation {
        conv_id: ConversationId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
    /// After a (re)connect: joins every conversation of the user and replays, in order, what
    /// the client lacks — after `lastSeq` for the listed ones, everything for the others —
    /// then continues live. Answered with `resumed`.
    Resume {
        #[serde(default)]
        conversations: Vec<Cursor>,
    },
    /// Moves the caller's read mark forward to `seq` (never back). Answered with
    /// `conversationRead`, which the other members and the caller's other connections get too.
    MarkRead {
        conv_id: ConversationId,
        seq: Seq,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
    /// A liveness check from a client that cannot see WebSocket pings (browsers): answered
    /// with `pong`.
    Ping {},
    /// The caller started (`true`) or stopped (`false`) typing in a conversation: the other
    /// members' connections in its room get `typing`. Never stored and never answered; a
    /// `true` holds for [`TYPING_HOLDS`](super::limits::TYPING_HOLDS) unless renewed, and
    /// renewals beyond about one a second are ignored.
    Typing {
        conv_id: ConversationId,
        typing: bool,
    },
    /// A group admin renames the group. Answered with `conversationUpdated`; the members'
    /// timeline gets a `renamed` entry.
    RenameConversation {
        conv_id: ConversationId,
        title: String,
    },
    /// A group admin adds a user (`memberId` or `username`). Answered with
    /// `conversationUpdated`; the new member's connections get `conversationCreated`.
    AddMember {
        conv_id: ConversationId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_id: Option<UserId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
    },
    /// A group admin removes a member (naming oneself is leaving). Answered with
    /// `conversationUpdated`; the removed member's connections get `removedFromConversation`.
    RemoveMember {
        conv_id: ConversationId,
        member_id: UserId,
    },
    /// A group admin makes a member an admin too. Answered with `conversationUpdated`.
    MakeAdmin {
        conv_id: ConversationId,
        member_id: UserId,
    },
    /// The caller leaves a group for good (unlike `leaveConversation`, which only leaves the
    /// room). Answered with `removedFromConversation`, which all the caller's connections get.
    LeaveGroup { conv_id: ConversationId },
}

impl ClientCommand {
    /// Every event name a client may send, for `unknownEvent` errors and docs.
    pub const EVENTS: &'static [&'static str] = &[
        "createConversation",
        "sendMessage",
        "joinConversation",
        "leaveConversation",
        "resume",
        "markRead",
        "ping",
        "typing",
        "renameConversation",
        "addMember",
        "removeMember",
        "makeAdmin",
        "leaveGroup",
    ];

    /// The `userId` the payload claims, if any (checked against the authenticated user).
    pub fn claimed_user(&self) -> Option<UserId> {
        match self {
            Self::CreateConversation { user_id, .. }
            | Self::SendMessage { user_id, .. }
            | Self::JoinConversation { user_id, .. }
            | Self::LeaveConversation { user_id, .. }
            | Self::MarkRead { user_id, .. } => *user_id,
            Self::Resume { .. }
            | Self::Ping {}
            | Self::Typing { .. }
            | Self::RenameConversation { .. }
            | Self::AddMember { .. }
            | Self::RemoveMember { .. }
            | Self::MakeAdmin { .. }
            | Self::LeaveGroup { .. } => None,
        }
    }

    /// The command's wire name.
    pub fn event_name(&self) -> &'static str {
        match self {
            Self::CreateConversation { .. } => "createConversation",
            Self::SendMessage { .. } => "sendMessage",
            Self::JoinConversation { .. } => "joinConversation",
            Self::LeaveConversation { .. } => "leaveConversation",
            Self::Resume { .. } => "resume",
            Self::MarkRead { .. } => "markRead",
            Self::Ping {} => "ping",
            Self::Typing { .. } => "typing",
            Self::RenameConversation { .. } => "renameConversation",
            Self::AddMember { .. } => "addMember",
            Self::RemoveMember { .. } => "removeMember",
            Self::MakeAdmin { .. } => "makeAdmin",
            Self::LeaveGroup { .. } => "leaveGroup",
        }
    }
}

/// Server → client events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    content = "data",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ServerEvent {
    /// To both members, whether or not they joined a room; also the answer to `createConversation`.
    ConversationCreated {
        conversation: ConversationView,
    },
    /// A committed message, to everyone in the conversation's room.
    NewMessage {
        message: MessageView,
    },
    /// The sender's acknowledgement of `sendMessage` (only when the command carried a `ref`).
    MessageSent {
        message: MessageView,
    },
    JoinedConversation {
        conv_id: ConversationId,
        room: String,
    },
    LeftConversation {
        conv_id: ConversationId,
        room: String,
    },
    /// The answer to `resume`: every conversation of the user (with unread counts), before the
    /// replayed messages.
    Resumed {
        conversations: Vec<ConversationView>,
    },
    /// A member's read mark moved: to every member's connections.
    ConversationRead {
        conv_id: ConversationId,
        user_id: UserId,
        last_read_seq: Seq,
    },
    /// The answer to `ping`.
    Pong {},
    /// A member started or stopped typing: to the other members' connections in the room.
    Typing {
        conv_id: ConversationId,
        user_id: UserId,
        username: String,
        typing: bool,
    },
    /// A user who shares a conversation with the receiver came online or went offline (on the
    /// receiver's personal feed; not stored). `lastSeenAt` is to the minute; both are `false`
    /// and `null` for a user who hides their presence.
    Presence(PresenceView),
    /// A group as it is after the caller's change: the answer to `renameConversation`,
    /// `addMember`, `removeMember` and `makeAdmin`.
    ConversationUpdated {
        conversation: ConversationView,
    },
    /// The receiver is no longer a member (removed, or left): every connection of theirs has
    /// left its room, and reading, sending and joining are refused from now on. Also the answer
    /// to `leaveGroup`.
    RemovedFromConversation {
        conv_id: ConversationId,
    },
    Error(ErrorView),
}

impl ServerEvent {
    /// The event's wire name (also the Socket.IO event name).
    pub fn event_name(&self) -> &'static str {
        match self {
            Self::ConversationCreated { .. } => "conversationCreated",
            Self::NewMessage { .. } => "newMessage",
            Self::MessageSent { .. } => "messageSent",
            Self::JoinedConversation { .. } => "joinedConversation",
            Self::LeftConversation { .. } => "leftConversation",
            Self::Resumed { .. } => "resumed",
            Self::ConversationRead { .. } => "conversationRead",
            Self::Pong {} => "pong",
            Self::Typing { .. } => "typing",
            Self::Presence(_) => "presence",
            Self::ConversationUpdated { .. } => "conversationUpdated",
            Self::RemovedFromConversation { .. } => "removedFromConversation",
            Self::Error(_) => "error",
        }
    }

    /// The `data` part of the frame (the Socket.IO payload).
    pub fn data(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => map.remove("data").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

impl ClientCommand {
    /// Builds a command from an event name and its `data` (the Socket.IO shape), with a
    /// human-readable reason when the payload does not fit.
    pub fn from_parts(event: &str, data: Option<Value>) -> Result<Self, String> {
        let mut frame = serde_json::Map::new();
        frame.insert("event".into(), Value::String(event.to_owned()));
        frame.insert(
            "data".into(),
            data.unwrap_or(Value::Object(Default::default())),
        );
        serde_json::from_value(Value::Object(frame))
            .map_err(|e| format!("invalid `{event}` payload: {e}"))
    }
}
