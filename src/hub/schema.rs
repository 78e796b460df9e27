//! The hub's SQLite schema and its migrations.

use rusqlite::Connection;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 4;

const SCHEMA_V1: &str = "
CREATE TABLE resources (
    kind        TEXT NOT NULL,
    space       TEXT NOT NULL,
    slug        TEXT NOT NULL,
    id          TEXT NOT NULL,
    details     TEXT NOT NULL,
    ref1        TEXT,
    ref2        TEXT,
    data_digest TEXT,
    fingerprint TEXT NOT NULL,
    source_fingerprint TEXT,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    data        BLOB,
    UNIQUE (kind, space, slug)
);
-- Covers the per-resource lookups of planning a load (a row also holds unit data).
CREATE INDEX resources_state ON resources (kind, space, slug, fingerprint, source_fingerprint);
CREATE INDEX resources_ref1 ON resources (ref1) WHERE ref1 IS NOT NULL;
CREATE INDEX resources_ref2 ON resources (ref2) WHERE ref2 IS NOT NULL;

CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action      TEXT NOT NULL,
    time        TEXT NOT NULL,
    source      TEXT NOT NULL,
    digest      TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    on_conflict TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL,
    reverts     INTEGER,
    reverted_by INTEGER
);

CREATE TABLE history_changes (
    history_id        INTEGER NOT NULL,
    seq               INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    space             TEXT NOT NULL,
    slug              TEXT NOT NULL,
    after_fingerprint TEXT,
    prior_present     INTEGER NOT NULL,
    prior_id          TEXT,
    prior_details     TEXT,
    prior_ref1        TEXT,
    prior_ref2        TEXT,
    prior_data_digest TEXT,
    prior_fingerprint TEXT,
    prior_source_fingerprint TEXT,
    prior_version     INTEGER,
    prior_created_at  TEXT,
    prior_updated_at  TEXT,
    prior_data        BLOB,
    PRIMARY KEY (history_id, seq)
);
";

/// Version 2: the git commit a load was read from.
const SCHEMA_V2: &str = "ALTER TABLE history ADD COLUMN git_commit TEXT;";

/// Version 3: the base of three-way merges and what a load warned about.
///
/// `resources.base_fingerprint` is the fingerprint of the package content
/// the last load applied to the resource (its base). While the resource
/// still holds that content, the base is the row itself; once it differs (a
/// local edit, or a merge that kept local changes), `bases` holds a copy.
/// `history_changes` keeps the prior base so that a rollback restores it.
/// Rows a load wrote and nothing changed since become their own base.
const SCHEMA_V3: &str = "
ALTER TABLE resources ADD COLUMN base_fingerprint TEXT;
CREATE TABLE bases (
    kind        TEXT NOT NULL,
    space       TEXT NOT NULL,
    slug        TEXT NOT NULL,
    details     TEXT NOT NULL,
    ref1        TEXT,
    ref2        TEXT,
    data_digest TEXT,
    fingerprint TEXT NOT NULL,
    data        BLOB,
    PRIMARY KEY (kind, space, slug)
);
ALTER TABLE history ADD COLUMN warnings TEXT NOT NULL DEFAULT '';
ALTER TABLE history ADD COLUMN merged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE history_changes ADD COLUMN prior_base_fingerprint TEXT;
ALTER TABLE history_changes ADD COLUMN prior_base_present INTEGER NOT NULL DEFAULT 0;
ALTER TABLE history_changes ADD COLUMN prior_base_details TEXT;
ALTER TABLE history_changes ADD COLUMN prior_base_ref1 TEXT;
ALTER TABLE history_changes ADD COLUMN prior_base_ref2 TEXT;
ALTER TABLE history_changes ADD COLUMN prior_base_data_digest TEXT;
ALTER TABLE history_changes ADD COLUMN prior_base_content_fingerprint TEXT;
ALTER TABLE history_changes ADD COLUMN prior_base_data BLOB;
-- A row a load wrote and nothing changed since (only loads set
-- source_fingerprint) holds what that load applied: it is its own base.
UPDATE resources SET base_fingerprint = fingerprint WHERE source_fingerprint IS NOT NULL;
";

/// Version 4: database loads (`pkg db load`) and their rollbacks, with what
/// a rollback of the load needs.
const SCHEMA_V4: &str = "
CREATE TABLE db_loads (
    history_id  INTEGER PRIMARY KEY REFERENCES history (id),
    kind        TEXT NOT NULL,
    database    TEXT NOT NULL,
    record      BLOB
);
";

/// Creates or upgrades the schema. Returns an error when the file was written
/// by a newer pkg.
pub fn migrate(conn: &mut Connection) -> Result<(), super::HubError> {
    if user_version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    // Another process may be creating the schema at the same moment: decide
    // again under the write lock.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version = user_version(&tx)?;
    if version > SCHEMA_VERSION {
        return Err(super::HubError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)?;
    }
    if version < 3 {
        tx.execute_batch(SCHEMA_V3)?;
    }
    if version < 4 {
        tx.execute_batch(SCHEMA_V4)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_2_hub_is_upgraded_and_loaded_rows_become_their_own_base() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.execute_batch(SCHEMA_V2).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute_batch(
                "INSERT INTO resources VALUES ('space','','loaded','i1','{}',NULL,NULL,NULL,'f1','s1',1,'t','t',NULL);
                 INSERT INTO resources VALUES ('space','','edited','i2','{}',NULL,NULL,NULL,'f2',NULL,2,'t','t',NULL);",
            )
            .unwrap();
        }
        let hub = crate::hub::Hub::open(&path).unwrap();
        let base = |slug: &str| -> Option<String> {
            hub.conn()
                .query_row(
                    "SELECT base_fingerprint FROM resources WHERE slug = ?1",
                    [slug],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(base("loaded").as_deref(), Some("f1"));
        assert_eq!(base("edited"), None);
        assert_eq!(user_version(hub.conn()).unwrap(), SCHEMA_VERSION);
    }
}
