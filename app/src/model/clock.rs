//! Time as the person reads it: message times, day headings and the sidebar's short stamps,
//! in the browser's time zone. The server renders with no zone and no "today" (UTC, absolute
//! dates); the browser then sets both, and every label updates. Also the one-line previews of
//! message text for the sidebar.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

/// The reader's zone and date; `today` is unknown while rendering on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub offset: UtcOffset,
    pub today: Option<Date>,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            offset: UtcOffset::UTC,
            today: None,
        }
    }
}

impl Clock {
    /// The clock of a reader `offset_minutes` east of UTC, at `now`.
    pub fn at(now: OffsetDateTime, offset_minutes: i32) -> Self {
        let offset = UtcOffset::from_whole_seconds(offset_minutes.saturating_mul(60))
            .unwrap_or(UtcOffset::UTC);
        Self {
            offset,
            today: Some(now.to_offset(offset).date()),
        }
    }

    pub fn local_date(&self, at: OffsetDateTime) -> Date {
        at.to_offset(self.offset).date()
    }

    /// "14:05".
    pub fn time_of_day(&self, at: OffsetDateTime) -> String {
        let local = at.to_offset(self.offset);
        format!("{:02}:{:02}", local.hour(), local.minute())
    }

    /// "3 March 2024, 14:05": the full stamp for tooltips.
    pub fn full(&self, at: OffsetDateTime) -> String {
        let date = self.local_date(at);
        format!(
            "{} {} {}, {}",
            date.day(),
            month_name(date.month()),
            date.year(),
            self.time_of_day(at)
        )
    }

    /// The heading above a day's messages: "Today", "Yesterday", "Monday 3 March" within the
    /// year, else "3 March 2023".
    pub fn day_heading(&self, date: Date) -> String {
        match self.days_ago(date) {
            Some(0) => "Today".to_owned(),
            Some(1) => "Yesterday".to_owned(),
            Some(_) if self.today.is_some_and(|t| t.year() == date.year()) => format!(
                "{} {} {}",
                weekday_name(date.weekday()),
                date.day(),
                month_name(date.month())
            ),
            _ => format!(
                "{} {} {}",
                date.day(),
                month_name(date.month()),
                date.year()
            ),
        }
    }

    /// The sidebar's stamp: "14:05" today, "Yesterday", "Mon" within a week, else "3 Mar"
    /// ("3 Mar 2023" in another year).
    pub fn stamp(&self, at: OffsetDateTime) -> String {
        let date = self.local_date(at);
        match self.days_ago(date) {
            Some(0) => self.time_of_day(at),
            Some(1) => "Yesterday".to_owned(),
            Some(2..=6) => weekday_name(date.weekday())[..3].to_owned(),
            _ if self.today.is_some_and(|t| t.year() == date.year()) => {
                format!("{} {}", date.day(), &month_name(date.month())[..3])
            }
            _ => format!(
                "{} {} {}",
                date.day(),
                &month_name(date.month())[..3],
                date.year()
            ),
        }
    }

    fn days_ago(&self, date: Date) -> Option<i64> {
        let today = self.today?;
        let days = (today - date).whole_days();
        (days >= 0).then_some(days)
    }
}

fn month_name(month: Month) -> &'static str {
    match month {
        Month::January => "January",
        Month::February => "February",
        Month::March => "March",
        Month::April => "April",
        Month::May => "May",
        Month::June => "June",
        Month::July => "July",
        Month::August => "August",
        Month::September => "September",
        Month::October => "October",
        Month::November => "November",
        Month::December => "December",
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// The machine-readable stamp for `<time datetime>`.
pub fn iso(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A message as one line of at most `max_chars` characters: runs of whitespace (newlines
/// included) become one space, and a cut ends with "…".
pub fn preview(text: &str, max_chars: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max_chars {
        return line;
    }
    let cut: String = line.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_shown_in_the_readers_zone() {
        let clock = Clock::at(datetime!(2024-03-05 12:00 UTC), 120);
        assert_eq!(clock.time_of_day(datetime!(2024-03-05 23:30 UTC)), "01:30");
        assert_eq!(
            clock.full(datetime!(2024-03-05 23:30 UTC)),
            "6 March 2024, 01:30"
        );
        let server = Clock::default();
        assert_eq!(server.time_of_day(datetime!(2024-03-05 23:30 UTC)), "23:30");
    }

    #[test]
    fn day_headings_are_relative_only_once_today_is_known() {
        let clock = Clock::at(datetime!(2024-03-05 12:00 UTC), 0);
        let heading = |d| clock.day_heading(d);
        assert_eq!(heading(time::macros::date!(2024 - 03 - 05)), "Today");
        assert_eq!(heading(time::macros::date!(2024 - 03 - 04)), "Yesterday");
        assert_eq!(
            heading(time::macros::date!(2024 - 02 - 26)),
            "Monday 26 February"
        );
        assert_eq!(
            heading(time::macros::date!(2023 - 12 - 31)),
            "31 December 2023"
        );
        assert_eq!(
            Clock::default().day_heading(time::macros::date!(2024 - 03 - 05)),
            "5 March 2024"
        );
    }

    #[test]
    fn sidebar_stamps_shorten_with_age() {
        let clock = Clock::at(datetime!(2024-03-05 12:00 UTC), 0);
        assert_eq!(clock.stamp(datetime!(2024-03-05 09:07 UTC)), "09:07");
        assert_eq!(clock.stamp(datetime!(2024-03-04 09:07 UTC)), "Yesterday");
        assert_eq!(clock.stamp(datetime!(2024-03-01 09:07 UTC)), "Fri");
        assert_eq!(clock.stamp(datetime!(2024-01-20 09:07 UTC)), "20 Jan");
        assert_eq!(clock.stamp(datetime!(2023-01-20 09:07 UTC)), "20 Jan 2023");
    }

    #[test]
    fn previews_are_one_line_and_cut_with_an_ellipsis() {
        assert_eq!(preview("hello\n\n  there", 40), "hello there");
        assert_eq!(preview("abcdefghij", 5), "abcd…");
        assert_eq!(preview("abcde", 5), "abcde");
        assert_eq!(preview("<img src=x>", 40), "<img src=x>");
    }
}
