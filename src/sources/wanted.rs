//! Which entries of an index a command needs. A cached or remembered index
//! is decoded without copying, and only the entries a command wants become
//! [`IndexEntry`](super::IndexEntry) values: `pkg search` over tens of
//! thousands of cached versions builds only the few that match.

/// The entries a command needs from every source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Wanted {
    /// Every entry (the merged index, resolution).
    #[default]
    All,
    /// The versions of one package.
    Name(String),
    /// Entries whose name or description contains the text, ignoring case.
    Matching(String),
}

impl Wanted {
    /// Entries whose name or description contains `query`, ignoring case.
    pub fn matching(query: &str) -> Wanted {
        Wanted::Matching(query.to_lowercase())
    }

    /// Whether an entry named `name` and described as `description` is wanted.
    pub fn accepts(&self, name: &str, description: &str) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Name(wanted) => name == wanted,
            Wanted::Matching(lower) => {
                contains_folded(name, lower) || contains_folded(description, lower)
            }
        }
    }
}

/// Whether `text` contains `lower` (already lower case), ignoring case;
/// ASCII text is compared without allocating.
pub fn contains_folded(text: &str, lower: &str) -> bool {
    if text.is_ascii() && lower.is_ascii() {
        let (t, q) = (text.as_bytes(), lower.as_bytes());
        return q.is_empty() || t.windows(q.len()).any(|w| w.eq_ignore_ascii_case(q));
    }
    text.to_lowercase().contains(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_entries() {
        assert!(Wanted::All.accepts("app", ""));
        assert!(Wanted::Name("app".into()).accepts("app", "x"));
        assert!(!Wanted::Name("app".into()).accepts("apps", "app"));
        let q = Wanted::matching("DRIFT");
        assert!(q.accepts("drift-detector", ""));
        assert!(q.accepts("x", "Finds Drift"));
        assert!(!q.accepts("x", "nothing"));
        assert!(Wanted::matching("ü").accepts("x", "Über Ü"));
        assert!(Wanted::matching("").accepts("x", ""));
    }
}
