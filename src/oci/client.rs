//! The OCI client: push a package artifact, pull one (every blob checked
//! against its digest), list tags and repositories. `oci-client` does the
//! protocol (token and basic auth, chunked uploads); this drives it on a
//! private current-thread tokio runtime so callers stay synchronous.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest, OciManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::Digest as _;

use super::auth::{Credentials, PASSWORD_ENV, USERNAME_ENV, credentials_for, from_environment};
use super::reference::OciRef;
use super::{ARTIFACT_TYPE, EMPTY_CONFIG, PACKAGE_LAYER, SIGNATURE_LAYER};

/// The largest package layer pulled.
pub const MAX_PACKAGE_BYTES: i64 = 2 << 30;
/// The largest signature layer pulled.
const MAX_SIGNATURE_BYTES: i64 = 64 * 1024;
/// The largest manifest read.
const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// Tags or repositories asked for per page.
const PAGE: usize = 1000;
/// The most tags or repositories listed.
const MAX_LISTED: usize = 100_000;

/// Why an OCI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference is unusable for this operation.
    #[error("{0}")]
    Reference(String),
    /// Credentials could not be read.
    #[error(transparent)]
    Auth(#[from] super::auth::AuthError),
    /// Plain HTTP was not allowed.
    #[error(
        "{0} is not a loopback address: plain HTTP (--plain-http, PKG_OCI_INSECURE=1) is only used for registries on this machine"
    )]
    InsecureRemote(String),
    /// The registry refused or failed.
    #[error("registry {host}: {message}")]
    Registry {
        /// The registry host.
        host: String,
        /// What it said.
        message: String,
    },
    /// The artifact is not a pkg package, or is malformed.
    #[error("{reference}: {reason}")]
    NotAPackage {
        /// The reference.
        reference: String,
        /// Why.
        reason: String,
    },
    /// A blob's content does not match its digest.
    #[error(
        "{reference}: blob {digest} does not match its digest (it was changed in the registry or in transit); nothing was loaded"
    )]
    Tampered {
        /// The reference.
        reference: String,
        /// The blob's expected digest.
        digest: String,
    },
    /// The registry wants credentials pkg did not have, or refused them.
    #[error("registry {host} refused access: {hint}")]
    Unauthorized {
        /// The registry host.
        host: String,
        /// What to do about it.
        hint: String,
    },
    /// The registry names a token service that would get the credentials
    /// in clear text.
    #[error(
        "registry {host} sends clients to the token service {realm} over plain HTTP; pkg does not send credentials there (only over HTTPS, or to this machine)"
    )]
    CleartextTokenService {
        /// The registry host.
        host: String,
        /// The token service's URL.
        realm: String,
    },
    /// The runtime could not start.
    #[error("cannot start the OCI client: {0}")]
    Runtime(String),
}

/// What a push wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pushed {
    /// The reference pushed, by tag.
    pub reference: String,
    /// The manifest's digest.
    pub digest: String,
    /// The package layer's size in bytes.
    pub size: u64,
}

/// A pulled package artifact.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The manifest's digest.
    pub manifest_digest: String,
    /// The package archive (tar.gz), its digest checked.
    pub archive: Vec<u8>,
    /// The signature layer's bytes, when the artifact has one.
    pub signature: Option<Vec<u8>>,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// A client for the registry of one reference.
pub struct OciClient {
    runtime: tokio::runtime::Runtime,
    client: Client,
    auth: RegistryAuth,
    host: String,
    /// Where the credentials came from, when there were any.
    credentials: Option<String>,
    /// Said after a failure reaching a loopback registry over HTTPS.
    hint: &'static str,
}

/// Every `realm` of every `Bearer` challenge in a `WWW-Authenticate`
/// header, read with the parser oci-client uses (whichever challenge and
/// realm it acts on is among these).
fn bearer_realms(header: &str) -> Vec<String> {
    http_auth::parser::ChallengeParser::new(header)
        .map_while(Result::ok)
        .filter(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        .flat_map(|c| {
            c.params
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("realm"))
                .map(|(_, v)| v.to_unescaped())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether credentials may go to the token service at `realm`: over HTTPS,
/// or over plain HTTP to this machine only.
fn token_service_allowed(realm: &str) -> bool {
    match url::Url::parse(realm) {
        Ok(url) if url.scheme() == "https" => true,
        Ok(url) if url.scheme() == "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Asks the registry at `v2` (its `/v2/` URL), without credentials, where
/// its token service is, and refuses one that would get them in clear
/// text. A registry that cannot be reached is left to the operation itself
/// to report.
async fn check_token_service(v2: &str, host: &str) -> Result<(), OciError> {
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| OciError::Runtime(e.to_string()))?;
    let Ok(answer) = client.get(v2).send().await else {
        return Ok(());
    };
    for header in answer.headers().get_all(reqwest::header::WWW_AUTHENTICATE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        if let Some(realm) = bearer_realms(header)
            .into_iter()
            .find(|realm| !token_service_allowed(realm))
        {
            return Err(OciError::CleartextTokenService {
                host: host.to_string(),
                realm,
            });
        }
    }
    Ok(())
}

/// Whether the registry answered 401 (no or wrong credentials) or 403.
fn unauthorized(e: &oci_client::errors::OciDistributionError) -> bool {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => true,
        E::ServerError { code, .. } => *code == 401 || *code == 403,
        _ => false,
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

impl OciClient {
    /// A client for `reference`'s registry: HTTPS, or plain HTTP when
    /// `plain_http` and the host is a loopback address; credentials for
    /// that host only.
    pub fn new(reference: &OciRef, plain_http: bool) -> Result<OciClient, OciError> {
        if plain_http && !reference.is_loopback() {
            return Err(OciError::InsecureRemote(reference.host.clone()));
        }
        let protocol = if plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            read_timeout: Some(std::time::Duration::from_secs(120)),
            connect_timeout: Some(std::time::Duration::from_secs(15)),
            ..Default::default()
        });
        let from_env = from_environment(&reference.host);
        let (auth, credentials) = match credentials_for(&reference.host)? {
            Credentials::Anonymous => (RegistryAuth::Anonymous, None),
            Credentials::Basic { username, password } => (
                RegistryAuth::Basic(username, password),
                Some(if from_env {
                    format!("{USERNAME_ENV}/{PASSWORD_ENV}")
                } else {
                    format!("the docker config's auth entry for {}", reference.host)
                }),
            ),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| OciError::Runtime(e.to_string()))?;
        if credentials.is_some() {
            let scheme = if plain_http { "http" } else { "https" };
            let v2 = format!("{scheme}://{}/v2/", reference.host);
            runtime.block_on(check_token_service(&v2, &reference.host))?;
        }
        Ok(OciClient {
            runtime,
            client,
            auth,
            host: reference.host.clone(),
            credentials,
            hint: if !plain_http && reference.is_loopback() {
                " (a registry on this machine that speaks plain HTTP needs --plain-http or PKG_OCI_INSECURE=1)"
            } else {
                ""
            },
        })
    }

    fn failed(&self, e: impl std::fmt::Display + 'static) -> OciError {
        let any: &dyn std::any::Any = &e;
        if any
            .downcast_ref::<oci_client::errors::OciDistributionError>()
            .is_some_and(unauthorized)
        {
            let hint = match &self.credentials {
                Some(from) => format!(
                    "it did not accept the credentials from {from}; check them, and that they may reach this repository"
                ),
                None => format!(
                    "it needs credentials: set {USERNAME_ENV} and {PASSWORD_ENV}, or `docker login {}`",
                    self.host
                ),
            };
            return OciError::Unauthorized {
                host: self.host.clone(),
                hint,
            };
        }
        let message = e.to_string();
        let hint = if message.contains("https://") {
            self.hint
        } else {
            ""
        };
        OciError::Registry {
            host: self.host.clone(),
            message: format!("{message}{hint}"),
        }
    }

    fn reference(r: &OciRef) -> Reference {
        match (&r.tag, &r.digest) {
            (Some(tag), Some(digest)) => Reference::with_tag_and_digest(
                r.host.clone(),
                r.repository.clone(),
                tag.clone(),
                digest.clone(),
            ),
            (None, Some(digest)) => {
                Reference::with_digest(r.host.clone(), r.repository.clone(), digest.clone())
            }
            (Some(tag), None) => {
                Reference::with_tag(r.host.clone(), r.repository.clone(), tag.clone())
            }
            (None, None) => {
                Reference::with_tag(r.host.clone(), r.repository.clone(), "latest".into())
            }
        }
    }

    /// Pushes `archive` (a `pkg pack` tar.gz) and, when given, its
    /// signature as `reference` (which must have a tag), with `annotations`
    /// on the manifest. The same package pushed again gives the same
    /// manifest digest.
    pub fn push(
        &self,
        reference: &OciRef,
        archive: Vec<u8>,
        signature: Option<Vec<u8>>,
        annotations: BTreeMap<String, String>,
    ) -> Result<Pushed, OciError> {
        if reference.tag.is_none() || reference.digest.is_some() {
            return Err(OciError::Reference(format!(
                "push to a tag: {reference} names {}",
                if reference.digest.is_some() {
                    "a digest"
                } else {
                    "no tag"
                }
            )));
        }
        let size = archive.len() as u64;
        let mut layers = vec![ImageLayer::new(archive, PACKAGE_LAYER.to_string(), None)];
        if let Some(signature) = signature {
            layers.push(ImageLayer::new(
                signature,
                SIGNATURE_LAYER.to_string(),
                None,
            ));
        }
        let config = Config::new(b"{}".to_vec(), EMPTY_CONFIG.to_string(), None);
        let mut manifest = OciImageManifest::build(&layers, &config, Some(annotations));
        manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_string());
        manifest.artifact_type = Some(ARTIFACT_TYPE.to_string());
        // The manifest is sent as these bytes, so its digest is known here.
        let body = serde_json::to_vec(&manifest).map_err(|e| self.failed(e))?;
        let digest = sha256(&body);
        let image = Self::reference(reference);
        self.runtime
            .block_on(async {
                self.client
                    .store_auth_if_needed(image.resolve_registry(), &self.auth)
                    .await;
                for (layer, descriptor) in layers.iter().zip(&manifest.layers) {
                    self.client
                        .push_blob(&image, layer.data.clone(), &descriptor.digest)
                        .await?;
                }
                self.client
                    .push_blob(&image, config.data.clone(), &manifest.config.digest)
                    .await?;
                self.client
                    .push_manifest_raw(
                        &image,
                        body,
                        reqwest::header::HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE),
                    )
                    .await
            })
            .map_err(|e| self.failed(e))?;
        Ok(Pushed {
            reference: reference.to_string(),
            digest,
            size,
        })
    }

    /// The manifest `reference` names and its digest, checked to be a pkg
    /// package (and against the reference's digest when it has one).
    pub fn manifest(&self, reference: &OciRef) -> Result<(OciImageManifest, String), OciError> {
        let image = Self::reference(reference);
        let (body, digest) = self
            .runtime
            .block_on(
                self.client
                    .pull_manifest_raw(&image, &self.auth, &[OCI_IMAGE_MEDIA_TYPE]),
            )
            .map_err(|e| self.failed(e))?;
        let not_package = |reason: String| OciError::NotAPackage {
            reference: reference.to_string(),
            reason,
        };
        if body.len() > MAX_MANIFEST_BYTES {
            return Err(not_package("the manifest is larger than 4 MiB".into()));
        }
        let actual = sha256(&body);
        if let Some(wanted) = &reference.digest
            && &actual != wanted
        {
            return Err(OciError::Tampered {
                reference: reference.to_string(),
                digest: wanted.clone(),
            });
        }
        if digest != actual {
            return Err(OciError::Tampered {
                reference: reference.to_string(),
                digest,
            });
        }
        let manifest: OciManifest = serde_json::from_slice(&body)
            .map_err(|e| not_package(format!("the manifest is not an OCI image manifest: {e}")))?;
        let OciManifest::Image(manifest) = manifest else {
            return Err(not_package(
                "it is an image index, not a package artifact".into(),
            ));
        };
        let kind = manifest
            .artifact_type
            .as_deref()
            .unwrap_or(manifest.config.media_type.as_str());
        if kind != ARTIFACT_TYPE {
            return Err(not_package(format!(
                "it is not a pkg package (artifact type `{}`, not `{ARTIFACT_TYPE}`)",
                crate::model::slug::escape(kind)
            )));
        }
        Ok((manifest, actual))
    }

    /// Pulls the package `reference` names: the manifest, then the package
    /// layer and the signature layer, each checked against its digest.
    pub fn pull(&self, reference: &OciRef) -> Result<Pulled, OciError> {
        let (manifest, manifest_digest) = self.manifest(reference)?;
        let pinned = reference.with_digest(&manifest_digest);
        let one = |media_type: &str| -> Result<Option<&OciDescriptor>, OciError> {
            let mut found = manifest
                .layers
                .iter()
                .filter(|l| l.media_type == media_type);
            let first = found.next();
            if found.next().is_some() {
                return Err(OciError::NotAPackage {
                    reference: reference.to_string(),
                    reason: format!("it has more than one `{media_type}` layer"),
                });
            }
            Ok(first)
        };
        let package = one(PACKAGE_LAYER)?.ok_or_else(|| OciError::NotAPackage {
            reference: reference.to_string(),
            reason: format!("it has no `{PACKAGE_LAYER}` layer"),
        })?;
        let archive = self.blob(&pinned, package, MAX_PACKAGE_BYTES)?;
        let signature = match one(SIGNATURE_LAYER)? {
            Some(layer) => Some(self.blob(&pinned, layer, MAX_SIGNATURE_BYTES)?),
            None => None,
        };
        Ok(Pulled {
            manifest_digest,
            archive,
            signature,
            annotations: manifest.annotations.clone().unwrap_or_default(),
        })
    }

    fn blob(
        &self,
        reference: &OciRef,
        layer: &OciDescriptor,
        max: i64,
    ) -> Result<Vec<u8>, OciError> {
        if layer.size < 0 || layer.size > max {
            return Err(OciError::NotAPackage {
                reference: reference.to_string(),
                reason: format!(
                    "layer {} is {} bytes, more than the {max} allowed",
                    layer.digest, layer.size
                ),
            });
        }
        let image = Self::reference(reference);
        let too_long = || OciError::NotAPackage {
            reference: reference.to_string(),
            reason: format!(
                "layer {} sent more than the {} bytes its descriptor says",
                layer.digest, layer.size
            ),
        };
        // Read at most the descriptor's size, so a registry that sends more
        // cannot fill the memory; the digest is checked on what was read.
        let out = self.runtime.block_on(async {
            let sized = self
                .client
                .pull_blob_stream(&image, layer)
                .await
                .map_err(|e| self.failed(e))?;
            let mut stream = sized.stream;
            // The descriptor's size is the registry's word: reserve no more
            // than a modest start before the bytes arrive.
            let mut out: Vec<u8> = Vec::with_capacity(layer.size.clamp(0, 64 << 20) as usize);
            while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                let chunk = chunk.map_err(|e| {
                    if e.to_string().to_ascii_lowercase().contains("digest") {
                        OciError::Tampered {
                            reference: reference.to_string(),
                            digest: layer.digest.clone(),
                        }
                    } else {
                        self.failed(e)
                    }
                })?;
                if (out.len() + chunk.len()) as i64 > layer.size {
                    return Err(too_long());
                }
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        })?;
        if sha256(&out) != layer.digest || out.len() as i64 != layer.size {
            return Err(OciError::Tampered {
                reference: reference.to_string(),
                digest: layer.digest.clone(),
            });
        }
        Ok(out)
    }

    /// Every tag of `reference`'s repository.
    pub fn tags(&self, reference: &OciRef) -> Result<Vec<String>, OciError> {
        let image = Self::reference(&reference.with_tag("latest"));
        self.pages("tags", |last| {
            self.runtime
                .block_on(self.client.list_tags(&image, &self.auth, Some(PAGE), last))
                .map(|page| page.tags)
                .map_err(|e| self.failed(e))
        })
    }

    /// Every repository of the registry (`/v2/_catalog`).
    pub fn repositories(&self, reference: &OciRef) -> Result<Vec<String>, OciError> {
        let image = Self::reference(&reference.with_tag("latest"));
        self.pages("repositories", |last| {
            self.runtime
                .block_on(self.client.catalog(&image, &self.auth, Some(PAGE), last))
                .map(|page| page.repositories)
                .map_err(|e| self.failed(e))
        })
    }

    /// A paged list (`?n=PAGE&last=...`), page after page until one brings
    /// nothing new: an empty page, or the same page again from a registry
    /// that ignores `last`. A short page does not end it, since registries
    /// may cap `n` below [`PAGE`] (the cost is one last, empty request).
    /// No list grows past [`MAX_LISTED`]. Order is not relied on:
    /// registries sort differently (the spec asks for case-insensitive
    /// order).
    fn pages(
        &self,
        what: &str,
        fetch: impl Fn(Option<&str>) -> Result<Vec<String>, OciError>,
    ) -> Result<Vec<String>, OciError> {
        let mut all: Vec<String> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut last: Option<String> = None;
        loop {
            let page = fetch(last.as_deref())?;
            last = page.last().cloned();
            let before = all.len();
            for entry in page {
                if seen.insert(entry.clone()) {
                    all.push(entry);
                }
            }
            if all.len() > MAX_LISTED {
                return Err(OciError::Registry {
                    host: self.host.clone(),
                    message: format!(
                        "lists more than {MAX_LISTED} {what}; pkg refuses a list that long rather than read part of it"
                    ),
                });
            }
            if all.len() == before {
                return Ok(all);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{bearer_realms, token_service_allowed};

    #[test]
    fn token_services_get_credentials_over_https_or_on_this_machine_only() {
        assert_eq!(
            bearer_realms(r#"Bearer realm="https://auth.example/token",service="r""#),
            ["https://auth.example/token"]
        );
        assert_eq!(
            bearer_realms(r#"bearer service="r", Realm="http://10.0.0.1/t""#),
            ["http://10.0.0.1/t"]
        );
        assert!(bearer_realms(r#"Basic realm="x""#).is_empty());
        // A Bearer challenge after a Basic one, a second realm, escapes:
        // every realm a client could act on is seen.
        assert_eq!(
            bearer_realms(r#"Basic realm="r", Bearer realm="http://203.0.113.7/t""#),
            ["http://203.0.113.7/t"]
        );
        assert_eq!(
            bearer_realms(r#"Bearer realm="https://ok", realm="http://evil""#),
            ["https://ok", "http://evil"]
        );
        assert_eq!(
            bearer_realms(r#"Bearer xrealm="https://x", realm="http://e\vil""#),
            ["http://evil"]
        );
        assert!(token_service_allowed("https://auth.docker.io/token"));
        assert!(token_service_allowed("http://127.0.0.1:5000/token"));
        assert!(token_service_allowed("http://localhost/token"));
        assert!(token_service_allowed("http://[::1]:80/token"));
        assert!(!token_service_allowed("http://auth.example/token"));
        assert!(!token_service_allowed("http://10.0.0.1/token"));
        assert!(!token_service_allowed("ftp://auth.example/token"));
        assert!(!token_service_allowed("not a url"));
    }
}
