//! The hub's history: one entry per load, create and rollback, and for each
//! entry that changed the hub, the prior state of every resource it touched,
//! so that [`super::rollback`] can restore it.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::HubError;
use crate::model::ResourceKey;

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A package was loaded into the hub.
    Load,
    /// A package was created from the hub.
    Create,
    /// An earlier entry was rolled back.
    Rollback,
}

impl Action {
    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Load => "load",
            Action::Create => "create",
            Action::Rollback => "rollback",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        match s {
            "load" => Some(Action::Load),
            "create" => Some(Action::Create),
            "rollback" => Some(Action::Rollback),
            _ => None,
        }
    }
}

/// How many resources an operation created, updated, left alone, skipped or deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Resources created.
    pub created: u64,
    /// Resources updated.
    pub updated: u64,
    /// Resources already equal.
    pub unchanged: u64,
    /// Conflicting resources left as they were (`--on-conflict skip`).
    pub skipped: u64,
    /// Resources deleted.
    pub deleted: u64,
    /// Resources merged three ways (`--on-conflict merge`).
    pub merged: u64,
}

/// One history entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Entry ID, increasing.
    pub id: i64,
    /// What happened.
    pub action: Action,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The package source (a path or URL), or for a rollback `#<id>`.
    pub source: String,
    /// The package digest (`sha256:` of manifest.json), if any.
    pub digest: String,
    /// The git commit the package was read from (git sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The prefix the load applied (empty for none).
    pub prefix: String,
    /// The conflict policy of a load.
    pub on_conflict: String,
    /// The package name, if the manifest has one.
    pub name: String,
    /// The package version, if the manifest has one.
    pub version: String,
    /// What changed.
    #[serde(flatten)]
    pub counts: Counts,
    /// For a rollback: the entry it rolled back.
    pub reverts: Option<i64>,
    /// The rollback entry that undid this one, if any.
    pub reverted_by: Option<i64>,
    /// What the load warned about (references it dropped, as cub does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For a database load or its rollback: the database (its URL without
    /// the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// The fields of an entry to record.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// The package source.
    pub source: String,
    /// The package digest.
    pub digest: String,
    /// The git commit it was read from.
    pub commit: Option<String>,
    /// The prefix applied.
    pub prefix: String,
    /// The conflict policy.
    pub on_conflict: String,
    /// The package name.
    pub name: String,
    /// The package version.
    pub version: String,
    /// For a rollback: the entry rolled back.
    pub reverts: Option<i64>,
    /// What the load warned about.
    pub warnings: Vec<String>,
}

/// Records a new entry and returns its ID. Counts start at zero; see [`set_counts`].
pub fn record(
    conn: &Connection,
    action: Action,
    entry: &NewEntry,
    now: &str,
) -> Result<i64, HubError> {
    conn.prepare_cached(
        "INSERT INTO history (action, time, source, digest, prefix, on_conflict, name, version,
                              created, updated, unchanged, skipped, deleted, reverts, git_commit, warnings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, 0, 0, 0, ?9, ?10, ?11)",
    )?
    .execute(params![
        action.as_str(),
        now,
        entry.source,
        entry.digest,
        entry.prefix,
        entry.on_conflict,
        entry.name,
        entry.version,
        entry.reverts,
        entry.commit,
        entry.warnings.join("\n")
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Stores the final counts of entry `id`.
pub fn set_counts(conn: &Connection, id: i64, counts: &Counts) -> Result<(), HubError> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "UPDATE history SET created = ?2, updated = ?3, unchanged = ?4, skipped = ?5, deleted = ?6, merged = ?7 WHERE id = ?1",
    )?
    .execute(params![
        id,
        n(counts.created),
        n(counts.updated),
        n(counts.unchanged),
        n(counts.skipped),
        n(counts.deleted),
        n(counts.merged)
    ])?;
    Ok(())
}

/// Marks entry `id` as undone by rollback entry `by`.
pub fn set_reverted_by(conn: &Connection, id: i64, by: i64) -> Result<(), HubError> {
    conn.execute(
        "UPDATE history SET reverted_by = ?2 WHERE id = ?1",
        params![id, by],
    )?;
    Ok(())
}

/// Records, before `key` changes, its current state as the prior state of
/// change `seq` of entry `history_id`; `after` is the fingerprint the change
/// leaves (`None` when it deletes the resource).
pub fn record_change(
    conn: &Connection,
    history_id: i64,
    seq: i64,
    key: &ResourceKey,
    after: Option<&str>,
) -> Result<(), HubError> {
    let copied = conn
        .prepare_cached(
            "INSERT INTO history_changes (history_id, seq, kind, space, slug, after_fingerprint, prior_present,
                prior_id, prior_details, prior_ref1, prior_ref2, prior_data_digest, prior_fingerprint,
                prior_source_fingerprint, prior_version, prior_created_at, prior_updated_at, prior_data,
                prior_base_fingerprint, prior_base_present, prior_base_details, prior_base_ref1,
                prior_base_ref2, prior_base_data_digest, prior_base_content_fingerprint, prior_base_data)
             SELECT ?1, ?2, r.kind, r.space, r.slug, ?6, 1, r.id, r.details, r.ref1, r.ref2, r.data_digest,
                r.fingerprint, r.source_fingerprint, r.version, r.created_at, r.updated_at, r.data,
                r.base_fingerprint, b.kind IS NOT NULL, b.details, b.ref1, b.ref2, b.data_digest,
                b.fingerprint, b.data
             FROM resources r LEFT JOIN bases b
               ON b.kind = r.kind AND b.space = r.space AND b.slug = r.slug
             WHERE r.kind = ?3 AND r.space = ?4 AND r.slug = ?5",
        )?
        .execute(params![history_id, seq, key.kind.name(), key.space, key.slug, after])?;
    if copied == 0 {
        record_creation(conn, history_id, seq, key, after)?;
    }
    Ok(())
}

/// Records that change `seq` of entry `history_id` creates `key`, which did not exist.
pub fn record_creation(
    conn: &Connection,
    history_id: i64,
    seq: i64,
    key: &ResourceKey,
    after: Option<&str>,
) -> Result<(), HubError> {
    conn.prepare_cached(
        "INSERT INTO history_changes (history_id, seq, kind, space, slug, after_fingerprint, prior_present)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
    )?
    .execute(params![history_id, seq, key.kind.name(), key.space, key.slug, after])?;
    Ok(())
}

const ENTRY_COLUMNS: &str = "id, action, time, source, digest, prefix, on_conflict, name, version,
    created, updated, unchanged, skipped, deleted, reverts, reverted_by, git_commit, warnings, merged,
    (SELECT d.database FROM db_loads d WHERE d.history_id = history.id)";

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<HistoryEntry> {
    let action: String = row.get(1)?;
    let count = |i: usize| -> rusqlite::Result<u64> {
        Ok(u64::try_from(row.get::<_, i64>(i)?).unwrap_or(0))
    };
    Ok(HistoryEntry {
        id: row.get(0)?,
        action: Action::parse(&action).unwrap_or(Action::Load),
        time: row.get(2)?,
        source: row.get(3)?,
        digest: row.get(4)?,
        commit: row.get(16)?,
        prefix: row.get(5)?,
        on_conflict: row.get(6)?,
        name: row.get(7)?,
        version: row.get(8)?,
        counts: Counts {
            created: count(9)?,
            updated: count(10)?,
            unchanged: count(11)?,
            skipped: count(12)?,
            deleted: count(13)?,
            merged: count(18)?,
        },
        reverts: row.get(14)?,
        reverted_by: row.get(15)?,
        warnings: row
            .get::<_, String>(17)?
            .lines()
            .map(str::to_string)
            .collect(),
        database: row.get(19)?,
    })
}

/// Every entry, newest first.
pub fn list(conn: &Connection) -> Result<Vec<HistoryEntry>, HubError> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM history ORDER BY id DESC");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], entry_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Entry `id`, if it exists.
pub fn get(conn: &Connection, id: i64) -> Result<Option<HistoryEntry>, HubError> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM history WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], entry_from_row).optional()?)
}

/// One recorded change, without the prior row's content.
#[derive(Debug, Clone)]
pub struct Change {
    /// Position within its entry.
    pub seq: i64,
    /// The resource changed.
    pub key: ResourceKey,
    /// Its fingerprint right after the change (`None`: deleted).
    pub after: Option<String>,
    /// Whether the resource existed before.
    pub prior_present: bool,
    /// Whether the change left the content as it was and changed only the
    /// merge base (a load that found the package's content already there).
    pub base_only: bool,
}

/// The changes entry `id` made, in the order it made them.
pub fn changes(conn: &Connection, id: i64) -> Result<Vec<Change>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT seq, kind, space, slug, after_fingerprint, prior_present,
                prior_present = 1 AND prior_fingerprint = after_fingerprint
         FROM history_changes WHERE history_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: String = row.get(1)?;
        let kind = kind.parse().map_err(|reason| HubError::Corrupt {
            key: format!("history {id}"),
            reason,
        })?;
        let space: String = row.get(2)?;
        let slug: String = row.get(3)?;
        out.push(Change {
            seq: row.get(0)?,
            key: ResourceKey::new(kind, &space, &slug),
            after: row.get(4)?,
            prior_present: row.get::<_, i64>(5)? != 0,
            base_only: row.get::<_, Option<i64>>(6)?.unwrap_or(0) != 0,
        });
    }
    Ok(out)
}
