//! Resource storage: one row per resource in the `resources` table, with its
//! canonical details, its references, the digest and fingerprint of its
//! content, and (for units) its config data. Functions here take a
//! [`Connection`] so that they run alike inside or outside a transaction.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::HubError;
use crate::model::details::to_canonical_json;
use crate::model::fingerprint::{content_fingerprint, sha256_digest};
use crate::model::{Details, RefField, Reference, ResourceKey, ResourceKind};

/// A resource as the hub keeps it (without its data, which is read apart).
#[derive(Debug, Clone, PartialEq)]
pub struct HubResource {
    /// Kind, space and slug.
    pub key: ResourceKey,
    /// The hub-assigned ID (a UUID).
    pub id: String,
    /// Canonical details.
    pub details: Details,
    /// References to other resources, in the kind's field order.
    pub refs: Vec<Reference>,
    /// `sha256:` digest of the data (units only).
    pub data_digest: Option<String>,
    /// Fingerprint of details, references and data.
    pub fingerprint: String,
    /// Incremented on every change.
    pub version: i64,
    /// When the resource was created (RFC 3339).
    pub created_at: String,
    /// When the resource last changed (RFC 3339).
    pub updated_at: String,
}

impl HubResource {
    /// The reference held in `field`, if any.
    pub fn reference(&self, field: RefField) -> Option<&Reference> {
        self.refs.iter().find(|r| r.field == field)
    }
}

/// The content of a resource to write: what a command or a load supplies.
#[derive(Debug, Clone)]
pub struct NewResource {
    /// Kind, space and slug.
    pub key: ResourceKey,
    /// Canonical details (see [`crate::model::details::canonicalize`]).
    pub details: Details,
    /// References to other resources.
    pub refs: Vec<Reference>,
    /// Config data (units only).
    pub data: Option<Vec<u8>>,
}

/// A resource's content in the exact form a row stores, with its digests
/// computed once.
#[derive(Debug, Clone)]
pub struct RowContent<'a> {
    /// Kind, space and slug.
    pub key: &'a ResourceKey,
    /// Compact canonical details JSON.
    pub details_json: &'a str,
    /// References, in the kind's field order.
    pub refs: &'a [Reference],
    /// Config data (units only).
    pub data: Option<&'a [u8]>,
    /// `sha256:` digest of `data`.
    pub data_digest: Option<&'a str>,
    /// Fingerprint of the whole content.
    pub fingerprint: &'a str,
    /// Fingerprint of the package files the content came from (loads only):
    /// lets a re-load recognise unchanged files without parsing them.
    pub source_fingerprint: Option<&'a str>,
    /// Loads only: the fingerprint of the package content the load applied
    /// (the base of a later three-way merge). `None` keeps the row's base.
    pub base_fingerprint: Option<&'a str>,
}

impl NewResource {
    /// Computes the stored form and hands it to `f`.
    pub fn with_content<T>(&self, f: impl FnOnce(&RowContent<'_>) -> T) -> T {
        let details_json = to_canonical_json(&self.details);
        let data_digest = self.data.as_deref().map(sha256_digest);
        let fingerprint = content_fingerprint(&details_json, &self.refs, data_digest.as_deref());
        f(&RowContent {
            key: &self.key,
            details_json: &details_json,
            refs: &self.refs,
            data: self.data.as_deref(),
            data_digest: data_digest.as_deref(),
            fingerprint: &fingerprint,
            source_fingerprint: None,
            base_fingerprint: None,
        })
    }
}

const COLUMNS: &str = "kind, space, slug, id, details, ref1, ref2, data_digest, fingerprint, version, created_at, updated_at";

/// The `ref1`, `ref2` column values for `refs` of a resource of `kind`.
pub fn ref_columns(kind: ResourceKind, refs: &[Reference]) -> (Option<String>, Option<String>) {
    let fields = RefField::fields_of(kind);
    let column = |i: usize| {
        let field = fields.get(i)?;
        refs.iter()
            .find(|r| r.field == *field)
            .map(|r| r.to.index_string())
    };
    (column(0), column(1))
}

fn parse_index_string(value: &str) -> Option<ResourceKey> {
    let (kind, path) = value.split_once(':')?;
    let kind: ResourceKind = kind.parse().ok()?;
    if kind == ResourceKind::Space {
        Some(ResourceKey::space(path))
    } else {
        let (space, slug) = path.split_once('/')?;
        Some(ResourceKey::new(kind, space, slug))
    }
}

/// Decodes the reference columns of a row of `kind`.
pub fn decode_refs(
    kind: ResourceKind,
    ref1: Option<String>,
    ref2: Option<String>,
) -> Result<Vec<Reference>, String> {
    let mut refs = Vec::new();
    for (field, value) in RefField::fields_of(kind).iter().zip([ref1, ref2]) {
        if let Some(value) = value {
            let to =
                parse_index_string(&value).ok_or_else(|| format!("bad reference `{value}`"))?;
            refs.push(Reference { field: *field, to });
        }
    }
    Ok(refs)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<HubResource, HubError>> {
    let kind: String = row.get(0)?;
    let space: String = row.get(1)?;
    let slug: String = row.get(2)?;
    let details: String = row.get(4)?;
    let ref1: Option<String> = row.get(5)?;
    let ref2: Option<String> = row.get(6)?;
    let corrupt = |reason: String| HubError::Corrupt {
        key: format!("{kind} {space}/{slug}"),
        reason,
    };
    let Ok(kind_value) = kind.parse::<ResourceKind>() else {
        return Ok(Err(corrupt("unknown kind".into())));
    };
    let details = match serde_json::from_str::<Value>(&details) {
        Ok(Value::Object(map)) => map,
        _ => return Ok(Err(corrupt("details are not a JSON object".into()))),
    };
    let refs = match decode_refs(kind_value, ref1, ref2) {
        Ok(refs) => refs,
        Err(reason) => return Ok(Err(corrupt(reason))),
    };
    Ok(Ok(HubResource {
        key: ResourceKey::new(kind_value, &space, &slug),
        id: row.get(3)?,
        details,
        refs,
        data_digest: row.get(7)?,
        fingerprint: row.get(8)?,
        version: row.get(9)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
    }))
}

/// The resource `key`, if it exists.
pub fn get(conn: &Connection, key: &ResourceKey) -> Result<Option<HubResource>, HubError> {
    let sql =
        format!("SELECT {COLUMNS} FROM resources WHERE kind = ?1 AND space = ?2 AND slug = ?3");
    let found = conn
        .prepare_cached(&sql)?
        .query_row(params![key.kind.name(), key.space, key.slug], from_row)
        .optional()?;
    found.transpose()
}

/// The resource `key`, or [`HubError::NotFound`].
pub fn require(conn: &Connection, key: &ResourceKey) -> Result<HubResource, HubError> {
    get(conn, key)?.ok_or_else(|| HubError::NotFound(key.clone()))
}

/// The fingerprint of `key`'s content, if it exists (cheap: no decoding).
pub fn fingerprint(conn: &Connection, key: &ResourceKey) -> Result<Option<String>, HubError> {
    Ok(conn
        .prepare_cached(
            "SELECT fingerprint FROM resources WHERE kind = ?1 AND space = ?2 AND slug = ?3",
        )?
        .query_row(params![key.kind.name(), key.space, key.slug], |r| r.get(0))
        .optional()?)
}

/// The content fingerprint of `key` and the fingerprint of the package files
/// it was loaded from, if it exists.
pub fn fingerprints(
    conn: &Connection,
    key: &ResourceKey,
) -> Result<Option<(String, Option<String>)>, HubError> {
    Ok(conn
        .prepare_cached(
            "SELECT fingerprint, source_fingerprint FROM resources INDEXED BY resources_state
             WHERE kind = ?1 AND space = ?2 AND slug = ?3",
        )?
        .query_row(params![key.kind.name(), key.space, key.slug], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// Whether `key` exists.
pub fn exists(conn: &Connection, key: &ResourceKey) -> Result<bool, HubError> {
    Ok(fingerprint(conn, key)?.is_some())
}

/// The data of unit `key` (empty when it has none), or `None` when it does not exist.
pub fn data(conn: &Connection, key: &ResourceKey) -> Result<Option<Vec<u8>>, HubError> {
    Ok(conn
        .prepare_cached("SELECT data FROM resources WHERE kind = ?1 AND space = ?2 AND slug = ?3")?
        .query_row(params![key.kind.name(), key.space, key.slug], |r| {
            r.get::<_, Option<Vec<u8>>>(0)
        })
        .optional()?
        .map(Option::unwrap_or_default))
}

/// All resources of `kind` (in `space`, when given), sorted by space and slug.
pub fn list(
    conn: &Connection,
    kind: ResourceKind,
    space: Option<&str>,
) -> Result<Vec<HubResource>, HubError> {
    let mut out = Vec::new();
    let sql = format!(
        "SELECT {COLUMNS} FROM resources WHERE kind = ?1 AND (?2 IS NULL OR space = ?2) ORDER BY space, slug"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![kind.name(), space])?;
    while let Some(row) = rows.next()? {
        out.push(from_row(row)??);
    }
    Ok(out)
}

/// Calls `f` with every resource of `kind` (in `space`, when given) in space
/// and slug order, one at a time, with its data when `with_data` is set, so
/// that a large hub is never held in memory at once.
pub fn for_each<E: From<HubError>>(
    conn: &Connection,
    kind: ResourceKind,
    space: Option<&str>,
    with_data: bool,
    mut f: impl FnMut(HubResource, Option<Vec<u8>>) -> Result<(), E>,
) -> Result<(), E> {
    let data_column = if with_data { "data" } else { "NULL" };
    let sql = format!(
        "SELECT {COLUMNS}, {data_column} FROM resources WHERE kind = ?1 AND (?2 IS NULL OR space = ?2) ORDER BY space, slug"
    );
    let mut stmt = conn.prepare(&sql).map_err(HubError::from)?;
    let mut rows = stmt
        .query(params![kind.name(), space])
        .map_err(HubError::from)?;
    while let Some(row) = rows.next().map_err(HubError::from)? {
        let resource = from_row(row).map_err(HubError::from)??;
        let data: Option<Vec<u8>> = row.get(12).map_err(HubError::from)?;
        f(resource, data)?;
    }
    Ok(())
}

/// Inserts a new resource. Fails with [`HubError::AlreadyExists`] when it exists.
pub fn insert(
    conn: &Connection,
    content: &RowContent<'_>,
    id: &str,
    now: &str,
) -> Result<(), HubError> {
    let key = content.key;
    let (ref1, ref2) = ref_columns(key.kind, content.refs);
    let result = conn
        .prepare_cached(
            "INSERT INTO resources (kind, space, slug, id, details, ref1, ref2, data_digest, fingerprint, source_fingerprint, version, created_at, updated_at, data, base_fingerprint)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?12, 1, ?10, ?10, ?11, ?13)",
        )?
        .execute(params![
            key.kind.name(),
            key.space,
            key.slug,
            id,
            content.details_json,
            ref1,
            ref2,
            content.data_digest,
            content.fingerprint,
            now,
            content.data,
            content.source_fingerprint,
            content.base_fingerprint,
        ]);
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(HubError::AlreadyExists(key.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces the content of an existing resource, keeping its ID and creation
/// time and bumping its version.
pub fn update(conn: &Connection, content: &RowContent<'_>, now: &str) -> Result<(), HubError> {
    let key = content.key;
    let (ref1, ref2) = ref_columns(key.kind, content.refs);
    let changed = conn
        .prepare_cached(
            "UPDATE resources SET details = ?4, ref1 = ?5, ref2 = ?6, data_digest = ?7, fingerprint = ?8,
                    version = version + 1, updated_at = ?9, data = ?10, source_fingerprint = ?11,
                    base_fingerprint = COALESCE(?12, base_fingerprint)
             WHERE kind = ?1 AND space = ?2 AND slug = ?3",
        )?
        .execute(params![
            key.kind.name(),
            key.space,
            key.slug,
            content.details_json,
            ref1,
            ref2,
            content.data_digest,
            content.fingerprint,
            now,
            content.data,
            content.source_fingerprint,
            content.base_fingerprint,
        ])?;
    if changed == 0 {
        return Err(HubError::NotFound(key.clone()));
    }
    Ok(())
}

/// Deletes `key` (and its merge base). Fails with [`HubError::NotFound`]
/// when it does not exist.
pub fn delete(conn: &Connection, key: &ResourceKey) -> Result<(), HubError> {
    let changed = conn
        .prepare_cached("DELETE FROM resources WHERE kind = ?1 AND space = ?2 AND slug = ?3")?
        .execute(params![key.kind.name(), key.space, key.slug])?;
    if changed == 0 {
        return Err(HubError::NotFound(key.clone()));
    }
    clear_base(conn, key)
}

/// The content a three-way merge starts from: what the last load applied.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseContent {
    /// Canonical details.
    pub details: Details,
    /// References.
    pub refs: Vec<Reference>,
    /// Unit data.
    pub data: Option<Vec<u8>>,
}

/// The merge base of `key`: the package content the last load applied to
/// it, or `None` when no load wrote it (or its base was lost).
pub fn base(conn: &Connection, key: &ResourceKey) -> Result<Option<BaseContent>, HubError> {
    let row = conn
        .prepare_cached(
            "SELECT CASE WHEN r.fingerprint = r.base_fingerprint THEN r.details ELSE b.details END,
                    CASE WHEN r.fingerprint = r.base_fingerprint THEN r.ref1 ELSE b.ref1 END,
                    CASE WHEN r.fingerprint = r.base_fingerprint THEN r.ref2 ELSE b.ref2 END,
                    CASE WHEN r.fingerprint = r.base_fingerprint THEN r.data ELSE b.data END
             FROM resources r LEFT JOIN bases b
               ON b.kind = r.kind AND b.space = r.space AND b.slug = r.slug
                  AND b.fingerprint = r.base_fingerprint
             WHERE r.kind = ?1 AND r.space = ?2 AND r.slug = ?3 AND r.base_fingerprint IS NOT NULL",
        )?
        .query_row(params![key.kind.name(), key.space, key.slug], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })
        .optional()?;
    let Some((Some(details), ref1, ref2, data)) = row else {
        return Ok(None);
    };
    let corrupt = |reason: String| HubError::Corrupt {
        key: key.to_string(),
        reason,
    };
    let details = match serde_json::from_str::<Value>(&details) {
        Ok(Value::Object(map)) => map,
        _ => return Err(corrupt("merge base details are not a JSON object".into())),
    };
    let refs = decode_refs(key.kind, ref1, ref2).map_err(corrupt)?;
    Ok(Some(BaseContent {
        details,
        refs,
        data: if key.kind == ResourceKind::Unit {
            Some(data.unwrap_or_default())
        } else {
            None
        },
    }))
}

/// Stores `content` as `key`'s merge base apart from the row (a load whose
/// result differs from the package content it applied: a merge).
pub fn save_base(conn: &Connection, content: &RowContent<'_>) -> Result<(), HubError> {
    let key = content.key;
    let (ref1, ref2) = ref_columns(key.kind, content.refs);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bases (kind, space, slug, details, ref1, ref2, data_digest, fingerprint, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        key.kind.name(),
        key.space,
        key.slug,
        content.details_json,
        ref1,
        ref2,
        content.data_digest,
        content.fingerprint,
        content.data,
    ])?;
    Ok(())
}

/// Makes `content` (what a load applied without writing the resource,
/// because the hub already held it or more) the merge base of its resource.
pub fn rebase(conn: &Connection, content: &RowContent<'_>) -> Result<(), HubError> {
    let key = content.key;
    let current = fingerprint(conn, key)?;
    if current.as_deref() == Some(content.fingerprint) {
        clear_base(conn, key)?;
    } else {
        save_base(conn, content)?;
    }
    conn.prepare_cached(
        "UPDATE resources SET base_fingerprint = ?4 WHERE kind = ?1 AND space = ?2 AND slug = ?3",
    )?
    .execute(params![
        key.kind.name(),
        key.space,
        key.slug,
        content.fingerprint
    ])?;
    Ok(())
}

/// Forgets the stored copy of `key`'s merge base (the row itself is the base).
pub fn clear_base(conn: &Connection, key: &ResourceKey) -> Result<(), HubError> {
    conn.prepare_cached("DELETE FROM bases WHERE kind = ?1 AND space = ?2 AND slug = ?3")?
        .execute(params![key.kind.name(), key.space, key.slug])?;
    Ok(())
}

/// Before a change that is not a load: when `key` still holds its merge
/// base, copies it into `bases` so that the next merge finds it.
pub fn preserve_base(conn: &Connection, key: &ResourceKey) -> Result<(), HubError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bases (kind, space, slug, details, ref1, ref2, data_digest, fingerprint, data)
         SELECT kind, space, slug, details, ref1, ref2, data_digest, fingerprint, data FROM resources
         WHERE kind = ?1 AND space = ?2 AND slug = ?3 AND fingerprint = base_fingerprint",
    )?
    .execute(params![key.kind.name(), key.space, key.slug])?;
    Ok(())
}

/// Resources that would be left dangling if `key` went away: those that refer
/// to it and, for a space, those that live in it. Sorted.
pub fn users_of(conn: &Connection, key: &ResourceKey) -> Result<Vec<ResourceKey>, HubError> {
    let mut users = Vec::new();
    let index = key.index_string();
    let mut stmt = conn.prepare_cached(
        "SELECT kind, space, slug FROM resources WHERE ref1 = ?1 OR ref2 = ?1
         UNION SELECT kind, space, slug FROM resources WHERE ?2 IS NOT NULL AND space = ?2",
    )?;
    let space = (key.kind == ResourceKind::Space).then_some(key.slug.as_str());
    let mut rows = stmt.query(params![index, space])?;
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        if let Ok(kind) = kind.parse::<ResourceKind>() {
            let space: String = row.get(1)?;
            let slug: String = row.get(2)?;
            let user = ResourceKey::new(kind, &space, &slug);
            if &user != key {
                users.push(user);
            }
        }
    }
    users.sort();
    Ok(users)
}

/// The hub ID of `key`, if it exists.
pub fn id_of(conn: &Connection, key: &ResourceKey) -> Result<Option<String>, HubError> {
    Ok(conn
        .prepare_cached("SELECT id FROM resources WHERE kind = ?1 AND space = ?2 AND slug = ?3")?
        .query_row(params![key.kind.name(), key.space, key.slug], |r| r.get(0))
        .optional()?)
}

/// Checks that every reference of a resource, and its space, exist.
pub fn check_references(
    conn: &Connection,
    key: &ResourceKey,
    refs: &[Reference],
) -> Result<(), HubError> {
    if key.kind.is_space_scoped() {
        let space = key.space_key();
        if !exists(conn, &space)? {
            return Err(HubError::DanglingReference {
                from: key.clone(),
                to: space,
            });
        }
    }
    for reference in refs {
        if !exists(conn, &reference.to)? {
            return Err(HubError::DanglingReference {
                from: key.clone(),
                to: reference.to.clone(),
            });
        }
    }
    Ok(())
}

/// A fresh resource ID.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Counts resources per kind (for status output and tests).
pub fn count(conn: &Connection, kind: ResourceKind) -> Result<u64, HubError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM resources WHERE kind = ?1")?
        .query_row([kind.name()], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;
    use serde_json::json;

    fn details(v: Value) -> Details {
        match v {
            Value::Object(map) => map,
            _ => Details::new(),
        }
    }

    #[test]
    fn reference_columns_round_trip() {
        let refs = vec![
            Reference::new(RefField::FromUnit, "a", "u"),
            Reference::new(RefField::ToUnit, "b", "v"),
        ];
        let (r1, r2) = ref_columns(ResourceKind::Link, &refs);
        assert_eq!(r1.as_deref(), Some("unit:a/u"));
        assert_eq!(r2.as_deref(), Some("unit:b/v"));
        assert_eq!(decode_refs(ResourceKind::Link, r1, r2).unwrap(), refs);
        let space_ref = vec![Reference::new(RefField::FromSpace, "", "s")];
        let (r1, r2) = ref_columns(ResourceKind::Filter, &space_ref);
        assert_eq!(
            decode_refs(ResourceKind::Filter, r1, r2).unwrap(),
            space_ref
        );
        assert!(decode_refs(ResourceKind::Unit, Some("garbage".into()), None).is_err());
    }

    #[test]
    fn insert_update_delete_and_users() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(&dir.path().join("hub.db")).unwrap();
        let conn = hub.conn();
        let now = "2026-01-01T00:00:00Z";
        let space = NewResource {
            key: ResourceKey::space("s"),
            details: details(json!({"Slug": "s"})),
            refs: vec![],
            data: None,
        };
        space
            .with_content(|c| insert(conn, c, "id-1", now))
            .unwrap();
        assert!(matches!(
            space.with_content(|c| insert(conn, c, "id-2", now)),
            Err(HubError::AlreadyExists(_))
        ));
        let unit = NewResource {
            key: ResourceKey::new(ResourceKind::Unit, "s", "u"),
            details: details(json!({"Slug": "u", "ToolchainType": "Kubernetes/YAML"})),
            refs: vec![],
            data: Some(b"a: 1\n".to_vec()),
        };
        check_references(conn, &unit.key, &unit.refs).unwrap();
        unit.with_content(|c| insert(conn, c, "id-3", now)).unwrap();
        assert_eq!(data(conn, &unit.key).unwrap().unwrap(), b"a: 1\n");
        assert_eq!(users_of(conn, &space.key).unwrap(), vec![unit.key.clone()]);
        let stored = require(conn, &unit.key).unwrap();
        assert_eq!(stored.version, 1);
        let mut changed = unit.clone();
        changed.data = Some(b"a: 2\n".to_vec());
        changed.with_content(|c| update(conn, c, now)).unwrap();
        let after = require(conn, &unit.key).unwrap();
        assert_eq!(after.version, 2);
        assert_eq!(after.id, "id-3");
        assert_ne!(after.fingerprint, stored.fingerprint);
        delete(conn, &unit.key).unwrap();
        assert!(matches!(
            delete(conn, &unit.key),
            Err(HubError::NotFound(_))
        ));
        assert!(users_of(conn, &space.key).unwrap().is_empty());
    }
}
