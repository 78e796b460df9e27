//! The lossless JSON form of column values shared by every engine (see
//! [`kind`](super::kind) for the table): bytes as base64, decimals as
//! their exact text, dates and times normalised through jiff. The `*_into`
//! forms write the same JSON text straight into a buffer; for text already
//! in the normal form (what PostgreSQL prints) they skip jiff, and give
//! the same bytes.

use base64::Engine as _;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use serde_json::Value;

/// Binary data as standard base64.
pub fn bytes(data: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(data))
}

/// A float: a number, or `"NaN"` / `"Infinity"` / `"-Infinity"`.
pub fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or_else(
        || {
            Value::String(
                if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                }
                .into(),
            )
        },
        Value::Number,
    )
}

/// An exact decimal's text, checked.
pub fn decimal(text: &str) -> Result<Value, String> {
    checked_decimal(text).map(|t| Value::String(t.to_string()))
}

/// [`decimal`]'s JSON text, written into `out`.
pub fn decimal_into(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let t = checked_decimal(text)?;
    // Digits, a sign and a dot, or NaN / Infinity: nothing to escape.
    out.push(b'"');
    out.extend_from_slice(t.as_bytes());
    out.push(b'"');
    Ok(())
}

/// `text` trimmed, when it is an exact decimal.
fn checked_decimal(text: &str) -> Result<&str, String> {
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if ok || matches!(t, "NaN" | "Infinity" | "-Infinity") {
        Ok(t)
    } else {
        Err(format!("`{t}` is not a decimal number"))
    }
}

/// A date and time without a zone, as `YYYY-MM-DDTHH:MM:SS[.f]`.
pub fn timestamp(text: &str) -> Result<Value, String> {
    let dt: DateTime = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a date and time: {e}"))?;
    Ok(Value::String(
        dt.strftime("%Y-%m-%dT%H:%M:%S%.f").to_string(),
    ))
}

/// An instant as RFC 3339 in UTC; text without an offset is taken as UTC.
pub fn timestamptz(text: &str) -> Result<Value, String> {
    let t = text.trim();
    let instant = match t.parse::<Timestamp>() {
        Ok(instant) => instant,
        Err(_) => {
            let dt: DateTime = t
                .parse()
                .map_err(|e| format!("`{text}` is not an instant: {e}"))?;
            jiff::tz::Offset::UTC
                .to_timestamp(dt)
                .map_err(|e| format!("`{text}`: {e}"))?
        }
    };
    Ok(Value::String(
        instant.strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
    ))
}

/// A date as `YYYY-MM-DD`.
pub fn date(text: &str) -> Result<Value, String> {
    let d: Date = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a date: {e}"))?;
    Ok(Value::String(d.strftime("%Y-%m-%d").to_string()))
}

/// A time of day as `HH:MM:SS[.f]`.
pub fn time(text: &str) -> Result<Value, String> {
    let t: Time = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a time of day: {e}"))?;
    Ok(Value::String(t.strftime("%H:%M:%S%.f").to_string()))
}

/// [`timestamp`]'s JSON text, written into `out`.
pub fn timestamp_into(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let b = text.as_bytes();
    if b.len() >= 19 && b[10] == b' ' && civil_date(&b[..10]) && civil_time(&b[11..]) {
        quoted_datetime(b, out, b"");
        return Ok(());
    }
    write_value(&timestamp(text)?, out);
    Ok(())
}

/// [`timestamptz`]'s JSON text, written into `out`: PostgreSQL's text in
/// UTC (`… +00`) is already normal.
pub fn timestamptz_into(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let b = text.as_bytes();
    // jiff's instants end late on 9999-12-30 (UTC): that year goes
    // through jiff, which refuses what it cannot hold.
    if let Some(local) = b.strip_suffix(b"+00")
        && local.len() >= 19
        && !local.starts_with(b"9999")
        && local[10] == b' '
        && civil_date(&local[..10])
        && civil_time(&local[11..])
    {
        quoted_datetime(local, out, b"Z");
        return Ok(());
    }
    write_value(&timestamptz(text)?, out);
    Ok(())
}

/// [`date`]'s JSON text, written into `out`.
pub fn date_into(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if civil_date(text.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    write_value(&date(text)?, out);
    Ok(())
}

/// [`time`]'s JSON text, written into `out`.
pub fn time_into(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if civil_time(text.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    write_value(&time(text)?, out);
    Ok(())
}

/// `value`'s JSON text, written into `out`.
fn write_value(value: &Value, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and a Value always serializes.
    let _ = serde_json::to_writer(out, value);
}

/// `"YYYY-MM-DDTHH:MM:SS[.f]<zone>"` from `YYYY-MM-DD HH:MM:SS[.f]`.
fn quoted_datetime(b: &[u8], out: &mut Vec<u8>, zone: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(&b[..10]);
    out.push(b'T');
    out.extend_from_slice(&b[11..]);
    out.extend_from_slice(zone);
    out.push(b'"');
}

/// The number `b` spells in ASCII digits (at most 4 of them).
fn number(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// Whether `b` is `YYYY-MM-DD` naming a real day of the years 1 to 9999:
/// the form jiff prints such a date in.
fn civil_date(b: &[u8]) -> bool {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) =
        (number(&b[..4]), number(&b[5..7]), number(&b[8..10]))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// Whether `b` is `HH:MM:SS[.f]` with at most 9 fraction digits, the last
/// not 0: the form jiff prints such a time in.
fn civil_time(b: &[u8]) -> bool {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) =
        (number(&b[..2]), number(&b[3..5]), number(&b[6..8]))
    else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    match &b[8..] {
        [] => true,
        [b'.', fraction @ ..] => {
            (1..=9).contains(&fraction.len())
                && fraction.iter().all(u8::is_ascii_digit)
                && fraction.last() != Some(&b'0')
        }
        _ => false,
    }
}

/// A JSON document's text, checked to be JSON.
pub fn json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| format!("the value is not JSON: {e}"))?;
    Ok(Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_exact_form() {
        assert_eq!(bytes(&[0, 255]), "AP8=");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(1.5), 1.5);
        assert_eq!(decimal("12.50").unwrap(), "12.50");
        assert_eq!(decimal("-0.001").unwrap(), "-0.001");
        assert!(decimal("1e5").is_err() && decimal("abc").is_err() && decimal(".").is_err());
        assert_eq!(
            timestamp("2026-11-01 10:00:00").unwrap(),
            "2026-11-01T10:00:00"
        );
        assert_eq!(
            timestamp("2026-11-01T10:00:00.250").unwrap(),
            "2026-11-01T10:00:00.25"
        );
        assert_eq!(
            timestamptz("2026-11-01 12:00:00+02:00").unwrap(),
            "2026-11-01T10:00:00Z"
        );
        assert_eq!(
            timestamptz("2026-11-01 10:00:00").unwrap(),
            "2026-11-01T10:00:00Z"
        );
        assert_eq!(date("2026-02-28").unwrap(), "2026-02-28");
        assert!(date("2026-02-30").is_err());
        assert_eq!(time("10:00:05").unwrap(), "10:00:05");
        assert_eq!(json("{\"a\": null}").unwrap(), "{\"a\": null}");
        assert!(json("{nope").is_err());
    }

    /// The `*_into` forms give exactly the JSON text of the `Value` forms,
    /// over many generated texts, odd ones too.
    #[test]
    fn fast_forms_write_the_same_bytes() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let same = |fast: Result<(), String>, out: Vec<u8>, slow: Result<Value, String>| match (
            fast, slow,
        ) {
            (Ok(()), Ok(v)) => assert_eq!(out, serde_json::to_vec(&v).unwrap()),
            (Err(_), Err(_)) => {}
            (f, s) => panic!("{f:?} / {s:?} ({})", String::from_utf8_lossy(&out)),
        };
        let mut texts = vec![
            "0001-01-01 00:00:00".to_string(),
            "0000-01-01 00:00:00".into(),
            "9999-12-31 23:59:59.999999999".into(),
            "2024-02-29 12:00:00.5".into(),
            "2023-02-29 12:00:00".into(),
            "2026-11-01 24:00:00".into(),
            "2026-11-01 10:00:60".into(),
            "2026-11-01 10:00:00.".into(),
            "2026-11-01 10:00:00.1234567890".into(),
            "2026-11-01T10:00:00".into(),
            "10000-01-01 00:00:00".into(),
            "0044-03-15 12:00:00 BC".into(),
            "infinity".into(),
            "".into(),
        ];
        for _ in 0..20_000 {
            let fraction: String = (0..next(11))
                .map(|_| char::from(b'0' + next(10) as u8))
                .collect();
            texts.push(format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}{}",
                next(10_000),
                next(14),
                next(33),
                next(26),
                next(62),
                next(62),
                if fraction.is_empty() && next(2) == 0 {
                    ""
                } else {
                    "."
                },
                fraction
            ));
        }
        for text in &texts {
            let mut out = Vec::new();
            same(timestamp_into(text, &mut out), out, timestamp(text));
            let with_zone = format!("{text}+00");
            let mut out = Vec::new();
            same(
                timestamptz_into(&with_zone, &mut out),
                out,
                timestamptz(&with_zone),
            );
            let day = text.get(..10).unwrap_or(text);
            let mut out = Vec::new();
            same(date_into(day, &mut out), out, date(day));
            let clock = text.get(11..).unwrap_or(text);
            let mut out = Vec::new();
            same(time_into(clock, &mut out), out, time(clock));
        }
        for text in ["12.50", "-0.001", "+3", "NaN", " 7 ", "1e5", "", "."] {
            let mut out = Vec::new();
            same(decimal_into(text, &mut out), out, decimal(text));
        }
    }
}
