//! Durations as users write them in flags (`90s`, `5m`, `1h30m`, `2 hours`),
//! parsed by jiff's friendly format.

use std::time::Duration;

/// Parses `text` as a positive duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let span: jiff::SignedDuration = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a duration such as 30s, 5m or 1h30m: {e}"))?;
    if span.is_negative() || span.is_zero() {
        return Err(format!("`{text}` must be a positive duration"));
    }
    Duration::try_from(span).map_err(|e| format!("`{text}`: {e}"))
}

/// Parses `text` as an RFC 3339 time (`2026-12-02T15:00:00Z`), in
/// milliseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let ts: jiff::Timestamp = text.trim().parse().map_err(|e| {
        format!("`{text}` is not an RFC 3339 time such as 2026-12-02T15:00:00Z: {e}")
    })?;
    Ok(ts.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(
            parse_duration("2 hours").unwrap(),
            Duration::from_secs(7200)
        );
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T01:00:01+01:00").unwrap(), 1000);
        assert!(parse_time("tomorrow").is_err());
        assert!(parse_time("2026-13-01T00:00:00Z").is_err());
    }
}
