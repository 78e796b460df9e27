//! The `--where` language: ConfigHub's where grammar, parsed into an AST and
//! evaluated against resources in memory (never pasted into SQL).
//!
//! [`WhereFilter::parse`] checks an expression for one [`ResourceKind`]
//! (names against that kind's allow-list, operators and literals against
//! each attribute's type) and reports problems as a [`WhereError`] that
//! points at the offending column. [`WhereFilter::matches`] then tests any
//! resource that implements [`Subject`]. The user guide is `docs/where.md`.
//!
//! Files: `lexer` (tokens), `parser` (grammar and checks, [`WhereFilter`]),
//! `ast` (the parsed form), `attributes` (allow-lists and types), `value`
//! (typed values and comparison), `like` (LIKE matching), `time` (RFC 3339
//! instants), `eval` ([`Subject`] and evaluation), `suggest` (did-you-mean),
//! `error` ([`WhereError`]).
//!
//! [`ResourceKind`]: crate::model::ResourceKind

mod ast;
mod attributes;
mod error;
mod eval;
mod lexer;
mod like;
mod parser;
mod suggest;
#[cfg(test)]
mod testing;
mod time;
mod value;

pub use attributes::{AttrType, attribute_names, attribute_type};
pub use error::WhereError;
pub use eval::{AttrValue, Subject};
pub use parser::WhereFilter;
