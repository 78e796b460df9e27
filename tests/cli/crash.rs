//! Crash safety: `kill -9` at random moments of a large load leaves the hub
//! either before or after the load, never between; a killed `create` leaves
//! either no package or a complete one.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::Env;

pub(crate) const UNITS: usize = 3000;

/// Writes a cub-layout package of `UNITS` units of about 2 KB in 10 spaces.
pub(crate) fn big_package(dir: &Path) {
    let mut spaces = Vec::new();
    let mut units = Vec::new();
    for s in 0..10 {
        let space = format!("space-{s}");
        std::fs::create_dir_all(dir.join("spaces")).unwrap();
        std::fs::create_dir_all(dir.join("units").join(&space)).unwrap();
        std::fs::write(
            dir.join(format!("spaces/{space}.json")),
            format!("{{\"Slug\":\"{space}\"}}"),
        )
        .unwrap();
        spaces.push(
            serde_json::json!({"slug": space, "details_loc": format!("/spaces/{space}.json")}),
        );
    }
    let padding = "x".repeat(2000);
    for u in 0..UNITS {
        let space = format!("space-{}", u % 10);
        let slug = format!("unit-{u}");
        let details = format!(
            "{{\"Slug\":\"{slug}\",\"ToolchainType\":\"Kubernetes/YAML\",\"Labels\":{{\"n\":\"{u}\"}}}}"
        );
        std::fs::write(dir.join(format!("units/{space}/{slug}.json")), details).unwrap();
        std::fs::write(
            dir.join(format!("units/{space}/{slug}.data.yaml")),
            format!("name: {slug}\npad: {padding}\n"),
        )
        .unwrap();
        units.push(serde_json::json!({
            "slug": slug, "space_slug": space,
            "details_loc": format!("/units/{space}/{slug}.json"),
            "unit_data_loc": format!("/units/{space}/{slug}.data.yaml"),
            "target": ""
        }));
    }
    let manifest =
        serde_json::json!({"spaces": spaces, "units": units, "targets": [], "workers": []});
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
}

/// A pseudo-random fraction in [0, 1) that differs per call and run.
fn random_fraction(i: u64) -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    let mut x = nanos ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % 10_000) as f64 / 10_000.0
}

fn units_in(env: &Env, prefix: &str) -> i64 {
    let conn = rusqlite::Connection::open(env.hub()).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM resources WHERE kind = 'unit' AND space LIKE ?1",
        [format!("{prefix}-%")],
        |r| r.get(0),
    )
    .unwrap()
}

fn loads_recorded(env: &Env, prefix: &str) -> i64 {
    let conn = rusqlite::Connection::open(env.hub()).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM history WHERE action = 'load' AND prefix = ?1",
        [prefix],
        |r| r.get(0),
    )
    .unwrap()
}

fn integrity_ok(env: &Env) {
    let conn = rusqlite::Connection::open(env.hub()).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(result, "ok");
}

#[test]
fn kill_during_load_leaves_the_hub_before_or_after() {
    let env = Env::new();
    let basic = env.fixture("cub-basic");
    env.ok(["load", basic.to_str().unwrap()]);
    let big = env.path("big");
    big_package(&big);

    // How long a whole load takes here, to spread the kills over it.
    let scratch = Env::new();
    let started = Instant::now();
    scratch.ok(["load", big.to_str().unwrap()]);
    let full = started.elapsed();

    let mut before = 0;
    let mut after = 0;
    for i in 0..10_u64 {
        let prefix = format!("run{i}");
        let delay = full.mul_f64(random_fraction(i) * 1.1);
        let mut child = env
            .spawnable(["load", big.to_str().unwrap(), "--prefix", &prefix])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        integrity_ok(&env);
        let units = units_in(&env, &prefix);
        let recorded = loads_recorded(&env, &prefix);
        match units {
            0 => {
                assert_eq!(recorded, 0, "run {i}: history without the resources");
                before += 1;
            }
            n if n == UNITS as i64 => {
                assert_eq!(recorded, 1, "run {i}: resources without a history entry");
                after += 1;
            }
            n => panic!("run {i}: the hub holds {n} of {UNITS} units: a half-written load"),
        }
        assert_eq!(env.count("unit"), 3 + (after * UNITS) as i64);
    }
    eprintln!("kill test: {before} runs left the hub before, {after} after (full load {full:?})");
    // The hub still works after all that.
    env.ok(["load", big.to_str().unwrap(), "--prefix", "final"]);
    integrity_ok(&env);
}

#[test]
fn kill_during_create_leaves_no_package_or_a_whole_one() {
    let env = Env::new();
    let big = env.path("big");
    big_package(&big);
    env.ok(["load", big.to_str().unwrap()]);
    let started = Instant::now();
    env.ok(["create", "timing"]);
    let full = started.elapsed();
    for i in 0..6_u64 {
        let out = format!("out{i}");
        let delay = full.mul_f64(random_fraction(i + 100) * 1.1);
        let mut child = env
            .spawnable(["create", &out])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay.max(Duration::from_millis(1)));
        let _ = child.kill();
        let _ = child.wait();
        let dir = env.path(&out);
        if dir.exists() {
            env.ok(["validate", dir.to_str().unwrap()]);
        }
    }
    // A later create cleans up what killed runs left beside the destination.
    env.ok(["create", "out0", "--force"]);
    let leftovers: Vec<String> = std::fs::read_dir(env.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".out0.pkg-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
