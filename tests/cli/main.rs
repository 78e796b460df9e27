//! Integration tests: they drive the real `pkg` binary against real SQLite
//! hubs and real package directories.

mod bad_input;
mod common;
mod crash;
mod create;
mod examples;
mod history;
mod load;
mod misc;
mod resources;
mod archive;
mod servers;
