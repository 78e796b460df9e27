//! What a signature vouches for, held against what was asked for. A valid
//! signature only proves that its key signed *some* manifest: a registry,
//! a tag or an index can still serve a signed package of another version
//! (an old, vulnerable release) or another name in place of the one asked
//! for. This module owns that check, and the check that the manifest a
//! load reads is the one whose signature was verified.

use super::{SignError, Signer};

/// What a load asked for, which a signed manifest must state: the version
/// an OCI tag, a registry or a source's index names, and the package name
/// where the reference names one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    /// The package name asked for, when the reference names one.
    pub name: Option<String>,
    /// The version asked for, when the reference names one.
    pub version: Option<String>,
}

impl Asked {
    /// Nothing in particular (a path, a URL, a digest pin).
    pub fn nothing() -> Asked {
        Asked::default()
    }

    /// `name@version`.
    pub fn package(name: &str, version: &str) -> Asked {
        Asked {
            name: Some(name.to_string()),
            version: Some(version.to_string()),
        }
    }

    /// A version only (an OCI tag: the repository path is not the name).
    pub fn version(version: &str) -> Asked {
        Asked {
            name: None,
            version: Some(version.to_string()),
        }
    }
}

/// Whether two version strings name the same version: equal as text, or
/// equal as semver (so `1.0.0+build` matches itself however it was
/// spelled, and a leading `v` does not matter).
fn same_version(a: &str, b: &str) -> bool {
    let parse = |v: &str| semver::Version::parse(v.strip_prefix('v').unwrap_or(v)).ok();
    a == b || matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

impl Signer {
    /// Refuses a signature of another package than `asked`: the signed
    /// manifest must state the version asked for (a manifest without a
    /// version vouches for none), and its name when it has one.
    pub fn vouches_for(&self, asked: &Asked) -> Result<(), SignError> {
        let signed = super::label(self.name.as_deref(), self.version.as_deref());
        let other = |what: &str| SignError::OtherPackage {
            signed: signed.clone(),
            asked: what.to_string(),
        };
        if let Some(version) = &asked.version {
            match &self.version {
                Some(v) if same_version(v, version) => {}
                _ => return Err(other(&format!("version {version}"))),
            }
        }
        if let (Some(name), Some(signed_name)) = (&asked.name, &self.name)
            && name != signed_name
        {
            return Err(other(&format!("package `{name}`")));
        }
        Ok(())
    }

    /// Refuses a package whose manifest.json (`manifest_digest`, as the
    /// package read hashed it) is not the one whose signature was checked:
    /// it changed in between.
    pub fn signed_manifest(&self, manifest_digest: &str) -> Result<(), SignError> {
        if self.manifest_digest == manifest_digest {
            Ok(())
        } else {
            Err(SignError::ChangedSinceVerified)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: Option<&str>, version: Option<&str>) -> Signer {
        Signer {
            key_id: "K".into(),
            trusted_comment: String::new(),
            public_key: String::new(),
            name: name.map(str::to_string),
            version: version.map(str::to_string),
            manifest_digest: "sha256:1".into(),
        }
    }

    #[test]
    fn a_signature_vouches_only_for_its_own_name_and_version() {
        let s = signer(Some("app"), Some("1.0.0"));
        assert!(s.vouches_for(&Asked::nothing()).is_ok());
        assert!(s.vouches_for(&Asked::package("app", "1.0.0")).is_ok());
        assert!(s.vouches_for(&Asked::version("v1.0.0")).is_ok());
        let err = s.vouches_for(&Asked::version("2.0.1")).unwrap_err();
        assert!(err.to_string().contains("app@1.0.0"), "{err}");
        assert!(err.to_string().contains("version 2.0.1"), "{err}");
        let err = s
            .vouches_for(&Asked::package("other", "1.0.0"))
            .unwrap_err();
        assert!(err.to_string().contains("package `other`"), "{err}");
        // No version signed: it vouches for no version.
        let unversioned = signer(Some("app"), None);
        assert!(unversioned.vouches_for(&Asked::version("1.0.0")).is_err());
        assert!(unversioned.vouches_for(&Asked::nothing()).is_ok());
        // No name signed: only the version is held against the request.
        let unnamed = signer(None, Some("1.0.0"));
        assert!(unnamed.vouches_for(&Asked::package("app", "1.0.0")).is_ok());
        assert!(same_version("1.0.0+b.1", "1.0.0+b.1"));
        assert!(!same_version("1.0.0-rc.1", "1.0.0"));
    }

    #[test]
    fn the_manifest_read_must_be_the_one_verified() {
        let s = signer(None, None);
        assert!(s.signed_manifest("sha256:1").is_ok());
        assert!(matches!(
            s.signed_manifest("sha256:2"),
            Err(SignError::ChangedSinceVerified)
        ));
    }
}
