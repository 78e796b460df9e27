//! A light check of package specifiers (PEP 508 for uv, conda match specs
//! for pixi) before they are handed to a tool.

use super::{BackendError, BackendKind};

/// Checks a package specifier before it is given to the tool: not empty,
/// no control characters, no leading `-` (it would be read as an option),
/// a name of `[A-Za-z0-9._-]`, then an optional requirement. For uv that is
/// PEP 508: extras `[a,b]`, comma-separated PEP 440 clauses (`==`, `>=`,
/// `<=`, `~=`, `!=`, `<`, `>`, `===`) or `@ <url>`, and a `; marker`. For
/// pixi it is a conda match spec: `name 1.2.*`, `name 1.0 build`,
/// `name>=1,<2`, `name==1.0=build`, `name=1.2`, with no `;`. This is a
/// safety net, not a full parser: the tool has the last word.
pub fn check_spec(kind: BackendKind, spec: &str) -> Result<(), BackendError> {
    check_spec_reason(kind, spec).map_err(|reason| BackendError::InvalidSpec {
        spec: spec.to_string(),
        reason,
    })
}

pub(super) fn check_spec_reason(kind: BackendKind, spec: &str) -> Result<(), String> {
    if spec.chars().any(char::is_control) {
        return Err("it contains control characters".into());
    }
    let s = spec.trim();
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.starts_with('-') {
        return Err("it starts with `-`, which the tool would read as an option".into());
    }
    let name_end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
    let (name, rest) = s.split_at(name_end);
    let Some(first) = name.chars().next() else {
        return Err("it does not start with a package name".into());
    };
    let last = name.chars().last().unwrap_or(first);
    match kind {
        BackendKind::Uv => {
            if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
                return Err(format!(
                    "the name `{name}` must start and end with a letter or digit"
                ));
            }
            check_pep508_rest(rest)
        }
        BackendKind::Pixi => {
            if !(first.is_ascii_alphanumeric() || first == '_') {
                return Err(format!(
                    "the name `{name}` must start with a letter, digit or `_`"
                ));
            }
            check_conda_rest(rest)
        }
    }
}

/// Checks what follows the name in a PEP 508 requirement.
pub(super) fn check_pep508_rest(rest: &str) -> Result<(), String> {
    let mut r = rest.trim_start();
    if let Some(after) = r.strip_prefix('[') {
        let Some(close) = after.find(']') else {
            return Err("the extras `[...]` are not closed".into());
        };
        for extra in after[..close].split(',').map(str::trim) {
            let ok = !extra.is_empty()
                && extra.chars().all(is_name_char)
                && extra.starts_with(|c: char| c.is_ascii_alphanumeric())
                && extra.ends_with(|c: char| c.is_ascii_alphanumeric());
            if !ok && !after[..close].trim().is_empty() {
                return Err(format!("`{extra}` is not a valid extra name"));
            }
        }
        r = after[close + 1..].trim_start();
    }
    if r.is_empty() {
        return Ok(());
    }
    if let Some(url) = r.strip_prefix('@') {
        let url = url.trim_start();
        let end = url.find(char::is_whitespace).unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        if !looks_like_url(url) {
            return Err("`@` must be followed by a URL such as https://host/file.whl".into());
        }
        let after = after.trim_start();
        return match after.strip_prefix(';') {
            Some(marker) => check_marker(marker),
            None if after.is_empty() => Ok(()),
            None => Err(format!("unexpected `{after}` after the URL")),
        };
    }
    let (versions, marker) = match r.split_once(';') {
        Some((v, m)) => (v, Some(m)),
        None => (r, None),
    };
    let versions = versions.trim();
    if !versions.is_empty() {
        let inner = versions
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .unwrap_or(versions);
        for clause in inner.split(',') {
            check_pep440_clause(clause.trim())?;
        }
    }
    match marker {
        Some(m) => check_marker(m),
        None => Ok(()),
    }
}

/// Checks one PEP 440 clause such as `>=1.0` or `==1.2.*`.
pub(super) fn check_pep440_clause(clause: &str) -> Result<(), String> {
    const OPS: [&str; 8] = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];
    if clause.is_empty() {
        return Err("a version clause is empty (stray `,`?)".into());
    }
    let Some(op) = OPS.iter().find(|op| clause.starts_with(**op)) else {
        return Err(format!(
            "`{clause}` lacks a comparison operator (==, >=, <=, ~=, !=, <, >, ===)"
        ));
    };
    let version = clause[op.len()..].trim();
    if version.is_empty() {
        return Err(format!("`{op}` must be followed by a version"));
    }
    if !is_version(version) {
        return Err(format!(
            "`{op}` must be followed by a version, not `{version}`"
        ));
    }
    Ok(())
}

/// Checks an environment marker (the part after `;`) loosely: uv parses it.
pub(super) fn check_marker(marker: &str) -> Result<(), String> {
    let m = marker.trim();
    if m.starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '(' | '\'' | '"')) {
        Ok(())
    } else {
        Err("`;` must be followed by an environment marker such as python_version >= '3.9'".into())
    }
}

/// Checks what follows the name in a conda match spec.
pub(super) fn check_conda_rest(rest: &str) -> Result<(), String> {
    if rest.contains(';') {
        return Err("`;` has no meaning in a conda specifier".into());
    }
    if rest.is_empty() {
        return Ok(());
    }
    let spaced = rest.starts_with(char::is_whitespace);
    let r = rest.trim_start();
    if !spaced && !r.starts_with(['=', '<', '>', '!', '~']) {
        let unexpected = r.chars().next().unwrap_or(' ');
        return Err(format!("unexpected `{unexpected}` after the name"));
    }
    let after = conda_version_expr(r)?;
    let build = if let Some(b) = after.strip_prefix('=') {
        b
    } else if after.starts_with(char::is_whitespace) {
        after.trim()
    } else if after.is_empty() {
        return Ok(());
    } else {
        return Err(format!("unexpected `{after}` after the version"));
    };
    let build_ok = !build.is_empty()
        && build
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '+'));
    if build_ok {
        Ok(())
    } else if build.is_empty() {
        Err("`=` after the version must be followed by a build string".into())
    } else {
        Err(format!("`{build}` is not a build string"))
    }
}

/// Consumes conda version constraints joined by `,` or `|`, returning the
/// rest.
pub(super) fn conda_version_expr(mut r: &str) -> Result<&str, String> {
    const OPS: [&str; 8] = ["==", "!=", ">=", "<=", "~=", ">", "<", "="];
    loop {
        let op = OPS
            .iter()
            .find(|op| r.starts_with(**op))
            .copied()
            .unwrap_or("");
        r = &r[op.len()..];
        let end = r
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '+' | '!' | '_'))
            })
            .unwrap_or(r.len());
        let version = &r[..end];
        if !version.starts_with(|c: char| c.is_ascii_digit() || c == '*') {
            return Err(if op.is_empty() {
                format!(
                    "`{}` is not a version",
                    r.split_whitespace().next().unwrap_or(r)
                )
            } else {
                format!("`{op}` must be followed by a version")
            });
        }
        r = &r[end..];
        match r.strip_prefix([',', '|']) {
            Some(next) => r = next,
            None => return Ok(r),
        }
    }
}

/// Whether `v` looks like a PEP 440 version (or wildcard prefix).
pub(super) fn is_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '+' | '!' | '_' | '-'))
}

/// Whether `u` looks like `scheme://something`.
pub(super) fn looks_like_url(u: &str) -> bool {
    let Some((scheme, rest)) = u.split_once("://") else {
        return false;
    };
    !rest.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// A character allowed in PEP 508 and conda package names.
pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}
