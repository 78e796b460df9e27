//! ConfigHub slugs: the names of resources, and the `space/slug` references
//! that point at them.

use thiserror::Error;

/// The longest slug ConfigHub accepts.
pub const MAX_SLUG_LEN: usize = 128;

/// Why a string is not a valid slug.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SlugError {
    /// The string is empty.
    #[error("a slug may not be empty")]
    Empty,
    /// The string is longer than [`MAX_SLUG_LEN`].
    #[error("slug `{}...` is {len} characters long; the limit is 128", truncate(.slug))]
    TooLong {
        /// The offending slug.
        slug: String,
        /// Its length.
        len: usize,
    },
    /// The string has a character or a shape slugs may not have.
    #[error(
        "`{}` is not a valid slug: use letters, digits, `-` and `_`, starting and ending with a letter or digit",
        escape(.0)
    )]
    Invalid(String),
}

fn truncate(s: &str) -> String {
    escape(&s.chars().take(40).collect::<String>())
}

/// Escapes control characters (newlines, ANSI escapes, ...) so that hostile
/// names cannot drive the terminal; everything else is kept as written.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks `slug` against ConfigHub's slug rule:
/// `^[A-Za-z0-9]([-_A-Za-z0-9]*[A-Za-z0-9])?$`, at most 128 characters.
///
/// ```
/// use pkg::model::validate_slug;
/// assert!(validate_slug("app-dev").is_ok());
/// assert!(validate_slug("-app").is_err());
/// assert!(validate_slug("../etc").is_err());
/// ```
pub fn validate_slug(slug: &str) -> Result<(), SlugError> {
    if slug.is_empty() {
        return Err(SlugError::Empty);
    }
    if slug.len() > MAX_SLUG_LEN {
        return Err(SlugError::TooLong {
            slug: slug.to_string(),
            len: slug.chars().count(),
        });
    }
    let bytes = slug.as_bytes();
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
    let ends_ok =
        bytes[0].is_ascii_alphanumeric() && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if inner_ok && ends_ok {
        Ok(())
    } else {
        Err(SlugError::Invalid(slug.to_string()))
    }
}

/// Splits a `"<space>/<slug>"` reference into its two slugs.
///
/// Returns `None` when there is not exactly one `/`.
pub fn split_reference(reference: &str) -> Option<(&str, &str)> {
    let (space, slug) = reference.split_once('/')?;
    if slug.contains('/') {
        return None;
    }
    Some((space, slug))
}

/// The space slug a load writes for `space` under `prefix`: `P-<space>`, as `cub` does.
///
/// ```
/// use pkg::model::slug::prefixed_space;
/// assert_eq!(prefixed_space(Some("staging"), "shop"), "staging-shop");
/// assert_eq!(prefixed_space(None, "shop"), "shop");
/// ```
pub fn prefixed_space(prefix: Option<&str>, space: &str) -> String {
    match prefix {
        Some(p) if !p.is_empty() => format!("{p}-{space}"),
        _ => space.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_confighub_slugs() {
        for ok in ["a", "A9", "app-dev", "my_app-2", "x".repeat(128).as_str()] {
            assert_eq!(validate_slug(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_slugs() {
        assert_eq!(validate_slug(""), Err(SlugError::Empty));
        for bad in [
            "-a", "a-", "_a", "a b", "a/b", "..", ".", "é", "a\nb", "a.b",
        ] {
            assert!(
                matches!(validate_slug(bad), Err(SlugError::Invalid(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            validate_slug(&"x".repeat(129)),
            Err(SlugError::TooLong { len: 129, .. })
        ));
    }

    #[test]
    fn escape_keeps_printable_text() {
        assert_eq!(escape("it's \"é\" \\ ok"), "it's \"é\" \\ ok");
        assert_eq!(escape("a\nb\u{1b}"), "a\\nb\\u{1b}");
    }

    #[test]
    fn error_messages_escape_control_characters() {
        let message = validate_slug("a\u{1b}[31mb").unwrap_err().to_string();
        assert!(message.contains("\\u{1b}"), "{message}");
    }

    #[test]
    fn splits_references() {
        assert_eq!(split_reference("prod/web"), Some(("prod", "web")));
        assert_eq!(split_reference("web"), None);
        assert_eq!(split_reference("a/b/c"), None);
    }

    #[test]
    fn prefixes_spaces_like_cub() {
        assert_eq!(prefixed_space(Some("staging"), "app"), "staging-app");
        assert_eq!(prefixed_space(None, "app"), "app");
        assert_eq!(prefixed_space(Some(""), "app"), "app");
    }
}
