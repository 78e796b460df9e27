//! Environment manifests read without running any tool: which backend a
//! directory uses ([`detect`]), what its manifest declares ([`parse_dir`]:
//! pixi.toml in both its `[workspace]` and older `[project]` forms, and
//! pyproject.toml for pixi and for uv), which files a package carries for
//! it ([`carried_files`]), and a light check of package specifiers before
//! they are handed to a tool ([`check_spec`]).

use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::{Table, Value};

use super::{BackendError, BackendKind};

/// pixi's own manifest file.
const PIXI_TOML: &str = "pixi.toml";
/// The Python project file (uv's manifest, or pixi's with `[tool.pixi]`).
const PYPROJECT: &str = "pyproject.toml";

/// Where a dependency is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyKind {
    /// A conda package (pixi's `[dependencies]`).
    Conda,
    /// A PyPI package (`[project].dependencies`, pixi's `[pypi-dependencies]`).
    Pypi,
    /// A development dependency (uv's `[dependency-groups].dev`).
    Dev,
}

impl DependencyKind {
    /// Sort rank: conda, then PyPI, then dev.
    fn rank(self) -> u8 {
        match self {
            DependencyKind::Conda => 0,
            DependencyKind::Pypi => 1,
            DependencyKind::Dev => 2,
        }
    }
}

/// One declared dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The name as the manifest spells it.
    pub name: String,
    /// The version requirement: `""` for any version (a bare PEP 508 name
    /// or pixi's `"*"`); PEP 508 extras and markers are kept
    /// (`"[socks]>=2 ; python_version >= '3.8'"`); table specs are rendered
    /// as `key value` pairs, version first (`"version >=1.0, channel x"`).
    pub spec: String,
    /// Where it is declared.
    pub kind: DependencyKind,
}

/// The file format of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManifestFormat {
    /// pixi.toml.
    PixiToml,
    /// pyproject.toml.
    Pyproject,
}

/// What an environment's manifest declares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvManifest {
    /// The backend the manifest was read for.
    pub backend: BackendKind,
    /// The manifest file read.
    pub file: PathBuf,
    /// pixi.toml or pyproject.toml.
    pub format: ManifestFormat,
    /// The table that names the project: for pixi `workspace` (current
    /// pixi) or `project` (pixi 0.15.2 and other old versions); for uv
    /// always `project`.
    pub table: String,
    /// The project name.
    pub name: Option<String>,
    /// The project version.
    pub version: Option<String>,
    /// The Python requirement: uv's `requires-python`; for pixi the spec of
    /// the `python` conda dependency as written (a table's `version`), else
    /// `[project].requires-python` in pyproject form.
    pub python: Option<String>,
    /// Conda channels, in order (pixi only).
    pub channels: Vec<String>,
    /// Platforms (pixi only).
    pub platforms: Vec<String>,
    /// The default environment's dependencies, sorted by kind, then by
    /// normalised name.
    pub dependencies: Vec<Dependency>,
}

/// Which backend `dir` uses. pixi.toml means pixi; otherwise a
/// pyproject.toml with a `[tool.pixi]` table means pixi, and one with a
/// uv.lock beside it, a `[tool.uv]` table, or just a `[project]` table
/// means uv (uv is the natural manager of a plain pyproject.toml).
/// Nothing recognised is [`BackendError::NotAnEnvironment`]; a manifest
/// that is not valid TOML is [`BackendError::BadManifest`].
pub fn detect(dir: &Path) -> Result<BackendKind, BackendError> {
    if !dir.is_dir() {
        return Err(not_env(dir, "no such directory"));
    }
    let pixi_toml = dir.join(PIXI_TOML);
    if pixi_toml.is_file() {
        read_toml::<Table>(&pixi_toml)?;
        return Ok(BackendKind::Pixi);
    }
    let pyproject = dir.join(PYPROJECT);
    if !pyproject.is_file() {
        return Err(not_env(
            dir,
            "found neither pixi.toml nor pyproject.toml (a pyproject.toml with \
             [project], [tool.pixi] or [tool.uv])",
        ));
    }
    let doc: Table = read_toml(&pyproject)?;
    let tool = doc.get("tool").and_then(Value::as_table);
    let has_tool = |name: &str| tool.and_then(|t| t.get(name)).is_some_and(Value::is_table);
    if has_tool("pixi") {
        Ok(BackendKind::Pixi)
    } else if has_tool("uv")
        || dir.join(BackendKind::Uv.lock_file()).is_file()
        || doc.get("project").is_some_and(Value::is_table)
    {
        Ok(BackendKind::Uv)
    } else {
        Err(not_env(
            dir,
            "pyproject.toml has no [project], [tool.pixi] or [tool.uv] table and there is no uv.lock",
        ))
    }
}

/// Reads the manifest of the `kind` environment in `dir`: pixi.toml (or,
/// without one, pyproject.toml's `[tool.pixi]`) for pixi, pyproject.toml
/// for uv. Only the default feature is read: pixi's `[feature.*]` and
/// `[target.*]` tables and uv's other dependency groups and optional
/// dependencies are ignored.
pub fn parse_dir(dir: &Path, kind: BackendKind) -> Result<EnvManifest, BackendError> {
    let pixi_toml = dir.join(PIXI_TOML);
    let pyproject = dir.join(PYPROJECT);
    let mut manifest = match kind {
        BackendKind::Pixi if pixi_toml.is_file() => parse_pixi_toml(&pixi_toml)?,
        BackendKind::Pixi if pyproject.is_file() => parse_pixi_pyproject(&pyproject)?,
        BackendKind::Pixi => {
            return Err(not_env(
                dir,
                "no pixi.toml or pyproject.toml (pixi's manifests)",
            ));
        }
        BackendKind::Uv if pyproject.is_file() => parse_uv_pyproject(&pyproject)?,
        BackendKind::Uv => return Err(not_env(dir, "no pyproject.toml (uv's manifest)")),
    };
    manifest.dependencies.sort_by(|a, b| {
        (a.kind.rank(), normalise(&a.name), &a.name).cmp(&(
            b.kind.rank(),
            normalise(&b.name),
            &b.name,
        ))
    });
    Ok(manifest)
}

/// The files a package carries for the `kind` environment in `dir`, as
/// names relative to `dir`: the manifest and the lock file. A missing lock
/// file is an error, since an environment is materialised from its lock.
pub fn carried_files(kind: BackendKind, dir: &Path) -> Result<Vec<PathBuf>, BackendError> {
    let manifest = match kind {
        BackendKind::Pixi if dir.join(PIXI_TOML).is_file() => PIXI_TOML,
        BackendKind::Pixi | BackendKind::Uv if dir.join(PYPROJECT).is_file() => PYPROJECT,
        BackendKind::Pixi => {
            return Err(not_env(
                dir,
                "no pixi.toml or pyproject.toml (pixi's manifests)",
            ));
        }
        BackendKind::Uv => return Err(not_env(dir, "no pyproject.toml (uv's manifest)")),
    };
    let lock = kind.lock_file();
    if !dir.join(lock).is_file() {
        return Err(not_env(
            dir,
            &format!("no {lock}: run `pkg env sync` or `pkg env add` first"),
        ));
    }
    Ok(vec![PathBuf::from(manifest), PathBuf::from(lock)])
}

mod file_models;
mod parsers;
mod spec_check;

use self::parsers::*;
pub use self::spec_check::check_spec;

/// PEP 503 name normalisation: lower case, runs of `-_.` as one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/envs")
            .join(name)
    }

    fn dep(name: &str, spec: &str, kind: DependencyKind) -> Dependency {
        Dependency {
            name: name.to_string(),
            spec: spec.to_string(),
            kind,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A temp dir holding `files` (name, contents).
    fn temp_env(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    use DependencyKind::{Conda, Dev, Pypi};

    #[test]
    fn uv_project_fixture() {
        let dir = fixture("uv-project");
        assert_eq!(detect(&dir).unwrap(), BackendKind::Uv);
        let m = parse_dir(&dir, BackendKind::Uv).unwrap();
        assert_eq!(m.backend, BackendKind::Uv);
        assert_eq!(m.file, dir.join("pyproject.toml"));
        assert_eq!(m.format, ManifestFormat::Pyproject);
        assert_eq!(m.table, "project");
        assert_eq!(m.name.as_deref(), Some("uv-project"));
        assert_eq!(m.version.as_deref(), Some("0.1.0"));
        assert_eq!(m.python.as_deref(), Some(">=3.11"));
        assert!(m.channels.is_empty());
        assert!(m.platforms.is_empty());
        assert_eq!(
            m.dependencies,
            vec![
                dep("alpha", ">=1.0.0", Pypi),
                dep("beta", ">=1.0 ; python_full_version >= '3.8'", Pypi),
                dep("gamma", ">=0.1.0", Dev),
            ]
        );
    }

    #[test]
    fn pixi_workspace_fixture() {
        let dir = fixture("pixi-workspace");
        assert_eq!(detect(&dir).unwrap(), BackendKind::Pixi);
        let m = parse_dir(&dir, BackendKind::Pixi).unwrap();
        assert_eq!(m.backend, BackendKind::Pixi);
        assert_eq!(m.file, dir.join("pixi.toml"));
        assert_eq!(m.format, ManifestFormat::PixiToml);
        assert_eq!(m.table, "workspace");
        assert_eq!(m.name.as_deref(), Some("pixi-workspace"));
        assert_eq!(m.version.as_deref(), Some("0.1.0"));
        assert_eq!(m.python.as_deref(), Some(">=3.12,<3.13"));
        assert_eq!(m.channels, strings(&["conda-forge", "bioconda"]));
        assert_eq!(m.platforms, strings(&["linux-64", "osx-arm64"]));
        // [feature.test] (pytest) and [target.osx-arm64] (libcxx) are ignored.
        assert_eq!(
            m.dependencies,
            vec![
                dep("numpy", ">=2.2.6,<3", Conda),
                dep("python", ">=3.12,<3.13", Conda),
                dep("samtools", "version >=1.21, channel bioconda", Conda),
                dep("zlib", "", Conda),
                dep("pixi-workspace", "path ., editable true", Pypi),
                dep("requests", ">=2.31,<3", Pypi),
            ]
        );
    }

    #[test]
    fn pixi_project_fixture_from_pixi_0_15_2() {
        let dir = fixture("pixi-project");
        assert_eq!(detect(&dir).unwrap(), BackendKind::Pixi);
        let m = parse_dir(&dir, BackendKind::Pixi).unwrap();
        assert_eq!(m.backend, BackendKind::Pixi);
        assert_eq!(m.file, dir.join("pixi.toml"));
        assert_eq!(m.format, ManifestFormat::PixiToml);
        assert_eq!(m.table, "project");
        assert_eq!(m.name.as_deref(), Some("pixi-project"));
        assert_eq!(m.version.as_deref(), Some("0.1.0"));
        assert_eq!(m.python, None);
        assert_eq!(m.channels, strings(&["./chan"]));
        assert_eq!(m.platforms, strings(&["linux-64"]));
        assert_eq!(
            m.dependencies,
            vec![
                dep("alpha", ">=1.0.0,<1.1", Conda),
                dep("gamma", "==0.1.0", Conda),
            ]
        );
    }

    #[test]
    fn pixi_pyproject_fixture() {
        let dir = fixture("pixi-pyproject");
        assert_eq!(detect(&dir).unwrap(), BackendKind::Pixi);
        let m = parse_dir(&dir, BackendKind::Pixi).unwrap();
        assert_eq!(m.backend, BackendKind::Pixi);
        assert_eq!(m.file, dir.join("pyproject.toml"));
        assert_eq!(m.format, ManifestFormat::Pyproject);
        assert_eq!(m.table, "workspace");
        assert_eq!(m.name.as_deref(), Some("pixi-pyproject"));
        assert_eq!(m.version.as_deref(), Some("0.1.0"));
        // No `python` conda dependency: requires-python is used.
        assert_eq!(m.python.as_deref(), Some(">= 3.11"));
        assert_eq!(m.channels, strings(&["https://prefix.dev/conda-forge"]));
        assert_eq!(m.platforms, strings(&["linux-64"]));
        assert_eq!(
            m.dependencies,
            vec![
                dep("numpy", ">=2.2,<3", Conda),
                dep("pixi_pyproject", "path ., editable true", Pypi),
                dep("requests", ">=2.31,<3", Pypi),
                dep("rich", "[jupyter] >=13 ; python_version >= '3.11'", Pypi),
                dep("Typing_Extensions", "", Pypi),
            ]
        );
    }

    #[test]
    fn plain_python_fixture_is_uv() {
        let dir = fixture("plain-python");
        assert_eq!(detect(&dir).unwrap(), BackendKind::Uv);
        let m = parse_dir(&dir, BackendKind::Uv).unwrap();
        assert_eq!(m.table, "project");
        assert_eq!(m.name.as_deref(), Some("plain-python"));
        assert_eq!(m.version.as_deref(), Some("1.2.3"));
        assert_eq!(m.python.as_deref(), Some(">=3.9"));
        // Optional dependencies are not the environment's.
        assert_eq!(
            m.dependencies,
            vec![dep("attrs", ">=23.1", Pypi), dep("click", "", Pypi)]
        );
    }

    #[test]
    fn invalid_toml_names_line_and_column() {
        let dir = fixture("not-toml");
        for result in [
            detect(&dir).map(|_| ()),
            parse_dir(&dir, BackendKind::Uv).map(|_| ()),
        ] {
            match result {
                Err(BackendError::BadManifest { path, reason }) => {
                    assert_eq!(path, dir.join("pyproject.toml"));
                    assert!(reason.contains("line 5, column 10"), "{reason}");
                }
                other => panic!("expected BadManifest, got {other:?}"),
            }
        }
        let env = temp_env(&[("pixi.toml", "[workspace\nname = \"x\"\n")]);
        match detect(env.path()) {
            Err(BackendError::BadManifest { reason, .. }) => {
                assert!(reason.contains("line 1, column 11"), "{reason}")
            }
            other => panic!("expected BadManifest, got {other:?}"),
        }
    }

    #[test]
    fn wrong_types_name_line_and_column() {
        let env = temp_env(&[(
            "pixi.toml",
            "[workspace]\nname = \"x\"\nchannels = [\"a\", 3]\nplatforms = []\n",
        )]);
        match parse_dir(env.path(), BackendKind::Pixi) {
            Err(BackendError::BadManifest { reason, .. }) => {
                assert!(reason.contains("line 3, column 18"), "{reason}");
                assert!(reason.contains("channel"), "{reason}");
            }
            other => panic!("expected BadManifest, got {other:?}"),
        }
        let env = temp_env(&[("pyproject.toml", "[project]\nname = 1\n")]);
        match parse_dir(env.path(), BackendKind::Uv) {
            Err(BackendError::BadManifest { reason, .. }) => {
                assert!(reason.contains("line 2, column 8"), "{reason}")
            }
            other => panic!("expected BadManifest, got {other:?}"),
        }
        let env = temp_env(&[(
            "pixi.toml",
            "[project]\nname = \"x\"\n[dependencies]\nalpha = 1\n",
        )]);
        match parse_dir(env.path(), BackendKind::Pixi) {
            Err(BackendError::BadManifest { reason, .. }) => {
                assert!(reason.contains("line 4, column 9"), "{reason}");
                assert!(reason.contains("version string"), "{reason}");
            }
            other => panic!("expected BadManifest, got {other:?}"),
        }
    }

    #[test]
    fn nothing_recognised_is_not_an_environment() {
        let empty = tempfile::tempdir().unwrap();
        let missing = empty.path().join("missing");
        let tool_only = temp_env(&[("pyproject.toml", "[tool.black]\nline-length = 99\n")]);
        for dir in [empty.path(), missing.as_path(), tool_only.path()] {
            match detect(dir) {
                Err(BackendError::NotAnEnvironment { dir: d, reason }) => {
                    assert_eq!(d, dir);
                    assert!(!reason.is_empty());
                }
                other => panic!("expected NotAnEnvironment, got {other:?}"),
            }
        }
        match detect(empty.path()) {
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("pixi.toml") && text.contains("pyproject.toml"),
                    "{text}"
                );
            }
            Ok(kind) => panic!("detected {kind:?}"),
        }
        for kind in [BackendKind::Uv, BackendKind::Pixi] {
            assert!(matches!(
                parse_dir(empty.path(), kind),
                Err(BackendError::NotAnEnvironment { .. })
            ));
        }
    }

    #[test]
    fn detect_rules() {
        let uv_tool = temp_env(&[("pyproject.toml", "[tool.uv]\nmanaged = true\n")]);
        assert_eq!(detect(uv_tool.path()).unwrap(), BackendKind::Uv);
        let uv_lock = temp_env(&[
            ("pyproject.toml", "[tool.ruff]\nline-length = 99\n"),
            ("uv.lock", "version = 1\n"),
        ]);
        assert_eq!(detect(uv_lock.path()).unwrap(), BackendKind::Uv);
        // [tool.pixi] wins over [tool.uv] and uv.lock.
        let both = temp_env(&[
            (
                "pyproject.toml",
                "[project]\nname = \"x\"\n[tool.uv]\n[tool.pixi.workspace]\n",
            ),
            ("uv.lock", "version = 1\n"),
        ]);
        assert_eq!(detect(both.path()).unwrap(), BackendKind::Pixi);
        // pixi.toml wins over pyproject.toml.
        let pixi_first = temp_env(&[
            ("pixi.toml", "[workspace]\nname = \"x\"\n"),
            ("pyproject.toml", "[project]\nname = \"x\"\n"),
        ]);
        assert_eq!(detect(pixi_first.path()).unwrap(), BackendKind::Pixi);
        let m = parse_dir(pixi_first.path(), BackendKind::Pixi).unwrap();
        assert_eq!(m.format, ManifestFormat::PixiToml);
    }

    #[test]
    fn uv_dev_groups_and_legacy_dev_dependencies() {
        let env = temp_env(&[(
            "pyproject.toml",
            r#"
[project]
name = "x"
dependencies = ["Zeta>=1", "alpha"]

[dependency-groups]
dev = ["pytest>=8", { include-group = "lint" }]
lint = ["ruff"]

[tool.uv]
dev-dependencies = ["mypy==1.10"]
"#,
        )]);
        let m = parse_dir(env.path(), BackendKind::Uv).unwrap();
        assert_eq!(m.version, None);
        assert_eq!(m.python, None);
        assert_eq!(
            m.dependencies,
            vec![
                dep("alpha", "", Pypi),
                dep("Zeta", ">=1", Pypi),
                dep("mypy", "==1.10", Dev),
                dep("pytest", ">=8", Dev),
            ]
        );
    }

    #[test]
    fn pixi_project_table_and_python_table_spec() {
        let env = temp_env(&[(
            "pyproject.toml",
            r#"
[project]
name = "from-project"
requires-python = ">=3.10"

[tool.pixi.project]
name = "from-pixi"
channels = [{ channel = "conda-forge", priority = 2 }]
platforms = ["win-64"]

[tool.pixi.dependencies]
python = { version = "3.12.*", channel = "conda-forge" }
"#,
        )]);
        let m = parse_dir(env.path(), BackendKind::Pixi).unwrap();
        assert_eq!(m.table, "project");
        assert_eq!(m.name.as_deref(), Some("from-pixi"));
        assert_eq!(m.python.as_deref(), Some("3.12.*"));
        assert_eq!(m.channels, strings(&["conda-forge"]));
        assert_eq!(
            m.dependencies,
            vec![dep("python", "version 3.12.*, channel conda-forge", Conda)]
        );
    }

    #[test]
    fn pixi_needs_exactly_one_workspace_table() {
        let both = temp_env(&[(
            "pixi.toml",
            "[workspace]\nname = \"a\"\n[project]\nname = \"b\"\n",
        )]);
        let neither = temp_env(&[("pixi.toml", "[dependencies]\nalpha = \"*\"\n")]);
        let no_tool_pixi = temp_env(&[("pyproject.toml", "[project]\nname = \"x\"\n")]);
        for dir in [both.path(), neither.path(), no_tool_pixi.path()] {
            assert!(
                matches!(
                    parse_dir(dir, BackendKind::Pixi),
                    Err(BackendError::BadManifest { .. })
                ),
                "{}",
                dir.display()
            );
        }
    }

    #[test]
    fn carried_files_need_the_lock() {
        let files = carried_files(BackendKind::Uv, &fixture("uv-project")).unwrap();
        assert_eq!(
            files,
            vec![PathBuf::from("pyproject.toml"), PathBuf::from("uv.lock")]
        );
        for name in ["pixi-workspace", "pixi-project"] {
            match carried_files(BackendKind::Pixi, &fixture(name)) {
                Err(e @ BackendError::NotAnEnvironment { .. }) => {
                    let text = e.to_string();
                    assert!(
                        text.contains("no pixi.lock: run `pkg env sync` or `pkg env add` first"),
                        "{text}"
                    );
                }
                other => panic!("expected NotAnEnvironment, got {other:?}"),
            }
        }
        match carried_files(BackendKind::Uv, &fixture("plain-python")) {
            Err(e) => assert!(e.to_string().contains("no uv.lock: run `pkg env sync`")),
            Ok(files) => panic!("got {files:?}"),
        }
        let pixi_pyproject = temp_env(&[
            ("pyproject.toml", "[tool.pixi.workspace]\n"),
            ("pixi.lock", "version: 6\n"),
        ]);
        assert_eq!(
            carried_files(BackendKind::Pixi, pixi_pyproject.path()).unwrap(),
            vec![PathBuf::from("pyproject.toml"), PathBuf::from("pixi.lock")]
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            carried_files(BackendKind::Pixi, empty.path()),
            Err(BackendError::NotAnEnvironment { .. })
        ));
    }

    #[test]
    fn check_spec_uv() {
        let accept = [
            "alpha",
            "alpha>=1.0",
            "alpha==1.0.0",
            "alpha>=1,<2",
            "alpha ~= 1.2",
            "Alpha_Beta.x",
            "numpy==1.26.*",
            "foo!=1.5",
            "foo<2",
            "foo>1",
            "foo===1.0",
            "foo>=1.0.post1",
            "requests[socks]>=2.31",
            "requests[socks, use-chardet]",
            "beta>=1.0; python_version >= '3.8'",
            "beta ; sys_platform == 'linux'",
            "foo; rm -rf /",
            "pkg @ https://example.com/pkg-1.0-py3-none-any.whl",
            "pkg @ file:///tmp/pkg-1.0-py3-none-any.whl ; python_version > '3'",
        ];
        for spec in accept {
            assert!(check_spec(BackendKind::Uv, spec).is_ok(), "{spec} rejected");
        }
        let reject = [
            "",
            "   ",
            "-e",
            "--index-url=http://x",
            "-r requirements.txt",
            "foo bar baz",
            "foo>>1",
            "foo===",
            "foo>=",
            "foo>=1,",
            "foo=1.0",
            "foo>=abc",
            "f@o",
            "foo @ ",
            "foo @ not-a-url",
            "foo;",
            "foo[bar",
            "foo[b@r]",
            ".foo",
            "foo-",
            "foo\n",
            "foo\tbar",
            "foo\u{7}",
            "./local/path",
        ];
        for spec in reject {
            match check_spec(BackendKind::Uv, spec) {
                Err(BackendError::InvalidSpec { spec: s, reason }) => {
                    assert_eq!(s, spec);
                    assert!(!reason.is_empty());
                }
                other => panic!("{spec:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn check_spec_pixi() {
        let accept = [
            "alpha",
            "alpha>=1.0",
            "alpha 1.2.*",
            "alpha>=1,<2",
            "alpha==1.0=h0_0",
            "alpha=1.0",
            "alpha 1.0 h0_0",
            "alpha 1.0|1.2",
            "gamma==0.1.0",
            "python 3.11.*",
            "_openmp_mutex",
            "python=3.12",
            "numpy *",
        ];
        for spec in accept {
            assert!(
                check_spec(BackendKind::Pixi, spec).is_ok(),
                "{spec} rejected"
            );
        }
        let reject = [
            "",
            " ",
            "-e",
            "--channel=x",
            "foo bar baz",
            "foo>>1",
            "foo===",
            "f@o",
            "foo; rm -rf /",
            "alpha>=1.0; python_version > '3'",
            "foo==1.0=",
            "foo 1.0 b c",
            "foo[extra]",
            "foo>=",
            "foo\r",
            ".foo",
        ];
        for spec in reject {
            match check_spec(BackendKind::Pixi, spec) {
                Err(BackendError::InvalidSpec { spec: s, .. }) => assert_eq!(s, spec),
                other => panic!("{spec:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn serialises_with_lowercase_names() {
        let m = parse_dir(&fixture("pixi-project"), BackendKind::Pixi).unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["backend"], "pixi");
        assert_eq!(json["format"], "pixi-toml");
        assert_eq!(json["table"], "project");
        assert_eq!(json["dependencies"][0]["kind"], "conda");
        let m = parse_dir(&fixture("uv-project"), BackendKind::Uv).unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["format"], "pyproject");
        assert_eq!(json["dependencies"][2]["kind"], "dev");
    }

    #[test]
    fn names_are_normalised_for_sorting_only() {
        assert_eq!(normalise("Typing_Extensions"), "typing-extensions");
        assert_eq!(normalise("a.-_b"), "a-b");
        assert_eq!(line_column("ab\ncdé f", 8), (2, 5));
    }
}
