//! The composer's rules for a draft: the text that would be sent (trimmed, like the server
//! trims it) and why it cannot be sent yet. Lengths count characters (Unicode scalar values),
//! as the server does, so the composer never accepts what the server would refuse.

/// Why a draft cannot be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftProblem {
    Empty,
    TooLong { len: usize, max: usize },
}

impl std::fmt::Display for DraftProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("Write something first."),
            Self::TooLong { len, max } => write!(
                f,
                "Too long to send: {len} characters, the limit is {max}. Remove {} to send it.",
                len - max
            ),
        }
    }
}

/// The length the server will count.
pub fn length(text: &str) -> usize {
    text.trim().chars().count()
}

/// The text to send, or why not.
pub fn check(text: &str, max: usize) -> Result<&str, DraftProblem> {
    let body = text.trim();
    let len = body.chars().count();
    if len == 0 {
        Err(DraftProblem::Empty)
    } else if len > max {
        Err(DraftProblem::TooLong { len, max })
    } else {
        Ok(body)
    }
}

/// Whether to show the character count: once the draft is within a tenth of the limit.
pub fn near_limit(len: usize, max: usize) -> bool {
    len.saturating_mul(10) >= max.saturating_mul(9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_trimmed_and_counted_in_characters() {
        assert_eq!(check("  hi\n", 10), Ok("hi"));
        assert_eq!(check(" \n\t", 10), Err(DraftProblem::Empty));
        assert_eq!(check(&"é".repeat(10), 10), Ok("éééééééééé"));
        assert_eq!(
            check(&"é".repeat(11), 10),
            Err(DraftProblem::TooLong { len: 11, max: 10 })
        );
        assert_eq!(length("  ab  "), 2);
    }

    #[test]
    fn the_reason_for_a_long_draft_says_how_much_to_remove() {
        let reason = DraftProblem::TooLong {
            len: 4010,
            max: 4000,
        }
        .to_string();
        assert!(reason.contains("4010") && reason.contains("4000") && reason.contains("Remove 10"));
    }

    #[test]
    fn the_count_appears_near_the_limit() {
        assert!(!near_limit(3599, 4000));
        assert!(near_limit(3600, 4000));
        assert!(near_limit(5000, 4000));
    }
}
