//! The `environments` key (pkg): Python environments a package carries.
//! Each entry names the environment, its backend, its directory under
//! `/environments/` and the files there (the tool's manifest and lock
//! file), every one of which is digested like any other package file.
//!
//! ```json
//! "environments": [
//!   {"name": "app", "backend": "uv", "path": "/environments/app",
//!    "files": ["/environments/app/pyproject.toml", "/environments/app/uv.lock"]}
//! ]
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::paths::check_syntax;
use crate::model::slug::{escape, validate_slug};

/// The directory environments live under.
pub const ENVIRONMENTS_DIR: &str = "/environments";

/// One carried environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The environment's name (a slug).
    pub name: String,
    /// `uv` or `pixi`.
    pub backend: String,
    /// Its directory in the package: `/environments/NAME`.
    pub path: String,
    /// Its files, as package paths under `path`.
    pub files: Vec<String>,
}

impl Environment {
    /// The entry for environment `name` of `backend` holding `files`
    /// (names relative to the environment directory).
    pub fn new(name: &str, backend: &str, files: &[String]) -> Environment {
        let path = format!("{ENVIRONMENTS_DIR}/{name}");
        Environment {
            name: name.to_string(),
            backend: backend.to_string(),
            files: files.iter().map(|f| format!("{path}/{f}")).collect(),
            path,
        }
    }

    /// The JSON object written into the manifest.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A file's name relative to the environment directory.
    pub fn relative<'a>(&self, file: &'a str) -> &'a str {
        file.strip_prefix(&self.path)
            .map(|rest| rest.trim_start_matches('/'))
            .unwrap_or(file)
    }
}

/// Reads and checks the `environments` entries; returns them and, per
/// problem, the field and the message.
pub fn parse_environments(values: &[Value]) -> (Vec<Environment>, Vec<(String, String)>) {
    let mut environments = Vec::new();
    let mut problems = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let field = format!("environments[{i}]");
        let env: Environment = match serde_json::from_value(value.clone()) {
            Ok(env) => env,
            Err(e) => {
                problems.push((field, format!("is not an environment entry: {e}")));
                continue;
            }
        };
        let before = problems.len();
        if let Err(e) = validate_slug(&env.name) {
            problems.push((format!("{field}.name"), e.to_string()));
        }
        if !matches!(env.backend.as_str(), "uv" | "pixi") {
            problems.push((
                format!("{field}.backend"),
                format!(
                    "`{}` is not a backend pkg knows (uv, pixi)",
                    escape(&env.backend)
                ),
            ));
        }
        if env.path != format!("{ENVIRONMENTS_DIR}/{}", env.name) {
            problems.push((
                format!("{field}.path"),
                format!("must be `{ENVIRONMENTS_DIR}/{}`", escape(&env.name)),
            ));
        }
        if env.files.is_empty() {
            problems.push((
                format!("{field}.files"),
                "must name the environment's files".into(),
            ));
        }
        for (j, file) in env.files.iter().enumerate() {
            let inside = file
                .strip_prefix(&env.path)
                .is_some_and(|rest| rest.starts_with('/'));
            if let Err(e) = check_syntax(file) {
                problems.push((format!("{field}.files[{j}]"), e));
            } else if !inside {
                problems.push((
                    format!("{field}.files[{j}]"),
                    format!("`{}` is not under `{}`", escape(file), escape(&env.path)),
                ));
            }
        }
        if environments
            .iter()
            .any(|e: &Environment| e.name == env.name)
        {
            problems.push((
                format!("{field}.name"),
                format!("environment `{}` is listed twice", escape(&env.name)),
            ));
        }
        if problems.len() == before {
            environments.push(env);
        }
    }
    (environments, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn good_entries_parse() {
        let env = Environment::new("app", "uv", &["pyproject.toml".into(), "uv.lock".into()]);
        let (envs, problems) = parse_environments(&[env.to_value()]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(envs, std::slice::from_ref(&env));
        assert_eq!(env.relative("/environments/app/uv.lock"), "uv.lock");
    }

    #[test]
    fn bad_entries_are_problems() {
        let values = [
            json!("not an object"),
            json!({"name": "a b", "backend": "uv", "path": "/environments/a b", "files": ["/environments/a b/x"]}),
            json!({"name": "x", "backend": "conda", "path": "/environments/x", "files": ["/environments/x/f"]}),
            json!({"name": "y", "backend": "uv", "path": "/elsewhere", "files": ["/environments/y/f"]}),
            json!({"name": "z", "backend": "uv", "path": "/environments/z", "files": ["/environments/z/../../etc"]}),
            json!({"name": "w", "backend": "uv", "path": "/environments/w", "files": ["/units/w.json"]}),
            json!({"name": "v", "backend": "uv", "path": "/environments/v", "files": []}),
            json!({"name": "u", "backend": "uv", "path": "/environments/u", "files": ["/environments/u/f"], "extra": 1}),
        ];
        let (envs, problems) = parse_environments(&values);
        assert!(envs.is_empty(), "{envs:?}");
        let text = format!("{problems:?}");
        for needle in [
            "environments[0]",
            "environments[1].name",
            "environments[2].backend",
            "environments[3].path",
            "environments[4].files[0]",
            "environments[5].files[0]",
            "environments[6].files",
            "environments[7]",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }
}
