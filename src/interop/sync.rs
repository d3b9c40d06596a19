//! `narvaro sync`: the school structure pulled from the school administration system's
//! SS 12000 API (version 2.1), as the standard means consumers to provision themselves.
//!
//! - The first run (or `--full`) reads `/organisations`, `/persons`, `/groups`, `/duties`,
//!   `/syllabuses`, `/activities` and `/calendarEvents` whole, page by page (`limit`, then
//!   only `pageToken`, as the standard says), and stores them as a snapshot.
//! - Later runs ask each list for `meta.modified.after` the start of the last successful
//!   run (less a margin for clocks) and `/deletedEntities` `after` it, and store them as
//!   changes: nothing is ended that the source does not name.
//! - Everything is read before anything is written, and then written in one transaction
//!   (`import::store`): a run that fails, whatever the step, changes nothing, and the next
//!   one starts again from the last successful point.
//! - Memory does not grow with the timetable: each page is read into the roster's records
//!   as it arrives and then dropped, and the calendar events (millions in a large
//!   municipality's school year) wait in `sync_events` (`import::staged`), written back in
//!   batches inside the transaction.
//! - Each run is a row of `sync_runs` (start, end, counts, what failed), shown at
//!   `/admin/sync`; at most one runs at a time across every instance.
//! - Credentials: OAuth 2.0 client credentials (RFC 6749 §4.4, the id and secret by HTTP
//!   Basic) and/or a client certificate (mutual TLS). No credential reaches a log or a run's
//!   message.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::civic::CivicKey;
use crate::config::Ss12000Source;
use crate::db::{Database, DbConn};
use crate::error::AppResult;
use crate::interop::import::{self, Mode, Summary};
use crate::schema::sync_runs as t;
use crate::school::ids::SyncRunId;
use crate::school::states::SyncStatus;

/// A changes run asks for what changed this long before the last successful run began:
/// the source's clock and ours need not agree to the second (re-reading is harmless).
pub const MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// A run still marked running after this long died with its process: it is marked failed.
const STALE: chrono::Duration = chrono::Duration::hours(6);

/// Records asked for per page (the server may give fewer).
const PAGE: &str = "1000";

/// The most pages read from one list (a server that never stops paging is an error).
const MAX_PAGES: usize = 100_000;

/// The largest page read.
const MAX_PAGE_BYTES: usize = 256 * 1024 * 1024;

/// A stored run, for `/admin/sync`.
#[derive(Debug, Clone, Queryable)]
pub struct Run {
    pub id: SyncRunId,
    pub source: String,
    pub mode: String,
    pub status: SyncStatus,
    pub since: Option<NaiveDateTime>,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub records: i64,
    pub inserted: i64,
    pub updated: i64,
    pub ended: i64,
    pub message: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub mode: Mode,
    pub records: usize,
    pub summary: Summary,
}

/// What a request that got no answer says: which address could not be reached and why,
/// starting with [`CANNOT_CONNECT`] when no connection was made (the pages say it in the
/// reader's language).
fn transport_error(url: &str, e: &awc::error::SendRequestError) -> String {
    let address = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(format!("{host}:{}", u.port_or_known_default()?))
        })
        .unwrap_or_else(|| url.to_string());
    match e {
        awc::error::SendRequestError::Connect(c) => {
            format!("{CANNOT_CONNECT}{address} ({c}); asked for {url}")
        }
        other => format!("{url}: {other}"),
    }
}

/// How a run's message starts when no connection to the source could be made.
pub const CANNOT_CONNECT: &str = "cannot connect to ";

/// One run: decides full or changes, records it, pulls, stores in one transaction, and
/// records how it ended. `progress` hears each page (list, records so far).
pub async fn run(
    db: &Database,
    source: &Ss12000Source,
    full: bool,
    tz: Tz,
    clock: crate::school::clock::Clock,
    civic: &CivicKey,
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Result<Outcome, String> {
    let now = clock.now();
    let url = source.url.clone();
    let (id, mode, since) = db
        .write(move |c| Ok(begin(c, &url, full, now.naive_utc())))
        .await
        .map_err(|e| format!("the database: {e}"))??;
    let outcome = pull_and_store(db, id, source, (mode, since), tz, clock, civic, progress).await;
    // the staged events go, whatever the outcome (and those of runs that died)
    let cleared = db.write(move |c| Ok(import::staged::clear(c, id.0)?)).await;
    if let Err(e) = cleared {
        tracing::warn!("sync: the staged calendar events could not be removed: {e}");
    }
    let finished = clock.now_utc();
    let record = outcome.clone();
    db.write(move |c| finish(c, id, finished, &record))
        .await
        .map_err(|e| format!("the database, recording the run: {e}"))?;
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn pull_and_store(
    db: &Database,
    run: SyncRunId,
    source: &Ss12000Source,
    (mode, since): (Mode, Option<DateTime<Utc>>),
    tz: Tz,
    clock: crate::school::clock::Clock,
    civic: &CivicKey,
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Result<Outcome, String> {
    let today = clock.today(tz);
    let started = std::time::Instant::now();
    let (mut roster, records) = pull(db, run, source, since, today, tz, progress).await?;
    // the calendar asked for is the school year, whatever of it the source holds
    roster.calendar = Some(school_days(today));
    roster.hash_civic_numbers(civic);
    tracing::debug!(
        records,
        ms = started.elapsed().as_millis() as u64,
        rss_kib = crate::ops::memory::resident_kib(),
        peak_kib = crate::ops::memory::peak_kib(),
        "sync pulled and read"
    );
    let summary = db
        .write(move |c| Ok(import::store(c, &roster, mode, tz, today, clock.now_utc())))
        .await
        .map_err(|e| format!("the database: {e}"))??;
    Ok(Outcome {
        mode,
        records,
        summary,
    })
}

/// Starts a run: marks a run that died long ago failed, decides the mode (full when asked,
/// or when this source never synced successfully) and records the run as running. Refused
/// while another run is running.
fn begin(
    c: &mut DbConn,
    source: &str,
    full: bool,
    now: NaiveDateTime,
) -> Result<(SyncRunId, Mode, Option<DateTime<Utc>>), String> {
    let db = |e: diesel::result::Error| format!("the database: {e}");
    diesel::update(
        t::table
            .filter(t::status.eq(SyncStatus::Running))
            .filter(t::started_at.lt(now - STALE)),
    )
    .set((
        t::status.eq(SyncStatus::Failed),
        t::finished_at.eq(now),
        t::message.eq("the run stopped without finishing (its process ended)"),
    ))
    .execute(c)
    .map_err(db)?;
    let last_ok: Option<NaiveDateTime> = t::table
        .filter(t::source.eq(source))
        .filter(t::status.eq(SyncStatus::Ok))
        .select(diesel::dsl::max(t::started_at))
        .first(c)
        .map_err(db)?;
    let since = last_ok.filter(|_| !full).map(|at| (at - MARGIN).and_utc());
    let mode = if since.is_some() {
        Mode::Changes
    } else {
        Mode::Full
    };
    let inserted = diesel::insert_into(t::table)
        .values((
            t::source.eq(source),
            t::mode.eq(mode.as_str()),
            t::status.eq(SyncStatus::Running),
            t::since.eq(since.map(|s| s.naive_utc())),
            t::started_at.eq(now),
        ))
        .returning(t::id)
        .get_result::<SyncRunId>(c);
    match inserted {
        Ok(id) => Ok((id, mode, since)),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err("another sync is running; this one did not start".to_string()),
        Err(e) => Err(db(e)),
    }
}

/// Records how a run ended.
fn finish(
    c: &mut DbConn,
    id: SyncRunId,
    at: NaiveDateTime,
    outcome: &Result<Outcome, String>,
) -> AppResult<()> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match outcome {
        Ok(o) => {
            let notes = (!o.summary.notes.is_empty()).then(|| o.summary.notes.join("\n"));
            diesel::update(t::table.find(id))
                .set((
                    t::status.eq(SyncStatus::Ok),
                    t::finished_at.eq(at),
                    t::records.eq(count(o.records)),
                    t::inserted.eq(count(o.summary.inserted)),
                    t::updated.eq(count(o.summary.updated)),
                    t::ended.eq(count(o.summary.ended)),
                    t::message.eq(notes),
                ))
                .execute(c)?;
        }
        Err(e) => {
            diesel::update(t::table.find(id))
                .set((
                    t::status.eq(SyncStatus::Failed),
                    t::finished_at.eq(at),
                    t::message.eq(e),
                ))
                .execute(c)?;
        }
    }
    Ok(())
}

/// The latest runs, newest first.
pub fn recent(c: &mut DbConn, limit: i64) -> AppResult<Vec<Run>> {
    Ok(t::table
        .order(t::id.desc())
        .limit(limit)
        .select((
            t::id,
            t::source,
            t::mode,
            t::status,
            t::since,
            t::started_at,
            t::finished_at,
            t::records,
            t::inserted,
            t::updated,
            t::ended,
            t::message,
        ))
        .load(c)?)
}

/// The lists pulled, in the order they are read, with the entity names `/deletedEntities`
/// takes (`EndPointsEnum`).
const ENTITIES: [&str; 6] = [
    "Organisation",
    "Person",
    "Group",
    "Duty",
    "Activity",
    "CalendarEvent",
];

/// Reads every list (and, for changes, `/deletedEntities`) from the server into a roster,
/// a page at a time: a page's records are kept as the roster's (the calendar events staged
/// in the database for `run`), and the page goes. The roster and the records read.
pub async fn pull(
    db: &Database,
    run: SyncRunId,
    source: &Ss12000Source,
    since: Option<DateTime<Utc>>,
    today: NaiveDate,
    tz: Tz,
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Result<(import::Roster, usize), String> {
    let mut server = Server::new(source)?;
    let mut reader = import::ss12000::Reader::new(&source.url, tz);
    let mut records = 0;
    let changed_after = since.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    for key in import::ss12000::LISTS {
        let mut query: Vec<(&str, String)> = vec![("limit", PAGE.to_string())];
        if let Some(after) = &changed_after {
            query.push(("meta.modified.after", after.clone()));
        }
        if key == "calendarEvents" {
            // required by the standard: this school year's
            let (from, to) = school_year(today, tz);
            query.push(("startTime.onOrAfter", from));
            query.push(("startTime.onOrBefore", to));
        }
        let file = format!("{}/{key}", source.url);
        let mut read = 0;
        let mut page = server.page(key, &query).await?;
        for pages in 1.. {
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{file}: the answer has no data list"))?;
            reader.read(key, &file, data);
            read += data.len();
            progress(key, read);
            if key == "calendarEvents" {
                let events = reader.take_events();
                db.write(move |c| Ok(import::staged::stage(c, run.0, &events)?))
                    .await
                    .map_err(|e| format!("the database, staging calendar events: {e}"))?;
            }
            let Some(token) = next_token(&page) else {
                break;
            };
            if pages >= MAX_PAGES {
                return Err(format!(
                    "{file}: more than {MAX_PAGES} pages; the server does not stop paging"
                ));
            }
            page = server
                .page(key, &[("limit", PAGE.to_string()), ("pageToken", token)])
                .await?;
        }
        records += read;
    }
    if let Some(after) = &changed_after {
        let mut query: Vec<(&str, String)> =
            vec![("limit", PAGE.to_string()), ("after", after.clone())];
        query.extend(ENTITIES.iter().map(|e| ("entities", e.to_string())));
        let deleted = server.deleted(&query, progress).await?;
        reader.deleted(&deleted).map_err(|e| e.to_string())?;
    }
    let mut roster = reader.finish();
    roster.staged_events = Some(run.0);
    Ok((roster, records))
}

/// The first and last instant of the school year `today` is in, as the standard writes
/// them (RFC 3339).
fn school_year(today: NaiveDate, tz: Tz) -> (String, String) {
    let (start, last) = school_days(today);
    let instant = |d: NaiveDate, h: u32, m: u32, s: u32| {
        d.and_hms_opt(h, m, s)
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
            .unwrap_or_else(|| format!("{d}T{h:02}:{m:02}:{s:02}Z"))
    };
    (instant(start, 0, 0, 0), instant(last, 23, 59, 59))
}

/// The first and last day of the school year `today` is in.
fn school_days(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = crate::school::calendar::school_year_start(today);
    let last = crate::school::calendar::school_year_start(start + chrono::Duration::days(400))
        - chrono::Duration::days(1);
    (start, last)
}

/// The SS 12000 server, with its bearer token.
struct Server<'a> {
    source: &'a Ss12000Source,
    http: awc::Client,
    token: Option<(String, Instant)>,
}

impl<'a> Server<'a> {
    fn new(source: &'a Ss12000Source) -> Result<Self, String> {
        let tls = tls_client(source)?;
        let connector = awc::Connector::new()
            .rustls_0_23(std::sync::Arc::new(tls))
            .timeout(Duration::from_secs(15));
        let http = awc::Client::builder()
            .connector(connector)
            .timeout(Duration::from_secs(120))
            .disable_redirects()
            .finish();
        Ok(Server {
            source,
            http,
            token: None,
        })
    }

    /// A bearer token from the token endpoint (client credentials), kept until shortly
    /// before it expires; none without OAuth.
    async fn bearer(&mut self, renew: bool) -> Result<Option<String>, String> {
        let Some(oauth) = &self.source.oauth else {
            return Ok(None);
        };
        if let Some((token, until)) = &self.token {
            if !renew && Instant::now() < *until {
                return Ok(Some(token.clone()));
            }
        }
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut form = vec![("grant_type", "client_credentials".to_string())];
        if let Some(scope) = &oauth.scope {
            form.push(("scope", scope.clone()));
        }
        let mut answer = self
            .http
            .post(&oauth.token_url)
            .basic_auth(enc(&oauth.client_id), enc(&oauth.client_secret))
            .send_form(&form)
            .await
            .map_err(|e| transport_error(&oauth.token_url, &e))?;
        let status = answer.status();
        let body: Value = answer.json().limit(64 * 1024).await.map_err(|e| {
            format!(
                "the token endpoint {} answered {status}: {e}",
                oauth.token_url
            )
        })?;
        if !status.is_success() {
            let code = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error code");
            return Err(format!(
                "the token endpoint {} refused the client credentials: {status} ({code})",
                oauth.token_url
            ));
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!(
                    "the token endpoint {} gave no access_token",
                    oauth.token_url
                )
            })?
            .to_string();
        let lasts = body
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(300)
            .saturating_sub(30)
            .max(1);
        self.token = Some((token.clone(), Instant::now() + Duration::from_secs(lasts)));
        Ok(Some(token))
    }

    /// One page: GET `{url}/{path}?{query}`, a new token once if the server says the
    /// token is no longer good.
    async fn page(&mut self, path: &str, query: &[(&str, String)]) -> Result<Value, String> {
        let url = format!("{}/{path}", self.source.url);
        for attempt in 0..2 {
            let token = self.bearer(attempt > 0).await?;
            let mut req = self
                .http
                .get(&url)
                .insert_header(("Accept", "application/json"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let req = req
                .query(&query)
                .map_err(|e| format!("{url}: the query could not be written: {e}"))?;
            let mut answer = req.send().await.map_err(|e| transport_error(&url, &e))?;
            let status = answer.status();
            if status == awc::http::StatusCode::UNAUTHORIZED && attempt == 0 {
                continue;
            }
            let body = answer.body().limit(MAX_PAGE_BYTES).await.map_err(|e| {
                format!("{url} answered {status}, and its body could not be read: {e}")
            })?;
            if !status.is_success() {
                let said: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let code = said.get("code").and_then(Value::as_str).unwrap_or("");
                let message = said.get("message").and_then(Value::as_str).unwrap_or("");
                return Err(format!("{url} answered {status} {code} {message}")
                    .trim()
                    .to_string());
            }
            return serde_json::from_slice(&body)
                .map_err(|e| format!("{url} answered what is not JSON: {e}"));
        }
        Err(format!("{url}: the server refused a new token too"))
    }

    /// `/deletedEntities`, every page's lists joined.
    async fn deleted(
        &mut self,
        query: &[(&str, String)],
        progress: &(dyn Fn(&str, usize) + Sync),
    ) -> Result<Value, String> {
        let mut all = serde_json::Map::new();
        let mut page = self.page("deletedEntities", query).await?;
        for _ in 0..MAX_PAGES {
            let data = page.get("data").and_then(Value::as_object).ok_or_else(|| {
                format!(
                    "{}/deletedEntities: the answer has no data",
                    self.source.url
                )
            })?;
            for (k, v) in data {
                let ids = v.as_array().cloned().unwrap_or_default();
                if let Some(Value::Array(have)) = all.get_mut(k) {
                    have.extend(ids);
                } else {
                    all.insert(k.clone(), Value::Array(ids));
                }
            }
            progress(
                "deletedEntities",
                all.values().filter_map(Value::as_array).map(Vec::len).sum(),
            );
            match next_token(&page) {
                None => return Ok(Value::Object(all)),
                Some(token) => {
                    page = self
                        .page(
                            "deletedEntities",
                            &[("limit", PAGE.to_string()), ("pageToken", token)],
                        )
                        .await?;
                }
            }
        }
        Err(format!(
            "{}/deletedEntities: more than {MAX_PAGES} pages",
            self.source.url
        ))
    }
}

/// TLS for the server: the public roots (and the municipality's own CA, if given), and
/// the client certificate for mutual TLS, if given. HTTP/1.1.
fn tls_client(source: &Ss12000Source) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(ca) = &source.ca_file {
        for cert in CertificateDer::pem_file_iter(ca)
            .map_err(|e| format!("NARVARO_SS12000_CA ({}): {e}", ca.display()))?
        {
            let cert = cert.map_err(|e| format!("NARVARO_SS12000_CA ({}): {e}", ca.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("NARVARO_SS12000_CA ({}): {e}", ca.display()))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    let mut config = match &source.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert_file, key_file)) => {
            let certs = CertificateDer::pem_file_iter(cert_file)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    format!("NARVARO_SS12000_CLIENT_CERT ({}): {e}", cert_file.display())
                })?;
            let key = PrivateKeyDer::from_pem_file(key_file)
                .map_err(|e| format!("NARVARO_SS12000_CLIENT_KEY ({}): {e}", key_file.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("NARVARO_SS12000_CLIENT_CERT and _KEY: {e}"))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The next page's token: a non-empty `pageToken` (null or absent: the last page).
fn next_token(page: &Value) -> Option<String> {
    page.get("pageToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The server's own schedule (`NARVARO_SYNC_INTERVAL_MINUTES`): a run now and then every
/// interval; a run another instance holds is skipped. Errors are logged, never fatal.
pub async fn scheduled(
    db: Database,
    source: Ss12000Source,
    tz: Tz,
    clock: crate::school::clock::Clock,
    civic: CivicKey,
) {
    let Some(minutes) = source.interval_minutes else {
        return;
    };
    let mut every = actix_web::rt::time::interval(Duration::from_secs(minutes * 60));
    loop {
        every.tick().await;
        match run(&db, &source, false, tz, clock, &civic, &|_, _| {}).await {
            Ok(o) => tracing::info!(
                mode = o.mode.as_str(),
                records = o.records,
                "sync: {}",
                o.summary
            ),
            Err(e) => tracing::warn!("sync failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_school_year_runs_from_july_to_june_in_school_time() {
        let tz = chrono_tz::Europe::Stockholm;
        let (from, to) = school_year(NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(), tz);
        assert_eq!(from, "2026-07-01T00:00:00+02:00");
        assert_eq!(to, "2027-06-30T23:59:59+02:00");
        let (from, _) = school_year(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(), tz);
        assert_eq!(from, "2026-07-01T00:00:00+02:00");
    }

    #[test]
    fn the_last_page_has_no_token() {
        assert_eq!(next_token(&serde_json::json!({"data": []})), None);
        assert_eq!(
            next_token(&serde_json::json!({"data": [], "pageToken": null})),
            None
        );
        assert_eq!(
            next_token(&serde_json::json!({"data": [], "pageToken": ""})),
            None
        );
        assert_eq!(
            next_token(&serde_json::json!({"data": [], "pageToken": "x"})),
            Some("x".into())
        );
    }
}
