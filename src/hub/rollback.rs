//! Rollback: restores every resource an earlier load (or rollback) changed to
//! the state it had before, in one transaction, and records that as a new
//! history entry (which can itself be rolled back).

use rusqlite::{Connection, params};

use super::history::{self, Action, Counts, NewEntry};
use super::{HubError, store};
use crate::model::ResourceKey;

/// What a rollback did.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackOutcome {
    /// The new history entry.
    pub entry_id: i64,
    /// The entry rolled back.
    pub reverted: i64,
    /// What changed: resources re-created, restored to an earlier content, deleted.
    pub counts: Counts,
}

/// Rolls back entry `id` inside `conn`'s open write transaction. Refuses when
/// a resource the entry touched changed since (unless `force`), when the
/// entry is not a load or rollback, or when it was already rolled back. On
/// error the caller drops the transaction and nothing changes.
pub fn rollback(
    conn: &Connection,
    id: i64,
    force: bool,
    now: &str,
) -> Result<RollbackOutcome, HubError> {
    let entry = history::get(conn, id)?.ok_or(HubError::NoSuchEntry(id))?;
    if let Some(reason) = super::db_loads::refusal(conn, id)? {
        return Err(HubError::NotReversible { id, reason });
    }
    if entry.action == Action::Create {
        return Err(HubError::NotReversible {
            id,
            reason: "`create` writes a package and does not change the hub".into(),
        });
    }
    if let Some(by) = entry.reverted_by {
        return Err(HubError::NotReversible {
            id,
            reason: format!("it was already rolled back by entry {by}"),
        });
    }
    let changes = history::changes(conn, id)?;
    if !force {
        let mut changed = Vec::new();
        for change in changes.iter().filter(|c| !c.base_only) {
            if store::fingerprint(conn, &change.key)? != change.after {
                changed.push(change.key.clone());
            }
        }
        if !changed.is_empty() {
            return Err(HubError::ChangedSince { id, changed });
        }
    }

    let new_id = history::record(
        conn,
        Action::Rollback,
        &NewEntry {
            source: format!("#{id}"),
            digest: entry.digest.clone(),
            prefix: entry.prefix.clone(),
            name: entry.name.clone(),
            version: entry.version.clone(),
            reverts: Some(id),
            ..NewEntry::default()
        },
        now,
    )?;

    let mut counts = Counts::default();
    let mut deleted: Vec<ResourceKey> = Vec::new();
    let mut restored: Vec<ResourceKey> = Vec::new();
    for (seq, change) in (0_i64..).zip(changes.iter().rev()) {
        let present = store::exists(conn, &change.key)?;
        let prior_fingerprint = prior_fingerprint(conn, id, change.seq)?;
        history::record_change(conn, new_id, seq, &change.key, prior_fingerprint.as_deref())?;
        if change.base_only {
            // The entry changed only the merge base: put the prior one back
            // and leave the content (and any edit made since) alone.
            if present {
                restore_prior_base(conn, id, change.seq, &change.key)?;
            }
            continue;
        }
        if present {
            store::delete(conn, &change.key)?;
        }
        if change.prior_present {
            restore_prior(conn, id, change.seq)?;
            restored.push(change.key.clone());
            if present {
                counts.updated += 1;
            } else {
                counts.created += 1;
            }
        } else if present {
            deleted.push(change.key.clone());
            counts.deleted += 1;
        }
    }

    // The hub must stay whole: nothing may point at what was deleted, and
    // what came back must find what it points at.
    for key in &deleted {
        let users = store::users_of(conn, key)?;
        if !users.is_empty() {
            return Err(HubError::InUse {
                key: key.clone(),
                users,
            });
        }
    }
    for key in &restored {
        if let Some(resource) = store::get(conn, key)? {
            store::check_references(conn, key, &resource.refs)?;
        }
    }

    history::set_counts(conn, new_id, &counts)?;
    history::set_reverted_by(conn, id, new_id)?;
    if entry.action == Action::Rollback {
        // Rolling back a rollback re-applies the original entry, which may be
        // rolled back again through this new entry.
        if let Some(original) = entry.reverts {
            conn.execute(
                "UPDATE history SET reverted_by = NULL WHERE id = ?1",
                [original],
            )?;
        }
    }
    Ok(RollbackOutcome {
        entry_id: new_id,
        reverted: id,
        counts,
    })
}

fn prior_fingerprint(conn: &Connection, id: i64, seq: i64) -> Result<Option<String>, HubError> {
    Ok(conn.query_row(
        "SELECT prior_fingerprint FROM history_changes WHERE history_id = ?1 AND seq = ?2",
        params![id, seq],
        |r| r.get(0),
    )?)
}

/// Puts back the prior row of change `seq` of entry `id`, with its merge
/// base (the caller deleted the current row and its base).
fn restore_prior(conn: &Connection, id: i64, seq: i64) -> Result<(), HubError> {
    conn.execute(
        "INSERT INTO resources (kind, space, slug, id, details, ref1, ref2, data_digest, fingerprint,
                                source_fingerprint, version, created_at, updated_at, data, base_fingerprint)
         SELECT kind, space, slug, prior_id, prior_details, prior_ref1, prior_ref2, prior_data_digest,
                prior_fingerprint, prior_source_fingerprint, prior_version, prior_created_at,
                prior_updated_at, prior_data, prior_base_fingerprint
         FROM history_changes WHERE history_id = ?1 AND seq = ?2",
        params![id, seq],
    )?;
    insert_prior_base(conn, id, seq)
}

/// Puts back the prior stored base of change `seq` of entry `id`, if it had one.
fn insert_prior_base(conn: &Connection, id: i64, seq: i64) -> Result<(), HubError> {
    conn.execute(
        "INSERT INTO bases (kind, space, slug, details, ref1, ref2, data_digest, fingerprint, data)
         SELECT kind, space, slug, prior_base_details, prior_base_ref1, prior_base_ref2,
                prior_base_data_digest, prior_base_content_fingerprint, prior_base_data
         FROM history_changes WHERE history_id = ?1 AND seq = ?2 AND prior_base_present = 1",
        params![id, seq],
    )?;
    Ok(())
}

/// Puts back only the merge base `key` had before change `seq` of entry
/// `id` (its base fingerprint and stored base), keeping its content.
fn restore_prior_base(
    conn: &Connection,
    id: i64,
    seq: i64,
    key: &ResourceKey,
) -> Result<(), HubError> {
    store::clear_base(conn, key)?;
    conn.execute(
        "UPDATE resources SET base_fingerprint =
           (SELECT prior_base_fingerprint FROM history_changes WHERE history_id = ?1 AND seq = ?2)
         WHERE kind = ?3 AND space = ?4 AND slug = ?5",
        params![id, seq, key.kind.name(), key.space, key.slug],
    )?;
    insert_prior_base(conn, id, seq)
}
