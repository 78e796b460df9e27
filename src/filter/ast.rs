//! The parsed form of a where expression: clauses, their operands, the test
//! each applies and the optional truth test. Built by the parser, read by the
//! evaluator; every name in it has been checked against the kind's allow-list
//! and every literal typed.

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;

use super::like::LikePattern;
use super::value::{Scalar, ScalarKind};

/// An operator as the user wrote it (`~~` and `LIKE` are the same operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// `LIKE` or `~~`.
    Like,
    /// `NOT LIKE` or `!~~`.
    NotLike,
    /// `ILIKE` or `~~*`.
    ILike,
    /// `NOT ILIKE` or `!~~*`.
    NotILike,
    /// `~`.
    Match,
    /// `~*`.
    IMatch,
    /// `!~`.
    NotMatch,
    /// `!~*`.
    NotIMatch,
    In,
    NotIn,
    IsNull,
    IsNotNull,
    /// `?`: the list contains the value.
    Contains,
}

impl Operator {
    /// `<`, `>`, `<=` or `>=`.
    pub(crate) fn is_ordering(self) -> bool {
        matches!(
            self,
            Operator::Lt | Operator::Gt | Operator::Le | Operator::Ge
        )
    }

    /// A `LIKE` or regular-expression operator, in any spelling.
    pub(crate) fn is_pattern(self) -> bool {
        matches!(
            self,
            Operator::Like
                | Operator::NotLike
                | Operator::ILike
                | Operator::NotILike
                | Operator::Match
                | Operator::IMatch
                | Operator::NotMatch
                | Operator::NotIMatch
        )
    }
}

/// A literal as written: string, integer or boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// The left operand of a clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Left {
    /// A plain attribute with a single value.
    Attribute { name: String, kind: ScalarKind },
    /// A list attribute (`ApprovedBy`), used with `?` and `IS [NOT] NULL`.
    List { name: String },
    /// `Labels.<key>`, `Annotations.<key>` (strings) or
    /// `ApplyGates.<slug>/<function>` (booleans).
    MapEntry {
        map: String,
        key: String,
        kind: ScalarKind,
    },
    /// `LEN(<list attribute>)`.
    Len { name: String },
}

impl Left {
    /// The kind of value the operand yields; `None` for a whole list.
    pub(crate) fn kind(&self) -> Option<ScalarKind> {
        match self {
            Left::Attribute { kind, .. } | Left::MapEntry { kind, .. } => Some(*kind),
            Left::List { .. } => None,
            Left::Len { .. } => Some(ScalarKind::Int),
        }
    }
}

impl fmt::Display for Left {
    /// The operand as written, in backticks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Left::Attribute { name, .. } | Left::List { name } => write!(f, "`{name}`"),
            Left::MapEntry { map, key, .. } => write!(f, "`{map}.{key}`"),
            Left::Len { name } => write!(f, "`LEN({name})`"),
        }
    }
}

/// An ordering comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CompareOp {
    /// Whether the comparison holds when the left side is `ordering` the right.
    pub(crate) fn holds(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Eq => ordering.is_eq(),
            CompareOp::Ne => ordering.is_ne(),
            CompareOp::Lt => ordering.is_lt(),
            CompareOp::Gt => ordering.is_gt(),
            CompareOp::Le => ordering.is_le(),
            CompareOp::Ge => ordering.is_ge(),
        }
    }
}

/// The right operand of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Right {
    /// A typed literal.
    Value(Scalar),
    /// Another attribute of the same resource, of the same kind.
    Attribute { name: String, kind: ScalarKind },
}

/// What a clause checks about its left operand.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Compare {
        op: CompareOp,
        right: Right,
    },
    In {
        values: Vec<Scalar>,
        negated: bool,
    },
    Like {
        pattern: LikePattern,
        negated: bool,
    },
    Regex {
        regex: Regex,
        negated: bool,
    },
    /// `?`: the list holds this UUID (normalised).
    Contains {
        value: String,
    },
    IsNull {
        negated: bool,
    },
}

/// A trailing `IS [NOT] TRUE|FALSE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TruthTest {
    /// `IS TRUE`.
    True,
    /// `IS FALSE`.
    False,
    /// `IS NOT TRUE`.
    NotTrue,
    /// `IS NOT FALSE`.
    NotFalse,
}

impl TruthTest {
    /// Applies the test to a clause result, where `None` is SQL's unknown
    /// (a comparison involving NULL): `unknown IS TRUE` and `unknown IS
    /// FALSE` are false, `IS NOT TRUE` and `IS NOT FALSE` true.
    pub(crate) fn apply(self, result: Option<bool>) -> bool {
        match self {
            TruthTest::True => result == Some(true),
            TruthTest::False => result == Some(false),
            TruthTest::NotTrue => result != Some(true),
            TruthTest::NotFalse => result != Some(false),
        }
    }
}

/// One `left operator right [truth test]` clause.
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    pub(crate) left: Left,
    pub(crate) test: Test,
    pub(crate) truth: Option<TruthTest>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_ops_hold() {
        use Ordering::*;
        let table = [
            (CompareOp::Eq, [false, true, false]),
            (CompareOp::Ne, [true, false, true]),
            (CompareOp::Lt, [true, false, false]),
            (CompareOp::Gt, [false, false, true]),
            (CompareOp::Le, [true, true, false]),
            (CompareOp::Ge, [false, true, true]),
        ];
        for (op, expected) in table {
            for (ordering, want) in [Less, Equal, Greater].into_iter().zip(expected) {
                assert_eq!(op.holds(ordering), want, "{op:?} {ordering:?}");
            }
        }
    }

    #[test]
    fn truth_tests_follow_sql() {
        use TruthTest::*;
        let cases = [
            (True, [true, false, false]),
            (False, [false, true, false]),
            (NotTrue, [false, true, true]),
            (NotFalse, [true, false, true]),
        ];
        for (test, expected) in cases {
            for (input, want) in [Some(true), Some(false), None].into_iter().zip(expected) {
                assert_eq!(test.apply(input), want, "{test:?} {input:?}");
            }
        }
    }

    #[test]
    fn operands_display_as_written() {
        let entry = Left::MapEntry {
            map: "Labels".into(),
            key: "app".into(),
            kind: ScalarKind::Str,
        };
        assert_eq!(entry.to_string(), "`Labels.app`");
        assert_eq!(
            Left::Len {
                name: "ApprovedBy".into()
            }
            .to_string(),
            "`LEN(ApprovedBy)`"
        );
        assert_eq!(entry.kind(), Some(ScalarKind::Str));
        assert_eq!(
            Left::List {
                name: "ApprovedBy".into()
            }
            .kind(),
            None
        );
        assert!(Operator::Le.is_ordering());
        assert!(!Operator::Eq.is_ordering());
        assert!(Operator::NotIMatch.is_pattern());
        assert!(!Operator::In.is_pattern());
    }
}
