//! A person's own second factor on their account page (turn it on with an authenticator
//! app, see how many recovery codes are left, turn it off with a code unless their role
//! requires it) and an administrator's reset for a lost phone.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use super::login_page::message;
use super::second_factor::{code_attempt, code_field, enrol_block, recovery_block};
use crate::auth::second_factor::{self, Enrolment};
use crate::auth::sign_in::StepOutcome;
use crate::auth::{totp, Viewer};
use crate::error::{AppError, AppResult};
use crate::school::ids::PersonId;
use crate::state::AppState;

const PATH: &str = "/account/second-factor";

/// Only people who sign in with a password have a second factor here (404 for others:
/// the identity provider's sign-in has its own).
fn password_account(v: &Viewer) -> AppResult<PersonId> {
    if v.client.is_some() || !v.has_password {
        return Err(AppError::NotFound);
    }
    Ok(v.id)
}

/// The card on the account page.
pub(super) fn card(ctx: &PageCtx, enrolment: Enrolment, required: bool) -> Markup {
    html! {
        section.card {
            h2 { (ctx.t("Tvåstegsverifiering", "Two-step verification")) }
            @if enrolment == Enrolment::Confirmed {
                p { (ctx.t("På: när du loggar in med lösenord frågar Närvaro också efter en kod från din autentiseringsapp.", "On: when you sign in with your password, Närvaro also asks for a code from your authenticator app.")) }
            } @else if required {
                p { (ctx.t("Din roll kräver tvåstegsverifiering. Du kopplar en app nästa gång du loggar in, eller nu.", "Your role requires two-step verification. You connect an app the next time you sign in, or now.")) }
            } @else {
                p { (ctx.t("Av. Med en kod från en autentiseringsapp i telefonen räcker det inte att någon får veta ditt lösenord.", "Off. With a code from an authenticator app on your phone, knowing your password is not enough for anyone else.")) }
            }
            p { a href=(PATH) { (ctx.t("Hantera tvåstegsverifiering", "Manage two-step verification")) } }
        }
    }
}

/// Where the viewer's second factor stands, and whether their role requires one.
pub(super) async fn status(state: &AppState, person: PersonId) -> AppResult<(Enrolment, bool)> {
    let (today, roles) = (
        state.today(),
        state.config.sign_in.second_factor_for.clone(),
    );
    state
        .db(move |conn| {
            Ok((
                second_factor::enrolment(conn, person)?,
                second_factor::required(conn, person, today, &roles)?,
            ))
        })
        .await
}

fn frame(ctx: &PageCtx, note: Option<Markup>, body: Markup) -> Markup {
    let title = ctx.t("Tvåstegsverifiering", "Two-step verification");
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(note) = note { (note) }
            (body)
            p { a href="/account" { (ctx.t("Tillbaka till mitt konto", "Back to my account")) } }
        },
    )
}

async fn page_body(state: &AppState, ctx: &PageCtx, v: &Viewer) -> AppResult<Markup> {
    let person = password_account(v)?;
    let (enrolment, required) = status(state, person).await?;
    if enrolment == Enrolment::Confirmed {
        let left = state
            .db(move |conn| Ok(second_factor::recovery_left(conn, person)?))
            .await?;
        return Ok(html! {
            section.card {
                p { (ctx.t("Tvåstegsverifiering är på.", "Two-step verification is on.")) }
                p { (ctx.tf("Oanvända reservkoder: {count}.", "Unused recovery codes: {count}.", &[("count", &left.to_string())])) }
            }
            @if required {
                p { (ctx.t("Din roll kräver tvåstegsverifiering, så den kan inte stängas av. Har du tappat telefonen, be en administratör nollställa den.", "Your role requires two-step verification, so it cannot be turned off. If you lost your phone, ask an administrator to reset it.")) }
            } @else {
                section.card {
                    h2 { (ctx.t("Stäng av", "Turn off")) }
                    form method="post" action={(PATH) "/remove"} {
                        (ctx.csrf_field())
                        (code_field(ctx, true))
                        p { button type="submit" { (ctx.t("Stäng av tvåstegsverifiering", "Turn off two-step verification")) } }
                    }
                }
            }
        });
    }
    let now = crate::school::clock::system_now();
    let (secret, account) = state
        .db_write(move |conn| {
            Ok((
                second_factor::pending_secret(conn, person, now)?,
                crate::auth::account::username(conn, person)?.unwrap_or_default(),
            ))
        })
        .await?;
    let Some(secret) = secret else {
        return Err(AppError::NotFound);
    };
    Ok(html! {
        section.card {
            (enrol_block(ctx, &account, &secret))
            form method="post" action={(PATH) "/confirm"} {
                (ctx.csrf_field())
                (code_field(ctx, false))
                p { button type="submit" { (ctx.t("Slå på tvåstegsverifiering", "Turn on two-step verification")) } }
            }
        }
    })
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
) -> AppResult<HttpResponse> {
    let ctx = super::second_factor::staff_ctx(&req);
    let body = page_body(&state, &ctx, &v).await?;
    Ok(html_with_status(StatusCode::OK, frame(&ctx, None, body)))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let person = password_account(&v)?;
    let ctx = super::second_factor::staff_ctx(&req);
    let (addr, now) = (client_addr(&req), crate::school::clock::system_now());
    let step = totp::step_at(now.and_utc().timestamp());
    let typed = form.into_inner().code;
    let codes = state
        .db_write(move |conn| second_factor::confirm(conn, person, &typed, (step, now), &addr))
        .await?;
    match codes {
        Some(codes) => Ok(html_with_status(
            StatusCode::OK,
            frame(
                &ctx,
                Some(message(
                    "notice",
                    ctx.t("Tvåstegsverifiering är på.", "Two-step verification is on."),
                )),
                html! { section.card { (recovery_block(&ctx, &codes)) } },
            ),
        )),
        None => {
            let note = message(
                "errors",
                ctx.t(
                    "Koden stämmer inte. Skriv in den kod appen visar just nu.",
                    "The code is not right. Type in the code the app shows right now.",
                ),
            );
            let body = page_body(&state, &ctx, &v).await?;
            Ok(html_with_status(
                StatusCode::BAD_REQUEST,
                frame(&ctx, Some(note), body),
            ))
        }
    }
}

/// The page again, with what was refused above it.
async fn refuse(
    state: &AppState,
    ctx: &PageCtx,
    v: &Viewer,
    (text, status): (&str, StatusCode),
) -> AppResult<HttpResponse> {
    let body = page_body(state, ctx, v).await?;
    Ok(html_with_status(
        status,
        frame(ctx, Some(message("errors", text)), body),
    ))
}

pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let person = password_account(&v)?;
    let ctx = super::second_factor::staff_ctx(&req);
    let (enrolment, required) = status(&state, person).await?;
    if enrolment != Enrolment::Confirmed {
        return Ok(see_other(PATH));
    }
    if required {
        let text = ctx.t(
            "Din roll kräver tvåstegsverifiering, så den kan inte stängas av.",
            "Your role requires two-step verification, so it cannot be turned off.",
        );
        return refuse(&state, &ctx, &v, (text, StatusCode::CONFLICT)).await;
    }
    match code_attempt(&req, &state, person, form.into_inner().code, "account").await? {
        StepOutcome::Passed(_) => {
            let (addr, now) = (client_addr(&req), state.now());
            state
                .db_write(move |conn| {
                    Ok(second_factor::remove(conn, person, person, (now, &addr))?)
                })
                .await?;
            Ok(see_other(PATH))
        }
        StepOutcome::Throttled { wait_secs } => Err(AppError::TooManyRequests {
            retry_after_secs: wait_secs,
        }),
        StepOutcome::Refused(_) => {
            let text = ctx.t(
                "Koden stämmer inte eller har redan använts.",
                "The code is not right, or has been used already.",
            );
            refuse(&state, &ctx, &v, (text, StatusCode::UNAUTHORIZED)).await
        }
    }
}

/// An administrator takes a person's second factor away (a lost phone, no recovery code
/// left): audited; the person enrols again at their next sign-in where their role requires
/// it. 404 for anyone but an administrator, and for nobody.
pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    if !v.roles.is_admin() || v.client.is_some() {
        return Err(AppError::NotFound);
    }
    let person = id.into_inner();
    let (addr, now, admin) = (client_addr(&req), state.now(), v.id);
    state
        .db_write(move |conn| {
            // 404 for nobody (a database error stays an error); a person without a second
            // factor: nothing to take away, nothing audited
            crate::auth::account::username(conn, person)?;
            Ok(second_factor::remove(conn, person, admin, (now, &addr))?)
        })
        .await?;
    Ok(see_other(&format!("/admin/people/{person}/extract")))
}
