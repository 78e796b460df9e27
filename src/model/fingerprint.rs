//! Content fingerprints: sha256 digests that let a load tell an unchanged
//! resource from a changed one without comparing bytes.

use sha2::{Digest, Sha256};

use super::Reference;

/// `sha256:<hex>` of `bytes`, the digest form the manifest uses.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// A raw sha256 digest.
pub type RawDigest = [u8; 32];

/// The sha256 of `bytes`, raw.
pub fn sha256(bytes: &[u8]) -> RawDigest {
    Sha256::digest(bytes).into()
}

/// `sha256:<hex>` of a raw digest.
pub fn digest_text(digest: &RawDigest) -> String {
    format!("sha256:{}", hex(digest))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// The fingerprint of a resource's whole content: its canonical details, its
/// references and the digest of its data. Two resources with equal
/// fingerprints are equal for a load.
pub fn content_fingerprint(
    details_json: &str,
    refs: &[Reference],
    data_digest: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(details_json.as_bytes());
    for reference in refs {
        hasher.update([0]);
        hasher.update(reference.field.manifest_key().as_bytes());
        hasher.update([b'=']);
        hasher.update(reference.to.index_string().as_bytes());
    }
    hasher.update([0, 1]);
    if let Some(digest) = data_digest {
        hasher.update(digest.as_bytes());
    }
    format!("sha256:{}", hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RefField;

    #[test]
    fn digest_of_empty_input() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn fingerprint_sees_every_part() {
        let r = [Reference::new(RefField::Target, "a", "t")];
        let base = content_fingerprint("{}", &r, Some("sha256:1"));
        assert_ne!(base, content_fingerprint("{ }", &r, Some("sha256:1")));
        assert_ne!(base, content_fingerprint("{}", &[], Some("sha256:1")));
        assert_ne!(base, content_fingerprint("{}", &r, Some("sha256:2")));
        assert_ne!(base, content_fingerprint("{}", &r, None));
        assert_eq!(base, content_fingerprint("{}", &r, Some("sha256:1")));
    }
}
