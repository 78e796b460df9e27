//! What follows the left operand: the operator checked against the
//! operand's type, the right operand (a typed literal, another attribute,
//! an `IN` list, a regular expression) and the truth test.

use regex::RegexBuilder;

use crate::filter::ast::{CompareOp, Left, Literal, Operator, Right, Test, TruthTest};
use crate::filter::attributes::{AttrType, attribute_type};
use crate::filter::error::WhereError;
use crate::filter::lexer::{Token, TokenKind};
use crate::filter::like::LikePattern;
use crate::filter::value::{Scalar, ScalarKind, normalize_uuid};

use super::{AfterLeft, Parser, REGEX_SIZE_LIMIT, regex_message};

impl Parser<'_> {
    pub(super) fn operator(&mut self, left: &Left) -> Result<AfterLeft, WhereError> {
        let token = self.next()?;
        let keyword = |word: &str| token.is_keyword(word);
        if let TokenKind::Op(op) = token.kind {
            return Ok(AfterLeft::Operator(op, token.start, token.len));
        }
        let single = |op| Ok(AfterLeft::Operator(op, token.start, token.len));
        if keyword("LIKE") {
            return single(Operator::Like);
        }
        if keyword("ILIKE") {
            return single(Operator::ILike);
        }
        if keyword("IN") {
            return single(Operator::In);
        }
        if keyword("NOT") {
            let second = self.next()?;
            let op = if second.is_keyword("LIKE") {
                Operator::NotLike
            } else if second.is_keyword("ILIKE") {
                Operator::NotILike
            } else if second.is_keyword("IN") {
                Operator::NotIn
            } else {
                return Err(self.error_at(
                    &second,
                    format!(
                        "expected LIKE, ILIKE or IN after `NOT`, found {}",
                        self.describe(&second)
                    ),
                ));
            };
            return Ok(AfterLeft::Operator(
                op,
                token.start,
                second.end() - token.start,
            ));
        }
        if keyword("IS") {
            let second = self.next()?;
            let span = |t: &Token| t.end() - token.start;
            if second.is_keyword("NULL") {
                return Ok(AfterLeft::Operator(
                    Operator::IsNull,
                    token.start,
                    span(&second),
                ));
            }
            if second.is_keyword("TRUE") {
                return Ok(AfterLeft::Truth(
                    TruthTest::True,
                    token.start,
                    span(&second),
                ));
            }
            if second.is_keyword("FALSE") {
                return Ok(AfterLeft::Truth(
                    TruthTest::False,
                    token.start,
                    span(&second),
                ));
            }
            if !second.is_keyword("NOT") {
                return Err(self.error_at(
                    &second,
                    format!(
                        "expected NULL, NOT NULL, TRUE or FALSE after `IS`, found {}",
                        self.describe(&second)
                    ),
                ));
            }
            let third = self.next()?;
            if third.is_keyword("NULL") {
                return Ok(AfterLeft::Operator(
                    Operator::IsNotNull,
                    token.start,
                    span(&third),
                ));
            }
            if third.is_keyword("TRUE") {
                return Ok(AfterLeft::Truth(
                    TruthTest::NotTrue,
                    token.start,
                    span(&third),
                ));
            }
            if third.is_keyword("FALSE") {
                return Ok(AfterLeft::Truth(
                    TruthTest::NotFalse,
                    token.start,
                    span(&third),
                ));
            }
            return Err(self.error_at(
                &third,
                format!(
                    "expected NULL, TRUE or FALSE after `IS NOT`, found {}",
                    self.describe(&third)
                ),
            ));
        }
        let message = if token.kind == TokenKind::End {
            format!("missing operator after {left}")
        } else {
            format!(
                "expected an operator after {left}, found {}; operators are \
                 = != < > <= >= LIKE NOT LIKE ILIKE NOT ILIKE ~~ !~~ ~~* !~~* ~ ~* !~ !~* \
                 IN NOT IN IS NULL IS NOT NULL ?",
                self.describe(&token)
            )
        };
        Err(self.error_at(&token, message))
    }

    /// Checks that `op` applies to the type of `left`.
    pub(super) fn check_operator(
        &self,
        left: &Left,
        op: Operator,
        start: usize,
        len: usize,
    ) -> Result<(), WhereError> {
        let op_text = self.lexer.slice(start, len);
        let fail = |message: String| Err(self.error(message, start, len));
        let Some(kind) = left.kind() else {
            // A whole list: only `?` and the NULL tests.
            if matches!(
                op,
                Operator::Contains | Operator::IsNull | Operator::IsNotNull
            ) {
                return Ok(());
            }
            let name = left.to_string();
            let bare = name.trim_matches('`');
            return fail(format!(
                "`{op_text}` does not apply to {name}, a list of UUIDs; use `{bare} ? '<uuid>'`, \
                 `LEN({bare})` or `IS [NOT] NULL`"
            ));
        };
        if op == Operator::Contains {
            return fail(format!(
                "`?` (list contains) only applies to list attributes such as `ApprovedBy`; \
                 {left} is {kind}"
            ));
        }
        if op.is_ordering() && matches!(kind, ScalarKind::Uuid | ScalarKind::Bool) {
            return fail(format!(
                "`{op_text}` does not apply to {left}, which is {kind}; use `=`, `!=`, `IN` or `NOT IN`"
            ));
        }
        if op.is_pattern() && !matches!(kind, ScalarKind::Str | ScalarKind::Time) {
            return fail(format!(
                "`{op_text}` only applies to strings, times and Labels/Annotations entries; \
                 {left} is {kind}"
            ));
        }
        Ok(())
    }

    /// The right operand that `op` takes, as a test.
    pub(super) fn right(
        &mut self,
        left: &Left,
        op: Operator,
        start: usize,
        len: usize,
    ) -> Result<Test, WhereError> {
        let op_text = self.lexer.slice(start, len);
        let test = match op {
            Operator::IsNull => Test::IsNull { negated: false },
            Operator::IsNotNull => Test::IsNull { negated: true },
            Operator::In | Operator::NotIn => Test::In {
                values: self.in_list(left, &op_text)?,
                negated: op == Operator::NotIn,
            },
            Operator::Like | Operator::NotLike | Operator::ILike | Operator::NotILike => {
                let (pattern, _) = self.string_operand(&op_text, "pattern")?;
                let case_insensitive = matches!(op, Operator::ILike | Operator::NotILike);
                Test::Like {
                    pattern: LikePattern::new(&pattern, case_insensitive),
                    negated: matches!(op, Operator::NotLike | Operator::NotILike),
                }
            }
            Operator::Match | Operator::IMatch | Operator::NotMatch | Operator::NotIMatch => {
                let (pattern, token) = self.string_operand(&op_text, "regular expression")?;
                let regex = RegexBuilder::new(&pattern)
                    .case_insensitive(matches!(op, Operator::IMatch | Operator::NotIMatch))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|err| self.error_at(&token, regex_message(&err)))?;
                Test::Regex {
                    regex,
                    negated: matches!(op, Operator::NotMatch | Operator::NotIMatch),
                }
            }
            Operator::Contains => {
                let (text, token) = self.string_operand(&op_text, "UUID")?;
                let value = normalize_uuid(&text).ok_or_else(|| {
                    self.error_at(&token, format!("'{text}' is not a valid UUID"))
                })?;
                Test::Contains { value }
            }
            Operator::Eq => self.comparison(left, CompareOp::Eq, &op_text)?,
            Operator::Ne => self.comparison(left, CompareOp::Ne, &op_text)?,
            Operator::Lt => self.comparison(left, CompareOp::Lt, &op_text)?,
            Operator::Gt => self.comparison(left, CompareOp::Gt, &op_text)?,
            Operator::Le => self.comparison(left, CompareOp::Le, &op_text)?,
            Operator::Ge => self.comparison(left, CompareOp::Ge, &op_text)?,
        };
        Ok(test)
    }

    /// A string literal after `op_text`, with its token.
    pub(super) fn string_operand(
        &mut self,
        op_text: &str,
        what: &str,
    ) -> Result<(String, Token), WhereError> {
        let token = self.next()?;
        if let TokenKind::Str(text) = &token.kind {
            return Ok((text.clone(), token));
        }
        let message = if Self::is_missing(&token) {
            format!("missing {what} after `{op_text}`")
        } else {
            format!(
                "`{op_text}` takes a quoted {what}, found {}",
                self.describe(&token)
            )
        };
        Err(self.error_at(&token, message))
    }

    /// A literal as written in `token`, if it is one.
    pub(super) fn literal(token: &Token) -> Option<Literal> {
        match &token.kind {
            TokenKind::Str(s) => Some(Literal::Str(s.clone())),
            TokenKind::Int(i) => Some(Literal::Int(*i)),
            _ if token.is_keyword("TRUE") => Some(Literal::Bool(true)),
            _ if token.is_keyword("FALSE") => Some(Literal::Bool(false)),
            _ => None,
        }
    }

    /// Types the literal in `token` for `left`.
    pub(super) fn typed(
        &self,
        left: &Left,
        literal: &Literal,
        token: &Token,
    ) -> Result<Scalar, WhereError> {
        let kind = left.kind().unwrap_or(ScalarKind::Str);
        Scalar::from_literal(literal, kind, &left.to_string())
            .map_err(|message| self.error_at(token, message))
    }

    /// The right operand of `=`, `!=`, `<`, ...: a literal or an attribute.
    pub(super) fn comparison(
        &mut self,
        left: &Left,
        op: CompareOp,
        op_text: &str,
    ) -> Result<Test, WhereError> {
        let token = self.next()?;
        if let Some(literal) = Self::literal(&token) {
            let value = self.typed(left, &literal, &token)?;
            return Ok(Test::Compare {
                op,
                right: Right::Value(value),
            });
        }
        if token.is_keyword("NULL") {
            return Err(self.error_at(
                &token,
                format!("`{op_text} NULL` is never true; use `IS NULL` or `IS NOT NULL`"),
            ));
        }
        if Self::is_missing(&token) {
            return Err(self.error_at(&token, format!("missing right operand after `{op_text}`")));
        }
        match &token.kind {
            TokenKind::Word(word) => {
                let right = self.right_attribute(left, word, &token)?;
                Ok(Test::Compare { op, right })
            }
            TokenKind::LParen => {
                Err(self.error_at(&token, "a parenthesised list only follows `IN` or `NOT IN`"))
            }
            _ => Err(self.error_at(
                &token,
                format!(
                    "expected a literal or an attribute name after `{op_text}`, found {}",
                    self.describe(&token)
                ),
            )),
        }
    }

    /// An attribute on the right of a comparison; it must have the left's type.
    pub(super) fn right_attribute(
        &self,
        left: &Left,
        word: &str,
        token: &Token,
    ) -> Result<Right, WhereError> {
        if let Some((head, _)) = word.split_once('.') {
            return Err(match attribute_type(self.kind, head) {
                Some(AttrType::Map | AttrType::BoolMap) => self.error_at(
                    token,
                    format!("map entries such as `{word}` can only be on the left of an operator"),
                ),
                Some(ty) => self.error_at(
                    token,
                    format!("`{head}` is {ty}, not a map; only Labels, Annotations and ApplyGates take `.<key>`"),
                ),
                None => self.entity_reference(word, token),
            });
        }
        self.check_attribute_name(word, token)?;
        let ty = self.lookup(word, token.start, token.len, true)?;
        let left_kind = left.kind().unwrap_or(ScalarKind::Str);
        let Some(kind) = ScalarKind::of(ty) else {
            return Err(self.error_at(
                token,
                format!("`{word}` is {ty} and cannot be compared as a whole"),
            ));
        };
        if kind != left_kind {
            return Err(self.error_at(
                token,
                format!("cannot compare {left} ({left_kind}) with `{word}` ({kind})"),
            ));
        }
        Ok(Right::Attribute {
            name: word.to_owned(),
            kind,
        })
    }

    /// `( literal ( , literal )* )` after `IN` / `NOT IN`.
    pub(super) fn in_list(
        &mut self,
        left: &Left,
        op_text: &str,
    ) -> Result<Vec<Scalar>, WhereError> {
        let open = self.next()?;
        if open.kind != TokenKind::LParen {
            let message = if Self::is_missing(&open) {
                format!("missing list after `{op_text}`, as in `{op_text} ('a', 'b')`")
            } else {
                format!(
                    "`{op_text}` takes a parenthesised list of literals, as in \
                     `{op_text} ('a', 'b')`; found {}",
                    self.describe(&open)
                )
            };
            return Err(self.error_at(&open, message));
        }
        if self.peek()?.kind == TokenKind::RParen {
            let close = self.next()?;
            return Err(self.error(
                format!("empty `{op_text}` list; give at least one value"),
                open.start,
                close.end() - open.start,
            ));
        }
        let mut values = Vec::new();
        loop {
            let token = self.next()?;
            let Some(literal) = Self::literal(&token) else {
                let message = match &token.kind {
                    TokenKind::End => "missing `)` to close the list".to_owned(),
                    TokenKind::RParen | TokenKind::Comma => {
                        format!("expected a literal, found {}", self.describe(&token))
                    }
                    TokenKind::Word(_) => format!(
                        "`{op_text}` lists hold literals only, found {}",
                        self.describe(&token)
                    ),
                    _ => format!(
                        "expected a literal in the list, found {}",
                        self.describe(&token)
                    ),
                };
                return Err(self.error_at(&token, message));
            };
            values.push(self.typed(left, &literal, &token)?);
            let separator = self.next()?;
            match separator.kind {
                TokenKind::Comma => {}
                TokenKind::RParen => return Ok(values),
                TokenKind::End => {
                    return Err(self.error_at(&separator, "missing `)` to close the list"));
                }
                _ => {
                    return Err(self.error_at(
                        &separator,
                        format!(
                            "expected `,` or `)` in the list, found {}",
                            self.describe(&separator)
                        ),
                    ));
                }
            }
        }
    }

    /// An optional `IS [NOT] TRUE|FALSE` after a clause.
    pub(super) fn truth_test(&mut self) -> Result<Option<TruthTest>, WhereError> {
        if !self.peek()?.is_keyword("IS") {
            return Ok(None);
        }
        self.next()?;
        let token = self.next()?;
        if token.is_keyword("TRUE") {
            return Ok(Some(TruthTest::True));
        }
        if token.is_keyword("FALSE") {
            return Ok(Some(TruthTest::False));
        }
        if token.is_keyword("NOT") {
            let third = self.next()?;
            if third.is_keyword("TRUE") {
                return Ok(Some(TruthTest::NotTrue));
            }
            if third.is_keyword("FALSE") {
                return Ok(Some(TruthTest::NotFalse));
            }
            return Err(self.error_at(
                &third,
                format!(
                    "expected TRUE or FALSE after `IS NOT`, found {}",
                    self.describe(&third)
                ),
            ));
        }
        let message = if token.is_keyword("NULL") {
            "`IS NULL` goes directly after an attribute; after a comparison only \
             `IS [NOT] TRUE` or `IS [NOT] FALSE` may follow"
                .to_owned()
        } else {
            format!(
                "expected TRUE or FALSE after `IS`, found {}",
                self.describe(&token)
            )
        };
        Err(self.error_at(&token, message))
    }
}
