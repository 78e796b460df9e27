//! Git, through libgit2: listing a remote's refs, resolving a ref query
//! (branch, tag, commit, semver requirement, or a `REF/PATH` to split), a
//! cache of shallow single-ref fetches keyed by URL, writing one package
//! sub-directory of a commit out of the cache, and publishing a package as
//! a commit plus an annotated release tag. No `git` process is run, nothing
//! prompts, and credentials follow the rule in
//! [`crate::source_settings::SourceSettings::token_for`].
//!
//! Layering: git sits below the sources (`loaders`) and the package layer
//! and imports neither. It owns [`ref_query::RefQuery`] (which commit a
//! source means) and the ref-name rule; it writes trees through
//! [`crate::safe_tree`], reads [`crate::source_settings`], and caps file
//! reads with [`crate::manifest::limits`].

pub mod auth;
pub mod cache;
pub mod checkout;
pub mod error;
pub mod publish;
pub mod ref_query;
pub mod refs;

pub use error::GitError;
