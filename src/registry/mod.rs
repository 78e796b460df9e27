//! The package registry's shared vocabulary: the rules for package names
//! and versions ([`names`]), access levels ([`Level`]), and the records the
//! registry API sends and receives ([`types`]). Both `pkg serve` (which keeps
//! them) and the CLI's registry client (which reads them) use this module;
//! it knows nothing of HTTP or storage.

pub mod level;
pub mod names;
pub mod types;

pub use level::Level;
