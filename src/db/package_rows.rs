//! A database package's rows as a load reads them: each table's JSON
//! Lines file streamed from the directory (or the unpacked archive), each
//! line into the table's column order, and values the target answered as
//! text back into their JSON form.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::schema::{Column, Table};
use super::source::DbError;
use crate::package::read::{Package, PackageFiles};

/// The rows of a table's data file, one JSON object each.
pub(super) fn rows(package: &Package, loc: &str) -> Result<Box<dyn BufRead>, DbError> {
    match &package.files {
        PackageFiles::Dir => {
            let path = package.path_of(loc);
            let file = std::fs::File::open(&path)
                .map_err(|e| DbError::Io(format!("cannot read {}: {e}", path.display())))?;
            Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, file)))
        }
        PackageFiles::Memory(_) => {
            let bytes = package.read_file(loc).map_err(DbError::Io)?;
            Ok(Box::new(std::io::Cursor::new(bytes.into_owned())))
        }
    }
}

/// One row's values in `table`'s column order.
pub(super) fn values(table: &Table, line: &str, n: u64) -> Result<Vec<Value>, DbError> {
    let mut object: Map<String, Value> = serde_json::from_str(line).map_err(|e| {
        DbError::Invalid(format!(
            "row {n} of table `{}` is not a JSON object: {e}",
            table.name
        ))
    })?;
    table
        .columns
        .iter()
        .map(|c| {
            object.remove(&c.name).ok_or_else(|| {
                DbError::Invalid(format!(
                    "row {n} of table `{}` has no column `{}`",
                    table.name, c.name
                ))
            })
        })
        .collect()
}

/// A value the target answered as text, in its JSON form for `column`.
pub(super) fn from_text(column: &Column, text: Option<String>) -> Value {
    match text {
        None => Value::Null,
        Some(t) => match column.kind {
            super::kind::Kind::Integer => t
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(t)),
            _ => Value::String(t),
        },
    }
}
