//! The command line: `narvaro [serve|migrate|demo|seed …]`.

use std::process::ExitCode;
use std::time::Instant;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::config::{Config, DatabaseUrl};
use crate::db::{self, DbConn};
use crate::demo::{self, DemoState};
use crate::seed::{self, SeedParams};
use crate::startup::{open_state, Application, StartupError};

/// Närvaro: attendance and absence for schools. Configuration is read from the
/// environment (see README.md); a bad value stops the start with one line that names the
/// variable.
#[derive(clap::Parser)]
#[command(name = "narvaro", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the web application and API (the default)
    Serve,
    /// Apply the database migrations and exit
    Migrate,
    /// Seed a demo municipality into an empty database, then serve
    Demo,
    /// Send the due e-mail notices once and exit (for cron or an operator; the server
    /// also sends them by itself)
    SendNotices,
    /// Import the school structure from SS 12000 JSON or OneRoster 1.1 CSV; re-importing
    /// the same data changes nothing. Say whether the source is a whole snapshot (--full)
    /// or changes (--changes); a OneRoster manifest's bulk or delta says it too
    Import {
        /// A .json file or a folder of them (SS 12000), or a folder with manifest.csv
        /// (OneRoster)
        path: std::path::PathBuf,
        /// The source is a whole snapshot: people, memberships and duties it no longer
        /// holds are ended, inside the organisations it covers
        #[arg(long, conflicts_with = "changes")]
        full: bool,
        /// The source holds changed records only: references may name what is stored, and
        /// only what it names as deleted (deletedEntities, tobedeleted) is ended
        #[arg(long)]
        changes: bool,
    },
    /// Write the school structure (organisations, people, groups, duties, activities,
    /// lessons) as SS 12000 v2.1 JSON, the shape `narvaro import` reads; civic numbers are
    /// left out
    ExportStructure {
        /// The .json file to write
        path: std::path::PathBuf,
    },
    /// Pull the school structure from the school administration system's SS 12000 API
    /// (NARVARO_SS12000_URL): the first run reads everything, later runs the changes since
    /// the last successful one. One run is one transaction
    Sync {
        /// Read everything again (a snapshot: what the source no longer holds is ended)
        #[arg(long)]
        full: bool,
    },
    /// Recompute the statistics' per-day sums of every school from the marks (after
    /// editing the database by hand; normally never needed)
    StatsRebuild,
    /// Evaluate the early-signal rules now (the server does it once a day by itself) and
    /// say how many signals were raised
    Signals,
    /// Generate a realistic municipality (the same seed and start give the same data)
    Seed(SeedArgs),
    /// Write a backup of the SQLite database while the server keeps serving: a consistent,
    /// compressed copy, its manifest (`<file>.json`, with a checksum) and the sign-in
    /// secret beside it. With PostgreSQL, the database server's own tools do it (README)
    Backup {
        /// The backup file to write (for example narvaro-2026-12-04.db.gz)
        path: std::path::PathBuf,
    },
    /// Restore a backup into the configured SQLite database (no server may be using it),
    /// or into a new file: checks the checksum, SQLite's integrity check and the schema
    Restore {
        /// The backup file (its manifest `<file>.json` beside it)
        path: std::path::PathBuf,
        /// Restore into this new SQLite file instead of DATABASE_URL
        #[arg(long)]
        to: Option<std::path::PathBuf>,
    },
    /// Apply the retention policy (NARVARO_RETENTION_YEARS, NARVARO_RETENTION_MAIL_DAYS):
    /// remove the records of pupils who left longer ago than the policy keeps them, and
    /// of their guardians, and empty old sent e-mails. The server runs it once a day
    Retention {
        /// List what would go, and change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Register, list and revoke API clients (machine credentials for the systems that
    /// read Närvaro over OAuth 2.0 client credentials)
    #[command(subcommand)]
    ApiClient(ApiClientCommand),
}

#[derive(clap::Subcommand)]
enum ApiClientCommand {
    /// Register a client and print its client id and secret (the secret is shown this
    /// once; only its hash is stored)
    Add {
        /// What the client is ("Extens, närvaroexport")
        #[arg(long)]
        name: String,
        /// A school's id, or `all` for every school of the municipality (repeatable)
        #[arg(long = "school", required = true)]
        schools: Vec<String>,
        /// ss12000.read or statistics.read (repeatable; default both)
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The municipality's id (needed only when the database holds several)
        #[arg(long)]
        municipality: Option<crate::school::ids::OrganisationId>,
    },
    /// List the clients (never their secrets)
    List,
    /// Revoke a client by its client id: its tokens stop working at once
    Revoke {
        /// The client id (`nrv_…`)
        client_id: String,
    },
}

#[derive(clap::Args)]
struct SeedArgs {
    /// Schools (1 to 1000)
    #[arg(long, default_value_t = 3)]
    schools: u32,
    /// Pupils in all
    #[arg(long, default_value_t = 600)]
    pupils: u32,
    /// Weeks of timetable and history
    #[arg(long, default_value_t = 12)]
    weeks: u32,
    /// The generator's seed
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First day of the timetable, YYYY-MM-DD (default: the current school year)
    #[arg(long, value_parser = parse_date)]
    start: Option<NaiveDate>,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date (YYYY-MM-DD)"))
}

pub fn main() -> ExitCode {
    if let Err(msg) = init_tracing() {
        eprintln!("narvaro: {msg}");
        return ExitCode::from(2);
    }
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // help and version go to standard output with success; mistakes to standard
            // error with exit code 2
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli.command.unwrap_or(Command::Serve)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("narvaro: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("narvaro: {msg}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Usage(String),
    Runtime(String),
}

impl From<StartupError> for Failure {
    fn from(e: StartupError) -> Self {
        Failure::Runtime(e.0)
    }
}

impl From<db::DbError> for Failure {
    fn from(e: db::DbError) -> Self {
        Failure::Runtime(e.to_string())
    }
}

fn run(command: Command) -> Result<(), Failure> {
    let config = Config::from_env().map_err(|e| Failure::Runtime(e.to_string()))?;
    match command {
        Command::Serve => serve(config, false),
        Command::Migrate => {
            db::connect(&config.database_url, 1)?;
            println!("narvaro: {} is migrated", config.database_url);
            Ok(())
        }
        Command::Demo => serve(config, true),
        Command::SendNotices => send_notices(config),
        Command::Import {
            path,
            full,
            changes,
        } => import(
            config,
            &path,
            match (full, changes) {
                (true, _) => Some(crate::interop::import::Mode::Full),
                (_, true) => Some(crate::interop::import::Mode::Changes),
                _ => None,
            },
        ),
        Command::Sync { full } => sync(config, full),
        Command::Backup { path } => backup(&config, &path),
        Command::Restore { path, to } => restore(&config, &path, to.as_deref()),
        Command::ExportStructure { path } => export_structure(config, &path),
        Command::StatsRebuild => stats_rebuild(config),
        Command::Signals => signals(config),
        Command::Seed(args) => seed_command(config, args),
        Command::ApiClient(action) => api_client(config, action),
        Command::Retention { dry_run } => retention(config, dry_run),
    }
}

fn api_client(config: Config, action: ApiClientCommand) -> Result<(), Failure> {
    use crate::auth::clients;
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool
        .get()
        .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
    let conn: &mut DbConn = &mut conn;
    let failed = |e: crate::error::AppError| {
        Failure::Runtime(crate::web::words::detail(&e, crate::i18n::Lang::En))
    };
    let municipalities = clients::municipalities(conn).map_err(failed)?;
    let now = crate::school::clock::system_now();
    match action {
        ApiClientCommand::Add {
            name,
            schools,
            scopes,
            municipality,
        } => {
            let municipality = match (municipality, municipalities.as_slice()) {
                (Some(m), _) if municipalities.contains(&m) => m,
                (Some(m), _) => return Err(Failure::Usage(format!("--municipality {m}: no such municipality"))),
                (None, [only]) => *only,
                (None, many) => return Err(Failure::Usage(format!("the database holds {} municipalities ({many:?}): say which with --municipality", many.len()))),
            };
            let mut ids = Vec::new();
            for s in &schools {
                if s == "all" {
                    ids.extend(clients::schools_of(conn, municipality).map_err(failed)?);
                } else {
                    ids.push(s.parse::<crate::school::ids::SchoolId>().map_err(|_| {
                        Failure::Usage(format!("--school {s}: a school's id, or all"))
                    })?);
                }
            }
            let scopes = if scopes.is_empty() {
                clients::SCOPES.iter().map(|s| s.0.to_string()).collect()
            } else {
                scopes
            };
            let new = clients::NewClient {
                name,
                schools: ids,
                scopes,
            };
            let r = clients::register(conn, &[municipality], None, &new, now).map_err(|e| {
                Failure::Usage(crate::web::words::detail(&e, crate::i18n::Lang::En))
            })?;
            println!("narvaro: API client registered; the secret is shown this once");
            println!("  client_id:     {}", r.client_id);
            println!("  client_secret: {}", r.secret);
            println!(
                "  token:         POST {}/oauth/token (grant_type=client_credentials)",
                config.base_url
            );
            Ok(())
        }
        ApiClientCommand::List => {
            for c in clients::list(conn, &municipalities).map_err(failed)? {
                let state = match c.revoked_at {
                    Some(t) => format!("revoked {}", t.format("%Y-%m-%d %H:%M UTC")),
                    None => "active".to_string(),
                };
                println!(
                    "{}  {}  [{}]  {}  ({state})",
                    c.client_id,
                    c.name,
                    c.scopes.join(" "),
                    c.schools.join(", ")
                );
            }
            Ok(())
        }
        ApiClientCommand::Revoke { client_id } => {
            let id = clients::id_of(conn, &client_id).map_err(failed)?;
            let revoked = id.map(|id| clients::revoke(conn, &municipalities, id, None, now));
            match revoked {
                Some(Ok(())) => {
                    println!("narvaro: {client_id} is revoked; its tokens stop working now");
                    Ok(())
                }
                Some(Err(crate::error::AppError::NotFound)) | None => Err(Failure::Usage(format!(
                    "{client_id}: no such active client"
                ))),
                Some(Err(e)) => Err(failed(e)),
            }
        }
    }
}

fn serve(config: Config, demo_mode: bool) -> Result<(), Failure> {
    let tz = config.timezone;
    let bind = config.bind;
    let metrics_bind = config.metrics_bind;
    let base_url = config.base_url.clone();
    let clock = config.clock;
    let state = open_state(config)?;
    if demo_mode {
        let today = clock.today(tz);
        let mut conn = state
            .database
            .pool()
            .get()
            .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
        let prepared = demo::prepare(&mut conn, tz, today)?;
        crate::auth::civic::hash_stored(&mut conn, &state.civic_key())
            .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
        match prepared {
            DemoState::Ready => {
                println!("Närvaro demo: {base_url}/");
                println!("Demo accounts (password {}):", seed::DEMO_PASSWORD);
                for (user, role) in demo::ACCOUNTS {
                    println!("  {user:<16} {role}");
                }
            }
            DemoState::ForeignData => {
                println!("Närvaro: the database already holds data without demo accounts; serving it as it is.");
            }
        }
    }
    let listener = std::net::TcpListener::bind(bind)
        .map_err(|e| Failure::Runtime(format!("NARVARO_BIND: cannot listen on {bind}: {e}")))?;
    tracing::info!(%bind, database = state.backend.name(), "serving");
    actix_web::rt::System::new().block_on(async move {
        let app = Application::with_listener(state, listener)?;
        if let (Some(port), Some(addr)) = (app.metrics_port(), metrics_bind) {
            tracing::info!(metrics = %std::net::SocketAddr::new(addr.ip(), port), "serving /metrics");
        }
        app.run_until_stopped()
            .await
            .map_err(|e| Failure::Runtime(format!("server: {e}")))
    })
}

fn send_notices(config: Config) -> Result<(), Failure> {
    let outbox = open_state(config)?.outbox;
    let started = Instant::now();
    let stats = actix_web::rt::System::new().block_on(async move {
        crate::notices::worker::drain(&outbox, &crate::notices::worker::worker_id(), 100_000).await
    });
    let s = stats.map_err(|e| Failure::Runtime(format!("sending notices: {e}")))?;
    println!(
        "narvaro: {} notices handled in {:.1} s: {} sent, {} to retry, {} failed, {} no longer needed, {} without an address",
        s.claimed,
        started.elapsed().as_secs_f64(),
        s.sent,
        s.retried,
        s.failed,
        s.cancelled,
        s.unreachable
    );
    Ok(())
}

fn import(
    config: Config,
    path: &std::path::Path,
    mode: Option<crate::interop::import::Mode>,
) -> Result<(), Failure> {
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool
        .get()
        .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
    let started = Instant::now();
    let now = crate::school::clock::Clock::System.now();
    let today = now.with_timezone(&config.timezone).date_naive();
    let civic = crate::auth::civic::CivicKey::new(&crate::startup::signing_secret(&config)?);
    let summary = crate::interop::import::run(
        &mut conn,
        path,
        mode,
        config.timezone,
        today,
        now.naive_utc(),
        &civic,
    )
    .map_err(|e| Failure::Runtime(format!("import: {e} (nothing was stored)")))?;
    println!(
        "narvaro: imported {} in {:.1} s: {summary}",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    for note in &summary.notes {
        println!("  {note}");
    }
    Ok(())
}

fn export_structure(config: Config, path: &std::path::Path) -> Result<(), Failure> {
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool
        .get()
        .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
    let started = Instant::now();
    let doc = crate::interop::ss12000::structure::export(
        &mut conn,
        config.timezone,
        config.clock.now_utc(),
    )
    .map_err(db::DbError::Query)?;
    let text = serde_json::to_string(&doc)
        .map_err(|e| Failure::Runtime(format!("export-structure: {e}")))?;
    std::fs::write(path, text).map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
    let count = |k: &str| doc[k].as_array().map_or(0, Vec::len);
    println!(
        "narvaro: wrote {} in {:.1} s: {} organisations, {} people, {} groups, {} duties, {} activities, {} calendar events",
        path.display(),
        started.elapsed().as_secs_f64(),
        count("organisations"),
        count("persons"),
        count("groups"),
        count("duties"),
        count("activities"),
        count("calendarEvents")
    );
    Ok(())
}

/// `narvaro sync`: one run, with a progress line on the terminal.
fn sync(config: Config, full: bool) -> Result<(), Failure> {
    use std::io::{IsTerminal, Write};
    let source = config.ss12000_source.clone().ok_or_else(|| {
        Failure::Usage(
            "narvaro sync: NARVARO_SS12000_URL is not set (the school administration system's SS 12000 API, with NARVARO_SS12000_CLIENT_ID, _CLIENT_SECRET and _TOKEN_URL, or _CLIENT_CERT and _CLIENT_KEY)".into(),
        )
    })?;
    let pool = db::connect(&config.database_url, 2)?;
    let backend = match config.database_url {
        crate::config::DatabaseUrl::Sqlite(_) => db::Backend::Sqlite,
        crate::config::DatabaseUrl::Postgres(_) => db::Backend::Postgres,
    };
    let database = db::Database::new(pool, backend);
    let civic = crate::auth::civic::CivicKey::new(&crate::startup::signing_secret(&config)?);
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let last = std::sync::Mutex::new(Instant::now());
    let progress = move |list: &str, n: usize| {
        // a line now and then: in place on a terminal, every ten seconds in a log
        let mut at = last.lock().unwrap_or_else(|p| p.into_inner());
        if terminal {
            eprint!("\r  {list}: {n} records read\x1b[K");
            let _ = std::io::stderr().flush();
        } else if at.elapsed() >= std::time::Duration::from_secs(10) {
            eprintln!("  {list}: {n} records read");
            *at = Instant::now();
        }
    };
    let outcome = actix_web::rt::System::new().block_on(crate::interop::sync::run(
        &database,
        &source,
        full,
        config.timezone,
        config.clock,
        &civic,
        &progress,
    ));
    if terminal {
        eprintln!();
    }
    let o = outcome.map_err(|e| Failure::Runtime(format!("sync: {e} (nothing was stored)")))?;
    println!(
        "narvaro: synced from {} ({}) in {:.1} s: {} records read, {}{}",
        source.url,
        o.mode.as_str(),
        started.elapsed().as_secs_f64(),
        o.records,
        o.summary,
        crate::ops::memory::peak_kib()
            .map(|kib| format!("; peak memory {} MiB", kib / 1024))
            .unwrap_or_default()
    );
    for note in &o.summary.notes {
        println!("  {note}");
    }
    Ok(())
}

/// `narvaro retention [--dry-run]`: the plan, person by person, or the run's counts.
fn retention(config: Config, dry_run: bool) -> Result<(), Failure> {
    use crate::upkeep::retention::{self, Kind};
    let policy = config.retention;
    let (today, now) = (config.clock.today(config.timezone), config.clock.now_utc());
    let pool = db::connect(&config.database_url, 2)?;
    let failed = |e: crate::error::AppError| {
        Failure::Runtime(format!(
            "retention: {} (each person's removal is whole or not at all)",
            crate::web::words::detail(&e, crate::i18n::Lang::En)
        ))
    };
    println!(
        "narvaro retention: pupils who left before {} ({} years), e-mails made before {} ({} days)",
        retention::cutoff(&policy, today),
        policy.years,
        (now - chrono::Duration::days(i64::from(policy.mail_days))).format("%Y-%m-%d"),
        policy.mail_days
    );
    if !dry_run {
        let backend = match config.database_url {
            DatabaseUrl::Sqlite(_) => db::Backend::Sqlite,
            DatabaseUrl::Postgres(_) => db::Backend::Postgres,
        };
        let database = db::Database::new(pool, backend);
        let d = actix_web::rt::System::new()
            .block_on(retention::apply(&database, policy, today, now))
            .map_err(failed)?;
        let t = &d.totals;
        println!(
            "narvaro: removed {} pupils and {} guardians: {} marks, {} absence reports, {} leave applications, {} notices, {} audit rows, {} statistics days; {} e-mails emptied, {} link e-mails deleted",
            d.pupils, d.guardians, t.marks, t.absence_reports, t.leave_applications, t.notices, t.audit_rows, t.statistics_days, d.mails_emptied, d.mails_deleted
        );
        if d.pupils + d.guardians > 0 {
            println!(
                "narvaro: the longest write held the database {} ms",
                d.longest_write.as_millis()
            );
        }
        if d.kept > 0 {
            println!(
                "narvaro: {} people could not be removed (see the log); the next run tries again",
                d.kept
            );
        }
        return Ok(());
    }
    let mut conn = pool
        .get()
        .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
    let plan = retention::plan(&mut conn, &policy, today, now).map_err(|e| failed(e.into()))?;
    for p in &plan.people {
        let c = &p.counts;
        let who = match (p.kind, p.left) {
            (Kind::Pupil, Some(left)) => format!("pupil, left {left}"),
            (Kind::Pupil, None) => "pupil".to_string(),
            (Kind::Guardian, _) => "guardian of the above only".to_string(),
        };
        println!(
            "  {} {} ({who}): {} marks, {} absence reports, {} leave applications, {} notices, {} audit rows, {} statistics days",
            p.id, p.name, c.marks, c.absence_reports, c.leave_applications, c.notices, c.audit_rows, c.statistics_days
        );
    }
    let t = plan.totals();
    println!(
        "narvaro: would remove {} pupils and {} guardians: {} marks, {} absence reports, {} leave applications, {} notices, {} audit rows, {} statistics days; would empty {} e-mails and delete {} link e-mails and {} used or expired links. Nothing was changed (--dry-run).",
        plan.pupils(), plan.guardians(), t.marks, t.absence_reports, t.leave_applications, t.notices, t.audit_rows, t.statistics_days, plan.mails_emptied, plan.mails_deleted, plan.links_deleted
    );
    Ok(())
}

fn stats_rebuild(config: Config) -> Result<(), Failure> {
    use crate::schema::{lessons, organisations};
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool
        .get()
        .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
    let started = Instant::now();
    let schools: Vec<crate::school::ids::SchoolId> = organisations::table
        .filter(organisations::org_type.eq("school"))
        .select(organisations::id)
        .order(organisations::id)
        .load(&mut conn)
        .map_err(db::DbError::Query)?;
    let mut rows = 0;
    for school in &schools {
        let span: (Option<NaiveDate>, Option<NaiveDate>) = lessons::table
            .filter(lessons::school_id.eq(school))
            .select((
                diesel::dsl::min(lessons::lesson_date),
                diesel::dsl::max(lessons::lesson_date),
            ))
            .first(&mut conn)
            .map_err(db::DbError::Query)?;
        let (Some(from), Some(to)) = span else {
            continue;
        };
        rows += conn
            .transaction(|c| {
                crate::insight::statistics::store::rebuild(c, config.timezone, *school, from, to)
            })
            .map_err(db::DbError::Query)?;
    }
    println!(
        "narvaro: statistics of {} schools rebuilt in {:.1} s ({rows} pupil days)",
        schools.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn signals(config: Config) -> Result<(), Failure> {
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool
        .get()
        .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
    let started = Instant::now();
    let (today, now) = (config.clock.today(config.timezone), config.clock.now_utc());
    let done = crate::follow_up::signals::evaluate(&mut conn, today, config.timezone, now)
        .map_err(|e| Failure::Runtime(crate::web::words::detail(&e, crate::i18n::Lang::En)))?;
    println!(
        "narvaro: {} signal rules evaluated for {} pupils of {} schools in {:.2} s; {} signals raised",
        done.rules,
        done.pupils,
        done.schools,
        started.elapsed().as_secs_f64(),
        done.raised
    );
    Ok(())
}

fn seed_command(config: Config, args: SeedArgs) -> Result<(), Failure> {
    let today = config.clock.today(config.timezone);
    let params = SeedParams {
        municipality: format!("Seedkommun {}", args.seed),
        schools: args.schools,
        pupils: args.pupils,
        weeks: args.weeks,
        seed: args.seed,
        start: args
            .start
            .unwrap_or_else(|| seed::school_year_containing(today)),
        today,
    };
    params.validate().map_err(Failure::Usage)?;
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool
        .get()
        .map_err(|e| Failure::Runtime(format!("DATABASE_URL: {e}")))?;
    let started = Instant::now();
    let seeded = seed::generate(&mut conn, &params, config.timezone)?;
    // the generated civic numbers, like imported ones, are kept as keyed hashes only
    let civic = crate::auth::civic::CivicKey::new(&crate::startup::signing_secret(&config)?);
    crate::auth::civic::hash_stored(&mut conn, &civic).map_err(db::DbError::from)?;
    // a bulk load leaves the planner's statistics behind: refresh them now, not when
    // autovacuum gets round to it (PostgreSQL planned a school's lessons as a scan of all)
    diesel::sql_query("ANALYZE")
        .execute(&mut *conn)
        .map_err(db::DbError::from)?;
    if let DbConn::Sqlite(c) = &mut *conn {
        // the plans keep sqlite_stat1; STAT4 samples would make SQLite re-prepare
        db::forget_stat4(c);
    }
    let secs = started.elapsed().as_secs_f64();
    let c = seeded.counts;
    println!(
        "seeded {} schools from {} in {secs:.1} s: {} pupils, {} guardians, {} staff, {} groups, {} lessons ({} reported), {} marks, {} guardian reports, {} leave applications",
        seeded.schools.len(),
        params.start,
        c.pupils,
        c.guardians,
        c.staff,
        c.groups,
        c.lessons,
        c.reported_lessons,
        c.marks,
        c.absence_reports,
        c.leave_applications
    );
    if let Some(bytes) = database_size(&mut conn, &config.database_url) {
        println!("database size: {:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

fn database_size(conn: &mut DbConn, url: &DatabaseUrl) -> Option<u64> {
    match (conn, url) {
        (DbConn::Sqlite(c), DatabaseUrl::Sqlite(path)) => {
            use diesel::connection::SimpleConnection;
            c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").ok()?;
            std::fs::metadata(path).ok().map(|m| m.len())
        }
        (DbConn::Pg(c), _) => {
            diesel::sql_query("SELECT pg_database_size(current_database()) AS bytes")
                .get_result::<Size>(c)
                .ok()
                .map(|s| s.bytes as u64)
        }
        _ => None,
    }
}

/// Logs to standard error: text, or JSON lines for a log collector with
/// `NARVARO_LOG_FORMAT=json`.
fn init_tracing() -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("NARVARO_LOG_FORMAT")
        .ok()
        .as_deref()
        .map(str::trim)
    {
        None | Some("") | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            return Err(format!(
                "NARVARO_LOG_FORMAT: '{other}' is not a log format (text or json)"
            ))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        // one JSON object a line: time, level, target and the event's fields
        builder.json().with_current_span(false).try_init()
    } else {
        // colours for a terminal only, never escape codes in a log file
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
    Ok(())
}

fn sqlite_path(config: &Config, what: &str) -> Result<std::path::PathBuf, Failure> {
    match &config.database_url {
        crate::config::DatabaseUrl::Sqlite(p) => Ok(p.clone()),
        crate::config::DatabaseUrl::Postgres(_) => Err(Failure::Usage(format!(
            "narvaro {what}: DATABASE_URL is PostgreSQL, whose own tools do this: \
             pg_dump -Fc -f narvaro.dump <database> for a nightly copy, pg_restore -d <database> narvaro.dump \
             to restore, and WAL archiving for point-in-time recovery (README, \"Backups\")"
        ))),
    }
}

fn backup(config: &Config, target: &std::path::Path) -> Result<(), Failure> {
    let db = sqlite_path(config, "backup")?;
    let started = std::time::Instant::now();
    let w = crate::upkeep::backup::backup(&db, target, crate::school::clock::Clock::System.now())
        .map_err(|e| Failure::Runtime(format!("backup failed, nothing was written: {e}")))?;
    println!(
        "narvaro: backed up {} ({} bytes) to {} ({} bytes, {}) in {:.1} s",
        db.display(),
        w.manifest.database_bytes,
        target.display(),
        w.manifest.bytes,
        w.manifest.checksum,
        started.elapsed().as_secs_f64()
    );
    match w.secret {
        Some(s) => println!("narvaro: the sign-in secret is beside it: {}", s.display()),
        None => println!(
            "narvaro: the sign-in secret is NARVARO_JWT_SECRET: keep it with your settings"
        ),
    }
    Ok(())
}

fn restore(
    config: &Config,
    backup: &std::path::Path,
    to: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let target = match to {
        Some(p) => p.to_path_buf(),
        None => sqlite_path(config, "restore")?,
    };
    let known = db::migrate::known_sqlite_versions();
    let started = std::time::Instant::now();
    let m = crate::upkeep::backup::restore(backup, &target, &known)
        .map_err(|e| Failure::Runtime(format!("restore refused, nothing was changed: {e}")))?;
    println!(
        "narvaro: restored {} (taken {}, schema {}) into {} in {:.1} s",
        backup.display(),
        m.created_at,
        m.schema,
        target.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
