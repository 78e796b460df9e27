//! Which database a `--db` URL names: `postgres://...` (or
//! `postgresql://`), `mysql://...` (MariaDB or MySQL), or `sqlite:PATH`.
//! Messages show a URL with its password hidden.

use std::path::PathBuf;

/// A database to read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// A PostgreSQL connection URL.
    Postgres(String),
    /// A MariaDB or MySQL connection URL.
    Mysql(String),
    /// A SQLite file.
    Sqlite(PathBuf),
}

/// The engines, for messages and type mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MariaDB or MySQL.
    Mysql,
    /// SQLite.
    Sqlite,
}

impl Engine {
    /// The engine's name as records spell it.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Sqlite => "sqlite",
        }
    }
}

impl DbUrl {
    /// Parses `--db`.
    pub fn parse(text: &str) -> Result<DbUrl, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite: needs a file path (sqlite:PATH)".into());
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        let parsed = url::Url::parse(text).map_err(|e| {
            format!(
                "`{}` is not a database URL ({e}); give postgres://USER@HOST:PORT/DB, mysql://USER@HOST:PORT/DB or sqlite:PATH",
                redact(text)
            )
        })?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(format!("`{}` names no host", redact(text)));
        }
        if parsed.path().trim_start_matches('/').is_empty() {
            return Err(format!("`{}` names no database (…/DB)", redact(text)));
        }
        match parsed.scheme() {
            "postgres" | "postgresql" => Ok(DbUrl::Postgres(text.to_string())),
            "mysql" | "mariadb" => Ok(DbUrl::Mysql(text.replacen("mariadb://", "mysql://", 1))),
            other => Err(format!(
                "`{other}:` is not a database pkg knows: use postgres://, mysql:// or sqlite:"
            )),
        }
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        match self {
            DbUrl::Postgres(_) => Engine::Postgres,
            DbUrl::Mysql(_) => Engine::Mysql,
            DbUrl::Sqlite(_) => Engine::Sqlite,
        }
    }

    /// The URL with its password hidden, for messages and the history.
    pub fn shown(&self) -> String {
        match self {
            DbUrl::Postgres(u) | DbUrl::Mysql(u) => redact(u),
            DbUrl::Sqlite(p) => format!("sqlite:{}", p.display()),
        }
    }
}

/// `text` with any password replaced by `***`.
pub fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => match (text.find("://"), text.rfind('@')) {
            (Some(start), Some(at)) if at > start => {
                format!("{}***{}", &text[..start + 3], &text[at..])
            }
            _ => text.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_hide_passwords() {
        assert_eq!(
            DbUrl::parse("sqlite:/tmp/a.db").unwrap(),
            DbUrl::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(
            DbUrl::parse("sqlite://rel.db").unwrap().engine(),
            Engine::Sqlite
        );
        let pg = DbUrl::parse("postgres://u:secret@127.0.0.1:5432/t").unwrap();
        assert_eq!(pg.engine(), Engine::Postgres);
        assert!(!pg.shown().contains("secret"), "{}", pg.shown());
        assert_eq!(
            DbUrl::parse("mariadb://root@127.0.0.1:3306/t").unwrap(),
            DbUrl::Mysql("mysql://root@127.0.0.1:3306/t".into())
        );
        for bad in [
            "",
            "sqlite:",
            "ftp://h/db",
            "postgres://h",
            "mysql:///t",
            "nonsense",
        ] {
            assert!(DbUrl::parse(bad).is_err(), "{bad}");
        }
        let err = DbUrl::parse("oracle://u:pw@h/db").unwrap_err();
        assert!(!err.contains("pw"), "{err}");
    }
}
