//! Fetching the package version the merged index chose, from its source:
//! a directory source's sub-directory or archive through the local
//! loaders, a registry's version by exact requirement (its download's
//! digest checked). The caller checks the package's digest against the
//! index's, so content that changed since the index was read is refused.

use super::merged::Choice;
use super::{Source, SourceError, SourceKind};
use crate::loaders::registry_source::RegistrySource;
use crate::loaders::{self, Fetched, Source as _};
use crate::progress::Progress;
use crate::source_settings::SourceSettings;

/// Fetches `choice` from its source (one of `sources`).
pub fn fetch(
    choice: &Choice,
    sources: &[Source],
    settings: &SourceSettings,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    let entry = &choice.entry;
    let source = sources
        .iter()
        .find(|s| s.name == entry.source)
        .ok_or_else(|| SourceError::Unknown(entry.source.clone()))?;
    let unavailable = |reason: String| SourceError::Unavailable {
        source_name: source.name.clone(),
        reason,
    };
    let mut fetched = match source.kind {
        SourceKind::Directory => loaders::resolve(&entry.locator, settings)
            .and_then(|s| s.fetch(progress))
            .map_err(|e| unavailable(e.to_string()))?,
        SourceKind::Registry => {
            let client = super::registry::client(source).map_err(unavailable)?;
            let spec = format!("{}@={}", entry.name, entry.version);
            RegistrySource::with_client(&spec, &source.name, client)
                .and_then(|s| s.fetch(progress))
                .map_err(|e| unavailable(e.to_string()))?
        }
        SourceKind::Git => {
            return Err(unavailable("git sources are not indexed yet".into()));
        }
    };
    fetched.origin = format!(
        "source:{}/{}@{} ({})",
        source.name, entry.name, entry.version, fetched.origin
    );
    Ok(fetched)
}
