//! Help, completions, man page, output formats and error conventions.

use crate::common::Env;

#[test]
fn help_is_stable() {
    let env = Env::new();
    insta::assert_snapshot!(env.run_snapshot(["--help"]));
    insta::assert_snapshot!(env.run_snapshot(["load", "--help"]));
}

#[test]
fn completions_and_man_page() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.ok(["completions", shell]);
        assert!(out.contains("rollback"), "{shell}");
    }
    let man = env.ok(["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH pkg"),
        "{}",
        &man[..200.min(man.len())]
    );
    let err = env.pkg(["completions", "powershell"]).output().unwrap();
    assert_eq!(err.status.code(), Some(2));
}

#[test]
fn empty_hub_listings() {
    let env = Env::new();
    let out = env.pkg(["unit", "list"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No units found"));
    assert_eq!(env.ok(["unit", "list", "-o", "json"]), "[]\n");
    assert_eq!(env.ok(["history", "-o", "json"]), "[]\n");
}

#[test]
fn quiet_and_verbose() {
    let env = Env::new();
    let out = env.pkg(["-q", "space", "create", "a"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    let full = env.fixture("cub-full");
    let out = env.ok(["load", full.to_str().unwrap(), "-v"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("create") && l.contains(" unit ") && l.ends_with(" api")),
        "{out}"
    );
}

#[test]
fn unknown_command_is_a_usage_error() {
    let env = Env::new();
    let out = env.pkg(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
