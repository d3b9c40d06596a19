//! One binary, two databases. `DbConn` is a diesel `MultiConnection` over SQLite and
//! PostgreSQL, so ordinary queries are written once; `on_backend!` runs a piece of code
//! against the concrete connection where the SQL really differs (bulk inserts, upserts).

pub mod fixed;
pub mod migrate;
pub mod text_enum;
pub mod url;

use std::fmt;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;

use url::DatabaseUrl;

diesel::define_sql_function! {
    /// SQL `lower()`: e-mail addresses are compared without regard to case (and the
    /// `people_email_lower` index serves that).
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection of either backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Pg(_) => Backend::Postgres,
        }
    }

    /// A transaction for a check-then-write. On SQLite it takes the write lock at `BEGIN`
    /// (`BEGIN IMMEDIATE`), so what it reads cannot change before it writes, also against
    /// another process; on PostgreSQL it is an ordinary transaction, and the rows the check
    /// depends on are locked inside it with [`DbConn::lock_person`] or guarded by a
    /// conditional update.
    pub fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        type Manager = <DbConn as Connection>::TransactionManager;
        match self {
            DbConn::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
            }
            DbConn::Pg(_) => Manager::begin_transaction(self)?,
        }
        match f(self) {
            Ok(value) => {
                Manager::commit_transaction(self)?;
                Ok(value)
            }
            Err(e) => {
                Manager::rollback_transaction(self)?;
                Err(e)
            }
        }
    }

    /// Locks a person's row until the end of the transaction (PostgreSQL `FOR UPDATE`), so
    /// that checks about that person (an overlapping report, a duplicate application) and
    /// the write they allow happen one request at a time. SQLite's write transaction
    /// already holds the whole database.
    pub fn lock_person(&mut self, id: impl Into<i64>) -> diesel::QueryResult<()> {
        let id: i64 = id.into();
        if let DbConn::Pg(c) = self {
            diesel::sql_query("SELECT id FROM people WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::BigInt, _>(id)
                .execute(c)?;
        }
        Ok(())
    }

    /// Locks an organisation's row (a school, a municipality) until the end of the
    /// transaction (PostgreSQL `FOR UPDATE`), so that checks across its rows (a holiday
    /// taken, a reason's name taken, overlapping trips) and the write they allow happen one
    /// request at a time. SQLite's writes are serialised already.
    pub fn lock_organisation(&mut self, id: impl Into<i64>) -> diesel::QueryResult<()> {
        let id: i64 = id.into();
        if let DbConn::Pg(c) = self {
            diesel::sql_query("SELECT id FROM organisations WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::BigInt, _>(id)
                .execute(c)?;
        }
        Ok(())
    }
}

/// Whether the database answers a query.
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    on_backend!(conn, c => {
        use diesel::connection::SimpleConnection;
        c.batch_execute("SELECT 1")
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Why the database could not be opened; `Display` is one line for the operator.
#[derive(Debug)]
pub enum DbError {
    Connect(String),
    Migrate(String),
    Query(diesel::result::Error),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Connect(m) | DbError::Migrate(m) => f.write_str(m),
            DbError::Query(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::Query(e)
    }
}

/// SQLite settings applied to every pooled connection; the page cache may grow to 16 MiB
/// (taken as needed, not up front), an import's transaction too (see `import::store`).
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;";

/// Ids per `IN (…)` list: well under SQLite's bound-parameter limit (32,766 since 3.32,
/// 999 before), and few enough that PostgreSQL plans each list quickly.
pub const CHUNK: usize = 900;

/// Opens connections of the backend the URL names, and nothing else: a failure carries
/// the backend's own message (libpq's or SQLite's).
#[derive(Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    pub fn new(url: DatabaseUrl) -> Self {
        Manager { url }
    }

    /// One connection with the settings every pooled one has; not migrated.
    pub fn open(&self) -> Result<DbConn, DbError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path_str = path.to_str().ok_or_else(|| {
                    DbError::Connect(format!(
                        "DATABASE_URL: '{}' is not valid UTF-8",
                        path.display()
                    ))
                })?;
                // (a `file:` URI is SQLite's own business)
                let parent = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty() && !path_str.starts_with("file:"));
                if let Some(parent) = parent {
                    if !parent.is_dir() {
                        return Err(DbError::Connect(format!(
                            "DATABASE_URL: the folder '{}' does not exist",
                            parent.display()
                        )));
                    }
                }
                let mut conn = SqliteConnection::establish(path_str).map_err(|e| {
                    DbError::Connect(format!(
                        "DATABASE_URL: cannot open SQLite database '{}': {e}",
                        path.display()
                    ))
                })?;
                // Turning a new file to WAL needs a moment alone with it: another process
                // opening the same file at that moment answers "locked" at once (SQLite's
                // busy handler does not wait for a journal-mode change), so wait here.
                retry_while_locked(|| conn.batch_execute(SQLITE_PRAGMAS))
                    .map_err(|e| sqlite_open_error(path, e))?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let conn = PgConnection::establish(&with_connect_timeout(url)).map_err(|e| {
                    DbError::Connect(format!(
                        "DATABASE_URL: cannot connect to PostgreSQL at {}: {}",
                        self.url,
                        one_line(&e.to_string())
                    ))
                })?;
                Ok(DbConn::Pg(conn))
            }
        }
    }
}

fn sqlite_open_error(path: &std::path::Path, e: diesel::result::Error) -> DbError {
    let msg = e.to_string();
    if msg.contains("readonly") || msg.contains("read-only") {
        DbError::Connect(format!(
            "DATABASE_URL: the SQLite database '{}' is read-only",
            path.display()
        ))
    } else {
        DbError::Connect(format!(
            "DATABASE_URL: cannot use SQLite database '{}': {msg}",
            path.display()
        ))
    }
}

/// libpq waits as long as the OS lets a TCP connect hang unless told otherwise; answer
/// within seconds with the real cause instead.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout=5")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        on_backend!(conn, c => c.batch_execute("SELECT 1").map_err(DbError::Query))
    }

    /// Called as a connection comes back: one in a broken state (a transaction left
    /// open, or [`retire`]d) is dropped, and the pool opens another.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        on_backend!(conn, c => R2D2Connection::is_broken(c))
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// When a pooled connection last came back from work that succeeded (kept with it in the
/// pool).
struct ProvenAt(std::time::Instant);

/// How long a connection back from work that succeeded is taken to be alive: handed out
/// again within it, it is not asked first whether the database is still there (a round
/// trip on PostgreSQL before every request's work). A database that restarts within it
/// fails at most one request per pooled connection (503); the connection is then retired.
const PROVEN_FOR: Duration = Duration::from_secs(5);

/// Marks a connection as broken, so that the pool drops it when it comes back.
fn retire(conn: &mut DbConn) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    on_backend!(conn, c => AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error())
}

/// A pooled connection for work: one that rested longer than [`PROVEN_FOR`], or whose last
/// work failed, is asked first whether the database answers, and a dead one is retired and
/// another taken.
fn checkout(pool: &Pool) -> crate::error::AppResult<PooledConn> {
    for _ in 0..=pool.max_size() {
        let mut conn = pool.get()?;
        let proven = r2d2::PooledConnection::extensions(&conn)
            .get::<ProvenAt>()
            .is_some_and(|at| at.0.elapsed() < PROVEN_FOR);
        if proven || ping(&mut conn).is_ok() {
            return Ok(conn);
        }
        retire(&mut conn);
    }
    Err(crate::error::AppError::Unavailable(
        "database: no pooled connection answers".into(),
    ))
}

/// Runs `f` on a pooled connection, and notes how it went: a connection whose work failed
/// on the server's side (not a refusal or a 404) is asked before its next use.
fn run_on<T>(
    mut conn: PooledConn,
    f: impl FnOnce(&mut DbConn) -> crate::error::AppResult<T>,
) -> crate::error::AppResult<T> {
    let out = f(&mut conn);
    let extensions = r2d2::PooledConnection::extensions_mut(&mut conn);
    if out.as_ref().is_err_and(|e| e.status().is_server_error()) {
        extensions.remove::<ProvenAt>();
    } else {
        extensions.insert(ProvenAt(std::time::Instant::now()));
    }
    out
}

/// Seconds, for waits (a free connection or the SQLite writer's turn): mostly nothing.
const WAITS: &[f64] = &[
    0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// How long database work waited before it could start: for a pooled connection, and on
/// SQLite for the one writer's turn. Collected by [`crate::ops::metrics::Metrics`].
#[derive(Clone)]
pub struct DbWaits {
    pub pool: prometheus::Histogram,
    pub write_turn: prometheus::Histogram,
}

impl Default for DbWaits {
    fn default() -> Self {
        let histogram = |name: &str, help: &str| {
            prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(name, help).buckets(WAITS.to_vec()),
            )
            .unwrap_or_else(|e| unreachable!("a fixed histogram is valid: {e}"))
        };
        DbWaits {
            pool: histogram(
                "narvaro_db_pool_wait_seconds",
                "Time database work waited for a pooled connection.",
            ),
            write_turn: histogram(
                "narvaro_db_write_turn_wait_seconds",
                "Time writing work waited for the SQLite writer's turn (nothing on PostgreSQL).",
            ),
        }
    }
}

/// The database as requests and the outbox worker use it: diesel's blocking calls run on
/// the blocking thread pool, never on the async executor.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    /// SQLite has one writer: work that writes queues here, in order, instead of in
    /// SQLite's busy handler, which sleeps in steps of up to 100 ms. None for PostgreSQL.
    write_lock: Option<std::sync::Arc<std::sync::Mutex<()>>>,
    /// how long work waited for a connection and for the writer's turn (`/metrics`)
    waits: DbWaits,
}

impl Database {
    pub fn new(pool: Pool, backend: Backend) -> Database {
        Database {
            pool,
            write_lock: (backend == Backend::Sqlite)
                .then(|| std::sync::Arc::new(std::sync::Mutex::new(()))),
            waits: DbWaits::default(),
        }
    }

    pub fn waits(&self) -> &DbWaits {
        &self.waits
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs work that reads.
    pub async fn read<T, F>(&self, f: F) -> crate::error::AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> crate::error::AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let waits = self.waits.clone();
        actix_web::web::block(move || {
            let asked = std::time::Instant::now();
            let conn = checkout(&pool)?;
            waits.pool.observe(asked.elapsed().as_secs_f64());
            run_on(conn, f)
        })
        .await?
    }

    /// Runs work that writes (on SQLite, one at a time).
    pub async fn write<T, F>(&self, f: F) -> crate::error::AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> crate::error::AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let lock = self.write_lock.clone();
        let waits = self.waits.clone();
        actix_web::web::block(move || {
            let asked = std::time::Instant::now();
            let _turn = lock.as_ref().map(|l| {
                let turn = l.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                waits.write_turn.observe(asked.elapsed().as_secs_f64());
                turn
            });
            let asked = std::time::Instant::now();
            let conn = checkout(&pool)?;
            waits.pool.observe(asked.elapsed().as_secs_f64());
            run_on(conn, f)
        })
        .await?
    }
}

/// Checks the database is reachable and usable, migrates it, and builds the pool.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Pool, DbError> {
    let manager = Manager::new(url.clone());
    // One direct connection first: its error is the real cause, not a pool time-out.
    let mut first = manager.open()?;
    if let DbConn::Sqlite(c) = &mut first {
        check_sqlite_writable(c, url)?;
    }
    migrate::run(&mut first)?;
    if let DbConn::Sqlite(c) = &mut first {
        forget_stat4(c);
    }
    drop(first);
    let max_size = match url {
        // SQLite has one writer; a few readers is all WAL mode needs.
        DatabaseUrl::Sqlite(_) => max_size.min(8),
        DatabaseUrl::Postgres(_) => max_size,
    };
    r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        // checked in `checkout` instead, only when a connection rested or failed
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(5))
        .build(manager)
        .map_err(|e| DbError::Connect(format!("DATABASE_URL: {e}")))
}

/// SQLite (built with STAT4, as the bundled one is) re-prepares a statement every time a
/// parameter is bound anew when the plan may depend on its value and `sqlite_stat4` holds
/// samples (after an `ANALYZE`): a dozen re-parses of the roll call's statements per
/// request, about a third of its instructions. The samples go; `sqlite_stat1`, which
/// plans use without re-preparing, stays. Nothing to do when there is no such table.
pub fn forget_stat4(c: &mut SqliteConnection) {
    let had: i64 =
        diesel::sql_query("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat4'")
            .get_result::<Count>(c)
            .map(|r| r.n)
            .unwrap_or(0);
    if had > 0 {
        if let Err(e) = c.batch_execute("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;") {
            tracing::warn!(error = %e, "sqlite_stat4 could not be cleared");
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs `f` again while SQLite answers that the database is locked or busy, for up to
/// five seconds (as `busy_timeout` would).
fn retry_while_locked<T>(mut f: impl FnMut() -> diesel::QueryResult<T>) -> diesel::QueryResult<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match f() {
            Err(e)
                if std::time::Instant::now() < deadline
                    && (e.to_string().contains("locked") || e.to_string().contains("busy")) =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn check_sqlite_writable(c: &mut SqliteConnection, url: &DatabaseUrl) -> Result<(), DbError> {
    let path = match url {
        DatabaseUrl::Sqlite(p) => p.as_path(),
        DatabaseUrl::Postgres(_) => return Ok(()),
    };
    retry_while_locked(|| {
        c.batch_execute("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS __narvaro_write_probe (x INTEGER); DROP TABLE __narvaro_write_probe; COMMIT;")
            .inspect_err(|_| {
                let _ = c.batch_execute("ROLLBACK");
            })
    })
    .map_err(|e| sqlite_open_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_is_added_once() {
        assert_eq!(
            with_connect_timeout("postgres://h/db"),
            "postgres://h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=require"),
            "postgres://h/db?sslmode=require&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=2"),
            "postgres://h/db?connect_timeout=2"
        );
    }

    /// `.cargo/config.toml` builds the bundled SQLite with the query planner stability
    /// guarantee: without it a statement with `LIMIT ?` is prepared again on every call.
    #[test]
    fn sqlite_keeps_its_plans_whatever_the_values() {
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let on: Vec<Count> = diesel::sql_query(
            "SELECT count(*) AS n FROM pragma_compile_options WHERE compile_options = 'ENABLE_QPSG'",
        )
        .load(&mut c)
        .unwrap();
        assert_eq!(on[0].n, 1, "SQLite was built without SQLITE_ENABLE_QPSG");
    }
}
