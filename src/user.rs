//! Users: validated names and passwords, and the user an authenticated request acts as.

use crate::error::ChatError;
use crate::protocol::{UserId, UserView};

/// A username that passed the naming rules: 3 to 32 characters, ASCII letters, digits, `_`, `-`
/// or `.`, starting with a letter or digit. Unique without regard to case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, ChatError> {
        let name = raw.trim();
        if name.len() < Self::MIN_CHARS || name.len() > Self::MAX_CHARS {
            return Err(ChatError::InvalidUsername("use 3 to 32 characters"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(ChatError::InvalidUsername(
                "use only letters, digits, '_', '-' and '.'",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(ChatError::InvalidUsername("start with a letter or a digit"));
        }
        Ok(Self(name.to_owned()))
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

/// A password that passed the rules: 8 to 128 characters. Never logged, never stored in clear.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ChatError> {
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            return Err(ChatError::InvalidPassword("use at least 8 characters"));
        }
        if len > Self::MAX_CHARS {
            return Err(ChatError::InvalidPassword("use at most 128 characters"));
        }
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
    /// When the credential stops being valid (Unix seconds).
    pub expires_at: i64,
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
    fn usernames_follow_the_naming_rules() {
        assert_eq!(UserName::parse("  Alice_1 ").unwrap().as_str(), "Alice_1");
        assert_eq!(UserName::parse("Alice").unwrap().key(), "alice");
        for bad in [
            "ab",
            "",
            "a b c",
            "_alice",
            "x".repeat(33).as_str(),
            "bob<script>",
        ] {
            assert!(
                matches!(UserName::parse(bad), Err(ChatError::InvalidUsername(_))),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn passwords_need_eight_to_128_characters() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"p".repeat(129)).is_err());
    }
}
