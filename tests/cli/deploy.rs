//! Deployments against real servers: one `pkg serve` registry deploys to
//! `pkg serve` hubs on 127.0.0.1 acting as environments (and to a port
//! where nothing listens, and to one that never answers). Success in two
//! environments, a partial failure, rollback on partial, a scheduled job,
//! a cancelled one, a timeout, the rollback of a superseded deployment,
//! the actions they leave, the auth levels, and refusals of bad input.

use std::net::TcpListener;

use serde_json::Value;

use crate::common::Env;
use crate::pkg_server::{PkgServer, create_token, make_package};

/// A hub acting as an environment: its server and a level-2 token.
pub(crate) struct Hub {
    pub(crate) server: PkgServer,
    pub(crate) token: String,
}

pub(crate) fn hub(env: &Env, name: &str) -> Hub {
    let store = format!("sqlite:{}", env.path(&format!("{name}.db")).display());
    let server = PkgServer::start(env, &store, &[]);
    let (token, _) = create_token(env, &store, 2, "deployer");
    Hub { server, token }
}

impl Hub {
    pub(crate) fn history(&self) -> Vec<Value> {
        let v = self
            .server
            .get_json("/api/v1/hub/history", Some(&self.token));
        v.as_array().cloned().unwrap_or_default()
    }
}

/// `pkg deploy ... -o json` as JSON, whatever its exit status.
pub(crate) fn deploy_json(env: &Env, args: &[&str]) -> (bool, Value, String) {
    let mut all = vec!["deploy", "-o", "json"];
    all.extend_from_slice(args);
    let out = env.pkg(all).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn env_status(d: &Value, name: &str) -> String {
    d["environments"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == name))
        .map(|e| e["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn time_in(seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    jiff::Timestamp::from_second(now + seconds)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The registry server (store `registry.db`, started with `extra`), an
/// owner token the CLI's remote `reg` sends, and app 1.0.0 published.
fn registry_with_app(env: &Env, extra: &[&str]) -> (PkgServer, String, String) {
    let store = format!("sqlite:{}", env.path("registry.db").display());
    let registry = PkgServer::start(env, &store, extra);
    let (owner, _) = create_token(env, &store, 5, "owner");
    env.set_var("REG_TOKEN", &owner);
    env.ok([
        "remote",
        "add",
        "reg",
        &registry.url(),
        "--token-env",
        "REG_TOKEN",
    ]);
    let app = make_package(env, "pub/app", "app", "1.0.0", None);
    env.ok(["publish", app.to_str().unwrap(), "--registry", "reg"]);
    (registry, store, owner)
}

#[test]
fn deployments_roll_out_fail_partially_roll_back_and_run_as_jobs() {
    let env = Env::new();
    let east = hub(&env, "east");
    let west = hub(&env, "west");
    // East's token comes from the server's environment, west's from a
    // file in its secrets directory.
    env.set_var("PKG_DEPLOY_EAST", &east.token);
    let secrets = env.path("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("west.token"), format!("{}\n", west.token)).unwrap();
    let (registry, store, owner) =
        registry_with_app(&env, &["--secrets-dir", secrets.to_str().unwrap()]);
    let (admin, _) = create_token(&env, &store, 4, "admin");
    let (reader, _) = create_token(&env, &store, 2, "reader");

    // Environments: two hubs, a port where nothing listens, one that
    // never answers.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_url = format!("http://{}", hang.local_addr().unwrap());
    for (name, url, token) in [
        (
            "east",
            east.server.url(),
            Some(["--token-env", "PKG_DEPLOY_EAST"]),
        ),
        (
            "west",
            west.server.url(),
            Some(["--token-file", "west.token"]),
        ),
        ("down", down_url, None),
        ("hang", hang_url, None),
    ] {
        let mut args = vec!["deploy", "env", "add", name, &url, "--prefix", "staging"];
        if let Some(token) = token {
            args.extend(token);
        }
        env.ok(args);
    }
    let err = env.fails([
        "deploy",
        "env",
        "add",
        "x",
        "http://127.0.0.1:1",
        "--token-file",
        "../west.token",
    ]);
    assert!(err.contains("secrets directory"), "{err}");
    let list: Value =
        serde_json::from_str(&env.ok(["deploy", "env", "list", "-o", "json"])).unwrap();
    let health: Vec<(String, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["healthy"] == true,
            )
        })
        .collect();
    assert!(health.contains(&("east".into(), true)), "{list}");
    assert!(health.contains(&("down".into(), false)), "{list}");
    // The API refuses a token variable outside PKG_DEPLOY_ (it would lend
    // the server's other secrets), and a level below 5.
    let err = env.fails([
        "deploy",
        "env",
        "add",
        "x",
        "http://127.0.0.1:1",
        "--token-env",
        "HOME",
    ]);
    assert!(err.contains("PKG_DEPLOY_"), "{err}");
    let body = br#"{"name":"x","url":"http://127.0.0.1:1"}"#;
    let reply = registry.call("POST", "/api/v1/environments", Some(&admin), Some(body));
    assert_eq!(reply.status, 403, "{}", reply.text());

    // Deploying needs level 4; reading deployments needs level 2.
    let request = br#"{"package":"app","environments":["east"]}"#;
    let reply = registry.call("POST", "/api/v1/deployments", Some(&reader), Some(request));
    assert_eq!(reply.status, 403, "{}", reply.text());
    let reply = registry.call("GET", "/api/v1/deployments", None, None);
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(registry.get("/api/v1/jobs", Some(&reader)).status, 200);
    // Bad requests change nothing.
    let err = env.fails(["deploy", "app", "--env", "east", "--env", "nowhere"]);
    assert!(err.contains("unknown environment `nowhere`"), "{err}");
    let err = env.fails(["deploy", "app@^9", "--env", "east"]);
    assert!(err.contains("cannot deploy app ^9"), "{err}");
    let err = env.fails(["deploy", "nosuch", "--env", "east"]);
    assert!(err.contains("package `nosuch` not found"), "{err}");
    let err = env.fails(["deploy", "app@not-semver", "--env", "east"]);
    assert!(err.contains("not a semver requirement"), "{err}");
    let out = env
        .pkg(["deploy", "app", "--env", "east", "--timeout", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
    assert!(east.history().is_empty() && west.history().is_empty());

    // Two environments: both succeed, one history entry each.
    let (ok, first, stderr) = deploy_json(&env, &["app@^1", "--env", "east", "--env", "west"]);
    assert!(ok, "{stderr}");
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(first["version"], "1.0.0");
    let first_id = first["id"].as_str().unwrap().to_string();
    for hub in [&east, &west] {
        let history = hub.history();
        assert_eq!(history.len(), 1, "{history:?}");
        assert!(
            history[0]["source"]
                .as_str()
                .unwrap()
                .starts_with(&format!("deploy:{first_id} app@1.0.0")),
            "{history:?}"
        );
        assert_eq!(history[0]["prefix"], "staging");
    }
    assert!(stderr.contains("east: succeeded"), "{stderr}");

    // One environment down: partial, and a non-zero exit.
    let (ok, partial, stderr) = deploy_json(
        &env,
        &["app", "--env", "east", "--env", "down", "--retries", "0"],
    );
    assert!(!ok, "{partial}");
    assert_eq!(partial["status"], "partial", "{partial}");
    assert_eq!(env_status(&partial, "down"), "failed");
    assert!(stderr.contains("ended partial"), "{stderr}");
    assert_eq!(east.history().len(), 2);
    // With --rollback-on-partial no environment is left changed.
    let (ok, rolled, _) = deploy_json(
        &env,
        &[
            "app",
            "--env",
            "east",
            "--env",
            "down",
            "--retries",
            "1",
            "--rollback-on-partial",
        ],
    );
    assert!(!ok);
    assert_eq!(rolled["status"], "rolled-back", "{rolled}");
    assert_eq!(env_status(&rolled, "east"), "rolled-back");
    assert_eq!(rolled["environments"][1]["attempts"], 2, "{rolled}");
    let history = east.history();
    assert_eq!(history.len(), 4, "{history:?}");
    assert_eq!(history[0]["action"], "rollback", "{history:?}");

    // A scheduled job does not run before its time, and runs after it.
    let (ok, queued, _) = deploy_json(
        &env,
        &["app", "--env", "west", "--at", &time_in(3), "--background"],
    );
    assert!(ok);
    let job_id = queued["job"]["id"].as_str().unwrap().to_string();
    assert_eq!(queued["job"]["status"], "pending", "{queued}");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let job: Value = serde_json::from_str(&env.ok(["job", "show", &job_id, "-o", "json"])).unwrap();
    assert_eq!(job["status"], "pending", "{job}");
    assert_eq!(west.history().len(), 1);
    let waited: Value =
        serde_json::from_str(&env.ok(["job", "wait", &job_id, "-o", "json"])).unwrap();
    assert_eq!(waited["status"], "succeeded", "{waited}");
    let at = |v: &Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert!(
        at(&waited["started_at"]) >= at(&queued["job"]["run_at"]),
        "{waited}"
    );
    assert_eq!(west.history().len(), 2);

    // A pending job is cancelled; cancelling again is refused.
    let (_, later, _) = deploy_json(
        &env,
        &[
            "app",
            "--env",
            "west",
            "--at",
            &time_in(3600),
            "--background",
        ],
    );
    let later_job = later["job"]["id"].as_str().unwrap().to_string();
    env.ok(["job", "cancel", &later_job]);
    let job: Value =
        serde_json::from_str(&env.ok(["job", "show", &later_job, "-o", "json"])).unwrap();
    assert_eq!(job["status"], "cancelled", "{job}");
    let d: Value = serde_json::from_str(&env.ok([
        "deploy",
        "show",
        later["deployment"]["id"].as_str().unwrap(),
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(d["status"], "cancelled", "{d}");
    let err = env.fails(["job", "cancel", &later_job]);
    assert!(err.contains("nothing to cancel"), "{err}");
    let listed: Value =
        serde_json::from_str(&env.ok(["job", "list", "--status", "cancelled", "-o", "json"]))
            .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // A job exceeding its timeout ends as timeout.
    let (ok, timed, stderr) = deploy_json(&env, &["app", "--env", "hang", "--timeout", "2s"]);
    assert!(!ok);
    assert!(stderr.contains("(job timeout)"), "{stderr}");
    assert_eq!(timed["status"], "failed", "{timed}");
    drop(hang);

    // The first deployment was superseded in east: its rollback is
    // refused unless forced, and then restores both hubs.
    let err = env.fails(["deploy", "rollback", &first_id]);
    assert!(err.contains("superseded by"), "{err}");
    let out = env.ok(["deploy", "rollback", &first_id, "--force", "-o", "json"]);
    let back: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(back["status"], "rolled-back", "{back}");
    assert_eq!(back["rollback"]["by"], "owner", "{back}");
    for hub in [&east, &west] {
        let history = hub.history();
        assert_eq!(history[0]["action"], "rollback", "{history:?}");
    }
    let err = env.fails(["deploy", "rollback", &first_id, "--force"]);
    assert!(err.contains("already rolled back"), "{err}");

    // Records: filters, and the package's actions.
    let listed: Value =
        serde_json::from_str(&env.ok(["deploy", "list", "--env", "down", "-o", "json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let actions = registry.get_json("/api/v1/packages/app/actions", Some(&reader));
    let kinds: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"deploy") && kinds.contains(&"rollback"),
        "{actions}"
    );
    let deploy_action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "deploy")
        .unwrap();
    assert!(
        deploy_action["deployment"]["duration_ms"].is_u64(),
        "{deploy_action}"
    );
    let environments: Value =
        serde_json::from_str(&env.ok(["deploy", "env", "list", "-o", "json"])).unwrap();
    let east_view = environments
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "east")
        .unwrap();
    assert!(
        east_view["last_deployment"]["id"].is_string(),
        "{east_view}"
    );
    let err = env.fails(["job", "show", "nosuch"]);
    assert!(err.contains("no job `nosuch`"), "{err}");

    // A package hidden by min_level hides its deployments too.
    let secret = make_package(&env, "pub/secret", "secret", "1.0.0", Some(5));
    env.ok(["publish", secret.to_str().unwrap(), "--registry", "reg"]);
    let (ok, hidden, stderr) = deploy_json(&env, &["secret", "--env", "west"]);
    assert!(ok, "{stderr}");
    let path = format!("/api/v1/deployments/{}", hidden["id"].as_str().unwrap());
    assert_eq!(registry.get(&path, Some(&reader)).status, 404);
    assert_eq!(registry.get(&path, Some(&owner)).status, 200);
    let seen = registry.get_json("/api/v1/deployments", Some(&reader));
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .all(|d| d["package"] != "secret"),
        "{seen}"
    );
    let mine = registry.get_json("/api/v1/deployments?package=secret", Some(&owner));
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");

    // A version with dependencies deploys the resolved graph.
    for (name, version, deps) in [
        ("base", "1.0.0", vec![]),
        ("app", "2.0.0", vec![("base", "^1")]),
    ] {
        let dir = make_package(&env, &format!("pub/{name}-{version}"), name, version, None);
        crate::sources::set_release(&dir, name, version, &deps);
        env.ok(["publish", dir.to_str().unwrap(), "--registry", "reg"]);
    }
    let (ok, graph, stderr) = deploy_json(&env, &["app@^2", "--env", "west", "--dry-run"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        graph["packages"],
        serde_json::json!(["base@1.0.0", "app@2.0.0"]),
        "{graph}"
    );
}

/// Polls `GET path` on `server` until `done` says so (at most 30 s).
pub(crate) fn poll(
    server: &PkgServer,
    path: &str,
    token: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let v = server.get_json(path, Some(token));
        if done(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "gave up waiting: {v}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_stopped_or_killed_registry_goes_on_and_applies_each_environment_once() {
    let env = Env::new();
    let east = hub(&env, "east");
    env.set_var("PKG_DEPLOY_EAST", &east.token);
    let short = ["--job-lease", "2"];
    let long = ["--job-lease", "3600"];
    let (mut registry, store, owner) = registry_with_app(&env, &short);
    env.ok([
        "deploy",
        "env",
        "add",
        "east",
        &east.server.url(),
        "--token-env",
        "PKG_DEPLOY_EAST",
    ]);
    // Deploys to east and to a hub that never answers; returns the
    // deployment and job ids once east is applied and the other hangs.
    let start = |registry: &PkgServer, slow: &str| {
        let hang = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", hang.local_addr().unwrap());
        let remote = format!("reg-{slow}");
        env.ok([
            "remote",
            "add",
            &remote,
            &registry.url(),
            "--token-env",
            "REG_TOKEN",
        ]);
        env.ok(["deploy", "env", "add", slow, &url, "--registry", &remote]);
        let (ok, queued, stderr) = deploy_json(
            &env,
            &[
                "app",
                "--env",
                "east",
                "--env",
                slow,
                "--retries",
                "0",
                "--background",
                "--registry",
                &remote,
            ],
        );
        assert!(ok, "{stderr}");
        let id = queued["deployment"]["id"].as_str().unwrap().to_string();
        let job = queued["job"]["id"].as_str().unwrap().to_string();
        poll(
            registry,
            &format!("/api/v1/deployments/{id}"),
            &owner,
            |d| env_status(d, "east") == "succeeded" && env_status(d, slow) == "deploying",
        );
        (id, job, hang)
    };
    let finish = |registry: &PkgServer, id: &str, job: &str, slow: &str| {
        let done = poll(registry, &format!("/api/v1/jobs/{job}"), &owner, |j| {
            j["status"] == "completed"
        });
        assert_eq!(done["attempts"], 2, "{done}");
        let d = registry.get_json(&format!("/api/v1/deployments/{id}"), Some(&owner));
        assert_eq!(d["status"], "partial", "{d}");
        assert_eq!(env_status(&d, "east"), "succeeded");
        assert_eq!(env_status(&d, slow), "failed");
    };

    // SIGTERM mid-deployment: the job goes back to the queue, and the
    // restarted server goes on at once (its lease is an hour).
    let (id, job, hang) = start(&registry, "slow1");
    registry.signal(libc::SIGTERM);
    assert!(registry.wait_exit().success());
    assert!(
        registry.stderr().contains("goes back to the queue"),
        "{}",
        registry.stderr()
    );
    drop(hang);
    let mut registry = PkgServer::start(&env, &store, &long);
    finish(&registry, &id, &job, "slow1");
    assert_eq!(east.history().len(), 1, "east was applied once");
    registry.stop();

    // SIGKILL mid-deployment: restarted, it takes the job over once the
    // lease has run out; east is not applied again.
    let mut registry = PkgServer::start(&env, &store, &short);
    let (id, job, hang) = start(&registry, "slow2");
    registry.stop_with(libc::SIGKILL);
    drop(hang);
    let registry = PkgServer::start(&env, &store, &short);
    finish(&registry, &id, &job, "slow2");
    assert_eq!(east.history().len(), 2, "east was applied once more");
}

#[test]
fn a_retry_succeeds_when_the_environment_comes_back_and_config_environments_deploy_to_self() {
    let env = Env::new();
    // An environment whose hub is not up yet, on a port kept for it.
    let late_store = format!("sqlite:{}", env.path("late.db").display());
    let (late_token, _) = create_token(&env, &late_store, 2, "deployer");
    let port = TcpListener::bind("127.0.0.1:0").unwrap();
    let late_addr = port.local_addr().unwrap().to_string();
    drop(port);
    env.set_var("LATE_HUB_TOKEN", &late_token);
    // The server's config file names it, and the server's own hub.
    let config = env.path("config/pkg/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "[[serve.environments]]\nname = \"late\"\nurl = \"http://{late_addr}\"\ntoken_env = \"LATE_HUB_TOKEN\"\n\n\
             [[serve.environments]]\nname = \"local\"\nurl = \"self\"\nprefix = \"mirror\"\nlabels = {{ tier = \"dev\" }}\n"
        ),
    )
    .unwrap();
    let (registry, _, owner) = registry_with_app(&env, &[]);
    let list: Value =
        serde_json::from_str(&env.ok(["deploy", "env", "list", "-o", "json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|e| e["origin"] == "config"),
        "{list}"
    );
    assert_eq!(list[1]["labels"]["tier"], "dev", "{list}");
    let err = env.fails(["deploy", "env", "remove", "local"]);
    assert!(err.contains("config file"), "{err}");

    // Deploy to both; the late hub comes up while the job retries.
    let (ok, queued, stderr) = deploy_json(
        &env,
        &[
            "app",
            "--env",
            "late",
            "--env",
            "local",
            "--retries",
            "8",
            "--background",
        ],
    );
    assert!(ok, "{stderr}");
    let id = queued["deployment"]["id"].as_str().unwrap().to_string();
    poll(
        &registry,
        &format!("/api/v1/deployments/{id}"),
        &owner,
        |d| d["environments"][0]["error"].is_string(),
    );
    let late = PkgServer::start_at(&env, &late_addr, &late_store, &[]);
    let job = queued["job"]["id"].as_str().unwrap().to_string();
    let done: Value = serde_json::from_str(&env.ok(["job", "wait", &job, "-o", "json"])).unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");
    let late_env = &done["environments"][0];
    assert!(late_env["attempts"].as_u64().unwrap() >= 2, "{done}");
    let history = late.get_json("/api/v1/hub/history", Some(&late_token));
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    // `self`: the registry's own hub holds it under the prefix.
    let own = registry.get_json("/api/v1/hub/history", Some(&owner));
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    assert_eq!(own[0]["prefix"], "mirror", "{own}");
    // A dry run plans every environment and changes none.
    let (ok, dry, _) = deploy_json(
        &env,
        &["app", "--env", "late", "--env", "local", "--dry-run"],
    );
    assert!(ok, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert!(
        dry["environments"][1]["counts"]["unchanged"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{dry}"
    );
    assert_eq!(
        registry
            .get_json("/api/v1/hub/history", Some(&owner))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let err = env.fails(["deploy", "rollback", dry["id"].as_str().unwrap()]);
    assert!(err.contains("dry run"), "{err}");
}
