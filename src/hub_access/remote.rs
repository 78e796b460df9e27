//! [`HubAccess`] over a `pkg serve` hub API (`/api/v1/hub/...`). Loads and
//! plans send the package as a deterministic archive; the server plans and
//! loads it with the same code as the local hub, in one transaction, and
//! records it in its own history. Updates read the resource, change it
//! here, and write it back with `If-Match`, so a concurrent writer is
//! detected (412) rather than overwritten.

use std::thread::JoinHandle;

use reqwest::Method;
use reqwest::blocking::Body;

use super::wire::WireResource;
use super::{AccessError, Change, Fetched, HubAccess, LoadReport, RollbackReport};
use crate::hub::history::HistoryEntry;
use crate::hub::{HubError, HubResource, NewResource};
use crate::loaders::archive::ArchiveFormat;
use crate::model::{ResourceKey, ResourceKind};
use crate::package::error::PackageError;
use crate::package::load::LoadOptions;
use crate::package::pack::{TRANSFER_LEVEL, pack_to_vec};
use crate::package::plan::expected_sources;
use crate::package::read::Package;
use crate::package::report::PlanReport;
use crate::progress::{NoProgress, Progress};
use crate::remote::client::segment;
use crate::remote::{RemoteError, ServerClient};

/// A transfer archive being packed.
type Packing = JoinHandle<Result<Vec<u8>, PackageError>>;

/// A remote hub.
pub struct RemoteHub {
    client: ServerClient,
    /// The package digest and upload id of the last plan's staged upload:
    /// a load of the same package right after reuses it instead of
    /// sending the archive again.
    staged: Option<(String, String)>,
    /// The transfer archive of a package being packed in the background
    /// (started by [`HubAccess::is_current`], which usually precedes a
    /// plan), by package digest.
    packing: Option<(String, Packing)>,
    /// A transfer archive packed once for several hubs (a deployment), by
    /// package digest.
    packed: Option<(String, std::sync::Arc<Vec<u8>>)>,
}

/// The header a staged plan answers with.
const UPLOAD_HEADER: &str = "x-pkg-upload";

/// The body of `POST /api/v1/hub/compare`.
#[derive(serde::Serialize)]
struct CompareBody<'a> {
    items: Vec<CompareItem<'a>>,
}

/// One resource and the source fingerprint a load would record for it.
#[derive(serde::Serialize)]
struct CompareItem<'a> {
    kind: &'a str,
    space: &'a str,
    slug: &'a str,
    source: &'a str,
}

/// What `DELETE` answers.
#[derive(Debug, serde::Deserialize)]
struct Deleted {
    deleted: Vec<WireResource>,
}

impl RemoteHub {
    /// Drives the hub of the server `client` talks to.
    pub fn new(client: ServerClient) -> RemoteHub {
        RemoteHub {
            client,
            staged: None,
            packing: None,
            packed: None,
        }
    }

    /// Uses `archive`, the transfer archive of the package with `digest`
    /// packed once for several hubs, instead of packing it again.
    pub fn with_archive(mut self, digest: &str, archive: std::sync::Arc<Vec<u8>>) -> RemoteHub {
        self.packed = Some((digest.to_string(), archive));
        self
    }

    fn path(key: &ResourceKey) -> String {
        if key.kind == ResourceKind::Space {
            format!("api/v1/hub/spaces/{}", segment(&key.slug))
        } else {
            format!(
                "api/v1/hub/{}/{}/{}",
                key.kind.plural(),
                segment(&key.space),
                segment(&key.slug)
            )
        }
    }

    fn resource(wire: WireResource) -> Result<HubResource, AccessError> {
        wire.into_resource().map_err(|e| {
            AccessError::Remote(RemoteError::Config(format!(
                "the server sent a resource pkg cannot read: {e}"
            )))
        })
    }

    /// The transfer archive of `package`: the one packed in the background
    /// for it, or packed now.
    fn archive(&mut self, package: &Package) -> Result<Vec<u8>, AccessError> {
        if let Some((digest, packed)) = &self.packed
            && *digest == package.digest
        {
            return Ok(packed.as_ref().clone());
        }
        if let Some((digest, handle)) = self.packing.take()
            && digest == package.digest
            && let Ok(packed) = handle.join()
        {
            return Ok(packed?);
        }
        Ok(pack_to_vec(package, ArchiveFormat::TarGz, TRANSFER_LEVEL)?)
    }

    /// Starts packing `package` on another thread (compressing on the
    /// other cores while the caller waits for the server); dropped unused
    /// when the package turns out to be there already.
    fn pack_in_background(&mut self, package: &Package) {
        let package = package.clone();
        let digest = package.digest.clone();
        let spawned = std::thread::Builder::new()
            .name("pkg-pack".into())
            .spawn(move || pack_to_vec(&package, ArchiveFormat::TarGz, TRANSFER_LEVEL));
        self.packing = spawned.ok().map(|handle| (digest, handle));
    }

    fn options_query(options: &LoadOptions, extra: &[(&str, String)]) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(prefix) = &options.plan.prefix {
            q.append_pair("prefix", prefix);
        }
        q.append_pair("on_conflict", options.plan.on_conflict.as_str());
        q.append_pair(
            "external",
            match options.plan.external {
                crate::package::remap::ExternalMode::Keep => "keep",
                crate::package::remap::ExternalMode::Prefix => "prefix",
            },
        );
        if options.plan.strict {
            q.append_pair("strict", "true");
        }
        q.append_pair("source", &options.source);
        if let Some(commit) = &options.commit {
            q.append_pair("commit", commit);
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        q.finish()
    }

    fn post_package<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        package: &Package,
        query: String,
        progress: &dyn Progress,
    ) -> Result<(T, reqwest::header::HeaderMap), AccessError> {
        let bytes = self.archive(package)?;
        progress.phase("uploading", bytes.len() as u64);
        let len = bytes.len() as u64;
        // One chunk: a reader body would be copied through a pipe thread.
        let body = Body::from(bytes);
        let out = self.client.call_json_headers(
            Method::POST,
            &format!("{path}?{query}"),
            Some(("application/octet-stream", body)),
            &[],
        );
        progress.advance(len);
        progress.finish();
        Ok(out?)
    }
}

impl HubAccess for RemoteHub {
    fn location(&self) -> String {
        format!(
            "remote `{}` ({})",
            self.client.remote().name,
            self.client.remote().url
        )
    }

    fn list(
        &mut self,
        kind: ResourceKind,
        space: Option<&str>,
        where_: Option<&str>,
    ) -> Result<Vec<HubResource>, AccessError> {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(space) = space {
            q.append_pair("space", space);
        }
        if let Some(w) = where_ {
            q.append_pair("where", w);
        }
        let path = format!("api/v1/hub/{}?{}", kind.plural(), q.finish());
        let wires: Vec<WireResource> = self.client.call_json(Method::GET, &path, None, &[])?;
        wires.into_iter().map(Self::resource).collect()
    }

    fn get(&mut self, key: &ResourceKey, with_data: bool) -> Result<Fetched, AccessError> {
        let query = if with_data { "?data=true" } else { "" };
        let path = format!("{}{query}", Self::path(key));
        let wire: WireResource = self.client.call_json(Method::GET, &path, None, &[])?;
        let data = wire
            .decoded_data()
            .map_err(|e| AccessError::Remote(RemoteError::Config(e)))?;
        Ok(Fetched {
            resource: Self::resource(wire)?,
            data,
        })
    }

    fn create(&mut self, new: &NewResource) -> Result<HubResource, AccessError> {
        let body = serde_json::to_vec(&WireResource::of_new(new))
            .map_err(|e| AccessError::Change(e.into()))?;
        let path = format!("api/v1/hub/{}", new.key.kind.plural());
        let wire: WireResource = self.client.call_json(
            Method::POST,
            &path,
            Some(("application/json", Body::from(body))),
            &[],
        )?;
        Self::resource(wire)
    }

    fn update(
        &mut self,
        key: &ResourceKey,
        change: Change<'_>,
    ) -> Result<(HubResource, bool), AccessError> {
        let current = self.get(key, true)?;
        let mut next = NewResource {
            key: key.clone(),
            details: current.resource.details.clone(),
            refs: current.resource.refs.clone(),
            data: current.data.clone(),
        };
        change(&mut next).map_err(AccessError::Change)?;
        next.details
            .insert("Slug".into(), serde_json::Value::String(key.slug.clone()));
        let body = serde_json::to_vec(&WireResource::of_new(&next))
            .map_err(|e| AccessError::Change(e.into()))?;
        let etag = format!("\"{}\"", current.resource.fingerprint);
        let answer: Result<WireResource, RemoteError> = self.client.call_json(
            Method::PUT,
            &Self::path(key),
            Some(("application/json", Body::from(body))),
            &[("if-match", etag)],
        );
        let wire = match answer {
            Err(e) if e.status() == Some(412) => {
                return Err(AccessError::Hub(HubError::Stale(key.clone())));
            }
            other => other?,
        };
        let updated = Self::resource(wire)?;
        let changed = updated.fingerprint != current.resource.fingerprint;
        Ok((updated, changed))
    }

    fn delete(
        &mut self,
        key: &ResourceKey,
        recursive: bool,
    ) -> Result<Vec<ResourceKey>, AccessError> {
        let query = if recursive { "?recursive=true" } else { "" };
        let answer: Deleted = self.client.call_json(
            Method::DELETE,
            &format!("{}{query}", Self::path(key)),
            None,
            &[],
        )?;
        answer
            .deleted
            .into_iter()
            .map(|w| {
                w.key()
                    .map_err(|e| AccessError::Remote(RemoteError::Config(e)))
            })
            .collect()
    }

    fn plan(
        &mut self,
        package: &Package,
        options: &LoadOptions,
        with_diffs: bool,
    ) -> Result<PlanReport, AccessError> {
        let query = Self::options_query(
            options,
            &[("diffs", with_diffs.to_string()), ("stage", "true".into())],
        );
        let (report, headers): (PlanReport, _) =
            self.post_package("api/v1/hub/plan", package, query, &NoProgress)?;
        self.staged = headers
            .get(UPLOAD_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|id| (package.digest.clone(), id.to_string()));
        Ok(report)
    }

    fn is_current(
        &mut self,
        package: &Package,
        options: &LoadOptions,
    ) -> Result<bool, AccessError> {
        self.pack_in_background(package);
        let expected = expected_sources(package, &options.plan);
        let items: Vec<CompareItem<'_>> = expected
            .iter()
            .map(|(key, source)| CompareItem {
                kind: key.kind.name(),
                space: &key.space,
                slug: &key.slug,
                source,
            })
            .collect();
        let body = serde_json::to_vec(&CompareBody { items })
            .map_err(|e| AccessError::Change(e.into()))?;
        let answer: serde_json::Value = self.client.call_json(
            Method::POST,
            "api/v1/hub/compare",
            Some(("application/json", Body::from(body))),
            &[],
        )?;
        Ok(answer["current"].as_bool().unwrap_or(false))
    }

    fn load(
        &mut self,
        package: &Package,
        options: &LoadOptions,
        expect: Option<&str>,
        detail: bool,
        progress: &dyn Progress,
    ) -> Result<LoadReport, AccessError> {
        let mut extra = vec![("detail", detail.to_string())];
        if let Some(expect) = expect {
            extra.push(("expect", expect.to_string()));
        }
        if let Some((digest, id)) = self.staged.take()
            && digest == package.digest
        {
            // The plan's upload is on the server: apply it without sending
            // the archive again. Another replica (or an expired upload)
            // answers 404; then send it.
            let mut staged_extra = extra.clone();
            staged_extra.push(("upload", id));
            let query = Self::options_query(options, &staged_extra);
            let answer: Result<LoadReport, RemoteError> = self.client.call_json(
                Method::POST,
                &format!("api/v1/hub/apply?{query}"),
                None,
                &[],
            );
            match answer {
                Err(e) if e.status() == Some(404) => {}
                other => return Ok(other?),
            }
        }
        let query = Self::options_query(options, &extra);
        Ok(self
            .post_package("api/v1/hub/apply", package, query, progress)?
            .0)
    }

    fn history(&mut self) -> Result<Vec<HistoryEntry>, AccessError> {
        Ok(self
            .client
            .call_json(Method::GET, "api/v1/hub/history", None, &[])?)
    }

    fn rollback(&mut self, id: i64, force: bool) -> Result<RollbackReport, AccessError> {
        let path = format!("api/v1/hub/history/{id}/rollback?force={force}");
        Ok(self.client.call_json(Method::POST, &path, None, &[])?)
    }
}
