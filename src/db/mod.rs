//! Database packages: a referentially complete subset of tables exported
//! into the package format (`tables[]` in the manifest, one JSON Lines
//! file per table) and loaded into another database, parents first, with
//! primary keys optionally remapped. This module owns [`url`] (which
//! database), [`schema`] (tables, keys, and the order to insert them in),
//! [`kind`] (the portable column types and their lossless JSON form) and
//! the catalog readers ([`sqlite`]).

pub mod compat;
pub mod export;
mod export_keys;
mod export_write;
pub mod fingerprint;
pub mod keymap;
pub mod kind;
pub mod load;
pub mod load_options;
mod load_plan;
mod loader;
pub mod mysql;
pub mod mysql_load;
mod package_rows;
pub mod postgres;
pub mod postgres_load;
pub mod record;
pub mod rollback;
pub mod schema;
pub mod source;
pub mod sqlite;
pub mod sqlite_load;
pub mod target;
pub mod url;
pub mod value;
