//! The parser: turns a where expression into checked, typed clauses for one
//! resource kind, and owns [`WhereFilter`], the result.
//!
//! Grammar (see `docs/where.md`): clauses `left operator [right] [truth
//! test]` joined by `AND`. Names are checked against the kind's allow-list,
//! operators against the operand's type, literals typed and regular
//! expressions compiled here, so evaluation cannot fail.

use super::ast::{Clause, CompareOp, Operator, Right, Test, TruthTest};
use super::error::WhereError;
use super::eval::Subject;
use super::lexer::{Lexer, Token, TokenKind};
use super::value::{Scalar, ScalarKind};
use crate::model::ResourceKind;

mod left;
mod right;

/// Longest expression, in chars.
pub(crate) const MAX_EXPRESSION_LEN: usize = 4096;
/// Longest attribute name, in chars.
const MAX_ATTRIBUTE_LEN: usize = 41;
/// Longest map key, gate slug or gate function name, in chars.
const MAX_KEY_LEN: usize = 128;
/// Cap on a compiled regular expression (and its lazy DFA), in bytes.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A parsed `--where` expression, ready to test resources of one kind.
#[derive(Debug, Clone)]
pub struct WhereFilter {
    text: String,
    clauses: Vec<Clause>,
}

impl WhereFilter {
    /// Parses `input` for resources of `kind`, checking attribute names against that kind's allow-list.
    pub fn parse(input: &str, kind: ResourceKind) -> Result<WhereFilter, WhereError> {
        let count = input.chars().count();
        if count > MAX_EXPRESSION_LEN {
            return Err(WhereError::at(
                format!(
                    "where expression is {count} characters long; the limit is {MAX_EXPRESSION_LEN}"
                ),
                MAX_EXPRESSION_LEN,
                count - MAX_EXPRESSION_LEN,
                input,
            ));
        }
        if input.trim().is_empty() {
            return Err(WhereError::at("empty where expression", 0, 1, input));
        }
        let clauses = Parser::new(input, kind).expression()?;
        Ok(WhereFilter {
            text: input.to_owned(),
            clauses,
        })
    }

    /// True when every clause holds for `subject`.
    pub fn matches(&self, subject: &dyn Subject) -> bool {
        self.clauses
            .iter()
            .all(|clause| clause.evaluate(subject) == Some(true))
    }

    /// The expression as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// What follows the left operand: an operator, or (for a boolean operand) a
/// bare truth test such as `ApplyGates.g/f IS TRUE`.
enum AfterLeft {
    Operator(Operator, usize, usize),
    Truth(TruthTest, usize, usize),
}

/// A recursive-descent parser over the lexer's tokens, with one token of lookahead.
struct Parser<'a> {
    lexer: Lexer<'a>,
    input: &'a str,
    kind: ResourceKind,
    peeked: Option<Token>,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, kind: ResourceKind) -> Self {
        Parser {
            lexer: Lexer::new(input),
            input,
            kind,
            peeked: None,
        }
    }

    fn peek(&mut self) -> Result<&Token, WhereError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    fn next(&mut self) -> Result<Token, WhereError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    fn error(&self, message: impl Into<String>, start: usize, len: usize) -> WhereError {
        WhereError::at(message, start, len, self.input)
    }

    fn error_at(&self, token: &Token, message: impl Into<String>) -> WhereError {
        self.error(message, token.start, token.len)
    }

    /// The token as the user wrote it, for messages.
    fn describe(&self, token: &Token) -> String {
        let text = self.lexer.slice(token.start, token.len);
        match token.kind {
            TokenKind::End => "the end of the expression".to_owned(),
            TokenKind::Str(_) => format!("the string {text}"),
            _ => format!("`{text}`"),
        }
    }

    /// Whether `token` shows that an operand is missing.
    fn is_missing(token: &Token) -> bool {
        token.kind == TokenKind::End || token.is_keyword("AND")
    }

    fn or_error(&self, token: &Token) -> WhereError {
        self.error_at(
            token,
            "`OR` is not supported; ConfigHub where expressions only join clauses with AND",
        )
    }

    /// `clause ( AND clause )*`.
    fn expression(&mut self) -> Result<Vec<Clause>, WhereError> {
        let mut clauses = Vec::new();
        let mut after_and = false;
        loop {
            clauses.push(self.clause(after_and)?);
            let token = self.next()?;
            match token.kind {
                TokenKind::End => return Ok(clauses),
                _ if token.is_keyword("AND") => after_and = true,
                _ if token.is_keyword("OR") => return Err(self.or_error(&token)),
                _ if token.is_keyword("IS") => {
                    return Err(self.error_at(
                        &token,
                        "a clause takes at most one truth test (`IS TRUE`, `IS NOT FALSE`, ...)",
                    ));
                }
                TokenKind::RParen => {
                    return Err(self.error_at(
                        &token,
                        "unexpected `)`; parentheses are only used around IN lists and LEN()",
                    ));
                }
                _ => {
                    return Err(self.error_at(
                        &token,
                        format!(
                            "expected `AND` or the end of the expression, found {}",
                            self.describe(&token)
                        ),
                    ));
                }
            }
        }
    }

    /// `left operator [right] [truth_test]`.
    fn clause(&mut self, after_and: bool) -> Result<Clause, WhereError> {
        let token = self.next()?;
        let left = match &token.kind {
            TokenKind::Word(_) if token.is_keyword("OR") => return Err(self.or_error(&token)),
            TokenKind::Word(_) if token.is_keyword("NOT") => {
                return Err(self.error_at(
                    &token,
                    "`NOT` before a clause is not supported; negate the operator instead \
                     (`!=`, `NOT LIKE`, `NOT IN`, `IS NOT NULL`, `IS FALSE`)",
                ));
            }
            TokenKind::Word(_) if token.is_keyword("LEN") => self.len_operand(&token)?,
            TokenKind::Word(_) if Self::is_missing(&token) => {
                return Err(self.missing_clause(&token, after_and));
            }
            TokenKind::Word(word) => self.left_word(word, &token)?,
            TokenKind::End => return Err(self.missing_clause(&token, after_and)),
            TokenKind::LParen => {
                return Err(self.error_at(
                    &token,
                    "parentheses for grouping are not supported; ConfigHub where expressions \
                     are clauses joined by AND",
                ));
            }
            TokenKind::Str(_) | TokenKind::Int(_) => {
                return Err(self.error_at(
                    &token,
                    format!(
                        "expected an attribute name, found {}; the attribute comes first, \
                         as in `Slug = 'web'`",
                        self.describe(&token)
                    ),
                ));
            }
            _ => {
                return Err(self.error_at(
                    &token,
                    format!(
                        "expected an attribute name, found {}",
                        self.describe(&token)
                    ),
                ));
            }
        };
        let (op, start, len) = match self.operator(&left)? {
            AfterLeft::Operator(op, start, len) => (op, start, len),
            AfterLeft::Truth(truth, start, len) => {
                if left.kind() != Some(ScalarKind::Bool) {
                    return Err(self.error(
                        format!(
                            "`{}` follows a comparison, as in `Slug = 'web' IS FALSE`; \
                             {left} is not a boolean",
                            self.lexer.slice(start, len)
                        ),
                        start,
                        len,
                    ));
                }
                let test = Test::Compare {
                    op: CompareOp::Eq,
                    right: Right::Value(Scalar::Bool(true)),
                };
                return Ok(Clause {
                    left,
                    test,
                    truth: Some(truth),
                });
            }
        };
        self.check_operator(&left, op, start, len)?;
        let test = self.right(&left, op, start, len)?;
        let truth = self.truth_test()?;
        Ok(Clause { left, test, truth })
    }

    fn missing_clause(&self, token: &Token, after_and: bool) -> WhereError {
        let message = if after_and {
            format!(
                "expected a clause after `AND`, found {}",
                self.describe(token)
            )
        } else {
            format!("expected an attribute name, found {}", self.describe(token))
        };
        self.error_at(token, message)
    }
}

/// A one-line message for a regular expression that does not compile.
fn regex_message(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(_) => {
            "regular expression is too big: its compiled form exceeds the 1 MiB limit".to_owned()
        }
        regex::Error::Syntax(text) => {
            let detail = text
                .lines()
                .find_map(|line| line.strip_prefix("error: "))
                .unwrap_or_else(|| text.lines().last().unwrap_or("syntax error"));
            format!("invalid regular expression: {detail}")
        }
        other => format!("invalid regular expression: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::filter::attributes::attribute_names;
    use crate::filter::eval::AttrValue;
    use crate::filter::testing::TestSubject;

    const UUID_A: &str = "0b5f6a3e-8c1d-4f2a-9e3b-7d6c5b4a3f21";
    const UUID_B: &str = "9f8e7d6c-5b4a-4321-8765-0fedcba98765";

    fn parse(input: &str) -> WhereFilter {
        match WhereFilter::parse(input, ResourceKind::Unit) {
            Ok(filter) => filter,
            Err(err) => panic!("{input:?} should parse:\n{err}"),
        }
    }

    fn error(input: &str, kind: ResourceKind) -> WhereError {
        match WhereFilter::parse(input, kind) {
            Ok(filter) => panic!("{input:?} should not parse: {filter:?}"),
            Err(err) => err,
        }
    }

    /// Asserts the error's column, length and that its message holds `text`.
    fn assert_error(input: &str, column: usize, len: usize, text: &str) -> WhereError {
        let err = error(input, ResourceKind::Unit);
        assert_eq!((err.column, err.len), (column, len), "{input:?}:\n{err}");
        assert!(
            err.message.contains(text),
            "{input:?}: {:?} lacks {text:?}",
            err.message
        );
        err
    }

    /// A unit with a few attributes set.
    fn unit() -> TestSubject {
        TestSubject::default()
            .string("Slug", "backend-api")
            .string("DisplayName", "Backend API")
            .string("ToolchainType", "Kubernetes/YAML")
            .string("LastChangeDescription", "")
            .string("SpaceID", UUID_A)
            .string("UnitID", &UUID_B.to_uppercase())
            .string("UpstreamUnitID", UUID_B)
            .int("HeadRevisionNum", 7)
            .int("LiveRevisionNum", 5)
            .int("LastAppliedRevisionNum", 7)
            .string("CreatedAt", "2026-10-15T08:30:00Z")
            .string("UpdatedAt", "2026-11-01T00:00:00Z")
            .list("ApprovedBy", &[UUID_A])
            .label("app", "web")
            .label("tier", "Backend")
            .label("empty", "")
            .entry("Annotations", "owner", AttrValue::Str("team-a".into()))
            .entry("ApplyGates", "policy/no-latest", AttrValue::Bool(true))
            .entry("ApplyGates", "policy/replicas", AttrValue::Bool(false))
    }

    fn holds(input: &str) -> bool {
        parse(input).matches(&unit())
    }

    fn check(cases: &[(&str, bool)]) {
        for (input, want) in cases {
            assert_eq!(holds(input), *want, "{input}");
        }
    }

    #[test]
    fn parse_keeps_the_text() {
        let filter = parse("Slug = 'a'");
        assert_eq!(filter.as_str(), "Slug = 'a'");
        let copy = filter.clone();
        assert!(format!("{copy:?}").contains("Slug"));
    }

    #[test]
    fn equality_operators() {
        check(&[
            ("Slug = 'backend-api'", true),
            ("Slug = 'backend'", false),
            ("Slug != 'backend'", true),
            ("Slug != 'backend-api'", false),
            ("LastChangeDescription = ''", true),
            ("HeadRevisionNum = 7", true),
            ("HeadRevisionNum = '7'", true),
            ("HeadRevisionNum != 7", false),
            ("SpaceID = '0B5F6A3E-8C1D-4F2A-9E3B-7D6C5B4A3F21'", true),
            ("UnitID = '9f8e7d6c5b4a432187650fedcba98765'", true),
            ("SpaceID != '0b5f6a3e-8c1d-4f2a-9e3b-7d6c5b4a3f21'", false),
        ]);
    }

    #[test]
    fn ordering_operators() {
        check(&[
            ("Slug < 'c'", true),
            ("Slug < 'backend-api'", false),
            ("Slug <= 'backend-api'", true),
            ("Slug <= 'a'", false),
            ("Slug > 'B'", true),
            ("Slug > 'z'", false),
            ("Slug >= 'backend-api'", true),
            ("Slug >= 'backend-apj'", false),
            ("HeadRevisionNum > 6", true),
            ("HeadRevisionNum > 7", false),
            ("HeadRevisionNum >= 7", true),
            ("HeadRevisionNum < 10", true),
            ("HeadRevisionNum < -1", false),
            ("HeadRevisionNum <= 6", false),
            ("CreatedAt < '2026-11-01'", true),
            ("CreatedAt > '2026-10-15'", true),
            ("CreatedAt > '2026-10-15T10:00:00+02:00'", true),
            ("CreatedAt > '2026-10-15T10:00:00+01:00'", false),
            ("UpdatedAt >= '2026-11-01'", true),
            ("UpdatedAt <= '2026-11-01'", true),
            ("UpdatedAt = '2026-11-01'", true),
            ("UpdatedAt > '2026-11-01'", false),
        ]);
    }

    #[test]
    fn like_operators() {
        check(&[
            ("Slug LIKE 'back%'", true),
            ("Slug LIKE 'Back%'", false),
            ("Slug ~~ '%-api'", true),
            ("Slug ~~ '%-ap'", false),
            ("Slug LIKE 'backend_api'", true),
            ("Slug LIKE 'backend_'", false),
            ("Slug NOT LIKE 'front%'", true),
            ("Slug NOT LIKE 'back%'", false),
            ("Slug !~~ 'back%'", false),
            ("Slug !~~ 'x%'", true),
            ("Slug ILIKE 'BACK%'", true),
            ("Slug ILIKE 'front%'", false),
            ("Slug ~~* '%API'", true),
            ("Slug NOT ILIKE 'BACK%'", false),
            ("Slug NOT ILIKE 'FRONT%'", true),
            ("Slug !~~* 'BACK%'", false),
            ("Slug !~~* 'x'", true),
            ("Slug LIKE ''", false),
            ("LastChangeDescription LIKE ''", true),
            ("Labels.tier LIKE 'Back%'", true),
            ("Annotations.owner LIKE 'team-_'", true),
            ("CreatedAt LIKE '2026-10-%'", true),
        ]);
    }

    #[test]
    fn regex_operators() {
        check(&[
            ("Slug ~ '^[a-z]+-[a-z]+$'", true),
            ("Slug ~ 'end-a'", true),
            ("Slug ~ '^end'", false),
            ("Slug ~* 'BACKEND'", true),
            ("Slug ~* '^FRONT'", false),
            ("Slug !~ '^front'", true),
            ("Slug !~ 'api$'", false),
            ("Slug !~* 'API'", false),
            ("Slug !~* 'WEB'", true),
            ("DisplayName ~ 'API'", true),
            ("Labels.app ~ '^w'", true),
        ]);
    }

    #[test]
    fn in_lists() {
        check(&[
            ("Slug IN ('a','backend-api' , 'c')", true),
            ("Slug IN('a','b')", false),
            ("Slug NOT IN ('a', 'b')", true),
            ("Slug NOT IN ( 'backend-api' )", false),
            ("HeadRevisionNum IN (1, 2, 7)", true),
            ("HeadRevisionNum IN (1,'7')", true),
            ("HeadRevisionNum NOT IN (1, 2)", true),
            ("Labels.app IN ('web', 'api')", true),
            ("Labels.app NOT IN ('web')", false),
            ("SpaceID IN ('0B5F6A3E8C1D4F2A9E3B7D6C5B4A3F21')", true),
            ("ApplyGates.policy/no-latest IN (true)", true),
        ]);
    }

    #[test]
    fn lists_and_len() {
        let approver = UUID_A.to_uppercase();
        check(&[
            (&format!("ApprovedBy ? '{approver}'"), true),
            (&format!("ApprovedBy ? '{UUID_B}'"), false),
            ("LEN(ApprovedBy) > 0", true),
            ("LEN(ApprovedBy) = 1", true),
            ("len( ApprovedBy )>=2", false),
            ("ApprovedBy IS NOT NULL", true),
            ("ApprovedBy IS NULL", false),
        ]);
        let unapproved = TestSubject::default();
        assert!(parse("LEN(ApprovedBy) = 0").matches(&unapproved));
        assert!(!parse(&format!("ApprovedBy ? '{UUID_A}'")).matches(&unapproved));
    }

    #[test]
    fn maps_and_gates() {
        check(&[
            ("Labels.app = 'web' AND Slug LIKE 'back%'", true),
            ("Labels.app = 'web' AND Slug LIKE 'front%'", false),
            ("Labels.app = 'Web'", false),
            ("Labels.empty = ''", true),
            ("Labels.empty IS NULL", false),
            ("Labels.missing IS NULL", true),
            ("Labels.missing IS NOT NULL", false),
            ("Labels.app IS NOT NULL", true),
            ("Annotations.owner = 'team-a'", true),
            ("ApplyGates.policy/no-latest = true", true),
            ("ApplyGates.policy/no-latest = FALSE", false),
            ("ApplyGates.policy/replicas != true", true),
            ("ApplyGates.policy/no-latest IS TRUE", true),
            ("ApplyGates.policy/replicas IS FALSE", true),
            ("ApplyGates.policy/replicas IS NOT TRUE", true),
            ("ApplyGates.policy/missing IS NOT TRUE", true),
            ("ApplyGates.policy/missing IS FALSE", false),
            ("ApplyGates.policy/missing IS NULL", true),
        ]);
    }

    #[test]
    fn attribute_to_attribute() {
        check(&[
            ("HeadRevisionNum = LastAppliedRevisionNum", true),
            ("HeadRevisionNum > LiveRevisionNum", true),
            ("HeadRevisionNum <= LiveRevisionNum", false),
            ("UnitID = UpstreamUnitID", true),
            ("UnitID != SpaceID", true),
            ("Slug != DisplayName", true),
            ("Labels.app = Slug", false),
            ("CreatedAt < UpdatedAt", true),
            ("LEN(ApprovedBy) < HeadRevisionNum", true),
            ("HeadRevisionNum = UpstreamRevisionNum", false),
            ("HeadRevisionNum != UpstreamRevisionNum", false),
        ]);
        let err = error("Slug = SpaceID", ResourceKind::Unit);
        assert_eq!((err.column, err.len), (8, 7));
        assert!(
            err.message
                .contains("cannot compare `Slug` (a string) with `SpaceID` (a UUID)")
        );
    }

    #[test]
    fn null_is_never_equal_or_unequal() {
        let empty = TestSubject::default();
        for input in [
            "Slug = 'a'",
            "Slug != 'a'",
            "Slug < 'a'",
            "Slug >= 'a'",
            "Slug LIKE '%'",
            "Slug NOT LIKE 'a'",
            "Slug ILIKE '%'",
            "Slug NOT ILIKE 'a'",
            "Slug ~ ''",
            "Slug !~ 'a'",
            "Slug IN ('a')",
            "Slug NOT IN ('a')",
            "HeadRevisionNum != 1",
            "Labels.app != 'x'",
            "Labels.app NOT IN ('x')",
            "ApplyGates.a/b != true",
            "Slug = DisplayName",
            "Slug != DisplayName",
            "Slug = 'a' IS TRUE",
            "Slug = 'a' IS FALSE",
            "Slug IS NOT NULL",
        ] {
            assert!(!parse(input).matches(&empty), "{input}");
        }
        for input in [
            "Slug IS NULL",
            "Labels.app IS NULL",
            "Slug = 'a' IS NOT TRUE",
            "Slug != 'a' IS NOT FALSE",
        ] {
            assert!(parse(input).matches(&empty), "{input}");
        }
        let one_side = unit().with("DisplayName", AttrValue::Null);
        assert!(!parse("Slug != DisplayName").matches(&one_side));
    }

    #[test]
    fn truth_tests() {
        check(&[
            ("Slug = 'backend-api' IS TRUE", true),
            ("Slug = 'backend-api' IS FALSE", false),
            ("Slug = 'test' IS FALSE", true),
            ("Slug = 'test' IS NOT TRUE", true),
            ("Slug = 'test' IS NOT FALSE", false),
            ("Slug LIKE 'x%' is not true and HeadRevisionNum = 7", true),
            ("Labels.missing IS NULL IS TRUE", true),
        ]);
    }

    #[test]
    fn keywords_ignore_case_and_spacing() {
        check(&[
            ("Slug like 'back%' and HeadRevisionNum in (7)", true),
            ("Slug Not Like 'x%' AnD Labels.app iS nOt NuLl", true),
            ("Slug ilike 'BACK%'", true),
            ("Slug not ilike 'BACK%'", false),
            ("Slug='backend-api'AND HeadRevisionNum>6", true),
            (
                "\t Slug  =\t'backend-api'   and   HeadRevisionNum >= 7 ",
                true,
            ),
            ("ApplyGates.policy/no-latest = TRUE", true),
            ("Slug not in ('x')", true),
        ]);
    }

    #[test]
    fn the_unknown_attribute_error_points_at_the_name() {
        let err = error("Slug = 'a' AND Foo = 'b'", ResourceKind::Unit);
        assert_eq!((err.column, err.len), (16, 3));
        let allowed = attribute_names(ResourceKind::Unit).join(", ");
        assert_eq!(
            err.message,
            format!("unknown attribute `Foo` for unit; allowed: {allowed}")
        );
        assert_eq!(
            err.to_string(),
            format!(
                "unknown attribute `Foo` for unit; allowed: {allowed} (column 16)\n  \
                 Slug = 'a' AND Foo = 'b'\n                 ^^^"
            )
        );
        assert!(err.message.contains("ApplyGates, ApprovedBy, CreatedAt"));
    }

    #[test]
    fn unknown_attributes_get_suggestions() {
        let err = assert_error("slug = 'a'", 1, 4, "did you mean `Slug`?");
        assert!(err.message.contains("; allowed: Annotations, "));
        assert_error("DisplayNmae = 'a'", 1, 11, "did you mean `DisplayName`?");
        assert_error(
            "Slug = 'a' AND SpaceId = 'x'",
            16,
            7,
            "did you mean `SpaceID`?",
        );
        assert_error(
            "Slug = web",
            8,
            3,
            "string literals take single quotes: 'web'",
        );
    }

    #[test]
    fn allow_lists_differ_per_kind() {
        assert!(WhereFilter::parse("ToolchainType = 'x'", ResourceKind::Unit).is_ok());
        assert!(WhereFilter::parse("ToolchainType = 'x'", ResourceKind::Target).is_ok());
        let err = error("Slug = 'a' AND ToolchainType = 'x'", ResourceKind::Space);
        assert_eq!((err.column, err.len), (16, 13));
        assert!(
            err.message
                .starts_with("unknown attribute `ToolchainType` for space")
        );
        assert!(err.message.contains("it is an attribute of target, unit"));
        assert!(err.message.ends_with(
            "allowed: Annotations, CreatedAt, DisplayName, Labels, OrganizationID, Slug, \
             SpaceID, UpdatedAt"
        ));
        assert!(WhereFilter::parse("ApplyGates.a/b = true", ResourceKind::Target).is_err());
        assert!(WhereFilter::parse(&format!("UserID = '{UUID_A}'"), ResourceKind::Worker).is_ok());
        assert!(WhereFilter::parse("Where LIKE '%Slug%'", ResourceKind::Filter).is_ok());
        assert!(WhereFilter::parse("Where LIKE '%Slug%'", ResourceKind::View).is_err());
        for kind in ResourceKind::ALL {
            let own_id = format!("{} = '{UUID_A}'", kind.id_attribute());
            assert!(WhereFilter::parse(&own_id, kind).is_ok(), "{kind}");
            assert!(
                WhereFilter::parse("Annotations.x = 'y'", kind).is_ok(),
                "{kind}"
            );
        }
        let err = error("ApplyGates.a/b = true", ResourceKind::Space);
        assert_eq!((err.column, err.len), (1, 10));
    }

    #[test]
    fn syntax_errors_point_at_the_column() {
        assert_error("Slug = 'abc", 8, 4, "unterminated string");
        assert_error("Slug EQUALS 'a'", 6, 6, "expected an operator after `Slug`");
        assert_error("Slug == 'a'", 6, 2, "use `=`");
        assert_error("Slug", 5, 1, "missing operator after `Slug`");
        assert_error("Slug =", 7, 1, "missing right operand after `=`");
        assert_error("Slug = AND Slug = 'a'", 8, 3, "missing right operand");
        assert_error("Slug = 'a' AND", 15, 1, "expected a clause after `AND`");
        assert_error("Slug = 'a' AND AND", 16, 3, "expected a clause after `AND`");
        assert_error("AND Slug = 'a'", 1, 3, "expected an attribute name");
        assert_error("Slug = 'a' 'b'", 12, 3, "expected `AND` or the end");
        assert_error("Slug = 'a' garbage", 12, 7, "expected `AND` or the end");
        assert_error("Slug = 'a')", 11, 1, "unexpected `)`");
        assert_error("'a' = Slug", 1, 3, "the attribute comes first");
        assert_error("= 'a'", 1, 1, "expected an attribute name");
        assert_error(
            "Slug NOT 'a'",
            10,
            3,
            "expected LIKE, ILIKE or IN after `NOT`",
        );
        assert_error("Slug IS 'a'", 9, 3, "after `IS`");
        assert_error("Slug IS NOT 'a'", 13, 3, "after `IS NOT`");
        assert_error("Slug = NULL", 8, 4, "use `IS NULL`");
        assert_error("Slug = 'a' IS NULL", 15, 4, "`IS NULL` goes directly after");
        assert_error("Slug = 'a' IS", 14, 1, "expected TRUE or FALSE");
        assert_error("Slug = 'a' IS NOT maybe", 19, 5, "after `IS NOT`");
        assert_error(
            "Slug = 'a' IS TRUE IS TRUE",
            20,
            2,
            "at most one truth test",
        );
        assert_error("Slug IS TRUE", 6, 7, "follows a comparison");
        assert_error("Slug = ('a')", 8, 1, "only follows `IN`");
        assert_error("Slug = =", 8, 1, "expected a literal or an attribute name");
        assert_error("   ", 1, 1, "empty where expression");
        assert_error("", 1, 1, "empty where expression");
    }

    #[test]
    fn or_not_and_grouping_are_rejected() {
        let err = assert_error("Slug = 'a' OR Slug = 'b'", 12, 2, "`OR` is not supported");
        assert_eq!(
            err.message,
            "`OR` is not supported; ConfigHub where expressions only join clauses with AND"
        );
        assert_error("Slug = 'a' or Slug = 'b'", 12, 2, "`OR` is not supported");
        assert_error("OR Slug = 'a'", 1, 2, "`OR` is not supported");
        assert_error(
            "NOT Slug = 'a'",
            1,
            3,
            "`NOT` before a clause is not supported",
        );
        assert_error(
            "(Slug = 'a')",
            1,
            1,
            "parentheses for grouping are not supported",
        );
    }

    #[test]
    fn entity_references_are_rejected() {
        assert_error(
            "Slug = 'a' AND FromLink.*.Slug = 'upgrade-app'",
            16,
            15,
            "entity references such as `FromLink.*.Slug` are not supported",
        );
        assert_error("Space.Slug = 'x'", 1, 10, "not supported");
        assert_error("Slug = Space.Slug", 8, 10, "not supported");
        assert_error("Slug = Labels.app", 8, 10, "only be on the left");
        assert_error("Slug.x = 'a'", 1, 6, "not a map");
    }

    #[test]
    fn map_errors() {
        assert_error(
            "Labels = 'x'",
            1,
            6,
            "use `Labels.<key>`".trim_start_matches("use "),
        );
        assert_error("Labels = 'x'", 1, 6, "`Labels` is a map");
        assert_error("ApplyGates = true", 1, 10, "map of booleans");
        assert_error("Labels. = 'x'", 8, 1, "missing Labels key");
        assert_error("Labels.-app = 'x'", 8, 4, "invalid Labels key `-app`");
        assert_error("Labels.app. = 'x'", 8, 4, "invalid Labels key");
        assert_error("Labels.a*b = 'x'", 8, 3, "invalid Labels key");
        let long_key = format!("Labels.{} = 'x'", "k".repeat(129));
        assert_error(&long_key, 8, 129, "limit is 128");
        assert!(
            WhereFilter::parse(
                &format!("Labels.{} = 'x'", "k".repeat(128)),
                ResourceKind::Unit
            )
            .is_ok()
        );
        assert!(
            WhereFilter::parse("Labels.example.com/app_name-1 = 'x'", ResourceKind::Unit).is_ok()
        );
        assert_error(
            "ApplyGates.policy = true",
            12,
            6,
            "expected `ApplyGates.<slug>/<function>`",
        );
        assert_error("ApplyGates.p.q/f = true", 12, 3, "invalid gate slug `p.q`");
        assert_error(
            "ApplyGates.p/f/g = true",
            14,
            3,
            "invalid function name `f/g`",
        );
        assert_error("Labels.version = 3", 18, 1, "quoted string such as '3'");
    }

    #[test]
    fn type_errors() {
        assert_error(
            "HeadRevisionNum LIKE '1%'",
            17,
            4,
            "only applies to strings",
        );
        assert_error("SpaceID ~ 'abc'", 9, 1, "only applies to strings");
        assert_error(
            &format!("SpaceID < '{UUID_A}'"),
            9,
            1,
            "does not apply to `SpaceID`, which is a UUID",
        );
        assert_error("ApplyGates.a/b > true", 16, 1, "which is a boolean");
        assert_error("Slug ? 'x'", 6, 1, "only applies to list attributes");
        assert_error("ApprovedBy = 'x'", 12, 1, "a list of UUIDs");
        assert_error("ApprovedBy ? 'not-a-uuid'", 14, 12, "not a valid UUID");
        assert_error(
            "LEN(Slug) > 0",
            5,
            4,
            "`LEN()` only applies to list attributes",
        );
        assert_error(
            "LEN(ApprovedBy > 0",
            16,
            1,
            "expected `)` to close `LEN(ApprovedBy`",
        );
        assert_error("LEN ApprovedBy", 5, 10, "expected `(` after `LEN`");
        assert_error(
            "LEN('x') = 1",
            5,
            3,
            "expected an attribute name inside `LEN()`",
        );
        assert_error("LEN(ApprovedBy) = 'x'", 19, 3, "expected a number");
        assert_error("HeadRevisionNum = 'seven'", 19, 7, "expected a number");
        assert_error("HeadRevisionNum = true", 19, 4, "expected a number");
        assert_error("Slug = 5", 8, 1, "quoted string such as '5'");
        assert_error("Slug = true", 8, 4, "is a string");
        assert_error("SpaceID = 'abc'", 11, 5, "not a valid UUID");
        assert_error("SpaceID = 5", 11, 1, "expected a quoted UUID");
        assert_error("CreatedAt > 'last week'", 13, 11, "not an RFC 3339 time");
        assert_error("ApplyGates.a/b = 'yes'", 18, 5, "expected true or false");
        assert_error("Slug LIKE 5", 11, 1, "takes a quoted pattern");
        assert_error("Slug LIKE", 10, 1, "missing pattern after `LIKE`");
        assert_error("Slug ~", 7, 1, "missing regular expression");
        assert_error("HeadRevisionNum = Slug", 19, 4, "cannot compare");
        assert_error("Slug = Labels", 8, 6, "cannot be compared as a whole");
    }

    #[test]
    fn in_list_errors() {
        assert_error("Slug IN ()", 9, 2, "empty `IN` list");
        assert_error("Slug NOT IN ( )", 13, 3, "empty `NOT IN` list");
        assert_error("Slug IN 'a'", 9, 3, "takes a parenthesised list");
        assert_error("Slug IN", 8, 1, "missing list after `IN`");
        assert_error("Slug IN ('a',)", 14, 1, "expected a literal");
        assert_error("Slug IN ('a' 'b')", 14, 3, "expected `,` or `)`");
        assert_error("Slug IN ('a'", 13, 1, "missing `)`");
        assert_error("Slug IN ('a',", 14, 1, "missing `)`");
        assert_error("Slug IN ('a', DisplayName)", 15, 11, "literals only");
        assert_error("HeadRevisionNum IN (1, 'x')", 24, 3, "expected a number");
        assert_error("Slug IN ('a', 2)", 15, 1, "quoted string");
    }

    #[test]
    fn invalid_regex_points_at_the_literal() {
        let err = assert_error(
            "Slug = 'a' AND Slug ~ '(unclosed'",
            23,
            11,
            "invalid regular expression",
        );
        assert!(!err.message.contains('\n'), "{}", err.message);
        assert!(err.message.contains("unclosed group"), "{}", err.message);
        assert_error("Slug ~* '[z-a]'", 9, 7, "invalid regular expression");
    }

    #[test]
    fn hostile_regex_is_refused() {
        let literal = "'(?:[a-z]{1000}){1000}'";
        let err = error(&format!("Slug ~ {literal}"), ResourceKind::Unit);
        assert_eq!((err.column, err.len), (8, literal.len()), "{err}");
        assert!(err.message.contains("too big"), "{err}");
    }

    #[test]
    fn over_long_expression() {
        let clause = "Slug = 'aaaa' AND ";
        let mut input = clause.repeat(4096 / clause.len() + 1);
        input.push_str("Slug = 'a'");
        let count = input.chars().count();
        let err = error(&input, ResourceKind::Unit);
        assert_eq!((err.column, err.len), (4097, count - 4096));
        assert!(err.message.contains("the limit is 4096"));
        let exact = format!("Slug = '{}'", "a".repeat(255));
        let mut at_limit = format!("{exact} AND ").repeat(15);
        at_limit.push_str("Slug IS NOT NULL");
        while at_limit.chars().count() < 4096 {
            at_limit.push(' ');
        }
        assert!(WhereFilter::parse(&at_limit, ResourceKind::Unit).is_ok());
        at_limit.push(' ');
        assert!(WhereFilter::parse(&at_limit, ResourceKind::Unit).is_err());
    }

    #[test]
    fn attribute_name_limits() {
        let long = "A".repeat(42);
        assert_error(&format!("{long} = 'x'"), 1, 42, "limit is 41");
        assert_error("Slug2 = 'x'", 1, 5, "contain only letters");
        assert_error("Slug_x = 'x'", 1, 6, "contain only letters");
    }

    #[test]
    fn no_panics_on_mangled_input() {
        let seeds = [
            "Slug = 'é-ü' AND Labels.app-x/y NOT ILIKE '%Ω_' AND LEN(ApprovedBy) >= -12",
            "ApplyGates.p/f IS NOT TRUE AND HeadRevisionNum IN (1, '2' ,3) IS FALSE",
            "CreatedAt > '2026-11-01T00:00:00+01:00' AND Slug !~* '^(a|b)+$' AND x ? 'y'",
            "FromLink.*.Slug = \"x\" OR (Slug <> '\\') == NULL \t\n ~~* !~~ ~* !~",
        ];
        let started = Instant::now();
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            for cut in 0..=chars.len() {
                let prefix: String = chars[..cut].iter().collect();
                let suffix: String = chars[cut..].iter().collect();
                let without: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != cut)
                    .map(|(_, c)| *c)
                    .collect();
                for input in [prefix, suffix, without] {
                    for kind in [ResourceKind::Unit, ResourceKind::Space] {
                        match WhereFilter::parse(&input, kind) {
                            Ok(filter) => {
                                filter.matches(&unit());
                                filter.matches(&TestSubject::default());
                            }
                            Err(err) => {
                                assert!(err.len >= 1);
                                assert!(err.column >= 1);
                                assert!(err.column <= input.chars().count() + 1, "{err}");
                                let _ = err.to_string();
                            }
                        }
                    }
                }
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn subject_values_of_unexpected_shape_do_not_match() {
        let odd = TestSubject::default()
            .with("Slug", AttrValue::List(vec!["a".into()]))
            .string("HeadRevisionNum", "not a number")
            .int("DisplayName", 5)
            .string("CreatedAt", "yesterday");
        assert!(!parse("Slug = 'a'").matches(&odd));
        assert!(!parse("Slug != 'a'").matches(&odd));
        assert!(!parse("HeadRevisionNum = 1").matches(&odd));
        assert!(parse("DisplayName = '5'").matches(&odd));
        assert!(parse("CreatedAt LIKE 'yes%'").matches(&odd));
        assert!(parse("CreatedAt > '2026-01-01'").matches(&odd));
        assert!(
            !parse("LEN(ApprovedBy) = 0").matches(&TestSubject::default().int("ApprovedBy", 1))
        );
    }
}
