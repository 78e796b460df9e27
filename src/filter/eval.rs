//! Evaluating parsed clauses against a resource: the [`Subject`] trait a
//! resource implements, the [`AttrValue`]s it hands out, and SQL's
//! three-valued logic (any comparison involving NULL is unknown, and an
//! unknown clause does not match).

use std::cmp::Ordering;

use super::ast::{Clause, Left, Right, Test};
use super::value::{Scalar, compare, normalize_uuid};

/// What a resource exposes to the evaluator.
pub trait Subject {
    /// A plain attribute (`Slug`, `DisplayName`, `SpaceID`, `HeadRevisionNum`,
    /// `CreatedAt`, `ApprovedBy`, ...). `AttrValue::Null` when unset/unknown.
    fn attribute(&self, name: &str) -> AttrValue;
    /// An entry of a map attribute: `map` is `Labels`, `Annotations` or
    /// `ApplyGates`; `Null` when the key is absent.
    fn map_entry(&self, map: &str, key: &str) -> AttrValue;
}

/// A value a [`Subject`] reports.
///
/// Strings carry UUIDs and RFC 3339 times too; an empty string is not `Null`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// Unset or unknown (SQL NULL).
    Null,
    /// Text: strings, UUIDs, times, map entries.
    Str(String),
    /// An integer, such as a revision number.
    Int(i64),
    /// A boolean, such as an apply gate.
    Bool(bool),
    /// A list of strings, such as the UUIDs in `ApprovedBy`.
    List(Vec<String>),
}

impl Clause {
    /// The clause's value for `subject`: `Some(true)` when it holds,
    /// `Some(false)` when it does not, `None` when SQL would say unknown.
    /// A trailing truth test always yields `Some`.
    pub(crate) fn evaluate(&self, subject: &dyn Subject) -> Option<bool> {
        let result = self.test_value(subject);
        match self.truth {
            Some(truth) => Some(truth.apply(result)),
            None => result,
        }
    }

    fn test_value(&self, subject: &dyn Subject) -> Option<bool> {
        let value = fetch(&self.left, subject);
        match &self.test {
            Test::IsNull { negated } => Some((value == AttrValue::Null) != *negated),
            Test::Contains { value: wanted } => match &value {
                AttrValue::List(items) => Some(items.iter().any(|item| {
                    normalize_uuid(item).unwrap_or_else(|| item.to_lowercase()) == *wanted
                })),
                _ => None,
            },
            Test::Compare { op, right } => {
                let left = Scalar::from_attr(&value, self.left.kind()?)?;
                let ordering = match right {
                    Right::Value(scalar) => compare(&left, scalar)?,
                    Right::Attribute { name, kind } => {
                        let other = Scalar::from_attr(&subject.attribute(name), *kind)?;
                        compare(&left, &other)?
                    }
                };
                Some(op.holds(ordering))
            }
            Test::In { values, negated } => {
                let left = Scalar::from_attr(&value, self.left.kind()?)?;
                let found = values
                    .iter()
                    .any(|v| compare(&left, v) == Some(Ordering::Equal));
                Some(found != *negated)
            }
            Test::Like { pattern, negated } => {
                let left = Scalar::from_attr(&value, self.left.kind()?)?;
                Some(pattern.is_match(left.text()?) != *negated)
            }
            Test::Regex { regex, negated } => {
                let left = Scalar::from_attr(&value, self.left.kind()?)?;
                Some(regex.is_match(left.text()?) != *negated)
            }
        }
    }
}

/// The raw value of the left operand. `LEN` of an unset list is 0.
fn fetch(left: &Left, subject: &dyn Subject) -> AttrValue {
    match left {
        Left::Attribute { name, .. } | Left::List { name } => subject.attribute(name),
        Left::MapEntry { map, key, .. } => subject.map_entry(map, key),
        Left::Len { name } => match subject.attribute(name) {
            AttrValue::List(items) => {
                AttrValue::Int(i64::try_from(items.len()).unwrap_or(i64::MAX))
            }
            AttrValue::Null => AttrValue::Int(0),
            _ => AttrValue::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::ast::{CompareOp, TruthTest};
    use crate::filter::testing::TestSubject;
    use crate::filter::value::ScalarKind;

    fn slug_eq(value: &str, truth: Option<TruthTest>) -> Clause {
        Clause {
            left: Left::Attribute {
                name: "Slug".into(),
                kind: ScalarKind::Str,
            },
            test: Test::Compare {
                op: CompareOp::Eq,
                right: Right::Value(Scalar::Str(value.into())),
            },
            truth,
        }
    }

    #[test]
    fn null_makes_a_comparison_unknown() {
        let empty = TestSubject::default();
        assert_eq!(slug_eq("a", None).evaluate(&empty), None);
        assert_eq!(
            slug_eq("a", Some(TruthTest::NotTrue)).evaluate(&empty),
            Some(true)
        );
        assert_eq!(
            slug_eq("a", Some(TruthTest::False)).evaluate(&empty),
            Some(false)
        );
        let web = TestSubject::default().string("Slug", "web");
        assert_eq!(slug_eq("web", None).evaluate(&web), Some(true));
        assert_eq!(
            slug_eq("api", Some(TruthTest::False)).evaluate(&web),
            Some(true)
        );
    }

    #[test]
    fn len_of_an_unset_list_is_zero() {
        let left = Left::Len {
            name: "ApprovedBy".into(),
        };
        assert_eq!(fetch(&left, &TestSubject::default()), AttrValue::Int(0));
        let approved = TestSubject::default().list("ApprovedBy", &["a", "b"]);
        assert_eq!(fetch(&left, &approved), AttrValue::Int(2));
        let wrong = TestSubject::default().string("ApprovedBy", "x");
        assert_eq!(fetch(&left, &wrong), AttrValue::Null);
    }

    #[test]
    fn contains_on_a_non_list_is_unknown() {
        let clause = Clause {
            left: Left::List {
                name: "ApprovedBy".into(),
            },
            test: Test::Contains { value: "x".into() },
            truth: None,
        };
        assert_eq!(clause.evaluate(&TestSubject::default()), None);
        let listed = TestSubject::default().list("ApprovedBy", &["X"]);
        assert_eq!(clause.evaluate(&listed), Some(true));
    }
}
