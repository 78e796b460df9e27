//! Credentials for an OCI registry, for one host only:
//! `PKG_OCI_USERNAME` and `PKG_OCI_PASSWORD` when set (for the host
//! `PKG_OCI_REGISTRY` names only, when it is set), else the entry
//! for that host in the docker config file (`$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`, as `docker login` writes it), else none.
//! The client sends them to that registry (and to the token service it
//! names), never to another host.

use std::path::PathBuf;

use base64::Engine as _;

/// The environment variable holding the user name.
pub const USERNAME_ENV: &str = "PKG_OCI_USERNAME";
/// The environment variable holding the password or token.
pub const PASSWORD_ENV: &str = "PKG_OCI_PASSWORD";
/// The environment variable naming the one registry (`HOST[:PORT]`) the
/// variables' credentials are for; unset, they go to any registry reached.
pub const REGISTRY_ENV: &str = "PKG_OCI_REGISTRY";

/// Credentials for a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// None: anonymous access.
    Anonymous,
    /// A user name and a password (or a token used as one).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// The credentials for `host` (with its port, as in the reference).
pub fn credentials_for(host: &str) -> Result<Credentials, AuthError> {
    let username = std::env::var(USERNAME_ENV).ok().filter(|v| !v.is_empty());
    let password = std::env::var(PASSWORD_ENV).ok().filter(|v| !v.is_empty());
    match (username, password) {
        _ if !environment_is_for(host) => {}
        (Some(username), Some(password)) => return Ok(Credentials::Basic { username, password }),
        (Some(_), None) | (None, Some(_)) => {
            return Err(AuthError(format!(
                "set both {USERNAME_ENV} and {PASSWORD_ENV}, or neither"
            )));
        }
        (None, None) => {}
    }
    match docker_config_path() {
        Some(path) if path.is_file() => from_docker_config(&path, host),
        _ => Ok(Credentials::Anonymous),
    }
}

/// Whether the variables' credentials are for `host`: `PKG_OCI_REGISTRY`
/// is unset, or names `host` (with its port).
fn environment_is_for(host: &str) -> bool {
    std::env::var(REGISTRY_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .is_none_or(|only| key_host(only.trim()).eq_ignore_ascii_case(host))
}

/// Whether `host`'s credentials come from `PKG_OCI_USERNAME` and
/// `PKG_OCI_PASSWORD` (rather than the docker config), for messages.
pub fn from_environment(host: &str) -> bool {
    std::env::var_os(USERNAME_ENV).is_some_and(|v| !v.is_empty()) && environment_is_for(host)
}

/// The docker config file: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("config.json")),
        _ => dirs::home_dir().map(|h| h.join(".docker").join("config.json")),
    }
}

/// The host a docker config `auths` key names: `https://host/v1/` and
/// `host` alike.
fn key_host(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// The entry for `host` in the docker config file at `path`.
fn from_docker_config(path: &std::path::Path, host: &str) -> Result<Credentials, AuthError> {
    use std::io::Read as _;
    let bad = |reason: String| AuthError(format!("docker config {}: {reason}", path.display()));
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 20).read_to_string(&mut text))
        .map_err(|e| bad(e.to_string()))?;
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
        return Ok(Credentials::Anonymous);
    };
    let Some(entry) = auths
        .iter()
        .find(|(key, _)| key_host(key).eq_ignore_ascii_case(host))
        .map(|(_, v)| v)
    else {
        return Ok(Credentials::Anonymous);
    };
    if let (Some(username), Some(password)) = (
        entry.get("username").and_then(|v| v.as_str()),
        entry.get("password").and_then(|v| v.as_str()),
    ) {
        return Ok(Credentials::Basic {
            username: username.to_string(),
            password: password.to_string(),
        });
    }
    let Some(encoded) = entry.get("auth").and_then(|v| v.as_str()) else {
        return Ok(Credentials::Anonymous);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad(format!("the `auth` of `{host}` is not base64")))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| bad(format!("the `auth` of `{host}` is not UTF-8")))?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or_else(|| bad(format!("the `auth` of `{host}` is not USER:PASSWORD")))?;
    Ok(Credentials::Basic {
        username: username.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_entries_match_their_host_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("ann:s3cret");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"https://reg.example:5000/v1/":{{"auth":"{auth}"}},"other.example":{{"username":"bob","password":"pw"}},"bad.example":{{"auth":"!!"}}}}}}"#
            ),
        )
        .unwrap();
        assert_eq!(
            from_docker_config(&path, "reg.example:5000").unwrap(),
            Credentials::Basic {
                username: "ann".into(),
                password: "s3cret".into()
            }
        );
        assert_eq!(
            from_docker_config(&path, "other.example").unwrap(),
            Credentials::Basic {
                username: "bob".into(),
                password: "pw".into()
            }
        );
        // Another host, or the same name on another port: nothing.
        assert_eq!(
            from_docker_config(&path, "reg.example").unwrap(),
            Credentials::Anonymous
        );
        assert_eq!(
            from_docker_config(&path, "evil.example").unwrap(),
            Credentials::Anonymous
        );
        let err = from_docker_config(&path, "bad.example")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not base64"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(
            from_docker_config(&path, "x")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }
}
