//! The one domain error. Every transport maps it exhaustively to its own shape (HTTP status,
//! `error` frame, server-fn error); the wire code and human message come from here.

use crate::protocol::limits::{PasswordRule, UsernameRule};
use crate::protocol::{ConversationId, ErrorCode, ErrorView, UserId};

/// Everything the chat core can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("sign in first: no session cookie or bearer token was presented")]
    Unauthenticated,
    #[error("the token is not valid; sign in again")]
    InvalidToken,
    #[error("the session has expired; sign in again")]
    TokenExpired,
    #[error("signed out: this session has ended")]
    SessionEnded,
    #[error("this connection fell behind; reconnect and resume")]
    FellBehind,
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("invalid username: {0}")]
    InvalidUsername(UsernameRule),
    #[error("invalid password: {0}")]
    InvalidPassword(PasswordRule),
    #[error("the username {0:?} is taken")]
    UsernameTaken(String),
    #[error("no user {0}")]
    UserNotFound(String),
    #[error("a conversation needs another member; you cannot start one with yourself")]
    CannotMessageSelf,
    #[error("conversation {0} does not exist")]
    ConversationNotFound(ConversationId),
    #[error("you are not a member of conversation {0}")]
    NotMember(ConversationId),
    #[error("userId {claimed} does not match the signed-in user")]
    SpoofedUser { claimed: i64 },
    #[error("a message cannot be empty")]
    EmptyMessage,
    #[error("a message can have at most {max} characters (this one has {len})")]
    MessageTooLong { max: usize, len: usize },
    #[error("a message cannot contain {0}")]
    InvalidMessage(&'static str),
    #[error("clientId must be 1 to 64 letters, digits, '-', '_', ':' or '.'")]
    InvalidClientId,
    #[error("clientId {0:?} was already used for a different message")]
    ClientIdReused(String),
    #[error("already joined conversation {0}")]
    AlreadyJoined(ConversationId),
    #[error("not joined to conversation {0}")]
    NotJoined(ConversationId),
    #[error("only an admin of group {0} may do this")]
    NotAdmin(ConversationId),
    #[error("conversation {0} is one-to-one: it has no title, admins or member changes")]
    NotGroup(ConversationId),
    #[error(
        "a group's title must be 1 to {max} characters after trimming, without control characters"
    )]
    InvalidTitle { max: usize },
    #[error("a group may have at most {max} members")]
    TooManyMembers { max: usize },
    #[error("user {user} is already a member of conversation {conversation}")]
    AlreadyMember {
        conversation: ConversationId,
        user: UserId,
    },
    #[error("user {user} is not a member of conversation {conversation}")]
    MemberNotFound {
        conversation: ConversationId,
        user: UserId,
    },
    #[error("{0}")]
    InvalidPayload(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("too many attempts; try again in {} s", retry_after_ms.div_ceil(1000))]
    RateLimited { retry_after_ms: u64 },
    #[error("too many commands waiting ({max}); wait for answers before sending more")]
    TooManyWaiting { max: usize },
    #[error("you already have {max} connections open; close one first")]
    TooManyConnections { max: usize },
    #[error("the server is busy; try again in {} s", retry_after_ms.div_ceil(1000))]
    ServerBusy { retry_after_ms: u64 },
    #[error("this page's origin may not act on natter with your session")]
    ForeignOrigin,
    #[error("the request body is over the limit of {max_bytes} bytes")]
    PayloadTooLarge { max_bytes: usize },
    #[error("no such API route")]
    RouteNotFound,
    #[error("Web Push is off on this server (its operator turns it on with --web-push)")]
    PushDisabled,
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("the request took too long")]
    RequestTimeout,
    #[error("storage failure")]
    Storage(#[source] sqlx::Error),
    #[error("the database is not answering; try again shortly")]
    StorageUnavailable,
    /// A failure of the server's own (signing, hashing, start-up): `context` says what was
    /// being done, `source` why it failed; neither reaches a client.
    #[error("internal error")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ChatError {
    /// The stable wire code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::SessionEnded => ErrorCode::InvalidToken,
            Self::FellBehind => ErrorCode::ResyncRequired,
            Self::WrongCredentials => ErrorCode::WrongCredentials,
            Self::InvalidUsername(_) => ErrorCode::InvalidUsername,
            Self::InvalidPassword(_) => ErrorCode::InvalidPassword,
            Self::UsernameTaken(_) => ErrorCode::UsernameTaken,
            Self::UserNotFound(_) => ErrorCode::UserNotFound,
            Self::CannotMessageSelf => ErrorCode::CannotMessageSelf,
            Self::ConversationNotFound(_) => ErrorCode::ConversationNotFound,
            Self::NotMember(_) => ErrorCode::NotMember,
            Self::SpoofedUser { .. } => ErrorCode::SpoofedUser,
            Self::EmptyMessage => ErrorCode::EmptyMessage,
            Self::MessageTooLong { .. } => ErrorCode::MessageTooLong,
            Self::InvalidMessage(_) => ErrorCode::InvalidMessage,
            Self::InvalidClientId => ErrorCode::InvalidClientId,
            Self::ClientIdReused(_) => ErrorCode::ClientIdReused,
            Self::AlreadyJoined(_) => ErrorCode::AlreadyJoined,
            Self::NotJoined(_) => ErrorCode::NotJoined,
            Self::NotAdmin(_) => ErrorCode::NotAdmin,
            Self::NotGroup(_) => ErrorCode::NotGroup,
            Self::InvalidTitle { .. } => ErrorCode::InvalidTitle,
            Self::TooManyMembers { .. } => ErrorCode::TooManyMembers,
            Self::AlreadyMember { .. } => ErrorCode::AlreadyMember,
            Self::MemberNotFound { .. } => ErrorCode::MemberNotFound,
            Self::InvalidPayload(_) => ErrorCode::InvalidPayload,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::TooManyWaiting { .. } => ErrorCode::RateLimited,
            Self::TooManyConnections { .. } => ErrorCode::TooManyConnections,
            Self::ServerBusy { .. } => ErrorCode::ServerBusy,
            Self::ForeignOrigin => ErrorCode::ForeignOrigin,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::RouteNotFound | Self::PushDisabled => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::RequestTimeout => ErrorCode::RequestTimeout,
            Self::StorageUnavailable => ErrorCode::StorageUnavailable,
            Self::Storage(_) | Self::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// True for failures of the server rather than of the request: logged, never detailed to clients.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Storage(_) | Self::Internal { .. })
    }

    /// A failure of the server's own while doing `context`, keeping its cause.
    pub fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }

    /// How long the caller should wait before trying again, for the refusals that say.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_ms } | Self::ServerBusy { retry_after_ms } => {
                Some(*retry_after_ms)
            }
            _ => None,
        }
    }
}

impl From<&ChatError> for ErrorView {
    /// The Display text only: a source error (SQL, I/O) never reaches a client.
    fn from(error: &ChatError) -> Self {
        ErrorView::new(error.code(), error.to_string())
    }
}

impl From<sqlx::Error> for ChatError {
    /// A database out of reach (no connection within the pool's wait, a broken connection) is
    /// `storageUnavailable`, which clients retry; anything else is a failure of the server.
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(%error, "database unavailable");
                Self::StorageUnavailable
            }
            error => Self::Storage(error),
        }
    }
}
