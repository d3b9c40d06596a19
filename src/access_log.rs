//! Who read what: each read of a pupil's records is a row of `access_log`, apart from the
//! change audit (`audit`) and kept for a time of its own (`NARVARO_ACCESS_LOG_DAYS`, a
//! year unless set). An administrator asks it for a pupil and a period of at most a year;
//! a person's register extract lists who read their records.
//!
//! The reader is a person, or an API client acting for none; `route` is the route pattern
//! (never the path); `kind` a code for what was read, put into words at the edge.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::{access_log as a, api_clients, people};
use crate::school::ids::{ApiClientId, PersonId};

crate::text_enum!(
    /// What was read (`access_log.kind`): the pupil's page (today's state, the term,
    /// reports, leave and absence history), the statistics drill-down to the pupil, an
    /// absence investigation of theirs, their register extract, and the API's record and
    /// absence history of the pupil.
    ReadKind {
        PupilPage => "pupil_page",
        StatisticsPupil => "statistics_pupil",
        Case => "case",
        RegisterExtract => "register_extract",
        ApiPupil => "api_pupil",
        ApiAbsences => "api_absences",
    }
);

/// Days kept unless `NARVARO_ACCESS_LOG_DAYS` says otherwise.
pub const DEFAULT_DAYS: u32 = 365;
/// The longest period one question may cover.
pub const MOST_DAYS: i64 = 366;

/// One read, as it is recorded.
pub struct Read<'a> {
    pub at: NaiveDateTime,
    pub reader: Option<PersonId>,
    pub client: Option<ApiClientId>,
    pub pupil: PersonId,
    pub kind: ReadKind,
    pub route: &'a str,
    pub client_addr: &'a str,
}

pub fn record(conn: &mut DbConn, r: Read<'_>) -> QueryResult<()> {
    diesel::insert_into(a::table)
        .values((
            a::at.eq(r.at),
            a::reader_id.eq(r.reader),
            a::client_id.eq(r.client),
            a::pupil_id.eq(r.pupil),
            a::kind.eq(r.kind),
            a::route.eq(r.route),
            a::client_addr.eq(Some(r.client_addr)),
        ))
        .execute(conn)?;
    Ok(())
}

/// One read, as it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: NaiveDateTime,
    /// the reader's name, or the API client's
    pub reader: String,
    pub reader_id: Option<PersonId>,
    pub client: bool,
    pub kind: String,
    pub route: String,
    pub client_addr: Option<String>,
}

/// The reads of a pupil's records from `from` up to (not including) `to`, newest first.
pub fn of_pupil(
    conn: &mut DbConn,
    pupil: PersonId,
    (from, to): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<Vec<Line>> {
    type Row = (
        NaiveDateTime,
        Option<PersonId>,
        Option<ApiClientId>,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = a::table
        .filter(a::pupil_id.eq(pupil))
        .filter(a::at.ge(from))
        .filter(a::at.lt(to))
        .order((a::at.desc(), a::id.desc()))
        .select((
            a::at,
            a::reader_id,
            a::client_id,
            a::kind,
            a::route,
            a::client_addr,
        ))
        .load(conn)?;
    let mut readers: Vec<PersonId> = rows.iter().filter_map(|r| r.1).collect();
    readers.sort();
    readers.dedup();
    let names: std::collections::HashMap<PersonId, String> = people::table
        .filter(people::id.eq_any(&readers))
        .select((people::id, people::given_name, people::family_name))
        .load::<(PersonId, String, String)>(conn)?
        .into_iter()
        .map(|(id, g, f)| (id, format!("{g} {f}")))
        .collect();
    let mut clients: Vec<ApiClientId> = rows.iter().filter_map(|r| r.2).collect();
    clients.sort();
    clients.dedup();
    let client_names: std::collections::HashMap<ApiClientId, String> = api_clients::table
        .filter(api_clients::id.eq_any(&clients))
        .select((api_clients::id, api_clients::name))
        .load::<(ApiClientId, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(at, reader, client, kind, route, client_addr)| Line {
            at,
            reader: match (reader, client) {
                (Some(p), _) => names.get(&p).cloned().unwrap_or_else(|| p.to_string()),
                (None, Some(c)) => client_names
                    .get(&c)
                    .cloned()
                    .unwrap_or_else(|| c.to_string()),
                (None, None) => String::new(),
            },
            reader_id: reader,
            client: client.is_some(),
            kind,
            route,
            client_addr,
        })
        .collect())
}

/// The name of the person asked about (None: nobody has that id).
pub fn name_of(conn: &mut DbConn, person: PersonId) -> QueryResult<Option<String>> {
    Ok(people::table
        .find(person)
        .select((people::given_name, people::family_name))
        .first::<(String, String)>(conn)
        .optional()?
        .map(|(g, f)| format!("{g} {f}")))
}

/// Forgets reads older than `days` before `now`; how many went.
pub fn prune(conn: &mut DbConn, now: NaiveDateTime, days: u32) -> QueryResult<usize> {
    diesel::delete(a::table.filter(a::at.lt(now - Duration::days(i64::from(days))))).execute(conn)
}
