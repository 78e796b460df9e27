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

/// Renders the help of every command, for docs/cli.md.
fn cli_reference() -> String {
    use clap::CommandFactory;
    fn walk(cmd: &mut clap::Command, path: &str, out: &mut String) {
        let name = if path.is_empty() {
            cmd.get_name().to_string()
        } else {
            format!("{path} {}", cmd.get_name())
        };
        out.push_str(&format!("## `{name}`\n\n```text\n"));
        let help = cmd.render_long_help().to_string();
        for line in help.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str("```\n\n");
        let mut subs: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
        for sub in &mut subs {
            if sub.get_name() != "help" {
                walk(sub, &name, out);
            }
        }
    }
    let mut out = String::from(
        "# CLI reference\n\nGenerated from the clap definitions by the test `misc::cli_reference_is_current`;\n\
         run `UPDATE_DOCS=1 cargo test --test cli cli_reference` after changing a flag.\n\n",
    );
    let mut cmd = pkg::cli::Cli::command().term_width(100);
    cmd.build();
    walk(&mut cmd, "", &mut out);
    out
}

#[test]
fn cli_reference_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let expected = cli_reference();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/cli.md is stale: run UPDATE_DOCS=1 cargo test --test cli cli_reference"
    );
}
