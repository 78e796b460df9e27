//! How a load writes each table: the insert order, which primary-key
//! column the target generates (with `remap_keys`), which foreign keys go in
//! with the row and which are set afterwards (cycles), which are rewritten
//! through a parent's key map, and which unique constraints find an
//! existing row.

use super::load_options::LoadOptions;
use super::schema::{Table, insert_order};
use super::source::DbError;
use super::target::{LoadTarget, key_columns};
use crate::manifest::tables::TableEntry;

/// A foreign key of a table in the package.
#[derive(Debug, Clone)]
pub(super) struct Reference {
    /// Its columns' positions: in the parent's primary-key order when
    /// `parent` is set, else in the key's order.
    pub(super) positions: Vec<usize>,
    /// The parent (its index among the plans) whose key map rewrites the
    /// values, when its keys may change.
    pub(super) parent: Option<usize>,
}

/// How one table is loaded.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// Index among the package's entries.
    pub(super) entry: usize,
    /// The primary key's positions.
    pub(super) pk: Vec<usize>,
    /// The primary-key column the target generates (with remap_keys).
    pub(super) generated: Option<usize>,
    /// Foreign keys written with the row.
    pub(super) now: Vec<Reference>,
    /// Foreign keys written NULL, set once every row is in.
    pub(super) later: Vec<Reference>,
    /// Unique constraints (positions) that identify an existing row when
    /// the key is generated.
    pub(super) unique: Vec<Vec<usize>>,
    /// Whether the table's keys may change (a generated key, or a key
    /// column rewritten through a parent's map).
    pub(super) remapped: bool,
}

fn position_of(table: &Table, name: &str) -> Option<usize> {
    table.columns.iter().position(|c| c.name == name)
}

/// The plans, in insert order.
pub(super) fn plan(
    target: &mut dyn LoadTarget,
    entries: &[TableEntry],
    options: LoadOptions,
    notes: &mut Vec<String>,
) -> Result<Vec<Plan>, DbError> {
    let tables: Vec<Table> = entries.iter().map(|e| e.table.clone()).collect();
    let order = insert_order(&tables).map_err(DbError::Invalid)?;
    let indexes: Vec<usize> = order
        .tables
        .iter()
        .filter_map(|name| entries.iter().position(|e| &e.table.name == name))
        .collect();
    // First the keys: which the target generates, and which tables' keys
    // may change (parents first, so a key column referencing a remapped
    // parent is known to change).
    let mut plans: Vec<Plan> = Vec::with_capacity(indexes.len());
    for &entry in &indexes {
        let table = &entries[entry].table;
        let pk: Vec<usize> = key_columns(table)?
            .iter()
            .filter_map(|c| position_of(table, &c.name))
            .collect();
        let mut generated = None;
        if options.remap_keys {
            for &i in &pk {
                let column = &table.columns[i];
                if column.kind == super::kind::Kind::Integer && target.generates(table, column)? {
                    generated = Some(i);
                    break;
                }
            }
        }
        let key_references_remapped = table.foreign_keys.iter().any(|fk| {
            fk.columns.iter().any(|c| table.primary_key.contains(c))
                && fk.table != table.name
                && plans
                    .iter()
                    .any(|p| p.remapped && entries[p.entry].table.name == fk.table)
        });
        let remapped = generated.is_some() || key_references_remapped;
        if options.remap_keys && !remapped {
            notes.push(format!(
                "table `{}` keeps its keys: its primary key ({}) has no sequence, identity or autoincrement in the target",
                table.name,
                table.primary_key.join(", ")
            ));
        }
        let unique = match generated {
            Some(g) => table
                .unique
                .iter()
                .filter_map(|u| u.iter().map(|c| position_of(table, c)).collect())
                .filter(|u: &Vec<usize>| !u.contains(&g))
                .collect(),
            None => Vec::new(),
        };
        plans.push(Plan {
            entry,
            pk,
            generated,
            now: Vec::new(),
            later: Vec::new(),
            unique,
            remapped,
        });
    }
    // Then every foreign key, rewritten through its parent's map when the
    // parent's keys may change and the key references its whole primary
    // key.
    for index in 0..plans.len() {
        let table = &entries[plans[index].entry].table;
        for (k, fk) in table.foreign_keys.iter().enumerate() {
            let deferred = order
                .deferred
                .iter()
                .any(|d| d.table == table.name && d.key == k);
            let parent = plans.iter().position(|p| {
                let parent = &entries[p.entry].table;
                parent.name == fk.table
                    && p.remapped
                    && fk.references.len() == parent.primary_key.len()
                    && parent.primary_key.iter().all(|c| fk.references.contains(c))
            });
            let positions: Option<Vec<usize>> = match parent {
                Some(p) => entries[plans[p].entry]
                    .table
                    .primary_key
                    .iter()
                    .map(|pc| {
                        fk.references
                            .iter()
                            .position(|r| r == pc)
                            .and_then(|j| fk.columns.get(j))
                            .and_then(|c| position_of(table, c))
                    })
                    .collect(),
                None => fk.columns.iter().map(|c| position_of(table, c)).collect(),
            };
            let Some(positions) = positions else {
                return Err(DbError::Invalid(format!(
                    "table `{}`: a foreign key names a column the table lacks",
                    table.name
                )));
            };
            let reference = Reference { positions, parent };
            if deferred {
                plans[index].later.push(reference);
            } else {
                plans[index].now.push(reference);
            }
        }
    }
    Ok(plans)
}
