//! Where the data lives: `DATABASE_URL`, which picks the backend.

use std::fmt;
use std::path::PathBuf;

/// Where the data lives; `DATABASE_URL` picks the backend.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `DATABASE_URL` read, or what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let err = |message: String| message;
        if raw.is_empty() {
            return Err(err(
                "is empty; give a file path, sqlite://PATH or postgres://…".into(),
            ));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let rest = raw.split_once("://").map(|(_, r)| r).unwrap_or("");
            if rest.is_empty() || rest == "/" {
                return Err(err(format!(
                    "'{raw}' names no PostgreSQL server or database"
                )));
            }
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(err(
                    "sqlite:// needs a file path, e.g. sqlite://./narvaro.db".into(),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(err(format!(
                "unsupported scheme '{scheme}://'; use a file path, sqlite://PATH or postgres://…"
            )));
        }
        if raw.starts_with(':') {
            return Err(err(format!(
                "'{raw}' is not a file path (in-memory databases are not supported)"
            )));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(raw)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

/// Never print a PostgreSQL password in logs or errors.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}
