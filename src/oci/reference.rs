//! `oci://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]` references, and the
//! mapping between package versions and tags: OCI tags cannot hold `+`,
//! so build metadata is written with `_` (as Helm does).

use std::fmt;

/// A package in an OCI registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// The registry host, with its port when given.
    pub host: String,
    /// The repository path (lower case, `/`-separated).
    pub repository: String,
    /// The tag, when one was given.
    pub tag: Option<String>,
    /// The manifest digest (`sha256:...`), when one was given.
    pub digest: Option<String>,
}

/// Why a reference is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{given}` is not an OCI reference (oci://HOST/REPO:VERSION or oci://HOST/REPO@sha256:DIGEST): {reason}"
)]
pub struct RefError {
    /// The text given.
    pub given: String,
    /// What is wrong.
    pub reason: String,
}

/// The longest reference accepted.
const MAX_REF_LEN: usize = 1024;

impl OciRef {
    /// Parses `oci://HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]`.
    pub fn parse(text: &str) -> Result<OciRef, RefError> {
        let fail = |reason: &str| RefError {
            given: crate::model::slug::escape(text),
            reason: reason.to_string(),
        };
        if text.len() > MAX_REF_LEN {
            return Err(fail("it is too long"));
        }
        // The scheme is case-insensitive, as URL schemes are.
        let rest = text
            .get(..6)
            .filter(|scheme| scheme.eq_ignore_ascii_case("oci://"))
            .and_then(|_| text.get(6..))
            .ok_or_else(|| fail("it does not start with oci://"))?;
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| fail("it names no repository after the host"))?;
        check_host(host).map_err(|r| fail(&r))?;
        let (path, digest) = match path.split_once('@') {
            Some((p, d)) => (p, Some(d)),
            None => (path, None),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, Some(t)),
            _ => (path, None),
        };
        check_repository(repository).map_err(|r| fail(&r))?;
        if let Some(tag) = tag {
            check_tag(tag).map_err(|r| fail(&r))?;
        }
        if let Some(digest) = digest {
            check_digest(digest).map_err(|r| fail(&r))?;
        }
        Ok(OciRef {
            host: host.to_string(),
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// Whether the text is an `oci://` reference (well formed or not).
    pub fn is_oci(text: &str) -> bool {
        text.get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("oci://"))
    }

    /// The same repository at `tag` (no digest).
    pub fn with_tag(&self, tag: &str) -> OciRef {
        OciRef {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository at `digest` (the tag kept for people).
    pub fn with_digest(&self, digest: &str) -> OciRef {
        OciRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// Whether the host is a loopback address (`localhost`, `127.x`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        let name = match self.host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => self.host.split(':').next().unwrap_or(""),
        };
        name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}/{}", self.host, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    let ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !ok {
        return Err(format!(
            "host `{}` holds a character hosts cannot",
            crate::model::slug::escape(host)
        ));
    }
    Ok(())
}

/// The distribution spec's repository name grammar: lower-case components
/// of `[a-z0-9]+` joined by `.`, `_`, `__` or `-`s, separated by `/`.
fn check_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("the repository is empty".into());
    }
    if repository.len() > 255 {
        return Err("the repository is longer than 255 characters".into());
    }
    for component in repository.split('/') {
        let ok = !component.is_empty()
            && component.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(format!(
                "repository component `{}` must be lower-case letters and digits, joined by `.`, `_` or `-`",
                crate::model::slug::escape(component)
            ));
        }
    }
    Ok(())
}

/// The longest tag the distribution spec allows.
pub const MAX_TAG_LEN: usize = 128;

/// The distribution spec's tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else if tag.contains('+') {
        Err(format!(
            "tag `{}` holds `+`, which OCI tags cannot: write it as `{}`",
            crate::model::slug::escape(tag),
            tag.replace('+', "_")
        ))
    } else {
        Err(format!(
            "tag `{}` must be letters, digits, `_`, `.` and `-` (at most 128)",
            crate::model::slug::escape(tag)
        ))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let hex = digest.strip_prefix("sha256:").ok_or_else(|| {
        format!(
            "digest `{}` is not sha256:HEX",
            crate::model::slug::escape(digest)
        )
    })?;
    if hex.len() != 64
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(format!(
            "digest `{}` is not sha256: and 64 lower-case hex digits",
            crate::model::slug::escape(digest)
        ));
    }
    Ok(())
}

/// The tag a version is pushed as: `+` (build metadata) becomes `_`.
pub fn tag_for_version(version: &semver::Version) -> String {
    version.to_string().replace('+', "_")
}

/// The version a tag stands for, when it is one (`_` read back as `+`;
/// a leading `v` allowed).
pub fn version_of_tag(tag: &str) -> Option<semver::Version> {
    let text = tag.strip_prefix('v').unwrap_or(tag).replacen('_', "+", 1);
    semver::Version::parse(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_print_back() {
        let r = OciRef::parse("oci://127.0.0.1:5000/team/shop:1.2.0").unwrap();
        assert_eq!(r.host, "127.0.0.1:5000");
        assert_eq!(
            OciRef::parse("OCI://127.0.0.1:5000/team/shop:1.2.0").unwrap(),
            r
        );
        assert_eq!(r.repository, "team/shop");
        assert_eq!(r.tag.as_deref(), Some("1.2.0"));
        assert!(r.is_loopback());
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/team/shop:1.2.0");
        let d = format!("oci://ghcr.io/acme/shop@sha256:{}", "a".repeat(64));
        let r = OciRef::parse(&d).unwrap();
        assert_eq!(r.tag, None);
        assert!(!r.is_loopback());
        assert_eq!(r.to_string(), d);
        assert_eq!(OciRef::parse("oci://h/shop").unwrap().tag, None);
    }

    #[test]
    fn bad_references_are_refused_with_the_reason() {
        for (text, why) in [
            ("https://h/shop:1", "oci://"),
            ("oci://h", "no repository"),
            ("oci://h/Shop:1", "lower-case"),
            ("oci://h/shop:1.0.0+build.1", "write it as `1.0.0_build.1`"),
            ("oci://h/shop@sha256:xyz", "64 lower-case hex"),
            ("oci://h/shop@md5:00", "sha256:HEX"),
            ("oci://h\u{7f}x/shop", "host"),
            ("oci:///shop", "host is empty"),
            ("oci://h//shop", "repository component"),
        ] {
            let err = OciRef::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn versions_map_to_tags_and_back() {
        let v = semver::Version::parse("1.2.3-rc.1+build.5").unwrap();
        let tag = tag_for_version(&v);
        assert_eq!(tag, "1.2.3-rc.1_build.5");
        assert_eq!(version_of_tag(&tag), Some(v));
        assert_eq!(version_of_tag("v2.0.0").unwrap().major, 2);
        assert_eq!(version_of_tag("latest"), None);
    }
}
