//! The hub API and `--remote`: resource commands, load, diff, history and
//! rollback against a real `pkg serve` (SQLite and etcd), optimistic
//! concurrency (`If-Match`, 412), an apply's conflicts (409), `sync
//! push|pull`, two replicas on one etcd, and a replica killed with SIGKILL
//! halfway through a large apply.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::Env;
use crate::pkg_server::{Etcd, PkgServer, call, create_token, example, sqlite_store, team_remote};

/// A server on `store` with a level-2 token in `TEAM_TOKEN` and the
/// remote `team` configured for it.
fn remote(env: &Env, store: &str, extra: &[&str]) -> (PkgServer, String) {
    team_remote(env, store, 2, "alice", extra)
}

fn units(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let mut slugs: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|u| {
            format!(
                "{}/{}",
                u["Space"].as_str().unwrap_or(""),
                u["Slug"].as_str().unwrap_or("")
            )
        })
        .collect();
    slugs.sort();
    slugs
}

#[test]
fn remote_commands_match_the_local_hub() {
    let env = Env::new();
    let store = sqlite_store(&env);
    let (_server, _) = remote(&env, &store, &[]);
    let pkg = example();
    let pkg = pkg.to_str().unwrap();

    // The same load, locally and remotely, gives the same resources.
    env.ok(["load", pkg, "--prefix", "stg"]);
    let out = env.ok(["--remote", "team", "load", pkg, "--prefix", "stg"]);
    assert!(out.contains("10 created"), "{out}");
    let local = units(&env.ok([
        "unit",
        "list",
        "--space",
        "stg-drift-detector",
        "-o",
        "json",
    ]));
    let remote = units(&env.ok([
        "--remote",
        "team",
        "unit",
        "list",
        "--space",
        "stg-drift-detector",
        "-o",
        "json",
    ]));
    assert_eq!(local, remote);
    assert_eq!(remote.len(), 3, "{remote:?}");

    // where runs on the server.
    let filtered = units(&env.ok([
        "--remote",
        "team",
        "unit",
        "list",
        "--space",
        "stg-drift-detector",
        "--where",
        "Slug = 'configmap'",
        "-o",
        "json",
    ]));
    assert_eq!(filtered, vec!["stg-drift-detector/configmap".to_string()]);
    let bad = env.fails(["--remote", "team", "unit", "list", "--where", "Slug ="]);
    assert!(bad.contains("--where"), "{bad}");

    // A second load changes nothing; diff agrees.
    let again = env.ok(["--remote", "team", "load", pkg, "--prefix", "stg"]);
    assert!(again.contains("No changes"), "{again}");
    let diff = env.ok(["--remote", "team", "diff", pkg, "--prefix", "stg"]);
    assert!(
        diff.contains("0 to create, 0 to update, 10 unchanged"),
        "{diff}"
    );

    // Single-resource writes, then history and rollback.
    env.ok([
        "--remote",
        "team",
        "unit",
        "update",
        "stg-drift-detector/configmap",
        "--label",
        "tier=web",
    ]);
    let got = env.ok([
        "--remote",
        "team",
        "unit",
        "get",
        "stg-drift-detector/configmap",
        "-o",
        "json",
    ]);
    assert!(got.contains("\"tier\": \"web\""), "{got}");
    let data = env.ok([
        "--remote",
        "team",
        "unit",
        "get",
        "stg-drift-detector/configmap",
        "--data",
    ]);
    let local_data = env.ok(["unit", "get", "stg-drift-detector/configmap", "--data"]);
    assert_eq!(data, local_data);
    let history = env.ok(["--remote", "team", "history", "-o", "json"]);
    let entries: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2, "{history}");
    let conflict = env.fails(["--remote", "team", "load", pkg, "--prefix", "stg"]);
    assert!(
        conflict.contains("already exist") && conflict.contains("configmap"),
        "{conflict}"
    );
    env.ok(["--remote", "team", "rollback", "1", "--force"]);
    let after = env.fails([
        "--remote",
        "team",
        "unit",
        "list",
        "--space",
        "stg-drift-detector",
    ]);
    assert!(after.contains("does not exist"), "{after}");

    // The local hub was never touched by the remote commands.
    assert_eq!(local.len(), 3);
    assert_eq!(env.count("unit"), 3);

    // create is local only.
    let refused = env.fails([
        "--remote",
        "team",
        "create",
        env.path("out").to_str().unwrap(),
    ]);
    assert!(refused.contains("local hub only"), "{refused}");
    assert!(!env.path("out").exists());
}

#[test]
fn hub_api_if_match_and_apply_conflicts() {
    let env = Env::new();
    let store = sqlite_store(&env);
    let (server, token) = remote(&env, &store, &[]);
    let auth = format!("Bearer {token}");
    env.ok(["--remote", "team", "load", example().to_str().unwrap()]);
    // Listings are in a stable order and page with limit and offset.
    let page = |query: &str| -> Vec<String> {
        let r = call(
            "GET",
            &format!(
                "{}/api/v1/hub/units?space=drift-detector{query}",
                server.url()
            ),
            &[("Authorization", &auth)],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
            .as_array()
            .expect("array")
            .iter()
            .map(|u| u["slug"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let all = page("");
    assert_eq!(all.len(), 3, "{all:?}");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "stable (slug) order");
    assert_eq!(page("&limit=1&offset=1"), vec![all[1].clone()]);
    assert_eq!(page("&offset=3"), Vec::<String>::new());

    let path = "/api/v1/hub/units/drift-detector/configmap";
    let url = format!("{}{path}", server.url());
    let got = call("GET", &url, &[("Authorization", &auth)], None);
    assert_eq!(got.status, 200, "{}", got.text());
    let etag = got.header("etag").expect("ETag").to_string();
    let mut body = got.json();
    body["details"]["Labels"]["edited"] = "yes".into();
    let body = serde_json::to_vec(&body).unwrap();

    // A stale If-Match is 412 and changes nothing.
    let stale = call(
        "PUT",
        &url,
        &[("Authorization", &auth), ("If-Match", "\"sha256:0000\"")],
        Some(&body),
    );
    assert_eq!(stale.status, 412, "{}", stale.text());
    assert!(
        stale.json()["error"]
            .as_str()
            .unwrap()
            .contains("changed since")
    );
    let unchanged = call("GET", &url, &[("Authorization", &auth)], None);
    assert_eq!(unchanged.header("etag"), Some(etag.as_str()));

    // The right one writes, and the ETag moves.
    let ok = call(
        "PUT",
        &url,
        &[("Authorization", &auth), ("If-Match", &etag)],
        Some(&body),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_ne!(ok.header("etag"), Some(etag.as_str()));
    // The old ETag is now stale.
    let again = call(
        "PUT",
        &url,
        &[("Authorization", &auth), ("If-Match", &etag)],
        Some(&body),
    );
    assert_eq!(again.status, 412);

    // Hub writes are in the audit log, with who made them.
    let (owner, _) = create_token(&env, &store, 5, "auditor");
    let audit = call(
        "GET",
        &format!("{}/api/v1/audit", server.url()),
        &[("Authorization", &format!("Bearer {owner}"))],
        None,
    );
    assert_eq!(audit.status, 200, "{}", audit.text());
    let entries = audit.json();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["who"] == "alice"
                && e["what"] == format!("PUT {path}")
                && e["status"] == 200),
        "{entries}"
    );

    // No token: level 1 may not use the hub.
    let anonymous = call("GET", &url, &[], None);
    assert_eq!(anonymous.status, 403, "{}", anonymous.text());

    // An apply that conflicts is 409 with the list, and writes nothing.
    let archive = crate::pkg_server::pack(&env, &example());
    let apply = call(
        "POST",
        &format!("{}/api/v1/hub/apply", server.url()),
        &[("Authorization", &auth)],
        Some(&archive),
    );
    assert_eq!(apply.status, 409, "{}", apply.text());
    assert!(apply.text().contains("configmap"), "{}", apply.text());
    let history = call(
        "GET",
        &format!("{}/api/v1/hub/history", server.url()),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(history.json().as_array().unwrap().len(), 1);

    // A plan that changed since it was shown is refused.
    let changed = call(
        "POST",
        &format!(
            "{}/api/v1/hub/apply?on_conflict=update&expect=sha256:abc",
            server.url()
        ),
        &[("Authorization", &auth)],
        Some(&archive),
    );
    assert_eq!(changed.status, 409, "{}", changed.text());
    assert!(
        changed.text().contains("changed since the plan"),
        "{}",
        changed.text()
    );

    // Bad input: an unknown kind, a bad slug, malformed JSON, a body that is no archive.
    for (method, p, body, want) in [
        ("GET", "/api/v1/hub/gadgets", None, 404),
        ("GET", "/api/v1/hub/units/drift-detector/..", None, 400),
        ("GET", "/api/v1/hub/units/a%2Fb/c", None, 400),
        ("POST", "/api/v1/hub/units", Some(&b"{not json"[..]), 400),
        (
            "POST",
            "/api/v1/hub/apply",
            Some(&b"not an archive"[..]),
            400,
        ),
        ("POST", "/api/v1/hub/apply?upload=nosuchupload", None, 404),
        (
            "POST",
            "/api/v1/hub/compare",
            Some(
                &br#"{"items": [{"kind": "unit", "space": "..", "slug": "x", "source": "s"}]}"#[..],
            ),
            400,
        ),
    ] {
        let r = call(
            method,
            &format!("{}{p}", server.url()),
            &[("Authorization", &auth)],
            body,
        );
        assert_eq!(r.status, want, "{method} {p}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{method} {p}");
    }
}

/// Archives a hub upload must refuse: each answers 400 to a plan and to an
/// apply, and the hub is as it was.
#[test]
fn hostile_hub_uploads_are_refused_and_change_nothing() {
    use crate::archive::tar_gz;
    let env = Env::new();
    let store = sqlite_store(&env);
    let (server, token) = remote(&env, &store, &[]);
    let auth = format!("Bearer {token}");
    env.ok(["--remote", "team", "load", example().to_str().unwrap()]);
    let state = || {
        let get = |p: &str| {
            let r = call(
                "GET",
                &format!("{}{p}", server.url()),
                &[("Authorization", &auth)],
                None,
            );
            assert_eq!(r.status, 200, "{p}: {}", r.text());
            r.text()
        };
        (
            get("/api/v1/hub/units"),
            get("/api/v1/hub/spaces"),
            get("/api/v1/hub/history"),
        )
    };
    let before = state();

    let manifest: &[u8] = br#"{"spaces":[{"slug":"s","details_loc":"/spaces/s.json"}]}"#;
    let space: &[u8] = br#"{"Slug":"s"}"#;
    let valid = tar_gz(&[
        ("manifest.json", b'0', "", manifest, None),
        ("spaces/s.json", b'0', "", space, None),
    ]);
    let mut trailing = valid.clone();
    trailing.extend_from_slice(b"garbage after the gzip stream");
    let digests: &[u8] = br#"{"format":1,"spaces":[{"slug":"s","details_loc":"/spaces/s.json"}],"digests":{"/spaces/s.json":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "traversal",
            tar_gz(&[
                ("manifest.json", b'0', "", manifest, None),
                ("../evil.json", b'0', "", space, None),
            ]),
            "unsafe path",
        ),
        (
            "symlink",
            tar_gz(&[
                ("manifest.json", b'0', "", manifest, None),
                ("spaces", b'2', "/etc", b"", None),
            ]),
            "symlink",
        ),
        (
            "declared size beyond the data",
            tar_gz(&[("manifest.json", b'0', "", manifest, Some(1 << 32))]),
            "refused",
        ),
        (
            "truncated gzip",
            valid[..valid.len() / 2].to_vec(),
            "refused",
        ),
        (
            "trailing data",
            trailing,
            "after the end of the gzip stream",
        ),
        (
            "digest mismatch",
            tar_gz(&[
                ("manifest.json", b'0', "", digests, None),
                ("spaces/s.json", b'0', "", space, None),
            ]),
            "digest mismatch",
        ),
        (
            "no manifest",
            tar_gz(&[("spaces/s.json", b'0', "", space, None)]),
            "manifest",
        ),
    ];
    for (what, body, says) in &cases {
        for path in ["/api/v1/hub/plan", "/api/v1/hub/apply"] {
            let r = call(
                "POST",
                &format!("{}{path}", server.url()),
                &[("Authorization", &auth)],
                Some(body),
            );
            assert_eq!(r.status, 400, "{what} to {path}: {}", r.text());
            let error = r.json()["error"].as_str().unwrap_or("").to_string();
            assert!(error.contains(says), "{what} to {path}: {error}");
        }
    }
    // The valid archive is accepted, so the refusals above are the archives'.
    let r = call(
        "POST",
        &format!("{}/api/v1/hub/plan", server.url()),
        &[("Authorization", &auth)],
        Some(&valid),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(state(), before);
}

#[test]
fn sync_push_and_pull_round_trip() {
    let env = Env::new();
    let store = sqlite_store(&env);
    let (_server, _) = remote(&env, &store, &[]);
    env.ok(["load", example().to_str().unwrap()]);

    let first = env.ok(["sync", "push", "team"]);
    assert!(first.contains("10 to create"), "{first}");
    assert!(first.contains("Synced 10 resources to `team`"), "{first}");
    let second = env.pkg(["sync", "push", "team"]).assert().success();
    let out = second.get_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No changes"), "{stderr}");
    let history = env.ok(["--remote", "team", "history", "-o", "json"]);
    let entries: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(
        entries.as_array().unwrap().len(),
        1,
        "an unchanged push records nothing: {history}"
    );
    assert!(
        entries[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("sync push from"),
        "{history}"
    );

    // An edit on the remote side makes the push plan again (and refuse),
    // never a cheap "No changes".
    env.ok([
        "--remote",
        "team",
        "unit",
        "update",
        "drift-detector/deployment",
        "--label",
        "remote=edit",
    ]);
    let refused = env.fails(["sync", "push", "team"]);
    assert!(refused.contains("drift-detector/deployment"), "{refused}");
    env.ok(["sync", "push", "team", "--on-conflict", "update"]);

    // A local edit conflicts on push unless the policy says otherwise.
    env.ok([
        "unit",
        "update",
        "drift-detector/configmap",
        "--label",
        "x=y",
    ]);
    let refused = env.fails(["sync", "push", "team"]);
    assert!(refused.contains("configmap"), "{refused}");
    let dry = env.ok([
        "sync",
        "push",
        "team",
        "--on-conflict",
        "update",
        "--dry-run",
    ]);
    assert!(dry.contains("1 to update"), "{dry}");
    env.ok(["sync", "push", "team", "--on-conflict", "update"]);
    let got = env.ok([
        "--remote",
        "team",
        "unit",
        "get",
        "drift-detector/configmap",
        "-o",
        "json",
    ]);
    assert!(got.contains("\"x\": \"y\""), "{got}");

    // Pull into another local hub, under a prefix, one space only.
    env.set_var("PKG_HUB", env.path("other.db").display().to_string());
    let pulled = env.ok([
        "sync",
        "pull",
        "team",
        "--space",
        "drift-detector",
        "--prefix",
        "copy",
    ]);
    assert!(
        pulled.contains("Synced 10 resources from `team`"),
        "{pulled}"
    );
    let list = units(&env.ok([
        "unit",
        "list",
        "--space",
        "copy-drift-detector",
        "-o",
        "json",
    ]));
    assert_eq!(list.len(), 3);
    let history = env.ok(["history", "-o", "json"]);
    assert!(history.contains("sync pull from team"), "{history}");
    let again = env
        .pkg([
            "sync",
            "pull",
            "team",
            "--space",
            "drift-detector",
            "--prefix",
            "copy",
        ])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&again.get_output().stderr).contains("No changes"));

    // Bad selections fail before anything is sent.
    let bad = env.fails(["sync", "push", "team", "--space", "../x"]);
    assert!(bad.contains("--space"), "{bad}");
    let unknown = env.fails(["sync", "push", "nowhere"]);
    assert!(unknown.contains("no remote named `nowhere`"), "{unknown}");
}

#[test]
fn etcd_replicas_share_one_hub() {
    let env = Env::new();
    let etcd = Etcd::start();
    let store = etcd.store();
    let blobs = env.path("blobs");
    let blobs = blobs.to_str().unwrap();
    // Replica a is `team`; b is a second server on the same etcd.
    let (_a, _) = remote(&env, &store, &["--blobs", blobs]);
    let b = PkgServer::start(&env, &store, &["--blobs", blobs]);
    env.ok(["remote", "add", "b", &b.url(), "--token-env", "TEAM_TOKEN"]);

    env.ok([
        "--remote",
        "team",
        "load",
        example().to_str().unwrap(),
        "--prefix",
        "x",
    ]);
    let via_b = units(&env.ok([
        "--remote",
        "b",
        "unit",
        "list",
        "--space",
        "x-drift-detector",
        "-o",
        "json",
    ]));
    assert_eq!(via_b.len(), 3);
    env.ok([
        "--remote",
        "b",
        "unit",
        "update",
        "x-drift-detector/configmap",
        "--label",
        "k=v",
    ]);
    let via_a = env.ok([
        "--remote",
        "team",
        "unit",
        "get",
        "x-drift-detector/configmap",
        "-o",
        "json",
    ]);
    assert!(via_a.contains("\"k\": \"v\""), "{via_a}");
    env.ok(["--remote", "team", "rollback", "1", "--force"]);
    let gone = env.fails([
        "--remote",
        "b",
        "unit",
        "list",
        "--space",
        "x-drift-detector",
    ]);
    assert!(gone.contains("does not exist"), "{gone}");
    let history = env.ok(["--remote", "b", "history", "-o", "json"]);
    let entries: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2, "{history}");
}

/// Counts units in `space` through `remote`, or None while it does not exist.
fn remote_units(env: &Env, remote: &str, space: &str) -> Option<usize> {
    let out = env
        .pkg([
            "--remote", remote, "unit", "list", "--space", space, "-o", "json",
        ])
        .output()
        .expect("run pkg");
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("does not exist"), "{stderr}");
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    Some(v.as_array().expect("array").len())
}

#[test]
fn replica_killed_during_a_large_apply_publishes_nothing() {
    let env = Env::new();
    let etcd = Etcd::start();
    let store = etcd.store();
    let blobs = env.path("blobs");
    let blobs = blobs.to_str().unwrap().to_string();
    let (mut a, _) = remote(&env, &store, &["--blobs", &blobs]);
    let b = PkgServer::start(&env, &store, &["--blobs", &blobs]);
    env.ok(["remote", "add", "b", &b.url(), "--token-env", "TEAM_TOKEN"]);
    let dir = env.path("big");
    crate::crash::big_package(&dir);
    let big = dir.to_str().unwrap().to_string();

    // A reader on replica b, in a loop, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let (stop, seen) = (stop.clone(), seen.clone());
        let env_cmd = env.spawnable([
            "--remote",
            "b",
            "unit",
            "list",
            "--space",
            "big-space-0",
            "-o",
            "json",
        ]);
        let program = env_cmd.get_program().to_owned();
        let args: Vec<_> = env_cmd.get_args().map(|a| a.to_owned()).collect();
        let envs: Vec<_> = env_cmd
            .get_envs()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
            .collect();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let out = std::process::Command::new(&program)
                    .args(&args)
                    .envs(envs.iter().map(|(k, v)| (k, v)))
                    .output()
                    .expect("run pkg");
                let count = if out.status.success() {
                    serde_json::from_slice::<serde_json::Value>(&out.stdout)
                        .ok()
                        .and_then(|v| v.as_array().map(|a| a.len()))
                } else {
                    None
                };
                seen.lock().unwrap().push(count);
            }
        })
    };

    // Start the apply through replica a and kill a once rows appear in etcd
    // but before the commit key moves.
    let mut apply = env
        .spawnable(["--remote", "team", "load", &big, "--prefix", "big"])
        .spawn()
        .expect("start the load");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "the apply never started writing rows"
        );
        let rows = count_prefix(&etcd, "/pkg/hub/rows/");
        if rows > 100 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    a.signal(libc::SIGKILL);
    let _ = a.wait_exit();
    let _ = apply.wait();
    assert_eq!(
        count_prefix(&etcd, "/pkg/hub/commit"),
        0,
        "the apply committed before the kill; make it larger"
    );

    // Reads on b never saw part of the apply.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(remote_units(&env, "b", "big-space-0"), None);

    // The next apply (on b) cleans up and succeeds once the dead writer's lease expires.
    let out = env.ok(["--remote", "b", "load", &big, "--prefix", "big"]);
    assert!(
        out.contains(&format!("{} created", crate::crash::UNITS + 10)),
        "{out}"
    );
    assert_eq!(
        remote_units(&env, "b", "big-space-0"),
        Some(crate::crash::UNITS / 10)
    );
    // A fresh replica sees the same.
    let c = PkgServer::start(&env, &store, &["--blobs", &blobs]);
    env.ok(["remote", "add", "c", &c.url(), "--token-env", "TEAM_TOKEN"]);
    assert_eq!(
        remote_units(&env, "c", "big-space-0"),
        Some(crate::crash::UNITS / 10)
    );
    let history = env.ok(["--remote", "c", "history", "-o", "json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&history)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    // Every read saw the space absent, or whole: never part of an apply.
    let whole = Some(crate::crash::UNITS / 10);
    assert!(seen.iter().all(|c| c.is_none() || *c == whole), "{seen:?}");
    assert!(seen.iter().any(Option::is_none));
}

/// How many keys start with `prefix`, asked with the real `etcdctl`.
fn count_prefix(etcd: &Etcd, prefix: &str) -> u64 {
    let out = std::process::Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            &etcd.endpoint(),
            "get",
            prefix,
            "--prefix",
            "--keys-only",
            "--limit",
            "1",
            "-w",
            "json",
        ])
        .output()
        .expect("etcdctl (Debian etcd-client) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("etcdctl JSON");
    v["count"].as_u64().unwrap_or(0)
}

#[test]
fn serve_settings_come_from_flags_then_env_then_config() {
    let env = Env::new();
    let store = sqlite_store(&env);
    let body = vec![b'x'; 2000];
    let post = |server: &PkgServer| {
        call(
            "POST",
            &format!("{}/api/v1/packages", server.url()),
            &[],
            Some(&body),
        )
        .status
    };

    // [serve] in the config file alone.
    env.write("config/pkg/config.toml", "[serve]\nmax_body = 1000\n");
    let server = PkgServer::start(&env, &store, &[]);
    assert_eq!(post(&server), 413);
    drop(server);

    // PKG_SERVE_* beats the config file (anonymous publish: 403, not 413).
    env.set_var("PKG_SERVE_MAX_BODY", "100000");
    let server = PkgServer::start(&env, &store, &[]);
    assert_eq!(post(&server), 403);
    drop(server);

    // The flag beats both.
    let server = PkgServer::start(&env, &store, &["--max-body", "500"]);
    assert_eq!(post(&server), 413);
    drop(server);

    // Bad settings name where they came from, and nothing starts.
    let bad = env.fails(["serve", "--store", &store, "--log-format", "xml"]);
    assert!(
        bad.contains("--log-format") && bad.contains("text or json"),
        "{bad}"
    );
    env.set_var("PKG_SERVE_ADDR", "nonsense");
    let bad = env.fails(["serve", "--store", &store]);
    assert!(bad.contains("PKG_SERVE_ADDR"), "{bad}");
    let bad = env.fails(["serve", "--addr", "127.0.0.1:0", "--store", "redis://x"]);
    assert!(bad.contains("sqlite:PATH or etcd:"), "{bad}");
    let bad = env.fails([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--store",
        "etcd:127.0.0.1:1",
    ]);
    assert!(bad.contains("--blobs"), "{bad}");

    // JSON logs carry the request id the client sent.
    env.set_var("PKG_SERVE_ADDR", "127.0.0.1:0");
    env.set_var("PKG_LOG", "debug");
    let server = PkgServer::start(&env, &store, &["--log-format", "json"]);
    let r = call(
        "GET",
        &format!("{}/healthz", server.url()),
        &[("x-request-id", "trace-me-42")],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id"), Some("trace-me-42"));
    let logged = crate::pkg_server::eventually(Duration::from_secs(5), || {
        let log = server.stderr();
        log.lines()
            .find(|l| l.contains("trace-me-42"))
            .map(str::to_string)
    })
    .expect("a log line with the request id");
    let line: serde_json::Value = serde_json::from_str(&logged).expect("a JSON log line");
    assert!(logged.contains("\"route\":\"/healthz\""), "{line}");
}
