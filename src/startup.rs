//! Builds the application: configuration → database → HTTP server. Tests call
//! `Application::build` with port 0 and a fresh database.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};

use crate::auth::{csrf, viewer, Sessions};
use crate::config::{Config, DatabaseUrl, MIN_SECRET_BYTES};
use crate::db::{self, Backend, Database};
use crate::error::AppError;
use crate::mail::Mailer;
use crate::notices::templates::Templates;
use crate::notices::worker::Outbox;
use crate::ops::request_log::log_requests;
pub use crate::state::AppState;
use crate::web::{configure, refuse_control_characters, render_errors};

/// One line for the operator and a non-zero exit.
#[derive(Debug)]
pub struct StartupError(pub String);

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

impl From<db::DbError> for StartupError {
    fn from(e: db::DbError) -> Self {
        StartupError(e.to_string())
    }
}

/// Opens (and migrates) the configured database and resolves the signing secret.
pub fn open_state(config: Config) -> Result<AppState, StartupError> {
    let pool = db::connect(&config.database_url, 16)?;
    let backend = match config.database_url {
        DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        DatabaseUrl::Postgres(_) => Backend::Postgres,
    };
    let jwt_secret = signing_secret(&config)?;
    if config.clock != crate::school::clock::Clock::System {
        tracing::warn!(
            school_clock = %config.clock.now().to_rfc3339(),
            "NARVARO_CLOCK_START is set: the school day runs on a set clock, not the system's"
        );
    }
    {
        // civic numbers an older version stored in plain text become hashes
        let mut conn = pool
            .get()
            .map_err(|e| StartupError(format!("DATABASE_URL: {e}")))?;
        let hashed = crate::auth::civic::hash_stored(
            &mut conn,
            &crate::auth::civic::CivicKey::new(&jwt_secret),
        )
        .map_err(|e| StartupError(format!("DATABASE_URL: hashing stored civic numbers: {e}")))?;
        if hashed > 0 {
            tracing::info!(
                people = hashed,
                "civic numbers stored in plain text were hashed"
            );
        }
    }
    let mailer = Mailer::from_config(&config).map_err(StartupError)?;
    let templates = Templates::load(config.template_dir.as_deref()).map_err(StartupError)?;
    crate::i18n::catalogue::load(config.template_dir.as_deref()).map_err(StartupError)?;
    crate::i18n::set_latin_digits(config.latin_digits);
    let database = Database::new(pool, backend);
    let sessions = Sessions {
        secret: jwt_secret.clone(),
        secure_cookies: config.base_url.starts_with("https://"),
        db: database.clone(),
        clock: config.clock,
        timezone: config.timezone,
    };
    let outbox = Outbox::new(
        database.clone(),
        mailer,
        templates,
        jwt_secret.clone(),
        config.base_url.clone(),
        config.timezone,
        config.clock,
    )
    .with_sms(config.sms.clone(), &config.notify_by);
    let metrics = crate::ops::metrics::Metrics::new(database.waits(), &outbox.counts);
    use crate::auth::oidc::{Provider, Which};
    let oidc_staff = config
        .oidc_staff
        .clone()
        .map(|c| std::sync::Arc::new(Provider::new(Which::Staff, c)));
    let oidc_guardian = config
        .oidc_guardian
        .clone()
        .map(|c| std::sync::Arc::new(Provider::new(Which::Guardian, c)));
    Ok(AppState {
        metrics: std::sync::Arc::new(metrics),
        oidc_staff,
        oidc_guardian,
        database,
        backend,
        config,
        jwt_secret,
        sessions: web::Data::new(sessions),
        outbox: web::Data::new(outbox),
        last_backup: web::Data::new(crate::upkeep::backup::Last::default()),
        stopping: Default::default(),
    })
}

/// The deployment's signing secret: NARVARO_JWT_SECRET, or with SQLite the file beside
/// the database.
pub fn signing_secret(config: &Config) -> Result<Vec<u8>, StartupError> {
    match (&config.jwt_secret, &config.database_url) {
        (Some(secret), _) => Ok(secret.clone()),
        (None, DatabaseUrl::Sqlite(path)) => secret_beside(path),
        (None, DatabaseUrl::Postgres(_)) => Err(StartupError(
            "NARVARO_JWT_SECRET: is required with PostgreSQL".into(),
        )),
    }
}

/// With SQLite and no NARVARO_JWT_SECRET: a secret generated once and kept beside the
/// database (`<db>.secret`, readable by the owner only), so sign-ins survive restarts.
fn secret_beside(db_path: &Path) -> Result<Vec<u8>, StartupError> {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".secret");
    let path = std::path::PathBuf::from(name);
    let fail = |what: &str, e: std::io::Error| {
        StartupError(format!(
            "NARVARO_JWT_SECRET: unset, and the secret file {} could not be {what}: {e}",
            path.display()
        ))
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= MIN_SECRET_BYTES => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(StartupError(format!(
                "NARVARO_JWT_SECRET: unset, and the secret file {} is too short; delete it to make a new one",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("read", e)),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StartupError(format!("no system randomness for the secret: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut file = opts.open(&path).map_err(|e| fail("created", e))?;
    file.write_all(hex.as_bytes())
        .map_err(|e| fail("written", e))?;
    Ok(hex.into_bytes())
}

/// How long a stopping server waits for the outbox worker's pass under way.
const OUTBOX_DRAIN: Duration = Duration::from_secs(20);

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on its own address (NARVARO_METRICS_BIND), if configured
    metrics: Option<(u16, Server)>,
    /// the outbox worker, told to stop once the server has stopped, so that it finishes
    /// its pass and leaves no claimed notice behind
    outbox_worker: Option<(
        tokio::sync::watch::Sender<bool>,
        actix_web::rt::task::JoinHandle<()>,
    )>,
    /// set on SIGTERM, for `/healthz` (AppState::stopping), and how long to drain
    stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
    drain: Duration,
    /// held shared while the server runs on a SQLite file: `narvaro restore` will not
    /// replace a database in use (src/backup.rs)
    _in_use: Option<std::fs::File>,
}

impl Application {
    pub fn build(config: Config) -> Result<Self, StartupError> {
        let bind = config.bind;
        let state = open_state(config)?;
        let listener = TcpListener::bind(bind)
            .map_err(|e| StartupError(format!("NARVARO_BIND: cannot listen on {bind}: {e}")))?;
        Self::with_listener(state, listener)
    }

    pub fn with_listener(state: AppState, listener: TcpListener) -> Result<Self, StartupError> {
        let port = listener
            .local_addr()
            .map_err(|e| StartupError(format!("NARVARO_BIND: {e}")))?
            .port();
        let in_use = match &state.config.database_url {
            crate::config::DatabaseUrl::Sqlite(path) => {
                Some(crate::upkeep::backup::hold_shared(path).map_err(|e| {
                    StartupError(format!(
                        "DATABASE_URL: cannot take the lock beside {}: {e}",
                        path.display()
                    ))
                })?)
            }
            crate::config::DatabaseUrl::Postgres(_) => None,
        };
        let state = web::Data::new(state);
        let https = state.config.base_url.starts_with("https://");
        if let (Some(schedule), crate::config::DatabaseUrl::Sqlite(db)) =
            (&state.config.backups, &state.config.database_url)
        {
            actix_web::rt::spawn(crate::upkeep::backup::run_schedule(
                db.clone(),
                schedule.clone(),
                state.last_backup.clone(),
            ));
        }
        actix_web::rt::spawn(crate::follow_up::signals::run_schedule(
            state.database.clone(),
            state.config.timezone,
            state.config.clock,
        ));
        actix_web::rt::spawn(crate::upkeep::retention::run_schedule(
            state.database.clone(),
            state.config.retention,
            state.config.timezone,
            state.config.clock,
        ));
        let outbox_worker = (state.config.outbox_poll_seconds > 0).then(|| {
            let every = Duration::from_secs(state.config.outbox_poll_seconds);
            let (stop, stopping) = tokio::sync::watch::channel(false);
            let task = actix_web::rt::spawn(crate::notices::worker::run(
                state.outbox.clone(),
                every,
                stopping,
            ));
            (stop, task)
        });
        if let Some(source) = state.config.ss12000_source.clone() {
            // NARVARO_SYNC_INTERVAL_MINUTES: the server pulls by itself
            actix_web::rt::spawn(crate::interop::sync::scheduled(
                state.database.clone(),
                source,
                state.config.timezone,
                state.config.clock,
                state.civic_key(),
            ));
        }
        let metrics = match state.config.metrics_bind {
            Some(addr) => Some(metrics_server(state.clone(), addr)?),
            None => None,
        };
        let (stopping, drain) = (
            state.stopping.clone(),
            Duration::from_secs(state.config.drain_seconds),
        );
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(state.sessions.clone())
                .app_data(web::Data::from(state.metrics.clone()))
                .app_data(web::JsonConfig::default().limit(64 * 1024))
                .app_data(web::FormConfig::default().limit(64 * 1024))
                .app_data(web::PayloadConfig::default().limit(256 * 1024))
                // a path id that is no id (crate::school::ids) is a record that is not there
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| crate::error::AppError::NotFound.into()),
                )
                .configure(configure)
                .wrap(from_fn(refuse_control_characters))
                .wrap(from_fn(viewer::renew_session))
                .wrap(from_fn(csrf::protect))
                .wrap(from_fn(render_errors))
                // gzip for a client that asks (pages, styles, scripts, JSON, error pages)
                .wrap(actix_web::middleware::Compress::default())
                .wrap(security_headers(https))
                .wrap(from_fn(log_requests))
        })
        .listen(listener)
        .map_err(|e| StartupError(format!("NARVARO_BIND: {e}")))?
        .shutdown_timeout(10)
        .client_request_timeout(Duration::from_secs(10))
        // SIGTERM and SIGINT are handled in run_until_stopped, which drains first
        .disable_signals()
        .run();
        Ok(Application {
            port,
            server,
            metrics,
            outbox_worker,
            stopping,
            drain,
            _in_use: in_use,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` answers on, when NARVARO_METRICS_BIND is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests under way and the
    /// outbox worker's pass under way (at most `OUTBOX_DRAIN` more).
    ///
    /// On SIGTERM with `NARVARO_DRAIN_SECONDS` set, the server first goes on serving
    /// for that long with `/healthz` at 503. Stopping at once would close the load
    /// balancer's idle keep-alive connections while it may still be sending a request on
    /// one of them, before its health check has seen the instance go; that request would
    /// fail at the client.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let (stopping, drain) = (self.stopping.clone(), self.drain);
        actix_web::rt::spawn(async move {
            let signal = stop_signal().await;
            stopping.store(true, std::sync::atomic::Ordering::Relaxed);
            if signal == "SIGTERM" && !drain.is_zero() {
                tracing::info!(
                    seconds = drain.as_secs(),
                    "SIGTERM: /healthz answers 503 while the server drains"
                );
                actix_web::rt::time::sleep(drain).await;
            }
            tracing::info!(signal, "stopping: finishing the requests under way");
            handle.stop(true).await;
        });
        let done = match self.metrics {
            Some((_, metrics)) => {
                let handle = metrics.handle();
                actix_web::rt::spawn(metrics);
                let done = self.server.await;
                handle.stop(true).await;
                done
            }
            None => self.server.await,
        };
        if let Some((stop, task)) = self.outbox_worker {
            let _ = stop.send(true);
            if actix_web::rt::time::timeout(OUTBOX_DRAIN, task)
                .await
                .is_err()
            {
                tracing::warn!(
                    "the outbox worker's pass did not finish; its claims expire by themselves"
                );
            }
        }
        done
    }
}

/// Waits for SIGTERM or SIGINT and names it.
async fn stop_signal() -> &'static str {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    use futures_util::future::{select, Either};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            match select(Box::pin(term.recv()), Box::pin(int.recv())).await {
                Either::Left(_) => "SIGTERM",
                Either::Right(_) => "SIGINT",
            }
        }
        _ => {
            tracing::warn!("cannot listen for SIGTERM; stopping on Ctrl-C only");
            let _ = actix_web::rt::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// The metrics server: one route, one worker, its own address.
fn metrics_server(
    state: web::Data<AppState>,
    addr: std::net::SocketAddr,
) -> Result<(u16, Server), StartupError> {
    let fail = |e: std::io::Error| {
        StartupError(format!(
            "NARVARO_METRICS_BIND: cannot listen on {addr}: {e}"
        ))
    };
    let listener = TcpListener::bind(addr).map_err(fail)?;
    let port = listener.local_addr().map_err(fail)?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(crate::web::metrics))
    })
    .workers(1)
    .listen(listener)
    .map_err(fail)?
    .disable_signals()
    .shutdown_timeout(1)
    .run();
    Ok((port, server))
}

/// Headers on every response. Served over HTTPS (NARVARO_BASE_URL `https://`), browsers
/// are also told to use nothing else for a year (HSTS).
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = if https {
        DefaultHeaders::new().add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        DefaultHeaders::new()
    };
    headers
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("X-Frame-Options", "DENY"))
}

impl From<AppError> for StartupError {
    fn from(e: AppError) -> Self {
        StartupError(e.to_string())
    }
}
