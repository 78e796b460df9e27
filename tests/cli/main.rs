//! Integration tests: they drive the real `pkg` binary against real SQLite
//! hubs and real package directories.

mod archive;
mod bad_input;
mod common;
mod crash;
mod create;
mod databases;
mod db;
mod db_remap;
mod deploy;
mod deploy_etcd;
mod envs;
mod examples;
mod git;
mod hardening;
mod history;
mod http;
mod load;
mod misc;
mod oci;
mod pkg_server;
mod registry;
mod remote_hub;
mod resources;
mod servers;
mod signing;
mod signing_sources;
mod sources;
mod sources_three;
