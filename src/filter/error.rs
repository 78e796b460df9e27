//! The error a where expression gets when it does not parse: a message, the
//! column it points at and a caret rendering of the input.

use std::fmt;

/// A parse error that points at the offending part of the input.
///
/// `Display` prints three lines: `<message> (column N)`, the input indented
/// by two spaces, and a line of carets under the offending characters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct WhereError {
    /// What is wrong, without the position.
    pub message: String,
    /// The 1-based column of the first offending character, counted in chars.
    pub column: usize,
    /// How many chars to underline; at least 1.
    pub len: usize,
    /// The whole expression as the user wrote it.
    pub input: String,
}

impl WhereError {
    /// An error at the 0-based char index `start`, underlining `len` chars.
    pub(crate) fn at(message: impl Into<String>, start: usize, len: usize, input: &str) -> Self {
        WhereError {
            message: message.into(),
            column: start + 1,
            len: len.max(1),
            input: input.to_owned(),
        }
    }
}

impl fmt::Display for WhereError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (column {})", self.message, self.column)?;
        f.write_str("  ")?;
        for c in self.input.chars() {
            // Keep the input on one line so the caret stays under it.
            if c == '\t' || !c.is_control() {
                write!(f, "{c}")?;
            } else {
                f.write_str("\u{FFFD}")?;
            }
        }
        f.write_str("\n  ")?;
        let before = self.column.saturating_sub(1);
        let mut chars = self.input.chars();
        for _ in 0..before {
            // Reuse tabs so the caret lines up with tab-separated input.
            let pad = if chars.next() == Some('\t') {
                '\t'
            } else {
                ' '
            };
            write!(f, "{pad}")?;
        }
        f.write_str(&"^".repeat(self.len.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_underlines_the_span() {
        let err = WhereError::at("bad", 4, 3, "abc defg");
        assert_eq!(err.column, 5);
        assert_eq!(err.to_string(), "bad (column 5)\n  abc defg\n      ^^^");
    }

    #[test]
    fn display_at_end_of_input_and_with_tabs() {
        let err = WhereError::at("missing", 3, 0, "a\tb");
        assert_eq!(err.len, 1);
        assert_eq!(err.to_string(), "missing (column 4)\n  a\tb\n   \t ^");
    }

    #[test]
    fn display_replaces_line_breaks() {
        let err = WhereError::at("odd", 1, 1, "a\nb");
        assert_eq!(err.to_string(), "odd (column 2)\n  a\u{FFFD}b\n   ^");
    }

    #[test]
    fn display_counts_chars_not_bytes() {
        let err = WhereError::at("x", 2, 1, "éé x");
        assert_eq!(err.to_string(), "x (column 3)\n  éé x\n    ^");
    }
}
