//! The CLI's side of `pkg serve`: the configured remotes and their tokens
//! ([`remotes`]), and a blocking HTTP client for the registry API
//! ([`client`]). A token goes only to its own remote's origin, redirects
//! included.

pub mod client;
pub mod remotes;

pub use client::{RemoteError, ServerClient};
pub use remotes::Remote;
