//! Tables as a database's catalog describes them, and the order a load
//! inserts tables in: parents before children, with the foreign keys that close a cycle
//! (a self-reference, or tables referencing each other) inserted NULL
//! first and set afterwards.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::model::table::{Column, ForeignKey, Table};

/// A table as a database's catalog describes it, its column types as
/// declared (every engine's reader gives this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTable {
    /// Its name.
    pub name: String,
    /// Columns: name, declared type, nullable.
    pub columns: Vec<(String, String, bool)>,
    /// The primary key's columns, in key order.
    pub primary_key: Vec<String>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Its unique constraints other than the primary key.
    pub unique: Vec<Vec<String>>,
}

impl CatalogTable {
    /// The table with portable types, or the columns whose types pkg does
    /// not carry.
    pub fn typed(&self, engine: super::url::Engine) -> Result<Table, String> {
        let mut columns = Vec::with_capacity(self.columns.len());
        let mut unsupported = Vec::new();
        for (name, declared, nullable) in &self.columns {
            match super::kind::kind_of(engine, declared) {
                Some(kind) => columns.push(Column {
                    name: name.clone(),
                    kind,
                    declared: declared.clone(),
                    nullable: *nullable,
                }),
                None => unsupported.push(format!("{}.{name} ({declared})", self.name)),
            }
        }
        if !unsupported.is_empty() {
            return Err(format!(
                "pkg does not carry the type of {}: exclude the column(s) with --exclude-columns, or cast them in a view",
                unsupported.join(", ")
            ));
        }
        if self.primary_key.is_empty() {
            return Err(format!(
                "table `{}` has no primary key: pkg orders, references and remaps rows by it",
                self.name
            ));
        }
        Ok(Table {
            name: self.name.clone(),
            columns,
            primary_key: self.primary_key.clone(),
            foreign_keys: self.foreign_keys.clone(),
            unique: self.unique.clone(),
        })
    }
}

/// A foreign key a load sets after inserting: table and the key's index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deferred {
    /// The referencing table.
    pub table: String,
    /// The index of the key in its `foreign_keys`.
    pub key: usize,
}

/// The order to insert tables in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InsertOrder {
    /// Table names, parents before children.
    pub tables: Vec<String>,
    /// Foreign keys inserted NULL and set once every table is in.
    pub deferred: Vec<Deferred>,
}

/// The order to insert `tables` in. Keys to tables outside the set are
/// not ordered (a load checks that their rows exist). A cycle is broken at
/// a key whose columns may all be NULL; a cycle of NOT NULL keys is
/// refused, naming its tables.
pub fn insert_order(tables: &[Table]) -> Result<InsertOrder, String> {
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    // Edges child -> parent, by key.
    let mut edges: Vec<(usize, usize, usize)> = Vec::new(); // (child, parent, key)
    let index: BTreeMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut deferred = Vec::new();
    for (child, table) in tables.iter().enumerate() {
        for (key, fk) in table.foreign_keys.iter().enumerate() {
            let Some(&parent) = index.get(fk.table.as_str()) else {
                continue;
            };
            if !names.contains(fk.table.as_str()) {
                continue;
            }
            if parent == child {
                if !nullable(table, fk) {
                    return Err(format!(
                        "table `{}` references itself through NOT NULL column(s) {}: pkg cannot insert its rows in order",
                        table.name,
                        fk.columns.join(", ")
                    ));
                }
                deferred.push(Deferred {
                    table: table.name.clone(),
                    key,
                });
                continue;
            }
            edges.push((child, parent, key));
        }
    }
    let mut order = Vec::with_capacity(tables.len());
    let mut placed = vec![false; tables.len()];
    while order.len() < tables.len() {
        // Ready: every parent placed (or the edge deferred). Alphabetical
        // among the ready, so the order is stable.
        let ready: Vec<usize> = (0..tables.len())
            .filter(|&t| !placed[t])
            .filter(|&t| edges.iter().all(|&(c, p, _)| c != t || placed[p]))
            .collect();
        if let Some(&next) = ready
            .iter()
            .min_by(|a, b| tables[**a].name.cmp(&tables[**b].name))
        {
            placed[next] = true;
            order.push(tables[next].name.clone());
            continue;
        }
        // A cycle among the unplaced: defer a nullable key in it.
        let breakable = edges
            .iter()
            .enumerate()
            .filter(|&(_, &(c, p, _))| !placed[c] && !placed[p])
            .filter(|&(_, &(c, _, k))| nullable(&tables[c], &tables[c].foreign_keys[k]))
            .min_by(|(_, a), (_, b)| tables[a.0].name.cmp(&tables[b.0].name).then(a.2.cmp(&b.2)));
        match breakable {
            Some((i, &(c, _, k))) => {
                deferred.push(Deferred {
                    table: tables[c].name.clone(),
                    key: k,
                });
                edges.remove(i);
            }
            None => {
                let stuck: Vec<&str> = (0..tables.len())
                    .filter(|&t| !placed[t])
                    .map(|t| tables[t].name.as_str())
                    .collect();
                return Err(format!(
                    "tables {} reference each other through NOT NULL foreign keys: pkg cannot insert them in order",
                    stuck.join(", ")
                ));
            }
        }
    }
    deferred.sort();
    Ok(InsertOrder {
        tables: order,
        deferred,
    })
}

fn nullable(table: &Table, fk: &ForeignKey) -> bool {
    fk.columns
        .iter()
        .all(|c| table.column(c).is_some_and(|col| col.nullable))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::table::Kind;

    fn col(name: &str, nullable: bool) -> Column {
        Column {
            name: name.into(),
            kind: Kind::Integer,
            declared: String::new(),
            nullable,
        }
    }

    /// A table `name` with integer columns `cols` (name, nullable), a
    /// primary key and foreign keys (column, table, column).
    pub(crate) fn table(
        name: &str,
        cols: &[(&str, bool)],
        pk: &[&str],
        fks: &[(&str, &str, &str)],
    ) -> Table {
        Table {
            name: name.into(),
            columns: cols.iter().map(|(n, null)| col(n, *null)).collect(),
            primary_key: pk.iter().map(|s| s.to_string()).collect(),
            foreign_keys: fks
                .iter()
                .map(|(c, t, r)| ForeignKey {
                    columns: vec![c.to_string()],
                    table: t.to_string(),
                    references: vec![r.to_string()],
                })
                .collect(),
            unique: Vec::new(),
        }
    }

    #[test]
    fn parents_come_first_and_cycles_are_broken_at_nullable_keys() {
        let tables = vec![
            table(
                "order_items",
                &[("id", false), ("order_id", false)],
                &["id"],
                &[("order_id", "orders", "id")],
            ),
            table(
                "orders",
                &[("id", false), ("customer_id", false)],
                &["id"],
                &[("customer_id", "customers", "id")],
            ),
            table("customers", &[("id", false)], &["id"], &[]),
            table(
                "employees",
                &[("id", false), ("manager_id", true)],
                &["id"],
                &[("manager_id", "employees", "id")],
            ),
            table(
                "a",
                &[("id", false), ("b_id", true)],
                &["id"],
                &[("b_id", "b", "id")],
            ),
            table(
                "b",
                &[("id", false), ("a_id", false)],
                &["id"],
                &[("a_id", "a", "id")],
            ),
        ];
        let order = insert_order(&tables).unwrap();
        let pos = |n: &str| order.tables.iter().position(|t| t == n).unwrap();
        assert!(pos("customers") < pos("orders") && pos("orders") < pos("order_items"));
        assert!(pos("a") < pos("b"), "{order:?}");
        assert_eq!(
            order.deferred,
            vec![
                Deferred {
                    table: "a".into(),
                    key: 0
                },
                Deferred {
                    table: "employees".into(),
                    key: 0
                },
            ]
        );
        // Keys to tables outside the set do not order anything.
        let alone = insert_order(&tables[..2]).unwrap();
        assert_eq!(alone.tables, ["orders", "order_items"]);
    }

    #[test]
    fn not_null_cycles_are_refused() {
        let tables = vec![
            table(
                "a",
                &[("id", false), ("b_id", false)],
                &["id"],
                &[("b_id", "b", "id")],
            ),
            table(
                "b",
                &[("id", false), ("a_id", false)],
                &["id"],
                &[("a_id", "a", "id")],
            ),
        ];
        let err = insert_order(&tables).unwrap_err();
        assert!(err.contains("a, b") && err.contains("NOT NULL"), "{err}");
        let selfish = vec![table(
            "e",
            &[("id", false), ("m", false)],
            &["id"],
            &[("m", "e", "id")],
        )];
        assert!(
            insert_order(&selfish)
                .unwrap_err()
                .contains("references itself")
        );
    }
}
