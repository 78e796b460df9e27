//! What every property needs: the proptest configuration, hubs in
//! temporary directories driven through the library exactly as the
//! commands drive them ([`LocalHub`], `package::export::create`,
//! `package::read::read_package`), and exact comparisons: a package
//! directory as a map of files to bytes, and a hub as a dump of its
//! resource and merge-base tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use proptest::test_runner::{Config, FileFailurePersistence};
use rusqlite::types::Value as SqlValue;

use pkg::hub::Hub;
use pkg::hub_access::local::LocalHub;
use pkg::hub_access::{AccessError, HubAccess, LoadReport};
use pkg::package::OnConflict;
use pkg::package::export::{CreateOptions, create};
use pkg::package::load::LoadOptions;
use pkg::package::plan::PlanOptions;
use pkg::package::read::{Package, read_package};
use pkg::progress::NoProgress;

/// The `created_at` every package of these tests records.
pub const SOURCE_DATE_EPOCH: &str = "1700000000";

/// Sets `SOURCE_DATE_EPOCH` (what `pkg create` documents for reproducible
/// packages), once, before any property does anything. Every property
/// calls this first, so no other test thread of this binary is running
/// code while the variable is set (they all wait on the `Once`).
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: see above: the other test threads of this binary are
        // blocked in `call_once`, and the harness thread only waits.
        unsafe { std::env::set_var("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH) };
    });
}

/// The configuration of a property: `default_cases` cases, or
/// `PROPTEST_CASES` when set (for deeper runs). Failing cases are kept in
/// `tests/properties/<property>.regressions` beside the property's source
/// and replayed first on every run; commit them.
pub fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        // Every case builds hubs on disk: keep shrinking bounded.
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// A temporary directory, in memory (`/dev/shm`) when the machine has
/// one: the hub syncs every transaction to disk (`synchronous=FULL`), which
/// on a shared disk makes each case take seconds instead of milliseconds.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let in_memory = shm.is_dir().then(|| {
        tempfile::Builder::new()
            .prefix("pkg-properties-")
            .tempdir_in(shm)
    });
    match in_memory {
        Some(Ok(dir)) => dir,
        _ => tempfile::tempdir().expect("temporary directory"),
    }
}

/// A hub in its own temporary directory, driven as the commands drive it.
pub struct TempHub {
    /// The directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The hub.
    pub hub: LocalHub,
}

impl TempHub {
    /// An empty hub.
    pub fn new() -> TempHub {
        let dir = scratch_dir();
        let hub = Hub::open(&dir.path().join("hub.db")).expect("hub opens");
        TempHub {
            dir,
            hub: LocalHub::new(hub),
        }
    }

    /// `pkg create DIR` (with `options`) into `<tempdir>/<name>`, read back
    /// as `pkg load` reads a local directory.
    pub fn create(&mut self, name: &str, options: &CreateOptions) -> (PathBuf, Package) {
        let dir = self.dir.path().join(name);
        if let Err(e) = create(self.hub.hub_mut(), &dir, options, &NoProgress) {
            panic!("pkg create failed: {e}");
        }
        let package = match read_package(&dir, &NoProgress) {
            Ok(p) => p,
            Err(e) => panic!("the created package does not read back: {e}"),
        };
        (dir, package)
    }

    /// `pkg load` of `package` with `on_conflict`.
    pub fn load(
        &mut self,
        package: &Package,
        on_conflict: OnConflict,
    ) -> Result<LoadReport, AccessError> {
        let options = LoadOptions {
            plan: PlanOptions {
                on_conflict,
                ..PlanOptions::default()
            },
            source: "property".into(),
            ..LoadOptions::default()
        };
        self.hub.load(package, &options, None, false, &NoProgress)
    }

    /// Every row of the hub's resource table and merge-base table, all
    /// columns, in key order: the whole state loads, merges and rollbacks
    /// work on (history aside). With `content_only`, the columns that
    /// differ between two hubs holding the same content are left out:
    /// IDs and timestamps.
    pub fn dump(&mut self, content_only: bool) -> Dump {
        let conn = self.hub.hub_mut().conn();
        let resources = if content_only {
            "SELECT kind, space, slug, details, ref1, ref2, data_digest, fingerprint,
                    source_fingerprint, version, data, base_fingerprint
             FROM resources ORDER BY kind, space, slug"
        } else {
            "SELECT * FROM resources ORDER BY kind, space, slug"
        };
        let bases = "SELECT * FROM bases ORDER BY kind, space, slug";
        let mut dump = Dump::default();
        for (table, sql) in [("resources", resources), ("bases", bases)] {
            let mut stmt = conn.prepare(sql).expect("dump query");
            let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
            let n = columns.len();
            let rows = stmt
                .query_map([], |row| {
                    (0..n)
                        .map(|i| row.get::<_, SqlValue>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .expect("dump query runs")
                .collect::<Result<Vec<_>, _>>()
                .expect("dump rows");
            for row in rows {
                let key = format!("{table} {:?} {:?} {:?}", row[0], row[1], row[2]);
                let fields = columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| (c.clone(), v))
                    .collect();
                dump.rows.insert(key, fields);
            }
        }
        dump
    }
}

/// A dump of a hub: one entry per row, `table kind space slug` → column → value.
#[derive(Debug, Default, PartialEq)]
pub struct Dump {
    /// The rows.
    pub rows: BTreeMap<String, BTreeMap<String, SqlValue>>,
}

impl Dump {
    /// What differs from `other`, row by row and column by column, for a
    /// failure message.
    pub fn diff(&self, other: &Dump) -> String {
        let mut out = String::new();
        let keys: std::collections::BTreeSet<&String> =
            self.rows.keys().chain(other.rows.keys()).collect();
        for key in keys {
            match (self.rows.get(key), other.rows.get(key)) {
                (Some(_), None) => out.push_str(&format!("- only before: {key}\n")),
                (None, Some(_)) => out.push_str(&format!("- only after: {key}\n")),
                (Some(a), Some(b)) => {
                    for (column, value) in a {
                        if b.get(column) != Some(value) {
                            out.push_str(&format!(
                                "- {key} column {column}: {} -> {}\n",
                                show(value),
                                b.get(column).map_or("(none)".into(), show)
                            ));
                        }
                    }
                }
                (None, None) => {}
            }
        }
        out
    }
}

fn show(value: &SqlValue) -> String {
    match value {
        SqlValue::Blob(b) => format!("blob {:?}", String::from_utf8_lossy(b)),
        other => format!("{other:?}"),
    }
}

/// Every file under `dir` (relative path with `/`) with its bytes; a
/// directory or a symlink is listed with a marker so that the tree's shape
/// is compared too.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.expect("readable package tree");
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("inside the package")
            .to_string_lossy()
            .replace('\\', "/");
        let kind = entry.file_type();
        let bytes = if kind.is_file() {
            std::fs::read(entry.path()).expect("readable file")
        } else if kind.is_dir() {
            b"<directory>".to_vec()
        } else {
            b"<other>".to_vec()
        };
        out.insert(rel, bytes);
    }
    out
}

/// The first difference between two package trees, for a failure message.
pub fn tree_diff(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    for (path, bytes) in a {
        match b.get(path) {
            None => return format!("{path} only in the first package"),
            Some(other) if other != bytes => {
                return format!(
                    "{path} differs:\n--- first\n{}\n--- second\n{}",
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(other)
                );
            }
            Some(_) => {}
        }
    }
    match b.keys().find(|k| !a.contains_key(*k)) {
        Some(path) => format!("{path} only in the second package"),
        None => "no difference".into(),
    }
}

/// `pkg create` options for a whole, self-contained package: every unit,
/// and (`--closure`) everything they refer to, so that it loads into an
/// empty hub.
pub fn whole_package() -> CreateOptions {
    CreateOptions {
        name: Some("property".into()),
        closure: true,
        ..CreateOptions::default()
    }
}

/// Two releases of a world: `v1`, and `change` applied to it, each written
/// by `pkg create` from a hub of its own (kept here, so the packages stay on
/// disk as long as this does).
pub struct Releases {
    /// The world after the change.
    pub v2: crate::world::World,
    /// The package of the first release.
    pub p1: Package,
    /// The package of the second.
    pub p2: Package,
    _hubs: (TempHub, TempHub),
}

impl Releases {
    /// `pkg create` of `v1` and of `change` applied to it.
    pub fn of(v1: &crate::world::World, change: &crate::world::Mutation) -> Releases {
        let v2 = change.apply(v1);
        let mut source = TempHub::new();
        v1.materialize(&mut source.hub);
        let (_, p1) = source.create("v1", &whole_package());
        let mut source2 = TempHub::new();
        v2.materialize(&mut source2.hub);
        let (_, p2) = source2.create("v2", &whole_package());
        Releases {
            v2,
            p1,
            p2,
            _hubs: (source, source2),
        }
    }
}
