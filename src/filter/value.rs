//! Typed scalar values: what literals and resource attributes become before
//! they are compared, and how two of them compare (bytes for strings,
//! numbers for integers, instants for times, normalised text for UUIDs).

use std::cmp::Ordering;
use std::fmt;

use super::ast::Literal;
use super::attributes::AttrType;
use super::eval::AttrValue;
use super::time::parse_instant;

/// The type of a single comparable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarKind {
    Str,
    Int,
    Uuid,
    Time,
    Bool,
}

impl ScalarKind {
    /// The scalar kind of an attribute type; `None` for maps and lists.
    pub(crate) fn of(ty: AttrType) -> Option<ScalarKind> {
        match ty {
            AttrType::String => Some(ScalarKind::Str),
            AttrType::Int => Some(ScalarKind::Int),
            AttrType::Uuid => Some(ScalarKind::Uuid),
            AttrType::Time => Some(ScalarKind::Time),
            AttrType::Bool => Some(ScalarKind::Bool),
            AttrType::Map | AttrType::BoolMap | AttrType::UuidList => None,
        }
    }
}

impl fmt::Display for ScalarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScalarKind::Str => "a string",
            ScalarKind::Int => "an integer",
            ScalarKind::Uuid => "a UUID",
            ScalarKind::Time => "a time",
            ScalarKind::Bool => "a boolean",
        })
    }
}

/// A time as written, with the instant it names when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeValue {
    raw: String,
    instant: Option<i128>,
}

impl TimeValue {
    fn new(raw: &str) -> Self {
        TimeValue {
            raw: raw.to_owned(),
            instant: parse_instant(raw),
        }
    }
}

/// A typed value ready to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    Bool(bool),
    /// Lower-case hex without hyphens when the text was a UUID; else the text lower-cased.
    Uuid(String),
    Time(TimeValue),
}

impl Scalar {
    /// Types a literal for an operand of `kind`; `operand` names it in the
    /// error message.
    pub(crate) fn from_literal(
        literal: &Literal,
        kind: ScalarKind,
        operand: &str,
    ) -> Result<Scalar, String> {
        let found = match literal {
            Literal::Str(s) => format!("'{s}'"),
            Literal::Int(i) => i.to_string(),
            Literal::Bool(b) => b.to_string(),
        };
        match (kind, literal) {
            (ScalarKind::Str, Literal::Str(s)) => Ok(Scalar::Str(s.clone())),
            (ScalarKind::Str, _) => Err(format!(
                "{operand} is a string; expected a quoted string such as '{}', found {found}",
                found.trim_matches('\'')
            )),
            (ScalarKind::Int, Literal::Int(i)) => Ok(Scalar::Int(*i)),
            (ScalarKind::Int, Literal::Str(s)) => s
                .parse()
                .map(Scalar::Int)
                .map_err(|_| format!("{operand} is an integer; expected a number, found {found}")),
            (ScalarKind::Int, Literal::Bool(_)) => Err(format!(
                "{operand} is an integer; expected a number, found {found}"
            )),
            (ScalarKind::Uuid, Literal::Str(s)) => normalize_uuid(s)
                .map(Scalar::Uuid)
                .ok_or_else(|| format!("{operand} is a UUID; {found} is not a valid UUID")),
            (ScalarKind::Uuid, _) => Err(format!(
                "{operand} is a UUID; expected a quoted UUID, found {found}"
            )),
            (ScalarKind::Time, Literal::Str(s)) => {
                let time = TimeValue::new(s);
                if time.instant.is_some() {
                    Ok(Scalar::Time(time))
                } else {
                    Err(format!(
                        "{operand} is a time; {found} is not an RFC 3339 time such as \
                         '2026-11-01T12:00:00Z' or a date such as '2026-11-01'"
                    ))
                }
            }
            (ScalarKind::Time, _) => Err(format!(
                "{operand} is a time; expected a quoted time such as '2026-11-01', found {found}"
            )),
            (ScalarKind::Bool, Literal::Bool(b)) => Ok(Scalar::Bool(*b)),
            (ScalarKind::Bool, Literal::Str(s)) if s.eq_ignore_ascii_case("true") => {
                Ok(Scalar::Bool(true))
            }
            (ScalarKind::Bool, Literal::Str(s)) if s.eq_ignore_ascii_case("false") => {
                Ok(Scalar::Bool(false))
            }
            (ScalarKind::Bool, _) => Err(format!(
                "{operand} is a boolean; expected true or false, found {found}"
            )),
        }
    }

    /// Types a value a resource reported for an operand of `kind`. `None`
    /// for `Null` and for values that cannot be read as `kind` (a list where a
    /// string was expected, text that is not a number, ...).
    pub(crate) fn from_attr(value: &AttrValue, kind: ScalarKind) -> Option<Scalar> {
        match (kind, value) {
            (_, AttrValue::Null | AttrValue::List(_)) => None,
            (ScalarKind::Str, AttrValue::Str(s)) => Some(Scalar::Str(s.clone())),
            (ScalarKind::Str, AttrValue::Int(i)) => Some(Scalar::Str(i.to_string())),
            (ScalarKind::Str, AttrValue::Bool(b)) => Some(Scalar::Str(b.to_string())),
            (ScalarKind::Int, AttrValue::Int(i)) => Some(Scalar::Int(*i)),
            (ScalarKind::Int, AttrValue::Str(s)) => s.trim().parse().ok().map(Scalar::Int),
            (ScalarKind::Uuid, AttrValue::Str(s)) => Some(Scalar::Uuid(
                normalize_uuid(s).unwrap_or_else(|| s.to_lowercase()),
            )),
            (ScalarKind::Time, AttrValue::Str(s)) => Some(Scalar::Time(TimeValue::new(s))),
            (ScalarKind::Bool, AttrValue::Bool(b)) => Some(Scalar::Bool(*b)),
            (ScalarKind::Bool, AttrValue::Str(s)) if s.eq_ignore_ascii_case("true") => {
                Some(Scalar::Bool(true))
            }
            (ScalarKind::Bool, AttrValue::Str(s)) if s.eq_ignore_ascii_case("false") => {
                Some(Scalar::Bool(false))
            }
            _ => None,
        }
    }

    /// The text `LIKE` and regular expressions look at: strings and times as written.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            Scalar::Time(t) => Some(&t.raw),
            _ => None,
        }
    }
}

/// How `left` compares with `right`; `None` when they are of different kinds.
///
/// Strings compare by bytes, integers and booleans by value, times by the
/// instant they name (by text when either could not be read), UUIDs by
/// their normalised text.
pub(crate) fn compare(left: &Scalar, right: &Scalar) -> Option<Ordering> {
    match (left, right) {
        (Scalar::Str(a), Scalar::Str(b)) | (Scalar::Uuid(a), Scalar::Uuid(b)) => {
            Some(a.as_bytes().cmp(b.as_bytes()))
        }
        (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(b)),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
        (Scalar::Time(a), Scalar::Time(b)) => Some(match (a.instant, b.instant) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.raw.as_bytes().cmp(b.raw.as_bytes()),
        }),
        _ => None,
    }
}

/// A UUID as 32 lower-case hex digits, from the canonical
/// `8-4-4-4-12` form (any case, optionally in braces) or 32 bare hex digits.
pub(crate) fn normalize_uuid(text: &str) -> Option<String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let bytes = inner.as_bytes();
    let hex: Vec<u8> = match bytes.len() {
        32 => bytes.to_vec(),
        36 if [8, 13, 18, 23].iter().all(|&i| bytes.get(i) == Some(&b'-')) => bytes
            .iter()
            .enumerate()
            .filter(|(i, _)| ![8, 13, 18, 23].contains(i))
            .map(|(_, b)| *b)
            .collect(),
        _ => return None,
    };
    hex.iter().all(u8::is_ascii_hexdigit).then(|| {
        hex.iter()
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0b5f6a3e-8c1d-4f2a-9e3b-7d6c5b4a3f21";

    #[test]
    fn uuids_normalise() {
        let canonical = normalize_uuid(UUID);
        assert_eq!(
            canonical.as_deref(),
            Some("0b5f6a3e8c1d4f2a9e3b7d6c5b4a3f21")
        );
        assert_eq!(normalize_uuid(&UUID.to_uppercase()), canonical);
        assert_eq!(normalize_uuid(&format!("{{{UUID}}}")), canonical);
        assert_eq!(
            normalize_uuid("0b5f6a3e8c1d4f2a9e3b7d6c5b4a3f21"),
            canonical
        );
        assert_eq!(normalize_uuid("0b5f6a3e-8c1d-4f2a-9e3b-7d6c5b4a3f2g"), None);
        assert_eq!(normalize_uuid("0b5f6a3e8-c1d-4f2a-9e3b-7d6c5b4a3f21"), None);
        assert_eq!(normalize_uuid(""), None);
        assert_eq!(normalize_uuid("éééééééééééééééééé"), None);
    }

    #[test]
    fn literals_are_typed() {
        let s = |v: &str| Literal::Str(v.to_owned());
        assert_eq!(
            Scalar::from_literal(&s("a"), ScalarKind::Str, "`Slug`"),
            Ok(Scalar::Str("a".into()))
        );
        assert!(Scalar::from_literal(&Literal::Int(5), ScalarKind::Str, "`Slug`").is_err());
        assert_eq!(
            Scalar::from_literal(&s("42"), ScalarKind::Int, "`N`"),
            Ok(Scalar::Int(42))
        );
        assert!(Scalar::from_literal(&s("4x"), ScalarKind::Int, "`N`").is_err());
        assert!(Scalar::from_literal(&s("nope"), ScalarKind::Uuid, "`ID`").is_err());
        assert!(Scalar::from_literal(&s("2026-11-01"), ScalarKind::Time, "`T`").is_ok());
        assert!(Scalar::from_literal(&s("yesterday"), ScalarKind::Time, "`T`").is_err());
        assert_eq!(
            Scalar::from_literal(&s("TRUE"), ScalarKind::Bool, "`B`"),
            Ok(Scalar::Bool(true))
        );
        assert!(Scalar::from_literal(&Literal::Int(1), ScalarKind::Bool, "`B`").is_err());
    }

    #[test]
    fn attribute_values_are_typed() {
        assert_eq!(Scalar::from_attr(&AttrValue::Null, ScalarKind::Str), None);
        assert_eq!(
            Scalar::from_attr(&AttrValue::Str("7".into()), ScalarKind::Int),
            Some(Scalar::Int(7))
        );
        assert_eq!(
            Scalar::from_attr(&AttrValue::List(vec![]), ScalarKind::Str),
            None
        );
        assert_eq!(
            Scalar::from_attr(&AttrValue::Str(UUID.to_uppercase()), ScalarKind::Uuid),
            Scalar::from_literal(&Literal::Str(UUID.into()), ScalarKind::Uuid, "").ok()
        );
    }

    #[test]
    fn comparisons() {
        let t = |v: &str| Scalar::Time(TimeValue::new(v));
        assert_eq!(
            compare(&Scalar::Str("B".into()), &Scalar::Str("a".into())),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare(&Scalar::Int(-3), &Scalar::Int(2)),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&Scalar::Int(1), &Scalar::Str("1".into())), None);
        assert_eq!(
            compare(&t("2026-11-01"), &t("2026-11-01T00:00:00Z")),
            Some(Ordering::Equal)
        );
        assert_eq!(
            compare(&t("2026-11-01T10:00:00+02:00"), &t("2026-11-01T09:00:00Z")),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare(&t("not a time"), &t("2026-11-01")),
            Some(Ordering::Greater)
        );
    }
}
