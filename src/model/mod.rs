//! The resource model: kinds, keys, slugs, references, details and content
//! fingerprints. Everything else in the crate speaks these types.
pub mod details;
pub mod fingerprint;
pub mod key;
pub mod kind;
pub mod reference;
pub mod slug;
pub mod table;
pub mod toolchain;

pub use details::Details;
pub use key::ResourceKey;
pub use kind::ResourceKind;
pub use reference::{RefField, Reference};
pub use slug::{SlugError, validate_slug};
