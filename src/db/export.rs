//! `pkg db create`: exports the chosen tables (each filtered by its
//! predicate, some columns left out) into a package directory, adding,
//! with `with_parents`, every row a chosen row references through a
//! foreign key, transitively (Jailer's closure), and with `with_children`
//! the rows referencing the chosen rows of the named tables. Rows are
//! streamed from the database into `/tables/<table>.jsonl` in primary-key
//! order, hashed as they are written; a table is read once unless the
//! closure adds rows to it in a later round. Only keys are held in memory
//! (see `export_keys::Taken`), as integers where a key is one integer column. The
//! same database state gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::export_keys::{KeySet, Taken, key_of, positions};
use super::export_write::{empty_digest, write_table};
use super::schema::Table;
use super::source::{DbError, ExportSource, check_predicate};
use crate::manifest::tables::{ExternalKeys, TableEntry, data_loc};
use crate::manifest::types::Digests;
use crate::manifest::write::manifest_bytes;
use crate::manifest::{FORMAT_VERSION, MANIFEST_FILE, Manifest};
use crate::model::fingerprint::hex;

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// The tables chosen.
    pub tables: Vec<String>,
    /// Table → SQL predicate.
    pub predicates: BTreeMap<String, String>,
    /// Table → columns left out.
    pub excluded: BTreeMap<String, BTreeSet<String>>,
    /// Add every row the taken rows reference, transitively.
    pub with_parents: bool,
    /// Tables whose referencing rows (in other tables) are added.
    pub with_children: Vec<String>,
    /// The package name.
    pub name: Option<String>,
    /// The package version.
    pub version: Option<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportReport {
    /// Each table and its row count, by name.
    pub tables: Vec<(String, u64)>,
    /// References to rows the package does not hold: table, columns,
    /// referenced table, distinct keys.
    pub outside: Vec<(String, Vec<String>, String, usize)>,
    /// The package digest.
    pub digest: String,
}

/// Exports `request` from `source` into the empty directory `out`.
pub fn export(
    source: &mut dyn ExportSource,
    request: &ExportRequest,
    out: &Path,
) -> Result<ExportReport, DbError> {
    let engine = source.engine();
    let catalog = source.catalog()?;
    let known: BTreeMap<&str, _> = catalog.iter().map(|t| (t.name.as_str(), t)).collect();
    let unknown = |name: &str| {
        DbError::Invalid(format!(
            "unknown table `{name}`; the database has {}",
            known.keys().copied().collect::<Vec<_>>().join(", ")
        ))
    };
    if request.tables.is_empty() {
        return Err(DbError::Invalid(
            "name at least one table with --table".into(),
        ));
    }
    for name in request
        .tables
        .iter()
        .chain(request.predicates.keys())
        .chain(request.excluded.keys())
        .chain(&request.with_children)
    {
        if !known.contains_key(name.as_str()) {
            return Err(unknown(name));
        }
    }
    for (table, predicate) in &request.predicates {
        if !request.tables.contains(table) {
            return Err(DbError::Invalid(format!(
                "--where names table `{table}`, which no --table chose"
            )));
        }
        check_predicate(table, predicate)?;
    }
    // The tables taken: the chosen, their parents (transitively) and the
    // children of the named tables.
    let mut taken: BTreeSet<String> = request.tables.iter().cloned().collect();
    loop {
        let before = taken.len();
        for t in taken.clone() {
            if let Some(c) = known.get(t.as_str()) {
                if request.with_parents {
                    taken.extend(c.foreign_keys.iter().map(|fk| fk.table.clone()));
                }
                if request.with_children.contains(&t) {
                    for child in &catalog {
                        if child.foreign_keys.iter().any(|fk| fk.table == t) {
                            taken.insert(child.name.clone());
                        }
                    }
                }
            }
        }
        taken.retain(|t| known.contains_key(t.as_str()));
        if taken.len() == before {
            break;
        }
    }
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for name in &taken {
        // The name becomes a file name: a hostile catalog cannot escape.
        crate::manifest::tables::check_table_name(name)
            .map_err(|e| DbError::Invalid(format!("{e}; pkg cannot export it")))?;
        let mut table = known[name.as_str()]
            .typed(engine)
            .map_err(DbError::Invalid)?;
        if let Some(excluded) = request.excluded.get(name) {
            for column in excluded {
                if table.column(column).is_none() {
                    return Err(DbError::Invalid(format!(
                        "--exclude-columns: table `{name}` has no column `{column}`"
                    )));
                }
                if table.primary_key.contains(column)
                    || table
                        .foreign_keys
                        .iter()
                        .any(|fk| fk.columns.contains(column))
                {
                    return Err(DbError::Invalid(format!(
                        "--exclude-columns: `{name}.{column}` is part of a key and must stay"
                    )));
                }
            }
            table.columns.retain(|c| !excluded.contains(&c.name));
        }
        tables.insert(name.clone(), table);
    }
    std::fs::create_dir_all(out.join("tables"))
        .map_err(|e| DbError::Io(format!("cannot create {}: {e}", out.display())))?;

    // The tables the closure may read again (the parents of taken tables
    // with `with_parents`, the children of the named tables): only their
    // taken rows' primary keys are held.
    let rescanned: BTreeSet<&String> = tables
        .iter()
        .filter(|(name, table)| {
            let parent = request.with_parents
                && tables
                    .values()
                    .any(|t| t.foreign_keys.iter().any(|fk| &fk.table == *name));
            let child = table
                .foreign_keys
                .iter()
                .any(|fk| request.with_children.contains(&fk.table) && &fk.table != *name);
            parent || child
        })
        .map(|(name, _)| name)
        .collect();
    // What the taken rows hold: those primary keys and, for every column
    // list a foreign key reads or references, the values.
    let mut taken_rows: BTreeMap<String, Taken> = tables
        .iter()
        .map(|(name, table)| {
            let taken = Taken::new(name, table, &tables, rescanned.contains(name));
            (name.clone(), taken)
        })
        .collect();
    // Pass 1: the chosen rows, written as read.
    let mut written: BTreeMap<String, (u64, [u8; 32])> = BTreeMap::new();
    for name in &request.tables {
        let table = &tables[name];
        let state = taken_rows.get_mut(name).ok_or_else(|| unknown(name))?;
        let result = write_table(
            source,
            table,
            request.predicates.get(name).map(String::as_str),
            out,
            &mut |row| {
                state.take(row);
                true
            },
        )?;
        state.settle();
        written.insert(name.clone(), result);
    }
    // The closure: rows the taken rows reference (with_parents), and rows
    // referencing the taken rows of the named tables (with_children),
    // until nothing new is added. Each round reads a table once, and
    // writes its file as it reads: the rows taken before and those it
    // adds. A table that gains rows in a later round is written again.
    loop {
        let mut grew = false;
        for (name, table) in &tables {
            // (positions in this table's rows, keys wanted there)
            let mut wanted: Vec<(Vec<usize>, KeySet)> = Vec::new();
            if request.with_parents {
                for (child_name, child) in &tables {
                    for (k, fk) in child.foreign_keys.iter().enumerate() {
                        if &fk.table != name {
                            continue;
                        }
                        let Some(refs) = positions(&table.columns, &fk.references) else {
                            continue;
                        };
                        let have = taken_rows[name].values(&refs);
                        let need = taken_rows[child_name]
                            .fk_values(k)
                            .map(|v| v.without(have))
                            .unwrap_or_default();
                        if !need.is_empty() {
                            wanted.push((refs, need));
                        }
                    }
                }
            }
            for (k, fk) in table.foreign_keys.iter().enumerate() {
                if !request.with_children.contains(&fk.table) || &fk.table == name {
                    continue;
                }
                let Some(parent) = tables.get(&fk.table) else {
                    continue;
                };
                let Some(refs) = positions(&parent.columns, &fk.references) else {
                    continue;
                };
                let mine = taken_rows[name].fk_values(k);
                let need = taken_rows[&fk.table]
                    .values(&refs)
                    .map(|v| v.without(mine))
                    .unwrap_or_default();
                if !need.is_empty() {
                    let Some(cols) = positions(&table.columns, &fk.columns) else {
                        continue;
                    };
                    wanted.push((cols, need));
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let state = taken_rows.get_mut(name).ok_or_else(|| unknown(name))?;
            let mut new_rows = 0;
            let mut scratch = String::new();
            let result = write_table(source, table, None, out, &mut |row| {
                if state.has(row) {
                    return true;
                }
                let take = wanted
                    .iter()
                    .any(|(pos, keys)| keys.contains(key_of(row, pos, &mut scratch)));
                if take {
                    state.take(row);
                    new_rows += 1;
                }
                take
            })?;
            state.settle();
            written.insert(name.clone(), result);
            if new_rows > 0 {
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    // References leaving the package.
    let mut outside = Vec::new();
    let mut external: BTreeMap<String, Vec<ExternalKeys>> = BTreeMap::new();
    for (name, table) in &tables {
        for (k, fk) in table.foreign_keys.iter().enumerate() {
            let inside = tables.get(&fk.table).and_then(|parent| {
                positions(&parent.columns, &fk.references)
                    .and_then(|refs| taken_rows[&fk.table].values(&refs))
            });
            let mut leaving: Vec<Vec<Value>> = taken_rows[name]
                .fk_values(k)
                .into_iter()
                .flat_map(KeySet::iter)
                .filter(|v| !inside.is_some_and(|i| i.contains(*v)))
                .filter_map(|v| serde_json::from_str(&v.json()).ok())
                .collect();
            if leaving.is_empty() {
                continue;
            }
            leaving.sort_by_key(|key| serde_json::to_string(key).unwrap_or_default());
            outside.push((
                name.clone(),
                fk.columns.clone(),
                fk.table.clone(),
                leaving.len(),
            ));
            external
                .entry(name.clone())
                .or_default()
                .push(ExternalKeys {
                    table: fk.table.clone(),
                    references: fk.references.clone(),
                    keys: leaving,
                });
        }
    }
    // The manifest.
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    let mut counts = Vec::new();
    for (name, table) in &tables {
        let (rows, digest) = match written.get(name) {
            Some(done) => *done,
            None => (0, empty_digest(out, name)?),
        };
        let entry = TableEntry {
            table: table.clone(),
            row_count: rows,
            data_loc: data_loc(name),
            external: external.remove(name).unwrap_or_default(),
        };
        entries.push(serde_json::to_value(&entry).map_err(|e| DbError::Io(e.to_string()))?);
        digests.push((data_loc(name).into_boxed_str(), digest));
        counts.push((name.clone(), rows));
    }
    let manifest = Manifest {
        format: Some(FORMAT_VERSION),
        name: request.name.clone(),
        version: request.version.clone(),
        tables: entries,
        digests: Some(Digests::new(digests)),
        ..Manifest::default()
    };
    let bytes = manifest_bytes(&manifest);
    std::fs::write(out.join(MANIFEST_FILE), &bytes).map_err(|e| {
        DbError::Io(format!(
            "cannot write {}: {e}",
            out.join(MANIFEST_FILE).display()
        ))
    })?;
    Ok(ExportReport {
        tables: counts,
        outside,
        digest: format!("sha256:{}", hex(&Sha256::digest(&bytes))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sqlite::SqliteSource;

    /// A SQLite file with the test schema and a few rows.
    fn database(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("shop.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(crate::db::sqlite::tests::SCHEMA)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', '10.50'), (2, 'Bob', NULL, 3), (3, 'Cy', 'cy@example.com', NULL);
             INSERT INTO orders VALUES (10, 1, '2026-11-01 10:00:00', 1), (11, 2, '2026-11-02 11:30:00.5', 0), (12, 1, NULL, NULL);
             INSERT INTO products VALUES ('p1', 'eu', '1.99'), ('p1', 'us', '2.49'), ('p2', 'eu', '5');
             INSERT INTO order_items VALUES (10, 'p1', 'eu', 2), (11, 'p1', 'us', 1), (12, 'p2', 'eu', 3);
             INSERT INTO employees VALUES (1, NULL, X'00FF', '{\"a\": null}'), (2, 1, NULL, NULL), (3, 2, NULL, '[1,2]');",
        )
        .unwrap();
        path
    }

    fn lines(out: &Path, table: &str) -> Vec<String> {
        std::fs::read_to_string(out.join("tables").join(format!("{table}.jsonl")))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn exports_rows_with_their_parents_deterministically() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let request = ExportRequest {
            tables: vec!["order_items".into()],
            predicates: [("order_items".to_string(), "order_id = 11".to_string())].into(),
            excluded: [("customers".to_string(), ["email".to_string()].into())].into(),
            with_parents: true,
            ..ExportRequest::default()
        };
        let out = dir.path().join("pkg");
        let report = export(&mut SqliteSource::open(&db).unwrap(), &request, &out).unwrap();
        assert_eq!(
            report.tables,
            [
                ("customers".to_string(), 1),
                ("order_items".to_string(), 1),
                ("orders".to_string(), 1),
                ("products".to_string(), 1)
            ]
        );
        assert!(report.outside.is_empty(), "{:?}", report.outside);
        assert_eq!(
            lines(&out, "customers"),
            [r#"{"id":2,"name":"Bob","balance":"3"}"#]
        );
        assert_eq!(
            lines(&out, "orders"),
            [r#"{"id":11,"customer_id":2,"placed_at":"2026-11-02T11:30:00.5","paid":false}"#]
        );
        assert_eq!(
            lines(&out, "products"),
            [r#"{"sku":"p1","region":"us","price":"2.49"}"#]
        );
        // The package reads back and checks.
        let package =
            crate::package::read::read_package(&out, &crate::progress::NoProgress).unwrap();
        assert_eq!(package.digest, report.digest);
        // The same state gives the same bytes.
        let again = dir.path().join("again");
        let report2 = export(&mut SqliteSource::open(&db).unwrap(), &request, &again).unwrap();
        assert_eq!(report.digest, report2.digest);
    }

    #[test]
    fn self_references_children_and_outside_references() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        // Employee 3 and its managers, transitively.
        let request = ExportRequest {
            tables: vec!["employees".into()],
            predicates: [("employees".to_string(), "id = 3".to_string())].into(),
            with_parents: true,
            ..ExportRequest::default()
        };
        let out = dir.path().join("a");
        export(&mut SqliteSource::open(&db).unwrap(), &request, &out).unwrap();
        assert_eq!(
            lines(&out, "employees"),
            [
                r#"{"id":1,"manager_id":null,"photo":"AP8=","meta":"{\"a\": null}"}"#,
                r#"{"id":2,"manager_id":1,"photo":null,"meta":null}"#,
                r#"{"id":3,"manager_id":2,"photo":null,"meta":"[1,2]"}"#
            ]
        );
        // Customer 1 with its orders (children), without parents: the
        // orders' items are not taken, and nothing points outside.
        let request = ExportRequest {
            tables: vec!["customers".into()],
            predicates: [("customers".to_string(), "id = 1".to_string())].into(),
            with_children: vec!["customers".into()],
            ..ExportRequest::default()
        };
        let out = dir.path().join("b");
        let report = export(&mut SqliteSource::open(&db).unwrap(), &request, &out).unwrap();
        assert_eq!(
            report.tables,
            [("customers".to_string(), 1), ("orders".to_string(), 2)]
        );
        // Orders alone reference customers outside the package.
        let request = ExportRequest {
            tables: vec!["orders".into()],
            ..ExportRequest::default()
        };
        let out = dir.path().join("c");
        let report = export(&mut SqliteSource::open(&db).unwrap(), &request, &out).unwrap();
        assert_eq!(
            report.outside,
            [(
                "orders".to_string(),
                vec!["customer_id".to_string()],
                "customers".to_string(),
                2
            )]
        );
    }

    #[test]
    fn table_names_cannot_escape_the_package() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evil.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE \"../../escape\" (id INTEGER PRIMARY KEY); INSERT INTO \"../../escape\" VALUES (1);")
            .unwrap();
        let request = ExportRequest {
            tables: vec!["../../escape".into()],
            ..ExportRequest::default()
        };
        let out = dir.path().join("a").join("b");
        let err = export(&mut SqliteSource::open(&path).unwrap(), &request, &out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("may not hold /"), "{err}");
        assert!(!dir.path().join("escape.jsonl").exists());
    }

    #[test]
    fn bad_requests_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let out = dir.path().join("x");
        let run = |request: ExportRequest| {
            export(&mut SqliteSource::open(&db).unwrap(), &request, &out)
                .unwrap_err()
                .to_string()
        };
        let err = run(ExportRequest {
            tables: vec!["customers".into()],
            predicates: [(
                "customers".to_string(),
                "1=1; DROP TABLE customers".to_string(),
            )]
            .into(),
            ..ExportRequest::default()
        });
        assert!(err.contains("customers") && err.contains("`;`"), "{err}");
        let err = run(ExportRequest {
            tables: vec!["nosuch".into()],
            ..ExportRequest::default()
        });
        assert!(err.contains("unknown table `nosuch`"), "{err}");
        let err = run(ExportRequest {
            tables: vec!["customers".into()],
            predicates: [("customers".to_string(), "nosuchcolumn = 1".to_string())].into(),
            ..ExportRequest::default()
        });
        assert!(err.contains("predicate of table `customers`"), "{err}");
        let err = run(ExportRequest {
            tables: vec!["orders".into()],
            excluded: [("orders".to_string(), ["customer_id".to_string()].into())].into(),
            ..ExportRequest::default()
        });
        assert!(err.contains("part of a key"), "{err}");
        // The database is unchanged.
        let conn = rusqlite::Connection::open(&db).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
    }
}
