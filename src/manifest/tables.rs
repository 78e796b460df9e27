//! The `tables` key of a database package: each table's columns (name,
//! portable type, nullable), primary key, foreign keys, row count and the
//! JSON Lines file holding its rows (`/tables/<table>.jsonl`, one object
//! per row, in primary-key order). Kept in the manifest as written, like
//! `environments`; this reads and checks it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::slug::escape;
use crate::model::table::Table;

/// The directory of the data files.
pub const TABLES_DIR: &str = "/tables";

/// One table of a database package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    /// The table.
    #[serde(flatten)]
    pub table: Table,
    /// How many rows its data file holds.
    pub row_count: u64,
    /// `/tables/<name>.jsonl`.
    pub data_loc: String,
    /// Rows of other tables this table's rows reference but the package
    /// does not hold: a load checks that they exist in the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external: Vec<ExternalKeys>,
}

/// The keys one foreign key references outside the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalKeys {
    /// The referenced table.
    pub table: String,
    /// Its referenced columns.
    pub references: Vec<String>,
    /// Each referenced key's values (lossless JSON), sorted.
    pub keys: Vec<Vec<Value>>,
}

/// Whether `name` is a table name a package may carry: 1-63 characters,
/// none of them a path separator, a control character or a quote.
pub fn check_table_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 63 {
        return Err(format!(
            "table name `{}` must have 1-63 characters",
            escape(name)
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"' | '`' | '\''))
        || name == "."
        || name == ".."
    {
        return Err(format!(
            "table name `{}` may not hold /, \\, quotes or control characters",
            escape(name)
        ));
    }
    Ok(())
}

/// The data file of table `name`.
pub fn data_loc(name: &str) -> String {
    format!("{TABLES_DIR}/{name}.jsonl")
}

/// Reads `values` (the manifest's `tables`): the entries, and every
/// problem as (field, message).
pub fn parse_tables(values: &[Value]) -> (Vec<TableEntry>, Vec<(String, String)>) {
    let mut tables = Vec::new();
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for (i, value) in values.iter().enumerate() {
        let field = format!("tables[{i}]");
        let entry: TableEntry = match serde_json::from_value(value.clone()) {
            Ok(entry) => entry,
            Err(e) => {
                problems.push((field, format!("is not a table entry: {e}")));
                continue;
            }
        };
        let before = problems.len();
        let t = &entry.table;
        if let Err(e) = check_table_name(&t.name) {
            problems.push((format!("{field}.name"), e));
        } else if !names.insert(t.name.clone()) {
            problems.push((
                format!("{field}.name"),
                format!("table `{}` is listed twice", escape(&t.name)),
            ));
        }
        if entry.data_loc != data_loc(&t.name) {
            problems.push((
                format!("{field}.data_loc"),
                format!("must be `{}`", escape(&data_loc(&t.name))),
            ));
        }
        let columns: BTreeSet<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        if columns.len() != t.columns.len() || columns.is_empty() {
            problems.push((
                format!("{field}.columns"),
                "must name each column once, at least one".into(),
            ));
        }
        if t.primary_key.is_empty() || t.primary_key.iter().any(|c| !columns.contains(c.as_str())) {
            problems.push((
                format!("{field}.primary_key"),
                "must name at least one of the table's columns".into(),
            ));
        }
        for (k, fk) in t.foreign_keys.iter().enumerate() {
            if fk.columns.is_empty()
                || fk.columns.len() != fk.references.len()
                || fk.columns.iter().any(|c| !columns.contains(c.as_str()))
            {
                problems.push((
                    format!("{field}.foreign_keys[{k}]"),
                    "must pair each of the table's columns with a referenced column".into(),
                ));
            }
        }
        if problems.len() == before {
            tables.push(entry);
        }
    }
    (tables, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_checked() {
        let good = serde_json::json!({
            "name": "orders",
            "columns": [{"name": "id", "type": "integer", "nullable": false},
                        {"name": "customer_id", "type": "integer", "nullable": false}],
            "primary_key": ["id"],
            "foreign_keys": [{"columns": ["customer_id"], "table": "customers", "references": ["id"]}],
            "row_count": 2,
            "data_loc": "/tables/orders.jsonl"
        });
        let (tables, problems) = parse_tables(std::slice::from_ref(&good));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(tables[0].table.foreign_keys[0].table, "customers");
        let mut bad = good.clone();
        bad["name"] = "bad".into();
        bad["data_loc"] = "/etc/passwd".into();
        bad["primary_key"] = serde_json::json!(["nope"]);
        let (_, problems) = parse_tables(&[bad, good.clone(), good]);
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tables[0].data_loc",
                "tables[0].primary_key",
                "tables[2].name"
            ]
        );
        let (_, problems) = parse_tables(&[serde_json::json!({"name": "x"})]);
        assert!(problems[0].1.contains("not a table entry"));
        for bad in ["", "a/b", "..", "x\"y"] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }
}
