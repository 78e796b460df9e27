//! Wall-clock time as RFC 3339 UTC strings (`YYYY-MM-DDTHH:MM:SSZ`), and the
//! few durations pkg computes (token expiry), on top of `jiff`.

use jiff::{SignedDuration, Timestamp};

/// Seconds since the Unix epoch now.
pub fn unix_now() -> i64 {
    Timestamp::now().as_second()
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    format_rfc3339(unix_now())
}

/// The current time as `YYYY-MM-DDTHH:MM:SS.sssZ` (milliseconds: what
/// durations are computed from).
pub fn now_rfc3339_ms() -> String {
    Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC). Seconds outside
/// the range jiff supports (years -9999 to 9999) are clamped to it.
pub fn format_rfc3339(secs: i64) -> String {
    let clamped = secs.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    let ts = Timestamp::from_second(clamped).unwrap_or(Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses an RFC 3339 timestamp into Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    text.parse::<Timestamp>().ok().map(|t| t.as_second())
}

/// The time `days` days from now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn days_from_now(days: u32) -> String {
    let later = Timestamp::now()
        .checked_add(SignedDuration::from_hours(i64::from(days) * 24))
        .unwrap_or(Timestamp::MAX);
    format_rfc3339(later.as_second())
}

/// The time a package records as `created_at`: `SOURCE_DATE_EPOCH` when it is
/// set to an integer, else now.
pub fn source_date_rfc3339() -> String {
    match std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(secs) => format_rfc3339(secs),
        None => now_rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn milliseconds_parse_back() {
        let now = now_rfc3339_ms();
        assert_eq!(now.len(), "2026-12-02T15:00:00.000Z".len(), "{now}");
        assert!(now.parse::<Timestamp>().is_ok(), "{now}");
    }

    #[test]
    fn parses_and_adds_days() {
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_rfc3339("not a time"), None);
        let in_two_days = parse_rfc3339(&days_from_now(2)).unwrap_or(0);
        assert!((in_two_days - unix_now() - 2 * 86_400).abs() < 5);
    }
}
