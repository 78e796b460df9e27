//! `--store`: `sqlite:PATH` or `etcd:URL[,URL...]`.

use std::fmt;
use std::path::PathBuf;

use super::StoreError;

/// Where the server's state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// One SQLite file.
    Sqlite(PathBuf),
    /// An etcd cluster's client endpoints.
    Etcd(Vec<String>),
}

impl StoreUrl {
    /// Parses `sqlite:PATH` or `etcd:http://HOST:PORT[,http://...]` (a
    /// bare `HOST:PORT` means `http://HOST:PORT`).
    pub fn parse(text: &str) -> Result<StoreUrl, StoreError> {
        let bad = |why: &str| StoreError::BadUrl(text.to_string(), why.to_string());
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad("a SQLite store needs a path: sqlite:PATH"));
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if let Some(list) = text.strip_prefix("etcd:") {
            let list = list.strip_prefix("//").unwrap_or(list);
            let mut endpoints = Vec::new();
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let endpoint = if part.contains("://") {
                    part.to_string()
                } else {
                    format!("http://{part}")
                };
                let parsed = ::url::Url::parse(&endpoint)
                    .map_err(|e| bad(&format!("`{part}` is not an endpoint URL ({e})")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(bad(&format!("`{part}` is not an http(s) endpoint")));
                }
                endpoints.push(endpoint);
            }
            if endpoints.is_empty() {
                return Err(bad(
                    "an etcd store needs endpoints: etcd:HOST:PORT[,HOST:PORT...]",
                ));
            }
            return Ok(StoreUrl::Etcd(endpoints));
        }
        Err(bad(
            "a store is sqlite:PATH or etcd:HOST:PORT[,HOST:PORT...]",
        ))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUrl::Etcd(endpoints) => write!(f, "etcd:{}", endpoints.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_urls() {
        assert_eq!(
            StoreUrl::parse("sqlite:/tmp/x.db").ok(),
            Some(StoreUrl::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            StoreUrl::parse("etcd:127.0.0.1:2379,http://h:1").ok(),
            Some(StoreUrl::Etcd(vec![
                "http://127.0.0.1:2379".into(),
                "http://h:1".into()
            ]))
        );
        for bad in ["sqlite:", "etcd:", "redis://x", "etcd:ftp://x"] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
