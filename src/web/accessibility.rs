//! The accessibility statement (tillgänglighetsredogörelse) at `/accessibility`, in the
//! form DIGG gives for the DOS-lagen (lag 2018:1937 om tillgänglighet till digital offentlig
//! service): who stands behind the service, how accessible it is, what to do when something
//! does not work, how to report it, DIGG's supervision, the technical status against
//! WCAG 2.2 AA, what is not accessible or not assessed, and how it was tested. The status
//! comes from `templates/accessibility.yaml`, whose list of tested pages the browser test
//! `tests/it/accessibility.rs` checks with axe on every run.
//!
//! Published in Swedish and English (the statement's language under the law is Swedish);
//! a reader of another language is told so in theirs.

use std::sync::OnceLock;

use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use super::common::html_response;
use super::layout::{self, PageCtx};
use crate::auth::viewer::MaybeViewer;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A page the browser test checks.
#[derive(Debug, Clone, Deserialize)]
pub struct Tested {
    /// the address, with `{child}`, `{lesson}`, `{school}` for the test's records
    pub path: String,
    /// the username it is opened as (empty: not signed in)
    #[serde(rename = "as")]
    pub who: String,
}

/// Something known not to be accessible, or not assessed.
#[derive(Debug, Clone, Deserialize)]
pub struct Gap {
    pub criterion: String,
    pub sv: String,
    pub en: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Statement {
    pub standard: String,
    /// the axe-core version the browser tests run
    pub axe: String,
    pub assessed: NaiveDate,
    pub tested: Vec<Tested>,
    pub gaps: Vec<Gap>,
}

/// The statement's facts, read once from the file built into the binary.
pub fn statement() -> Result<&'static Statement, String> {
    static STATEMENT: OnceLock<Result<Statement, String>> = OnceLock::new();
    STATEMENT
        .get_or_init(|| {
            yaml_serde::from_str(include_str!("../../templates/accessibility.yaml"))
                .map_err(|e| format!("templates/accessibility.yaml: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

const DIGG: &str = "https://www.digg.se/analys-och-uppfoljning/lagen-om-tillganglighet-till-digital-offentlig-service-dos-lagen/anmal-bristande-tillganglighet";

/// Where to write, as a link (an e-mail address or a web address), or the school.
fn contact(ctx: &PageCtx, state: &AppState) -> Markup {
    match &state.config.accessibility.contact {
        Some(c) if c.starts_with("https://") => html! { a href=(c) { (c) } },
        Some(c) => html! { a href={"mailto:" (c)} { (c) } },
        None => html! { (ctx.t("din skola eller kommunen", "your school or the municipality")) },
    }
}

fn body(ctx: &PageCtx, state: &AppState, s: &Statement) -> Markup {
    let who = state
        .config
        .accessibility
        .organisation
        .clone()
        .unwrap_or_else(|| ctx.t("Kommunen", "The municipality").to_string());
    let partly = !s.gaps.is_empty();
    html! {
        p { (ctx.tf(
            "{who} står bakom Närvaro. Vi vill att så många som möjligt ska kunna använda tjänsten. Här beskriver vi hur Närvaro uppfyller lagen (2018:1937) om tillgänglighet till digital offentlig service, kända tillgänglighetsproblem och hur du kan rapportera brister till oss så att vi kan åtgärda dem.",
            "{who} stands behind Närvaro. We want as many people as possible to be able to use the service. Here we describe how Närvaro meets the Swedish act (2018:1937) on accessibility of digital public services, known accessibility problems, and how you can report problems to us so that we can fix them.",
            &[("who", &who)],
        )) }
        h2 { (ctx.t("Hur tillgänglig är tjänsten?", "How accessible is the service?")) }
        p { @if partly {
            (ctx.t("Vi vet att delar av tjänsten inte är granskade fullt ut. De beskrivs nedan.", "We know that parts of the service are not fully assessed. They are described below."))
        } @else {
            (ctx.t("Tjänsten uppfyller kraven.", "The service meets the requirements."))
        } }
        p { (ctx.t("Alla sidor fungerar utan JavaScript, med tangentbord, i mobilen och med förstorad text, på svenska och på de språk vårdnadshavare väljer.", "Every page works without JavaScript, by keyboard, on a phone and with enlarged text, in Swedish and in the languages guardians choose.")) }
        h2 { (ctx.t("Vad kan du göra om du inte kan använda delar av tjänsten?", "What can you do if you cannot use parts of the service?")) }
        p { (ctx.t("Om du behöver innehåll från Närvaro i ett annat format, eller inte kan anmäla frånvaro här, kontakta", "If you need content from Närvaro in another format, or cannot report absence here, contact")) " " (contact(ctx, state)) ". " (ctx.t("Du kan alltid anmäla frånvaro till skolan på telefon.", "You can always report absence to the school by phone.")) }
        h2 { (ctx.t("Rapportera brister i tjänstens tillgänglighet", "Report accessibility problems")) }
        p { (ctx.t("Vi strävar hela tiden efter att förbättra tjänstens tillgänglighet. Om du upptäcker problem som inte är beskrivna på den här sidan, eller om du anser att vi inte uppfyller lagens krav, meddela oss så att vi får veta att problemet finns:", "We keep working to improve the service's accessibility. If you find problems not described on this page, or think that we do not meet the law's requirements, tell us so that we know of the problem:")) " " (contact(ctx, state)) "." }
        h2 { (ctx.t("Tillsyn", "Supervision")) }
        p { (ctx.t("Myndigheten för digital förvaltning (Digg) har ansvaret för tillsyn för lagen om tillgänglighet till digital offentlig service. Om du inte är nöjd med hur vi hanterar dina synpunkter kan du", "The Agency for Digital Government (Digg) supervises the act on accessibility of digital public services. If you are not satisfied with how we handle your comments, you can")) " " a href=(DIGG) { (ctx.t("kontakta Digg och påtala det", "contact Digg and report it")) } "." }
        h2 { (ctx.t("Teknisk information om tjänstens tillgänglighet", "Technical information on the service's accessibility")) }
        p { @if partly {
            (ctx.tf("Tjänsten är delvis förenlig med {standard}, på grund av de brister och ogranskade delar som beskrivs nedan.", "The service is partially compliant with {standard}, because of the problems and unassessed parts described below.", &[("standard", &s.standard)]))
        } @else {
            (ctx.tf("Tjänsten är helt förenlig med {standard}.", "The service is fully compliant with {standard}.", &[("standard", &s.standard)]))
        } }
        @if partly {
            h3 { (ctx.t("Innehåll som inte är tillgängligt eller inte granskat", "Content that is not accessible or not assessed")) }
            ul { @for g in &s.gaps {
                li { (ctx.t(&g.sv, &g.en)) " " span.muted { "(" (ctx.t("WCAG-kriterium", "WCAG criterion")) " " (g.criterion) ")" } }
            } }
        }
        h2 { (ctx.t("Hur vi testat tjänsten", "How we tested the service")) }
        p { (ctx.tf(
            "Vi har själva granskat tjänsten. Varje gång koden ändras öppnar projektets tester de {count} sidor som listas här i webbläsaren Chromium, på en mobilskärm, och kontrollerar dem med axe-core {axe} mot alla automatiskt testbara kriterier i WCAG 2.0, 2.1 och 2.2 på nivå A och AA. Ändringen godtas bara om ingen brist hittas. Testerna gör också det viktigaste med enbart tangentbord och utan JavaScript.",
            "We assess the service ourselves. On every change to the code, the project's tests open the {count} pages listed here in the Chromium browser, on a phone-sized screen, and check them with axe-core {axe} against every automatically testable criterion of WCAG 2.0, 2.1 and 2.2 at levels A and AA. The change is accepted only if nothing is found. The tests also do the most important tasks by keyboard alone and without JavaScript.",
            &[("count", &s.tested.len().to_string()), ("axe", &s.axe)],
        )) }
        details {
            summary { (ctx.t("Sidorna som testas", "The pages tested")) }
            ul { @for t in &s.tested {
                li { code translate="no" { (t.path) } " – " (who_words(ctx, &t.who)) }
            } }
        }
        p { (ctx.tf("Senaste bedömningen gjordes {date}.", "The latest assessment was made on {date}.", &[("date", &ctx.lang.day(s.assessed))])) " "
            (ctx.tf("Redogörelsen uppdaterades senast {date}.", "The statement was last updated on {date}.", &[("date", &ctx.lang.day(s.assessed))])) }
    }
}

fn who_words<'a>(ctx: &'a PageCtx, username: &str) -> &'a str {
    match username {
        "" => ctx.t("inte inloggad", "not signed in"),
        "demo.teacher" => ctx.t("lärare", "teacher"),
        "demo.guardian" => ctx.t("vårdnadshavare", "guardian"),
        "demo.principal" => ctx.t("rektor", "principal"),
        "demo.admin" => ctx.t("administratör", "administrator"),
        _ => ctx.t("personal", "staff"),
    }
}

pub async fn page(
    req: HttpRequest,
    state: actix_web::web::Data<AppState>,
    _viewer: MaybeViewer,
) -> AppResult<HttpResponse> {
    let asked = PageCtx::new(&req);
    let reader = asked.lang;
    // in Swedish or English; the reader of another language is told so in theirs
    let ctx = PageCtx {
        lang: reader.staff(),
        ..asked
    };
    let s = statement().map_err(AppError::internal)?;
    let title = ctx.t("Tillgänglighetsredogörelse", "Accessibility statement");
    let note = (reader != ctx.lang).then(|| {
        html! { p.notice lang=(reader.code()) dir=(reader.dir()) { (reader.pick(
            "Redogörelsen finns på svenska och engelska.",
            "The statement is published in Swedish and English.",
        )) } }
    });
    let body = html! {
        h1 { (title) }
        @if let Some(note) = note { (note) }
        (body(&ctx, &state, s))
    };
    Ok(html_response(layout::page(&ctx, title, body)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_statement_reads() {
        let s = super::statement().unwrap();
        assert_eq!(s.standard, "WCAG 2.2 AA");
        assert!(s.tested.len() >= 20);
        assert!(s.tested.iter().any(|t| t.path == "/accessibility"));
    }
}
