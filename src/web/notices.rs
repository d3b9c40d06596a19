//! The notices' web side: the guardian's "I have seen this" link (no sign-in: a signed,
//! expiring, single-purpose link) and the staff's list of a day's notices with their state,
//! so they know whom to call.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::common::client_addr;
use super::common::html_with_status;
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::notices::worker::confirm_link_valid;
use crate::notices::DayNotice;
use crate::school::ids::NoticeId;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Signed {
    exp: i64,
    sig: String,
}

fn checked(state: &AppState, id: NoticeId, q: &Signed) -> AppResult<NoticeId> {
    if confirm_link_valid(&state.outbox, id, q.exp, &q.sig) {
        Ok(id)
    } else {
        Err(AppError::NotFound)
    }
}

/// Opening the link shows a button (mail scanners open links too); pressing it confirms.
pub async fn seen_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<NoticeId>,
    q: web::Query<Signed>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let id = checked(&state, id.into_inner(), &q)?;
    let confirmed = state
        .db(move |conn| crate::notices::confirmed_at(conn, id))
        .await?;
    let title = ctx.t("Bekräfta meddelandet", "Confirm the message");
    let body = html! {
        h1 { (title) }
        @if confirmed.is_some() {
            p.notice role="status" { (ctx.t("Tack, du har redan bekräftat att du sett meddelandet.", "Thank you, you have already confirmed that you saw the message.")) }
        } @else {
            p { (ctx.t("Tryck på knappen så vet skolan att du har sett meddelandet om frånvaro.", "Press the button so that the school knows you have seen the message about absence.")) }
            form method="post" action={"/notices/" (id) "/seen?exp=" (q.exp) "&sig=" (q.sig)} {
                (ctx.csrf_field())
                button type="submit" { (ctx.t("Jag har sett meddelandet", "I have seen the message")) }
            }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<NoticeId>,
    q: web::Query<Signed>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let id = checked(&state, id.into_inner(), &q)?;
    let (now, addr) = (state.now(), client_addr(&req));
    state
        .db_write(move |conn| crate::notices::confirm(conn, id, now, &addr))
        .await?;
    let title = ctx.t("Tack!", "Thank you!");
    let body = html! { h1 { (title) } p role="status" { (ctx.t("Skolan kan nu se att du har sett meddelandet.", "The school can now see that you have seen the message.")) } };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

#[derive(Deserialize, Default)]
pub struct DayQuery {
    date: Option<String>,
    unconfirmed: Option<String>,
}

/// A day's notices for the pupils in the viewer's care: principals their schools, mentors
/// their groups, administrators the municipality.
pub async fn day(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<DayQuery>,
) -> AppResult<HttpResponse> {
    let r = &v.roles;
    if r.principal_of.is_empty() && r.mentor_of.is_empty() && r.admin_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let follows_up = !(r.principal_of.is_empty() && r.mentor_of.is_empty());
    let ctx = PageCtx::new(&req);
    let today = state.today();
    let date = match q.date.as_deref() {
        None | Some("") => today,
        Some(d) => crate::school::clock::parse_day(d).ok_or_else(|| {
            AppError::invalid(
                Code::BadDate,
                ctx.t("Datum skrivs ÅÅÅÅ-MM-DD.", "Dates are written YYYY-MM-DD."),
            )
        })?,
    };
    let only_unconfirmed = q.unconfirmed.is_some();
    let rows: Vec<DayNotice> = state
        .db(move |conn| crate::notices::of_day(conn, &v, date))
        .await?
        .into_iter()
        .filter(|n| !only_unconfirmed || n.unconfirmed())
        .collect();
    let title = ctx.t("Meddelanden om frånvaro", "Absence notices");
    let body = html! {
        h1 { (title) ", " (ctx.lang.day(date)) }
        @if follows_up { p { a href="/guardians/unreached" { (ctx.t("Vårdnadshavare som inte nås den här terminen", "Guardians not reached this term")) } } }
        form method="get" action="/notices" {
            label for="date" { (ctx.t("Dag", "Day")) } input #date type="date" name="date" value=(date);
            label { input type="checkbox" name="unconfirmed" value="1" checked[only_unconfirmed]; " " (ctx.t("Bara de som inte bekräftats", "Only those not confirmed")) }
            p { button type="submit" { (ctx.t("Visa", "Show")) } }
        }
        @if rows.is_empty() { p { (ctx.t("Inga meddelanden.", "No notices.")) } } @else {
            div.scroll tabindex="0" { table {
                thead { tr { th { (ctx.t("Elev", "Pupil")) } th { (ctx.t("Mottagare", "Recipient")) } th { (ctx.t("Sätt", "Way")) } th { (ctx.t("Läge", "State")) } th { (ctx.t("Fel", "Error")) } } }
                tbody { @for n in &rows {
                    tr class=(if n.needs_follow_up() { "warn" } else { "" }) {
                        td { a href={"/pupils/" (n.pupil)} { (n.given_name) " " (n.family_name) } }
                        td { (n.recipient_email.as_deref().unwrap_or("–")) }
                        td { (way_text(&ctx, n)) }
                        td { (state_text(&ctx, &n.status, n.confirmed_at.is_some())) }
                        td { (n.last_error.as_deref().filter(|_| n.status != "sent").map(|e| skip_reason(&ctx, e)).unwrap_or_default()) }
                    }
                } }
            } }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

/// How a notice went out: e-mail, a text message and what its delivery report said, or an
/// e-mail after a text that did not get through.
fn way_text(ctx: &PageCtx, n: &DayNotice) -> &'static str {
    match (n.channel.as_str(), n.delivery.as_deref()) {
        ("sms", Some("delivered")) => ctx.t("Sms, levererat", "Text message, delivered"),
        ("sms", Some(_)) => ctx.t("Sms, gick inte fram", "Text message, not delivered"),
        ("sms", None) if n.status == "sent" => ctx.t(
            "Sms, väntar på leveranskvitto",
            "Text message, waiting for the delivery report",
        ),
        ("sms", None) => ctx.t("Sms", "Text message"),
        ("email_fallback", _) => ctx.t(
            "E-post, efter sms som inte gick fram",
            "E-mail, after a text message that was not delivered",
        ),
        _ => ctx.t("E-post", "E-mail"),
    }
}

/// Why the outbox skipped a notice, as people read it.
fn skip_reason(ctx: &PageCtx, e: &str) -> String {
    use crate::notices::worker::{SKIP_MADE_VALID, SKIP_NOTHING_NEW};
    match e {
        SKIP_MADE_VALID => ctx
            .t(
                "Frånvaron blev giltig eller togs bort innan meddelandet skickades.",
                "The absence was made valid or removed before sending.",
            )
            .into(),
        SKIP_NOTHING_NEW => ctx
            .t(
                "Allt hade redan meddelats.",
                "Everything had already been notified.",
            )
            .into(),
        other => other.to_string(),
    }
}

/// A notice's state, as people read it.
fn state_text<'a>(ctx: &PageCtx, status: &str, confirmed: bool) -> &'a str {
    match (status, confirmed) {
        (_, true) => ctx.t("Bekräftat", "Confirmed"),
        ("sent", _) => ctx.t("Skickat, ej bekräftat", "Sent, not confirmed"),
        ("pending", _) => ctx.t("Väntar på att skickas", "Due"),
        ("failed", _) => ctx.t("Misslyckades", "Failed"),
        ("unreachable", _) => ctx.t(
            "Kan inte nås (ingen e-post)",
            "Cannot be notified (no e-mail)",
        ),
        _ => ctx.t("Behövs inte längre", "No longer needed"),
    }
}
