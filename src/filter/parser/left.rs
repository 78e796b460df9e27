//! The left operand of a clause: an attribute checked against the kind's
//! allow-list, a map key (`Labels.<key>`), or `LEN(attribute)`.

use crate::filter::ast::Left;
use crate::filter::attributes::{AttrType, attribute_names, attribute_type};
use crate::filter::error::WhereError;
use crate::filter::lexer::{Token, TokenKind};
use crate::filter::suggest::closest;
use crate::filter::value::ScalarKind;
use crate::model::ResourceKind;

use super::{MAX_ATTRIBUTE_LEN, MAX_KEY_LEN, Parser};

impl Parser<'_> {
    /// `LEN ( attribute )`, the `LEN` already read.
    pub(super) fn len_operand(&mut self, len_token: &Token) -> Result<Left, WhereError> {
        let open = self.next()?;
        if open.kind != TokenKind::LParen {
            return Err(self.error_at(
                &open,
                format!("expected `(` after `LEN`, found {}", self.describe(&open)),
            ));
        }
        let name_token = self.next()?;
        let TokenKind::Word(name) = &name_token.kind else {
            return Err(self.error_at(
                &name_token,
                format!(
                    "expected an attribute name inside `LEN()`, found {}",
                    self.describe(&name_token)
                ),
            ));
        };
        self.check_attribute_name(name, &name_token)?;
        let ty = self.lookup(name, name_token.start, name_token.len, false)?;
        if ty != AttrType::UuidList {
            return Err(self.error_at(
                &name_token,
                format!(
                    "`LEN()` only applies to list attributes such as `ApprovedBy`; `{name}` is {ty}"
                ),
            ));
        }
        let close = self.next()?;
        if close.kind != TokenKind::RParen {
            return Err(self.error_at(
                &close,
                format!(
                    "expected `)` to close `{}`, found {}",
                    self.lexer
                        .slice(len_token.start, name_token.end() - len_token.start),
                    self.describe(&close)
                ),
            ));
        }
        Ok(Left::Len { name: name.clone() })
    }

    /// A word on the left: an attribute, a map entry or an entity reference.
    pub(super) fn left_word(&self, word: &str, token: &Token) -> Result<Left, WhereError> {
        if let Some((head, rest)) = word.split_once('.') {
            // Words are ASCII, so byte offsets are char offsets.
            let key_start = token.start + head.len() + 1;
            return match attribute_type(self.kind, head) {
                Some(AttrType::Map) => {
                    self.check_key(rest, key_start, head, true)?;
                    Ok(Left::MapEntry {
                        map: head.to_owned(),
                        key: rest.to_owned(),
                        kind: ScalarKind::Str,
                    })
                }
                Some(AttrType::BoolMap) => {
                    let Some((slug, function)) = rest.split_once('/') else {
                        return Err(self.error(
                            format!("expected `{head}.<slug>/<function>`, found `{word}`"),
                            key_start,
                            rest.len(),
                        ));
                    };
                    self.check_key(slug, key_start, "gate slug", false)?;
                    self.check_key(function, key_start + slug.len() + 1, "function name", false)?;
                    Ok(Left::MapEntry {
                        map: head.to_owned(),
                        key: rest.to_owned(),
                        kind: ScalarKind::Bool,
                    })
                }
                Some(ty) => Err(self.error(
                    format!(
                        "`{head}` is {ty}, not a map; only Labels, Annotations and ApplyGates \
                         take `.<key>`"
                    ),
                    token.start,
                    token.len,
                )),
                None if matches!(head, "Labels" | "Annotations" | "ApplyGates") => {
                    Err(self.unknown_attribute(head, token.start, head.len(), false))
                }
                None => Err(self.entity_reference(word, token)),
            };
        }
        self.check_attribute_name(word, token)?;
        match self.lookup(word, token.start, token.len, false)? {
            AttrType::Map => Err(self.error_at(
                token,
                format!(
                    "`{word}` is a map; compare one entry with `{word}.<key>`, \
                     as in `{word}.app = 'web'`"
                ),
            )),
            AttrType::BoolMap => Err(self.error_at(
                token,
                format!(
                    "`{word}` is a map of booleans; test one entry with \
                     `{word}.<slug>/<function>`"
                ),
            )),
            AttrType::UuidList => Ok(Left::List {
                name: word.to_owned(),
            }),
            ty => Ok(Left::Attribute {
                name: word.to_owned(),
                kind: ScalarKind::of(ty).unwrap_or(ScalarKind::Str),
            }),
        }
    }

    pub(super) fn entity_reference(&self, word: &str, token: &Token) -> WhereError {
        self.error_at(
            token,
            format!(
                "entity references such as `{word}` are not supported; pkg filters on the \
                 resource's own attributes only"
            ),
        )
    }

    /// Checks a map key (`label` true: `Labels`/`Annotations` key rules) or a
    /// gate slug / function name starting at char `start`.
    pub(super) fn check_key(
        &self,
        key: &str,
        start: usize,
        what: &str,
        label: bool,
    ) -> Result<(), WhereError> {
        let what = if label {
            format!("{what} key")
        } else {
            what.to_owned()
        };
        if key.is_empty() {
            return Err(self.error(format!("missing {what}"), start, 1));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(self.error(
                format!(
                    "{what} is {} characters long; the limit is {MAX_KEY_LEN}",
                    key.len()
                ),
                start,
                key.len(),
            ));
        }
        let inner_ok = |c: char| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_') || (label && matches!(c, '.' | '/'))
        };
        let ends_ok = key.starts_with(|c: char| c.is_ascii_alphanumeric())
            && key.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ends_ok || !key.chars().all(inner_ok) {
            let allowed = if label {
                "letters, digits, `-`, `_`, `.` and `/`"
            } else {
                "letters, digits, `-` and `_`"
            };
            return Err(self.error(
                format!(
                    "invalid {what} `{key}`: it must start and end with a letter or digit and \
                     contain only {allowed}"
                ),
                start,
                key.len(),
            ));
        }
        Ok(())
    }

    /// Checks the shape of an attribute name: 1–41 letters.
    pub(super) fn check_attribute_name(&self, name: &str, token: &Token) -> Result<(), WhereError> {
        if !name.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(self.error_at(
                token,
                format!("invalid attribute name `{name}`: attribute names contain only letters"),
            ));
        }
        if name.len() > MAX_ATTRIBUTE_LEN {
            return Err(self.error_at(
                token,
                format!(
                    "attribute name is {} characters long; the limit is {MAX_ATTRIBUTE_LEN}",
                    name.len()
                ),
            ));
        }
        Ok(())
    }

    /// The type of attribute `name`, or an "unknown attribute" error.
    pub(super) fn lookup(
        &self,
        name: &str,
        start: usize,
        len: usize,
        right_side: bool,
    ) -> Result<AttrType, WhereError> {
        attribute_type(self.kind, name)
            .ok_or_else(|| self.unknown_attribute(name, start, len, right_side))
    }

    pub(super) fn unknown_attribute(
        &self,
        name: &str,
        start: usize,
        len: usize,
        right_side: bool,
    ) -> WhereError {
        let allowed = attribute_names(self.kind);
        let mut message = format!("unknown attribute `{name}` for {}", self.kind);
        if let Some(suggestion) = closest(name, allowed) {
            message.push_str(&format!(" (did you mean `{suggestion}`?)"));
        } else {
            let others: Vec<&str> = ResourceKind::ALL
                .into_iter()
                .filter(|k| attribute_type(*k, name).is_some())
                .map(ResourceKind::name)
                .collect();
            if !others.is_empty() {
                message.push_str(&format!(" (it is an attribute of {})", others.join(", ")));
            } else if right_side {
                message.push_str(&format!(" (string literals take single quotes: '{name}')"));
            }
        }
        message.push_str("; allowed: ");
        message.push_str(&allowed.join(", "));
        self.error(message, start, len)
    }
}
