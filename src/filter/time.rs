//! Reading RFC 3339 timestamps (and plain dates) into an instant, so that
//! `CreatedAt > '2026-11-01'` compares moments rather than spellings. The
//! calendar is jiff's.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// Parses `2026-11-01`, `2026-11-01T12:30:00Z`, `2026-11-01 12:30:00.5+02:00`
/// and the like into nanoseconds since the Unix epoch (UTC). A date alone is
/// midnight UTC, as is a time without a zone. `None` when `text` is not such
/// a timestamp.
pub(crate) fn parse_instant(text: &str) -> Option<i128> {
    // A date, then (optionally) a time of at least HH:MM.
    let b = text.as_bytes();
    let dated = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !dated || (b.len() > 10 && (b.len() < 16 || b[13] != b':')) {
        return None;
    }
    // RFC 3339 allows any number of fraction digits; nanoseconds keep nine.
    let trimmed;
    let text = match text.get(19..).filter(|_| b.get(19) == Some(&b'.')) {
        Some(rest) => {
            let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
            if digits > 9 {
                trimmed = format!("{}{}", &text[..29], &rest[1 + digits..]);
                trimmed.as_str()
            } else {
                text
            }
        }
        None => text,
    };
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Some(instant.as_nanosecond());
    }
    let civil: DateTime = text.parse().ok()?;
    Offset::UTC
        .to_timestamp(civil)
        .ok()
        .map(|t| t.as_nanosecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i128 = 1_000_000_000;

    #[test]
    fn parses_the_epoch_and_dates() {
        assert_eq!(parse_instant("1970-01-01"), Some(0));
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("1970-01-02"), Some(86_400 * SECOND));
        assert_eq!(
            parse_instant("2026-11-01"),
            parse_instant("2026-11-01T00:00:00Z")
        );
        assert_eq!(parse_instant("2000-03-01"), Some(951_868_800 * SECOND));
        assert_eq!(parse_instant("1969-12-31"), Some(-86_400 * SECOND));
    }

    #[test]
    fn applies_zones_and_fractions() {
        assert_eq!(
            parse_instant("2026-11-01T12:00:00+02:00"),
            parse_instant("2026-11-01T10:00:00Z")
        );
        assert_eq!(
            parse_instant("2026-11-01 10:00:00-0130"),
            parse_instant("2026-11-01T11:30:00z")
        );
        assert_eq!(
            parse_instant("2026-11-01T10:00:00+00"),
            parse_instant("2026-11-01T10:00:00Z")
        );
        assert_eq!(
            parse_instant("1970-01-01T00:00:01.5Z"),
            Some(SECOND + SECOND / 2)
        );
        assert_eq!(
            parse_instant("1970-01-01T00:00:00.1234567891Z"),
            Some(123_456_789)
        );
        assert_eq!(parse_instant("1970-01-01T00:01"), Some(60 * SECOND));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-30",
            "2026-11-01T",
            "2026-11-01T25:00:00Z",
            "2026-11-01T10:00:00.Z",
            "2026-11-01T10:00:00Zjunk",
            "2026-11-01X10:00",
            "２０２６-11-01",
            "2026-11-01T10:00:00+",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
        assert!(parse_instant("2024-02-29").is_some());
        assert!(parse_instant("2100-02-29").is_none());
    }
}
