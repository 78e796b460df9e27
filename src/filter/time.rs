//! Reading RFC 3339 timestamps (and plain dates) into an instant, so that
//! `CreatedAt > '2026-11-01'` compares moments rather than spellings.

/// Parses `2026-11-01`, `2026-11-01T12:30:00Z`, `2026-11-01 12:30:00.5+02:00`
/// and the like into nanoseconds since the Unix epoch (UTC). A date alone is
/// midnight UTC, as is a time without a zone. `None` when `text` is not such
/// a timestamp.
pub(crate) fn parse_instant(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut nanos, mut offset) = (0, 0, 0, 0, 0);
    let mut pos = 10;
    if pos < b.len() {
        if !matches!(b.get(pos), Some(b'T' | b't' | b' ')) {
            return None;
        }
        hour = digits(b, pos + 1, 2)?;
        expect(b, pos + 3, b':')?;
        minute = digits(b, pos + 4, 2)?;
        pos += 6;
        if b.get(pos) == Some(&b':') {
            second = digits(b, pos + 1, 2)?;
            pos += 3;
            if b.get(pos) == Some(&b'.') {
                pos += 1;
                let start = pos;
                while b.get(pos).is_some_and(u8::is_ascii_digit) {
                    pos += 1;
                }
                nanos = fraction(b.get(start..pos)?)?;
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        match b.get(pos) {
            None => {}
            Some(b'Z' | b'z') => pos += 1,
            Some(&sign @ (b'+' | b'-')) => {
                let zone_hours = digits(b, pos + 1, 2)?;
                pos += 3;
                let mut zone_minutes = 0;
                if b.get(pos) == Some(&b':') {
                    zone_minutes = digits(b, pos + 1, 2)?;
                    pos += 3;
                } else if let Some(m) = digits(b, pos, 2) {
                    zone_minutes = m;
                    pos += 2;
                }
                if zone_hours > 23 || zone_minutes > 59 {
                    return None;
                }
                offset = zone_hours * 3600 + zone_minutes * 60;
                if sign == b'-' {
                    offset = -offset;
                }
            }
            Some(_) => return None,
        }
        if pos != b.len() {
            return None;
        }
    }
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
}

/// Exactly `count` ASCII digits at `at`, as a number.
fn digits(b: &[u8], at: usize, count: usize) -> Option<i64> {
    let run = b.get(at..at.checked_add(count)?)?;
    run.iter().try_fold(0_i64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

/// `Some(())` when byte `at` is `want`.
fn expect(b: &[u8], at: usize, want: u8) -> Option<()> {
    (b.get(at) == Some(&want)).then_some(())
}

/// A run of fraction digits as nanoseconds; digits past the ninth are ignored.
fn fraction(run: &[u8]) -> Option<i64> {
    if run.is_empty() {
        return None;
    }
    let mut nanos = 0;
    for i in 0..9 {
        nanos = nanos * 10 + run.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    Some(nanos)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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
