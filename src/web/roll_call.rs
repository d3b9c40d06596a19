//! The teacher's pages: the roll call of a lesson (mobile first, no JavaScript needed) and
//! the mentor's week. The JSON endpoints for the same live in `api.rs`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use maud::{html, Markup};
use serde::Deserialize;

use super::common::html_with_status;
use super::common::{client_addr, see_other};
use super::layout::{self, PageCtx};
use super::roll_call_form::{device_saved_at, device_submission, parse_form, status_code, Action};
use crate::attendance::roll_call::{
    self, Mark, MarkInput, PupilLine, RollCall, Status, Submission,
};
use crate::auth::{access, SignedIn, Viewer};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::school::absence::CoveredBy;
use crate::school::ids::{LessonId, PupilId};
use crate::state::AppState;

/// A UTC instant as people write it, school-local: "i dag 08:42", "tisdag 1 december 08:42".
pub fn local_stamp(state: &AppState, lang: Lang, at: NaiveDateTime) -> String {
    let local = at.and_utc().with_timezone(&state.config.timezone);
    let time = local.format("%H:%M");
    if local.date_naive() == state.today() {
        format!("{} {time}", lang.pick("i dag", "today at"))
    } else {
        format!("{} {time}", lang.day(local.date_naive()))
    }
}

/// The buttons a row shows: present, absent, late, left early (and partly absent only when
/// a mark already says so, e.g. one made through the API).
fn row_statuses(current: Status) -> impl Iterator<Item = Status> {
    [
        Status::Present,
        Status::Absent,
        Status::Late,
        Status::LeftEarly,
    ]
    .into_iter()
    .chain((current == Status::PartlyAbsent).then_some(Status::PartlyAbsent))
}

fn reason_select(rc: &RollCall, pupil: &PupilLine, lang: Lang) -> Markup {
    let id = pupil.id;
    html! {
        label.rs {
            (lang.pick("Orsak", "Reason")) " "
            select name={"r" (id)} {
                option value="" { "–" }
                @for r in &rc.reasons {
                    option value=(r.id) selected[pupil.mark.reason_id == Some(r.id)] { (lang.pick(&r.name_sv, &r.name_en)) }
                }
            }
        }
    }
}

fn cover_badge(pupil: &PupilLine, lang: Lang) -> Option<&'static str> {
    pupil.covered_by.map(|c| match c.by {
        CoveredBy::Leave(_) => lang.pick("Beviljad ledighet", "Granted leave"),
        CoveredBy::Trip(_) => lang.pick("Utflykt", "Trip"),
        CoveredBy::AbsenceReport(_) => lang.pick("Anmäld frånvaro", "Reported absence"),
    })
}

pub struct Notice {
    pub kind: &'static str,
    pub body: Markup,
}

/// The letter a status button shows on a phone (the word is there for screen readers, and
/// shows on a wider screen).
fn short(s: Status, lang: Lang) -> &'static str {
    match s {
        Status::Present => "N",
        Status::Absent => "F",
        Status::Late => "S",
        Status::LeftEarly => lang.pick("T", "E"),
        Status::PartlyAbsent => "D",
    }
}

/// Late and left-early minutes a teacher picks with one tap; another number goes in "Annat".
const QUICK_MINUTES: [i32; 5] = [5, 10, 15, 20, 30];

/// One pupil: the name and a radio group of statuses on one row; for a marked pupil the
/// minutes (quick choices) and the reason below it.
fn pupil_row(rc: &RollCall, p: &PupilLine, lang: Lang) -> Markup {
    let l = &rc.lesson;
    let minutes = p
        .mark
        .status
        .takes_minutes()
        .then_some(p.mark.minutes)
        .filter(|m| *m > 0);
    let quick = minutes.filter(|m| QUICK_MINUTES.contains(m));
    let other = minutes.filter(|m| !QUICK_MINUTES.contains(m));
    html! {
        li class=(if p.mark.status == Status::Present { "" } else { "off" }) {
            div.row {
                span.name #{"n" (p.id)} { (p.name) @if let Some(b) = cover_badge(p, lang) { " " span.badge { (b) } } }
                div.st role="radiogroup" aria-labelledby={"n" (p.id)} {
                    @for s in row_statuses(p.mark.status) {
                        label { input type="radio" name={"s" (p.id)} value=(status_code(s)) checked[p.mark.status == s];
                            span { span.short aria-hidden="true" { (short(s, lang)) } span.word { (super::common::mark_word(s, lang)) } } }
                    }
                }
            }
            div.min role="group" aria-label={(lang.pick("Minuter för ", "Minutes for ")) (p.name)} {
                @for m in QUICK_MINUTES {
                    label { input type="radio" name={"m" (p.id)} value=(m) checked[quick == Some(m)]; span { (m) } }
                }
                label.other { (lang.pick("Annat", "Other")) " " input type="number" name={"o" (p.id)} min="1" max=(l.minutes) inputmode="numeric" value=[other]; }
                " min"
            }
            @if p.mark.status != Status::Present { (reason_select(rc, p, lang)) }
        }
    }
}

/// The roll-call form itself (on its own page, and on the start page during the lesson).
pub(super) fn roll_form(
    ctx: &PageCtx,
    rc: &RollCall,
    is_past: bool,
    correction_reason: &str,
) -> Markup {
    let lang = ctx.lang;
    let l = &rc.lesson;
    let reported = rc.report.is_some();
    html! {
        form #roll method="post" action={"/lessons/" (l.id)} {
            (ctx.csrf_field())
            input type="hidden" name="version" value=(rc.version());
            a.skip href="#save" { (ctx.t("Hoppa till Spara", "Skip to Save")) }
            template #rt { (reason_select(rc, &PupilLine { id: PupilId(0), name: String::new(), name_withheld: false, mark: Mark::PRESENT, stored: false, covered_by: None }, lang)) }
            // a change afterwards needs its why: asked first, where it is seen before saving
            @if is_past && reported {
                label for="why" { (ctx.t("Varför ändras lektionen i efterhand? (krävs för att spara en ändring)", "Why is the lesson changed afterwards? (required to save a change)")) }
                input #why name="correction_reason" maxlength="500" value=(correction_reason);
            }
            p.key.muted aria-hidden="true" { (ctx.t("N närvarande · F frånvarande · S sen · T gick tidigt", "N present · F absent · S late · E left early")) }
            ol.roll {
                @for p in &rc.pupils { (pupil_row(rc, p, lang)) }
            }
            div.savebar #save tabindex="-1" {
                button type="submit" name="action" value="report" { (if reported { ctx.t("Spara ändringarna", "Save the changes") } else { ctx.t("Rapportera lektionen", "Report the lesson") }) }
                button.secondary type="submit" name="action" value="all_present" { (ctx.t("Alla närvarande", "Everyone present")) }
            }
            p.muted { (ctx.t("Elever med anmäld frånvaro eller ledighet behåller sin markering.", "Pupils with reported absence or leave keep their mark.")) }
        }
        script src=(SCRIPT_PATH) defer {}
    }
}

/// When and where a lesson is: "onsdag 25 november 08:10–09:00 · B12".
fn when(ctx: &PageCtx, l: &roll_call::LessonInfo) -> Markup {
    html! {
        (ctx.lang.day(l.date)) " " (l.starts_at.format("%H:%M")) "–" (l.ends_at.format("%H:%M"))
        @if let Some(room) = &l.room { " · " (room) }
    }
}

pub(super) fn report_state(state: &AppState, ctx: &PageCtx, rc: &RollCall) -> Markup {
    html! {
        p #state role="status" {
            @match &rc.report {
                Some(r) => {
                    strong.ok { (ctx.t("Rapporterad", "Reported")) } " " (ctx.t("av", "by")) " " (r.by) " " (local_stamp(state, ctx.lang, r.at))
                    @if let Some(changed) = r.changed_at { " · " (ctx.t("senast ändrad", "last changed")) " " (local_stamp(state, ctx.lang, changed)) }
                },
                None => { strong { (ctx.t("Inte rapporterad ännu", "Not reported yet")) } },
            }
        }
    }
}

fn roll_call_page(
    state: &AppState,
    ctx: &PageCtx,
    rc: &RollCall,
    (notice, waiting): (Option<Notice>, Option<Markup>),
    correction_reason: &str,
) -> Markup {
    let l = &rc.lesson;
    let is_past = l.date < state.today();
    let title = title_parts(rc);
    html! {
        h1 { (title.0) @if !title.0.is_empty() && !title.1.is_empty() { " " } span.muted { (title.1) } }
        p.muted { (when(ctx, l)) }
        @if let Some(name) = &l.substitute { p { span.badge { (ctx.t("Vikarie: ", "Substitute: ")) (name) } } }
        (report_state(state, ctx, rc))
        // what waits on the device for this lesson, above the list (static/offline.js)
        @if let Some(w) = waiting { (w) }
        @if let Some(n) = notice { div class=(n.kind) role=(if n.kind == "errors" { "alert" } else { "status" }) { (n.body) } }
        @if l.cancelled {
            p.errors { (ctx.t("Lektionen är inställd.", "The lesson is cancelled.")) }
        } @else {
            (roll_form(ctx, rc, is_past, correction_reason))
        }
        p { a href="/" { (ctx.t("Till dagens lektioner", "To today's lessons")) } }
    }
}

pub const SCRIPT_PATH: &str = concat!("/static/roll-call.js?v=", env!("CARGO_PKG_VERSION"));

fn title_parts(rc: &RollCall) -> (&str, String) {
    let groups: Vec<&str> = rc.lesson.groups.iter().map(String::as_str).collect();
    super::common::lesson_title(&rc.lesson.subject, &groups)
}

fn page_title(rc: &RollCall) -> String {
    let (subject, groups) = title_parts(rc);
    [subject, groups.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<LessonId>,
    q: web::Query<Saved>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (tz, lookup) = (state.config.timezone, who.lookup());
    // the viewer and the roll call on one connection
    let (v, rc) = state
        .db(move |conn| {
            let v = lookup.viewer(conn)?;
            let rc = roll_call::open(conn, &v, id, tz);
            Ok((v, rc))
        })
        .await?;
    who.found(&v)?;
    let ctx = PageCtx::new(&req);
    let (lang, person) = (ctx.lang, v.id);
    let rc = super::common::named(rc?, lang);
    let notice = q.saved.as_ref().map(|_| Notice {
        kind: "notice",
        body: html! { (ctx.t("Sparat.", "Saved.")) },
    });
    let waiting = super::offline::queue_box(&ctx, person, &[], false);
    let body = roll_call_page(&state, &ctx, &rc, (notice, Some(waiting)), "");
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, &page_title(&rc), body),
    ))
}

/// The roll call as the person asked for it, for showing their entries again with a message.
fn with_inputs(mut rc: RollCall, inputs: &[MarkInput]) -> RollCall {
    for p in rc.pupils.iter_mut() {
        if let Some(i) = inputs.iter().find(|i| i.pupil_id == p.id) {
            p.mark = Mark {
                status: i.status,
                minutes: i.minutes.unwrap_or(0),
                reason_id: i.reason_id,
            };
        }
    }
    rc
}

fn describe(mark: &Mark, rc: &RollCall, lang: Lang) -> String {
    let mut s = super::common::mark_word(mark.status, lang).to_string();
    if mark.status.takes_minutes() {
        s.push_str(&format!(" {} min", mark.minutes));
    }
    if let Some(name) = mark
        .reason_id
        .and_then(|r| rc.reason_names(r))
        .map(|(sv, en)| lang.pick(sv, en))
    {
        s.push_str(&format!(" ({name})"));
    }
    s
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LessonId>,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let id = id.into_inner();
    let (inputs, version, correction, action) = parse_form(&form, lang)?;
    let saved_on_device = device_saved_at(&form, lang)?;
    let device_submission = device_submission(&form, lang)?;
    let policy = crate::notices::Policy::from_config(&state.config);
    let (tz, today, now, addr) = (
        state.config.timezone,
        state.today(),
        state.now(),
        client_addr(&req),
    );
    let correction_text = correction.clone().unwrap_or_default();
    if action == Action::AllPresent && inputs.iter().any(|m| m.status != Status::Present) {
        // the page holds marks: "everyone present" would throw them away, so ask first
        let v2 = v.clone();
        let current = state
            .db(move |conn| roll_call::open(conn, &v2, id, tz))
            .await?;
        let current = super::common::named(current, lang);
        if let Some(page) = ask_everyone_present(&state, &ctx, current, &inputs, &correction_text) {
            return Ok(page);
        }
    }
    let all_present = action != Action::Report;
    let sent = inputs.clone();
    let outcome = state
        .db_write(move |conn| {
            let l = access::lesson(conn, &v, id)?;
            let marks = if all_present {
                roll_call::everyone_present(&roll_call::load(conn, &l, tz)?)
            } else {
                inputs
            };
            let sub = Submission {
                marks,
                expected_version: version,
                correction_reason: correction,
                saved_on_device,
                device_submission,
            };
            let act = crate::school::Act::new(&v, &addr, (today, now, tz));
            match roll_call::submit(conn, &act, &l, &sub, &policy) {
                Ok(done) => Ok(Ok(done)),
                Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
                    Ok(Err((e, roll_call::load(conn, &l, tz)?)))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    match outcome {
        Ok(Ok(_)) => Ok(see_other(&format!("/lessons/{id}?saved=1"))),
        Ok(Err(stale)) => Ok(stale_page(
            &state,
            &ctx,
            &super::common::named(stale.current, ctx.lang),
            &sent,
            &correction_text,
        )),
        Err((err, current)) => {
            let status = err.status();
            let message = super::words::refusal(&err, ctx.lang);
            let shown = with_inputs(super::common::named(current, ctx.lang), &sent);
            let body = html! { p { (message) } p { (ctx.t("Ingenting sparades.", "Nothing was saved.")) } };
            let page = roll_call_page(
                &state,
                &ctx,
                &shown,
                (
                    Some(Notice {
                        kind: "errors",
                        body,
                    }),
                    None,
                ),
                &correction_text,
            );
            Ok(html_with_status(
                status,
                layout::page(&ctx, &page_title(&shown), page),
            ))
        }
    }
}

/// "Alla närvarande" pressed while the page holds marks the teacher made (not a guardian's
/// report or leave, which everyone present keeps): the page again with those marks, and the
/// question whether to throw them away. Nothing is saved. None when there is nothing to
/// lose.
fn ask_everyone_present(
    state: &AppState,
    ctx: &PageCtx,
    current: RollCall,
    sent: &[MarkInput],
    correction_text: &str,
) -> Option<HttpResponse> {
    let lost: Vec<String> = current
        .pupils
        .iter()
        .filter(|p| p.covered_by.is_none())
        .filter_map(|p| {
            let mine = sent.iter().find(|i| i.pupil_id == p.id)?;
            (mine.status != Status::Present).then(|| {
                format!(
                    "{}: {}",
                    p.name,
                    describe(&mine.as_mark(current.lesson.minutes), &current, ctx.lang)
                )
            })
        })
        .collect();
    if lost.is_empty() {
        return None;
    }
    let shown = with_inputs(current, sent);
    let body = html! {
        p { strong { (ctx.t("Vill du ta bort dina markeringar?", "Do you want to remove your marks?")) } " "
            (ctx.t("”Alla närvarande” gör alla närvarande, också de här eleverna som du har markerat:", "“Everyone present” marks everyone present, also these pupils you have marked:")) }
        ul { @for l in &lost { li { (l) } } }
        p { (ctx.t("Ingenting är sparat ännu. Dina markeringar finns kvar i listan nedan.", "Nothing is saved yet. Your marks are still in the list below.")) }
        p.actions {
            button type="submit" form="roll" name="action" value="report" { (ctx.t("Spara mina markeringar", "Save my marks")) }
            " "
            button.secondary type="submit" form="roll" name="action" value="all_present_confirmed" { (ctx.t("Ja, alla närvarande", "Yes, everyone present")) }
        }
    };
    let page = roll_call_page(
        state,
        ctx,
        &shown,
        (
            Some(Notice {
                kind: "errors",
                body,
            }),
            None,
        ),
        correction_text,
    );
    Some(html_with_status(
        StatusCode::OK,
        layout::page(ctx, &page_title(&shown), page),
    ))
}

/// Someone else saved the lesson first: what is stored now, and where it differs from what
/// was sent. Nothing sent was saved.
fn stale_page(
    state: &AppState,
    ctx: &PageCtx,
    current: &RollCall,
    sent: &[MarkInput],
    correction_text: &str,
) -> HttpResponse {
    let lang = ctx.lang;
    let diffs: Vec<(String, String, String)> = current
        .pupils
        .iter()
        .filter_map(|p| {
            let mine = sent.iter().find(|i| i.pupil_id == p.id)?;
            let mine = mine.as_mark(current.lesson.minutes);
            (mine != p.mark).then(|| {
                (
                    p.name.clone(),
                    describe(&mine, current, lang),
                    describe(&p.mark, current, lang),
                )
            })
        })
        .collect();
    let body = html! {
        p { strong { (ctx.t("Någon annan sparade lektionen medan du hade den öppen.", "Someone else saved this lesson while you had it open.")) } " "
            (ctx.t("Ingenting av det du skickade sparades. Sidan visar nu det som är sparat; gör om dina ändringar och spara igen.", "Nothing you sent was saved. The page now shows what is stored; make your changes again and save.")) }
        @if !diffs.is_empty() {
            table {
                thead { tr { th { (ctx.t("Elev", "Pupil")) } th { (ctx.t("Du skickade", "You sent")) } th { (ctx.t("Sparat nu", "Stored now")) } } }
                tbody { @for (name, mine, now) in &diffs { tr { td { (name) } td { (mine) } td { (now) } } } }
            }
        }
    };
    let page = roll_call_page(
        state,
        ctx,
        current,
        (
            Some(Notice {
                kind: "errors",
                body,
            }),
            None,
        ),
        correction_text,
    );
    html_with_status(
        StatusCode::CONFLICT,
        layout::page(ctx, &page_title(current), page),
    )
}
