//! The rules both sides apply, once: the browser checks them as the person types and words its
//! hints from these constants; the chat core enforces them for every transport. Pure functions
//! over text, so they compile to WASM too.

use std::borrow::Cow;

/// Usernames: this many characters at least…
pub const USERNAME_MIN_CHARS: usize = 3;
/// …and at most (also the longest user search).
pub const USERNAME_MAX_CHARS: usize = 32;
/// Passwords, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;
/// The longest message by default, in characters after trimming (the server's
/// `--max-message-chars` may say otherwise; the UI learns the server's value at sign-in).
pub const DEFAULT_MESSAGE_MAX_CHARS: usize = 4000;
/// A client message id: 1 to this many of `[A-Za-z0-9_:.-]` (a UUID fits).
pub const CLIENT_ID_MAX_LEN: usize = 64;
/// History pages: the size when none is asked for, and the largest one may ask for.
pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;
/// How long a `typing: true` holds without a renewal; clients renew well within it and clear
/// a member's indicator when it passes.
pub const TYPING_HOLDS: std::time::Duration = std::time::Duration::from_secs(6);
/// How often a member's `typing: true` is forwarded at most (renewals in between are ignored).
pub const TYPING_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How long a user stays online for others after their last connection closed (a reload or a
/// flaky network does not flap).
pub const OFFLINE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// A group's title: 1 to this many characters after trimming, no control character.
pub const GROUP_TITLE_MAX_CHARS: usize = 100;
/// The most members a group may have by default, its creator included (the server's
/// `--max-group-members` may say otherwise).
pub const DEFAULT_MAX_GROUP_MEMBERS: usize = 1000;

/// A group title as it will be stored (trimmed), or `None` when it is empty, longer than
/// [`GROUP_TITLE_MAX_CHARS`] or holds a control character.
pub fn check_title(raw: &str) -> Option<&str> {
    let title = raw.trim();
    let len = title.chars().count();
    ((1..=GROUP_TITLE_MAX_CHARS).contains(&len) && !title.chars().any(char::is_control))
        .then_some(title)
}

/// Why a username is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsernameRule {
    Length,
    Characters,
    FirstCharacter,
}

impl std::fmt::Display for UsernameRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Length => write!(
                f,
                "use {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} characters"
            ),
            Self::Characters => f.write_str("use only letters, digits, '_', '-' and '.'"),
            Self::FirstCharacter => f.write_str("start with a letter or a digit"),
        }
    }
}

/// The username as it will be stored (trimmed), or the rule it breaks: 3 to 32 ASCII letters,
/// digits, `_`, `-` or `.`, starting with a letter or digit.
pub fn check_username(raw: &str) -> Result<&str, UsernameRule> {
    let name = raw.trim();
    if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&name.chars().count()) {
        return Err(UsernameRule::Length);
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(UsernameRule::Characters);
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(UsernameRule::FirstCharacter);
    }
    Ok(name)
}

/// Why a password is refused. The length rules are checked here (and by the UI); the others
/// need the server (a strength estimate it does not ship to browsers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordRule {
    TooShort,
    TooLong,
    SameAsUsername,
    TooGuessable,
}

impl std::fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort => write!(f, "use at least {PASSWORD_MIN_CHARS} characters"),
            Self::TooLong => write!(f, "use at most {PASSWORD_MAX_CHARS} characters"),
            Self::SameAsUsername => f.write_str("do not use your username as your password"),
            Self::TooGuessable => f.write_str(
                "this password is too common or too easy to guess; try three or four unrelated words",
            ),
        }
    }
}

/// Whether a password's length is within the rules.
pub fn check_password_length(raw: &str) -> Result<(), PasswordRule> {
    let len = raw.chars().count();
    if len < PASSWORD_MIN_CHARS {
        Err(PasswordRule::TooShort)
    } else if len > PASSWORD_MAX_CHARS {
        Err(PasswordRule::TooLong)
    } else {
        Ok(())
    }
}

/// Why a message cannot be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageRule {
    Empty,
    TooLong {
        len: usize,
        max: usize,
    },
    /// A control character other than line break and tab (NUL, escape codes…).
    ControlCharacter,
}

/// The text of a message as it is stored — `\r\n` made `\n`, then trimmed — or the rule it
/// breaks. Lengths count characters (Unicode scalar values).
pub fn check_message(raw: &str, max_chars: usize) -> Result<Cow<'_, str>, MessageRule> {
    let text: Cow<'_, str> = if raw.contains('\r') {
        Cow::Owned(raw.replace("\r\n", "\n").trim().to_owned())
    } else {
        Cow::Borrowed(raw.trim())
    };
    if text.is_empty() {
        return Err(MessageRule::Empty);
    }
    let len = text.chars().count();
    if len > max_chars {
        return Err(MessageRule::TooLong {
            len,
            max: max_chars,
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(MessageRule::ControlCharacter);
    }
    Ok(text)
}

/// The length a message will be counted at.
pub fn message_chars(raw: &str) -> usize {
    match check_message(raw, usize::MAX) {
        Ok(text) => text.chars().count(),
        Err(MessageRule::TooLong { len, .. }) => len,
        Err(MessageRule::Empty) => 0,
        Err(MessageRule::ControlCharacter) => raw.trim().chars().count(),
    }
}

/// Whether `raw` is a well-formed client message id.
pub fn is_client_id(raw: &str) -> bool {
    (1..=CLIENT_ID_MAX_LEN).contains(&raw.len())
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_naming_rules() {
        assert_eq!(check_username("  Alice_1 "), Ok("Alice_1"));
        assert_eq!(check_username("ab"), Err(UsernameRule::Length));
        assert_eq!(check_username(&"x".repeat(33)), Err(UsernameRule::Length));
        assert_eq!(check_username("a b c"), Err(UsernameRule::Characters));
        assert_eq!(check_username("bob<script>"), Err(UsernameRule::Characters));
        assert_eq!(check_username("_alice"), Err(UsernameRule::FirstCharacter));
        assert_eq!(UsernameRule::Length.to_string(), "use 3 to 32 characters");
    }

    #[test]
    fn passwords_need_eight_to_128_characters() {
        assert_eq!(check_password_length("short"), Err(PasswordRule::TooShort));
        assert_eq!(check_password_length("long enough"), Ok(()));
        assert_eq!(
            check_password_length(&"p".repeat(129)),
            Err(PasswordRule::TooLong)
        );
        assert_eq!(
            PasswordRule::TooShort.to_string(),
            "use at least 8 characters"
        );
    }

    #[test]
    fn messages_are_trimmed_counted_in_characters_and_free_of_control_characters() {
        assert_eq!(check_message("  hi \n", 10).unwrap(), "hi");
        assert_eq!(check_message(" \n\t ", 10), Err(MessageRule::Empty));
        assert!(check_message(&"é".repeat(10), 10).is_ok());
        assert_eq!(
            check_message(&"é".repeat(11), 10),
            Err(MessageRule::TooLong { len: 11, max: 10 })
        );
        assert_eq!(check_message("a\r\nb\tc", 10).unwrap(), "a\nb\tc");
        for bad in ["a\0b", "\u{1b}[31mred", "a\rb", "x\u{7f}", "a\u{85}b"] {
            assert_eq!(
                check_message(bad, 100),
                Err(MessageRule::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(message_chars("  ab  "), 2);
    }

    #[test]
    fn client_ids_accept_uuids_and_refuse_junk() {
        assert!(is_client_id("6f1c3a52-8f7e-4c55-b0e2-0c8d9f1f2a11"));
        for bad in ["", "has space", "<x>", &"a".repeat(65)] {
            assert!(!is_client_id(bad), "{bad:?}");
        }
    }
}
