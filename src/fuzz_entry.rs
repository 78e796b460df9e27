//! Entry points for coverage-guided fuzzing, and for replaying fuzz inputs
//! as regression tests on stable Rust.
//!
//! This module exists only for `fuzz/` (the `cargo fuzz` targets, run with
//! `scripts/fuzz.sh TARGET SECONDS`) and for the test below, which replays
//! every seed under `fuzz/seeds/TARGET/` and every input that once crashed
//! a target under `fuzz/regressions/TARGET/` through the same function, so
//! `cargo test` keeps every bug the fuzzer found fixed. It is not part of
//! the tool's interface.
//!
//! Each target is one `pub fn NAME(data: &[u8])` that drives the very
//! functions production calls on untrusted bytes and ignores their `Err`
//! results: it must never panic, hang or exhaust memory, whatever `data`
//! holds. Where production reads a path, the bytes are written to a fresh
//! temporary directory first. `docs/fuzzing.md` lists what each target
//! covers.

use std::cell::RefCell;
use std::path::Path;

use axum::body::Bytes;

use crate::backends::BackendKind;
use crate::backends::manifest::{check_spec, detect, parse_dir};
use crate::filter::WhereFilter;
use crate::hub::HubResource;
use crate::hub::subject::{IdLookup, ResourceSubject};
use crate::loaders::archive::{ArchiveFormat, extract_in, extract_to_memory};
use crate::manifest::environment::parse_environments;
use crate::manifest::write::manifest_bytes;
use crate::manifest::{MANIFEST_FILE, parse_manifest};
use crate::model::{Details, ResourceKey, ResourceKind};
use crate::package::checked::Package;
use crate::package::details_check::details_shape;
use crate::package::diff::data_diff;
use crate::package::merge::{DataFormat, Side, merge};
use crate::package::read::{canonical_details, read_memory_package, read_package};
use crate::progress::NoProgress;
use crate::safe_tree::{Limits, MemoryTree};
use crate::server::blobs::Blobs;
use crate::server::hub::api::{decode_compare, decode_load_query};
use crate::server::registry::publish::check_archive;
use crate::server::upload::read_transfer;

/// A fuzz target: its name (the `fuzz/fuzz_targets/NAME.rs` file and the
/// seed and regression directories) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("manifest", manifest),
    ("details", details),
    ("unit_data", unit_data),
    ("where_expr", where_expr),
    ("archive_tar_gz", archive_tar_gz),
    ("archive_tar", archive_tar),
    ("archive_zip", archive_zip),
    ("pixi_toml", pixi_toml),
    ("pyproject_toml", pyproject_toml),
    ("server_publish", server_publish),
    ("server_apply", server_apply),
];

/// The entry point of the target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// How the package in a fuzz input is labelled in messages.
const LABEL: &str = "fuzz";

/// The manifest of the one-space, one-unit package the details and unit
/// data targets put their bytes into.
const UNIT_MANIFEST: &str = r#"{
  "name": "fuzz",
  "spaces": [{"slug": "fuzz", "details_loc": "/spaces/fuzz.json"}],
  "units": [
    {
      "slug": "u",
      "space_slug": "fuzz",
      "details_loc": "/units/fuzz/u.json",
      "unit_data_loc": "/units/fuzz/u.data.yaml",
      "target": ""
    }
  ]
}"#;

/// Unit data the merge takes as the base and local sides when the input
/// does not give them.
const BASE_DATA: &[u8] =
    b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: \"1\"\n";
/// The local side: one value changed from [`BASE_DATA`].
const LOCAL_DATA: &[u8] =
    b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: \"2\"\n";

/// Smaller limits than the defaults for the archive targets, so that one
/// input cannot take seconds; the code paths are the same.
const ARCHIVE_LIMITS: Limits = Limits {
    max_total_bytes: 16 << 20,
    max_entries: 10_000,
    max_file_bytes: 8 << 20,
};

/// The manifest reader: [`parse_manifest`], writing the manifest back
/// ([`manifest_bytes`]) and parsing that, then the whole package check
/// ([`read_memory_package`]) over a tree holding every file the manifest
/// names, then reading each item's details and data as a load does.
pub fn manifest(data: &[u8]) {
    let (parsed, _problems) = parse_manifest(data);
    let Some(parsed) = parsed else {
        return;
    };
    let _ = parse_manifest(&manifest_bytes(&parsed));
    let mut tree = MemoryTree::default();
    let mut add = |loc: &str| {
        let filler: &[u8] = if loc.ends_with(".json") {
            b"{}"
        } else {
            BASE_DATA
        };
        tree.insert(loc.trim_start_matches('/').to_string(), filler.to_vec());
    };
    parsed.named_paths().for_each(&mut add);
    parsed
        .digests
        .iter()
        .flat_map(|d| d.paths())
        .for_each(&mut add);
    let (environments, _) = parse_environments(&parsed.environments);
    for env in &environments {
        env.files.iter().for_each(|loc| add(loc));
    }
    tree.insert(MANIFEST_FILE.to_string(), data.to_vec());
    if let Ok(package) = read_memory_package(tree, Path::new(LABEL), &NoProgress, false) {
        read_items(&package);
    }
}

/// Reads every item's details and data as a load does.
fn read_items(package: &Package) {
    for item in &package.items {
        let _ = package.read_details(item, &item.key.slug);
        let _ = package.read_data(item);
    }
}

/// The one-unit package with `details` as the unit's details file and
/// `data` as its data file.
fn unit_package(details: &[u8], data: &[u8]) -> MemoryTree {
    let mut tree = MemoryTree::default();
    tree.insert(MANIFEST_FILE.to_string(), UNIT_MANIFEST.as_bytes().to_vec());
    tree.insert("spaces/fuzz.json".to_string(), b"{}".to_vec());
    tree.insert("units/fuzz/u.json".to_string(), details.to_vec());
    tree.insert("units/fuzz/u.data.yaml".to_string(), data.to_vec());
    tree
}

/// The unit in the one-unit package.
fn unit_key() -> ResourceKey {
    ResourceKey::new(ResourceKind::Unit, "fuzz", "u")
}

/// A merge side with `details` and `data`.
fn side(details: Details, data: &[u8]) -> Side {
    Side {
        details,
        refs: Vec::new(),
        data: Some(data.to_vec()),
    }
}

/// The details reader: `data` as a unit's details file, checked as
/// validation checks it ([`details_shape`], the package check of
/// [`read_memory_package`]), turned into canonical details as a load does
/// ([`canonical_details`], `Package::read_details`), and merged with the
/// hub's details as `--on-conflict merge` does.
pub fn details(data: &[u8]) {
    let _ = details_shape(data);
    let _ = canonical_details(data, "u");
    let tree = unit_package(data, BASE_DATA);
    let Ok(package) = read_memory_package(tree, Path::new(LABEL), &NoProgress, false) else {
        return;
    };
    for item in &package.items {
        let Ok(text) = package.read_details(item, &item.key.slug) else {
            continue;
        };
        let Ok(upstream) = serde_json::from_str::<Details>(&text) else {
            continue;
        };
        let mut local = upstream.clone();
        local.insert("Slug".into(), serde_json::Value::String("local".into()));
        let base = Details::new();
        let _ = merge(
            &item.key,
            Some(&side(base, BASE_DATA)),
            &side(local, BASE_DATA),
            &side(upstream, BASE_DATA),
            DataFormat::Yaml,
        );
    }
}

/// The unit data reader. The first byte picks the data format (YAML, JSON
/// or lines); the rest is split at `0xFF` bytes into the upstream data
/// (read through the package check and `Package::read_data`), and
/// optionally the local and base data. They are diffed ([`data_diff`]) and
/// merged ([`merge`]) as a load with `--on-conflict merge` does.
pub fn unit_data(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let suffix = [".yaml", ".json", ".txt"][usize::from(selector) % 3];
    let format = DataFormat::from_suffix(suffix);
    let mut parts = rest.splitn(3, |b| *b == 0xFF);
    let upstream = parts.next().unwrap_or_default();
    let local = parts.next().unwrap_or(LOCAL_DATA);
    let base = parts.next().unwrap_or(BASE_DATA);
    let tree = unit_package(b"{}", upstream);
    let Ok(package) = read_memory_package(tree, Path::new(LABEL), &NoProgress, false) else {
        return;
    };
    for item in &package.items {
        let Ok(read) = package.read_data(item) else {
            continue;
        };
        let _ = data_diff(base, &read, "hub", "package");
    }
    let _ = merge(
        &unit_key(),
        Some(&side(Details::new(), base)),
        &side(Details::new(), local),
        &side(Details::new(), upstream),
        format,
    );
    let _ = merge(
        &unit_key(),
        None,
        &side(Details::new(), local),
        &side(Details::new(), upstream),
        format,
    );
}

thread_local! {
    /// An empty database for the evaluator's ID lookups (every lookup
    /// finds nothing, as for a resource referring outside the hub).
    static EMPTY_DB: RefCell<Option<rusqlite::Connection>> =
        RefCell::new(rusqlite::Connection::open_in_memory().ok());
}

/// Details a resource has when the input gives none.
fn default_details() -> Details {
    let value = serde_json::json!({
        "DisplayName": "Backend API",
        "ToolchainType": "Kubernetes/YAML",
        "LastChangeDescription": "",
        "UnitID": "9F8E7D6C-5B4A-4321-8765-0FEDCBA98765",
        "LiveRevisionNum": 5,
        "ApprovedBy": ["0b5f6a3e-8c1d-4f2a-9e3b-7d6c5b4a3f21"],
        "Labels": {"app": "web", "tier": "Backend", "empty": ""},
        "Annotations": {"owner": "team-a"},
        "ApplyGates": {"policy/no-latest": true, "policy/replicas": false}
    });
    match value {
        serde_json::Value::Object(map) => map,
        _ => Details::new(),
    }
}

/// The `--where` parser and evaluator. The first byte picks the resource
/// kind; the rest, up to a NUL byte, is the expression
/// ([`WhereFilter::parse`]); after the NUL, optionally, the resource's
/// details as a JSON object. A parsed filter is evaluated
/// ([`WhereFilter::matches`]) against that resource as the hub presents it
/// ([`ResourceSubject`]).
pub fn where_expr(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let kind = ResourceKind::ALL[usize::from(selector) % ResourceKind::ALL.len()];
    let (expr, details) = match rest.iter().position(|b| *b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(expr) = std::str::from_utf8(expr) else {
        return;
    };
    let Ok(filter) = WhereFilter::parse(expr, kind) else {
        return;
    };
    let _ = filter.as_str();
    let details = serde_json::from_slice::<Details>(details).unwrap_or_else(|_| default_details());
    let key = match kind {
        ResourceKind::Space => ResourceKey::space("backend-api"),
        _ => ResourceKey::new(kind, "fuzz", "backend-api"),
    };
    let resource = HubResource {
        key,
        id: "9f8e7d6c-5b4a-4321-8765-0fedcba98765".into(),
        details,
        refs: Vec::new(),
        data_digest: None,
        fingerprint: String::new(),
        version: 7,
        created_at: "2026-10-15T08:30:00Z".into(),
        updated_at: "2026-11-01T00:00:00Z".into(),
    };
    EMPTY_DB.with(|db| {
        if let Some(conn) = db.borrow().as_ref() {
            let ids = IdLookup::new(conn);
            let subject = ResourceSubject {
                resource: &resource,
                ids: &ids,
            };
            let _ = filter.matches(&subject);
        }
    });
}

/// The archive reader on `data` as a `format` archive: extracted to disk
/// ([`extract_in`], as `pkg load FILE` and a publish do) and the package
/// read from there ([`read_package`]), and extracted in memory
/// ([`extract_to_memory`], as a hub transfer is) and read from there
/// ([`read_memory_package`]).
fn archive(data: &[u8], format: ArchiveFormat) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join(format!("fuzz.{}", format.extension()));
    if std::fs::write(&path, data).is_ok()
        && let Ok(extracted) = extract_in(&path, format, ARCHIVE_LIMITS, dir.path())
        && let Ok(package) = read_package(&extracted.root, &NoProgress)
    {
        read_items(&package);
    }
    if let Ok(tree) = extract_to_memory(data, format, ARCHIVE_LIMITS, Path::new(LABEL))
        && let Ok(package) = read_memory_package(tree, Path::new(LABEL), &NoProgress, false)
    {
        read_items(&package);
    }
}

/// The archive reader on `data` as a `.tar.gz` file.
pub fn archive_tar_gz(data: &[u8]) {
    archive(data, ArchiveFormat::TarGz);
}

/// The archive reader on `data` as the tar stream inside a `.tar.gz`: the
/// harness compresses it first, so that the fuzzer's mutations reach the
/// tar headers rather than breaking the gzip checksum.
pub fn archive_tar(data: &[u8]) {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if gz.write_all(data).is_err() {
        return;
    }
    if let Ok(compressed) = gz.finish() {
        archive(&compressed, ArchiveFormat::TarGz);
    }
}

/// The archive reader on `data` as a `.zip` file.
pub fn archive_zip(data: &[u8]) {
    archive(data, ArchiveFormat::Zip);
}

/// The environment manifest `data` as `file` in a directory: which
/// backend it is ([`detect`]), what it declares for each backend
/// ([`parse_dir`]), and each declared dependency's spec checked as
/// `pkg env add` checks one ([`check_spec`]).
fn env_manifest(data: &[u8], file: &str) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join(file), data).is_err() {
        return;
    }
    let _ = detect(dir.path());
    for kind in [BackendKind::Pixi, BackendKind::Uv] {
        if let Ok(parsed) = parse_dir(dir.path(), kind) {
            for dep in &parsed.dependencies {
                let _ = check_spec(kind, &format!("{}{}", dep.name, dep.spec));
            }
        }
    }
}

/// The pixi.toml parser ([`env_manifest`] on `pixi.toml`).
pub fn pixi_toml(data: &[u8]) {
    env_manifest(data, "pixi.toml");
}

/// The pyproject.toml parser, for pixi (`[tool.pixi]`) and uv
/// ([`env_manifest`] on `pyproject.toml`).
pub fn pyproject_toml(data: &[u8]) {
    env_manifest(data, "pyproject.toml");
}

/// The server's decoding of a publish upload: [`check_archive`], as
/// `POST /api/v1/packages` calls it, with blobs in a temporary directory
/// (the archive written and extracted there, the package checked, name,
/// version and digests required).
pub fn server_publish(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let Ok(blobs) = Blobs::open(dir.path()) else {
        return;
    };
    let _ = check_archive(&blobs, data);
}

/// The server's decoding of an apply (and plan) request: up to the first
/// newline, the query string ([`decode_load_query`]: the load options);
/// the rest, the body, read as the package archive
/// ([`read_transfer`]) and as the JSON body of a compare
/// ([`decode_compare`]).
pub fn server_apply(data: &[u8]) {
    let (query, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[][..], data),
    };
    if let Ok(query) = std::str::from_utf8(query) {
        let _ = decode_load_query(Some(query));
    }
    let _ = read_transfer(body);
    let _ = decode_compare(&Bytes::copy_from_slice(body));
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// `fuzz/seeds` and `fuzz/regressions`.
    fn input_roots() -> Vec<PathBuf> {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        vec![fuzz.join("seeds"), fuzz.join("regressions")]
    }

    /// Replays every seed and every input that once crashed a target
    /// through that target: none may panic.
    #[test]
    fn fuzz_inputs_replay_without_panics() {
        let mut failures = Vec::new();
        let mut replayed = 0;
        for root in input_roots() {
            let Ok(dirs) = std::fs::read_dir(&root) else {
                continue;
            };
            for dir in dirs.flatten() {
                let name = dir.file_name().to_string_lossy().into_owned();
                let Some(run) = target(&name) else {
                    failures.push(format!("{}: no target `{name}`", dir.path().display()));
                    continue;
                };
                let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir.path())
                    .into_iter()
                    .flatten()
                    .filter(|e| e.file_type().is_file())
                    .map(|e| e.into_path())
                    .collect();
                files.sort();
                for file in files {
                    let bytes = std::fs::read(&file).expect("readable fuzz input");
                    replayed += 1;
                    if std::panic::catch_unwind(|| run(&bytes)).is_err() {
                        failures.push(format!("{}: panicked", file.display()));
                    }
                }
            }
        }
        assert!(replayed > 0, "no fuzz inputs found under fuzz/");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Every target has its `fuzz/fuzz_targets/NAME.rs` and seeds.
    #[test]
    fn every_target_has_a_harness_and_seeds() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        for (name, _) in TARGETS {
            let harness = fuzz.join("fuzz_targets").join(format!("{name}.rs"));
            let text = std::fs::read_to_string(&harness).expect("a harness per target");
            assert!(
                text.contains(&format!("pkg::fuzz_entry::{name}(")),
                "{} must call pkg::fuzz_entry::{name}",
                harness.display()
            );
            let seeds = fuzz.join("seeds").join(name);
            let count = std::fs::read_dir(&seeds).map_or(0, |d| d.count());
            assert!(count > 0, "{} has no seeds", seeds.display());
        }
    }

    /// The one-unit package is valid with plain details and data, so the
    /// details and unit data targets reach the load's readers.
    #[test]
    fn the_unit_package_is_valid() {
        let tree = unit_package(b"{\"Labels\": {\"a\": \"b\"}}", BASE_DATA);
        let package = read_memory_package(tree, Path::new(LABEL), &NoProgress, false)
            .expect("a valid package");
        assert_eq!(package.items.len(), 2);
    }

    /// A where-expression seed parses and reaches the evaluator.
    #[test]
    fn where_seed_parses() {
        assert!(WhereFilter::parse("Labels.app = 'web'", ResourceKind::Unit).is_ok());
        where_expr(b"\x03Labels.app = 'web' AND HeadRevisionNum > 6");
    }
}
