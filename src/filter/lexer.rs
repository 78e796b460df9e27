//! The lexer: splits a where expression into tokens (words, string and
//! integer literals, operator symbols, parentheses, commas), each carrying
//! its position in chars so errors can point at it.
//!
//! Only spaces and tabs separate tokens, and none is needed where the
//! boundary is clear (`Slug='a'`). A word starts with an ASCII letter and
//! runs over letters, digits and `_ - . / *`, so `Labels.app-tier`,
//! `ApplyGates.gate/fn` and `FromLink.*.Slug` are single words; the parser
//! decides what each word means.

use super::ast::Operator;
use super::error::WhereError;

/// Longest string literal content, in chars.
pub(crate) const MAX_STRING_LEN: usize = 255;
/// Most digits in an integer literal.
pub(crate) const MAX_INT_DIGITS: usize = 10;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A word: an attribute name, a keyword (`AND`, `LIKE`, ...), a map
    /// access or an entity reference. Always ASCII.
    Word(String),
    /// A single-quoted string literal's content.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// An operator written with symbols (`=`, `!~~*`, `?`, ...).
    Op(Operator),
    LParen,
    RParen,
    Comma,
    /// The end of the input.
    End,
}

/// A token and where it is: `start` is a 0-based char index, `len` a char count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl Token {
    /// Whether the token is the keyword `keyword`, in any case.
    pub(crate) fn is_keyword(&self, keyword: &str) -> bool {
        matches!(&self.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    /// The char index just past the token.
    pub(crate) fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Hands out the tokens of one expression, one at a time, so the first
/// error in reading order is the one reported.
pub(crate) struct Lexer<'a> {
    input: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `input`.
    pub(crate) fn new(input: &'a str) -> Self {
        Lexer {
            input,
            chars: input.chars().collect(),
            pos: 0,
        }
    }

    /// The input text of `len` chars from char `start` (clipped to the input).
    pub(crate) fn slice(&self, start: usize, len: usize) -> String {
        self.chars.iter().skip(start).take(len).collect()
    }

    /// The next token; [`TokenKind::End`] (repeatedly) at the end.
    pub(crate) fn next_token(&mut self) -> Result<Token, WhereError> {
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek(0) else {
            return Ok(self.token(TokenKind::End, start, 1));
        };
        let simple = |kind, len| Some((kind, len));
        let symbol = match (c, self.peek(1), self.peek(2), self.peek(3)) {
            ('(', ..) => simple(TokenKind::LParen, 1),
            (')', ..) => simple(TokenKind::RParen, 1),
            (',', ..) => simple(TokenKind::Comma, 1),
            ('?', ..) => simple(TokenKind::Op(Operator::Contains), 1),
            ('=', Some('='), ..) => {
                return Err(self.error("`==` is not an operator; use `=`", start, 2));
            }
            ('=', ..) => simple(TokenKind::Op(Operator::Eq), 1),
            ('<', Some('>'), ..) => {
                return Err(self.error("`<>` is not supported; use `!=`", start, 2));
            }
            ('<', Some('='), ..) => simple(TokenKind::Op(Operator::Le), 2),
            ('<', ..) => simple(TokenKind::Op(Operator::Lt), 1),
            ('>', Some('='), ..) => simple(TokenKind::Op(Operator::Ge), 2),
            ('>', ..) => simple(TokenKind::Op(Operator::Gt), 1),
            ('!', Some('='), ..) => simple(TokenKind::Op(Operator::Ne), 2),
            ('!', Some('~'), Some('~'), Some('*')) => simple(TokenKind::Op(Operator::NotILike), 4),
            ('!', Some('~'), Some('~'), _) => simple(TokenKind::Op(Operator::NotLike), 3),
            ('!', Some('~'), Some('*'), _) => simple(TokenKind::Op(Operator::NotIMatch), 3),
            ('!', Some('~'), ..) => simple(TokenKind::Op(Operator::NotMatch), 2),
            ('~', Some('~'), Some('*'), _) => simple(TokenKind::Op(Operator::ILike), 3),
            ('~', Some('~'), ..) => simple(TokenKind::Op(Operator::Like), 2),
            ('~', Some('*'), ..) => simple(TokenKind::Op(Operator::IMatch), 2),
            ('~', ..) => simple(TokenKind::Op(Operator::Match), 1),
            _ => None,
        };
        if let Some((kind, len)) = symbol {
            self.pos += len;
            return Ok(self.token(kind, start, len));
        }
        match c {
            '\'' => self.string(start),
            '"' => {
                let len = self.chars[start + 1..]
                    .iter()
                    .position(|&q| q == '"')
                    .map_or(1, |p| p + 2);
                Err(self.error(
                    "string literals use single quotes ('...'), not double quotes",
                    start,
                    len,
                ))
            }
            '0'..='9' => self.integer(start),
            '-' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => self.integer(start),
            'a'..='z' | 'A'..='Z' => Ok(self.word(start)),
            '!' => Err(self.error(
                "unexpected character `!`; did you mean `!=` or `!~`?",
                start,
                1,
            )),
            _ => Err(self.error(unexpected(c), start, 1)),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn token(&self, kind: TokenKind, start: usize, len: usize) -> Token {
        Token { kind, start, len }
    }

    fn error(&self, message: impl Into<String>, start: usize, len: usize) -> WhereError {
        WhereError::at(message, start, len, self.input)
    }

    /// A `'...'` literal starting at `start`. Its content may not hold `'`,
    /// `"` or `\`: ConfigHub string literals have no escapes.
    fn string(&mut self, start: usize) -> Result<Token, WhereError> {
        let mut at = start + 1;
        loop {
            match self.chars.get(at) {
                None => {
                    return Err(self.error(
                        "unterminated string literal: missing closing `'`",
                        start,
                        self.chars.len() - start,
                    ));
                }
                Some('\'') => break,
                Some(&c @ ('"' | '\\')) => {
                    return Err(self.error(
                        format!(
                            "string literals cannot contain `{c}` (ConfigHub strings have no escapes)"
                        ),
                        at,
                        1,
                    ));
                }
                Some(_) => at += 1,
            }
        }
        let content: String = self.chars[start + 1..at].iter().collect();
        let count = at - start - 1;
        if count > MAX_STRING_LEN {
            return Err(self.error(
                format!("string literal is {count} characters long; the limit is {MAX_STRING_LEN}"),
                start,
                at + 1 - start,
            ));
        }
        self.pos = at + 1;
        if self.peek(0) == Some('\'') {
            return Err(self.error(
                "string literals cannot contain `'` (ConfigHub strings have no escapes, so `''` is not supported)",
                at,
                2,
            ));
        }
        Ok(self.token(TokenKind::Str(content), start, self.pos - start))
    }

    /// An integer literal starting at `start`: an optional `-` and at most
    /// ten digits.
    fn integer(&mut self, start: usize) -> Result<Token, WhereError> {
        let mut at = start;
        if self.chars.get(at) == Some(&'-') {
            at += 1;
        }
        let digits_start = at;
        while self.chars.get(at).is_some_and(char::is_ascii_digit) {
            at += 1;
        }
        let digits = at - digits_start;
        if digits > MAX_INT_DIGITS {
            return Err(self.error(
                format!("integer literal has {digits} digits; the limit is {MAX_INT_DIGITS}"),
                start,
                at - start,
            ));
        }
        let text: String = self.chars[start..at].iter().collect();
        let value = text
            .parse()
            .map_err(|_| self.error("invalid integer literal", start, at - start))?;
        self.pos = at;
        Ok(self.token(TokenKind::Int(value), start, at - start))
    }

    /// A word starting at `start` (which holds an ASCII letter).
    fn word(&mut self, start: usize) -> Token {
        let mut at = start;
        while self
            .chars
            .get(at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '*'))
        {
            at += 1;
        }
        let text: String = self.chars[start..at].iter().collect();
        self.pos = at;
        self.token(TokenKind::Word(text), start, at - start)
    }
}

/// The message for a character that cannot start a token.
fn unexpected(c: char) -> String {
    match c {
        '\n' | '\r' => "unexpected line break; only spaces and tabs may separate tokens".to_owned(),
        _ if c.is_whitespace() => format!(
            "unexpected whitespace character U+{:04X}; only spaces and tabs may separate tokens",
            u32::from(c)
        ),
        _ if c.is_control() => format!("unexpected control character U+{:04X}", u32::from(c)),
        _ => format!("unexpected character `{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        let mut lexer = Lexer::new(input);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token().expect("lexes");
            if token.kind == TokenKind::End {
                return out;
            }
            out.push(token.kind);
        }
    }

    fn lex_error(input: &str) -> WhereError {
        let mut lexer = Lexer::new(input);
        loop {
            match lexer.next_token() {
                Ok(token) if token.kind == TokenKind::End => panic!("no error in {input:?}"),
                Ok(_) => {}
                Err(err) => return err,
            }
        }
    }

    fn word(w: &str) -> TokenKind {
        TokenKind::Word(w.to_owned())
    }

    #[test]
    fn splits_without_spaces() {
        assert_eq!(
            kinds("Slug='a'AND\tHeadRevisionNum>=-5"),
            vec![
                word("Slug"),
                TokenKind::Op(Operator::Eq),
                TokenKind::Str("a".into()),
                word("AND"),
                word("HeadRevisionNum"),
                TokenKind::Op(Operator::Ge),
                TokenKind::Int(-5),
            ]
        );
    }

    #[test]
    fn reads_every_symbol_operator() {
        let table = [
            ("=", Operator::Eq),
            ("!=", Operator::Ne),
            ("<", Operator::Lt),
            (">", Operator::Gt),
            ("<=", Operator::Le),
            (">=", Operator::Ge),
            ("~~", Operator::Like),
            ("!~~", Operator::NotLike),
            ("~~*", Operator::ILike),
            ("!~~*", Operator::NotILike),
            ("~", Operator::Match),
            ("~*", Operator::IMatch),
            ("!~", Operator::NotMatch),
            ("!~*", Operator::NotIMatch),
            ("?", Operator::Contains),
        ];
        for (text, op) in table {
            assert_eq!(
                kinds(&format!("a{text}'x'")),
                vec![word("a"), TokenKind::Op(op), TokenKind::Str("x".into())],
                "{text}"
            );
        }
    }

    #[test]
    fn words_hold_map_keys_and_references() {
        assert_eq!(
            kinds("Labels.app-tier/x_1.y ApplyGates.g/f FromLink.*.Slug LEN(ApprovedBy)"),
            vec![
                word("Labels.app-tier/x_1.y"),
                word("ApplyGates.g/f"),
                word("FromLink.*.Slug"),
                word("LEN"),
                TokenKind::LParen,
                word("ApprovedBy"),
                TokenKind::RParen,
            ]
        );
    }

    #[test]
    fn positions_are_in_chars() {
        let mut lexer = Lexer::new("'éé' Slug");
        let first = lexer.next_token().expect("string");
        assert_eq!((first.start, first.len), (0, 4));
        let second = lexer.next_token().expect("word");
        assert_eq!((second.start, second.len), (5, 4));
        let end = lexer.next_token().expect("end");
        assert_eq!((end.kind, end.start), (TokenKind::End, 9));
        assert_eq!(lexer.slice(5, 4), "Slug");
        assert_eq!(lexer.slice(8, 10), "g");
    }

    #[test]
    fn string_limits() {
        assert_eq!(kinds("''"), vec![TokenKind::Str(String::new())]);
        let ok = format!("'{}'", "é".repeat(MAX_STRING_LEN));
        assert_eq!(kinds(&ok).len(), 1);
        let err = lex_error(&format!("'{}'", "a".repeat(MAX_STRING_LEN + 1)));
        assert_eq!((err.column, err.len), (1, MAX_STRING_LEN + 3));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("Slug = 'abc", 8, 4, "unterminated string literal"),
            ("Slug = 'a\"b'", 10, 1, "cannot contain `\"`"),
            ("Slug = 'a\\b'", 10, 1, "cannot contain `\\`"),
            ("Slug = 'it''s'", 11, 2, "`''` is not supported"),
            ("Slug = \"x\"", 8, 3, "single quotes"),
            ("Slug == 'x'", 6, 2, "use `=`"),
            ("Slug <> 'x'", 6, 2, "use `!=`"),
            ("Slug ! 'x'", 6, 1, "unexpected character `!`"),
            ("Slug = 'x' & y", 12, 1, "unexpected character `&`"),
            ("Slug = 'x' é", 12, 1, "unexpected character `é`"),
            ("Slug\n= 'x'", 5, 1, "line break"),
            ("N = 12345678901", 5, 11, "11 digits"),
            ("N = -", 5, 1, "unexpected character `-`"),
        ];
        for (input, column, len, text) in cases {
            let err = lex_error(input);
            assert_eq!((err.column, err.len), (column, len), "{input}: {err}");
            assert!(err.message.contains(text), "{input}: {}", err.message);
        }
        assert_eq!(
            kinds("N = -1234567890"),
            vec![
                word("N"),
                TokenKind::Op(Operator::Eq),
                TokenKind::Int(-1_234_567_890)
            ]
        );
    }
}
