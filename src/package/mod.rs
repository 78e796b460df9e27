//! Packages as operations: reading and checking a package directory
//! ([`read`]), planning a load against the hub ([`plan`]), diffing
//! ([`diff`]), loading in one transaction ([`load`]), creating a package
//! from the hub ([`export`]), and materialising the Python environments a
//! package carries through the backends ([`environments`]).

pub mod checked;
pub mod combine;
pub mod details_check;
pub mod diff;
pub mod environments;
pub mod error;
pub mod export;
pub mod file_sink;
pub mod link_source;
pub mod load;
pub mod merge;
pub mod pack;
pub mod parallel;
pub mod parallel_gzip;
pub mod plan;
pub mod read;
pub mod remap;
pub mod report;

pub use error::{PackageError, Report};
pub use plan::{Action, OnConflict, Plan};
pub use read::{Package, read_package};
