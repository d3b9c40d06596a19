//! `/guardians/unreached`: the guardians of the viewer's pupils whom this term's notices
//! have not reached (for mentors and principals), why, and how to reach them instead.
//! The list itself is `crate::notices::reach`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::common::html_with_status;
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::notices::reach::{self, Gap, Unreached};
use crate::state::AppState;

fn gap_words(ctx: &PageCtx, g: Gap) -> &'static str {
    match g {
        Gap::NoAddress => ctx.t("Ingen e-postadress som fungerar", "No working e-mail address"),
        Gap::Failed => ctx.t(
            "Det senaste meddelandet gick inte fram",
            "The latest message did not get through",
        ),
        Gap::Silent => ctx.t(
            "Har fått meddelanden om frånvaro men inte bekräftat något eller loggat in den här terminen",
            "Got absence notices but confirmed none and did not sign in this term",
        ),
    }
}

/// The first way to try instead, for the worst gap.
fn instead(ctx: &PageCtx, u: &Unreached) -> Markup {
    let first = u.gaps.first().copied();
    html! {
        @if let Some(other) = &u.reached_by {
            (ctx.t("Via ", "Through ")) (other) (ctx.t(", som nås. ", ", who is reached. "))
        }
        @if let Some(n) = &u.phone {
            (ctx.t("Ring ", "Call ")) a href={"tel:" (n)} { (n) } ". "
        }
        @if u.protected {
            (ctx.t("Skyddade personuppgifter: kontakta bara enligt skolans rutin, aldrig via en ny adress.", "Protected identity: contact only by the school's routine, never through a new address."))
        } @else {
            @match first {
                Some(Gap::NoAddress) => (ctx.t("Ring eller skicka brev hem, och be vårdnadshavaren lägga in sin e-post under Mitt konto eller expeditionen rätta den i elevregistret.", "Call or send a letter home, and ask the guardian to add their e-mail under My account or the office to correct it in the pupil register.")),
                Some(Gap::Failed) => (ctx.t("Adressen tar inte emot e-post: ring under tiden och kontrollera adressen i elevregistret.", "The address does not take e-mail: call meanwhile and check the address in the pupil register.")),
                _ => (ctx.t("Ring, boka ett möte eller skicka brev hem; ta med tolk om det behövs.", "Call, book a meeting or send a letter home; bring an interpreter if needed.")),
            }
        }
    }
}

fn page(ctx: &PageCtx, list: &[Unreached]) -> Markup {
    let title = ctx.t("Vårdnadshavare som inte nås", "Guardians not reached");
    let body = html! {
        h1 { (title) }
        p { (ctx.t("Vårdnadshavare till dina elever som terminens meddelanden inte har nått. Ett meddelande som inte kommer fram eller inte läses har inte informerat dem, och skolan behöver nå dem på annat sätt.", "Guardians of your pupils whom this term's notices have not reached. A message that does not arrive or is not read has not told them, and the school needs to reach them another way.")) }
        @if list.is_empty() {
            p { (ctx.t("Alla vårdnadshavare nås.", "Every guardian is reached.")) }
        } @else {
            div.scroll tabindex="0" { table {
                caption { (ctx.t("Vårdnadshavare som inte nås, per klass och elev", "Guardians not reached, by class and pupil")) }
                thead { tr {
                    th scope="col" { (ctx.t("Klass", "Class")) }
                    th scope="col" { (ctx.t("Elev", "Pupil")) }
                    th scope="col" { (ctx.t("Vårdnadshavare", "Guardian")) }
                    th scope="col" { (ctx.t("Varför", "Why")) }
                    th scope="col" { (ctx.t("Nå dem så här", "Reach them this way")) }
                } }
                tbody { @for u in list {
                    tr {
                        td { (u.class.as_deref().unwrap_or("–")) }
                        td { a href={"/pupils/" (u.pupil)} { (u.pupil_name) } }
                        td { (u.guardian_name) }
                        td { ul { @for g in &u.gaps { li data-gap=(g.code()) { (gap_words(ctx, *g)) } } } }
                        td { (instead(ctx, u)) }
                    }
                } }
            } }
        }
    };
    layout::page(ctx, title, body)
}

/// GET /guardians/unreached
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
) -> AppResult<HttpResponse> {
    if v.roles.principal_of.is_empty() && v.roles.mentor_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let ctx = PageCtx::new(&req);
    let today = state.today();
    let texts = state
        .config
        .sms
        .as_ref()
        .map(|_| state.config.notify_by.clone());
    let list = state
        .db(move |conn| reach::for_viewer(conn, &v, today, texts.as_deref()))
        .await?;
    Ok(html_with_status(StatusCode::OK, page(&ctx, &list)))
}
