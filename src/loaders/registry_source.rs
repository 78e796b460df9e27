//! A package from a `pkg serve` registry: `NAME@REQ` (or `NAME` for the
//! newest) resolved against the registry's unyanked versions with semver
//! rules (`1.2` means `^1.2`, as in cargo; a prerelease only when the
//! requirement names one), downloaded with its digest checked, and
//! extracted like any archive. An exact `=X.Y.Z` may name a yanked version.

use std::io::Write;

use semver::{Version, VersionReq};

use super::archive::{self, ArchiveFormat};
use super::{Fetched, Source, SourceError};
use crate::progress::Progress;
use crate::registry::names::check_name;
use crate::registry::types::VersionRecord;
use crate::remote::{RemoteError, ServerClient, remotes};
use crate::safe_tree::Limits;

/// A package in a registry.
pub struct RegistrySource {
    registry: String,
    client: ServerClient,
    name: String,
    req: VersionReq,
    exact: Option<Version>,
}

fn bad(arg: &str, reason: String) -> SourceError {
    SourceError::BadRemotePackage {
        url: arg.to_string(),
        reason,
    }
}

fn remote(registry: &str, e: RemoteError) -> SourceError {
    SourceError::BadRemotePackage {
        url: format!("registry `{registry}`"),
        reason: e.to_string(),
    }
}

impl RegistrySource {
    /// Parses `NAME[@REQ]` for the remote `registry`.
    pub fn new(spec: &str, registry: &str) -> Result<RegistrySource, SourceError> {
        let client = ServerClient::new(remotes::get(registry).map_err(|e| remote(registry, e))?)
            .map_err(|e| remote(registry, e))?;
        RegistrySource::with_client(spec, registry, client)
    }

    /// Parses `NAME[@REQ]` for the registry `client` talks to, named
    /// `registry` in messages and in the history.
    pub fn with_client(
        spec: &str,
        registry: &str,
        client: ServerClient,
    ) -> Result<RegistrySource, SourceError> {
        let (name, req_text) = match spec.split_once('@') {
            Some((n, r)) => (n.trim(), Some(r.trim())),
            None => (spec.trim(), None),
        };
        check_name(name).map_err(|e| bad(spec, format!("{e} (give NAME@REQ, e.g. app@^1.2)")))?;
        let req = match req_text {
            None | Some("*") | Some("latest") => VersionReq::STAR,
            Some(text) => VersionReq::parse(text).map_err(|e| {
                bad(
                    spec,
                    format!(
                        "`{text}` is not a semver requirement ({e}); e.g. ^1.2, ~1.2.3, =1.2.3"
                    ),
                )
            })?,
        };
        let exact = req_text
            .and_then(|t| t.strip_prefix('='))
            .and_then(|t| Version::parse(t.trim()).ok());
        Ok(RegistrySource {
            registry: registry.to_string(),
            client,
            name: name.to_string(),
            req,
            exact,
        })
    }

    /// The version the requirement picks: the highest match among the
    /// unyanked versions (or the exact version, yanked or not).
    pub fn resolve(&self) -> Result<VersionRecord, SourceError> {
        let registry = &self.registry;
        let versions = self
            .client
            .versions_with_yanked(&self.name, self.exact.is_some())
            .map_err(|e| remote(registry, e))?;
        let best = versions
            .iter()
            .filter(|v| self.exact.is_some() || !v.yanked)
            .filter_map(|v| Version::parse(&v.version).ok().map(|s| (s, v)))
            .filter(|(s, _)| self.req.matches(s))
            .max_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, v)| v.clone());
        best.ok_or_else(|| {
            let listed: Vec<&str> = versions
                .iter()
                .filter(|v| !v.yanked)
                .map(|v| v.version.as_str())
                .collect();
            bad(
                &format!("{}@{}", self.name, self.req),
                format!(
                    "registry `{registry}` has no version matching `{}` ({}); yanked versions are left out",
                    self.req,
                    if listed.is_empty() {
                        "it has no versions".to_string()
                    } else {
                        format!("it has {}", listed.join(", "))
                    }
                ),
            )
        })
    }
}

impl Source for RegistrySource {
    fn fetch(&self, progress: &dyn Progress) -> Result<Fetched, SourceError> {
        let record = self.resolve()?;
        let registry = &self.registry;
        let mut temp = tempfile::NamedTempFile::new().map_err(|e| SourceError::Unreadable {
            arg: "a temporary file".into(),
            reason: e.to_string(),
        })?;
        self.client
            .download(
                &self.name,
                &record.version,
                &record.archive_digest,
                temp.as_file_mut(),
                progress,
            )
            .map_err(|e| remote(registry, e))?;
        temp.as_file_mut()
            .flush()
            .map_err(|e| SourceError::Unreadable {
                arg: "a temporary file".into(),
                reason: e.to_string(),
            })?;
        let format = if record.archive_format == "zip" {
            ArchiveFormat::Zip
        } else {
            ArchiveFormat::TarGz
        };
        let extracted = archive::extract(temp.path(), format, Limits::default())?;
        Ok(Fetched {
            dir: extracted.root,
            origin: format!("registry:{registry}/{}@{}", self.name, record.version),
            commit: None,
            temp: Some(extracted.dir),
            asked: crate::signing::Asked::package(&self.name, &record.version),
        })
    }
}
