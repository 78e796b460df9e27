//! `pkg <kind> create|list|get|update|delete`.

use crate::common::Env;

fn seed(env: &Env) {
    env.ok(["space", "create", "prod", "--label", "env=prod"]);
    env.ok(["worker", "create", "--space", "prod", "w1"]);
    env.ok([
        "target",
        "create",
        "--space",
        "prod",
        "--worker",
        "w1",
        "--parameters",
        r#"{"KubeNamespace":"web"}"#,
        "k8s",
    ]);
    env.write(
        "deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    );
    env.ok([
        "unit",
        "create",
        "--space",
        "prod",
        "--file",
        "deploy.yaml",
        "--label",
        "app=web",
        "--target",
        "k8s",
        "backend",
    ]);
    env.ok([
        "unit",
        "create",
        "prod/frontend",
        "--label",
        "app=ui",
        "--toolchain",
        "AppConfig/Properties",
    ]);
    env.ok([
        "link",
        "create",
        "--space",
        "prod",
        "--from",
        "frontend",
        "--to",
        "prod/backend",
        "ui-to-api",
    ]);
    env.ok([
        "filter",
        "create",
        "--space",
        "prod",
        "--from",
        "Unit",
        "--where-field",
        "Labels.app = 'web'",
        "web-units",
    ]);
    env.ok([
        "view",
        "create",
        "--space",
        "prod",
        "--filter",
        "web-units",
        "--column",
        "Slug",
        "web-view",
    ]);
}

#[test]
fn crud_round_trip() {
    let env = Env::new();
    seed(&env);
    insta::assert_snapshot!(env.run_snapshot(["unit", "list"]));
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(["unit", "get", "--space", "prod", "backend", "-o", "json"]))
            .unwrap();
    assert_eq!(json["Slug"], "backend");
    assert_eq!(json["Space"], "prod");
    assert_eq!(json["Target"], "prod/k8s");
    assert_eq!(json["Labels"]["app"], "web");
    assert_eq!(
        json["Data"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
    );
    assert_eq!(
        env.ok(["unit", "get", "prod/backend", "--data"]),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
    );

    env.ok([
        "unit",
        "update",
        "prod/backend",
        "--label",
        "tier=api",
        "--remove-label",
        "app",
        "--no-target",
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(["unit", "get", "prod/backend", "-o", "json"])).unwrap();
    assert_eq!(json["Labels"], serde_json::json!({"tier": "api"}));
    assert_eq!(json.get("Target"), None);
    assert_eq!(json["Version"], 2);

    let yaml = env.ok(["space", "list", "-o", "yaml"]);
    assert!(yaml.contains("Slug: prod"), "{yaml}");
}

#[test]
fn unit_data_from_stdin() {
    let env = Env::new();
    env.ok(["space", "create", "s"]);
    env.pkg(["unit", "create", "--space", "s", "--file", "-", "u"])
        .write_stdin("key: value\n")
        .assert()
        .success();
    assert_eq!(env.ok(["unit", "get", "s/u", "--data"]), "key: value\n");
}

#[test]
fn list_with_where() {
    let env = Env::new();
    seed(&env);
    let out = env.ok([
        "unit",
        "list",
        "--where",
        "Labels.app = 'web'",
        "-o",
        "json",
    ]);
    let units: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["Slug"], "backend");
    let out = env.ok([
        "unit",
        "list",
        "--where",
        "Slug LIKE 'front%' AND ToolchainType = 'AppConfig/Properties'",
        "-o",
        "json",
    ]);
    assert!(
        out.contains("\"frontend\"") && !out.contains("\"backend\""),
        "{out}"
    );
    let out = env.ok(["target", "list", "--where", "ProviderType = 'Kubernetes'"]);
    assert!(out.contains("k8s"), "{out}");
}

#[test]
fn where_errors_point_at_the_column() {
    let env = Env::new();
    seed(&env);
    let before = env.hub_state();
    insta::assert_snapshot!(env.run_snapshot([
        "unit",
        "list",
        "--where",
        "Slug = 'a' AND Colour = 'red'"
    ]));
    insta::assert_snapshot!(env.run_snapshot(["space", "list", "--where", "ToolchainType = 'x'"]));
    let err = env.fails(["unit", "list", "--where", "Slug = 'unterminated"]);
    assert!(err.contains("column"), "{err}");
    assert_eq!(env.hub_state(), before);
}

#[test]
fn references_must_exist_and_deletes_must_not_dangle() {
    let env = Env::new();
    seed(&env);
    let before = env.hub_state();
    let err = env.fails(["unit", "create", "--space", "prod", "--target", "nope", "x"]);
    assert!(
        err.contains("target prod/nope, which does not exist"),
        "{err}"
    );
    let err = env.fails(["unit", "create", "--space", "nospace", "x"]);
    assert!(err.contains("space nospace, which does not exist"), "{err}");
    let err = env.fails(["target", "delete", "prod/k8s"]);
    assert!(err.contains("is still used by unit prod/backend"), "{err}");
    let err = env.fails(["space", "delete", "prod"]);
    assert!(err.contains("space prod is still used by"), "{err}");
    let err = env.fails(["space", "create", "prod"]);
    assert!(err.contains("space prod already exists"), "{err}");
    let err = env.fails(["unit", "create", "--space", "prod", "bad slug"]);
    assert!(err.contains("is not a valid slug"), "{err}");
    assert_eq!(env.hub_state(), before);

    env.ok(["space", "delete", "prod", "--recursive"]);
    assert_eq!(env.count("unit"), 0);
    assert_eq!(env.count("space"), 0);
}

#[test]
fn hub_location_precedence() {
    let env = Env::new();
    // --hub wins over PKG_HUB.
    env.ok([
        "--hub",
        env.path("other.db").to_str().unwrap(),
        "space",
        "create",
        "a",
    ]);
    assert!(env.path("other.db").exists());
    assert!(!env.hub().exists());
    // Without either, the user data dir.
    let out = env
        .pkg(["space", "create", "b"])
        .env_remove("PKG_HUB")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(env.path("data/pkg/hub.db").exists());
}
