//! Identifiers and positions: users, conversations, messages, and a message's place (`Seq`)
//! in its conversation. All are plain integers on the wire.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
id_type!(
    /// A message's position in its conversation: 1, 2, 3… without gaps, assigned at commit.
    /// `Seq(0)` stands before the first message ("has nothing yet", "read nothing yet").
    Seq
);

impl Seq {
    /// Before the first message.
    pub const ZERO: Self = Self(0);

    /// The position after this one.
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }

    /// How many positions come after `earlier` up to this one (0 if none).
    pub fn since(self, earlier: Self) -> i64 {
        (self.0 - earlier.0).max(0)
    }
}

id_type!(
    /// A place in one user's personal feed (conversations started with them, read marks of
    /// their conversations, their sessions ending): 1, 2, 3… without gaps.
    FeedPos
);

impl FeedPos {
    /// Before the first event.
    pub const ZERO: Self = Self(0);

    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}
