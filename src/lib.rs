//! `pkg`: a package tool for ConfigHub-style DevOps configuration.
//!
//! The library does all the work and knows nothing of the terminal; the
//! `pkg` binary (`src/main.rs`, `src/cli.rs`, `src/commands/`) parses
//! arguments, calls into it and renders the results.
//!
//! Module map:
//! - [`model`]: the resource kinds, slugs and the resource record.
//! - [`filter`]: the `--where` language: parser and evaluator.
//! - [`manifest`]: package format v1: types, reading, validation, writing, digests.
//! - [`hub`]: the live store of resources (SQLite), history and rollback.
//! - [`package`]: create (hub → package), plan and load (package → hub).
//! - [`loaders`]: where packages are read from.
//! - [`backends`]: Python environment managers (later).
//! - [`cli`], [`commands`], [`ui`]: the command line: clap definitions,
//!   thin commands, and terminal rendering. Nothing above imports them.
pub mod backends;
pub mod cli;
pub mod commands;
pub mod filter;
pub mod git;
pub mod hub;
pub mod loaders;
pub mod manifest;
pub mod model;
pub mod package;
pub mod progress;
pub mod time;
pub mod ui;
