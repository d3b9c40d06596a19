//! The audit log for principals (their schools) and administrators (everything): a plain
//! GET form (period, who acted, pupil, lesson), the rows as a table, the same as CSV.
//! Everyone else gets 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

use super::audit_words::action;
use super::common::html_with_status;
use super::layout::{self, PageCtx};
use super::statistics::csv::csv;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::insight::audit_search::{self, About, Filter, Line};
use crate::state::AppState;

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    pupil: String,
    #[serde(default)]
    lesson: String,
}

fn bad(lang: Lang, sv: &str, en: &str) -> AppError {
    AppError::invalid(Code::BadParameter, lang.pick(sv, en))
}

/// The filter the query asks for: days school-local, 30 days up to today by default,
/// at most a year.
fn filter(
    q: &AuditQuery,
    state: &AppState,
    lang: Lang,
) -> AppResult<(Filter, NaiveDate, NaiveDate)> {
    let (from, to) = super::common::asked_days((&q.from, &q.to), state.today(), 30, lang)?;
    if to < from || (to - from).num_days() > 366 {
        return Err(bad(
            lang,
            "Perioden ska börja före sitt slut och vara högst ett år.",
            "The period must start before it ends and be at most a year.",
        ));
    }
    let id = |raw: &str, what_sv: &str, what_en: &str| -> AppResult<Option<i64>> {
        match raw.trim() {
            "" => Ok(None),
            s => s.parse().map(Some).map_err(|_| {
                AppError::invalid(
                    Code::BadParameter,
                    match lang {
                        Lang::En => format!("The {what_en} is given by its id, a whole number."),
                        _ => format!("{what_sv} anges med sitt id, ett heltal."),
                    },
                )
            }),
        }
    };
    let tz = state.config.timezone;
    let utc = |d: NaiveDate| super::common::day_start_utc(tz, d);
    // a pupil by name, as the administrator's search finds people; an id still works
    let pupil_text = q.pupil.trim();
    let by_id = !pupil_text.is_empty() && pupil_text.chars().all(|c| c.is_ascii_digit());
    let f = Filter {
        from: utc(from),
        to: utc(to + Duration::days(1)),
        actor_words: crate::insight::admin_find::words(&q.who).unwrap_or_default(),
        pupil: if by_id {
            id(pupil_text, "Eleven", "pupil")?
        } else {
            None
        },
        pupil_words: if by_id {
            Vec::new()
        } else {
            crate::insight::admin_find::words(pupil_text).unwrap_or_default()
        },
        lesson: id(&q.lesson, "Lektionen", "lesson")?,
    };
    Ok((f, from, to))
}

/// A detail's field as a word, where Närvaro writes it.
fn field(lang: Lang, key: &str) -> String {
    let (sv, en) = match key {
        "username" => ("användarnamn", "username"),
        "channel" => ("via", "through"),
        "outcome" => ("utfall", "outcome"),
        "wait_secs" => ("väntetid, sekunder", "wait, seconds"),
        "purpose" => ("syfte", "purpose"),
        "approved" => ("beviljad", "approved"),
        "recommendation" => ("mentorn", "the mentor"),
        "comment" => ("kommentar", "comment"),
        "changes" => ("ändrade markeringar", "marks changed"),
        "correction" => ("i efterhand", "afterwards"),
        "reason" => ("skäl", "reason"),
        "date" => ("dag", "day"),
        "first_day" | "start_date" | "from" => ("från", "from"),
        "last_day" | "end_date" | "to" => ("till", "to"),
        "max_days" => ("högst skoldagar", "at most school days"),
        "saved_on_device_at" => ("sparad på telefonen", "saved on the device"),
        "arrived_at" => ("kom fram", "arrived"),
        "scope" => ("behörighet", "scope"),
        "route" => ("adress", "route"),
        "kind" => ("slag", "kind"),
        "how" => ("hur", "how"),
        "role" => ("roll", "role"),
        "title" => ("namn", "title"),
        "code" => ("kod", "code"),
        "name_sv" | "name" => ("namn", "name"),
        _ => return key.replace('_', " "),
    };
    lang.pick(sv, en).to_string()
}

/// A detail's value as people write it: yes or no, a day, an outcome in words.
fn value(lang: Lang, v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(b) => lang
            .pick(if *b { "ja" } else { "nej" }, if *b { "yes" } else { "no" })
            .to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => {
            if let Some(d) = crate::school::clock::parse_day(s) {
                return lang.day(d);
            }
            if let Some(t) = crate::school::clock::parse_local_instant(s) {
                return format!("{} {}", lang.day(t.date()), t.format("%H:%M"));
            }
            let (sv, en) = match s.as_str() {
                "ok" => ("lyckades", "succeeded"),
                "wrong_password" => ("fel lösenord", "wrong password"),
                "unknown_user" => ("okänt användarnamn", "unknown username"),
                "inactive" => ("kontot är avslutat", "the account has ended"),
                "no_password" => ("kontot har inget lösenord", "the account has no password"),
                "passwords_off" => ("lösenord används inte här", "passwords are not used here"),
                "not_reserved" => ("spärrad", "held back"),
                "web" => ("webbsidan", "the web page"),
                "api" => ("API:et", "the API"),
                "link" => ("e-postlänk", "e-mail link"),
                "sign_in" => ("inloggning", "sign-in"),
                "reset" => ("nytt lösenord", "new password"),
                "recommended" => ("tillstyrker", "recommends"),
                "not_recommended" => ("avstyrker", "does not recommend"),
                _ => return s.clone(),
            };
            lang.pick(sv, en).to_string()
        }
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| value(lang, i))
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::Object(_) | serde_json::Value::Null => String::new(),
    }
}

/// "Närvarande → Frånvarande 10 min (orsak …)" for a mark; the detail as it is otherwise.
fn detail(lang: Lang, l: &Line) -> String {
    let side = |v: &serde_json::Value| -> String {
        let status = v["status"].as_str().unwrap_or("");
        let word = crate::attendance::roll_call::Status::parse(status)
            .map_or(status.to_string(), |s| {
                super::common::mark_word(s, lang).to_string()
            });
        match v["minutes"].as_i64() {
            Some(m) if m > 0 && status != "absent" => format!("{word} {m} min"),
            _ => word,
        }
    };
    if matches!(l.action.as_str(), "lesson.reported" | "lesson.resubmitted")
        && l.detail["substitute"].as_bool() == Some(true)
    {
        return lang.pick("av vikarie", "by a substitute").to_string();
    }
    if l.action == "attendance.changed" {
        let mut s = format!("{} → {}", side(&l.detail["from"]), side(&l.detail["to"]));
        if let Some(r) = l.detail["reason"].as_str() {
            s.push_str(&format!(" ({}: {r})", lang.pick("skäl", "reason")));
        }
        return s;
    }
    match &l.detail {
        // every field in words; ids and nested records are what the "about" column names
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(k, v)| !k.ends_with("_id") && !v.is_null() && !v.is_object())
            .map(|(k, v)| format!("{}: {}", field(lang, k), value(lang, v)))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// What a row is about, in words: "Matematik 7A, onsdag 25 november 08:10 – Bo Ek".
fn about(lang: Lang, l: &Line) -> String {
    match &l.about {
        About::Lesson {
            name,
            date,
            starts_at,
            pupil,
        } => {
            let mut s = format!("{name}, {} {}", lang.day(*date), starts_at.format("%H:%M"));
            if let Some(p) = pupil {
                s.push_str(" – ");
                s.push_str(p);
            }
            s
        }
        About::Person(name) => name.clone(),
        About::Record(kind, id) => {
            let (sv, en) = match kind.as_str() {
                "leave_application" => ("ledighetsansökan", "leave application"),
                "absence_report" => ("frånvaroanmälan", "absence report"),
                "leave_delegation" => ("delegation", "delegation"),
                "organisation" => ("skola", "school"),
                "trip" => ("utflykt", "trip"),
                "absence_reason" => ("frånvaroorsak", "absence reason"),
                "notice" => ("frånvaromeddelande", "absence notice"),
                "api_client" => ("API-klient", "API client"),
                "person" => ("person", "person"),
                "lesson" => ("lektion", "lesson"),
                "retention" => ("gallring", "retention"),
                other => (other, other),
            };
            match id {
                Some(id) => format!("{} {id}", lang.pick(sv, en)),
                None => lang.pick(sv, en).to_string(),
            }
        }
    }
}

fn when(state: &AppState, lang: Lang, l: &Line) -> String {
    let local = l.at.and_utc().with_timezone(&state.config.timezone);
    format!(
        "{} {}",
        lang.day(local.date_naive()),
        local.format("%H:%M:%S")
    )
}

async fn load(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: Viewer,
    q: &AuditQuery,
) -> AppResult<(Vec<Line>, NaiveDate, NaiveDate)> {
    if !audit_search::may_read(&v) {
        return Err(AppError::NotFound);
    }
    let lang = Lang::from_request(req);
    let (f, from, to) = filter(q, state, lang)?;
    let rows = state
        .db(move |conn| audit_search::search(conn, &v, &f))
        .await?;
    Ok((rows, from, to))
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let (rows, from, to) = load(&req, &state, v, &q).await?;
    let ctx = PageCtx::new(&req);
    let title = ctx.t("Ändringslogg", "Audit log");
    let csv_href = format!(
        "/audit.csv?{}",
        serde_urlencoded::to_string([
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("who", q.who.clone()),
            ("pupil", q.pupil.clone()),
            ("lesson", q.lesson.clone()),
        ])
        .unwrap_or_default()
    );
    let body = html! {
        h1 { (title) }
        form method="get" action="/audit" {
            label for="a-from" { (ctx.t("Från och med", "From")) }
            input #a-from name="from" type="date" value=(from);
            label for="a-to" { (ctx.t("Till och med", "To")) }
            input #a-to name="to" type="date" value=(to);
            label for="a-who" { (ctx.t("Vem ändrade (namn eller användarnamn)", "Who changed it (name or username)")) }
            input #a-who name="who" value=(q.who) maxlength="200" autocomplete="off";
            label for="a-pupil" { (ctx.t("Elev (namn, tomt = alla)", "Pupil (name, empty = all)")) }
            input #a-pupil name="pupil" value=(q.pupil) maxlength="200" autocomplete="off";
            @if !q.lesson.trim().is_empty() {
                // a lesson's changes, as linked from elsewhere
                input type="hidden" name="lesson" value=(q.lesson);
                p { (ctx.t("Visar en lektions ändringar. ", "Showing one lesson's changes. ")) a href="/audit" { (ctx.t("Visa alla", "Show all")) } }
            }
            p { button type="submit" { (ctx.t("Visa", "Show")) } " " a href=(csv_href) { (ctx.t("Ladda ner som CSV", "Download as CSV")) } }
        }
        p role="status" { (rows.len()) " " (ctx.t("händelser", "events")) @if rows.len() as i64 == audit_search::LIMIT { " " (ctx.t("(de senaste; gör perioden kortare för att se fler)", "(the latest; shorten the period to see more)")) } }
        @if !rows.is_empty() { (table(&state, &ctx, &rows)) }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

fn table(state: &AppState, ctx: &PageCtx, rows: &[Line]) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label=(ctx.t("Händelser", "Events")) {
            table {
                thead { tr {
                    th { (ctx.t("När", "When")) } th { (ctx.t("Vem", "Who")) } th { (ctx.t("Vad", "What")) }
                    th { (ctx.t("Gäller", "About")) } th { (ctx.t("Ändring", "Change")) } th { (ctx.t("Varifrån", "From where")) }
                } }
                tbody { @for l in rows { tr {
                    td { (when(state, ctx.lang, l)) } td { (l.actor) } td { (action(ctx.lang, &l.action)) }
                    td { (about(ctx.lang, l)) } td { (detail(ctx.lang, l)) } td { (l.client_addr.as_deref().unwrap_or("")) }
                } } }
            }
        }
    }
}

pub async fn csv_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let (rows, from, to) = load(&req, &state, v, &q).await?;
    let head = [
        lang.pick("Tid (UTC)", "Time (UTC)"),
        lang.pick("Vem", "Who"),
        lang.pick("Händelse", "Event"),
        lang.pick("Kod", "Code"),
        lang.pick("Gäller", "About"),
        lang.pick("Ändring", "Change"),
        lang.pick("Varifrån", "From where"),
    ];
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|l| {
            vec![
                l.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                l.actor.clone(),
                action(lang, &l.action),
                l.action.clone(),
                about(lang, l),
                detail(lang, l),
                l.client_addr.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(csv(&format!("andringslogg-{from}-{to}.csv"), &head, &lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action the service writes to the audit log, read from the source: `action:
    /// "…"` literals, `audit::acted`'s actions and the sign-in limits' constants.
    fn written_actions() -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    for part in text.split("action: \"").skip(1) {
                        if let Some(code) = part.split('"').next() {
                            out.push(code.to_string());
                        }
                    }
                    // a call of `acted`: its first string is the action
                    for part in text.split("audit::acted(").skip(1) {
                        let code = part.split('"').nth(1).unwrap_or_default();
                        let a_code = |c: char| c.is_ascii_lowercase() || c == '_' || c == '.';
                        if code.contains('.') && code.chars().all(a_code) {
                            out.push(code.to_string());
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut out,
        );
        use crate::auth::throttle;
        out.extend(
            [
                throttle::FAILED,
                throttle::SUCCEEDED,
                throttle::THROTTLED,
                throttle::LINK_REQUESTED,
            ]
            .map(str::to_string),
        );
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_action_written_is_said_in_words() {
        let actions = written_actions();
        assert!(actions.len() > 30, "{actions:?}");
        for code in &actions {
            for lang in [Lang::Sv, Lang::En] {
                let said = action(lang, code);
                assert!(
                    !said.contains(code.as_str()),
                    "{code} has no words in {lang:?}: {said}"
                );
            }
        }
    }
}
