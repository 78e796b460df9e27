//! Archive sources and `pkg pack`: determinism, loads from `.tar.gz` and
//! `.zip`, and hostile archives (traversal, links, devices, bombs), each of
//! which must fail with a clear error, write nothing outside, leave no
//! temporary directory and leave the hub untouched.

use std::io::Write;

use serde_json::Value;

use crate::common::Env;

fn inspect(env: &Env, source: &str) -> Value {
    serde_json::from_str(&env.ok(["inspect", source, "-o", "json"])).unwrap()
}

#[test]
fn pack_is_deterministic_and_loads_back() {
    let env = Env::new();
    let dir = env.fixture("cub-full");
    let dir_arg = dir.display().to_string();
    std::fs::write(dir.join("README.md"), "not in the manifest").unwrap();
    for name in ["a.tar.gz", "a.zip"] {
        let first = env.path(name);
        let second = env.path(&format!("again-{name}"));
        let out = env
            .pkg(["pack", &dir_arg, "-o", &first.display().to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("README.md is not named by the manifest"),
            "{stderr}"
        );
        // Another copy with other mtimes and modes packs to the same bytes.
        let copy = env.path(&format!("copy-{name}"));
        crate::common::copy_dir(&dir, &copy);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let touched = copy.join("manifest.json");
        std::fs::write(&touched, std::fs::read(&touched).unwrap()).unwrap();
        env.ok([
            "pack",
            &copy.display().to_string(),
            "--file",
            &second.display().to_string(),
        ]);
        assert_eq!(
            std::fs::read(&first).unwrap(),
            std::fs::read(&second).unwrap(),
            "{name}"
        );
        // It loads back with the directory's digest.
        assert_eq!(
            inspect(&env, &first.display().to_string())["digest"],
            inspect(&env, &dir_arg)["digest"]
        );
    }
    let json: Value =
        serde_json::from_str(&env.ok(["pack", &dir_arg, "--file", "b.tgz", "-o", "json"])).unwrap();
    assert_eq!(json["format"], "tar.gz");
    assert!(json["files"].as_u64().unwrap() > 10);
    let out = env.ok(["load", "b.tgz", "--prefix", "t"]);
    assert!(out.contains("Loaded"), "{out}");
    assert!(env.tmp_entries().is_empty(), "{:?}", env.tmp_entries());
}

#[test]
fn pack_refuses_what_it_cannot_do() {
    let env = Env::new();
    let dir = env.fixture("cub-basic").display().to_string();
    let err = env.fails(["pack", &dir]);
    assert!(err.contains("-o FILE"), "{err}");
    let err = env.fails(["pack", &dir, "-o", "out.rar"]);
    assert!(err.contains("cannot tell the archive format"), "{err}");
    let err = env.fails(["pack", "nowhere", "-o", "x.zip"]);
    assert!(err.contains("nowhere"), "{err}");
    assert!(!env.path("x.zip").exists());
    // `-o FILE` means a file only for pack.
    let err = env.fails(["history", "-o", "out.tgz"]);
    assert!(err.contains("table, json or yaml"), "{err}");
}

/// A raw ustar header for `name` with `size` bytes and `kind`.
pub(crate) fn tar_header(name: &str, size: u64, kind: u8, link: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar entry: name, type flag, link target, content, and a declared size
/// when it should differ from the content's.
pub(crate) type TarEntry<'a> = (&'a str, u8, &'a str, &'a [u8], Option<u64>);

/// A gzip-compressed tar of `entries`.
pub(crate) fn tar_gz(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, kind, link, content, declared) in entries {
        let size = declared.unwrap_or(content.len() as u64);
        tar.extend_from_slice(&tar_header(name, size, *kind, link));
        tar.extend_from_slice(content);
        let pad = (512 - content.len() % 512) % 512;
        tar.extend(std::iter::repeat_n(0u8, pad));
    }
    tar.extend(std::iter::repeat_n(0u8, 1024));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn hostile_tar_archives_are_refused() {
    let env = Env::new();
    let manifest: &[u8] = br#"{"spaces":[{"slug":"s","details_loc":"/spaces/s.json"}]}"#;
    let space: &[u8] = br#"{"Slug":"s"}"#;
    let ok = |extra: TarEntry<'static>| {
        vec![
            ("manifest.json", b'0', "", manifest, None),
            ("spaces/s.json", b'0', "", space, None),
            extra,
        ]
    };
    // The plain archive loads: the cases below differ in one entry.
    std::fs::write(
        env.path("good.tar.gz"),
        tar_gz(&ok(("extra/x.txt", b'0', "", b"x", None))),
    )
    .unwrap();
    env.ok(["validate", "good.tar.gz"]);
    let before = env.hub_state();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            tar_gz(&ok(("../evil.txt", b'0', "", b"evil", None))),
            "evil.txt",
        ),
        (
            "nested-dotdot",
            tar_gz(&ok(("a/../../evil.txt", b'0', "", b"evil", None))),
            "evil.txt",
        ),
        (
            "absolute",
            tar_gz(&ok(("/tmp/evil.txt", b'0', "", b"evil", None))),
            "evil.txt",
        ),
        (
            "backslash",
            tar_gz(&ok(("..\\evil.txt", b'0', "", b"evil", None))),
            "evil.txt",
        ),
        (
            "drive",
            tar_gz(&ok(("C:\\evil.txt", b'0', "", b"evil", None))),
            "evil.txt",
        ),
        (
            "symlink",
            tar_gz(&ok(("spaces/link.json", b'2', "/etc/passwd", b"", None))),
            "link.json",
        ),
        (
            "hardlink",
            tar_gz(&ok(("spaces/hard.json", b'1', "/etc/passwd", b"", None))),
            "hard.json",
        ),
        (
            "fifo",
            tar_gz(&ok(("spaces/pipe", b'6', "", b"", None))),
            "pipe",
        ),
        (
            "device",
            tar_gz(&ok(("spaces/dev", b'3', "", b"", None))),
            "dev",
        ),
        (
            "case-collision",
            tar_gz(&ok(("Spaces/s.json", b'0', "", b"{}", None))),
            "letter case",
        ),
        (
            "bomb",
            tar_gz(&ok(("big.bin", b'0', "", b"", Some(7 << 30)))),
            "big.bin",
        ),
        (
            "not-an-archive",
            b"PK this is not really a zip".to_vec(),
            "hostile",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = env.path(&format!("hostile-{name}.tar.gz"));
        std::fs::write(&path, bytes).unwrap();
        let err = env.fails(["load", &path.display().to_string()]);
        assert!(err.contains(needle), "{name}: {err}");
        assert_eq!(env.hub_state(), before, "{name}");
        assert!(
            env.tmp_entries().is_empty(),
            "{name}: {:?}",
            env.tmp_entries()
        );
        assert!(!env.path("evil.txt").exists() && !std::path::Path::new("/tmp/evil.txt").exists());
    }
}

#[test]
fn hostile_zip_archives_are_refused() {
    use zip::write::SimpleFileOptions;
    let env = Env::new();
    let build = |name: &str, extra: &dyn Fn(&mut zip::ZipWriter<std::fs::File>)| {
        let path = env.path(name);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = SimpleFileOptions::default();
        zip.start_file("manifest.json", options).unwrap();
        zip.write_all(br#"{"spaces":[{"slug":"s","details_loc":"/spaces/s.json"}]}"#)
            .unwrap();
        zip.start_file("spaces/s.json", options).unwrap();
        zip.write_all(br#"{"Slug":"s"}"#).unwrap();
        extra(&mut zip);
        zip.finish().unwrap();
        path.display().to_string()
    };
    let good = build("good.zip", &|_| {});
    env.ok(["validate", &good]);
    let before = env.hub_state();
    let symlink = build("symlink.zip", &|zip| {
        zip.add_symlink("spaces/x.json", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
    });
    let dotdot = build("dotdot.zip", &|zip| {
        zip.start_file("../evil.txt", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"evil").unwrap();
    });
    let long_name = format!("spaces/{}.json", "n".repeat(300));
    let long = build("long.zip", &|zip| {
        zip.start_file(long_name.as_str(), SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"{}").unwrap();
    });
    for (path, needle) in [
        (symlink, "x.json"),
        (dotdot, "evil.txt"),
        (long, "longer than 255"),
    ] {
        let err = env.fails(["load", &path]);
        assert!(err.contains(needle), "{path}: {err}");
        assert_eq!(env.hub_state(), before);
        assert!(env.tmp_entries().is_empty(), "{:?}", env.tmp_entries());
        assert!(!env.path("evil.txt").exists());
    }
}

#[test]
fn environments_without_digests_are_packed_and_pinned() {
    let env = Env::new();
    let dir = env.fixture("cub-basic");
    let mut manifest = crate::common::read_json(&dir.join("manifest.json"));
    manifest["environments"] = serde_json::json!([{
        "name": "app", "backend": "uv", "path": "/environments/app",
        "files": ["/environments/app/pyproject.toml", "/environments/app/uv.lock"]
    }]);
    crate::common::write_json(&dir.join("manifest.json"), &manifest);
    env.write(
        "cub-basic/environments/app/pyproject.toml",
        "[project]\nname = \"app\"\n",
    );
    env.write("cub-basic/environments/app/uv.lock", "version = 1\n");
    let dir_arg = dir.display().to_string();
    let before = inspect(&env, &dir_arg)["digest"].clone();
    // The archive carries the environment's files and loads back the same.
    env.ok(["pack", &dir_arg, "-o", "env.tgz"]);
    assert_eq!(inspect(&env, "env.tgz")["digest"], before);
    assert_eq!(inspect(&env, "env.tgz")["environments"][0]["name"], "app");
    // The package digest covers them: a changed lock file changes it.
    env.write(
        "cub-basic/environments/app/uv.lock",
        "version = 1\n# changed\n",
    );
    assert_ne!(inspect(&env, &dir_arg)["digest"], before);
}
