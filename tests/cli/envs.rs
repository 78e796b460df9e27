//! `pkg env ...` with the real uv and pixi, and packages that carry
//! environments. Hermetic: uv installs tiny wheels built in the test from a
//! local find-links directory (`UV_OFFLINE`, `UV_NO_INDEX`, a per-test
//! cache); pixi installs from a local conda channel built by
//! tests/support/conda_channel.py. Neither tool is faked; only the tests of
//! the process runner (timeout, Ctrl-C) use a stand-in that sleeps.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{Env, copy_dir};

/// The uv binary the tests use: `PKG_UV`, else `uv` on PATH. Fails loudly.
fn uv_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PKG_UV") {
        return PathBuf::from(p);
    }
    let out = Command::new("sh")
        .args(["-c", "command -v uv"])
        .output()
        .expect("sh");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "uv is not installed: ./scripts/test.sh installs it (pip install uv)"
    );
    PathBuf::from(path)
}

/// The pixi binary: `PKG_PIXI` (set by scripts/test.sh), else `pixi` on
/// PATH, else the cached build of scripts/install_pixi.sh. Fails loudly.
fn pixi_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PKG_PIXI") {
        return PathBuf::from(p);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install_pixi.sh");
    let out = Command::new(&script).output().expect("run install_pixi.sh");
    assert!(
        out.status.success(),
        "pixi is not available and scripts/install_pixi.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Wheels built once per test run: alpha 1.0.0 (needs beta>=1.0), beta
/// 1.0.0 and beta 1.1.0, each in its own directory.
fn wheels() -> &'static Path {
    static WHEELS: OnceLock<PathBuf> = OnceLock::new();
    WHEELS.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("pkg-test-wheels-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (name, version, deps) in [
            ("alpha", "1.0.0", "\"beta>=1.0\""),
            ("beta", "1.0.0", ""),
            ("beta", "1.1.0", ""),
        ] {
            let src = root.join("src").join(format!("{name}-{version}"));
            std::fs::create_dir_all(src.join("src").join(name)).unwrap();
            std::fs::write(src.join("src").join(name).join("__init__.py"), format!("VERSION = \"{version}\"\n")).unwrap();
            std::fs::write(
                src.join("pyproject.toml"),
                format!(
                    "[project]\nname = \"{name}\"\nversion = \"{version}\"\nrequires-python = \">=3.8\"\ndependencies = [{deps}]\n\n[build-system]\nrequires = [\"uv_build>=0.13,<0.14\"]\nbuild-backend = \"uv_build\"\n"
                ),
            )
            .unwrap();
            let out_dir = root.join(format!("{name}-{version}"));
            let out = Command::new(uv_binary())
                .args(["build", "--wheel", "-q", "-o"])
                .arg(&out_dir)
                .arg(&src)
                .env("UV_OFFLINE", "1")
                .env("UV_NO_INDEX", "1")
                .env("UV_CACHE_DIR", root.join("cache"))
                .env("UV_PYTHON_DOWNLOADS", "never")
                .output()
                .expect("uv build");
            assert!(out.status.success(), "uv build: {}", String::from_utf8_lossy(&out.stderr));
        }
        root
    })
}

/// A find-links directory for one test holding the named wheel sets.
fn links(env: &Env, sets: &[&str]) -> PathBuf {
    let dir = env.path("links");
    std::fs::create_dir_all(&dir).unwrap();
    for set in sets {
        copy_dir(&wheels().join(set), &dir);
    }
    dir
}

/// Points uv at `links` only, with a cache of the test's own.
fn hermetic_uv(env: &Env, links: &Path) {
    env.set_var("UV_OFFLINE", "1");
    env.set_var("UV_NO_INDEX", "1");
    env.set_var("UV_FIND_LINKS", links.display().to_string());
    env.set_var("UV_CACHE_DIR", env.path("uv-cache").display().to_string());
    env.set_var("UV_PYTHON_DOWNLOADS", "never");
    env.set_var("PKG_UV", uv_binary().display().to_string());
}

fn list(env: &Env, dir: &str) -> Vec<(String, String)> {
    let out: Vec<Value> =
        serde_json::from_str(&env.ok(["env", "list", dir, "-o", "json"])).unwrap();
    out.iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(name: &str, version: &str) -> (String, String) {
    (name.to_string(), version.to_string())
}

/// Copies `files` (manifest and lock file) of environment `dir` to `copy`,
/// runs `sync --frozen` there and checks it holds exactly `expected`.
fn frozen_copy_installs(env: &Env, dir: &str, files: &[&str], expected: &[(String, String)]) {
    std::fs::create_dir_all(env.path("copy")).unwrap();
    for f in files {
        std::fs::copy(env.path(dir).join(f), env.path("copy").join(f)).unwrap();
    }
    env.ok(["env", "sync", "copy", "--frozen"]);
    assert_eq!(list(env, "copy"), expected);
}

/// Every file under `dir` with its bytes (to check nothing changed).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn uv_environments_init_add_list_show_remove() {
    let env = Env::new();
    hermetic_uv(&env, &links(&env, &["alpha-1.0.0", "beta-1.0.0"]));
    let out = env
        .pkg([
            "env",
            "init",
            "app",
            "--backend",
            "uv",
            "--name",
            "drift-app",
            "--python",
            ">=3.8",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Created a uv environment"));
    // The tool's own output streams to stderr, prefixed.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[uv] "),
        "{out:?}"
    );
    env.ok(["env", "add", "app", "alpha>=1.0"]);
    assert_eq!(
        list(&env, "app"),
        [pair("alpha", "1.0.0"), pair("beta", "1.0.0")]
    );
    let json: Vec<Value> =
        serde_json::from_str(&env.ok(["env", "list", "app", "-o", "json"])).unwrap();
    assert!(
        json[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("registry: "),
        "{json:?}"
    );
    let show: Value = serde_json::from_str(&env.ok(["env", "show", "app", "-o", "json"])).unwrap();
    assert_eq!(show["backend"], "uv");
    assert_eq!(show["name"], "drift-app");
    assert_eq!(show["python"], ">=3.8");
    assert_eq!(show["dependencies"][0]["name"], "alpha");
    assert_eq!(show["dependencies"][0]["spec"], ">=1.0");
    let table = env.ok(["env", "show", "app"]);
    assert!(
        table.contains("Backend: uv") && table.contains("alpha"),
        "{table}"
    );
    env.ok(["env", "remove", "app", "alpha"]);
    assert_eq!(list(&env, "app"), Vec::<(String, String)>::new());
    // -q silences the tool.
    let out = env
        .pkg(["-q", "env", "add", "app", "beta"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).is_empty(), "{out:?}");
}

#[test]
fn uv_update_moves_within_constraints_and_sync_installs_the_lock() {
    let env = Env::new();
    let links = links(&env, &["alpha-1.0.0", "beta-1.0.0"]);
    hermetic_uv(&env, &links);
    env.ok(["env", "init", "app", "--backend", "uv"]);
    env.ok(["env", "add", "app", "alpha"]);
    // A newer beta appears; update moves to it.
    copy_dir(&wheels().join("beta-1.1.0"), &links);
    env.ok(["env", "update", "app", "beta"]);
    assert_eq!(
        list(&env, "app"),
        [pair("alpha", "1.0.0"), pair("beta", "1.1.0")]
    );
    // A copy of the manifest and lock file installs exactly that.
    frozen_copy_installs(
        &env,
        "app",
        &["pyproject.toml", "uv.lock"],
        &[pair("alpha", "1.0.0"), pair("beta", "1.1.0")],
    );
    // --frozen without a lock file is refused before uv runs.
    std::fs::create_dir_all(env.path("nolock")).unwrap();
    std::fs::copy(
        env.path("app/pyproject.toml"),
        env.path("nolock/pyproject.toml"),
    )
    .unwrap();
    let err = env.fails(["env", "sync", "nolock", "--frozen", "--backend", "uv"]);
    assert!(err.contains("--frozen needs uv.lock"), "{err}");
}

#[test]
fn bad_environment_input_fails_cleanly_and_changes_nothing() {
    let env = Env::new();
    hermetic_uv(&env, &links(&env, &["beta-1.0.0"]));
    env.ok(["env", "init", "app", "--backend", "uv"]);
    env.ok(["env", "add", "app", "beta"]);
    let before = snapshot(&env.path("app"));
    // Not an environment.
    std::fs::create_dir_all(env.path("empty")).unwrap();
    let err = env.fails(["env", "list", "empty"]);
    assert!(err.contains("is not an environment"), "{err}");
    let err = env.fails(["env", "add", "missing-dir", "beta"]);
    assert!(err.contains("is not a directory"), "{err}");
    // Unknown backend: a usage error.
    let out = env
        .pkg(["env", "init", "x", "--backend", "conda"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: uv, pixi"));
    assert!(!env.path("x").exists());
    // Invalid specifiers are refused before uv runs.
    for spec in [
        "beta>>1",
        "-e",
        "--index-url=http://evil.example",
        "be ta",
        "",
    ] {
        let err = env.fails(["env", "add", "app", "--", spec]);
        assert!(
            err.contains("is not a valid package specifier"),
            "{spec}: {err}"
        );
    }
    // A package no index has: uv's own error, its last lines shown.
    let err = env.fails(["env", "add", "app", "doesnotexist"]);
    assert!(err.contains("uv add") && err.contains("| "), "{err}");
    assert_eq!(snapshot(&env.path("app")).len(), before.len());
    assert_eq!(
        std::fs::read(env.path("app/pyproject.toml")).unwrap(),
        before
            .iter()
            .find(|(p, _)| p.ends_with("pyproject.toml"))
            .unwrap()
            .1
    );
    // A manifest that is not TOML.
    std::fs::create_dir_all(env.path("broken")).unwrap();
    std::fs::write(env.path("broken/pyproject.toml"), "[project\nname = 1").unwrap();
    let err = env.fails(["env", "show", "broken"]);
    assert!(err.contains("line 1"), "{err}");
    let err = env.fails(["env", "add", "broken", "beta", "--backend", "uv"]);
    assert!(err.contains("broken"), "{err}");
    assert_eq!(
        std::fs::read_to_string(env.path("broken/pyproject.toml")).unwrap(),
        "[project\nname = 1"
    );
    // A failed init leaves no directory behind.
    let err = env.fails([
        "env",
        "init",
        "newenv",
        "--backend",
        "uv",
        "--name",
        "bad name!",
    ]);
    assert!(err.contains("uv init"), "{err}");
    assert!(!env.path("newenv").exists());
    // init refuses an existing project.
    let err = env.fails(["env", "init", "app", "--backend", "uv"]);
    assert!(err.contains("already holds"), "{err}");
}

#[test]
fn missing_binaries_and_the_config_file() {
    let env = Env::new();
    env.set_var("PATH", "/usr/bin:/bin");
    let err = env.fails(["env", "init", "app", "--backend", "uv"]);
    assert!(
        err.contains("uv is not installed") && err.contains("pip install uv"),
        "{err}"
    );
    let err = env.fails(["env", "init", "app", "--backend", "pixi"]);
    assert!(
        err.contains("pixi is not installed") && err.contains("PKG_PIXI"),
        "{err}"
    );
    env.set_var("PKG_UV", "/nonexistent/uv");
    let err = env.fails(["env", "init", "app", "--backend", "uv"]);
    assert!(
        err.contains("/nonexistent/uv") && err.contains("PKG_UV"),
        "{err}"
    );
    // The config file names the binary and the default backend.
    let config = env.write(
        "config/pkg/config.toml",
        format!(
            "[backends]\ndefault = \"uv\"\nuv = \"{}\"\n",
            uv_binary().display()
        ),
    );
    hermetic_uv(&env, &links(&env, &["beta-1.0.0"]));
    // No PKG_UV: the config file's binary is used.
    env.set_var("PKG_UV", "");
    let out = env.ok(["env", "init", "app"]);
    assert!(out.contains("Created a uv environment"), "{out}");
    std::fs::write(&config, "[backends]\ndefault = \"conda\"\n").unwrap();
    let err = env.fails(["env", "init", "other"]);
    assert!(err.contains("unknown backend `conda`"), "{err}");
    std::fs::write(&config, "[backends\n").unwrap();
    let err = env.fails(["env", "init", "other"]);
    assert!(
        err.contains("config file") && err.contains("config.toml"),
        "{err}"
    );
}

/// A stand-in for a tool that hangs: it starts a grandchild, records its
/// pid, and sleeps. Used only to test stopping (not as a backend).
fn hanging_tool(env: &Env) -> (PathBuf, PathBuf) {
    let pidfile = env.path("grandchild.pid");
    let script = env.write(
        "hang/uv",
        format!(
            "#!/bin/sh\nsleep 300 &\necho $! > {}\necho started >&2\nwait\n",
            pidfile.display()
        ),
    );
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success());
    (script, pidfile)
}

fn alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn wait_for(path: &Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.trim().is_empty()
        {
            return text.trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

#[test]
fn a_timeout_stops_the_tool_and_its_children() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("app")).unwrap();
    std::fs::write(
        env.path("app/pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let (script, pidfile) = hanging_tool(&env);
    env.set_var("PKG_UV", script.display().to_string());
    env.set_var("PKG_ENV_TIMEOUT", "2");
    let err = env.fails(["env", "sync", "app"]);
    assert!(err.contains("did not finish within 2 s"), "{err}");
    assert!(err.contains("started"), "the tool's last lines: {err}");
    let pid = wait_for(&pidfile);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!alive(&pid), "grandchild {pid} survived");
}

#[test]
fn ctrl_c_and_kill_stop_the_tool_and_its_children() {
    for signal in ["-INT", "-TERM", "-HUP"] {
        stop_with(signal);
    }
}

fn stop_with(signal: &str) {
    let env = Env::new();
    std::fs::create_dir_all(env.path("app")).unwrap();
    std::fs::write(
        env.path("app/pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let (script, pidfile) = hanging_tool(&env);
    env.set_var("PKG_UV", script.display().to_string());
    let child = env
        .spawnable(["env", "sync", "app"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = wait_for(&pidfile);
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{signal}: {stderr}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!alive(&pid), "grandchild {pid} survived");
}

#[test]
fn concurrent_operations_on_one_environment_are_serialised() {
    let env = Env::new();
    hermetic_uv(&env, &links(&env, &["alpha-1.0.0", "beta-1.0.0"]));
    env.ok(["env", "init", "app", "--backend", "uv"]);
    env.ok(["env", "init", "other", "--backend", "uv"]);
    let children: Vec<_> = [("app", "alpha"), ("app", "beta"), ("other", "beta")]
        .iter()
        .map(|(dir, pkg)| {
            env.spawnable(["-q", "env", "add", dir, pkg])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let show: Value = serde_json::from_str(&env.ok(["env", "show", "app", "-o", "json"])).unwrap();
    let names: Vec<&str> = show["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["alpha", "beta"],
        "both adds must be in the manifest"
    );
    assert!(env.path("app/.pkg-env.lock").exists());
}

#[test]
fn packages_carry_environments_and_loads_materialise_them() {
    let env = Env::new();
    hermetic_uv(&env, &links(&env, &["alpha-1.0.0", "beta-1.0.0"]));
    env.ok(["env", "init", "appenv", "--backend", "uv"]);
    env.ok(["env", "add", "appenv", "alpha"]);
    env.ok(["load", &env.fixture("cub-basic").display().to_string()]);
    let out = env.ok([
        "create",
        "pkgdir",
        "--version",
        "1.0.0",
        "--env",
        "app=appenv",
    ]);
    assert!(out.contains("Created"), "{out}");
    assert!(env.path("pkgdir/environments/app/pyproject.toml").exists());
    assert!(env.path("pkgdir/environments/app/uv.lock").exists());
    assert!(!env.path("pkgdir/environments/app/.venv").exists());
    let manifest = crate::common::read_json(&env.path("pkgdir/manifest.json"));
    assert_eq!(manifest["environments"][0]["name"], "app");
    assert_eq!(manifest["environments"][0]["backend"], "uv");
    assert!(
        manifest["digests"]["/environments/app/uv.lock"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    env.ok(["validate", "pkgdir"]);
    let inspect = env.ok(["inspect", "pkgdir"]);
    assert!(
        inspect.contains("ENVIRONMENT") && inspect.contains("uv.lock"),
        "{inspect}"
    );

    // A load materialises it from the lock file, then loads the resources.
    let out = env
        .pkg(["load", "pkgdir", "--prefix", "b", "--with-envs", "envs"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Environment app (uv) is ready"));
    assert_eq!(
        list(&env, "envs/app"),
        [pair("alpha", "1.0.0"), pair("beta", "1.0.0")]
    );
    // The archive form carries it too.
    env.ok(["pack", "pkgdir", "-o", "pkg.tgz"]);
    env.ok(["load", "pkg.tgz", "--prefix", "c", "--with-envs", "envs"]);

    // Refusals: an unknown env dir, a tampered lock file, a conflicting
    // environment already at the destination.
    let err = env.fails(["create", "bad", "--env", "x=nowhere"]);
    assert!(err.contains("--env `x=nowhere`"), "{err}");
    let err = env.fails(["create", "bad", "--env", "noequals"]);
    assert!(err.contains("NAME=PATH"), "{err}");
    std::fs::write(
        env.path("envs/app/pyproject.toml"),
        "[project]\nname = \"mine\"\nversion = \"9\"\n",
    )
    .unwrap();
    let before = env.hub_state();
    // An install that fails leaves no half-made environment and loads nothing.
    env.set_var("PKG_UV", "/bin/false");
    let err = env.fails(["load", "pkgdir", "--prefix", "f", "--with-envs", "envs3"]);
    assert!(err.contains("nothing was loaded"), "{err}");
    assert!(!env.path("envs3/app").exists());
    assert_eq!(env.hub_state(), before);
    env.set_var("PKG_UV", uv_binary().display().to_string());
    let err = env.fails(["load", "pkgdir", "--prefix", "d", "--with-envs", "envs"]);
    assert!(
        err.contains("already holds a different `pyproject.toml`"),
        "{err}"
    );
    assert_eq!(env.hub_state(), before);
    std::fs::write(env.path("pkgdir/environments/app/uv.lock"), "tampered").unwrap();
    let err = env.fails(["load", "pkgdir", "--prefix", "e", "--with-envs", "envs2"]);
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(!env.path("envs2").exists());
    assert_eq!(env.hub_state(), before);
}

/// A local conda channel with alpha 1.0.0 (needs beta >=1.0) and beta 1.0.0.
fn channel(env: &Env) -> PathBuf {
    let dir = env.path("chan");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/conda_channel.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(&dir)
        .args(["alpha=1.0.0:beta >=1.0", "beta=1.0.0"])
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn hermetic_pixi(env: &Env) {
    env.set_var("PKG_PIXI", pixi_binary().display().to_string());
    env.set_var(
        "PIXI_CACHE_DIR",
        env.path("pixi-cache").display().to_string(),
    );
    env.set_var(
        "RATTLER_CACHE_DIR",
        env.path("pixi-cache").display().to_string(),
    );
    env.set_var("PIXI_HOME", env.path("pixi-home").display().to_string());
}

#[test]
fn pixi_environments_init_add_list_show_update_sync() {
    let env = Env::new();
    hermetic_pixi(&env);
    let chan = channel(&env);
    let chan_url = format!("file://{}", chan.display());
    env.ok([
        "env",
        "init",
        "px",
        "--backend",
        "pixi",
        "--channel",
        &chan_url,
        "--name",
        "drift",
    ]);
    env.ok(["env", "add", "px", "alpha"]);
    assert_eq!(
        list(&env, "px"),
        [pair("alpha", "1.0.0"), pair("beta", "1.0.0")]
    );
    let show: Value = serde_json::from_str(&env.ok(["env", "show", "px", "-o", "json"])).unwrap();
    assert_eq!(show["backend"], "pixi");
    assert_eq!(show["name"], "drift");
    assert!(
        show["channels"][0].as_str().unwrap().contains("chan"),
        "{show}"
    );
    assert_eq!(show["dependencies"][0]["name"], "alpha");
    assert_eq!(show["dependencies"][0]["kind"], "conda");
    // A newer beta in the channel: update re-solves to it.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/conda_channel.py");
    assert!(
        Command::new("python3")
            .arg(&script)
            .arg(&chan)
            .arg("beta=1.1.0")
            .status()
            .unwrap()
            .success()
    );
    env.ok(["env", "update", "px"]);
    assert_eq!(
        list(&env, "px"),
        [pair("alpha", "1.0.0"), pair("beta", "1.1.0")]
    );
    // A copy of manifest and lock file installs exactly that, frozen.
    frozen_copy_installs(
        &env,
        "px",
        &["pixi.toml", "pixi.lock"],
        &[pair("alpha", "1.0.0"), pair("beta", "1.1.0")],
    );
    env.ok(["env", "remove", "px", "alpha"]);
    let names: Vec<String> = list(&env, "px").into_iter().map(|(n, _)| n).collect();
    assert!(!names.contains(&"alpha".to_string()), "{names:?}");
    let err = env.fails(["env", "add", "px", "doesnotexist"]);
    assert!(err.contains("pixi add"), "{err}");
}
