//! What a registry accepts as a package name and a version. The same rules
//! check path parameters, so `..`, encoded slashes and over-long segments
//! never reach storage.

/// The longest package name.
pub const MAX_NAME_LEN: usize = 64;
/// The longest version string.
pub const MAX_VERSION_LEN: usize = 128;
/// Names the registry API uses as path segments of its own.
pub const RESERVED_NAMES: &[&str] = &["search", "index", "new"];

/// Checks a package name: 1-64 bytes of lowercase ASCII letters, digits,
/// `-`, `_` and `.`, starting with a letter or digit, and not reserved.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a package name must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "package name `{}…` is longer than {MAX_NAME_LEN} bytes",
            shown(name)
        ));
    }
    let first_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let all_ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if !first_ok || !all_ok {
        return Err(format!(
            "package name `{}` must start with a lowercase letter or digit and hold only lowercase letters, digits, `-`, `_` and `.`",
            shown(name)
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(format!("package name `{name}` is reserved"));
    }
    Ok(())
}

/// Checks a version: semver, at most 128 bytes. Returns it parsed.
pub fn check_version(version: &str) -> Result<semver::Version, String> {
    if version.len() > MAX_VERSION_LEN {
        return Err(format!(
            "version `{}…` is longer than {MAX_VERSION_LEN} bytes",
            shown(version)
        ));
    }
    semver::Version::parse(version)
        .map_err(|e| format!("version `{}` is not semver ({e})", shown(version)))
}

/// At most 40 characters of `text`, control characters escaped, for messages.
fn shown(text: &str) -> String {
    text.chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["drift-detector", "a", "app.v2", "x_1", "9lives"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "..", ".hidden", "-x", "Upper", "a/b", "a%2Fb", "a b", "search", "é",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(64)).is_ok());
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn versions() {
        assert!(check_version("1.2.3-rc.1+build.5").is_ok());
        assert!(check_version("1.2").is_err());
        assert!(check_version("..").is_err());
        assert!(check_version(&format!("1.0.0-{}", "a".repeat(200))).is_err());
    }
}
