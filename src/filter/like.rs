//! SQL `LIKE` / `ILIKE` pattern matching: `%` matches any run of chars, `_`
//! exactly one, everything else itself; the whole string must match.
//!
//! Matching never backtracks exponentially: the pattern is split at `%` into
//! fixed-length segments; the first is anchored at the start, the last at the
//! end, and each middle one is found at its leftmost position, which is always
//! the best choice for the segments after it. The cost is at most
//! text length × pattern length.

/// One pattern position: a literal char, or `None` for `_`.
type Segment = Vec<Option<char>>;

/// A compiled `LIKE` (or, case-insensitive, `ILIKE`) pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LikePattern {
    /// The pattern split at `%`; one segment means there was no `%`.
    segments: Vec<Segment>,
    /// Whether both sides are lower-cased before matching (`ILIKE`).
    case_insensitive: bool,
}

impl LikePattern {
    /// Compiles `pattern`. There is no escape character: ConfigHub string
    /// literals cannot contain a backslash.
    pub(crate) fn new(pattern: &str, case_insensitive: bool) -> Self {
        let source = if case_insensitive {
            pattern.to_lowercase()
        } else {
            pattern.to_owned()
        };
        let segments = source
            .split('%')
            .map(|part| part.chars().map(|c| (c != '_').then_some(c)).collect())
            .collect();
        LikePattern {
            segments,
            case_insensitive,
        }
    }

    /// Whether the whole of `text` matches the pattern.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = if self.case_insensitive {
            text.to_lowercase().chars().collect()
        } else {
            text.chars().collect()
        };
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return text.len() == first.len() && matches_at(first, &text, 0);
        };
        if text.len() < first.len() + last.len() {
            return false;
        }
        let end = text.len() - last.len();
        if !matches_at(first, &text, 0) || !matches_at(last, &text, end) {
            return false;
        }
        let mut pos = first.len();
        for segment in middle {
            match find(segment, &text[pos..end]) {
                Some(found) => pos += found + segment.len(),
                None => return false,
            }
        }
        true
    }
}

/// Whether `segment` matches `text` starting at `at`.
fn matches_at(segment: &[Option<char>], text: &[char], at: usize) -> bool {
    match text.get(at..at + segment.len()) {
        Some(window) => segment
            .iter()
            .zip(window)
            .all(|(p, c)| p.is_none_or(|p| p == *c)),
        None => false,
    }
}

/// The leftmost position in `text` where `segment` matches.
fn find(segment: &[Option<char>], text: &[char]) -> Option<usize> {
    if segment.len() > text.len() {
        return None;
    }
    (0..=text.len() - segment.len()).find(|&at| matches_at(segment, text, at))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn like(pattern: &str, text: &str) -> bool {
        LikePattern::new(pattern, false).is_match(text)
    }

    fn ilike(pattern: &str, text: &str) -> bool {
        LikePattern::new(pattern, true).is_match(text)
    }

    #[test]
    fn literal_patterns_match_the_whole_string() {
        assert!(like("abc", "abc"));
        assert!(!like("abc", "abcd"));
        assert!(!like("abc", "xabc"));
        assert!(!like("abc", "ABC"));
    }

    #[test]
    fn percent_matches_any_run() {
        assert!(like("%", ""));
        assert!(like("%", "anything"));
        assert!(like("%%", ""));
        assert!(like("back%", "backend"));
        assert!(like("back%", "back"));
        assert!(!like("back%", "fullback"));
        assert!(like("%end", "backend"));
        assert!(like("%ck%", "backend"));
        assert!(like("a%b%c", "aXXbYYc"));
        assert!(like("a%b%c", "abc"));
        assert!(!like("a%b%c", "acb"));
        assert!(!like("ab%ba", "aba"));
        assert!(like("ab%ba", "abba"));
    }

    #[test]
    fn underscore_matches_exactly_one_char() {
        assert!(like("a_c", "abc"));
        assert!(like("a_c", "aéc"));
        assert!(!like("a_c", "ac"));
        assert!(!like("a_c", "abbc"));
        assert!(like("_", "x"));
        assert!(!like("_", ""));
        assert!(like("%_", "x"));
        assert!(!like("%_", ""));
        assert!(like("_%_", "xy"));
        assert!(!like("_%_", "x"));
    }

    #[test]
    fn empty_pattern_matches_only_the_empty_string() {
        assert!(like("", ""));
        assert!(!like("", "a"));
    }

    #[test]
    fn ilike_ignores_case() {
        assert!(ilike("%BACKEND%", "my-Backend-1"));
        assert!(ilike("STRAẞE", "straße"));
        assert!(ilike("ÉTÉ", "été"));
        assert!(!ilike("abc", "abd"));
    }

    #[test]
    fn pathological_patterns_finish_fast() {
        let text = "a".repeat(100_000);
        let started = Instant::now();
        assert!(!like("%a%a%a%a%a%a%a%a%a%a%b", &text));
        assert!(like("%a%a%a%a%a%a%a%a%a%a%", &text));
        let long = format!("%{}b%", "a".repeat(200));
        assert!(!like(&long, &text));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
