//! Package signatures, in minisign's format (keys and signatures made by
//! pkg and by the `minisign` CLI work in either). A signature covers
//! manifest.json's bytes, which pin every other file through their digests
//! and name the package and its version, so a signature of another package
//! or version does not verify. The signature sits beside the manifest as
//! `manifest.json.minisig`; its trusted comment says `name@version` for
//! people. This module owns key files, signing and verifying; it knows
//! nothing of sources or the terminal.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::manifest::limits::{MAX_MANIFEST_BYTES, read_capped};
use minisign::{KeyPair, PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

pub mod binding;
pub mod trust;

pub use binding::{Asked, ReadManifest};

/// The signature file, beside manifest.json.
pub const SIGNATURE_FILE: &str = "manifest.json.minisig";

/// The environment variable holding an encrypted secret key's password.
pub const PASSWORD_ENV: &str = "PKG_SIGNING_PASSWORD";

/// The largest key or signature file read (they are a few hundred bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Why signing or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key or signature file cannot be read or written.
    #[error("{0}")]
    Io(String),
    /// A key is malformed or locked.
    #[error("{0}")]
    Key(String),
    /// The manifest has no digests, so a signature would pin nothing.
    #[error(
        "manifest.json has no digests, so a signature would not pin the package's files: write it with `pkg create` or `pkg db create`, which record them"
    )]
    NoDigests,
    /// manifest.json is not JSON of a package manifest's shape.
    #[error("manifest.json is not a package manifest: {0}")]
    NotManifest(String),
    /// The package carries no signature.
    #[error("the package is not signed (no {SIGNATURE_FILE})")]
    Unsigned,
    /// The signature was made by another key.
    #[error("the package is signed by key {found}, not by the trusted key {expected}")]
    WrongKey {
        /// The trusted key's ID.
        expected: String,
        /// The signer's key ID.
        found: String,
    },
    /// The signature does not match the manifest.
    #[error(
        "the signature does not match manifest.json: the manifest changed after signing, or the signature belongs to another package or version"
    )]
    Mismatch,
    /// The signature file is malformed.
    #[error("{SIGNATURE_FILE} is not a minisign signature: {0}")]
    Malformed(String),
    /// The signature is valid, but the signed manifest has no digests, so
    /// it pins none of the package's files.
    #[error(
        "the signed manifest.json has no digests, so the signature does not pin the package's files: the signer must write the package with `pkg create` or `pkg db create` (which record digests) and sign it again"
    )]
    SignedWithoutDigests,
    /// The signature is valid, but for another package or version than
    /// the one asked for.
    #[error(
        "the signature is valid but vouches for {signed}, not for the {asked} asked for: a signed package of another version or name was served in its place"
    )]
    OtherPackage {
        /// `name@version` the signed manifest states.
        signed: String,
        /// What was asked for (`version 2.0.1`, ``package `app` ``).
        asked: String,
    },
    /// The signature is valid, but the signed manifest states no version
    /// (or name), so it vouches for none, and one was asked for.
    #[error(
        "the signed manifest states no {what}, so the signature vouches for none, not for the {asked} asked for: the signer must sign a package made with its {what} (`pkg create --name NAME --version VERSION`)"
    )]
    SignedWithout {
        /// `version` or `name`.
        what: &'static str,
        /// What was asked for.
        asked: String,
    },
    /// manifest.json changed between the signature check and the read.
    #[error(
        "manifest.json changed between the signature check and the package read; run again, and check who else writes to that directory"
    )]
    ChangedSinceVerified,
}

/// A key's ID as minisign prints it (16 upper-case hex digits).
pub fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    for (b, k) in bytes.iter_mut().zip(keynum) {
        *b = *k;
    }
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// The files `pkg key generate` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GeneratedKey {
    /// The public key file.
    pub public: PathBuf,
    /// The secret key file (mode 0600).
    pub secret: PathBuf,
    /// The key's ID.
    pub key_id: String,
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> SignError {
    SignError::Io(format!("cannot {what} {}: {e}", path.display()))
}

/// Writes a new unencrypted key pair into `dir` as `pkg.pub` and
/// `pkg.key`; refuses to replace them unless `force`.
pub fn generate(dir: &Path, force: bool) -> Result<GeneratedKey, SignError> {
    let public = dir.join("pkg.pub");
    let secret = dir.join("pkg.key");
    for path in [&public, &secret] {
        if path.exists() && !force {
            return Err(SignError::Io(format!(
                "{} exists; pass --force to replace it (signatures made with the old key will no longer verify with the new one)",
                path.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    let KeyPair { pk, sk } =
        KeyPair::generate_unencrypted_keypair().map_err(|e| SignError::Key(e.to_string()))?;
    let id = key_id(pk.keynum());
    let pk_text = pk
        .to_box()
        .map_err(|e| SignError::Key(e.to_string()))?
        .into_string();
    let sk_text = sk
        .to_box(Some(&format!("pkg secret key {id}")))
        .map_err(|e| SignError::Key(e.to_string()))?
        .into_string();
    write_private(&secret, sk_text.as_bytes())?;
    std::fs::write(&public, pk_text).map_err(|e| io("write", &public, e))?;
    Ok(GeneratedKey {
        public,
        secret,
        key_id: id,
    })
}

/// Writes `bytes` to a new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SignError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| io("write", path, e))?;
    file.write_all(bytes).map_err(|e| io("write", path, e))
}

fn read_small(path: &Path) -> Result<String, SignError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| io("read", path, e))?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(|e| io("read", path, e))?;
    Ok(text)
}

/// A secret key file; an encrypted one is opened with the password in
/// [`PASSWORD_ENV`].
pub fn read_secret_key(path: &Path) -> Result<SecretKey, SignError> {
    let text = read_small(path)?;
    let boxed = SecretKeyBox::from_string(&text).map_err(|e| {
        SignError::Key(format!(
            "{} is not a minisign secret key: {e}",
            path.display()
        ))
    })?;
    // An unencrypted key is read as it is, whether or not a password is
    // set (one set for another, encrypted key does not get in the way).
    // The minisign CLI's unencrypted keys (`minisign -G -W`) carry a
    // checksum the crate does not recompute the same way: their bytes are
    // read as they are.
    let unencrypted = unencrypted_as_is(&text);
    let key = match (unencrypted, std::env::var(PASSWORD_ENV)) {
        (Some(plain), _) => boxed.into_unencrypted_secret_key().or(Ok(plain)),
        (None, Ok(password)) => boxed.into_secret_key(Some(password)),
        (None, Err(_)) => boxed.into_unencrypted_secret_key(),
    };
    key.map_err(|e| {
        SignError::Key(format!(
            "cannot open secret key {}: {e} (an encrypted key needs its password in {PASSWORD_ENV})",
            path.display()
        ))
    })
}

/// An unencrypted secret key file's key, read without its checksum.
fn unencrypted_as_is(text: &str) -> Option<SecretKey> {
    use base64::Engine as _;
    let encoded = text.lines().nth(1)?.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let key = SecretKey::from_bytes(&bytes).ok()?;
    (!key.is_encrypted()).then_some(key)
}

/// A public key: a minisign `.pub` file's path (`~/` for the home
/// directory), or the key itself in base64 (`RW...`).
pub fn read_public_key(given: &str) -> Result<PublicKey, SignError> {
    let expanded = match (given.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(given),
    };
    let path = expanded.as_path();
    if path.is_file() {
        let text = read_small(path)?;
        return PublicKeyBox::from_string(&text)
            .and_then(PublicKeyBox::into_public_key)
            .or_else(|_| PublicKey::from_base64(text.trim()))
            .map_err(|e| {
                SignError::Key(format!(
                    "{} is not a minisign public key: {e}",
                    path.display()
                ))
            });
    }
    PublicKey::from_base64(given.trim()).map_err(|e| {
        SignError::Key(format!(
            "`{given}` is neither a public key file nor a minisign public key: {e}"
        ))
    })
}

/// Who signed a package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signer {
    /// The signing key's ID.
    pub key_id: String,
    /// The signature's trusted comment.
    pub trusted_comment: String,
    /// The public key that verified the signature, in base64 (`RW...`).
    pub public_key: String,
    /// `sha256:` of the signed manifest.json's bytes.
    #[serde(skip)]
    pub manifest_digest: String,
}

/// A public key as text: minisign's base64 (`RW...`), as `.pub` files
/// hold it on their second line.
pub fn public_key_text(pk: &PublicKey) -> String {
    pk.to_base64()
}

/// The key ID `signature` (a signature file's text) names; not a proof
/// that this key made it.
pub fn claimed_key_id(signature: &str) -> Result<String, SignError> {
    let boxed =
        SignatureBox::from_string(signature).map_err(|e| SignError::Malformed(e.to_string()))?;
    Ok(key_id(boxed.keynum()))
}

/// The key ID the signature beside the manifest in `dir` names, not
/// verified; `None` when the package has no signature.
pub fn claimed_signer(dir: &Path) -> Result<Option<String>, SignError> {
    read_signature(dir)?
        .map(|signature| claimed_key_id(&signature))
        .transpose()
}

/// The signature file of the package in `dir`; `None` when it has none.
pub fn read_signature(dir: &Path) -> Result<Option<String>, SignError> {
    let path = dir.join(SIGNATURE_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &path, e)),
        Ok(meta) if !meta.is_file() => Err(SignError::Malformed(format!(
            "{} is not a regular file",
            path.display()
        ))),
        Ok(_) => read_small(&path).map(Some),
    }
}

/// Verifies the package in `dir`: its manifest.json against its
/// signature file, by whichever of `keys` made it. An unsigned package is
/// refused.
pub fn verify_dir(dir: &Path, keys: &[PublicKey]) -> Result<Signer, SignError> {
    let signature = read_signature(dir)?.ok_or(SignError::Unsigned)?;
    let manifest = read_manifest(dir)?;
    verify_any(&manifest, &signature, keys)
}

/// The bytes of `dir`'s manifest.json, read as a package read reads it
/// (a regular file, at most [`MAX_MANIFEST_BYTES`]).
pub fn read_manifest(dir: &Path) -> Result<Vec<u8>, SignError> {
    let path = dir.join(crate::manifest::types::MANIFEST_FILE);
    read_capped(&path, MAX_MANIFEST_BYTES)
        .map_err(|e| SignError::Io(format!("{}: {e}", path.display())))
}

/// A signature just made: the signature file's text, the package it names
/// (`name@version`, its trusted comment) and the signing key's ID.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The text of `manifest.json.minisig`.
    pub text: String,
    /// `name@version` of the package (`unnamed` without a name).
    pub label: String,
    /// The ID of the key that signed.
    pub key_id: String,
}

/// What signing needs from a manifest: its name, version and whether it
/// has digests. Everything else is skipped unparsed, so a 50 MB manifest of
/// 100,000 units is probed in a fraction of the time its full check takes
/// (every load and `pkg verify` make that check).
#[derive(serde::Deserialize)]
struct ManifestProbe {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    digests: Option<DigestsProbe>,
}

/// Whether a manifest's `digests` object has at least one entry.
struct DigestsProbe(bool);

impl<'de> serde::Deserialize<'de> for DigestsProbe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = DigestsProbe;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of file digests")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut any = false;
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {
                    any = true;
                }
                Ok(DigestsProbe(any))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// `name@version` for a package's trusted comment.
pub fn label(name: Option<&str>, version: Option<&str>) -> String {
    let name = name.unwrap_or("unnamed");
    match version {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    }
}

/// Signs `manifest` (manifest.json's bytes). Only the name, the version and
/// the presence of digests are read from it: the digests pin the files,
/// which every load checks.
pub fn sign(manifest: &[u8], sk: &SecretKey) -> Result<Signature, SignError> {
    let probe: ManifestProbe =
        serde_json::from_slice(manifest).map_err(|e| SignError::NotManifest(e.to_string()))?;
    if !probe.digests.is_some_and(|d| d.0) {
        return Err(SignError::NoDigests);
    }
    let label = label(probe.name.as_deref(), probe.version.as_deref());
    let pk = PublicKey::from_secret_key(sk).map_err(|e| SignError::Key(e.to_string()))?;
    let key_id = key_id(pk.keynum());
    let signature = minisign::sign(
        Some(&pk),
        sk,
        Cursor::new(manifest),
        Some(&label),
        Some(&format!("signature from pkg secret key {key_id}")),
    )
    .map_err(|e| SignError::Key(e.to_string()))?;
    Ok(Signature {
        text: signature.into_string(),
        label,
        key_id,
    })
}

/// Verifies `signature` (a signature file's text) of `manifest` with `pk`.
pub fn verify(manifest: &[u8], signature: &str, pk: &PublicKey) -> Result<Signer, SignError> {
    let boxed =
        SignatureBox::from_string(signature).map_err(|e| SignError::Malformed(e.to_string()))?;
    let found = key_id(boxed.keynum());
    let expected = key_id(pk.keynum());
    if found != expected {
        return Err(SignError::WrongKey { expected, found });
    }
    // Legacy signatures (Ed25519 over the bytes themselves, not over their
    // BLAKE2b hash: `minisign -S -l` and older minisign versions) verify too,
    // as they do with the minisign CLI; both bind the same bytes.
    minisign::verify(pk, &boxed, Cursor::new(manifest), true, false, true)
        .map_err(|_| SignError::Mismatch)?;
    // What the signed bytes say (name, version, digests) is held against
    // the package read from them, which parses them anyway: see
    // [`Signer::vouches_for`].
    Ok(Signer {
        key_id: found,
        trusted_comment: boxed.trusted_comment().unwrap_or_default(),
        public_key: public_key_text(pk),
        manifest_digest: crate::model::fingerprint::sha256_digest(manifest),
    })
}

/// Verifies `signature` of `manifest` with whichever of `keys` made it;
/// refuses a signature none of them made.
pub fn verify_any(
    manifest: &[u8],
    signature: &str,
    keys: &[PublicKey],
) -> Result<Signer, SignError> {
    let boxed =
        SignatureBox::from_string(signature).map_err(|e| SignError::Malformed(e.to_string()))?;
    let found = key_id(boxed.keynum());
    match keys.iter().find(|k| key_id(k.keynum()) == found) {
        Some(pk) => verify(manifest, signature, pk),
        None => Err(SignError::WrongKey {
            expected: keys
                .iter()
                .map(|k| key_id(k.keynum()))
                .collect::<Vec<_>>()
                .join(" or "),
            found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse_other_manifests_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let made = generate(dir.path(), false).unwrap();
        assert!(generate(dir.path(), false).is_err());
        let sk = read_secret_key(&made.secret).unwrap();
        let pk = read_public_key(made.public.to_str().unwrap()).unwrap();
        let manifest = br#"{"name":"a","version":"1.0.0","digests":{"/x":"sha256:00"}}"#;
        let signature = sign(manifest, &sk).unwrap().text;
        let signer = verify(manifest, &signature, &pk).unwrap();
        assert_eq!(signer.trusted_comment, "a@1.0.0");
        assert_eq!(signer.key_id, made.key_id);
        let other = br#"{"name":"a","version":"1.0.1","digests":{"/x":"sha256:00"}}"#;
        assert!(matches!(
            verify(other, &signature, &pk),
            Err(SignError::Mismatch)
        ));
        let stranger = generate(&dir.path().join("b"), false).unwrap();
        let pk2 = read_public_key(stranger.public.to_str().unwrap()).unwrap();
        assert!(matches!(
            verify(manifest, &signature, &pk2),
            Err(SignError::WrongKey { .. })
        ));
        assert!(matches!(
            sign(br#"{"name":"a"}"#, &sk),
            Err(SignError::NoDigests)
        ));
        assert!(matches!(
            verify(manifest, "junk", &pk),
            Err(SignError::Malformed(_))
        ));
    }
}
