//! A registry source: a `pkg serve` URL, whose `/api/packages/index` lists
//! every unyanked version the token may read.

use super::{IndexEntry, Source, SourceIndex};
use crate::registry::types::IndexEntry as RegistryEntry;
use crate::remote::ServerClient;
use crate::remote::remotes::{self, Remote};

/// The client of the registry source `source`, with its token.
pub fn client(source: &Source) -> Result<ServerClient, String> {
    let url = url::Url::parse(&source.location).map_err(|e| format!("bad URL: {e}"))?;
    let remote = Remote {
        name: source.name.clone(),
        url,
        token_env: source.token_env.clone(),
    };
    let token = remotes::token(&remote).map_err(|e| e.to_string())?;
    ServerClient::with_token(remote, token).map_err(|e| e.to_string())
}

/// The index of the registry source `source`.
pub fn index(source: &Source) -> Result<SourceIndex, String> {
    let client = client(source)?;
    let listed: Vec<RegistryEntry> = client
        .call_json(reqwest::Method::GET, "api/packages/index", None, &[])
        .map_err(|e| e.to_string())?;
    let mut out = SourceIndex::default();
    for e in listed {
        let Ok(version) = semver::Version::parse(&e.version) else {
            out.warnings.push(format!(
                "`{}` is left out: `{}` is not semver",
                e.name, e.version
            ));
            continue;
        };
        out.entries.push(IndexEntry {
            source: source.name.clone(),
            locator: format!("{}@{}", e.name, version),
            name: e.name,
            version,
            min_level: e.min_level,
            dependencies: e.dependencies,
            digest: e.digest,
            description: e.description,
        });
    }
    Ok(out)
}
