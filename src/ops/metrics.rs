//! Metrics for the operator in the Prometheus text format. They are served by a small
//! server of their own on `NARVARO_METRICS_BIND` (off by default), never beside the pages,
//! so a scrape address is not reachable from where the public is.
//!
//! Each part of the service owns its instruments (the database its waits, the outbox its
//! notice counts) and the registry here collects them; what is a state rather than an event
//! (the pool, the outbox queue, the last backup and sync) is read when scraped.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::db::{DbConn, DbWaits};
use crate::schema::{outbox, sync_runs};

/// Seconds, for the request latencies: a page is a millisecond or two, a slow report a
/// second.
const LATENCY: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("a fixed counter is valid: {e}"))
}

fn int_gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).unwrap_or_else(|e| unreachable!("a fixed gauge is valid: {e}"))
}

fn gauge(name: &str, help: &str) -> Gauge {
    Gauge::new(name, help).unwrap_or_else(|e| unreachable!("a fixed gauge is valid: {e}"))
}

/// Notices the outbox worker handled, by outcome (sent, retried, failed, cancelled,
/// unreachable). Owned by [`crate::notices::worker::Outbox`].
#[derive(Clone)]
pub struct NoticeCounts(pub IntCounterVec);

impl Default for NoticeCounts {
    fn default() -> Self {
        NoticeCounts(counter_vec(
            "narvaro_notices_total",
            "Notices the outbox worker of this instance handled, by outcome.",
            &["outcome"],
        ))
    }
}

impl NoticeCounts {
    pub fn add(&self, outcome: &str, n: usize) {
        if n > 0 {
            self.0
                .with_label_values(&[outcome])
                .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }
}

/// The instruments of one running service.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    sign_ins: IntCounterVec,
    pool_size: IntGauge,
    pool_in_use: IntGauge,
    outbox_pending: IntGauge,
    outbox_failed: IntGauge,
    outbox_oldest_due: Gauge,
    sms_segments: IntGauge,
    last_backup: Gauge,
    last_sync: Gauge,
}

/// Methods as labels: anything else is "other", so a client cannot grow the series.
fn method_label(m: &actix_web::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    pub fn new(db: &DbWaits, notices: &NoticeCounts) -> Metrics {
        let requests = counter_vec(
            "narvaro_http_requests_total",
            "HTTP requests by method, route pattern and status.",
            &["method", "route", "status"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "narvaro_http_request_duration_seconds",
                "Time from a request's arrival to its response, by method and route pattern.",
            )
            .buckets(LATENCY.to_vec()),
            &["method", "route"],
        )
        .unwrap_or_else(|e| unreachable!("a fixed histogram is valid: {e}"));
        let m = Metrics {
            registry: Registry::new(),
            requests,
            latency,
            sign_ins: counter_vec(
                "narvaro_sign_ins_total",
                "Sign-in attempts by channel (web, api, link) and outcome (ok, failed, throttled).",
                &["channel", "outcome"],
            ),
            pool_size: int_gauge(
                "narvaro_db_pool_connections",
                "Database connections the pool holds open.",
            ),
            pool_in_use: int_gauge(
                "narvaro_db_pool_in_use",
                "Database connections in use by requests or workers.",
            ),
            outbox_pending: int_gauge(
                "narvaro_outbox_pending",
                "Notices waiting to be sent (due now or later).",
            ),
            outbox_failed: int_gauge(
                "narvaro_outbox_failed",
                "Notices that could not be sent and wait for staff.",
            ),
            outbox_oldest_due: gauge(
                "narvaro_outbox_oldest_due_age_seconds",
                "How long the oldest notice that is due has waited (0 when none is).",
            ),
            sms_segments: int_gauge(
                "narvaro_sms_segments_last_24h",
                "SMS segments the gateway took in the last 24 hours (what text messages cost), all instances.",
            ),
            last_backup: gauge(
                "narvaro_last_backup_timestamp_seconds",
                "When this instance last made a scheduled backup, as Unix time (0: never).",
            ),
            last_sync: gauge(
                "narvaro_last_sync_timestamp_seconds",
                "When the last successful SS 12000 sync finished, as Unix time (0: never).",
            ),
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.requests.clone()),
            Box::new(m.latency.clone()),
            Box::new(m.sign_ins.clone()),
            Box::new(m.pool_size.clone()),
            Box::new(m.pool_in_use.clone()),
            Box::new(m.outbox_pending.clone()),
            Box::new(m.outbox_failed.clone()),
            Box::new(m.outbox_oldest_due.clone()),
            Box::new(m.sms_segments.clone()),
            Box::new(m.last_backup.clone()),
            Box::new(m.last_sync.clone()),
            Box::new(db.pool.clone()),
            Box::new(db.write_turn.clone()),
            Box::new(notices.0.clone()),
        ];
        for c in collectors {
            // every name above is distinct, so registering cannot clash
            if let Err(e) = m.registry.register(c) {
                tracing::warn!(error = %e, "a metric could not be registered");
            }
        }
        m
    }

    /// One request answered.
    pub fn request(
        &self,
        method: &actix_web::http::Method,
        route: &str,
        status: u16,
        took: Duration,
    ) {
        let method = method_label(method);
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(took.as_secs_f64());
    }

    /// One sign-in attempt: `outcome` is ok, failed or throttled.
    pub fn sign_in(&self, channel: &str, outcome: &str) {
        self.sign_ins.with_label_values(&[channel, outcome]).inc();
    }

    /// The text a scrape gets, with the states read now.
    pub fn render(&self, now: &Snapshot) -> String {
        self.pool_size.set(i64::from(now.pool_connections));
        self.pool_in_use.set(i64::from(
            now.pool_connections.saturating_sub(now.pool_idle),
        ));
        self.outbox_pending.set(now.stored.pending);
        self.outbox_failed.set(now.stored.failed);
        self.outbox_oldest_due.set(now.stored.oldest_due_secs);
        self.sms_segments.set(now.stored.sms_segments);
        self.last_backup
            .set(now.last_backup.map_or(0.0, |t| t.timestamp() as f64));
        self.last_sync.set(
            now.stored
                .last_sync
                .map_or(0.0, |t| t.and_utc().timestamp() as f64),
        );
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "metrics could not be written");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What is read from the database when scraped.
#[derive(Debug, Default)]
pub struct Stored {
    pub pending: i64,
    pub failed: i64,
    pub oldest_due_secs: f64,
    pub last_sync: Option<NaiveDateTime>,
    /// SMS segments sent in the last 24 hours
    pub sms_segments: i64,
}

/// The states a scrape shows.
pub struct Snapshot {
    pub pool_connections: u32,
    pub pool_idle: u32,
    pub stored: Stored,
    pub last_backup: Option<chrono::DateTime<chrono::Utc>>,
}

/// The outbox queue and the last sync, in three small queries (the outbox's status index
/// serves them).
pub fn read_stored(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Stored> {
    let pending: i64 = outbox::table
        .filter(outbox::status.eq("pending"))
        .count()
        .get_result(conn)?;
    let failed: i64 = outbox::table
        .filter(outbox::status.eq("failed"))
        .count()
        .get_result(conn)?;
    let oldest: Option<NaiveDateTime> = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::due_at.le(now))
        .select(diesel::dsl::min(outbox::due_at))
        .first(conn)?;
    let sms_segments: Option<i64> = outbox::table
        .filter(outbox::provider_id.is_not_null())
        .filter(outbox::sent_at.gt(now - chrono::Duration::hours(24)))
        .select(diesel::dsl::sum(outbox::segments))
        .first(conn)?;
    let last_sync: Option<NaiveDateTime> = sync_runs::table
        .filter(sync_runs::status.eq(crate::school::states::SyncStatus::Ok))
        .select(diesel::dsl::max(sync_runs::finished_at))
        .first::<Option<NaiveDateTime>>(conn)?;
    Ok(Stored {
        pending,
        failed,
        oldest_due_secs: oldest
            .map(|due| (now - due).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0),
        last_sync,
        sms_segments: sms_segments.unwrap_or(0),
    })
}
