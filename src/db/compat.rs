//! Before a load writes anything: whether the target database has every
//! table and column of the package with a type that takes the package's
//! values. Every mismatch is listed at once, so one run shows all that
//! must change.

use std::collections::BTreeMap;

use super::kind::kind_of;
use super::schema::{CatalogTable, Table};
use super::url::Engine;

/// The mismatches between the package's `tables` and the target's
/// `catalog` (empty when the load can go ahead).
pub fn mismatches(tables: &[Table], catalog: &[CatalogTable], engine: Engine) -> Vec<String> {
    let target: BTreeMap<&str, &CatalogTable> =
        catalog.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut out = Vec::new();
    for table in tables {
        let Some(found) = target.get(table.name.as_str()) else {
            out.push(format!("table `{}` is missing from the target", table.name));
            continue;
        };
        for column in &table.columns {
            let Some((_, declared, nullable)) =
                found.columns.iter().find(|(n, _, _)| *n == column.name)
            else {
                out.push(format!(
                    "column `{}.{}` is missing from the target",
                    table.name, column.name
                ));
                continue;
            };
            match kind_of(engine, declared) {
                None => out.push(format!(
                    "column `{}.{}` is {declared} in the target, a type pkg does not write",
                    table.name, column.name
                )),
                Some(kind) if !kind.accepts(column.kind) => out.push(format!(
                    "column `{}.{}` is {declared} ({}) in the target but {} in the package",
                    table.name,
                    column.name,
                    kind.as_str(),
                    column.kind.as_str()
                )),
                Some(_) => {}
            }
            if column.nullable && !nullable {
                out.push(format!(
                    "column `{}.{}` is NOT NULL in the target but may be NULL in the package",
                    table.name, column.name
                ));
            }
        }
        if found.primary_key != table.primary_key {
            out.push(format!(
                "table `{}` has primary key ({}) in the target but ({}) in the package",
                table.name,
                found.primary_key.join(", "),
                table.primary_key.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::tests::table;

    #[test]
    fn every_mismatch_is_listed() {
        let package = vec![
            table("customers", &[("id", false), ("note", true)], &["id"], &[]),
            table("orders", &[("id", false)], &["id"], &[]),
        ];
        let catalog = vec![CatalogTable {
            name: "customers".into(),
            columns: vec![("id".into(), "text".into(), false)],
            primary_key: vec!["id".into()],
            foreign_keys: vec![],
            unique: vec![],
        }];
        let found = mismatches(&package, &catalog, Engine::Postgres);
        assert_eq!(
            found,
            [
                "column `customers.id` is text (text) in the target but integer in the package",
                "column `customers.note` is missing from the target",
                "table `orders` is missing from the target",
            ]
        );
        let same = vec![CatalogTable {
            name: "orders".into(),
            columns: vec![("id".into(), "bigint".into(), false)],
            primary_key: vec!["id".into()],
            foreign_keys: vec![],
            unique: vec![],
        }];
        assert!(mismatches(&package[1..], &same, Engine::Postgres).is_empty());
    }
}
