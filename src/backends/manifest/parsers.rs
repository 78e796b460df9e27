//! Turning pixi.toml and pyproject.toml into an [`EnvManifest`](super::EnvManifest).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::de::{self};
use toml::{Table, Value};

use super::{BackendError, BackendKind};

use super::file_models::*;
use super::spec_check::is_name_char;
use super::*;

pub(super) fn parse_pixi_toml(path: &Path) -> Result<EnvManifest, BackendError> {
    let file: PixiTomlFile = read_toml(path)?;
    let (table, ws) = pick_workspace(path, file.workspace, file.project, "")?;
    let (dependencies, python_dep) = conda_and_pypi(file.dependencies, file.pypi_dependencies);
    let python = conda_python(python_dep.as_ref());
    Ok(EnvManifest {
        backend: BackendKind::Pixi,
        file: path.to_path_buf(),
        format: ManifestFormat::PixiToml,
        table: table.to_string(),
        name: ws.name,
        version: ws.version,
        python,
        channels: ws.channels.into_iter().map(|c| c.0).collect(),
        platforms: ws.platforms,
        dependencies,
    })
}

pub(super) fn parse_pixi_pyproject(path: &Path) -> Result<EnvManifest, BackendError> {
    let file: PyprojectFile = read_toml(path)?;
    let Some(pixi) = file.tool.pixi else {
        return Err(bad(
            path,
            "no [tool.pixi] table, so pixi does not manage it".into(),
        ));
    };
    let (table, ws) = pick_workspace(path, pixi.workspace, pixi.project, "tool.pixi.")?;
    let project = file.project.unwrap_or_default();
    let (mut dependencies, python_dep) = conda_and_pypi(pixi.dependencies, pixi.pypi_dependencies);
    dependencies.extend(
        project
            .dependencies
            .iter()
            .map(|r| pep508(r, DependencyKind::Pypi)),
    );
    let python = conda_python(python_dep.as_ref()).or(project.requires_python);
    Ok(EnvManifest {
        backend: BackendKind::Pixi,
        file: path.to_path_buf(),
        format: ManifestFormat::Pyproject,
        table: table.to_string(),
        name: ws.name.or(project.name),
        version: ws.version.or(project.version),
        python,
        channels: ws.channels.into_iter().map(|c| c.0).collect(),
        platforms: ws.platforms,
        dependencies,
    })
}

pub(super) fn parse_uv_pyproject(path: &Path) -> Result<EnvManifest, BackendError> {
    let file: PyprojectFile = read_toml(path)?;
    let project = file.project.unwrap_or_default();
    let mut dependencies: Vec<Dependency> = project
        .dependencies
        .iter()
        .map(|r| pep508(r, DependencyKind::Pypi))
        .collect();
    let groups_dev = file.dependency_groups.get("dev").into_iter().flatten();
    dependencies.extend(
        groups_dev
            .filter_map(|e| e.0.as_deref())
            .map(|r| pep508(r, DependencyKind::Dev)),
    );
    if let Some(uv) = &file.tool.uv {
        dependencies.extend(
            uv.dev_dependencies
                .iter()
                .map(|r| pep508(r, DependencyKind::Dev)),
        );
    }
    Ok(EnvManifest {
        backend: BackendKind::Uv,
        file: path.to_path_buf(),
        format: ManifestFormat::Pyproject,
        table: "project".to_string(),
        name: project.name,
        version: project.version,
        python: project.requires_python,
        channels: Vec::new(),
        platforms: Vec::new(),
        dependencies,
    })
}

/// The one of `[workspace]` and `[project]` that is present.
pub(super) fn pick_workspace(
    path: &Path,
    workspace: Option<PixiWorkspace>,
    project: Option<PixiWorkspace>,
    prefix: &str,
) -> Result<(&'static str, PixiWorkspace), BackendError> {
    match (workspace, project) {
        (Some(ws), None) => Ok(("workspace", ws)),
        (None, Some(p)) => Ok(("project", p)),
        (Some(_), Some(_)) => Err(bad(
            path,
            format!("both [{prefix}workspace] and [{prefix}project]; pixi accepts only one"),
        )),
        (None, None) => Err(bad(
            path,
            format!("no [{prefix}workspace] table (or [{prefix}project], as older pixi writes)"),
        )),
    }
}

/// pixi's conda and PyPI dependencies, and the `python` conda dependency's
/// value if there is one.
pub(super) fn conda_and_pypi(
    conda: BTreeMap<String, SpecValue>,
    pypi: BTreeMap<String, SpecValue>,
) -> (Vec<Dependency>, Option<SpecValue>) {
    let mut out = Vec::with_capacity(conda.len() + pypi.len());
    let mut python = None;
    for (name, value) in conda {
        out.push(Dependency {
            name: name.clone(),
            spec: render_spec(&value),
            kind: DependencyKind::Conda,
        });
        if name.eq_ignore_ascii_case("python") {
            python = Some(value);
        }
    }
    out.extend(pypi.into_iter().map(|(name, value)| Dependency {
        spec: render_spec(&value),
        name,
        kind: DependencyKind::Pypi,
    }));
    (out, python)
}

/// The Python requirement a `python` conda dependency states.
pub(super) fn conda_python(value: Option<&SpecValue>) -> Option<String> {
    match value? {
        SpecValue::Text(s) => Some(s.clone()),
        SpecValue::Table(t) => match t.get("version") {
            Some(Value::String(v)) => Some(v.clone()),
            _ => Some(render_table(t)),
        },
    }
}

/// A dependency value as text: strings as written (`"*"` as `""`), tables
/// as `key value` pairs with the usual keys first.
pub(super) fn render_spec(value: &SpecValue) -> String {
    match value {
        SpecValue::Text(s) if s.trim() == "*" => String::new(),
        SpecValue::Text(s) => s.trim().to_string(),
        SpecValue::Table(t) => render_table(t),
    }
}

pub(super) fn render_table(t: &Table) -> String {
    const FIRST: [&str; 14] = [
        "version",
        "build",
        "build-number",
        "channel",
        "subdir",
        "path",
        "url",
        "git",
        "branch",
        "tag",
        "rev",
        "subdirectory",
        "extras",
        "editable",
    ];
    let known = FIRST.iter().filter_map(|k| t.get_key_value(*k));
    let others = t.iter().filter(|(k, _)| !FIRST.contains(&k.as_str()));
    known
        .chain(others)
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k} {s}"),
            other => format!("{k} {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a PEP 508 requirement at the first character that cannot be part
/// of a name; the rest (extras, versions, markers) is the spec.
pub(super) fn pep508(requirement: &str, kind: DependencyKind) -> Dependency {
    let r = requirement.trim();
    let end = r.find(|c: char| !is_name_char(c)).unwrap_or(r.len());
    Dependency {
        name: r[..end].to_string(),
        spec: r[end..].trim().to_string(),
        kind,
    }
}

/// Reads and deserialises a TOML file; syntax errors and values of the
/// wrong type name the line and column.
pub(super) fn read_toml<T: de::DeserializeOwned>(path: &Path) -> Result<T, BackendError> {
    let text = fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read it: {e}")))?;
    let locate = |e: toml::de::Error, what: &str| {
        let message = e.message().trim();
        let reason = match e.span() {
            Some(span) => {
                let (line, column) = line_column(&text, span.start);
                format!("{what} at line {line}, column {column}: {message}")
            }
            None => format!("{what}: {message}"),
        };
        bad(path, reason)
    };
    // Syntax first, so that "invalid TOML" only ever means a syntax error.
    toml::from_str::<Table>(&text).map_err(|e| locate(e, "invalid TOML"))?;
    toml::from_str(&text).map_err(|e| locate(e, "unexpected value"))
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let prefix = &bytes[..offset.min(bytes.len())];
    let line_start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let current = &prefix[line_start..];
    let column = std::str::from_utf8(current).map_or(current.len(), |s| s.chars().count()) + 1;
    (line, column)
}

pub(super) fn bad(path: &Path, reason: String) -> BackendError {
    BackendError::BadManifest {
        path: path.to_path_buf(),
        reason,
    }
}

pub(super) fn not_env(dir: &Path, reason: &str) -> BackendError {
    BackendError::NotAnEnvironment {
        dir: dir.to_path_buf(),
        reason: reason.to_string(),
    }
}
