//! A problem found while validating a package: which file, which field,
//! what is wrong.

use std::fmt;

use serde::Serialize;

/// One thing wrong with a package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// The package file the problem is in (`manifest.json`, `/units/a/b.json`).
    pub file: String,
    /// The field, as a path (`units[3].slug`), or empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem in `file` at `field`.
    pub fn new(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            file: file.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = crate::model::slug::escape(&self.file);
        if self.field.is_empty() {
            write!(f, "{file}: {}", self.message)
        } else {
            write!(
                f,
                "{file}: {}: {}",
                crate::model::slug::escape(&self.field),
                self.message
            )
        }
    }
}
