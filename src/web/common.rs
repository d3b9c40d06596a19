//! Helpers every area of the web layer shares: the client's address, redirects, pages
//! with a status, and the parsing of ids and dates in paths and queries.

use crate::school::states::MarkStatus;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveTime};
use maud::Markup;

use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::state::AppState;

/// The client's address, for rate limits and the audit log. Behind a load balancer named
/// in NARVARO_TRUSTED_PROXIES, the nearest untrusted address in X-Forwarded-For.
pub fn client_addr(req: &actix_web::HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.trusted_proxies.clone())
        .unwrap_or_default();
    forwarded_client(
        peer,
        &trusted,
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok()),
    )
    .to_string()
}

fn forwarded_client(
    peer: std::net::IpAddr,
    trusted: &[std::net::IpAddr],
    forwarded: Option<&str>,
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded.unwrap_or("").rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// 303 See Other: where a form goes after it succeeded.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

pub fn html_response(markup: Markup) -> HttpResponse {
    html_with_status(StatusCode::OK, markup)
}

/// A page with a status other than 200 (a form shown again with its errors).
pub fn html_with_status(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

pub fn parse_id<T: std::str::FromStr<Err = crate::school::ids::NotAnId>>(
    raw: &str,
) -> AppResult<T> {
    raw.parse::<T>().map_err(|_| AppError::NotFound)
}

/// A date in a query, `YYYY-MM-DD`; a 400 naming the parameter otherwise.
pub fn parse_date(raw: &str, name: &str, lang: Lang) -> AppResult<NaiveDate> {
    crate::school::clock::parse_day(raw).ok_or_else(|| {
        AppError::invalid(
            Code::BadDate,
            lang.fill(
                "{name} skrivs ÅÅÅÅ-MM-DD.",
                "{name} is written YYYY-MM-DD.",
                &[("name", name)],
            ),
        )
    })
}

pub fn query_date(
    raw: Option<&str>,
    default: NaiveDate,
    name: &str,
    lang: Lang,
) -> AppResult<NaiveDate> {
    raw.map_or(Ok(default), |s| parse_date(s, name, lang))
}

/// A school-local date-time as the API writes it: `2026-11-23T08:10:00`.
/// A period asked for on a form as `from` and `to` (YYYY-MM-DD, school-local days): up to
/// today, and `default_days` back from its end, unless given. A date in another form is
/// refused with words; the caller checks the period's order and length.
pub(super) fn asked_days(
    (from, to): (&str, &str),
    today: NaiveDate,
    default_days: i64,
    lang: Lang,
) -> AppResult<(NaiveDate, NaiveDate)> {
    let day = |raw: &str, default: NaiveDate| -> AppResult<NaiveDate> {
        match raw.trim() {
            "" => Ok(default),
            s => crate::school::clock::parse_day(s).ok_or_else(|| {
                AppError::invalid(
                    Code::BadParameter,
                    lang.pick("Skriv datum som ÅÅÅÅ-MM-DD.", "Write dates as YYYY-MM-DD."),
                )
            }),
        }
    };
    let to = day(to, today)?;
    let from = day(from, to - chrono::Duration::days(default_days))?;
    Ok((from, to))
}

/// The moment (UTC) a school-local day starts.
pub(super) fn day_start_utc(tz: chrono_tz::Tz, d: NaiveDate) -> chrono::NaiveDateTime {
    use chrono::TimeZone;
    tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or_else(|| d.and_time(NaiveTime::MIN))
}

pub fn local_datetime(date: NaiveDate, time: NaiveTime) -> String {
    date.and_time(time).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A statistics period from optional `from` and `to` query values (default: the term).
pub fn statistics_period(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<crate::insight::statistics::Period> {
    let from = from.map(|f| parse_date(f, "from", lang)).transpose()?;
    let to = to.map(|t| parse_date(t, "to", lang)).transpose()?;
    crate::insight::statistics::Period::or_term(from, to, today)
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    #[test]
    fn only_trusted_proxies_may_name_the_client() {
        let lb = "10.0.0.5".parse().unwrap();
        let client = "198.51.100.7".parse().unwrap();
        let spoofed = Some("1.2.3.4, 198.51.100.7");
        assert_eq!(
            forwarded_client(client, &[lb], Some("1.2.3.4")),
            client,
            "untrusted peer"
        );
        assert_eq!(
            forwarded_client(lb, &[lb], spoofed),
            client,
            "the hop the balancer added"
        );
        assert_eq!(forwarded_client(lb, &[lb], None), lb);
        assert_eq!(forwarded_client(lb, &[lb], Some("garbage")), lb);
    }
}

/// A lesson's title without saying a name twice: a group whose name the subject already
/// says ("Matematik 7A" and "7A") is left out, and so is a subject that a group's name
/// already says ("Spanska" and "7 Spanska"). (subject, groups) as they are shown.
pub fn lesson_title<'a>(subject: &'a str, groups: &[&'a str]) -> (&'a str, String) {
    let words = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_lowercase).collect() };
    let within = |part: &str, whole: &str| {
        let whole = words(whole);
        let part = words(part);
        !part.is_empty() && part.iter().all(|w| whole.contains(w))
    };
    let shown: Vec<&str> = groups
        .iter()
        .copied()
        .filter(|g| !within(g, subject))
        .collect();
    let subject = if shown.iter().any(|g| within(subject, g)) {
        ""
    } else {
        subject
    };
    (subject, shown.join(", "))
}

#[cfg(test)]
mod title_tests {
    use super::lesson_title;

    #[test]
    fn a_lesson_title_says_each_name_once() {
        assert_eq!(
            lesson_title("Spanska", &["7 Spanska"]),
            ("", "7 Spanska".to_string())
        );
        assert_eq!(
            lesson_title("Matematik 7A", &["7A"]),
            ("Matematik 7A", String::new())
        );
        assert_eq!(
            lesson_title("Svenska", &["7A", "7B"]),
            ("Svenska", "7A, 7B".to_string())
        );
        assert_eq!(lesson_title("Idrott", &[]), ("Idrott", String::new()));
    }
}

/// A mark's status in words.
pub(super) fn mark_word(s: MarkStatus, lang: crate::i18n::Lang) -> &'static str {
    match s {
        MarkStatus::Present => lang.pick("Närvarande", "Present"),
        MarkStatus::Absent => lang.pick("Frånvarande", "Absent"),
        MarkStatus::Late => lang.pick("Sen", "Late"),
        MarkStatus::LeftEarly => lang.pick("Gick tidigt", "Left early"),
        MarkStatus::PartlyAbsent => lang.pick("Delvis frånvarande", "Partly absent"),
    }
}

/// The name a withheld (protected) identity is shown by.
pub(super) fn withheld_name(id: impl std::fmt::Display, lang: crate::i18n::Lang) -> String {
    format!(
        "{} (id {id})",
        lang.pick("Skyddad identitet", "Protected identity")
    )
}

/// A pupil's name as the viewer may see it.
pub(super) fn shown_name(p: &crate::auth::access::PupilRef, lang: crate::i18n::Lang) -> String {
    if p.name_visible() {
        format!("{} {}", p.given_name, p.family_name)
    } else {
        withheld_name(p.id, lang)
    }
}

/// A pupil's summary with a withheld name worded.
pub(super) fn worded(
    mut p: crate::attendance::pupil::PupilSummary,
    lang: crate::i18n::Lang,
) -> crate::attendance::pupil::PupilSummary {
    if p.name_withheld {
        p.name = withheld_name(p.id, lang);
    }
    p
}

/// Reports with their kind worded: the reason's name for staff with a duty for the pupil,
/// "reported absence" for everyone else (no diagnosis).
pub(super) fn worded_reports(
    mut reports: Vec<crate::attendance::absence_report::ReportView>,
    lang: crate::i18n::Lang,
) -> Vec<crate::attendance::absence_report::ReportView> {
    for r in &mut reports {
        r.kind = match &r.kind_names {
            Some((sv, en)) => lang.pick(sv, en).to_string(),
            None => lang.pick("Anmäld frånvaro", "Reported absence").to_string(),
        };
    }
    reports
}

/// A roll call with its withheld names worded.
pub(super) fn named(
    mut rc: crate::attendance::roll_call::RollCall,
    lang: crate::i18n::Lang,
) -> crate::attendance::roll_call::RollCall {
    for p in rc.pupils.iter_mut().filter(|p| p.name_withheld) {
        p.name = withheld_name(p.id, lang);
    }
    rc
}

/// A typed id on a page is written as its number, as maud writes numbers (without the
/// escaping a `Display` value goes through): the roll call writes a few per pupil.
macro_rules! render_as_number {
    ($($id:ident),* $(,)?) => {
        $(impl maud::Render for crate::school::ids::$id {
            fn render_to(&self, buf: &mut String) {
                i64::from(*self).render_to(buf);
            }
        })*
    };
}

render_as_number!(
    PupilId,
    PersonId,
    LessonId,
    GroupId,
    SchoolId,
    ReportId,
    LeaveId,
    NoticeId,
    ApiClientId,
    ReasonId,
    TripId,
    DelegationId,
    ActivityId,
    StaffAbsenceId,
    HolidayId,
    DutyId,
    SyncRunId,
    OrganisationId,
    SignalRuleId,
    SignalId,
);

/// The administrator's municipality (the first, when they administer several); 404 for
/// everyone else.
pub(super) fn admin_municipality(
    v: &crate::auth::Viewer,
) -> crate::error::AppResult<crate::school::ids::OrganisationId> {
    crate::auth::access::require_admin(v)?;
    v.roles
        .admin_of
        .first()
        .copied()
        .ok_or(crate::error::AppError::NotFound)
}
