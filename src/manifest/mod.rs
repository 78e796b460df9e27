//! Package format v1 (docs/format.md): the manifest's types, reading it with
//! every problem reported, writing it byte-deterministically, the rules
//! for the package paths it names, and the file-size limits with the capped
//! reader ([`limits`]).

pub mod environment;
pub mod limits;
pub mod parse;
pub mod paths;
pub mod problem;
pub mod tables;
pub mod types;
pub mod write;

pub use parse::parse_manifest;
pub use problem::Problem;
pub use types::{Entry, FORMAT_VERSION, MANIFEST_FILE, Manifest};
