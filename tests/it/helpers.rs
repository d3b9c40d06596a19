//! The test harness: fresh databases, the real server on port 0, a client.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

use diesel::prelude::*;
use narvaro::config::{Config, DatabaseUrl};
use narvaro::startup::{open_state, Application};

pub const PG_ENV: &str = "NARVARO_TEST_POSTGRES_URL";

/// When the tests run, as far as the service knows: Wednesday 25 November 2026, 08:15 in
/// Stockholm (a school day of the autumn term, before the lessons of the morning end).
pub fn test_moment() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 25, 7, 15, 0)
        .single()
        .expect("a valid moment")
}

/// The school day the tests run on (`test_moment` in Stockholm).
pub fn test_today() -> chrono::NaiveDate {
    test_moment()
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive()
}
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The backends to run on. Without PostgreSQL this says so loudly, once, past the
/// test harness's output capture.
pub fn backends() -> Vec<Kind> {
    static WARN: Once = Once::new();
    if std::env::var(PG_ENV)
        .map(|v| !v.is_empty())
        .unwrap_or(false)
    {
        vec![Kind::Sqlite, Kind::Postgres]
    } else {
        WARN.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !! {PG_ENV} is not set: every PostgreSQL test was SKIPPED.\n\
                 !! Only SQLite was tested. scripts/test sets it when a local server answers.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
        });
        vec![Kind::Sqlite]
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos
    )
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDb {
    pub url: DatabaseUrl,
    /// Where the application writes e-mails (.eml files) in tests.
    pub mail_dir: PathBuf,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub fn new(kind: Kind) -> Self {
        match kind {
            Kind::Sqlite => {
                let dir = std::env::temp_dir().join("narvaro-tests");
                std::fs::create_dir_all(&dir).expect("temp dir");
                let path: PathBuf = dir.join(format!("{}.db", unique("t")));
                TestDb {
                    url: DatabaseUrl::Sqlite(path),
                    mail_dir: mail_dir(),
                    pg_admin: None,
                }
            }
            Kind::Postgres => {
                let admin = pg_admin_url();
                let name = unique("narvaro_test");
                let mut conn =
                    PgConnection::establish(&admin).expect("connect to the PostgreSQL test server");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let url = database_url_with_name(&admin, &name);
                TestDb {
                    url: DatabaseUrl::Postgres(url),
                    mail_dir: mail_dir(),
                    pg_admin: Some((admin, name)),
                }
            }
        }
    }

    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(p) => p.display().to_string(),
            DatabaseUrl::Postgres(u) => u.clone(),
        }
    }

    /// The configuration every test starts from. Its clock reads Wednesday 25 November
    /// 2026, 08:15 in Stockholm, whatever day the test runs (a test may set another).
    pub fn config(&self) -> Config {
        let url = self.url_string();
        let mail = self.mail_dir.clone();
        let mut config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "NARVARO_BIND" => Some("127.0.0.1:0".into()),
            "NARVARO_JWT_SECRET" => Some(TEST_SECRET.into()),
            "NARVARO_MAIL_DIR" => Some(mail.display().to_string()),
            // tests run the outbox worker's passes themselves
            "NARVARO_OUTBOX_POLL_SECONDS" => Some("0".into()),
            _ => None,
        })
        .expect("test configuration");
        config.clock = narvaro::school::clock::Clock::starting_at(test_moment());
        config
    }

    /// Drops the PostgreSQL database now, closing every connection to it.
    pub fn drop_now(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            if let Ok(mut conn) = PgConnection::establish(&admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.drop_now();
        let _ = std::fs::remove_dir_all(&self.mail_dir);
        if let DatabaseUrl::Sqlite(path) = &self.url {
            for suffix in ["", "-wal", "-shm", ".secret"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
    }
}

fn mail_dir() -> PathBuf {
    std::env::temp_dir()
        .join("narvaro-tests")
        .join(unique("mail"))
}

/// The PostgreSQL server the tests create their databases on (`NARVARO_TEST_POSTGRES_URL`),
/// without TLS unless the URL asks for it. The tests talk to a server of their own on this
/// machine, and with TLS libpq's OpenSSL state is torn down by OpenSSL's exit handler while
/// a pool's worker thread may still be closing a connection: the test binary then aborted
/// after every test had passed ("double free or corruption", "malloc_consolidate():
/// unaligned fastbin chunk"; diesel-rs/diesel#3441). Without TLS, libpq never starts
/// OpenSSL, and there is nothing to tear down.
pub fn pg_admin_url() -> String {
    let url = std::env::var(PG_ENV).expect("PostgreSQL test URL");
    if url.contains("sslmode=") {
        url
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// `postgres://u@h:5432/postgres?x=y` with the database name replaced.
pub fn database_url_with_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// The real application on port 0 against a fresh database.
pub struct TestApp {
    pub address: String,
    pub db: TestDb,
    pub client: awc::Client,
    pub config: Config,
    /// `/metrics`' address, when the test set `metrics_bind`
    pub metrics_address: Option<String>,
    /// the running server's own outbox and database (not a second process's)
    pub outbox: actix_web::web::Data<narvaro::notices::worker::Outbox>,
    pub database: narvaro::db::Database,
}

impl TestApp {
    pub async fn spawn(kind: Kind) -> TestApp {
        Self::spawn_with(kind, |_| {}).await
    }

    /// The application with some settings changed.
    pub async fn spawn_with(kind: Kind, change: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(kind);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let mut config = db.config();
        config.base_url = format!("http://{}", listener.local_addr().expect("bound address"));
        change(&mut config);
        let kept = config.clone();
        let state = open_state(config).expect("open the test database");
        let (outbox, database) = (state.outbox.clone(), state.database.clone());
        let app = Application::with_listener(state, listener).expect("build the application");
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_address = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        actix_web::rt::spawn(app.run_until_stopped());
        // idle connections are not reused after 2 s, before the server closes its own (see
        // `Browser::open`)
        let client = awc::Client::builder()
            .connector(awc::Connector::new().conn_keep_alive(std::time::Duration::from_secs(2)))
            .disable_redirects()
            .finish();
        TestApp {
            address,
            db,
            client,
            config: kept,
            metrics_address,
            outbox,
            database,
        }
    }

    /// Another process's outbox on the same database: its own pool, as a second worker.
    pub fn worker(&self) -> actix_web::web::Data<narvaro::notices::worker::Outbox> {
        open_state(self.config.clone())
            .expect("a second state")
            .outbox
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }
}

/// Runs the built binary with the given environment (nothing inherited but PATH).
pub fn run_binary(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_narvaro"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run narvaro")
}

/// Runs a fresh database's migrations up to (not including) `version`, so a test can put
/// in what an older Närvaro held before the rest run (`narvaro::db::migrate::run`).
pub fn migrate_before(c: &mut narvaro::db::DbConn, kind: Kind, version: &str) {
    use diesel_migrations::MigrationHarness;
    use narvaro::db::DbConn;
    fn step<H, DB>(h: &mut H, source: diesel_migrations::EmbeddedMigrations, version: &str) -> bool
    where
        DB: diesel::backend::Backend,
        H: MigrationHarness<DB>,
        diesel_migrations::EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
    {
        let next = h.pending_migrations(source).unwrap();
        let Some(m) = next.first() else { return false };
        if m.name().version().to_string() == version {
            return false;
        }
        h.run_migration(&**m).unwrap();
        true
    }
    loop {
        let more = match (kind, &mut *c) {
            (Kind::Sqlite, DbConn::Sqlite(h)) => step(h, narvaro::db::migrate::SQLITE, version),
            (Kind::Postgres, DbConn::Pg(h)) => step(h, narvaro::db::migrate::POSTGRES, version),
            _ => panic!("the connection is not of {kind:?}"),
        };
        if !more {
            break;
        }
    }
}
