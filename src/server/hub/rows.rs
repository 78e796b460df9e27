//! The hub's tables as key-value rows, for replicating a hub through etcd.
//! Each row of `resources`, `bases`, `history` and `history_changes` is one
//! key (`hub/rows/<table>/<primary key>`) whose value is JSON: the row's
//! columns, a tombstone naming a deleted row's primary key, or (for a row
//! larger than etcd takes) the digest of a blob holding the row.
//!
//! Changes are captured by temporary triggers on the cache connection,
//! which record the primary key of every row inserted, updated or deleted.

use base64::Engine;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, params_from_iter};
use serde_json::{Map, Value, json};

use super::super::blobs::Blobs;

/// Where rows live, under the store's root.
pub const ROWS: &str = "hub/rows/";
/// Rows larger than this go to a blob (etcd takes 1.5 MiB per request).
const INLINE_LIMIT: usize = 256 * 1024;

/// A replicated table and its primary key.
pub struct Table {
    /// The table.
    pub name: &'static str,
    /// The primary-key columns.
    pub pk: &'static [&'static str],
}

/// Every table the hub keeps.
pub const TABLES: [Table; 4] = [
    Table {
        name: "resources",
        pk: &["kind", "space", "slug"],
    },
    Table {
        name: "bases",
        pk: &["kind", "space", "slug"],
    },
    Table {
        name: "history",
        pk: &["id"],
    },
    Table {
        name: "history_changes",
        pk: &["history_id", "seq"],
    },
];

fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Creates the change-capture table and triggers on `conn` (temporary:
/// they exist on this connection only).
pub fn install_capture(conn: &Connection) -> rusqlite::Result<()> {
    let mut sql = String::from(
        "CREATE TEMP TABLE IF NOT EXISTS changed (tbl TEXT NOT NULL, pk TEXT NOT NULL, PRIMARY KEY (tbl, pk));\n",
    );
    for t in &TABLES {
        let key = |side: &str| {
            let cols: Vec<String> = t.pk.iter().map(|c| format!("{side}.{c}")).collect();
            format!("json_array({})", cols.join(", "))
        };
        for (event, sides) in [
            ("INSERT", &["NEW"][..]),
            ("UPDATE", &["OLD", "NEW"][..]),
            ("DELETE", &["OLD"][..]),
        ] {
            let inserts: String = sides
                .iter()
                .map(|side| {
                    format!(
                        "INSERT OR IGNORE INTO temp.changed VALUES ('{}', {});",
                        t.name,
                        key(side)
                    )
                })
                .collect();
            sql.push_str(&format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS capture_{}_{} AFTER {event} ON main.{} BEGIN {inserts} END;\n",
                t.name,
                event.to_lowercase(),
                t.name
            ));
        }
    }
    conn.execute_batch(&sql)
}

/// Forgets the captured changes.
pub fn clear_capture(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM temp.changed", []).map(|_| ())
}

fn key_part(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("{:020}", n.as_i64().unwrap_or(0)),
        Value::String(s) => url::form_urlencoded::byte_serialize(s.as_bytes()).collect(),
        other => url::form_urlencoded::byte_serialize(other.to_string().as_bytes()).collect(),
    }
}

fn row_key(table: &str, pk: &[Value]) -> String {
    let parts: Vec<String> = pk.iter().map(key_part).collect();
    format!("{ROWS}{table}/{}", parts.join("/"))
}

fn to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => json!({ "b64": base64::engine::general_purpose::STANDARD.encode(b) }),
    }
}

fn to_sql(value: &Value) -> Result<SqlValue, String> {
    Ok(match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Object(o) => match o.get("b64").and_then(Value::as_str) {
            Some(b) => SqlValue::Blob(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|e| format!("a stored blob column is not base64: {e}"))?,
            ),
            None => return Err("a stored column is an object".into()),
        },
        Value::Array(_) => return Err("a stored column is an array".into()),
    })
}

/// The captured changes as key-value pairs to publish: each changed row's
/// current content, or a tombstone when it is gone.
pub fn captured(conn: &Connection, blobs: &Blobs) -> Result<Vec<(String, Vec<u8>)>, String> {
    let db = |e: rusqlite::Error| format!("cache: {e}");
    let changed: Vec<(String, String)> = conn
        .prepare("SELECT tbl, pk FROM temp.changed ORDER BY tbl, pk")
        .map_err(db)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut out = Vec::with_capacity(changed.len());
    for (name, pk_json) in changed {
        let t = table(&name).ok_or_else(|| format!("unknown captured table {name}"))?;
        let pk: Vec<Value> = serde_json::from_str(&pk_json).map_err(|e| e.to_string())?;
        let filter: Vec<String> = t.pk.iter().map(|c| format!("{c} IS ?")).collect();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT * FROM main.{} WHERE {}",
                t.name,
                filter.join(" AND ")
            ))
            .map_err(db)?;
        let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let params: Vec<SqlValue> = pk.iter().map(to_sql).collect::<Result<_, _>>()?;
        let mut rows = stmt.query(params_from_iter(params)).map_err(db)?;
        let value = match rows.next().map_err(db)? {
            Some(row) => {
                let mut cols = Map::new();
                for (i, n) in names.iter().enumerate() {
                    cols.insert(n.clone(), to_json(row.get_ref(i).map_err(db)?));
                }
                let inline = serde_json::to_vec(&json!({ "table": t.name, "row": cols }))
                    .map_err(|e| e.to_string())?;
                if inline.len() > INLINE_LIMIT {
                    let digest = blobs
                        .put(&inline)
                        .map_err(|e| format!("cannot store a large row: {e}"))?;
                    serde_json::to_vec(&json!({ "table": t.name, "blob": digest }))
                        .map_err(|e| e.to_string())?
                } else {
                    inline
                }
            }
            None => {
                let mut key = Map::new();
                for (c, v) in t.pk.iter().zip(&pk) {
                    key.insert((*c).to_string(), v.clone());
                }
                serde_json::to_vec(&json!({ "table": t.name, "deleted": key }))
                    .map_err(|e| e.to_string())?
            }
        };
        out.push((row_key(t.name, &pk), value));
    }
    Ok(out)
}

/// Applies one stored value to the cache: upserts a row, deletes a
/// tombstoned one.
pub fn apply(conn: &Connection, blobs: &Blobs, value: &[u8]) -> Result<(), String> {
    let db = |e: rusqlite::Error| format!("cache: {e}");
    let mut doc: Value =
        serde_json::from_slice(value).map_err(|e| format!("a stored row is not JSON: {e}"))?;
    if let Some(digest) = doc.get("blob").and_then(Value::as_str) {
        let bytes = blobs
            .read(digest)
            .map_err(|e| format!("cannot read row blob {digest}: {e}"))?
            .ok_or_else(|| format!("row blob {digest} is missing from the blob directory"))?;
        doc = serde_json::from_slice(&bytes).map_err(|e| format!("row blob {digest}: {e}"))?;
    }
    let name = doc.get("table").and_then(Value::as_str).unwrap_or_default();
    let t = table(name).ok_or_else(|| format!("a stored row names unknown table `{name}`"))?;
    if let Some(Value::Object(key)) = doc.get("deleted") {
        let filter: Vec<String> = t.pk.iter().map(|c| format!("{c} IS ?")).collect();
        let params: Vec<SqlValue> =
            t.pk.iter()
                .map(|c| to_sql(key.get(*c).unwrap_or(&Value::Null)))
                .collect::<Result<_, _>>()?;
        conn.prepare_cached(&format!(
            "DELETE FROM main.{} WHERE {}",
            t.name,
            filter.join(" AND ")
        ))
        .map_err(db)?
        .execute(params_from_iter(params))
        .map_err(db)?;
        return Ok(());
    }
    let Some(Value::Object(cols)) = doc.get("row") else {
        return Err("a stored row has neither `row` nor `deleted`".into());
    };
    let names: Vec<&String> = cols.keys().collect();
    let marks: Vec<&str> = names.iter().map(|_| "?").collect();
    let params: Vec<SqlValue> = cols.values().map(to_sql).collect::<Result<_, _>>()?;
    let quoted: Vec<String> = names
        .iter()
        .map(|n| format!("\"{}\"", n.replace('"', "")))
        .collect();
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO main.{} ({}) VALUES ({})",
        t.name,
        quoted.join(", "),
        marks.join(", ")
    ))
    .map_err(db)?
    .execute(params_from_iter(params))
    .map_err(db)?;
    Ok(())
}
