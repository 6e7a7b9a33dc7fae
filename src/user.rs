//! Users: validated names and passwords, and the user an authenticated request acts as.

use crate::clock::UnixMillis;
use crate::error::ChatError;
use crate::protocol::limits;
use crate::protocol::{UserId, UserView};

/// A username that passed the naming rules (`protocol::limits::check_username`): 3 to 32
/// characters, ASCII letters, digits, `_`, `-` or `.`, starting with a letter or digit. Unique
/// without regard to case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, ChatError> {
        limits::check_username(raw)
            .map(|name| Self(name.to_owned()))
            .map_err(ChatError::InvalidUsername)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that uniqueness and look-ups use.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl std::fmt::Display for UserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password of an allowed length (`protocol::limits`). Never logged, never stored in clear;
/// the rest of the policy (not the username, not guessable) is `auth::check_strength`.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ChatError> {
        limits::check_password_length(raw).map_err(ChatError::InvalidPassword)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id,
            username: user.username.clone(),
        }
    }
}

/// The user a request or connection acts as, established by authentication — never by a
/// payload field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthUser {
    pub user: User,
    /// The session behind the credential, so that logout can end exactly this one.
    pub session_id: String,
    /// When the credential stops being valid.
    pub expires_at: UnixMillis,
}

impl AuthUser {
    pub fn id(&self) -> UserId {
        self.user.id
    }

    /// Rejects a payload that names a different user than the authenticated one.
    pub fn check_claim(&self, claimed: Option<UserId>) -> Result<(), ChatError> {
        match claimed {
            Some(claimed) if claimed != self.user.id => {
                Err(ChatError::SpoofedUser { claimed: claimed.0 })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_keyed_without_case() {
        assert_eq!(UserName::parse("  Alice_1 ").unwrap().as_str(), "Alice_1");
        assert_eq!(UserName::parse("Alice").unwrap().key(), "alice");
        assert!(matches!(
            UserName::parse("ab"),
            Err(ChatError::InvalidUsername(limits::UsernameRule::Length))
        ));
        assert!(Password::parse("short").is_err());
    }
}
