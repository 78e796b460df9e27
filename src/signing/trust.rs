//! What a package must be signed by before it is used: a list of key
//! sets, each with the reason it applies (`--verify-with` and `[trust]`,
//! a source's `require_signature`, a lock file's pinned signer). Every
//! set must be satisfied: the package's signature verifies with one of
//! the set's keys. No set means no check; a set never means "skip the
//! check when the package is unsigned". A lock file that pinned a key ID
//! without the key (nothing verified it when it was locked) adds a
//! weaker requirement: a signature naming that key ID.

use std::path::Path;

use minisign::PublicKey;

use super::{SignError, Signer, claimed_signer, verify_dir};

/// One requirement: a signature by one of `keys`, because of `why`.
#[derive(Debug, Clone)]
pub struct KeySet {
    /// Why the signature is required (`source \`prod\` requires a signature`).
    pub why: String,
    /// The keys, any of which may have signed.
    pub keys: Vec<PublicKey>,
}

/// A signature that must name a key ID, which is not verified (there is
/// no key): a lock file's signer recorded without its key. The package's
/// content is pinned by the lock's digest; this pins who signed it.
#[derive(Debug, Clone)]
pub struct ClaimedSigner {
    /// Why (`lock file \`pkg.lock\` pins app@1.0.0 to signer ...`).
    pub why: String,
    /// The key ID the signature must name.
    pub key_id: String,
}

/// The signature requirements a package must meet.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    sets: Vec<KeySet>,
    claims: Vec<ClaimedSigner>,
}

/// A package that does not meet a requirement.
#[derive(Debug, thiserror::Error)]
#[error("{why}: {error}")]
pub struct TrustError {
    /// The requirement.
    pub why: String,
    /// What failed (part of the message, so not also its source: the
    /// error chain would say it twice).
    pub error: SignError,
}

impl Trust {
    /// No requirement.
    pub fn none() -> Trust {
        Trust::default()
    }

    /// Adds a requirement; an empty key list adds none.
    pub fn require(mut self, why: impl Into<String>, keys: Vec<PublicKey>) -> Trust {
        if !keys.is_empty() {
            self.sets.push(KeySet {
                why: why.into(),
                keys,
            });
        }
        self
    }

    /// Adds a requirement that the signature name `key_id` (not verified:
    /// there is no key).
    pub fn require_claimed(mut self, why: impl Into<String>, key_id: &str) -> Trust {
        self.claims.push(ClaimedSigner {
            why: why.into(),
            key_id: key_id.to_string(),
        });
        self
    }

    /// These requirements and `other`'s.
    pub fn and(mut self, other: &Trust) -> Trust {
        self.sets.extend(other.sets.iter().cloned());
        self.claims.extend(other.claims.iter().cloned());
        self
    }

    /// Whether nothing is required.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty() && self.claims.is_empty()
    }

    /// Checks the package in `dir` against every requirement; the signer
    /// (`None` when nothing is required). The caller then holds the
    /// signer against the package it reads ([`Signer::vouches_for`]).
    pub fn check(&self, dir: &Path) -> Result<Option<Signer>, TrustError> {
        let mut signer = None;
        for set in &self.sets {
            let found = verify_dir(dir, &set.keys).map_err(|error| TrustError {
                why: set.why.clone(),
                error,
            })?;
            signer = Some(found);
        }
        for claim in &self.claims {
            let fail = |error| TrustError {
                why: claim.why.clone(),
                error,
            };
            let found = claimed_signer(dir)
                .map_err(fail)?
                .ok_or_else(|| fail(SignError::Unsigned))?;
            if found != claim.key_id {
                return Err(fail(SignError::WrongKey {
                    expected: claim.key_id.clone(),
                    found,
                }));
            }
        }
        Ok(signer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requirement_must_hold_and_unsigned_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let a = super::super::generate(&dir.path().join("a"), false).unwrap();
        let b = super::super::generate(&dir.path().join("b"), false).unwrap();
        let pk = |g: &super::super::GeneratedKey| {
            super::super::read_public_key(g.public.to_str().unwrap()).unwrap()
        };
        let package = dir.path().join("p");
        std::fs::create_dir(&package).unwrap();
        let manifest = br#"{"name":"a","version":"1.0.0","digests":{"/x":"sha256:00"}}"#;
        std::fs::write(package.join("manifest.json"), manifest).unwrap();
        assert!(Trust::none().check(&package).unwrap().is_none());
        let by_a = Trust::none().require("trusted", vec![pk(&a), pk(&b)]);
        let unsigned = by_a.check(&package).unwrap_err();
        assert!(matches!(unsigned.error, SignError::Unsigned), "{unsigned}");
        let sk = super::super::read_secret_key(&a.secret).unwrap();
        let signature = super::super::sign(manifest, &sk).unwrap().text;
        std::fs::write(package.join(super::super::SIGNATURE_FILE), signature).unwrap();
        assert_eq!(by_a.check(&package).unwrap().unwrap().key_id, a.key_id);
        let also_b = by_a
            .clone()
            .require("source `s` requires a signature", vec![pk(&b)]);
        let err = also_b.check(&package).unwrap_err();
        assert!(err.to_string().starts_with("source `s` requires"), "{err}");
        assert!(matches!(err.error, SignError::WrongKey { .. }));
    }
}
