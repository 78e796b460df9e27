//! The shipped examples: the drift-detector package and the backup and
//! restore scripts users copy.

use std::path::Path;

use crate::common::{Env, copy_dir};

fn bin_dir() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("pkg")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

#[test]
fn example_package_is_reproducible_from_its_sources() {
    let env = Env::new();
    let copy = env.path("examples");
    copy_dir(&examples(), &copy);
    std::fs::remove_dir_all(copy.join("drift-detector")).unwrap();
    let status = std::process::Command::new("bash")
        .arg(copy.join("build.sh"))
        .env("PKG", assert_cmd::cargo::cargo_bin("pkg"))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for entry in walkdir::WalkDir::new(examples().join("drift-detector"))
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(examples()).unwrap();
            assert_eq!(
                std::fs::read(entry.path()).unwrap(),
                std::fs::read(copy.join(rel)).unwrap(),
                "{} differs from what examples/build.sh writes: run it and commit",
                rel.display()
            );
        }
    }
}

#[test]
fn backup_and_restore_scripts() {
    let env = Env::new();
    let example = examples().join("drift-detector");
    env.ok(["load", example.to_str().unwrap()]);
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |script: &str, args: &[&str]| {
        let out = std::process::Command::new("bash")
            .arg(examples().join(script))
            .args(args)
            .current_dir(env.root())
            .env("PATH", &path)
            .env("PKG_HUB", env.hub())
            .env("BACKUP_DIR", env.path("backups"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run("backup.sh", &[]);
    let day = std::fs::read_dir(env.path("backups"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .file_name();
    let day = day.to_string_lossy().to_string();
    assert!(
        regex::Regex::new(r"^\d{8}$").unwrap().is_match(&day),
        "{day}"
    );
    // A second backup on the same day replaces it.
    run("backup.sh", &["drift-detector"]);
    let out = run("restore.sh", &[&day]);
    assert!(out.contains("create"), "{out}");
    assert_eq!(env.count("unit"), 6);
    let units = env.ok([
        "unit",
        "list",
        "--space",
        "restored-drift-detector",
        "-o",
        "json",
    ]);
    assert!(units.contains("\"deployment\""), "{units}");

    // A backup on a later day links what did not change to the last one.
    let earlier = env.path("backups/20200101");
    std::fs::rename(env.path("backups").join(&day), &earlier).unwrap();
    let out = run("backup.sh", &[]);
    assert!(out.contains("linked to"), "{out}");
    use std::os::unix::fs::MetadataExt;
    let unit = "units/drift-detector/deployment.data.yaml";
    assert_eq!(
        std::fs::metadata(earlier.join(unit)).unwrap().ino(),
        std::fs::metadata(env.path("backups").join(&day).join(unit))
            .unwrap()
            .ino()
    );
}
