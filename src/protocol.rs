//! The wire contract: every frame and DTO that crosses a socket, REST or a server function.
//!
//! Compiled everywhere (server, wasm UI, tests), so it depends on nothing but serde, time and
//! serde_json. It owns names and shapes only; it decides no domain rule (lengths, membership),
//! which the `server` feature's core checks once for every transport.
//!
//! Frames are `{"event": "<name>", "data": {…}, "ref": "<optional client string>"}`. A command
//! that carries `ref` is answered by exactly one frame with the same `ref`; broadcasts carry none.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's numeric id, as the seed's `user2_id` / `userId`.
    UserId
);
id_type!(
    /// A conversation's numeric id (`convId`); its room is `conversation_{id}`.
    ConversationId
);
id_type!(
    /// A message's id, unique across all conversations.
    MessageId
);

impl ConversationId {
    /// The Socket.IO-style room name the seed uses: `conversation_{id}`.
    pub fn room(self) -> String {
        format!("conversation_{}", self.0)
    }
}

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
    pub seq: i64,
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
}

/// How far one member has read a conversation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMark {
    pub user_id: UserId,
    pub seq: i64,
}

/// What a resuming client already has of one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cursor {
    pub conv_id: ConversationId,
    /// The newest `seq` the client holds (0: none).
    pub last_seq: i64,
}

/// The seed's `createConvDto`: the other member, by id or by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateConvDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user2_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
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
    CreateConversation {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_conv_dto: Option<CreateConvDto>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
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
        last_seq: Option<i64>,
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
        seq: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
    /// A liveness check from a client that cannot see WebSocket pings (browsers): answered
    /// with `pong`.
    Ping {},
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
    ];

    /// The `userId` the payload claims, if any (checked against the authenticated user).
    pub fn claimed_user(&self) -> Option<UserId> {
        match self {
            Self::CreateConversation { user_id, .. }
            | Self::SendMessage { user_id, .. }
            | Self::JoinConversation { user_id, .. }
            | Self::LeaveConversation { user_id, .. }
            | Self::MarkRead { user_id, .. } => *user_id,
            Self::Resume { .. } | Self::Ping {} => None,
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
        last_read_seq: i64,
    },
    /// The answer to `ping`.
    Pong {},
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

/// Every error a client can receive, with a stable machine-readable code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    /// The frame is not a JSON object with a string `event`.
    MalformedFrame,
    /// The `event` is not one this server knows.
    UnknownEvent,
    /// A field is missing, mistyped or not allowed.
    InvalidPayload,
    /// Binary frames are not part of the protocol.
    BinaryFrame,
    /// No credentials were presented.
    Unauthenticated,
    /// The token or cookie is not valid (bad signature, malformed, revoked session).
    InvalidToken,
    /// The token or session has expired; log in again.
    TokenExpired,
    /// Username or password is wrong.
    WrongCredentials,
    /// The username breaks the naming rules.
    InvalidUsername,
    /// The password breaks the password rules.
    InvalidPassword,
    /// Someone already has this username.
    UsernameTaken,
    /// No such user.
    UserNotFound,
    /// A conversation needs another member.
    CannotMessageSelf,
    /// No such conversation.
    ConversationNotFound,
    /// The caller is not a member of the conversation.
    NotMember,
    /// The payload's `userId` differs from the authenticated user.
    SpoofedUser,
    /// The message is empty after trimming.
    EmptyMessage,
    /// The message is longer than the configured limit.
    MessageTooLong,
    /// The message holds a character it may not (a control character other than newline and
    /// tab).
    InvalidMessage,
    /// The client message id is malformed.
    InvalidClientId,
    /// This client message id was already used for a different message.
    ClientIdReused,
    /// This connection already joined that room.
    AlreadyJoined,
    /// This connection has not joined that room.
    NotJoined,
    /// A query parameter is out of range.
    InvalidQuery,
    /// The request body is over the size limit.
    PayloadTooLarge,
    /// Too many requests; slow down.
    RateLimited,
    /// The connection fell behind on events it cannot replay and is closed; reconnect and
    /// `resume`.
    ResyncRequired,
    /// The user has as many open connections as the server allows one person.
    TooManyConnections,
    /// A browser page from another origin tried to act with this site's session cookie.
    ForeignOrigin,
    /// No such API route.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The request did not arrive, or was not answered, in time.
    RequestTimeout,
    /// The server is at capacity (connections, password hashing); try again after
    /// `Retry-After`.
    ServerBusy,
    /// Something failed on the server; nothing was changed.
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation checks.
    pub const ALL: &'static [ErrorCode] = &[
        Self::MalformedFrame,
        Self::UnknownEvent,
        Self::InvalidPayload,
        Self::BinaryFrame,
        Self::Unauthenticated,
        Self::InvalidToken,
        Self::TokenExpired,
        Self::WrongCredentials,
        Self::InvalidUsername,
        Self::InvalidPassword,
        Self::UsernameTaken,
        Self::UserNotFound,
        Self::CannotMessageSelf,
        Self::ConversationNotFound,
        Self::NotMember,
        Self::SpoofedUser,
        Self::EmptyMessage,
        Self::MessageTooLong,
        Self::InvalidMessage,
        Self::InvalidClientId,
        Self::ClientIdReused,
        Self::AlreadyJoined,
        Self::NotJoined,
        Self::InvalidQuery,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::ResyncRequired,
        Self::TooManyConnections,
        Self::ForeignOrigin,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::ServerBusy,
        Self::Internal,
    ];

    /// The HTTP status the REST API (and the server functions) answer this code with. No
    /// `_ =>`: a new code must be decided here.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unauthenticated
            | Self::InvalidToken
            | Self::TokenExpired
            | Self::WrongCredentials => 401,
            Self::NotMember | Self::SpoofedUser | Self::ForeignOrigin => 403,
            Self::UserNotFound | Self::ConversationNotFound | Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestTimeout => 408,
            Self::UsernameTaken
            | Self::ClientIdReused
            | Self::AlreadyJoined
            | Self::NotJoined
            | Self::ResyncRequired => 409,
            Self::MessageTooLong | Self::PayloadTooLarge => 413,
            Self::InvalidUsername
            | Self::InvalidPassword
            | Self::CannotMessageSelf
            | Self::EmptyMessage
            | Self::InvalidMessage
            | Self::InvalidClientId
            | Self::InvalidPayload => 422,
            Self::InvalidQuery | Self::MalformedFrame | Self::UnknownEvent | Self::BinaryFrame => {
                400
            }
            Self::RateLimited | Self::TooManyConnections => 429,
            Self::Internal => 500,
            Self::ServerBusy => 503,
        }
    }

    /// Whether the error means the caller is not (or no longer) signed in: the client should
    /// forget its session and show the sign-in page. Every transport and the UI decide it here.
    pub fn ends_session(self) -> bool {
        matches!(
            self,
            Self::Unauthenticated | Self::InvalidToken | Self::TokenExpired
        )
    }

    /// Whether the same request may succeed later unchanged: a limit, a full server, a
    /// failure on the server's side, a connection that must resync. (A refusal that
    /// [`ends_session`](Self::ends_session) is not transient: it needs a new sign-in.)
    pub fn is_transient(self) -> bool {
        match self {
            Self::RateLimited
            | Self::TooManyConnections
            | Self::ServerBusy
            | Self::RequestTimeout
            | Self::ResyncRequired
            | Self::Internal => true,
            Self::MalformedFrame
            | Self::UnknownEvent
            | Self::InvalidPayload
            | Self::BinaryFrame
            | Self::Unauthenticated
            | Self::InvalidToken
            | Self::TokenExpired
            | Self::WrongCredentials
            | Self::InvalidUsername
            | Self::InvalidPassword
            | Self::UsernameTaken
            | Self::UserNotFound
            | Self::CannotMessageSelf
            | Self::ConversationNotFound
            | Self::NotMember
            | Self::SpoofedUser
            | Self::EmptyMessage
            | Self::MessageTooLong
            | Self::InvalidMessage
            | Self::InvalidClientId
            | Self::ClientIdReused
            | Self::AlreadyJoined
            | Self::NotJoined
            | Self::InvalidQuery
            | Self::PayloadTooLarge
            | Self::ForeignOrigin
            | Self::NotFound
            | Self::MethodNotAllowed => false,
        }
    }

    /// The camelCase wire name of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedFrame => "malformedFrame",
            Self::UnknownEvent => "unknownEvent",
            Self::InvalidPayload => "invalidPayload",
            Self::BinaryFrame => "binaryFrame",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidToken => "invalidToken",
            Self::TokenExpired => "tokenExpired",
            Self::WrongCredentials => "wrongCredentials",
            Self::InvalidUsername => "invalidUsername",
            Self::InvalidPassword => "invalidPassword",
            Self::UsernameTaken => "usernameTaken",
            Self::UserNotFound => "userNotFound",
            Self::CannotMessageSelf => "cannotMessageSelf",
            Self::ConversationNotFound => "conversationNotFound",
            Self::NotMember => "notMember",
            Self::SpoofedUser => "spoofedUser",
            Self::EmptyMessage => "emptyMessage",
            Self::MessageTooLong => "messageTooLong",
            Self::InvalidMessage => "invalidMessage",
            Self::InvalidClientId => "invalidClientId",
            Self::ClientIdReused => "clientIdReused",
            Self::AlreadyJoined => "alreadyJoined",
            Self::NotJoined => "notJoined",
            Self::InvalidQuery => "invalidQuery",
            Self::PayloadTooLarge => "payloadTooLarge",
            Self::RateLimited => "rateLimited",
            Self::ResyncRequired => "resyncRequired",
            Self::TooManyConnections => "tooManyConnections",
            Self::ForeignOrigin => "foreignOrigin",
            Self::NotFound => "notFound",
            Self::MethodNotAllowed => "methodNotAllowed",
            Self::RequestTimeout => "requestTimeout",
            Self::ServerBusy => "serverBusy",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error, on every transport: `{"code": "…", "message": "…"}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorView {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorView {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A decoded client frame: the command and its optional `ref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFrame {
    pub command: ClientCommand,
    pub reference: Option<String>,
}

/// Why a text frame could not be decoded; carries the `ref` when it could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    pub error: ErrorView,
    pub reference: Option<String>,
}

impl ClientFrame {
    pub fn new(command: ClientCommand, reference: Option<String>) -> Self {
        Self { command, reference }
    }

    /// Decodes one text frame, telling a malformed frame, an unknown event and a bad payload apart.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        let malformed = |detail: String| FrameError {
            error: ErrorView::new(ErrorCode::MalformedFrame, detail),
            reference: None,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| malformed(format!("frame is not JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(malformed("frame must be a JSON object".into()));
        };
        let reference = match map.remove("ref") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) if r.len() <= MAX_REF_LEN => Some(r),
            Some(_) => {
                return Err(malformed(format!(
                    "`ref` must be a string of at most {MAX_REF_LEN} bytes"
                )));
            }
        };
        let fail = |code, message: String| FrameError {
            error: ErrorView::new(code, message),
            reference: reference.clone(),
        };
        let event = match map.get("event") {
            Some(Value::String(event)) => event.clone(),
            _ => {
                return Err(fail(
                    ErrorCode::MalformedFrame,
                    "frame needs a string `event`".into(),
                ));
            }
        };
        if !ClientCommand::EVENTS.contains(&event.as_str()) {
            return Err(fail(
                ErrorCode::UnknownEvent,
                format!(
                    "unknown event {event:?}; expected one of {}",
                    ClientCommand::EVENTS.join(", ")
                ),
            ));
        }
        if let Some(extra) = map.keys().find(|k| *k != "event" && *k != "data") {
            return Err(fail(
                ErrorCode::InvalidPayload,
                format!("unexpected frame field {extra:?}"),
            ));
        }
        let command = ClientCommand::from_parts(&event, map.remove("data"))
            .map_err(|message| fail(ErrorCode::InvalidPayload, message))?;
        Ok(Self { command, reference })
    }

    /// Encodes the frame as the JSON text a server accepts.
    pub fn encode(&self) -> String {
        encode_with_ref(&self.command, self.reference.as_deref())
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

/// A server frame: the event and the `ref` of the command it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFrame {
    pub event: ServerEvent,
    pub reference: Option<String>,
}

impl ServerFrame {
    pub fn broadcast(event: ServerEvent) -> Self {
        Self {
            event,
            reference: None,
        }
    }

    pub fn reply(event: ServerEvent, reference: Option<String>) -> Self {
        Self { event, reference }
    }

    pub fn encode(&self) -> String {
        encode_with_ref(&self.event, self.reference.as_deref())
    }

    /// Decodes a frame sent by a natter server.
    pub fn decode(text: &str) -> Result<Self, String> {
        let mut value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let reference = match value.as_object_mut().and_then(|m| m.remove("ref")) {
            Some(Value::String(r)) => Some(r),
            _ => None,
        };
        let event = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(Self { event, reference })
    }
}

/// The longest `ref` a client may attach, in bytes.
pub const MAX_REF_LEN: usize = 128;

fn encode_with_ref<T: Serialize>(body: &T, reference: Option<&str>) -> String {
    let mut value = serde_json::to_value(body).unwrap_or(Value::Null);
    if let (Some(map), Some(reference)) = (value.as_object_mut(), reference) {
        map.insert("ref".into(), Value::String(reference.to_owned()));
    }
    value.to_string()
}

/// `POST /api/auth/register` and `POST /api/auth/login`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// The answer to a successful register or login.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    /// Bearer token (JWT) for API and socket clients; browsers also get it as a session cookie.
    pub token: String,
    pub user: UserView,
}

/// `POST /api/conversations`: the other member by id (the seed's `user2_id`) or by name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user2_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// `POST /api/conversations/{id}/messages`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostMessageRequest {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A page of history, oldest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    /// Whether older messages exist before the first one in this page.
    pub has_more: bool,
}

/// `POST /api/conversations/{id}/read`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    /// The highest `seq` the caller has read.
    pub seq: i64,
}

/// `GET /healthz`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_send_message_frame_decodes_with_its_ref() {
        let frame = ClientFrame::decode(
            r#"{"event":"sendMessage","data":{"convId":1,"message":{"message":"Hello!"},"userId":456},"ref":"r1"}"#,
        )
        .unwrap();
        assert_eq!(frame.reference.as_deref(), Some("r1"));
        assert_eq!(
            frame.command,
            ClientCommand::SendMessage {
                conv_id: ConversationId(1),
                message: NewMessage {
                    message: "Hello!".into()
                },
                client_id: None,
                user_id: Some(UserId(456)),
            }
        );
    }

    #[test]
    fn the_seed_create_conversation_dto_keeps_its_snake_case_field() {
        let frame = ClientFrame::decode(
            r#"{"event":"createConversation","data":{"createConvDto":{"user2_id":123},"userId":456}}"#,
        )
        .unwrap();
        let ClientCommand::CreateConversation {
            create_conv_dto, ..
        } = frame.command
        else {
            panic!("wrong command");
        };
        assert_eq!(create_conv_dto.unwrap().user2_id, Some(UserId(123)));
    }

    #[test]
    fn ping_has_an_empty_object_for_data_both_ways() {
        let frame = ClientFrame::decode(r#"{"event":"ping","ref":"p"}"#).unwrap();
        assert_eq!(frame.command, ClientCommand::Ping {});
        let pong = ServerFrame::reply(ServerEvent::Pong {}, frame.reference).encode();
        assert_eq!(
            serde_json::from_str::<Value>(&pong).unwrap(),
            serde_json::json!({"event":"pong","data":{},"ref":"p"})
        );
    }

    #[test]
    fn bad_frames_are_told_apart_by_code() {
        let code = |text: &str| ClientFrame::decode(text).unwrap_err().error.code;
        assert_eq!(code("not json"), ErrorCode::MalformedFrame);
        assert_eq!(code("[1,2]"), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"data":{}}"#), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"event":"fly"}"#), ErrorCode::UnknownEvent);
        assert_eq!(
            code(r#"{"event":"joinConversation","data":{}}"#),
            ErrorCode::InvalidPayload
        );
        assert_eq!(
            code(r#"{"event":"joinConversation","data":{"convId":"one"}}"#),
            ErrorCode::InvalidPayload
        );
        assert_eq!(
            code(r#"{"event":"joinConversation","data":{"convId":1,"extra":true}}"#),
            ErrorCode::InvalidPayload
        );
    }

    #[test]
    fn an_error_keeps_the_ref_of_the_frame_it_answers() {
        let err = ClientFrame::decode(r#"{"event":"fly","ref":"abc"}"#).unwrap_err();
        assert_eq!(err.reference.as_deref(), Some("abc"));
    }

    #[test]
    fn server_frames_round_trip_with_and_without_ref() {
        let event = ServerEvent::JoinedConversation {
            conv_id: ConversationId(7),
            room: ConversationId(7).room(),
        };
        let text = ServerFrame::reply(event.clone(), Some("x".into())).encode();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            serde_json::json!({"event":"joinedConversation","data":{"convId":7,"room":"conversation_7"},"ref":"x"})
        );
        let back = ServerFrame::decode(&text).unwrap();
        assert_eq!(back.event, event);
        assert_eq!(back.reference.as_deref(), Some("x"));
        assert!(!ServerFrame::broadcast(event).encode().contains("ref"));
    }

    #[test]
    fn docs_protocol_lists_every_event_and_error_code() {
        let doc = include_str!("../docs/PROTOCOL.md");
        for event in ClientCommand::EVENTS {
            assert!(
                doc.contains(&format!("`{event}`")),
                "docs/PROTOCOL.md lacks command {event}"
            );
        }
        for code in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("`{code}`")),
                "docs/PROTOCOL.md lacks error code {code}"
            );
        }
        for event in [
            "conversationCreated",
            "newMessage",
            "messageSent",
            "joinedConversation",
            "leftConversation",
            "resumed",
            "conversationRead",
            "pong",
            "error",
        ] {
            assert!(
                doc.contains(&format!("`{event}`")),
                "docs/PROTOCOL.md lacks event {event}"
            );
        }
    }

    #[test]
    fn error_codes_serialize_as_their_wire_names() {
        for &code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                Value::String(code.as_str().into())
            );
        }
    }
}
