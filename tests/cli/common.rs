//! Test support: an isolated environment per test (its own hub, home and
//! data dirs), a builder for the real `pkg` binary, and snapshot filters.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// An isolated place to run `pkg` in.
pub struct Env {
    /// Holds everything the test writes.
    pub dir: TempDir,
    /// Extra environment variables for every `pkg` run.
    vars: std::cell::RefCell<Vec<(String, String)>>,
}

impl Env {
    /// A fresh environment.
    pub fn new() -> Env {
        let env = Env {
            dir: tempfile::Builder::new()
                .prefix("pkg-test-")
                .tempdir()
                .expect("temp dir"),
            vars: std::cell::RefCell::new(Vec::new()),
        };
        std::fs::create_dir_all(env.tmp()).expect("mkdir tmp");
        env
    }

    /// The test's root directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path under the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// `TMPDIR` of every `pkg` run (so tests can see leftovers).
    pub fn tmp(&self) -> PathBuf {
        self.path("tmp")
    }

    /// Entries left in [`Env::tmp`].
    pub fn tmp_entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.tmp())
            .expect("read tmp")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Sets an environment variable for every later `pkg` run.
    pub fn set_var(&self, name: &str, value: impl Into<String>) {
        let mut vars = self.vars.borrow_mut();
        vars.retain(|(n, _)| n != name);
        vars.push((name.to_string(), value.into()));
    }

    /// The hub file.
    pub fn hub(&self) -> PathBuf {
        self.path("hub.db")
    }

    /// `pkg` with an isolated environment and the given arguments.
    pub fn pkg<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Command::from_std(self.spawnable(args))
    }

    /// The same as [`Env::pkg`], as a plain `std::process::Command` (to spawn and kill).
    pub fn spawnable<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pkg"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("PKG_HUB", self.hub())
            .env("NO_COLOR", "1")
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("TMPDIR", self.tmp())
            .envs(
                self.vars
                    .borrow()
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
            )
            .current_dir(self.root())
            .args(args);
        cmd
    }

    /// Runs `pkg` and asserts success; returns stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.pkg(args).output().expect("run pkg");
        assert!(
            out.status.success(),
            "pkg failed: {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `pkg`, asserts it fails with exit code 1; returns stderr.
    pub fn fails<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.pkg(args).output().expect("run pkg");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "expected exit 1\nstdout:\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!stderr.contains("panicked"), "pkg panicked:\n{stderr}");
        stderr
    }

    /// Runs `pkg` and returns `exit code + stdout + stderr` with temp paths
    /// and times filtered, for snapshots.
    pub fn run_snapshot<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.pkg(args).output().expect("run pkg");
        let text = format!(
            "exit: {}\n--- stdout ---\n{}--- stderr ---\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.filter(&text)
    }

    /// Replaces the temp root, times and IDs in `text`.
    pub fn filter(&self, text: &str) -> String {
        let root = std::fs::canonicalize(self.root()).unwrap_or_else(|_| self.root().to_path_buf());
        let mut text = text.replace(&root.display().to_string(), "[ROOT]");
        text = text.replace(&self.root().display().to_string(), "[ROOT]");
        let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").expect("regex");
        text = time.replace_all(&text, "[TIME]").into_owned();
        let uuid =
            regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
                .expect("regex");
        uuid.replace_all(&text, "[ID]").into_owned()
    }

    /// Copies a fixture package into the test root and returns its path.
    pub fn fixture(&self, name: &str) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        let dst = self.path(name);
        copy_dir(&src, &dst);
        dst
    }

    /// Writes a file (creating parents) under the root.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// A cheap fingerprint of the whole hub state: every resource row and history row.
    pub fn hub_state(&self) -> String {
        self.rows(&[
            "SELECT kind, space, slug, id, details, ref1, ref2, data_digest, fingerprint, version, base_fingerprint, hex(data) FROM resources ORDER BY kind, space, slug",
            "SELECT kind, space, slug, details, ref1, ref2, fingerprint, hex(data) FROM bases ORDER BY kind, space, slug",
            "SELECT id, action, source, digest, prefix, created, updated, unchanged, skipped, deleted, merged, reverts, reverted_by, warnings FROM history ORDER BY id",
            "SELECT history_id, seq, kind, space, slug, after_fingerprint, prior_present FROM history_changes ORDER BY history_id, seq",
        ])
    }

    /// The resources and their merge bases, without the history.
    pub fn resources_state(&self) -> String {
        self.rows(&[
            "SELECT kind, space, slug, id, details, ref1, ref2, data_digest, fingerprint, version, base_fingerprint, hex(data) FROM resources ORDER BY kind, space, slug",
            "SELECT kind, space, slug, details, ref1, ref2, fingerprint, hex(data) FROM bases ORDER BY kind, space, slug",
        ])
    }

    /// Every row the queries return, one line each.
    fn rows(&self, queries: &[&str]) -> String {
        if !self.hub().exists() {
            return "no hub".into();
        }
        let conn = rusqlite::Connection::open(self.hub()).expect("open hub");
        let mut out = String::new();
        for sql in queries {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).expect("query");
            while let Some(row) = rows.next().expect("row") {
                for i in 0..columns {
                    let v: rusqlite::types::Value = row.get(i).expect("value");
                    out.push_str(&format!("{v:?}|"));
                }
                out.push('\n');
            }
        }
        out
    }

    /// Counts resources of a kind in the hub.
    pub fn count(&self, kind: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.hub()).expect("open hub");
        conn.query_row(
            "SELECT COUNT(*) FROM resources WHERE kind = ?1",
            [kind],
            |r| r.get(0),
        )
        .expect("count")
    }
}

/// Copies a directory tree (files and dirs only).
pub fn copy_dir(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(src).expect("prefix");
        let target = dst.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// Writes a JSON value pretty-printed.
pub fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).expect("json")).expect("write");
}
