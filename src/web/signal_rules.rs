//! The rules that raise absence signals: the huvudman administrator's, for every school of
//! the municipality (`/admin/signals`, with the default time for an investigation), and a
//! school's own, which its principal adds beside the huvudman's (`/schools/{id}/signals`):
//! a school's rule only adds signals, the huvudman's hold whatever it adds. The rules
//! themselves are in `crate::follow_up::signals`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::signals::{self, NewRule, Rule};
use crate::i18n::Lang;
use crate::school::ids::{OrganisationId, SchoolId, SignalRuleId};
use crate::school::states::{Counting, RuleKind};
use crate::school::Refusal;
use crate::state::AppState;

/// A rule in words: "at least 10 % invalid absence over the last 28 days".
pub fn rule_words(r: &Rule, lang: Lang) -> String {
    let what = match (r.counts, lang == Lang::En) {
        (Counting::All, false) => "frånvaro",
        (Counting::Valid, false) => "giltig frånvaro",
        (Counting::Invalid, false) => "ogiltig frånvaro",
        (Counting::All, true) => "absence",
        (Counting::Valid, true) => "valid absence",
        (Counting::Invalid, true) => "invalid absence",
    };
    let (w, pct, days) = (r.window_days, r.share_pct.unwrap_or(0), r.days.unwrap_or(0));
    match (r.kind, lang == Lang::En) {
        (RuleKind::Share, false) => format!("minst {pct} % {what} de senaste {w} dagarna"),
        (RuleKind::Share, true) => format!("at least {pct} % {what} over the last {w} days"),
        (RuleKind::DaysInRow, false) => {
            format!("{days} skoldagar i rad med hel dags {what} inom {w} dagar")
        }
        (RuleKind::DaysInRow, true) => {
            format!("{days} school days in a row of a whole day's {what} within {w} days")
        }
        (RuleKind::TermShare, false) => format!("minst {pct} % {what} under terminen"),
        (RuleKind::TermShare, true) => format!("at least {pct} % {what} over the term"),
        (RuleKind::Occasions, false) => {
            format!("{days} olika tillfällen med {what} de senaste {w} dagarna")
        }
        (RuleKind::Occasions, true) => {
            format!("{days} separate occasions of {what} over the last {w} days")
        }
        (RuleKind::Weekday, false) => {
            format!("{what} samma veckodag {days} gånger de senaste {w} dagarna")
        }
        (RuleKind::Weekday, true) => {
            format!("{what} on the same weekday {days} times over the last {w} days")
        }
        (RuleKind::Subject, false) => {
            format!("{what} i samma ämne {days} lektioner de senaste {w} dagarna")
        }
        (RuleKind::Subject, true) => {
            format!("{what} in the same subject in {days} lessons over the last {w} days")
        }
        (RuleKind::Slot, false) => {
            format!("{what} på samma lektionstid {days} gånger de senaste {w} dagarna")
        }
        (RuleKind::Slot, true) => {
            format!("{what} in the same lesson slot {days} times over the last {w} days")
        }
        (RuleKind::SingleLessons, false) => {
            format!("{days} enstaka lektioner med {what} på dagar i skolan de senaste {w} dagarna")
        }
        (RuleKind::SingleLessons, true) => {
            format!("{days} single lessons of {what} on days at school over the last {w} days")
        }
    }
}

/// Whose rules a page shows: the huvudman's or one school's.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Huvudman(OrganisationId),
    School(SchoolId),
}

impl Owner {
    fn organisation(self) -> OrganisationId {
        match self {
            Owner::Huvudman(m) => m,
            Owner::School(s) => s.into(),
        }
    }

    fn path(self) -> String {
        match self {
            Owner::Huvudman(_) => "/admin/signals".to_owned(),
            Owner::School(s) => format!("/schools/{s}/signals"),
        }
    }

    /// The administrator's municipality, or the school the viewer leads (404 otherwise).
    fn of(v: &Viewer, school: Option<SchoolId>) -> AppResult<Owner> {
        match school {
            None => super::common::admin_municipality(v).map(Owner::Huvudman),
            Some(s) if v.roles.principal_of.contains(&s) => Ok(Owner::School(s)),
            Some(_) => Err(AppError::NotFound),
        }
    }
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
    tell_guardians: Option<String>,
    send_email: Option<String>,
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
            tell_guardians: self.tell_guardians.is_some(),
            send_email: self.send_email.is_some(),
        })
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// GET /admin/signals
pub async fn rules_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let owner = Owner::of(&v, None)?;
    show(&req, &state, owner, q.done.is_some()).await
}

/// GET /schools/{id}/signals
pub async fn school_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let owner = Owner::of(&v, Some(school.into_inner()))?;
    show(&req, &state, owner, q.done.is_some()).await
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    owner: Owner,
    done: bool,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(req);
    let note = done.then(|| html! { p.notice role="status" { (ctx.t("Sparat.", "Saved.")) } });
    let shown = RuleForm::default();
    rules_render(state, &ctx, owner, &shown, note, StatusCode::OK).await
}

/// What a rules page shows beside the form.
struct Shown {
    rules: Vec<Rule>,
    /// a school's page: the huvudman's rules, which hold for it too
    huvudman: Vec<Rule>,
    deadline_days: i32,
}

async fn rules_render(
    state: &AppState,
    ctx: &PageCtx,
    owner: Owner,
    shown: &RuleForm,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let s = state
        .db(move |conn| {
            let rules = signals::rules(conn, owner.organisation())?;
            let (huvudman, deadline_days) = match owner {
                Owner::Huvudman(m) => {
                    (Vec::new(), crate::follow_up::cases::deadline_days(conn, m)?)
                }
                Owner::School(s) => match signals::huvudman_of(conn, s)? {
                    Some(m) => (signals::rules(conn, m)?, 0),
                    None => (Vec::new(), 0),
                },
            };
            Ok(Shown {
                rules,
                huvudman,
                deadline_days,
            })
        })
        .await?;
    Ok(html_with_status(
        status,
        rules_view(ctx, owner, &s, shown, note),
    ))
}

fn rule_list(ctx: &PageCtx, rules: &[Rule], action: Option<&str>) -> Markup {
    html! {
        @if rules.is_empty() { p { (ctx.t("Inga regler ännu.", "No rules yet.")) } }
        ul {
            @for r in rules {
                li {
                    (rule_words(r, ctx.lang))
                    @if r.send_email { " " span.badge { (ctx.t("e-post", "e-mail")) } }
                    @if r.tell_guardians { " " span.badge { (ctx.t("vårdnadshavare", "guardians")) } }
                    @if !r.active { " " span.badge { (ctx.t("stoppad", "stopped")) } }
                    @if let Some(base) = action {
                        form.inline method="post" action={(base) "/" (r.id) "/active"} {
                            (ctx.csrf_field())
                            input type="hidden" name="active" value=(if r.active { "0" } else { "1" });
                            button.secondary type="submit" { @if r.active { (ctx.t("Stoppa", "Stop")) } @else { (ctx.t("Starta igen", "Start again")) } }
                        }
                    }
                }
            }
        }
    }
}

fn kind_choice(ctx: &PageCtx, kind: &str) -> Markup {
    let choices = [
        (
            "share",
            "Andel frånvaro av den schemalagda tiden",
            "Absence's share of the scheduled time",
        ),
        (
            "days_in_row",
            "Hela skoldagar i rad med frånvaro",
            "Whole school days absent in a row",
        ),
        (
            "term_share",
            "Andel frånvaro under terminen",
            "Absence's share of the term",
        ),
        (
            "occasions",
            "Olika tillfällen med frånvaro (ströfrånvaro)",
            "Separate occasions of absence (scattered absence)",
        ),
        (
            "weekday",
            "Frånvaro samma veckodag (mönster)",
            "Absence on the same weekday (a pattern)",
        ),
        (
            "subject",
            "Frånvaro i samma ämne (mönster)",
            "Absence in the same subject (a pattern)",
        ),
        (
            "slot",
            "Frånvaro på samma lektionstid (mönster)",
            "Absence in the same lesson slot (a pattern)",
        ),
        (
            "single_lessons",
            "Enstaka lektioner missade på dagar i skolan",
            "Single lessons missed on days at school",
        ),
    ];
    html! {
        fieldset {
            legend { (ctx.t("Vad regeln ser på", "What the rule looks at")) }
            @for (value, sv, en) in choices {
                label.rs { input type="radio" name="kind" value=(value) checked[kind == value]; " " (ctx.t(sv, en)) }
            }
        }
    }
}

fn rules_view(
    ctx: &PageCtx,
    owner: Owner,
    s: &Shown,
    f: &RuleForm,
    note: Option<Markup>,
) -> Markup {
    let title = match owner {
        Owner::Huvudman(_) => ctx.t("Regler för frånvarosignaler", "Absence signal rules"),
        Owner::School(_) => ctx.t(
            "Skolans egna regler för frånvarosignaler",
            "The school's own absence signal rules",
        ),
    };
    let base = owner.path();
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
    let fresh = f.kind.is_empty();
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        @match owner {
            Owner::Huvudman(_) => p { (ctx.t("Skollagen sätter ingen gräns: huvudmannen bestämmer när frånvaro är upprepad eller långvarig. Reglerna gäller kommunens alla skolor; signalerna visas för rektor, mentor och elevhälsan, som varje regel säger. En skola kan lägga till egna regler men inte ändra dessa.", "The law sets no number: the huvudman decides when absence is repeated or long. The rules hold for every school of the municipality; the signals are shown to the principal, the mentor and student health, as each rule says. A school may add rules of its own but not change these.")) },
            Owner::School(_) => {
                p { (ctx.t("Skolans egna regler gäller bara skolan och läggs till huvudmannens, som alltid gäller.", "The school's own rules hold for the school only and come on top of the huvudman's, which always hold.")) }
                h2 { (ctx.t("Huvudmannens regler", "The huvudman's rules")) }
                (rule_list(ctx, &s.huvudman, None))
                h2 { (ctx.t("Skolans regler", "The school's rules")) }
            },
        }
        (rule_list(ctx, &s.rules, Some(&base)))
        h2 { (ctx.t("Ny regel", "New rule")) }
        form method="post" action=(base) {
            (ctx.csrf_field())
            (kind_choice(ctx, kind))
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
            label for="days" { (ctx.t("Antal (dagar i rad, tillfällen, gånger eller lektioner)", "How many (days in a row, occasions, times or lessons)")) }
            input #days name="days" inputmode="numeric" value=(f.days);
            fieldset {
                legend { (ctx.t("Vem signalen visas för", "Who the signal is shown to")) }
                label.rs { input type="checkbox" name="tell_mentor" value="1" checked[f.tell_mentor.is_some() || fresh]; " " (ctx.t("Mentorn", "The mentor")) }
                label.rs { input type="checkbox" name="tell_principal" value="1" checked[f.tell_principal.is_some() || fresh]; " " (ctx.t("Rektor", "The principal")) }
                label.rs { input type="checkbox" name="tell_health" value="1" checked[f.tell_health.is_some()]; " " (ctx.t("Elevhälsan", "The student health team")) }
                label.rs { input type="checkbox" name="send_email" value="1" checked[f.send_email.is_some()]; " " (ctx.t("Skicka e-post till dem när signalen uppstår", "E-mail them when the signal is raised")) }
                label.rs { input type="checkbox" name="tell_guardians" value="1" checked[f.tell_guardians.is_some()]; " " (ctx.t("Skicka e-post till vårdnadshavarna (utan siffror eller skäl)", "E-mail the guardians (no figures or reasons)")) }
            }
            button type="submit" { (ctx.t("Lägg till regeln", "Add the rule")) }
        }
        @if let Owner::Huvudman(_) = owner {
            h2 { (ctx.t("Tid för en utredning", "Time for an investigation")) }
            form method="post" action="/admin/signals/deadline" {
                (ctx.csrf_field())
                label for="deadline_days" { (ctx.t("Dagar från rektors beslut till att utredningen ska vara klar (förslaget i beslutet)", "Days from the principal's decision until the investigation is due (suggested in the decision)")) }
                input #deadline_days name="days" inputmode="numeric" value=(s.deadline_days) required;
                button.secondary type="submit" { (ctx.t("Spara tiden", "Save the time")) }
            }
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
    let owner = Owner::of(&v, None)?;
    add(req, state, v, owner, form.into_inner()).await
}

/// POST /schools/{id}/signals
pub async fn add_school_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<RuleForm>,
) -> AppResult<HttpResponse> {
    let owner = Owner::of(&v, Some(school.into_inner()))?;
    add(req, state, v, owner, form.into_inner()).await
}

async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    owner: Owner,
    f: RuleForm,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let result = match f.parse() {
        Err(r) => Err(r),
        Ok(new) => {
            let (st, addr, org) = (state.clone(), client_addr(&req), owner.organisation());
            state
                .db_write(move |conn| signals::add_rule(conn, &st.act(&v, &addr), org, &new))
                .await?
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(see_other(&format!("{}?done=added", owner.path()))),
        Err(refusal) => {
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            rules_render(&state, &ctx, owner, &f, Some(note), StatusCode::BAD_REQUEST).await
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
    let owner = Owner::of(&v, None)?;
    active(req, state, v, owner, id.into_inner(), &form.active).await
}

/// POST /schools/{id}/signals/{rule}/active
pub async fn set_school_active(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    path: web::Path<(SchoolId, SignalRuleId)>,
    form: web::Form<ActiveForm>,
) -> AppResult<HttpResponse> {
    let (school, id) = path.into_inner();
    let owner = Owner::of(&v, Some(school))?;
    active(req, state, v, owner, id, &form.active).await
}

async fn active(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    owner: Owner,
    id: SignalRuleId,
    raw: &str,
) -> AppResult<HttpResponse> {
    let active = match raw {
        "1" => true,
        "0" => false,
        _ => {
            return Err(AppError::refused(
                crate::error::Code::BadForm,
                Refusal::new("form_held_wrong_value"),
            ))
        }
    };
    let (st, addr, org) = (state.clone(), client_addr(&req), owner.organisation());
    state
        .db_write(move |conn| signals::set_rule_active(conn, &st.act(&v, &addr), org, id, active))
        .await?;
    Ok(see_other(&format!("{}?done=saved", owner.path())))
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
    let owner = Owner::of(&v, None)?;
    let ctx = PageCtx::new(&req);
    let m = owner.organisation();
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
            let shown = RuleForm::default();
            rules_render(
                &state,
                &ctx,
                owner,
                &shown,
                Some(note),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}
