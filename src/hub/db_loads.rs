//! Database loads in the hub's history: `pkg db load` records an entry
//! (action `load`) with the database it wrote (its URL without the
//! password) and an opaque record of what it did, which `pkg rollback`
//! reads to undo it; the rollback records its own entry. The hub keeps the
//! record; the `db` module knows what is in it.

use rusqlite::{OptionalExtension, params};

use super::history::{self, Action, Counts, NewEntry};
use super::{Hub, HubError};

/// A database load or rollback as the hub keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbLoad {
    /// `load` or `rollback`.
    pub kind: String,
    /// The database written (its URL without the password).
    pub database: String,
    /// What a rollback needs (loads only).
    pub record: Option<Vec<u8>>,
}

/// Records a database load as a new history entry; returns its ID.
pub fn record_load(
    hub: &mut Hub,
    entry: &NewEntry,
    counts: &Counts,
    database: &str,
    record: &[u8],
) -> Result<i64, HubError> {
    let tx = hub.write()?;
    let id = history::record(&tx, Action::Load, entry, &crate::time::now_rfc3339())?;
    history::set_counts(&tx, id, counts)?;
    tx.execute(
        "INSERT INTO db_loads (history_id, kind, database, record) VALUES (?1, 'load', ?2, ?3)",
        params![id, database, record],
    )?;
    tx.commit()?;
    Ok(id)
}

/// The database load or rollback of entry `id`, if it is one.
pub fn get(hub: &Hub, id: i64) -> Result<Option<DbLoad>, HubError> {
    Ok(hub
        .conn()
        .query_row(
            "SELECT kind, database, record FROM db_loads WHERE history_id = ?1",
            [id],
            |r| {
                Ok(DbLoad {
                    kind: r.get(0)?,
                    database: r.get(1)?,
                    record: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Records that database load `id` was rolled back; returns the new
/// entry's ID. Refuses when it already was.
pub fn record_rollback(
    hub: &mut Hub,
    id: i64,
    counts: &Counts,
    database: &str,
) -> Result<i64, HubError> {
    let tx = hub.write()?;
    let entry = history::get(&tx, id)?.ok_or(HubError::NoSuchEntry(id))?;
    if let Some(by) = entry.reverted_by {
        return Err(HubError::NotReversible {
            id,
            reason: format!("it was already rolled back by entry {by}"),
        });
    }
    let new_id = history::record(
        &tx,
        Action::Rollback,
        &NewEntry {
            source: format!("#{id}"),
            digest: entry.digest.clone(),
            on_conflict: entry.on_conflict.clone(),
            name: entry.name.clone(),
            version: entry.version.clone(),
            reverts: Some(id),
            ..NewEntry::default()
        },
        &crate::time::now_rfc3339(),
    )?;
    history::set_counts(&tx, new_id, counts)?;
    history::set_reverted_by(&tx, id, new_id)?;
    tx.execute(
        "INSERT INTO db_loads (history_id, kind, database, record) VALUES (?1, 'rollback', ?2, NULL)",
        params![new_id, database],
    )?;
    tx.commit()?;
    Ok(new_id)
}

/// Why the hub's own rollback cannot undo entry `id`, when it belongs to a
/// database load.
pub fn refusal(conn: &rusqlite::Connection, id: i64) -> Result<Option<String>, HubError> {
    let kind: Option<(String, String)> = conn
        .query_row(
            "SELECT kind, database FROM db_loads WHERE history_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(kind.map(|(kind, database)| match kind.as_str() {
        "load" => format!(
            "it loaded rows into {database}: run `pkg rollback {id}` against the local hub that recorded it"
        ),
        _ => format!("it rolled back a database load of {database}: load the package again to redo it"),
    }))
}
