//! Configuration from environment variables. Every value is checked at start-up;
//! a bad one fails with a single line that names the variable.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use chrono_tz::Tz;

pub use crate::db::url::{redact_password, DatabaseUrl};

/// `DATABASE_URL`, or the SQLite file beside the binary when it is unset.
fn database_url(raw: Option<String>) -> Result<DatabaseUrl, ConfigError> {
    match raw {
        Some(raw) => DatabaseUrl::parse(&raw).map_err(|m| ConfigError::new("DATABASE_URL", m)),
        None => Ok(DatabaseUrl::Sqlite(PathBuf::from("./narvaro.db"))),
    }
}

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// Where `/metrics` is served, apart from the pages (`NARVARO_METRICS_BIND`); off when
    /// None.
    pub metrics_bind: Option<SocketAddr>,
    pub base_url: String,
    pub smtp_url: Option<String>,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    pub jwt_secret: Option<Vec<u8>>,
    pub timezone: Tz,
    /// Load balancers whose X-Forwarded-For names the real client (for sign-in limits and the audit log).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// When the day's unexplained-absence notices are due (school-local).
    pub notice_at: chrono::NaiveTime,
    /// Instead: this many minutes after the lesson was reported (0 = at once).
    pub notice_delay_minutes: Option<i64>,
    /// A folder whose templates replace the built-in ones, file by file.
    pub template_dir: Option<PathBuf>,
    /// Arabic and Persian pages and messages with Latin digits (NARVARO_LATIN_DIGITS=on)
    /// instead of the languages' own.
    pub latin_digits: bool,
    /// The SMS gateway (NARVARO_SMS_URL and its user, password and sender); no text
    /// messages when None.
    pub sms: Option<SmsConfig>,
    /// How guardians are told when they have not chosen (NARVARO_NOTIFY_BY): `email`,
    /// `sms` or `both`. A text message that fails is followed by an e-mail.
    pub notify_by: String,
    /// Where vulnerabilities are reported (NARVARO_SECURITY_CONTACT): `mailto:`, `https:`
    /// or `tel:` URIs, for `/.well-known/security.txt`.
    pub security_contacts: Vec<String>,
    /// Who answers for the service's accessibility, for the statement at /accessibility.
    pub accessibility: AccessibilityContact,
    /// How often the in-server worker looks for due notices; 0 turns it off.
    pub outbox_poll_seconds: u64,
    /// After SIGTERM, how long the server goes on serving while `/healthz` answers 503,
    /// so that a load balancer takes it out before it closes its connections
    /// (`NARVARO_DRAIN_SECONDS`, 0 by default: stop at once).
    pub drain_seconds: u64,
    /// The clock the school day runs on: the system's, or a set one (a test's, or
    /// `NARVARO_CLOCK_START` for a drill or a scenario that must not depend on the date).
    pub clock: crate::school::clock::Clock,
    /// The SS 12000 server `narvaro sync` pulls from (`NARVARO_SS12000_*`), if any.
    pub ss12000_source: Option<Ss12000Source>,
    /// Backups the server takes by itself (`NARVARO_BACKUP_*`, SQLite only), if any.
    pub backups: Option<BackupSchedule>,
    /// How long personal data is kept (`NARVARO_RETENTION_*`; src/retention.rs).
    pub retention: Retention,
    /// The municipality's identity provider for staff (`NARVARO_OIDC_STAFF_*`), if any.
    pub oidc_staff: Option<OidcProvider>,
    /// The identity broker for guardians and adult pupils, BankID or Freja eID
    /// (`NARVARO_OIDC_GUARDIAN_*`), if any.
    pub oidc_guardian: Option<OidcProvider>,
    /// Which of the older ways to sign in stay once a provider is configured.
    pub sign_in: SignInPolicy,
}

/// An OpenID Connect provider: its issuer (discovery at
/// `<issuer>/.well-known/openid-configuration`), Närvaro's client there, the claim people
/// are matched on, and the scopes asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub claim: String,
    pub scopes: Vec<String>,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("claim", &self.claim)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Whether staff may still sign in with a password and guardians with an e-mailed link.
/// With a staff provider, passwords are off by default except for administrators (the
/// break-glass account that reaches the service when the provider is down).
/// `second_factor_for`: the roles whose password accounts must have a second factor
/// (`NARVARO_SECOND_FACTOR_FOR`, e.g. `admin,principal,case_officer`; none unless set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInPolicy {
    pub staff_passwords: bool,
    pub guardian_links: bool,
    pub second_factor_for: Vec<crate::school::states::Role>,
}

/// The roles a comma-separated list names (`none` or nothing: no role).
fn roles(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Vec<crate::school::states::Role>, ConfigError> {
    use crate::school::states::Role;
    let text = get(name).unwrap_or_default();
    let mut out = Vec::new();
    for word in text
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty() && *w != "none")
    {
        let role = Role::parse(word).ok_or_else(|| {
            ConfigError::new(
                name,
                format!("'{word}' is not a role (admin, principal, school_admin, case_officer, health, mentor, teacher)"),
            )
        })?;
        if !out.contains(&role) {
            out.push(role);
        }
    }
    Ok(out)
}

/// The name of a `NARVARO_OIDC_<WHO>_<NAME>` variable, for messages.
fn oidc_var(who: &str, name: &str) -> &'static str {
    match (who, name) {
        ("STAFF", "ISSUER") => "NARVARO_OIDC_STAFF_ISSUER",
        ("STAFF", "CLIENT_ID") => "NARVARO_OIDC_STAFF_CLIENT_ID",
        ("STAFF", "CLIENT_SECRET") => "NARVARO_OIDC_STAFF_CLIENT_SECRET",
        ("STAFF", "CLAIM") => "NARVARO_OIDC_STAFF_CLAIM",
        ("STAFF", _) => "NARVARO_OIDC_STAFF_SCOPES",
        (_, "ISSUER") => "NARVARO_OIDC_GUARDIAN_ISSUER",
        (_, "CLIENT_ID") => "NARVARO_OIDC_GUARDIAN_CLIENT_ID",
        (_, "CLIENT_SECRET") => "NARVARO_OIDC_GUARDIAN_CLIENT_SECRET",
        (_, "CLAIM") => "NARVARO_OIDC_GUARDIAN_CLAIM",
        _ => "NARVARO_OIDC_GUARDIAN_SCOPES",
    }
}

/// `NARVARO_OIDC_<WHO>_*`: all of ISSUER, CLIENT_ID and CLIENT_SECRET, or none.
fn oidc_provider(
    get: &dyn Fn(&str) -> Option<String>,
    who: &str,
    default_claim: &str,
    default_scopes: &str,
) -> Result<Option<OidcProvider>, ConfigError> {
    let var = |name: &str| oidc_var(who, name);
    let issuer = get(var("ISSUER")).map(|v| v.trim().trim_end_matches('/').to_string());
    let id = get(var("CLIENT_ID")).map(|v| v.trim().to_string());
    let secret = get(var("CLIENT_SECRET")).map(|v| v.trim().to_string());
    let (issuer, client_id, client_secret) = match (issuer, id, secret) {
        (None, None, None) => return Ok(None),
        (Some(i), Some(c), Some(s)) => (i, c, s),
        (i, c, _) => {
            let missing = if i.is_none() {
                "ISSUER"
            } else if c.is_none() {
                "CLIENT_ID"
            } else {
                "CLIENT_SECRET"
            };
            return Err(ConfigError::new(
                var(missing),
                format!("is missing: a provider needs NARVARO_OIDC_{who}_ISSUER, _CLIENT_ID and _CLIENT_SECRET"),
            ));
        }
    };
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if !issuer.starts_with("https://") && !loopback.iter().any(|l| issuer.starts_with(l)) {
        return Err(ConfigError::new(
            var("ISSUER"),
            format!("'{issuer}' is not an https:// URL (OpenID Connect Discovery requires https)"),
        ));
    }
    let claim = get(var("CLAIM")).unwrap_or_else(|| default_claim.to_string());
    let claim = claim.trim().to_string();
    if claim.is_empty()
        || !claim
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(ConfigError::new(
            var("CLAIM"),
            format!("'{claim}' is not a claim name such as email, upn or preferred_username"),
        ));
    }
    let scopes: Vec<String> = get(var("SCOPES"))
        .unwrap_or_else(|| default_scopes.to_string())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(ConfigError::new(var("SCOPES"), "must include openid"));
    }
    Ok(Some(OidcProvider {
        issuer,
        client_id,
        client_secret,
        claim,
        scopes,
    }))
}

/// The identity providers and which older ways to sign in stay.
fn sign_in_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(Option<OidcProvider>, Option<OidcProvider>, SignInPolicy), ConfigError> {
    let staff = oidc_provider(get, "STAFF", "email", "openid email profile")?;
    let guardian = oidc_provider(
        get,
        "GUARDIAN",
        "personal_identity_number",
        "openid profile",
    )?;
    let policy = SignInPolicy {
        staff_passwords: on_off(get, "NARVARO_STAFF_PASSWORDS", staff.is_none())?,
        guardian_links: on_off(get, "NARVARO_GUARDIAN_LINKS", true)?,
        second_factor_for: roles(get, "NARVARO_SECOND_FACTOR_FOR")?,
    };
    Ok((staff, guardian, policy))
}

fn on_off(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "on" || v == "true" || v == "1" => Ok(true),
        Some(v) if v == "off" || v == "false" || v == "0" => Ok(false),
        Some(v) => Err(ConfigError::new(name, format!("'{v}' is not on or off"))),
    }
}

/// How long personal data is kept: a pupil's records `years` after their last enrolment
/// ended (and their guardians' with them); a sent e-mail's content and address
/// `mail_days` after it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub years: u32,
    pub mail_days: u32,
    /// days the log of who read a pupil's records is kept (`access_log`)
    pub access_log_days: u32,
}

/// Three years after a pupil leaves: a complaint to the school, the Schools Inspectorate
/// or a court about the pupil's schooling and absence is made well within that, and the
/// municipality's records plan (dokumenthanteringsplan) sets its own value.
pub const DEFAULT_RETENTION_YEARS: u32 = 3;
/// 90 days: long enough to answer "did the e-mail reach me?", short enough that the
/// outbox is not a second register of children's absence.
pub const DEFAULT_RETENTION_MAIL_DAYS: u32 = 90;

fn retention(get: &dyn Fn(&str) -> Option<String>) -> Result<Retention, ConfigError> {
    let number = |name: &'static str, default: u32, max: u32, zero: &str| {
        let raw = get(name).unwrap_or_else(|| default.to_string());
        match raw.trim().parse::<u32>() {
            Ok(0) => Err(ConfigError::new(name, zero.to_string())),
            Ok(n) if n <= max => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!("'{raw}' is not a whole number from 1 to {max}"),
            )),
        }
    };
    Ok(Retention {
        years: number(
            "NARVARO_RETENTION_YEARS",
            DEFAULT_RETENTION_YEARS,
            100,
            "0 years would erase a pupil's records the day they leave; give 1 to 100 years, as the municipality's records plan says",
        )?,
        mail_days: number(
            "NARVARO_RETENTION_MAIL_DAYS",
            DEFAULT_RETENTION_MAIL_DAYS,
            3650,
            "0 days would forget an e-mail before anyone could ask about it; give 1 to 3650 days",
        )?,
        access_log_days: number(
            "NARVARO_ACCESS_LOG_DAYS",
            crate::access_log::DEFAULT_DAYS,
            3650,
            "0 days would forget who read a pupil's records at once; give 1 to 3650 days",
        )?,
    })
}

/// Where and how often the server backs up its SQLite database, and how many it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every_hours: u64,
    pub keep: usize,
}

/// The school administration system's SS 12000 API, and how to sign in to it.
#[derive(Clone)]
pub struct Ss12000Source {
    /// the API's base (`https://…/ss12000/v2`), without a trailing slash
    pub url: String,
    /// OAuth 2.0 client credentials
    pub oauth: Option<SourceOAuth>,
    /// a client certificate and its key (PEM files), for mutual TLS
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// a CA certificate (PEM) the server's certificate may chain to besides the public ones
    pub ca_file: Option<PathBuf>,
    /// the server's own schedule (`NARVARO_SYNC_INTERVAL_MINUTES`); none: `narvaro sync` only
    pub interval_minutes: Option<u64>,
}

#[derive(Clone)]
pub struct SourceOAuth {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
}

impl fmt::Debug for Ss12000Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ss12000Source")
            .field("url", &self.url)
            .field(
                "oauth",
                &self
                    .oauth
                    .as_ref()
                    .map(|o| (&o.token_url, &o.client_id, "***")),
            )
            .field("client_cert", &self.client_cert)
            .field("ca_file", &self.ca_file)
            .field("interval_minutes", &self.interval_minutes)
            .finish()
    }
}

/// An http(s) address without credentials in it, and without a trailing slash.
fn http_url(var: &'static str, raw: String) -> Result<String, ConfigError> {
    let url = raw.trim().trim_end_matches('/').to_string();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            ConfigError::new(
                var,
                format!("'{url}' is not an http:// or https:// address"),
            )
        })?;
    if rest.is_empty() || rest.split('/').next().is_some_and(|h| h.contains('@')) {
        return Err(ConfigError::new(
                var,
                "needs a host, and no user or password in it (use NARVARO_SS12000_CLIENT_ID and _SECRET)",
            ));
    }
    Ok(url)
}

/// `NARVARO_SS12000_URL` and what goes with it; none without the URL.
fn ss12000_source(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Ss12000Source>, ConfigError> {
    let interval = get("NARVARO_SYNC_INTERVAL_MINUTES")
        .map(|raw| {
            raw.trim()
                .parse::<u64>()
                .ok()
                .filter(|m| (1..=7 * 24 * 60).contains(m))
                .ok_or_else(|| {
                    ConfigError::new(
                        "NARVARO_SYNC_INTERVAL_MINUTES",
                        format!("'{raw}' is not a number of minutes from 1 to 10080 (a week)"),
                    )
                })
        })
        .transpose()?;
    let Some(url) = get("NARVARO_SS12000_URL") else {
        if interval.is_some() {
            return Err(ConfigError::new(
                "NARVARO_SYNC_INTERVAL_MINUTES",
                "is set, but NARVARO_SS12000_URL (the server to sync from) is not",
            ));
        }
        return Ok(None);
    };
    let url = http_url("NARVARO_SS12000_URL", url)?;
    let oauth = match (
        get("NARVARO_SS12000_CLIENT_ID"),
        get("NARVARO_SS12000_CLIENT_SECRET"),
    ) {
        (Some(id), Some(secret)) => Some(SourceOAuth {
            token_url: http_url(
                "NARVARO_SS12000_TOKEN_URL",
                get("NARVARO_SS12000_TOKEN_URL").ok_or_else(|| {
                    ConfigError::new(
                        "NARVARO_SS12000_TOKEN_URL",
                        "is needed with NARVARO_SS12000_CLIENT_ID (the OAuth 2.0 token endpoint)",
                    )
                })?,
            )?,
            client_id: id.trim().to_string(),
            client_secret: secret.trim().to_string(),
            scope: get("NARVARO_SS12000_SCOPE").map(|s| s.trim().to_string()),
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::new(
                "NARVARO_SS12000_CLIENT_SECRET",
                "is needed with NARVARO_SS12000_CLIENT_ID",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "NARVARO_SS12000_CLIENT_ID",
                "is needed with NARVARO_SS12000_CLIENT_SECRET",
            ))
        }
    };
    let file = |var: &'static str| -> Result<Option<PathBuf>, ConfigError> {
        get(var)
            .map(|f| {
                let path = PathBuf::from(f.trim());
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(ConfigError::new(
                        var,
                        format!("'{}' is not a file", path.display()),
                    ))
                }
            })
            .transpose()
    };
    let client_cert = match (
        file("NARVARO_SS12000_CLIENT_CERT")?,
        file("NARVARO_SS12000_CLIENT_KEY")?,
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::new(
                "NARVARO_SS12000_CLIENT_KEY",
                "is needed with NARVARO_SS12000_CLIENT_CERT",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "NARVARO_SS12000_CLIENT_CERT",
                "is needed with NARVARO_SS12000_CLIENT_KEY",
            ))
        }
    };
    if oauth.is_none() && client_cert.is_none() {
        return Err(ConfigError::new(
            "NARVARO_SS12000_URL",
            "needs a credential: NARVARO_SS12000_CLIENT_ID, _CLIENT_SECRET and _TOKEN_URL (OAuth 2.0 client credentials), or NARVARO_SS12000_CLIENT_CERT and _CLIENT_KEY (mutual TLS)",
        ));
    }
    Ok(Some(Ss12000Source {
        url,
        oauth,
        client_cert,
        ca_file: file("NARVARO_SS12000_CA")?,
        interval_minutes: interval,
    }))
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field("bind", &self.bind)
            .field("metrics_bind", &self.metrics_bind)
            .field("base_url", &self.base_url)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_password))
            .field("mail_dir", &self.mail_dir)
            .field("mail_from", &self.mail_from)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("timezone", &self.timezone)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("notice_at", &self.notice_at)
            .field("notice_delay_minutes", &self.notice_delay_minutes)
            .field("template_dir", &self.template_dir)
            .field("latin_digits", &self.latin_digits)
            .field("sms", &self.sms)
            .field("notify_by", &self.notify_by)
            .field("security_contacts", &self.security_contacts)
            .field("accessibility", &self.accessibility)
            .field("outbox_poll_seconds", &self.outbox_poll_seconds)
            .field("drain_seconds", &self.drain_seconds)
            .field("clock", &self.clock)
            .field("ss12000_source", &self.ss12000_source)
            .field("backups", &self.backups)
            .field("retention", &self.retention)
            .field("oidc_staff", &self.oidc_staff)
            .field("oidc_guardian", &self.oidc_guardian)
            .field("sign_in", &self.sign_in)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            var,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const MIN_SECRET_BYTES: usize = 32;

/// `NARVARO_BACKUP_DIR` (a writable folder; SQLite only), `NARVARO_BACKUP_EVERY_HOURS`
/// (1–168, default 24) and `NARVARO_BACKUP_KEEP` (1–1000, default 14).
fn backup_schedule(
    get: &dyn Fn(&str) -> Option<String>,
    database_url: &DatabaseUrl,
) -> Result<Option<BackupSchedule>, ConfigError> {
    let Some(dir) = get("NARVARO_BACKUP_DIR").map(|d| PathBuf::from(d.trim())) else {
        return Ok(None);
    };
    if matches!(database_url, DatabaseUrl::Postgres(_)) {
        return Err(ConfigError::new(
            "NARVARO_BACKUP_DIR",
            "is for the SQLite database; back PostgreSQL up with its own tools (pg_dump, WAL archiving; README, Backups)".to_string(),
        ));
    }
    if !dir.is_dir() {
        return Err(ConfigError::new(
            "NARVARO_BACKUP_DIR",
            format!("'{}' is not a folder", dir.display()),
        ));
    }
    let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
        let raw = get(name).unwrap_or_else(|| default.to_string());
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ConfigError::new(
                    name,
                    format!("'{raw}' is not a whole number from 1 to {max}"),
                )
            })
    };
    Ok(Some(BackupSchedule {
        dir,
        every_hours: number("NARVARO_BACKUP_EVERY_HOURS", 24, 168)?,
        keep: number("NARVARO_BACKUP_KEEP", 14, 1000)? as usize,
    }))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let database_url = database_url(lookup("DATABASE_URL"))?;

        let bind_raw = get("NARVARO_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind_raw.trim().parse().map_err(|_| {
            ConfigError::new(
                "NARVARO_BIND",
                format!("'{bind_raw}' is not an address and port such as {DEFAULT_BIND}"),
            )
        })?;
        let metrics_bind = get("NARVARO_METRICS_BIND")
            .map(|raw| metrics_bind(&raw, bind))
            .transpose()?;
        let base_url = base_url(get("NARVARO_BASE_URL"), bind)?;
        let (security_contacts, accessibility) = contacts(&get, &base_url)?;
        let smtp_url = get("NARVARO_SMTP_URL").map(smtp_url).transpose()?;

        let mail_dir =
            PathBuf::from(get("NARVARO_MAIL_DIR").unwrap_or_else(|| "./mail".to_string()));

        let mail_from = get("NARVARO_MAIL_FROM")
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "Närvaro <no-reply@localhost>".to_string());
        if !mail_from.contains('@') {
            return Err(ConfigError::new(
                "NARVARO_MAIL_FROM",
                format!("'{mail_from}' is not an e-mail address such as Närvaro <no-reply@skola.example>"),
            ));
        }

        let jwt_secret = match get("NARVARO_JWT_SECRET") {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(ConfigError::new(
                    "NARVARO_JWT_SECRET",
                    format!(
                        "is {} bytes; use at least {MIN_SECRET_BYTES} random bytes",
                        secret.len()
                    ),
                ))
            }
            Some(secret) => Some(secret.into_bytes()),
            None => None,
        };
        if jwt_secret.is_none() && matches!(database_url, DatabaseUrl::Postgres(_)) {
            return Err(ConfigError::new(
                "NARVARO_JWT_SECRET",
                "is required with PostgreSQL (every instance must share it); e.g. `openssl rand -hex 32`",
            ));
        }

        let tz_raw = get("NARVARO_TIMEZONE").unwrap_or_else(|| "Europe/Stockholm".to_string());
        let timezone: Tz = tz_raw.trim().parse().map_err(|_| {
            ConfigError::new(
                "NARVARO_TIMEZONE",
                format!("'{tz_raw}' is not an IANA time zone such as Europe/Stockholm"),
            )
        })?;

        let trusted_proxies = trusted_proxies(&get("NARVARO_TRUSTED_PROXIES").unwrap_or_default())?;

        let notice_at_raw = get("NARVARO_NOTICE_AT").unwrap_or_else(|| "15:30".into());
        let notice_at =
            chrono::NaiveTime::parse_from_str(notice_at_raw.trim(), "%H:%M").map_err(|_| {
                ConfigError::new(
                    "NARVARO_NOTICE_AT",
                    format!("'{notice_at_raw}' is not a time of day such as 15:30"),
                )
            })?;
        let notice_delay_minutes = get("NARVARO_NOTICE_DELAY_MINUTES")
            .map(notice_delay)
            .transpose()?;
        let template_dir = get("NARVARO_TEMPLATE_DIR").map(|d| PathBuf::from(d.trim()));
        if let Some(dir) = &template_dir {
            if !dir.is_dir() {
                return Err(ConfigError::new(
                    "NARVARO_TEMPLATE_DIR",
                    format!("'{}' is not a folder", dir.display()),
                ));
            }
        }
        let (latin_digits, sms, notify_by) = reach_settings(&get)?;
        let backups = backup_schedule(&get, &database_url)?;
        let retention = retention(&get)?;
        let (oidc_staff, oidc_guardian, sign_in) = sign_in_settings(&get)?;
        let outbox_poll_seconds = outbox_poll(&get)?;
        let drain_seconds = drain(&get)?;
        let clock = clock_start(&get)?;

        Ok(Config {
            database_url,
            bind,
            metrics_bind,
            base_url,
            smtp_url,
            mail_dir,
            mail_from,
            jwt_secret,
            timezone,
            trusted_proxies,
            notice_at,
            notice_delay_minutes,
            template_dir,
            latin_digits,
            sms,
            notify_by,
            security_contacts,
            accessibility,
            outbox_poll_seconds,
            drain_seconds,
            backups,
            retention,
            oidc_staff,
            oidc_guardian,
            sign_in,
            clock,
            ss12000_source: ss12000_source(&get)?,
        })
    }
}

/// The gateway's settings (NARVARO_SMS_URL, NARVARO_SMS_USER, NARVARO_SMS_PASSWORD,
/// NARVARO_SMS_FROM).
#[derive(Clone, PartialEq, Eq)]
pub struct SmsConfig {
    /// the API's base address, e.g. https://api.46elks.com/a1
    pub url: String,
    pub user: String,
    pub password: String,
    /// the sender shown on the phone: up to 11 letters and digits, or a number
    pub from: String,
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// `NARVARO_SECURITY_CONTACT`: comma-separated `mailto:`, `https:` or `tel:` URIs; by
/// default `mailto:security@` the host of the base address.
/// Who stands behind the service (`NARVARO_ORGANISATION`, e.g. "Exempels kommun") and
/// where people write about its accessibility (`NARVARO_ACCESSIBILITY_CONTACT`, an e-mail
/// address or a web address), for the accessibility statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessibilityContact {
    pub organisation: Option<String>,
    pub contact: Option<String>,
}

/// The security contacts (security.txt) and the accessibility contact.
fn contacts(
    get: &dyn Fn(&str) -> Option<String>,
    base_url: &str,
) -> Result<(Vec<String>, AccessibilityContact), ConfigError> {
    let organisation = get("NARVARO_ORGANISATION")
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty());
    let contact = match get("NARVARO_ACCESSIBILITY_CONTACT").map(|c| c.trim().to_string()) {
        None => None,
        Some(c) if c.is_empty() => None,
        Some(c)
            if (c.starts_with("https://") || c.contains('@'))
                && !c.chars().any(|ch| ch.is_whitespace() || ch.is_control()) =>
        {
            Some(c.trim_start_matches("mailto:").to_string())
        }
        Some(c) => {
            return Err(ConfigError::new(
                "NARVARO_ACCESSIBILITY_CONTACT",
                format!("'{c}' is not an e-mail address or an https:// address"),
            ))
        }
    };
    Ok((
        security_contacts(get, base_url)?,
        AccessibilityContact {
            organisation,
            contact,
        },
    ))
}

fn security_contacts(
    get: &dyn Fn(&str) -> Option<String>,
    base_url: &str,
) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = get("NARVARO_SECURITY_CONTACT") else {
        let host = base_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(base_url)
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost");
        return Ok(vec![format!("mailto:security@{host}")]);
    };
    let contacts: Vec<String> = raw
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let good = |c: &String| {
        ["mailto:", "https://", "tel:"]
            .iter()
            .any(|p| c.starts_with(p))
            && !c.chars().any(|ch| ch.is_whitespace() || ch.is_control())
    };
    if contacts.is_empty() || !contacts.iter().all(good) {
        return Err(ConfigError::new(
            "NARVARO_SECURITY_CONTACT",
            format!("'{raw}' is not one or more mailto:, https:// or tel: addresses"),
        ));
    }
    Ok(contacts)
}

/// How guardians are reached: `NARVARO_LATIN_DIGITS`, and the SMS gateway.
fn reach_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(bool, Option<SmsConfig>, String), ConfigError> {
    let latin_digits = on_off(get, "NARVARO_LATIN_DIGITS", false)?;
    let (sms, notify_by) = sms_settings(get)?;
    Ok((latin_digits, sms, notify_by))
}

/// The SMS gateway: `NARVARO_SMS_URL` (https://, or http:// to a loopback address for a
/// test), with `NARVARO_SMS_USER` and `NARVARO_SMS_PASSWORD`; `NARVARO_SMS_FROM` up to 11
/// letters and digits or a number (default "Narvaro"); and `NARVARO_NOTIFY_BY`.
fn sms_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(Option<SmsConfig>, String), ConfigError> {
    let notify_by = get("NARVARO_NOTIFY_BY")
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "email".into());
    if !matches!(notify_by.as_str(), "email" | "sms" | "both") {
        return Err(ConfigError::new(
            "NARVARO_NOTIFY_BY",
            format!("'{notify_by}' is not email, sms or both"),
        ));
    }
    let Some(url) = get("NARVARO_SMS_URL").map(|u| u.trim().to_string()) else {
        if notify_by != "email" {
            return Err(ConfigError::new(
                "NARVARO_NOTIFY_BY",
                "text messages need an SMS gateway (NARVARO_SMS_URL)",
            ));
        }
        return Ok((None, notify_by));
    };
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if !(url.starts_with("https://") || loopback) {
        return Err(ConfigError::new(
            "NARVARO_SMS_URL",
            format!("'{url}' is not an https:// address such as https://api.46elks.com/a1"),
        ));
    }
    let need = |var: &'static str| {
        get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConfigError::new(var, "is needed with NARVARO_SMS_URL"))
    };
    let (user, password) = (need("NARVARO_SMS_USER")?, need("NARVARO_SMS_PASSWORD")?);
    let from = get("NARVARO_SMS_FROM")
        .map(|f| f.trim().to_string())
        .unwrap_or_else(|| "Narvaro".into());
    let name_ok = (1..=11).contains(&from.len()) && from.chars().all(|c| c.is_ascii_alphanumeric());
    if !(name_ok || crate::school::phone::e164(&from).as_deref() == Some(from.as_str())) {
        return Err(ConfigError::new(
            "NARVARO_SMS_FROM",
            format!(
                "'{from}' is neither 1–11 letters and digits nor a number such as +46766861004"
            ),
        ));
    }
    Ok((
        Some(SmsConfig {
            url,
            user,
            password,
            from,
        }),
        notify_by,
    ))
}

/// `NARVARO_OUTBOX_POLL_SECONDS`: 0 (off) to an hour, 15 s by default.
fn outbox_poll(get: &dyn Fn(&str) -> Option<String>) -> Result<u64, ConfigError> {
    let raw = get("NARVARO_OUTBOX_POLL_SECONDS").unwrap_or_else(|| "15".into());
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= 3600)
        .ok_or_else(|| {
            ConfigError::new(
                "NARVARO_OUTBOX_POLL_SECONDS",
                format!("'{raw}' is not a number of seconds from 0 (off) to 3600"),
            )
        })
}

/// `NARVARO_DRAIN_SECONDS`: 0 (stop at once, the default) to 120. Behind a load balancer,
/// longer than its health check needs to take an instance out (HAProxy: `fall` × `inter`).
fn drain(get: &dyn Fn(&str) -> Option<String>) -> Result<u64, ConfigError> {
    let Some(raw) = get("NARVARO_DRAIN_SECONDS") else {
        return Ok(0);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= 120)
        .ok_or_else(|| {
            ConfigError::new(
                "NARVARO_DRAIN_SECONDS",
                format!("'{raw}' is not a number of seconds from 0 to 120"),
            )
        })
}

/// `NARVARO_METRICS_BIND`: an address and port of its own, never the pages' one (a scrape
/// address is meant for the monitoring network only).
fn metrics_bind(raw: &str, bind: SocketAddr) -> Result<SocketAddr, ConfigError> {
    let addr: SocketAddr = raw.trim().parse().map_err(|_| {
        ConfigError::new(
            "NARVARO_METRICS_BIND",
            format!("'{raw}' is not an address and port such as 127.0.0.1:9090"),
        )
    })?;
    if addr.port() != 0 && addr.port() == bind.port() {
        return Err(ConfigError::new(
            "NARVARO_METRICS_BIND",
            format!("'{raw}' uses the port of NARVARO_BIND; metrics need a port of their own"),
        ));
    }
    Ok(addr)
}

/// `NARVARO_BASE_URL`: http(s)://host…, without a trailing slash; by default the bind
/// address.
fn base_url(raw: Option<String>, bind: SocketAddr) -> Result<String, ConfigError> {
    let Some(url) = raw else {
        return Ok(format!("http://{bind}"));
    };
    let url = url.trim().trim_end_matches('/').to_string();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            ConfigError::new(
                "NARVARO_BASE_URL",
                format!("'{url}' must start with http:// or https://"),
            )
        })?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(ConfigError::new(
            "NARVARO_BASE_URL",
            format!("'{url}' names no host"),
        ));
    }
    Ok(url)
}

/// `NARVARO_SMTP_URL`: smtp:// or smtps:// with a host (the password is never echoed).
fn smtp_url(url: String) -> Result<String, ConfigError> {
    let url = url.trim().to_string();
    let rest = url
        .strip_prefix("smtp://")
        .or_else(|| url.strip_prefix("smtps://"))
        .ok_or_else(|| {
            ConfigError::new(
                "NARVARO_SMTP_URL",
                format!(
                    "'{}' must start with smtp:// or smtps://",
                    redact_password(&url)
                ),
            )
        })?;
    if rest.is_empty() || rest.starts_with('/') || rest.starts_with(':') {
        return Err(ConfigError::new(
            "NARVARO_SMTP_URL",
            "names no mail server host",
        ));
    }
    Ok(url)
}

/// `NARVARO_CLOCK_START`: an RFC 3339 instant the school day's clock reads at start and
/// runs on from (sessions, sign-in limits and links stay on the system clock).
fn clock_start(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::school::clock::Clock, ConfigError> {
    let Some(raw) = get("NARVARO_CLOCK_START") else {
        return Ok(crate::school::clock::Clock::System);
    };
    let at = chrono::DateTime::parse_from_rfc3339(raw.trim()).map_err(|_| {
        ConfigError::new(
            "NARVARO_CLOCK_START",
            format!(
                "'{}' is not an instant such as 2026-11-25T08:15:00+01:00",
                raw.trim()
            ),
        )
    })?;
    Ok(crate::school::clock::Clock::starting_at(
        at.with_timezone(&chrono::Utc),
    ))
}

/// `NARVARO_TRUSTED_PROXIES`: IP addresses, comma-separated.
fn trusted_proxies(raw: &str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    let mut out = Vec::new();
    for part in raw.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        out.push(part.parse().map_err(|_| {
            ConfigError::new(
                "NARVARO_TRUSTED_PROXIES",
                format!("'{part}' is not an IP address; give the load balancers' addresses, comma-separated"),
            )
        })?);
    }
    Ok(out)
}

/// `NARVARO_NOTICE_DELAY_MINUTES`: 0 to 1440.
fn notice_delay(raw: String) -> Result<i64, ConfigError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|m| (0..=24 * 60).contains(m))
        .ok_or_else(|| {
            ConfigError::new(
                "NARVARO_NOTICE_DELAY_MINUTES",
                format!("'{raw}' is not a number of minutes from 0 to 1440"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_a_local_sqlite_service() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("./narvaro.db"))
        );
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.mail_dir, PathBuf::from("./mail"));
        assert_eq!(c.timezone, chrono_tz::Europe::Stockholm);
        assert!(c.smtp_url.is_none() && c.jwt_secret.is_none() && c.metrics_bind.is_none());
    }

    #[test]
    fn the_drain_after_sigterm_is_off_by_default_and_bounded() {
        assert_eq!(cfg(&[]).unwrap().drain_seconds, 0);
        let c = cfg(&[("NARVARO_DRAIN_SECONDS", " 2 ")]).unwrap();
        assert_eq!(c.drain_seconds, 2);
        for bad in ["121", "-1", "two", "1.5"] {
            let e = cfg(&[("NARVARO_DRAIN_SECONDS", bad)]).err().unwrap();
            assert_eq!(e.var, "NARVARO_DRAIN_SECONDS", "{bad}");
        }
    }

    #[test]
    fn a_set_clock_reads_its_start_and_the_default_is_the_system() {
        assert_eq!(cfg(&[]).unwrap().clock, crate::school::clock::Clock::System);
        let c = cfg(&[("NARVARO_CLOCK_START", "2026-11-25T08:15:00+01:00")]).unwrap();
        let now = c.clock.now();
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-25T07:15:00Z").unwrap();
        assert!(
            now >= start && now < start + chrono::Duration::minutes(1),
            "{now}"
        );
        assert_eq!(
            c.clock.today(chrono_tz::Europe::Stockholm).to_string(),
            "2026-11-25"
        );
    }

    #[test]
    fn database_url_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://x.db").unwrap(),
            DatabaseUrl::Sqlite("x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("/var/lib/n.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/n.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (&[("DATABASE_URL", "")], "DATABASE_URL"),
            (&[("DATABASE_URL", "sqlite://")], "DATABASE_URL"),
            (&[("DATABASE_URL", ":memory:")], "DATABASE_URL"),
            (&[("NARVARO_BIND", "localhost")], "NARVARO_BIND"),
            (&[("NARVARO_METRICS_BIND", "9090")], "NARVARO_METRICS_BIND"),
            (
                &[("NARVARO_RETENTION_YEARS", "0")],
                "NARVARO_RETENTION_YEARS",
            ),
            (
                &[("NARVARO_RETENTION_YEARS", "-1")],
                "NARVARO_RETENTION_YEARS",
            ),
            (
                &[("NARVARO_RETENTION_YEARS", "101")],
                "NARVARO_RETENTION_YEARS",
            ),
            (
                &[("NARVARO_RETENTION_MAIL_DAYS", "0")],
                "NARVARO_RETENTION_MAIL_DAYS",
            ),
            (
                &[("NARVARO_METRICS_BIND", "0.0.0.0:8080")],
                "NARVARO_METRICS_BIND",
            ),
            (&[("NARVARO_BASE_URL", "ftp://x")], "NARVARO_BASE_URL"),
            (&[("NARVARO_SMTP_URL", "http://mail")], "NARVARO_SMTP_URL"),
            (&[("NARVARO_SMTP_URL", "smtp://")], "NARVARO_SMTP_URL"),
            (&[("NARVARO_JWT_SECRET", "short")], "NARVARO_JWT_SECRET"),
            (&[("NARVARO_MAIL_FROM", "nobody")], "NARVARO_MAIL_FROM"),
            (
                &[("DATABASE_URL", "postgres://u@h/db")],
                "NARVARO_JWT_SECRET",
            ),
            (&[("NARVARO_TIMEZONE", "Mars/Olympus")], "NARVARO_TIMEZONE"),
            (
                &[("NARVARO_BACKUP_DIR", "/no/such/folder")],
                "NARVARO_BACKUP_DIR",
            ),
            (
                &[
                    ("NARVARO_BACKUP_DIR", "/tmp"),
                    ("NARVARO_BACKUP_EVERY_HOURS", "0"),
                ],
                "NARVARO_BACKUP_EVERY_HOURS",
            ),
            (
                &[
                    ("NARVARO_BACKUP_DIR", "/tmp"),
                    ("NARVARO_BACKUP_KEEP", "none"),
                ],
                "NARVARO_BACKUP_KEEP",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://u@h/db"),
                    ("NARVARO_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                    ("NARVARO_BACKUP_DIR", "/tmp"),
                ],
                "NARVARO_BACKUP_DIR",
            ),
            (
                &[("NARVARO_TRUSTED_PROXIES", "10.0.0.1, lb")],
                "NARVARO_TRUSTED_PROXIES",
            ),
        ];
        for (vars, var) in cases {
            let e = cfg(vars)
                .err()
                .unwrap_or_else(|| panic!("{vars:?} should fail"));
            assert_eq!(e.var, *var, "{vars:?}");
            assert!(e.to_string().starts_with(var) && !e.to_string().contains('\n'));
        }
    }

    #[test]
    fn passwords_never_show() {
        let u = DatabaseUrl::parse("postgres://narvaro:hemligt@db.example/narvaro").unwrap();
        assert_eq!(u.to_string(), "postgres://narvaro:***@db.example/narvaro");
        assert!(!format!("{u:?}").contains("hemligt"));
    }
}
