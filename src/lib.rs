//! `pkg`: a package tool for ConfigHub-style DevOps configuration.
//!
//! The library does all the work and knows nothing of the terminal; the
//! `pkg` binary (`src/main.rs`, `src/cli.rs`, `src/commands/`) parses
//! arguments, calls into it and renders the results.
//!
//! Module map, top layer first; a module imports only from layers below it
//! (checked by the `layers_do_not_import_upward` test):
//! - [`cli`], [`commands`], [`ui`]: the command line: clap definitions,
//!   thin commands, and terminal rendering. Nothing below imports them.
//! - [`package`]: create (hub → package), plan and load (package → hub),
//!   and materialising the environments a package carries.
//! - [`hub`]: the live store of resources (SQLite), history and rollback.
//! - [`loaders`]: where packages are read from (local, archive, HTTP, git).
//! - [`oci`]: OCI registries: references, credentials, push and pull.
//! - [`git`]: libgit2: refs and ref queries, the cache, checkout, publish.
//! - [`safe_tree`]: the safe writer of untrusted file trees, used by
//!   loaders and git.
//! - [`source_settings`]: what sources read from the environment (GitHub
//!   URL, token, cache directory, offline), used by loaders and git.
//! - [`backends`]: Python environment managers (uv, pixi); a leaf that
//!   knows nothing of packages.
//! - [`manifest`]: package format v1: types, reading, validation, writing,
//!   digests, and the file-size limits with the capped reader.
//! - [`filter`]: the `--where` language: parser and evaluator.
//! - [`model`], [`progress`], [`time`]: the resource kinds, slugs and the
//!   resource record; progress reporting; timestamps.
//!
//! `fuzz_entry` (hidden) sits beside the top layer: the fuzz targets'
//! entry points (`fuzz/`, `docs/fuzzing.md`) and their regression replay.
pub mod backends;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod deploy;
pub mod error_text;
pub mod filter;
#[doc(hidden)]
pub mod fuzz_entry;
pub mod git;
pub mod hub;
pub mod hub_access;
pub mod loaders;
pub mod manifest;
pub mod model;
pub mod oci;
pub mod package;
pub mod progress;
pub mod redirect;
pub mod registry;
pub mod remote;
pub mod safe_tree;
pub mod server;
pub mod signing;
pub mod source_settings;
pub mod sources;
pub mod time;
pub mod ui;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file of module `name`: `src/NAME.rs` and everything
    /// under `src/NAME/`.
    fn module_files(name: &str) -> Vec<PathBuf> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let file = src.join(format!("{name}.rs"));
        if file.is_file() {
            files.push(file);
        }
        let mut dirs = vec![src.join(name)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("readable directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        assert!(!files.is_empty(), "module `{name}` has no files");
        files
    }

    /// The top-level modules a file's code names as `crate::X` (also inside
    /// `crate::{X, Y}`), each with the text that named it. Comment lines
    /// are skipped.
    fn crate_imports(text: &str) -> Vec<(String, String)> {
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        let mut found = Vec::new();
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // `$crate::` or part of a longer name
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for part in group[..end].split(',') {
                    let name = ident(part.trim_start());
                    if !name.is_empty() {
                        found.push((name, format!("crate::{{{}}}", &group[..end])));
                    }
                }
            } else {
                let name = ident(rest);
                let shown: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                found.push((name, format!("crate::{shown}")));
            }
        }
        found
    }

    #[test]
    fn layers_do_not_import_upward() {
        let top = ["commands", "cli", "ui"];
        let rules: &[(&[&str], &[&str])] = &[
            (
                &["git"],
                &["loaders", "package", "commands", "cli", "ui", "hub"],
            ),
            (&["loaders"], &["package", "commands", "cli", "ui"]),
            (
                &["backends"],
                &["package", "hub", "loaders", "commands", "cli", "ui"],
            ),
            (&["package", "hub", "manifest", "model", "filter"], &top),
            (
                &["package", "hub", "loaders", "remote", "registry"],
                &["server", "hub_access", "commands", "cli", "ui"],
            ),
            (&["hub_access"], &["server", "commands", "cli", "ui"]),
            (
                &["sources"],
                &["server", "hub_access", "commands", "cli", "ui"],
            ),
            (&["server"], &["commands", "cli", "ui"]),
            (
                &["remote"],
                &["loaders", "package", "hub", "git", "backends"],
            ),
            (
                &["registry", "config", "redirect"],
                &[
                    "server",
                    "remote",
                    "hub_access",
                    "package",
                    "hub",
                    "loaders",
                    "git",
                    "backends",
                    "commands",
                    "cli",
                    "ui",
                    "model",
                    "manifest",
                ],
            ),
            (
                &["safe_tree", "source_settings"],
                &["git", "loaders", "package", "commands", "cli", "ui"],
            ),
            // cli is the top: it parses and dispatches to commands, which
            // render through ui; neither imports back up.
            // oci speaks the distribution protocol (packages are bytes to
            // it) and signing owns keys, signatures and the trust policy:
            // both are leaves.
            (
                &["oci", "signing"],
                &[
                    "server",
                    "sources",
                    "loaders",
                    "package",
                    "hub",
                    "hub_access",
                    "remote",
                    "git",
                    "registry",
                    "config",
                    "commands",
                    "cli",
                    "ui",
                ],
            ),
            (&["commands"], &["cli"]),
            (&["ui"], &["cli", "commands"]),
        ];
        let mut violations = Vec::new();
        for (modules, forbidden) in rules {
            for module in *modules {
                for file in module_files(module) {
                    let text = std::fs::read_to_string(&file).expect("readable source file");
                    for (name, import) in crate_imports(&text) {
                        if forbidden.contains(&name.as_str()) {
                            violations.push(format!(
                                "{}: `{import}` (module `{module}` must not use crate::{name})",
                                file.display()
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            violations.is_empty(),
            "upward imports:\n{}",
            violations.join("\n")
        );
    }
}
