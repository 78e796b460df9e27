//! The lossless JSON form of column values shared by every engine (see
//! [`kind`](super::kind) for the table): bytes as base64, decimals as
//! their exact text, dates and times normalised through jiff.

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
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if ok || matches!(t, "NaN" | "Infinity" | "-Infinity") {
        Ok(Value::String(t.to_string()))
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
}
