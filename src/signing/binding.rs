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

/// What the package read from the signed directory says: its manifest's
/// digest (`sha256:` of the bytes the read parsed), whether it has file
/// digests, its name and its version. The read parses manifest.json fully
/// anyway, so the signature check itself only hashes the bytes.
#[derive(Debug, Clone, Copy)]
pub struct ReadManifest<'a> {
    /// `sha256:` of manifest.json's bytes, as the read hashed them.
    pub digest: &'a str,
    /// Whether the manifest has file digests.
    pub has_digests: bool,
    /// The name it states.
    pub name: Option<&'a str>,
    /// The version it states.
    pub version: Option<&'a str>,
}

impl Signer {
    /// Refuses a package the signature does not vouch for as `asked`:
    /// - the manifest read is not the one whose signature was checked (it
    ///   changed in between);
    /// - the signed manifest has no digests (one the `minisign` CLI
    ///   signed, say), so the signature pins none of the files;
    /// - it states another version or name than the one asked for, or
    ///   none (a manifest without a version vouches for no version, one
    ///   without a name for no name).
    pub fn vouches_for(&self, read: &ReadManifest<'_>, asked: &Asked) -> Result<(), SignError> {
        if self.manifest_digest != read.digest {
            return Err(SignError::ChangedSinceVerified);
        }
        if !read.has_digests {
            return Err(SignError::SignedWithoutDigests);
        }
        let other = |what: String| SignError::OtherPackage {
            signed: super::label(read.name, read.version),
            asked: what,
        };
        if let Some(version) = &asked.version {
            match read.version {
                Some(v) if same_version(v, version) => {}
                Some(_) => return Err(other(format!("version {version}"))),
                None => {
                    return Err(SignError::SignedWithout {
                        what: "version",
                        asked: format!("version {version}"),
                    });
                }
            }
        }
        if let Some(name) = &asked.name {
            match read.name {
                Some(n) if n == name => {}
                Some(_) => return Err(other(format!("package `{name}`"))),
                None => {
                    return Err(SignError::SignedWithout {
                        what: "name",
                        asked: format!("package `{name}`"),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer {
            key_id: "K".into(),
            trusted_comment: String::new(),
            public_key: String::new(),
            manifest_digest: "sha256:1".into(),
        }
    }

    fn read<'a>(name: Option<&'a str>, version: Option<&'a str>) -> ReadManifest<'a> {
        ReadManifest {
            digest: "sha256:1",
            has_digests: true,
            name,
            version,
        }
    }

    #[test]
    fn a_signature_vouches_only_for_its_own_name_and_version() {
        let s = signer();
        let app = read(Some("app"), Some("1.0.0"));
        assert!(s.vouches_for(&app, &Asked::nothing()).is_ok());
        assert!(s.vouches_for(&app, &Asked::package("app", "1.0.0")).is_ok());
        assert!(s.vouches_for(&app, &Asked::version("v1.0.0")).is_ok());
        let err = s.vouches_for(&app, &Asked::version("2.0.1")).unwrap_err();
        assert!(err.to_string().contains("app@1.0.0"), "{err}");
        assert!(err.to_string().contains("version 2.0.1"), "{err}");
        let err = s
            .vouches_for(&app, &Asked::package("other", "1.0.0"))
            .unwrap_err();
        assert!(err.to_string().contains("package `other`"), "{err}");
        // No version signed: it vouches for no version; no name, no name.
        let unversioned = read(Some("app"), None);
        let err = s
            .vouches_for(&unversioned, &Asked::version("1.0.0"))
            .unwrap_err();
        assert!(err.to_string().contains("states no version"), "{err}");
        assert!(s.vouches_for(&unversioned, &Asked::nothing()).is_ok());
        let unnamed = read(None, Some("1.0.0"));
        assert!(s.vouches_for(&unnamed, &Asked::version("1.0.0")).is_ok());
        let err = s
            .vouches_for(&unnamed, &Asked::package("app", "1.0.0"))
            .unwrap_err();
        assert!(err.to_string().contains("states no name"), "{err}");
        assert!(same_version("1.0.0+b.1", "1.0.0+b.1"));
        assert!(!same_version("1.0.0-rc.1", "1.0.0"));
    }

    #[test]
    fn the_manifest_read_must_be_the_one_verified_and_pin_the_files() {
        let s = signer();
        let mut other = read(None, None);
        other.digest = "sha256:2";
        assert!(matches!(
            s.vouches_for(&other, &Asked::nothing()),
            Err(SignError::ChangedSinceVerified)
        ));
        let mut bare = read(None, None);
        bare.has_digests = false;
        assert!(matches!(
            s.vouches_for(&bare, &Asked::nothing()),
            Err(SignError::SignedWithoutDigests)
        ));
    }
}
