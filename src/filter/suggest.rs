//! "Did you mean" hints: the allowed name closest to a misspelt one.

/// The candidate closest to `name`, ignoring case, when it is at most two
/// edits away. A candidate equal to `name` but for case always wins; ties go
/// to the earlier candidate.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&wanted, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between `a` and `b`, in chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("slug", "slgu"), 2);
        assert_eq!(distance("été", "ete"), 2);
    }

    #[test]
    fn suggests_close_names_only() {
        let names = ["DisplayName", "Slug", "SpaceID"];
        assert_eq!(closest("slug", &names), Some("Slug"));
        assert_eq!(closest("SLUG", &names), Some("Slug"));
        assert_eq!(closest("Slag", &names), Some("Slug"));
        assert_eq!(closest("DisplayNmae", &names), Some("DisplayName"));
        assert_eq!(closest("SpaceId", &names), Some("SpaceID"));
        assert_eq!(closest("Foo", &names), None);
        assert_eq!(closest("", &names), None);
    }
}
