//! Early signals of absence: the list for those who follow pupils up (`/signals`: the
//! principal's schools, the mentor's groups) with "seen" and "dismiss with a reason", and
//! the huvudman administrator's rules (`/admin/signals`). The rules themselves are in
//! `crate::follow_up::signals`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::signals::{self, NewRule, Rule, SignalLine};
use crate::i18n::Lang;
use crate::school::ids::{OrganisationId, SchoolId, SignalId, SignalRuleId};
use crate::school::states::{Counting, RuleKind, SignalStatus};
use crate::school::Refusal;
use crate::state::AppState;

/// A rule in words: "at least 10 % invalid absence over the last 28 days".
pub fn rule_words(r: &Rule, lang: Lang) -> String {
    let what = match (r.counts, lang) {
        (Counting::All, Lang::Sv) => "frånvaro",
        (Counting::Valid, Lang::Sv) => "giltig frånvaro",
        (Counting::Invalid, Lang::Sv) => "ogiltig frånvaro",
        (Counting::All, Lang::En) => "absence",
        (Counting::Valid, Lang::En) => "valid absence",
        (Counting::Invalid, Lang::En) => "invalid absence",
    };
    let (w, pct, days) = (r.window_days, r.share_pct.unwrap_or(0), r.days.unwrap_or(0));
    match (r.kind, lang) {
        (RuleKind::Share, Lang::Sv) => format!("minst {pct} % {what} de senaste {w} dagarna"),
        (RuleKind::Share, Lang::En) => format!("at least {pct} % {what} over the last {w} days"),
        (RuleKind::DaysInRow, Lang::Sv) => {
            format!("{days} skoldagar i rad med hel dags {what} inom {w} dagar")
        }
        (RuleKind::DaysInRow, Lang::En) => {
            format!("{days} school days in a row of a whole day's {what} within {w} days")
        }
        (RuleKind::TermShare, Lang::Sv) => format!("minst {pct} % {what} under terminen"),
        (RuleKind::TermShare, Lang::En) => format!("at least {pct} % {what} over the term"),
        (RuleKind::Occasions, Lang::Sv) => {
            format!("{days} olika tillfällen med {what} de senaste {w} dagarna")
        }
        (RuleKind::Occasions, Lang::En) => {
            format!("{days} separate occasions of {what} over the last {w} days")
        }
        (RuleKind::Weekday, Lang::Sv) => {
            format!("{what} samma veckodag {days} gånger de senaste {w} dagarna")
        }
        (RuleKind::Weekday, Lang::En) => {
            format!("{what} on the same weekday {days} times over the last {w} days")
        }
    }
}

/// Only those who follow pupils up (a principal, a mentor, elevhälsan) have the list.
fn follows_up(v: &Viewer) -> AppResult<()> {
    if signals::follows_up(v) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// GET /signals
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    follows_up(&v)?;
    let ctx = PageCtx::new(&req);
    let note = q.done.as_deref().map(|d| {
        let (sv, en) = match d {
            "dismissed" => ("Signalen är avfärdad.", "The signal is dismissed."),
            _ => (
                "Signalen är markerad som sedd.",
                "The signal is marked as seen.",
            ),
        };
        html! { p.notice role="status" { (ctx.t(sv, en)) } }
    });
    render(&state, &ctx, v, note, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let leads = v.roles.principal_of.clone();
    let lines = state
        .db(move |conn| signals::for_viewer(conn, &v, today))
        .await?;
    Ok(html_with_status(
        status,
        list_page(ctx, &lines, &leads, note),
    ))
}

fn list_page(
    ctx: &PageCtx,
    lines: &[SignalLine],
    leads: &[SchoolId],
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Signaler om frånvaro", "Absence signals");
    let new = lines
        .iter()
        .filter(|l| l.status == SignalStatus::New)
        .count();
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        p { (ctx.t("Elever som upprepad eller långvarig frånvaro gör att någon behöver se över (skollagen 7 kap. 19 a §). Nya: ", "Pupils whose repeated or long absence someone needs to look into (Skollagen 7 kap. 19 a §). New: ")) (new) "." }
        @if lines.is_empty() { p { (ctx.t("Inga öppna signaler.", "No open signals.")) } }
        @for l in lines { (signal_card(ctx, l, leads.contains(&l.school_id))) }
    };
    layout::page(ctx, title, body)
}

/// A signal; the principal of its school may turn it into an investigation.
fn signal_card(ctx: &PageCtx, l: &SignalLine, principal: bool) -> Markup {
    let lang = ctx.lang;
    let hours = |m: i32| format!("{:.1}", f64::from(m) / 60.0);
    html! {
        section.card aria-labelledby={"s" (l.id)} {
            h2 id={"s" (l.id)} {
                (l.name)
                @if let Some(c) = &l.class { " (" (c) ")" }
                @if l.status == SignalStatus::New { " " strong.badge { (ctx.t("Ny", "New")) } }
            }
            p { (l.school) ": " (rule_words(&l.rule, lang)) "." }
            p.muted {
                (lang.days(l.period_from, l.period_to)) ": "
                @if l.days_in_row > 0 && l.rule.kind == RuleKind::DaysInRow {
                    (l.days_in_row) (ctx.t(" skoldagar i rad", " school days in a row"))
                } @else if l.rule.kind == RuleKind::Occasions {
                    (l.days_in_row) (ctx.t(" tillfällen", " occasions"))
                } @else if l.rule.kind == RuleKind::Weekday {
                    (l.days_in_row) (ctx.t(" gånger samma veckodag", " times on the same weekday"))
                } @else {
                    (hours(l.absent_minutes)) (ctx.t(" av ", " of ")) (hours(l.scheduled_minutes)) (ctx.t(" timmar", " hours"))
                }
                ". " a href={"/pupils/" (l.pupil)} aria-label={(ctx.t("Lektionerna bakom: ", "The lessons behind it: ")) (l.name)} { (ctx.t("Lektionerna bakom", "The lessons behind it")) }
            }
            @if let Some(case) = l.case {
                p { a href={"/cases/" (case)} { (ctx.t("Utredningen", "The investigation")) } }
            } @else if principal {
                form method="post" action={"/signals/" (l.id) "/case"} {
                    (ctx.csrf_field())
                    button type="submit" aria-label={(ctx.t("Öppna utredning: ", "Open an investigation: ")) (l.name)} { (ctx.t("Öppna utredning", "Open an investigation")) }
                }
            }
            @if l.status == SignalStatus::New {
                form method="post" action={"/signals/" (l.id) "/seen"} {
                    (ctx.csrf_field())
                    button.secondary type="submit" { (ctx.t("Markera som sedd", "Mark as seen")) }
                }
            }
            @if l.case.is_none() {
                form method="post" action={"/signals/" (l.id) "/dismiss"} {
                    (ctx.csrf_field())
                    label for={"r" (l.id)} { (ctx.t("Varför behövs ingen åtgärd?", "Why is no action needed?")) }
                    textarea id={"r" (l.id)} name="reason" maxlength=(signals::MAX_REASON) required {}
                    button.secondary type="submit" { (ctx.t("Avfärda signalen", "Dismiss the signal")) }
                }
            }
        }
    }
}

/// POST /signals/{id}/seen
pub async fn seen(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<SignalId>,
) -> AppResult<HttpResponse> {
    follows_up(&v)?;
    let (id, st, addr) = (id.into_inner(), state.clone(), client_addr(&req));
    state
        .db_write(move |conn| signals::mark_seen(conn, &st.act(&v, &addr), id))
        .await?;
    Ok(see_other("/signals?done=seen"))
}

#[derive(Deserialize)]
pub struct DismissForm {
    #[serde(default)]
    reason: String,
}

/// POST /signals/{id}/dismiss
pub async fn dismiss(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<SignalId>,
    form: web::Form<DismissForm>,
) -> AppResult<HttpResponse> {
    follows_up(&v)?;
    let ctx = PageCtx::new(&req);
    let (id, st, addr, viewer) = (id.into_inner(), state.clone(), client_addr(&req), v.clone());
    let reason = form.into_inner().reason;
    let result = state
        .db_write(move |conn| signals::dismiss(conn, &st.act(&viewer, &addr), id, &reason))
        .await?;
    match result {
        Ok(()) => Ok(see_other("/signals?done=dismissed")),
        Err(refusal) => refused(&state, &ctx, v, &refusal).await,
    }
}

async fn refused(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    refusal: &Refusal,
) -> AppResult<HttpResponse> {
    let note = html! { p.errors role="alert" { (ctx.say(refusal)) } };
    render(state, ctx, v, Some(note), StatusCode::BAD_REQUEST).await
}

/// What the rule form shows: empty, or what was sent and refused.
#[derive(Deserialize, Default, Clone)]
pub struct RuleForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    counts: String,
    #[serde(default)]
    window_days: String,
    #[serde(default)]
    share_pct: String,
    #[serde(default)]
    days: String,
    tell_mentor: Option<String>,
    tell_principal: Option<String>,
    tell_health: Option<String>,
}

impl RuleForm {
    fn parse(&self) -> Result<NewRule, Refusal> {
        let wrong = || Refusal::new("form_held_wrong_value");
        let number = |raw: &str| -> Result<Option<i32>, Refusal> {
            match raw.trim() {
                "" => Ok(None),
                s => s.parse().map(Some).map_err(|_| wrong()),
            }
        };
        let kind = RuleKind::parse(self.kind.trim()).ok_or_else(wrong)?;
        // a term's share looks back to the term's first day, whatever the window says
        let window = match kind {
            RuleKind::TermShare => Some(signals::MAX_WINDOW_DAYS),
            _ => number(&self.window_days)?,
        };
        Ok(NewRule {
            kind,
            counts: Counting::parse(self.counts.trim()).ok_or_else(wrong)?,
            window_days: window.unwrap_or(0),
            share_pct: number(&self.share_pct)?,
            days: number(&self.days)?,
            tell_mentor: self.tell_mentor.is_some(),
            tell_principal: self.tell_principal.is_some(),
            tell_health: self.tell_health.is_some(),
        })
    }
}

/// GET /admin/signals
pub async fn rules_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let m = super::common::admin_municipality(&v)?;
    let ctx = PageCtx::new(&req);
    let note = q.done.as_deref().map(|_| {
        html! { p.notice role="status" { (ctx.t("Sparat.", "Saved.")) } }
    });
    rules_render(&state, &ctx, m, &RuleForm::default(), note, StatusCode::OK).await
}

async fn rules_render(
    state: &AppState,
    ctx: &PageCtx,
    m: OrganisationId,
    shown: &RuleForm,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let (rules, days) = state
        .db(move |conn| {
            Ok((
                signals::rules(conn, m)?,
                crate::follow_up::cases::deadline_days(conn, m)?,
            ))
        })
        .await?;
    Ok(html_with_status(
        status,
        rules_view(ctx, &rules, days, shown, note),
    ))
}

fn rules_view(
    ctx: &PageCtx,
    rules: &[Rule],
    deadline_days: i32,
    f: &RuleForm,
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Regler för frånvarosignaler", "Absence signal rules");
    let kind = if f.kind.is_empty() {
        "share"
    } else {
        f.kind.as_str()
    };
    let counts = if f.counts.is_empty() {
        "all"
    } else {
        f.counts.as_str()
    };
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        p { (ctx.t("Skollagen sätter ingen gräns: huvudmannen bestämmer när frånvaro är upprepad eller långvarig. Reglerna gäller kommunens alla skolor; signalerna visas för rektor, mentor och elevhälsan, som varje regel säger.", "The law sets no number: the huvudman decides when absence is repeated or long. The rules hold for every school of the municipality; the signals are shown to the principal, the mentor and student health, as each rule says.")) }
        @if rules.is_empty() { p { (ctx.t("Inga regler ännu.", "No rules yet.")) } }
        ul {
            @for r in rules {
                li {
                    (rule_words(r, ctx.lang))
                    @if !r.active { " " span.badge { (ctx.t("stoppad", "stopped")) } }
                    form.inline method="post" action={"/admin/signals/" (r.id) "/active"} {
                        (ctx.csrf_field())
                        input type="hidden" name="active" value=(if r.active { "0" } else { "1" });
                        button.secondary type="submit" { @if r.active { (ctx.t("Stoppa", "Stop")) } @else { (ctx.t("Starta igen", "Start again")) } }
                    }
                }
            }
        }
        h2 { (ctx.t("Ny regel", "New rule")) }
        form method="post" action="/admin/signals" {
            (ctx.csrf_field())
            fieldset {
                legend { (ctx.t("Vad regeln ser på", "What the rule looks at")) }
                label.rs { input type="radio" name="kind" value="share" checked[kind == "share"]; " " (ctx.t("Andel frånvaro av den schemalagda tiden", "Absence's share of the scheduled time")) }
                label.rs { input type="radio" name="kind" value="days_in_row" checked[kind == "days_in_row"]; " " (ctx.t("Hela skoldagar i rad med frånvaro", "Whole school days absent in a row")) }
                label.rs { input type="radio" name="kind" value="term_share" checked[kind == "term_share"]; " " (ctx.t("Andel frånvaro under terminen", "Absence's share of the term")) }
                label.rs { input type="radio" name="kind" value="occasions" checked[kind == "occasions"]; " " (ctx.t("Olika tillfällen med frånvaro (ströfrånvaro)", "Separate occasions of absence (scattered absence)")) }
                label.rs { input type="radio" name="kind" value="weekday" checked[kind == "weekday"]; " " (ctx.t("Frånvaro samma veckodag (mönster)", "Absence on the same weekday (a pattern)")) }
            }
            fieldset {
                legend { (ctx.t("Vilken frånvaro", "Which absence")) }
                label.rs { input type="radio" name="counts" value="all" checked[counts == "all"]; " " (ctx.t("All", "All")) }
                label.rs { input type="radio" name="counts" value="invalid" checked[counts == "invalid"]; " " (ctx.t("Ogiltig", "Invalid")) }
                label.rs { input type="radio" name="counts" value="valid" checked[counts == "valid"]; " " (ctx.t("Giltig", "Valid")) }
            }
            label for="window" { (ctx.t("Antal dagar bakåt (inte för terminen)", "Days back (not for the term)")) }
            input #window name="window_days" inputmode="numeric" value=(f.window_days);
            label for="share" { (ctx.t("Andel i procent (för andel)", "Share in per cent (for a share)")) }
            input #share name="share_pct" inputmode="numeric" value=(f.share_pct);
            label for="days" { (ctx.t("Antal (dagar i rad, tillfällen eller gånger samma veckodag)", "How many (days in a row, occasions or times on the same weekday)")) }
            input #days name="days" inputmode="numeric" value=(f.days);
            label.rs { input type="checkbox" name="tell_mentor" value="1" checked[f.tell_mentor.is_some() || f.kind.is_empty()]; " " (ctx.t("Visa för mentorn", "Show to the mentor")) }
            label.rs { input type="checkbox" name="tell_principal" value="1" checked[f.tell_principal.is_some() || f.kind.is_empty()]; " " (ctx.t("Visa för rektor", "Show to the principal")) }
            label.rs { input type="checkbox" name="tell_health" value="1" checked[f.tell_health.is_some()]; " " (ctx.t("Visa för elevhälsan", "Show to the student health team")) }
            button type="submit" { (ctx.t("Lägg till regeln", "Add the rule")) }
        }
        h2 { (ctx.t("Tid för en utredning", "Time for an investigation")) }
        form method="post" action="/admin/signals/deadline" {
            (ctx.csrf_field())
            label for="deadline_days" { (ctx.t("Dagar från rektors beslut till att utredningen ska vara klar (förslaget i beslutet)", "Days from the principal's decision until the investigation is due (suggested in the decision)")) }
            input #deadline_days name="days" inputmode="numeric" value=(deadline_days) required;
            button.secondary type="submit" { (ctx.t("Spara tiden", "Save the time")) }
        }
    };
    layout::page(ctx, title, body)
}

/// POST /admin/signals
pub async fn add_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<RuleForm>,
) -> AppResult<HttpResponse> {
    let m = super::common::admin_municipality(&v)?;
    let ctx = PageCtx::new(&req);
    let f = form.into_inner();
    let result = match f.parse() {
        Err(r) => Err(r),
        Ok(new) => {
            let (st, addr) = (state.clone(), client_addr(&req));
            state
                .db_write(move |conn| signals::add_rule(conn, &st.act(&v, &addr), m, &new))
                .await?
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(see_other("/admin/signals?done=added")),
        Err(refusal) => {
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            rules_render(&state, &ctx, m, &f, Some(note), StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

/// POST /admin/signals/{id}/active
pub async fn set_active(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<SignalRuleId>,
    form: web::Form<ActiveForm>,
) -> AppResult<HttpResponse> {
    let m = super::common::admin_municipality(&v)?;
    let active = match form.active.as_str() {
        "1" => true,
        "0" => false,
        _ => {
            return Err(AppError::refused(
                crate::error::Code::BadForm,
                Refusal::new("form_held_wrong_value"),
            ))
        }
    };
    let (id, st, addr) = (id.into_inner(), state.clone(), client_addr(&req));
    state
        .db_write(move |conn| signals::set_rule_active(conn, &st.act(&v, &addr), m, id, active))
        .await?;
    Ok(see_other("/admin/signals?done=saved"))
}

#[derive(Deserialize)]
pub struct DeadlineForm {
    #[serde(default)]
    days: String,
}

/// POST /admin/signals/deadline: the huvudman's default time for an investigation.
pub async fn set_deadline(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<DeadlineForm>,
) -> AppResult<HttpResponse> {
    let m = super::common::admin_municipality(&v)?;
    let ctx = PageCtx::new(&req);
    let result = match form.days.trim().parse::<i32>() {
        Err(_) => Err(Refusal::new("case_deadline_days_range")
            .with("max", crate::follow_up::cases::MAX_DEADLINE_DAYS)),
        Ok(days) => {
            let (st, addr) = (state.clone(), client_addr(&req));
            state
                .db_write(move |conn| {
                    crate::follow_up::cases::set_deadline_days(conn, &st.act(&v, &addr), m, days)
                })
                .await?
        }
    };
    match result {
        Ok(()) => Ok(see_other("/admin/signals?done=saved")),
        Err(refusal) => {
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            rules_render(
                &state,
                &ctx,
                m,
                &RuleForm::default(),
                Some(note),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}
