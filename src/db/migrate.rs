//! Embedded migrations, run at start-up: all pending ones in one transaction, so a failure
//! leaves the database exactly as it was; refused when a newer Närvaro migrated it.

use std::collections::HashSet;

use diesel::backend::Backend as DieselBackend;
use diesel::migration::{MigrationSource, MigrationVersion};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{one_line, DbConn, DbError};

pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises start-up migrations of several instances against one PostgreSQL database.
const PG_MIGRATION_LOCK: i64 = 0x006e_6172_7661_726f;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The versions of this build's SQLite migrations (a backup holding another is newer).
pub fn known_sqlite_versions() -> Vec<String> {
    MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
        .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default()
}

pub fn run(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        // BEGIN IMMEDIATE takes the write lock up front, so a second process starting at the
        // same moment waits (busy_timeout) instead of failing with "database is locked"
        // when its read transaction tries to become a write.
        DbConn::Sqlite(c) => migrate_sqlite(c),
        DbConn::Pg(c) => c.transaction::<_, BoxError, _>(|c| {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"))
                .execute(c)?;
            migrate_locked(c, POSTGRES)
        }),
    };
    applied.map_err(|e| match e.downcast::<NewerSchema>() {
        Ok(newer) => DbError::Migrate(newer.to_string()),
        Err(e) => DbError::Migrate(format!(
            "DATABASE_URL: migrating the database failed, nothing was changed: {}",
            one_line(&e.to_string())
        )),
    })
}

/// SQLite's migrations, with foreign keys off. A migration that must change a constraint
/// builds its table again (SQLite cannot alter one), and dropping the old table with
/// foreign keys on would delete what refers to it; SQLite lets them be turned off only
/// outside a transaction. Every reference is checked before the transaction commits, and
/// they are on again after it (sqlite.org/lang_altertable, "Making Other Kinds Of Table
/// Schema Changes").
fn migrate_sqlite(c: &mut diesel::SqliteConnection) -> Result<Vec<String>, BoxError> {
    #[derive(QueryableByName)]
    struct Broken {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("PRAGMA foreign_keys = OFF").execute(c)?;
    let ran = c.immediate_transaction::<_, BoxError, _>(|c| {
        let ran = migrate_locked(c, SQLITE)?;
        let broken: Broken =
            diesel::sql_query("SELECT COUNT(*) AS n FROM pragma_foreign_key_check")
                .get_result(c)?;
        if broken.n > 0 {
            return Err(format!("{} rows refer to rows that are not there", broken.n).into());
        }
        Ok(ran)
    });
    diesel::sql_query("PRAGMA foreign_keys = ON").execute(c)?;
    ran
}

fn migrate_locked<C, DB>(c: &mut C, source: EmbeddedMigrations) -> Result<Vec<String>, BoxError>
where
    DB: DieselBackend,
    C: MigrationHarness<DB> + Connection<Backend = DB>,
    EmbeddedMigrations: MigrationSource<DB>,
{
    let known: HashSet<String> = MigrationSource::<DB>::migrations(&source)?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied: Vec<MigrationVersion<'static>> = c.applied_migrations()?;
    if let Some(unknown) = applied
        .iter()
        .map(|v| v.to_string())
        .find(|v| !known.contains(v))
    {
        return Err(Box::new(NewerSchema(unknown)));
    }
    let ran = c.run_pending_migrations(source)?;
    Ok(ran.iter().map(|v| v.to_string()).collect())
}

#[derive(Debug)]
struct NewerSchema(String);

impl std::fmt::Display for NewerSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DATABASE_URL: the database was migrated by a newer Närvaro (it has migration {} that this \
             version does not know); run that version or newer",
            self.0
        )
    }
}

impl std::error::Error for NewerSchema {}
