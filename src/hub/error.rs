//! Errors of the hub, typed so that commands can tell "not found" from
//! "already exists" from a broken database.

use std::path::PathBuf;

use thiserror::Error;

use crate::model::ResourceKey;

/// What can go wrong in the hub.
#[derive(Debug, Error)]
pub enum HubError {
    /// The resource does not exist.
    #[error("{0} does not exist")]
    NotFound(ResourceKey),
    /// A resource with this kind, space and slug exists already.
    #[error("{0} already exists")]
    AlreadyExists(ResourceKey),
    /// A referenced resource does not exist.
    #[error("{from} refers to {to}, which does not exist")]
    DanglingReference {
        /// The resource holding the reference.
        from: ResourceKey,
        /// The missing resource.
        to: ResourceKey,
    },
    /// Deleting the resource would leave others pointing at nothing.
    #[error("{key} is still used by {}{}", list(.users), more(.users))]
    InUse {
        /// The resource that cannot be deleted.
        key: ResourceKey,
        /// Resources that refer to it or live in it.
        users: Vec<ResourceKey>,
    },
    /// The resource's content is refused (a hostile toolchain type, ...).
    #[error("{key}: {reason}")]
    InvalidContent {
        /// The resource.
        key: ResourceKey,
        /// What is wrong.
        reason: String,
    },
    /// The hub file was written by a newer pkg.
    #[error(
        "the hub has schema version {found}, newer than the {supported} this pkg understands; upgrade pkg"
    )]
    NewerSchema {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The hub file could not be opened or created.
    #[error("cannot open the hub at `{}`", .path.display())]
    Open {
        /// The hub path.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No history entry has this ID.
    #[error("history entry {0} does not exist; `pkg history` lists them")]
    NoSuchEntry(i64),
    /// The history entry cannot be rolled back.
    #[error("history entry {id} cannot be rolled back: {reason}")]
    NotReversible {
        /// The entry.
        id: i64,
        /// Why not.
        reason: String,
    },
    /// Resources changed since the entry being rolled back.
    #[error(
        "cannot roll back entry {id}: {} changed since then ({}{}); use --force to roll back anyway",
        .changed.len(), list(.changed), more(.changed)
    )]
    ChangedSince {
        /// The entry.
        id: i64,
        /// The resources changed since.
        changed: Vec<ResourceKey>,
    },
    /// The resource changed since the caller read it (`If-Match`).
    #[error("{0} changed since it was read; run the command again")]
    Stale(ResourceKey),
    /// A stored row could not be decoded.
    #[error("the hub holds a damaged record for {key}: {reason}")]
    Corrupt {
        /// The record.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// SQLite failed.
    #[error("hub database error")]
    Sqlite(#[from] rusqlite::Error),
}

const SHOWN: usize = 5;

fn list(keys: &[ResourceKey]) -> String {
    keys.iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn more(keys: &[ResourceKey]) -> String {
    if keys.len() > SHOWN {
        format!(" and {} more", keys.len() - SHOWN)
    } else {
        String::new()
    }
}
