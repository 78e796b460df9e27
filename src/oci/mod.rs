//! OCI distribution: packages as OCI artifacts in any registry that speaks
//! the distribution spec (Docker's registry, Harbor, GHCR, ECR, Zot...).
//!
//! A package is one manifest with `artifactType`
//! [`ARTIFACT_TYPE`], the empty config, one layer holding the
//! deterministic tar.gz `pkg pack` writes ([`PACKAGE_LAYER`]) and, when the
//! package is signed, its minisign signature as a second layer
//! ([`SIGNATURE_LAYER`]). The manifest's annotations carry the package's
//! name, version, digest, dependencies and `min_level`, so an index reads
//! them without downloading any archive.
//!
//! This module owns references (`oci://HOST/REPO:TAG`, tags for
//! versions), credentials, and the client (`oci-client`, driven on a
//! private tokio runtime so callers stay synchronous). It knows nothing of
//! packages beyond bytes and annotations: the loaders and commands above
//! it pack and read them.

pub mod auth;
pub mod client;
pub mod reference;

pub use client::{OciClient, OciError, Pulled, Pushed};
pub use reference::{MAX_TAG_LEN, OciRef, tag_for_version, version_of_tag};

/// The manifest's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.pkg.package.v1";
/// The media type of the layer holding the package archive (tar.gz).
pub const PACKAGE_LAYER: &str = "application/vnd.pkg.package.layer.v1.tar+gzip";
/// The media type of the layer holding `manifest.json.minisig`.
pub const SIGNATURE_LAYER: &str = "application/vnd.pkg.package.signature.v1+minisign";
/// The OCI empty descriptor's media type, for the config.
pub const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

/// Manifest annotation: the package name.
pub const ANNOTATION_NAME: &str = "org.opencontainers.image.title";
/// Manifest annotation: the package version.
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// Manifest annotation: the package description.
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
/// Manifest annotation: the package digest (`sha256:...`).
pub const ANNOTATION_DIGEST: &str = "dev.pkg.package.digest";
/// Manifest annotation: the dependencies as a JSON object.
pub const ANNOTATION_DEPENDENCIES: &str = "dev.pkg.package.dependencies";
/// Manifest annotation: the lowest level that may read it.
pub const ANNOTATION_MIN_LEVEL: &str = "dev.pkg.package.min-level";
/// Manifest annotation: the key ID of the signature, when signed.
pub const ANNOTATION_SIGNER: &str = "dev.pkg.package.signer";

/// The environment variable that allows plain HTTP to OCI registries.
pub const INSECURE_ENV: &str = "PKG_OCI_INSECURE";
