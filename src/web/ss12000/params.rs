//! The parameters of the SS 12000 export: each one the standard defines for a resource,
//! read with the standard's type (a UUID that names a record, an RFC 3339 date-time, a
//! date, a boolean, one of an enumeration), or refused with a 400 that says why.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;

use super::{say, Resource};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::insight::statistics::Period;
use crate::interop::ss12000::query::{self, AbsenceType, Query, SortKey};
use crate::interop::ss12000::refs::{self, Ref};
use crate::interop::ss12000::{deleted, uuid};
use crate::school::ids::{LessonId, OrganisationId, PersonId, PupilId};

/// A uuid parameter naming a record: 400 when it is no UUID, 404 when there is no such
/// record.
fn record(conn: &mut DbConn, kind: Ref, raw: &str, name: &str, lang: Lang) -> AppResult<i64> {
    let id = uuid::canonical(raw).ok_or_else(|| {
        say(
            lang,
            Code::BadId,
            format!("{name} är ett UUID (till exempel 046b6c7f-0b8a-43b9-b35d-6489e6daee91)."),
            format!("{name} is a UUID (046b6c7f-0b8a-43b9-b35d-6489e6daee91, say)."),
        )
    })?;
    refs::resolve(conn, kind, &id)?.ok_or(AppError::NotFound)
}

/// An RFC 3339 date-time (a `+` that a query string turned into a space is read as one),
/// as UTC.
fn instant(raw: &str, name: &str, lang: Lang) -> AppResult<NaiveDateTime> {
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")))
        .map(|t| t.naive_utc())
        .map_err(|_| {
            say(
                lang,
                Code::BadDatetime,
                format!("{name} är en tidpunkt enligt RFC 3339, till exempel 2026-11-25T08:15:00+01:00."),
                format!("{name} is an RFC 3339 date-time, 2026-11-25T08:15:00+01:00, say."),
            )
        })
}

/// A bound on a lesson's start (a Närvaro addition to `/attendances`): a date-time, or a
/// school-local date (from its first moment, or to its last).
fn lesson_bound(raw: &str, name: &str, tz: Tz, end: bool, lang: Lang) -> AppResult<NaiveDateTime> {
    if raw.len() == 10 {
        let d = crate::web::common::parse_date(raw, name, lang)?;
        let d = if end { d + Duration::days(1) } else { d };
        let t = crate::school::calendar::utc_window(tz, d, NaiveTime::MIN, NaiveTime::MIN).0;
        return Ok(if end {
            t - Duration::microseconds(1)
        } else {
            t
        });
    }
    instant(raw, name, lang)
}

pub(super) fn boolean(raw: &str, name: &str, lang: Lang) -> AppResult<bool> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(say(
            lang,
            Code::BadParameter,
            format!("{name} är true eller false."),
            format!("{name} is true or false."),
        )),
    }
}

fn one_of(lang: Lang, name: &str, allowed: &[&str]) -> AppError {
    let list = allowed.join(", ");
    say(
        lang,
        Code::BadParameter,
        format!("{name} är ett av: {list}."),
        format!("{name} is one of: {list}."),
    )
}

fn unknown(lang: Lang, name: &str) -> AppError {
    say(
        lang,
        Code::UnknownParameter,
        format!("{name} är ingen parameter för den här resursen."),
        format!("{name} is not a parameter of this resource."),
    )
}

fn unsupported(lang: Lang, name: &str) -> AppError {
    say(
        lang,
        Code::UnsupportedParameter,
        format!("{name} stöds inte ännu av Närvaro; anropet görs utan det."),
        format!("{name} is not supported by Närvaro yet; make the request without it."),
    )
}

/// The parameters of a request, checked for repeats and for filters beside a `pageToken`;
/// the limit and the token apart.
pub(super) struct Params<'a> {
    pub limit: usize,
    pub token: Option<&'a str>,
    pub filters: Vec<(&'a str, &'a str)>,
}

pub(super) fn params<'a>(
    pairs: &'a [(String, String)],
    r: Resource,
    lang: Lang,
) -> AppResult<Params<'a>> {
    let mut seen: Vec<&str> = Vec::new();
    let (mut limit, mut token, mut filters) = (None, None, Vec::new());
    for (k, v) in pairs {
        let k = k.as_str();
        if seen.contains(&k) && !r.repeatable(k) {
            return Err(say(
                lang,
                Code::RepeatedParameter,
                format!("{k} anges högst en gång."),
                format!("{k} is given at most once."),
            ));
        }
        seen.push(k);
        match k {
            "limit" => limit = Some(v.as_str()),
            "pageToken" => token = Some(v.as_str()),
            _ => filters.push((k, v.as_str())),
        }
    }
    if token.is_some() && !filters.is_empty() {
        return Err(say(
            lang,
            Code::PageTokenWithFilters,
            "pageToken bär hela frågan och kombineras bara med limit.".into(),
            "pageToken carries the whole query and is combined only with limit.".into(),
        ));
    }
    Ok(Params {
        limit: query::limit(limit)?,
        token,
        filters,
    })
}

/// The query of a first page, from its filters.
pub(super) fn query_of(
    conn: &mut DbConn,
    filters: &[(&str, &str)],
    r: Resource,
    tz: Tz,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<Query> {
    use Resource::*;
    let mut q = Query::default();
    let (mut start_date, mut end_date) = (None, None);
    for &(k, v) in filters {
        match (r, k) {
            (Attendances | Absences | Aggregated, "organisation") => {
                q.organisation = Some(OrganisationId(record(conn, Ref::Org, v, k, lang)?))
            }
            (Attendances | Absences | Aggregated, "student") => {
                q.students
                    .push(PupilId(record(conn, Ref::Person, v, k, lang)?))
            }
            (Attendances, "calendarEvent") => {
                q.calendar_events
                    .push(LessonId(record(conn, Ref::Lesson, v, k, lang)?))
            }
            (Attendances, "startTime.onOrAfter") => {
                q.start.from = Some(lesson_bound(v, k, tz, false, lang)?)
            }
            (Attendances, "startTime.onOrBefore") => {
                q.start.to = Some(lesson_bound(v, k, tz, true, lang)?)
            }
            (Absences, "startTime.onOrAfter") => q.start.from = Some(instant(v, k, lang)?),
            (Absences, "startTime.onOrBefore") => q.start.to = Some(instant(v, k, lang)?),
            (Absences, "endTime.onOrAfter") => q.end.from = Some(instant(v, k, lang)?),
            (Absences, "endTime.onOrBefore") => q.end.to = Some(instant(v, k, lang)?),
            (Absences, "registeredBy") => {
                q.registered_by = Some(PersonId(record(conn, Ref::Person, v, k, lang)?))
            }
            (Absences, "type") => {
                let names = [AbsenceType::Leave.name(), AbsenceType::Reported.name()];
                q.kind = Some(AbsenceType::parse(v).ok_or_else(|| one_of(lang, k, &names))?)
            }
            (Absences, "sortkey") => {
                let names = ["ModifiedDesc", "StartTimeAsc", "StartTimeDesc"];
                q.sort = Some(SortKey::parse(v).ok_or_else(|| one_of(lang, k, &names))?)
            }
            (Attendances | Absences, "meta.created.after") => {
                (q.created.from, q.created.from_excl) = (Some(instant(v, k, lang)?), true)
            }
            (Attendances | Absences, "meta.created.before") => {
                q.created.to = Some(instant(v, k, lang)?)
            }
            (Attendances | Absences, "meta.modified.after") => {
                (q.modified.from, q.modified.from_excl) = (Some(instant(v, k, lang)?), true)
            }
            (Attendances | Absences, "meta.modified.before") => {
                q.modified.to = Some(instant(v, k, lang)?)
            }
            (Attendances | Absences | Aggregated, "expandReferenceNames") => {
                q.names = boolean(v, k, lang)?
            }
            (Aggregated, "startDate") => start_date = Some(v),
            (Aggregated, "endDate") => end_date = Some(v),
            (Aggregated, "schoolType") => school_type(&mut q, v, lang)?,
            (Aggregated, "expand") => return Err(unsupported(lang, k)),
            (Deleted, "after") => {
                (q.created.from, q.created.from_excl) = (Some(instant(v, k, lang)?), true)
            }
            (Deleted, "entities") => {
                for e in v.split(',') {
                    let names: Vec<&str> = deleted::ENTITIES.iter().map(|(n, _)| *n).collect();
                    if !names.contains(&e) {
                        return Err(one_of(lang, k, &names));
                    }
                    q.entities.push(e.to_string());
                }
            }
            _ => return Err(unknown(lang, k)),
        }
    }
    if r == Aggregated {
        q.dates = Some(dates(start_date, end_date, today, lang)?);
    }
    for (name, b) in [
        ("startTime", q.start),
        ("endTime", q.end),
        ("meta.created", q.created),
        ("meta.modified", q.modified),
    ] {
        if matches!((b.from, b.to), (Some(f), Some(t)) if f > t) {
            return Err(say(
                lang,
                Code::PeriodReversed,
                format!("{name}: den första tidpunkten är efter den sista."),
                format!("{name}: the first moment is after the last."),
            ));
        }
    }
    Ok(q)
}

/// `startDate` and `endDate` of the aggregate, both required.
fn dates(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<(NaiveDate, NaiveDate)> {
    let need = |v: Option<&str>, name: &str| {
        v.ok_or_else(|| {
            say(
                lang,
                Code::MissingParameter,
                format!("{name} krävs (ÅÅÅÅ-MM-DD)."),
                format!("{name} is required (YYYY-MM-DD)."),
            )
        })
        .and_then(|v| crate::web::common::parse_date(v, name, lang))
    };
    let (from, to) = (need(from, "startDate")?, need(to, "endDate")?);
    let period = Period::or_term(Some(from), Some(to), today)?;
    Ok((period.from, period.to))
}

/// `schoolType`: any value of the standard's `SchoolTypesEnum`; those with no Närvaro
/// school form match no school.
fn school_type(q: &mut Query, raw: &str, lang: Lang) -> AppResult<()> {
    const ALL: [&str; 30] = [
        "FS", "FKLASS", "FTH", "OPPFTH", "GR", "GRS", "TR", "SP", "SAM", "GY", "GYS", "VUX",
        "VUXSFI", "VUXGR", "VUXGY", "VUXSARGR", "VUXSARTR", "VUXSARGY", "SFI", "SARVUX",
        "SARVUXGR", "SARVUXGY", "KU", "YH", "FHS", "STF", "KKU", "HS", "ABU", "AU",
    ];
    if !ALL.contains(&raw) {
        return Err(one_of(lang, "schoolType", &ALL));
    }
    let form = crate::school::year_groups::form_of_code(raw).unwrap_or("-");
    q.school_forms.push(form.to_string());
    Ok(())
}

/// The path's id as a UUID (a 400 when it is none, as the standard's "Felaktigt id").
pub(super) fn path_uuid(raw: &str, lang: Lang) -> AppResult<String> {
    uuid::canonical(raw).ok_or_else(|| {
        say(
            lang,
            Code::BadId,
            "id är ett UUID.".into(),
            "id is a UUID.".into(),
        )
    })
}

/// The parameters of a request that takes none but (`allowed`) `expandReferenceNames`:
/// whether it asks for names.
pub(super) fn names_only(pairs: &[(String, String)], allowed: bool, lang: Lang) -> AppResult<bool> {
    let mut names = None;
    for (k, v) in pairs {
        match k.as_str() {
            "expandReferenceNames" if allowed && names.is_none() => {
                names = Some(boolean(v, k, lang)?)
            }
            "expandReferenceNames" if allowed => {
                return Err(say(
                    lang,
                    Code::RepeatedParameter,
                    format!("{k} anges högst en gång."),
                    format!("{k} is given at most once."),
                ))
            }
            _ => return Err(unknown(lang, k)),
        }
    }
    Ok(names.unwrap_or(false))
}
