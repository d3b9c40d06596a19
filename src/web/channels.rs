//! How a guardian (or an adult pupil) is told, for each kind of message: e-mail, text
//! message or both, on My account; shown when the municipality has an SMS gateway.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::common::client_addr;
use super::layout::PageCtx;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::notices::text::{CHOICES, KINDS};
use crate::state::AppState;

/// A kind of message in words.
fn kind_words<'a>(ctx: &'a PageCtx, kind: &str) -> &'a str {
    match kind {
        "unexplained_absence" => ctx.t(
            "Frånvaro utan anmäld orsak",
            "Absence without a reported reason",
        ),
        "report_confirmation" => ctx.t(
            "Bekräftelse av frånvaroanmälan",
            "Confirmation of an absence report",
        ),
        "leave_decision" => ctx.t("Beslut om ledighet", "Leave decision"),
        "leave_confirmation" => ctx.t(
            "Ansökan om ledighet att godkänna",
            "Leave application to agree to",
        ),
        _ => ctx.t("Frånvaro i skolan", "Absence from school"),
    }
}

fn choice_words<'a>(ctx: &'a PageCtx, choice: &str) -> &'a str {
    match choice {
        "email" => ctx.t("E-post", "E-mail"),
        "sms" => ctx.t("Sms", "Text message"),
        "both" => ctx.t("Både e-post och sms", "Both e-mail and text message"),
        _ => ctx.t("Kommunens val", "The municipality's choice"),
    }
}

/// The card on My account, for a guardian or an adult pupil where text messages are on.
pub async fn card(state: &AppState, ctx: &PageCtx, v: &Viewer) -> AppResult<Option<Markup>> {
    let family = !v.roles.children.is_empty() || v.roles.pupil_self_at.is_some();
    if state.config.sms.is_none() || !family {
        return Ok(None);
    }
    let id = v.id;
    let chosen = state
        .db(move |conn| crate::notices::text::choices(conn, id))
        .await?;
    let default = choice_words(ctx, &state.config.notify_by);
    Ok(Some(html! {
        section.card {
            h2 { (ctx.t("Meddelanden till dig", "Messages to you")) }
            p { (ctx.t(
                "Välj hur skolan når dig för varje slags meddelande. Ett sms som inte kommer fram följs av ett e-postmeddelande.",
                "Choose how the school reaches you for each kind of message. A text message that does not arrive is followed by an e-mail.",
            )) }
            form method="post" action="/account/channels" {
                (ctx.csrf_field())
                @for kind in KINDS {
                    @let now = chosen.iter().find(|(k, _)| k == kind).map(|(_, c)| c.as_str()).unwrap_or("default");
                    label for={"ch-" (kind)} { (kind_words(ctx, kind)) }
                    select id={"ch-" (kind)} name=(kind) {
                        option value="default" selected[now == "default"] { (choice_words(ctx, "default")) " (" (default) ")" }
                        @for c in CHOICES {
                            option value=(c) selected[now == c] { (choice_words(ctx, c)) }
                        }
                    }
                }
                p { button type="submit" { (ctx.t("Spara valen", "Save the choices")) } }
            }
        }
    }))
}

/// POST /account/channels: one choice per kind (default, email, sms or both); anything
/// else is refused and nothing changes.
pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let family = !v.roles.children.is_empty() || v.roles.pupil_self_at.is_some();
    if state.config.sms.is_none() || !family {
        return Err(AppError::NotFound);
    }
    let mut chosen: Vec<(&'static str, &'static str)> = Vec::new();
    for (name, value) in form.iter() {
        let kind = KINDS.iter().find(|k| **k == name.as_str());
        let choice = CHOICES.iter().find(|c| **c == value.as_str());
        match (kind, choice, value.as_str()) {
            (Some(k), Some(c), _) => chosen.push((k, c)),
            (Some(_), None, "default") => {}
            _ if name == crate::auth::csrf::FIELD => {}
            _ => {
                return Err(AppError::invalid(
                    Code::BadParameter,
                    ctx.t(
                        "Välj e-post, sms eller båda för varje slags meddelande.",
                        "Choose e-mail, text message or both for each kind of message.",
                    ),
                ))
            }
        }
    }
    let (id, addr, now) = (v.id, client_addr(&req), state.now());
    state
        .db_write(move |conn| crate::notices::text::set_choices(conn, id, &chosen, (&addr, now)))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/account"))
        .finish())
}
