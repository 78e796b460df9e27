//! Deployments on two `pkg serve` replicas sharing a real etcd: a replica
//! killed mid-deployment is taken over by the other once its lease runs
//! out, and jobs queued while both run are each run exactly once.

use std::net::TcpListener;

use crate::common::Env;
use crate::deploy::{deploy_json, env_status, hub, poll};
use crate::pkg_server::{Etcd, PkgServer, create_token, make_package};

#[test]
fn a_second_replica_takes_over_and_every_job_runs_once() {
    let etcd = Etcd::start();
    let env = Env::new();
    let east = hub(&env, "east");
    env.set_var("PKG_DEPLOY_EAST", &east.token);
    let blobs = env.path("shared-blobs");
    let store = etcd.store();
    let args = ["--blobs", blobs.to_str().unwrap(), "--job-lease", "2"];
    let mut one = PkgServer::start(&env, &store, &args);
    let (owner, _) = create_token(&env, &store, 5, "owner");
    env.set_var("REG_TOKEN", &owner);
    env.ok([
        "remote",
        "add",
        "one",
        &one.url(),
        "--token-env",
        "REG_TOKEN",
    ]);
    let app = make_package(&env, "pub/app", "app", "1.0.0", None);
    env.ok(["publish", app.to_str().unwrap(), "--registry", "one"]);
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_url = format!("http://{}", hang.local_addr().unwrap());
    env.ok([
        "deploy",
        "env",
        "add",
        "east",
        &east.server.url(),
        "--token-env",
        "PKG_DEPLOY_EAST",
        "--registry",
        "one",
    ]);
    env.ok([
        "deploy",
        "env",
        "add",
        "slow",
        &hang_url,
        "--registry",
        "one",
    ]);

    // Replica one runs a deployment and dies in the middle of it; replica
    // two, started meanwhile, takes it over once the lease runs out.
    let (ok, queued, stderr) = deploy_json(
        &env,
        &[
            "app",
            "--env",
            "east",
            "--env",
            "slow",
            "--retries",
            "0",
            "--background",
            "--registry",
            "one",
        ],
    );
    assert!(ok, "{stderr}");
    let id = queued["deployment"]["id"].as_str().unwrap().to_string();
    let job = queued["job"]["id"].as_str().unwrap().to_string();
    let running = poll(&one, &format!("/api/v1/deployments/{id}"), &owner, |d| {
        env_status(d, "east") == "succeeded" && env_status(d, "slow") == "deploying"
    });
    assert_eq!(running["status"], "deploying");
    let two = PkgServer::start(&env, &store, &args);
    env.ok([
        "remote",
        "add",
        "two",
        &two.url(),
        "--token-env",
        "REG_TOKEN",
    ]);
    let held = two.get_json(&format!("/api/v1/jobs/{job}"), Some(&owner));
    assert_eq!(held["status"], "processing", "{held}");
    one.stop_with(libc::SIGKILL);
    drop(hang);
    let done = poll(&two, &format!("/api/v1/jobs/{job}"), &owner, |j| {
        j["status"] == "completed"
    });
    assert_eq!(done["attempts"], 2, "taken over: {done}");
    let d = two.get_json(&format!("/api/v1/deployments/{id}"), Some(&owner));
    assert_eq!(d["status"], "partial", "{d} {done}");
    assert_eq!(east.history().len(), 1, "east was applied once");

    // Two live replicas, ten deployments: each runs exactly once.
    let three = PkgServer::start(&env, &store, &args);
    env.ok([
        "remote",
        "add",
        "three",
        &three.url(),
        "--token-env",
        "REG_TOKEN",
    ]);
    let mut jobs = Vec::new();
    for n in 0..10 {
        let registry = if n % 2 == 0 { "two" } else { "three" };
        let (ok, queued, stderr) = deploy_json(
            &env,
            &[
                "app",
                "--env",
                "east",
                "--background",
                "--registry",
                registry,
            ],
        );
        assert!(ok, "{stderr}");
        jobs.push((
            queued["job"]["id"].as_str().unwrap().to_string(),
            queued["deployment"]["id"].as_str().unwrap().to_string(),
        ));
    }
    for (job, _) in &jobs {
        let done = poll(&three, &format!("/api/v1/jobs/{job}"), &owner, |j| {
            j["status"] == "completed"
        });
        assert_eq!(done["attempts"], 1, "{done}");
    }
    let history = east.history();
    assert_eq!(history.len(), 11, "{history:?}");
    for (_, deployment) in &jobs {
        let applied = history
            .iter()
            .filter(|h| {
                h["source"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(&format!("deploy:{deployment} "))
            })
            .count();
        assert_eq!(applied, 1, "{deployment} applied {applied} times");
    }
}
