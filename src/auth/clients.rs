//! API clients: machine credentials for the systems that read Närvaro (the school
//! administration system, a statistics warehouse). An administrator registers one with a
//! name, the schools it may read and its scopes; the secret is shown once and only its
//! hash is kept. With the id and the secret a client asks `POST /oauth/token` (OAuth 2.0
//! client credentials, RFC 6749 §4.4) for a bearer token that lives ten minutes and reads
//! only what its scopes name: `ss12000.read` the SS 12000 export, `statistics.read` the
//! statistics API. Every call is audited; a revoked client's tokens stop at once.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::{secret, throttle};
use crate::audit::{self, Entry};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::schema::*;
use crate::school::ids::{ApiClientId, OrganisationId, PersonId, SchoolId};

/// How long a client's bearer token lives.
pub const TOKEN_SECS: i64 = 600;

/// The scopes a client may hold: (name, Swedish, English).
pub const SCOPES: [(&str, &str, &str); 2] = [
    (
        "ss12000.read",
        "läsa SS 12000-exporten (närvaro, frånvaro, aggregerad närvaro)",
        "read the SS 12000 export (attendance, absence, aggregated attendance)",
    ),
    (
        "statistics.read",
        "läsa statistik-API:t",
        "read the statistics API",
    ),
];

/// The API paths a scope opens (by prefix).
pub fn scope_covers(scope: &str, path: &str) -> bool {
    match scope {
        "ss12000.read" => path.starts_with("/api/ss12000/"),
        "statistics.read" => path.starts_with("/api/v1/statistics/"),
        _ => false,
    }
}

/// A registered, unrevoked client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ApiClientId,
    pub name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// the schools it may read
    pub schools: Vec<SchoolId>,
}

/// A client as the administrator's list shows it.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: ApiClientId,
    pub name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub schools: Vec<String>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// What registering gives back: the only time the secret is seen.
#[derive(Debug, Clone)]
pub struct Registered {
    pub id: ApiClientId,
    pub client_id: String,
    pub secret: String,
}

/// What an administrator asks for.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub schools: Vec<SchoolId>,
    pub scopes: Vec<String>,
}

fn invalid(why: crate::error::Refusal) -> AppError {
    AppError::refused(Code::BadForm, why)
}

/// Registers a client: its name (1 to 100 characters), at least one scope, and at least
/// one school, all of one municipality among `municipalities` (the administrator's); the
/// client belongs to that municipality.
pub fn register(
    conn: &mut DbConn,
    municipalities: &[OrganisationId],
    by: Option<PersonId>,
    new: &NewClient,
    now: NaiveDateTime,
) -> AppResult<Registered> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid(crate::error::Refusal::new("client_name_required")));
    }
    let mut scopes: Vec<String> = new.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.iter().any(|k| k.0 == s)) {
        return Err(invalid(crate::error::Refusal::new(
            "client_scopes_required",
        )));
    }
    let mut schools = new.schools.clone();
    schools.sort_unstable();
    schools.dedup();
    let parents: Vec<Option<OrganisationId>> = organisations::table
        .filter(organisations::id.eq_any(&schools))
        .filter(organisations::org_type.eq("school"))
        .select(organisations::parent_id)
        .load(conn)?;
    let municipality = match parents.first() {
        Some(Some(m))
            if parents.len() == schools.len()
                && parents.iter().all(|p| *p == Some(*m))
                && municipalities.contains(m) =>
        {
            *m
        }
        _ => {
            return Err(invalid(crate::error::Refusal::new(
                "client_schools_one_municipality",
            )))
        }
    };
    let client_id = format!("nrv_{}", secret::random_hex(12).map_err(AppError::caused)?);
    let plain = secret::random_hex(32).map_err(AppError::caused)?;
    let hash = secret::client_secret_hash(&plain);
    let id = conn.write_transaction(|conn| {
        let id: ApiClientId = diesel::insert_into(api_clients::table)
            .values((
                api_clients::name.eq(name),
                api_clients::client_id.eq(&client_id),
                api_clients::secret_hash.eq(&hash),
                api_clients::municipality_id.eq(municipality),
                api_clients::scopes.eq(scopes.join(" ")),
                api_clients::created_by.eq(by),
                api_clients::created_at.eq(now),
            ))
            .returning(api_clients::id)
            .get_result(conn)?;
        for s in &schools {
            diesel::insert_into(api_client_schools::table)
                .values((
                    api_client_schools::api_client_id.eq(id),
                    api_client_schools::school_id.eq(*s),
                ))
                .execute(conn)?;
        }
        audit::record(conn, Entry {
            at: now,
            actor: by,
            action: "api_client.registered",
            entity: "api_client",
            entity_id: Some(id.into()),
            detail: json!({"name": name, "client_id": client_id, "scopes": scopes, "schools": schools}),
            client_addr: None,
        })?;
        Ok::<_, AppError>(id)
    })?;
    Ok(Registered {
        id,
        client_id,
        secret: plain,
    })
}

/// Revokes a client of one of `municipalities` (a 404 for any other, or one already
/// revoked): its tokens stop working at once.
pub fn revoke(
    conn: &mut DbConn,
    municipalities: &[OrganisationId],
    id: ApiClientId,
    by: Option<PersonId>,
    now: NaiveDateTime,
) -> AppResult<()> {
    conn.write_transaction(|conn| {
        let moved = diesel::update(
            api_clients::table
                .find(id)
                .filter(api_clients::municipality_id.eq_any(municipalities))
                .filter(api_clients::revoked_at.is_null()),
        )
        .set(api_clients::revoked_at.eq(now))
        .execute(conn)?;
        if moved == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            conn,
            Entry {
                at: now,
                actor: by,
                action: "api_client.revoked",
                entity: "api_client",
                entity_id: Some(id.into()),
                detail: json!({}),
                client_addr: None,
            },
        )?;
        Ok(())
    })
}

/// The clients of these municipalities, newest first.
pub fn list(conn: &mut DbConn, municipalities: &[OrganisationId]) -> AppResult<Vec<Line>> {
    type Row = (
        ApiClientId,
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = api_clients::table
        .filter(api_clients::municipality_id.eq_any(municipalities))
        .select((
            api_clients::id,
            api_clients::name,
            api_clients::client_id,
            api_clients::scopes,
            api_clients::created_at,
            api_clients::last_used_at,
            api_clients::revoked_at,
        ))
        .order(api_clients::id.desc())
        .load(conn)?;
    let ids: Vec<ApiClientId> = rows.iter().map(|r| r.0).collect();
    let schools: Vec<(ApiClientId, String)> = api_client_schools::table
        .inner_join(organisations::table.on(organisations::id.eq(api_client_schools::school_id)))
        .filter(api_client_schools::api_client_id.eq_any(&ids))
        .select((api_client_schools::api_client_id, organisations::name))
        .order(organisations::name)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, client_id, scopes, created_at, last_used_at, revoked_at)| Line {
                id,
                name,
                client_id,
                scopes: scopes.split(' ').map(str::to_string).collect(),
                schools: schools
                    .iter()
                    .filter(|s| s.0 == id)
                    .map(|s| s.1.clone())
                    .collect(),
                created_at,
                last_used_at,
                revoked_at,
            },
        )
        .collect())
}

/// The unrevoked client with this id (the database's), with its schools.
pub fn load(conn: &mut DbConn, id: ApiClientId) -> AppResult<Option<Client>> {
    let row: Option<(ApiClientId, String, String, String)> = api_clients::table
        .find(id)
        .filter(api_clients::revoked_at.is_null())
        .select((
            api_clients::id,
            api_clients::name,
            api_clients::client_id,
            api_clients::scopes,
        ))
        .first(conn)
        .optional()?;
    let Some((id, name, client_id, scopes)) = row else {
        return Ok(None);
    };
    // the schools it was given that are still schools
    let schools: Vec<SchoolId> = api_client_schools::table
        .inner_join(organisations::table.on(organisations::id.eq(api_client_schools::school_id)))
        .filter(api_client_schools::api_client_id.eq(id))
        .filter(organisations::org_type.eq("school"))
        .select(api_client_schools::school_id)
        .order(api_client_schools::school_id)
        .load(conn)?;
    Ok(Some(Client {
        id,
        name,
        client_id,
        scopes: scopes.split(' ').map(str::to_string).collect(),
        schools,
    }))
}

/// The unrevoked client these credentials name, when the secret is right.
pub fn authenticate(
    conn: &mut DbConn,
    client_id: &str,
    secret_text: &str,
) -> AppResult<Option<Client>> {
    let row: Option<(ApiClientId, String)> = api_clients::table
        .filter(api_clients::client_id.eq(client_id))
        .filter(api_clients::revoked_at.is_null())
        .select((api_clients::id, api_clients::secret_hash))
        .first(conn)
        .optional()?;
    // the hash is computed either way, so that a wrong id takes as long as a wrong secret
    let offered = secret::client_secret_hash(secret_text);
    match row {
        Some((id, stored)) if secret::constant_time_eq(&offered, &stored) => load(conn, id),
        _ => Ok(None),
    }
}

/// Notes that the client got a token now.
pub fn used(conn: &mut DbConn, id: ApiClientId, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(api_clients::table.find(id))
        .set(api_clients::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Why the token endpoint refuses (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// a parameter missing, repeated or malformed, or two ways of authenticating
    InvalidRequest(&'static str),
    /// unknown client, wrong secret, revoked, or no credentials
    InvalidClient,
    UnsupportedGrantType,
    /// a scope the client does not hold
    InvalidScope,
    /// too many failed attempts from this address: wait this many seconds
    SlowDown(u64),
}

/// What the token endpoint gives a client.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client: Client,
    /// the scopes of the token (space-separated)
    pub scope: String,
}

/// The client credentials grant: authenticates the client, checks the scopes asked for
/// (all of its own when none are) and audits the attempt, either way. The attempt is held
/// against the limit per client address before the secret is checked, in one write
/// transaction, so a burst of parallel guesses cannot pass it; a success is given back.
/// `now` is the service's clock (when the client was last used); `wall` the system
/// clock, which the limit's window runs on.
pub fn grant(
    conn: &mut DbConn,
    client_id: &str,
    secret_text: &str,
    scope: Option<&str>,
    addr: &str,
    (now, wall): (NaiveDateTime, NaiveDateTime),
) -> AppResult<Result<Grant, Refusal>> {
    conn.write_transaction(|conn| {
        grant_held(conn, (client_id, secret_text), scope, addr, (now, wall))
    })
}

fn grant_held(
    conn: &mut DbConn,
    (client_id, secret_text): (&str, &str),
    scope: Option<&str>,
    addr: &str,
    (now, wall): (NaiveDateTime, NaiveDateTime),
) -> AppResult<Result<Grant, Refusal>> {
    let reserved = match throttle::take(conn, &[throttle::Limit::client_secrets(addr)], wall)? {
        Ok(reserved) => reserved,
        Err(wait) => return Ok(Err(Refusal::SlowDown(wait))),
    };
    let Some(client) = authenticate(conn, client_id, secret_text)? else {
        audit::record(
            conn,
            Entry {
                at: now,
                actor: None,
                action: "api_client.auth_failed",
                entity: "api_client",
                entity_id: None,
                detail: json!({}),
                client_addr: Some(addr),
            },
        )?;
        return Ok(Err(Refusal::InvalidClient));
    };
    throttle::give_back(conn, &reserved)?;
    let scope = match scope.map(str::trim).filter(|s| !s.is_empty()) {
        None => client.scopes.join(" "),
        Some(asked) => {
            let mut wanted: Vec<&str> = asked.split(' ').filter(|s| !s.is_empty()).collect();
            wanted.sort_unstable();
            wanted.dedup();
            if wanted.iter().any(|w| !client.scopes.iter().any(|s| s == w)) {
                return Ok(Err(Refusal::InvalidScope));
            }
            wanted.join(" ")
        }
    };
    used(conn, client.id, now)?;
    audit::record(
        conn,
        Entry {
            at: now,
            actor: None,
            action: "api_client.token",
            entity: "api_client",
            entity_id: Some(client.id.into()),
            detail: json!({"scope": scope}),
            client_addr: Some(addr),
        },
    )?;
    Ok(Ok(Grant { client, scope }))
}

/// Audits one call of a client: which route (its pattern, never its values).
pub fn audit_call(
    conn: &mut DbConn,
    id: ApiClientId,
    method: &str,
    route: &str,
    addr: &str,
) -> AppResult<()> {
    audit::record(
        conn,
        Entry {
            at: crate::school::clock::system_now(),
            actor: None,
            action: "api_client.call",
            entity: "api_client",
            entity_id: Some(id.into()),
            detail: json!({"method": method, "route": route}),
            client_addr: Some(addr),
        },
    )?;
    Ok(())
}

/// Every municipality of the database (for the command line).
pub fn municipalities(conn: &mut DbConn) -> AppResult<Vec<OrganisationId>> {
    Ok(organisations::table
        .filter(organisations::org_type.eq("municipality"))
        .select(organisations::id)
        .order(organisations::id)
        .load(conn)?)
}

/// The schools of a municipality.
pub fn schools_of(conn: &mut DbConn, municipality: OrganisationId) -> AppResult<Vec<SchoolId>> {
    Ok(organisations::table
        .filter(organisations::parent_id.eq(municipality))
        .filter(organisations::org_type.eq("school"))
        .select(organisations::id)
        .order(organisations::id)
        .load(conn)?)
}

/// The database's id of a client id (`nrv_…`).
pub fn id_of(conn: &mut DbConn, client_id: &str) -> AppResult<Option<ApiClientId>> {
    Ok(api_clients::table
        .filter(api_clients::client_id.eq(client_id))
        .select(api_clients::id)
        .first(conn)
        .optional()?)
}
