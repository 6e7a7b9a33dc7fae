//! Every error a client can receive: a stable code, the HTTP status it implies, and what a
//! client should make of it (`ends_session`, `is_transient`).

use serde::{Deserialize, Serialize};

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
    /// The database is out of reach; nothing was changed (or, for a send with a `clientId`,
    /// a retry with the same id is stored once).
    StorageUnavailable,
    /// Only a group's admins may do this (rename, add, remove, make admins).
    NotAdmin,
    /// The conversation is one-to-one: it has no title, admins or member changes.
    NotGroup,
    /// A group's title must be 1 to 100 characters after trimming, without control characters.
    InvalidTitle,
    /// A group may not have more members than the server allows.
    TooManyMembers,
    /// The user is already a member of the group.
    AlreadyMember,
    /// The user is not a member of the group.
    MemberNotFound,
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
        Self::StorageUnavailable,
        Self::NotAdmin,
        Self::NotGroup,
        Self::InvalidTitle,
        Self::TooManyMembers,
        Self::AlreadyMember,
        Self::MemberNotFound,
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
            Self::NotMember | Self::NotAdmin | Self::SpoofedUser | Self::ForeignOrigin => 403,
            Self::UserNotFound
            | Self::ConversationNotFound
            | Self::MemberNotFound
            | Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestTimeout => 408,
            Self::UsernameTaken
            | Self::ClientIdReused
            | Self::AlreadyJoined
            | Self::NotJoined
            | Self::NotGroup
            | Self::AlreadyMember
            | Self::ResyncRequired => 409,
            Self::MessageTooLong | Self::PayloadTooLarge => 413,
            Self::InvalidUsername
            | Self::InvalidPassword
            | Self::CannotMessageSelf
            | Self::EmptyMessage
            | Self::InvalidMessage
            | Self::InvalidClientId
            | Self::InvalidTitle
            | Self::TooManyMembers
            | Self::InvalidPayload => 422,
            Self::InvalidQuery | Self::MalformedFrame | Self::UnknownEvent | Self::BinaryFrame => {
                400
            }
            Self::RateLimited | Self::TooManyConnections => 429,
            Self::Internal => 500,
            Self::ServerBusy | Self::StorageUnavailable => 503,
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
            | Self::StorageUnavailable
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
            | Self::MethodNotAllowed
            | Self::NotAdmin
            | Self::NotGroup
            | Self::InvalidTitle
            | Self::TooManyMembers
            | Self::AlreadyMember
            | Self::MemberNotFound => false,
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
            Self::StorageUnavailable => "storageUnavailable",
            Self::NotAdmin => "notAdmin",
            Self::NotGroup => "notGroup",
            Self::InvalidTitle => "invalidTitle",
            Self::TooManyMembers => "tooManyMembers",
            Self::AlreadyMember => "alreadyMember",
            Self::MemberNotFound => "memberNotFound",
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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
