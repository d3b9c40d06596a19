//! What every request handler can reach: the database, the configuration, the signing
//! secret, and the two narrower parts the rest of the service is given instead of all of
//! this (the session settings for sign-in, the outbox for the worker).

use actix_web::web;
use chrono::{NaiveDate, NaiveDateTime};

use crate::auth::Sessions;
use crate::config::Config;
use crate::db::{Backend, Database, DbConn};
use crate::error::AppResult;
use crate::notices::worker::Outbox;

pub struct AppState {
    pub database: Database,
    pub backend: Backend,
    pub config: Config,
    pub jwt_secret: Vec<u8>,
    pub sessions: web::Data<Sessions>,
    pub outbox: web::Data<Outbox>,
    /// when the server last backed up by itself (NARVARO_BACKUP_DIR)
    pub last_backup: web::Data<crate::upkeep::backup::Last>,
    /// requests, sign-ins and what the database and outbox report (`NARVARO_METRICS_BIND`)
    pub metrics: std::sync::Arc<crate::ops::metrics::Metrics>,
    /// the identity providers people sign in with (`NARVARO_OIDC_*`), if configured
    pub oidc_staff: Option<std::sync::Arc<crate::auth::oidc::Provider>>,
    pub oidc_guardian: Option<std::sync::Arc<crate::auth::oidc::Provider>>,
    /// Set on SIGTERM: `/healthz` answers 503 while the server drains
    /// (`NARVARO_DRAIN_SECONDS`), and the load balancer takes this instance out.
    pub stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// Runs blocking database work that reads on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.database.read(f).await
    }

    /// Like `db`, for work that writes.
    pub async fn db_write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.database.write(f).await
    }

    /// Now on the service's clock (UTC, as stored).
    /// The context of a write by `actor` from `addr`, now.
    pub fn act<'a>(
        &self,
        actor: &'a crate::school::Viewer,
        addr: &'a str,
    ) -> crate::school::Act<'a> {
        crate::school::Act::new(
            actor,
            addr,
            (self.today(), self.now(), self.config.timezone),
        )
    }

    pub fn now(&self) -> NaiveDateTime {
        self.config.clock.now_utc()
    }

    /// Now, school-local.
    pub fn now_local(&self) -> NaiveDateTime {
        self.config
            .clock
            .now()
            .with_timezone(&self.config.timezone)
            .naive_local()
    }

    /// The school-local date.
    pub fn today(&self) -> NaiveDate {
        self.config.clock.today(self.config.timezone)
    }

    /// The key civic numbers are hashed under (src/auth/civic.rs).
    pub fn civic_key(&self) -> crate::auth::civic::CivicKey {
        crate::auth::civic::CivicKey::new(&self.jwt_secret)
    }

    /// Asks this server's outbox worker to make a pass now rather than at its next poll.
    pub fn wake_outbox(&self) {
        self.outbox.wake();
    }
}
