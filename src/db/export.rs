//! `pkg db create`: exports the chosen tables (each filtered by its
//! predicate, some columns left out) into a package directory, adding,
//! with `with_parents`, every row a chosen row references through a
//! foreign key, transitively (Jailer's closure), and with `with_children`
//! the rows referencing the chosen rows of the named tables. Rows are
//! streamed from the database into `/tables/<table>.jsonl` in primary-key
//! order, hashed as they are written; a table is read once unless the
//! closure adds rows to it in a later round. Only keys are held in memory
//! (see [`Taken`]), as integers where a key is one integer column. The
//! same database state gives the same bytes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::schema::{Column, Table};
use super::source::{DbError, ExportSource, Row, check_predicate};
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

/// A key: the values of a row at some positions, as the JSON array
/// `serde_json` writes for them (`[1,"a"]`), or the integer itself when
/// the key is one integer (`[5]` is `Int(5)`), so that both sides of a
/// foreign key compare alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyRef<'a> {
    Int(i64),
    Json(&'a str),
}

impl KeyRef<'_> {
    /// The key's JSON array.
    fn json(self) -> String {
        match self {
            KeyRef::Int(i) => format!("[{i}]"),
            KeyRef::Json(text) => text.to_string(),
        }
    }
}

/// The key of `row` at `positions`; `scratch` holds its text.
fn key_of<'a>(row: &Row, positions: &[usize], scratch: &'a mut String) -> KeyRef<'a> {
    if let [only] = positions
        && let Some(i) = row.get(*only).and_then(int_of)
    {
        return KeyRef::Int(i);
    }
    scratch.clear();
    scratch.push('[');
    for (n, &p) in positions.iter().enumerate() {
        if n > 0 {
            scratch.push(',');
        }
        // A value's JSON text is UTF-8.
        scratch.push_str(std::str::from_utf8(row.get(p).unwrap_or(b"null")).unwrap_or("null"));
    }
    scratch.push(']');
    KeyRef::Json(scratch)
}

/// The integer a JSON text spells, when it is one 64-bit integer as
/// `serde_json` writes it (no `+`, no leading zero, no `-0`).
fn int_of(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
        && text != b"-0";
    if !canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// How many one-integer keys a [`KeySet`] gathers before it sorts them
/// into its sorted keys (8 MB).
const FRESH: usize = 1 << 20;

/// A set of keys: one-integer keys as a sorted vector of integers (8
/// bytes each, up to twice that while the vector grows, and up to
/// [`FRESH`] keys not yet sorted in), others as their JSON text (its
/// length plus about 40 bytes). Adding an integer appends it, so a table
/// of a million rows referencing a hundred thousand parents costs no
/// hash-table probe per row.
///
/// [`contains`](KeySet::contains) sees the integers added before the
/// last [`settle`](KeySet::settle): an export settles every set after
/// each read of a table, and during one only asks whether a row's own
/// primary key was taken before, which keys added in that read cannot be.
#[derive(Debug, Default, Clone)]
struct KeySet {
    /// Sorted, distinct.
    ints: Vec<i64>,
    /// Added since the last settle, in any order.
    fresh: Vec<i64>,
    texts: HashSet<Box<str>>,
}

impl KeySet {
    fn insert(&mut self, key: KeyRef<'_>) {
        match key {
            KeyRef::Int(i) => {
                self.fresh.push(i);
                if self.fresh.len() >= FRESH {
                    self.merge();
                }
            }
            KeyRef::Json(text) => {
                if !self.texts.contains(text) {
                    self.texts.insert(text.into());
                }
            }
        }
    }

    /// Sorts the integers added since the last settle in, and frees their
    /// buffer.
    fn settle(&mut self) {
        self.merge();
        self.fresh = Vec::new();
    }

    /// Sorts the fresh integers into the sorted ones.
    fn merge(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        self.fresh.sort_unstable();
        self.fresh.dedup();
        if self.ints.is_empty() {
            std::mem::swap(&mut self.ints, &mut self.fresh);
            self.fresh.clear();
            return;
        }
        let mut merged = Vec::with_capacity(self.ints.len() + self.fresh.len());
        let (mut a, mut b) = (self.ints.iter().peekable(), self.fresh.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x <= y => {
                    a.next();
                    if x == y {
                        b.next();
                    }
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.ints = merged;
        self.fresh.clear();
    }

    fn contains(&self, key: KeyRef<'_>) -> bool {
        match key {
            KeyRef::Int(i) => self.ints.binary_search(&i).is_ok(),
            KeyRef::Json(text) => self.texts.contains(text),
        }
    }

    fn is_empty(&self) -> bool {
        self.ints.is_empty() && self.fresh.is_empty() && self.texts.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = KeyRef<'_>> {
        self.ints
            .iter()
            .map(|&i| KeyRef::Int(i))
            .chain(self.texts.iter().map(|t| KeyRef::Json(t)))
    }

    /// The keys not in `other` (both settled).
    fn without(&self, other: Option<&KeySet>) -> KeySet {
        let keep = |key: KeyRef<'_>| !other.is_some_and(|o| o.contains(key));
        KeySet {
            ints: self
                .ints
                .iter()
                .copied()
                .filter(|&i| keep(KeyRef::Int(i)))
                .collect(),
            fresh: Vec::new(),
            texts: self
                .texts
                .iter()
                .filter(|t| keep(KeyRef::Json(t)))
                .cloned()
                .collect(),
        }
    }
}

/// Positions of `names` among `columns`.
fn positions(columns: &[Column], names: &[String]) -> Option<Vec<usize>> {
    names
        .iter()
        .map(|n| columns.iter().position(|c| &c.name == n))
        .collect()
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

/// Writes an empty data file for a table that took no rows.
fn empty_digest(out: &Path, name: &str) -> Result<[u8; 32], DbError> {
    let path = out.join("tables").join(format!("{name}.jsonl"));
    std::fs::write(&path, b"")
        .map_err(|e| DbError::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(Sha256::digest(b"").into())
}

/// The rows of one table an export took, as keys (never rows): the
/// values of each foreign key, the values of every column list another
/// table's foreign key references, and, for a table the closure may read
/// again, the primary keys. A one-integer key costs 8 to 16 bytes in its
/// set, another key its JSON text and about 40 bytes.
struct Taken {
    pk: Vec<usize>,
    /// The primary keys, when held.
    keys: Option<KeySet>,
    /// Per foreign key: its column positions and the values taken rows hold.
    fks: Vec<(Vec<usize>, KeySet)>,
    /// Column lists other tables reference (the primary key aside, when
    /// `keys` holds it): positions and values.
    referenced: Vec<(Vec<usize>, KeySet)>,
    /// The text of the key last looked at.
    scratch: String,
}

impl Taken {
    fn new(name: &str, table: &Table, tables: &BTreeMap<String, Table>, hold_keys: bool) -> Taken {
        let pk = positions(&table.columns, &table.primary_key).unwrap_or_default();
        let fks = table
            .foreign_keys
            .iter()
            .map(|fk| {
                (
                    positions(&table.columns, &fk.columns).unwrap_or_default(),
                    KeySet::default(),
                )
            })
            .collect();
        let mut referenced: Vec<(Vec<usize>, KeySet)> = Vec::new();
        for other in tables.values() {
            for fk in other.foreign_keys.iter().filter(|fk| fk.table == name) {
                if let Some(refs) = positions(&table.columns, &fk.references)
                    && !(hold_keys && refs == pk)
                    && !referenced.iter().any(|(r, _)| *r == refs)
                {
                    referenced.push((refs, KeySet::default()));
                }
            }
        }
        Taken {
            pk,
            keys: hold_keys.then(KeySet::default),
            fks,
            referenced,
            scratch: String::new(),
        }
    }

    /// Whether `row` was taken (never, when the primary keys are not held).
    fn has(&mut self, row: &Row) -> bool {
        match &self.keys {
            Some(keys) => keys.contains(key_of(row, &self.pk, &mut self.scratch)),
            None => false,
        }
    }

    fn take(&mut self, row: &Row) {
        if let Some(keys) = &mut self.keys {
            keys.insert(key_of(row, &self.pk, &mut self.scratch));
        }
        for (pos, values) in self.fks.iter_mut().chain(self.referenced.iter_mut()) {
            if pos.iter().all(|&i| !row.is_null(i)) {
                values.insert(key_of(row, pos, &mut self.scratch));
            }
        }
    }

    /// Settles every key set (see [`KeySet`]).
    fn settle(&mut self) {
        let sets = self.fks.iter_mut().chain(self.referenced.iter_mut());
        for set in self.keys.iter_mut().chain(sets.map(|(_, v)| v)) {
            set.settle();
        }
    }

    /// The values taken rows hold in foreign key `k`.
    fn fk_values(&self, k: usize) -> Option<&KeySet> {
        self.fks.get(k).map(|(_, v)| v)
    }

    /// The values taken rows hold at `positions`, when another table
    /// references them.
    fn values(&self, positions: &[usize]) -> Option<&KeySet> {
        if positions == self.pk
            && let Some(keys) = &self.keys
        {
            return Some(keys);
        }
        self.referenced
            .iter()
            .find(|(p, _)| p == positions)
            .map(|(_, v)| v)
    }
}

/// How many bytes of JSON lines are gathered before they are hashed and
/// written.
const CHUNK: usize = 1 << 20;

/// Streams `table`'s rows (those `keep` accepts) into its data file,
/// hashing as it writes: the row count and the file's digest. The JSON
/// lines are made on this thread, in chunks of [`CHUNK`] bytes; a second
/// thread hashes and writes them, so that both overlap.
fn write_table(
    source: &mut dyn ExportSource,
    table: &Table,
    predicate: Option<&str>,
    out: &Path,
    keep: &mut dyn FnMut(&Row) -> bool,
) -> Result<(u64, [u8; 32]), DbError> {
    let path = out.join("tables").join(format!("{}.jsonl", table.name));
    let io = |e: std::io::Error| DbError::Io(format!("cannot write {}: {e}", path.display()));
    let file = std::fs::File::create(&path).map_err(io)?;
    // Before each value: `"name":`, after a comma but for the first.
    let prefixes: Vec<Vec<u8>> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut p = if i > 0 { b",".to_vec() } else { Vec::new() };
            p.extend_from_slice(
                serde_json::to_string(&c.name)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            p.push(b':');
            p
        })
        .collect();
    let columns = table.columns.clone();
    // Full chunks to the writer; emptied ones back, to be filled again.
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<[u8; 32]> {
            let mut file = file;
            let mut hash = Sha256::new();
            for mut chunk in full_rx {
                hash.update(&chunk);
                file.write_all(&chunk)?;
                chunk.clear();
                // The reader may be gone already; the chunk is dropped then.
                let _ = empty_tx.send(chunk);
            }
            file.flush()?;
            Ok(hash.finalize().into())
        });
        let mut rows = 0u64;
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + (1 << 16));
        let stopped = || DbError::Io(format!("cannot write {}", path.display()));
        let scanned = source.scan(table, &columns, predicate, &mut |row| {
            if row.len() != prefixes.len() {
                return Err(DbError::Database(format!(
                    "reading `{}` gave {} values for {} columns",
                    table.name,
                    row.len(),
                    prefixes.len()
                )));
            }
            if !keep(row) {
                return Ok(());
            }
            buf.push(b'{');
            for (i, prefix) in prefixes.iter().enumerate() {
                buf.extend_from_slice(prefix);
                buf.extend_from_slice(row.get(i).unwrap_or(b"null"));
            }
            buf.extend_from_slice(b"}\n");
            rows += 1;
            if buf.len() >= CHUNK {
                let next = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(CHUNK + (1 << 16)));
                full_tx
                    .send(std::mem::replace(&mut buf, next))
                    .map_err(|_| stopped())?;
            }
            Ok(())
        });
        let sent = match scanned {
            Ok(()) => full_tx.send(buf).map_err(|_| stopped()),
            Err(e) => Err(e),
        };
        // The writer ends when the chunks do.
        drop(full_tx);
        let written = writer
            .join()
            .map_err(|_| DbError::Io(format!("writing {} failed", path.display())))?;
        // A write error explains a stopped writer best; then the scan's.
        let digest = written.map_err(io)?;
        sent?;
        Ok((rows, digest))
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
    fn key_sets_hold_integers_sorted_and_texts() {
        let mut set = KeySet::default();
        for i in [5, -1, 5, 3, i64::MAX] {
            set.insert(KeyRef::Int(i));
        }
        set.insert(KeyRef::Json("[\"a\",1]"));
        set.settle();
        for i in [2, 3, 9] {
            set.insert(KeyRef::Int(i));
        }
        set.settle();
        assert_eq!(set.ints, [-1, 2, 3, 5, 9, i64::MAX]);
        assert!(set.contains(KeyRef::Int(9)) && !set.contains(KeyRef::Int(4)));
        assert!(set.contains(KeyRef::Json("[\"a\",1]")));
        let mut other = KeySet::default();
        other.insert(KeyRef::Int(3));
        other.insert(KeyRef::Json("[\"a\",1]"));
        other.settle();
        let rest = set.without(Some(&other));
        assert_eq!(rest.ints, [-1, 2, 5, 9, i64::MAX]);
        assert!(rest.texts.is_empty() && !rest.is_empty());
        assert_eq!(int_of(b"-12"), Some(-12));
        assert_eq!(
            [int_of(b"-0"), int_of(b"012"), int_of(b"+1"), int_of(b"1.0")],
            [None; 4]
        );
        assert_eq!(KeyRef::Int(7).json(), "[7]");
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
