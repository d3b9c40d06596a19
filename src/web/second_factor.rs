//! The second step of a sign-in: a code from the person's authenticator app (or a recovery
//! code), or enrolling an app where the person's role requires one. Between the password
//! and this step the browser holds a signed cookie naming the person for five minutes; no
//! session exists until the step is done. Enrolling from one's own account page and an
//! administrator's reset are in `second_factor_account`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use super::login_page::message;
use super::session_start::{
    open_session, pending, pending_cookie, session_cookies, trusted_device, PATH,
};
use super::sign_in::safe_next;
use crate::auth::second_factor::{self, Checked, SecondStep};
use crate::auth::sign_in::{self, StepOutcome};
use crate::auth::{throttle, totp};
use crate::error::{AppError, AppResult};
use crate::school::ids::PersonId;
use crate::state::AppState;

/// Pages for password accounts: Swedish or English.
pub(super) fn staff_ctx(req: &HttpRequest) -> PageCtx {
    let ctx = PageCtx::new(req);
    PageCtx {
        lang: ctx.lang.staff(),
        staff: true,
        ..ctx
    }
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

/// The field for a code, the same everywhere: six digits from the app, or a recovery code.
pub(super) fn code_field(ctx: &PageCtx, recovery_too: bool) -> Markup {
    html! {
        label for="code" {
            @if recovery_too {
                (ctx.t("Koden från appen (6 siffror) eller en reservkod", "The code from the app (6 digits) or a recovery code"))
            } @else {
                (ctx.t("Koden från appen (6 siffror)", "The code from the app (6 digits)"))
            }
        }
        input #code name="code" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="32" required inputmode=(if recovery_too { "text" } else { "numeric" });
    }
}

/// The QR code and the key to type by hand, for enrolling an app.
pub(super) fn enrol_block(ctx: &PageCtx, account: &str, secret: &[u8]) -> Markup {
    let uri = totp::otpauth_uri("Närvaro", account, secret);
    let key = totp::base32(secret);
    let grouped: Vec<String> = key
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    html! {
        ol {
            li { (ctx.t("Öppna en autentiseringsapp i telefonen (till exempel Microsoft Authenticator, Google Authenticator, FreeOTP eller Aegis).", "Open an authenticator app on your phone (for example Microsoft Authenticator, Google Authenticator, FreeOTP or Aegis).")) }
            li { (ctx.t("Skanna QR-koden med appen, eller skriv in nyckeln under den.", "Scan the QR code with the app, or type in the key below it.")) }
            li { (ctx.t("Skriv in koden som appen visar.", "Type in the code the app shows.")) }
        }
        @if let Some(svg) = totp::qr_svg(&uri) {
            figure.qr role="img" aria-label=(ctx.t("QR-kod för autentiseringsappen", "QR code for the authenticator app")) { (PreEscaped(svg)) }
        }
        p { (ctx.t("Nyckel:", "Key:")) " " code.key translate="no" { (grouped.join(" ")) } }
    }
}

/// The recovery codes, shown once.
pub(super) fn recovery_block(ctx: &PageCtx, codes: &[String]) -> Markup {
    html! {
        h2 { (ctx.t("Dina reservkoder", "Your recovery codes")) }
        p { (ctx.t(
            "Spara koderna på ett säkert ställe, till exempel utskrivna. Varje kod fungerar en gång om du inte har telefonen. De visas bara nu.",
            "Keep these codes somewhere safe, for example printed. Each works once if you do not have your phone. They are shown only now."
        )) }
        ul.codes translate="no" { @for c in codes { li { code { (c) } } } }
    }
}

fn step_page(ctx: &PageCtx, next: &str, body: Markup, note: Option<Markup>) -> Markup {
    let title = ctx.t("Tvåstegsverifiering", "Two-step verification");
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(note) = note { (note) }
            section.card {
                (body)
                form method="post" action=(PATH) {
                    (ctx.csrf_field())
                    input type="hidden" name="next" value=(next);
                    (code_field(ctx, true))
                    p { button type="submit" { (ctx.t("Fortsätt", "Continue")) } }
                }
            }
            p { a href="/login" { (ctx.t("Avbryt och logga in på nytt", "Cancel and sign in again")) } }
        },
    )
}

/// What a person at the second step sees: the code form, or the enrolment.
async fn step_body(state: &AppState, ctx: &PageCtx, person: PersonId) -> AppResult<Option<Markup>> {
    let (today, roles) = (
        state.today(),
        state.config.sign_in.second_factor_for.clone(),
    );
    let now = crate::school::clock::system_now();
    state
        .db_write(move |conn| {
            Ok(match second_factor::needed(conn, person, today, &roles)? {
                SecondStep::None => None,
                SecondStep::Code => Some(None),
                SecondStep::Enrol => {
                    let account = crate::auth::account::username(conn, person)?
                        .unwrap_or_else(|| person.to_string());
                    second_factor::pending_secret(conn, person, now)?
                        .map(|secret| Some((account, secret)))
                }
            })
        })
        .await
        .map(|step| {
            step.map(|enrol| match enrol {
                None => html! {
                    p { (ctx.t("Skriv in koden från autentiseringsappen i telefonen.", "Type in the code from the authenticator app on your phone.")) }
                },
                Some((account, secret)) => html! {
                    p { (ctx.t(
                        "Ditt konto kräver tvåstegsverifiering. Koppla en autentiseringsapp nu; efter det frågar Närvaro efter en kod från den när du loggar in med lösenord.",
                        "Your account requires two-step verification. Connect an authenticator app now; after that Närvaro asks for a code from it when you sign in with your password."
                    )) }
                    (enrol_block(ctx, &account, &secret))
                },
            })
        })
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> AppResult<HttpResponse> {
    let next = safe_next(query.next.as_deref());
    let Some(who) = pending(&req, &state) else {
        return Ok(see_other("/login"));
    };
    let ctx = staff_ctx(&req);
    match step_body(&state, &ctx, who.0).await? {
        // nothing is asked any more (an administrator reset it meanwhile): signed in
        None => finish(&req, &state, who, &next).await,
        Some(body) => Ok(no_store(html_with_status(
            StatusCode::OK,
            step_page(&ctx, &next, body, None),
        ))),
    }
}

fn no_store(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

/// Signed in: the session, and the step's cookie gone.
async fn finish(
    req: &HttpRequest,
    state: &AppState,
    who: (PersonId, i32),
    next: &str,
) -> AppResult<HttpResponse> {
    let mut res = open_session(req, state, who, next).await?;
    res.add_cookie(&pending_cookie(state, String::new(), 0))
        .map_err(AppError::caused)?;
    Ok(res)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// The limits a code is held against: as for a password from this browser.
pub(super) fn limits(
    req: &HttpRequest,
    state: &AppState,
    person: PersonId,
) -> Vec<throttle::Limit> {
    if trusted_device(req, state) == Some(person) {
        vec![throttle::Limit::known_device(person)]
    } else {
        vec![
            throttle::Limit::address(&client_addr(req)),
            throttle::Limit::account(person),
        ]
    }
}

/// A code at sign-in, for the form and the API alike: limited and audited.
pub async fn code_attempt(
    req: &HttpRequest,
    state: &AppState,
    person: PersonId,
    typed: String,
    channel: &'static str,
) -> AppResult<StepOutcome> {
    let (limits, addr) = (limits(req, state, person), client_addr(req));
    let now = crate::school::clock::system_now();
    let outcome = state
        .db_write(move |conn| {
            sign_in::second_step(conn, person, &typed, (&limits, &addr, channel), now)
        })
        .await?;
    state.metrics.sign_in(
        channel,
        match outcome {
            StepOutcome::Passed(_) => "ok",
            StepOutcome::Throttled { .. } => "throttled",
            StepOutcome::Refused(_) => "failed",
        },
    );
    Ok(outcome)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let Some(who) = pending(&req, &state) else {
        return Ok(see_other("/login"));
    };
    let ctx = staff_ctx(&req);
    let person = who.0;
    let (today, roles) = (
        state.today(),
        state.config.sign_in.second_factor_for.clone(),
    );
    let step = state
        .db(move |conn| Ok(second_factor::needed(conn, person, today, &roles)?))
        .await?;
    let wrong = |text: &str| message("errors", text);
    let refused = match step {
        SecondStep::None => return finish(&req, &state, who, &next).await,
        SecondStep::Enrol => {
            let (addr, now) = (client_addr(&req), crate::school::clock::system_now());
            let step_now = totp::step_at(now.and_utc().timestamp());
            let typed = form.code.clone();
            let codes = state
                .db_write(move |conn| {
                    second_factor::confirm(conn, person, &typed, (step_now, now), &addr)
                })
                .await?;
            match codes {
                Some(codes) => return enrolled(&req, &state, &ctx, who, (&next, &codes)).await,
                None => wrong(ctx.t(
                    "Koden stämmer inte. Skriv in den kod appen visar just nu.",
                    "The code is not right. Type in the code the app shows right now.",
                )),
            }
        }
        SecondStep::Code => match code_attempt(&req, &state, person, form.code, "web").await? {
            StepOutcome::Passed(_) => return finish(&req, &state, who, &next).await,
            StepOutcome::Throttled { wait_secs } => {
                return Err(AppError::TooManyRequests {
                    retry_after_secs: wait_secs,
                })
            }
            StepOutcome::Refused(Checked::Reused) => wrong(ctx.t(
                "Koden har redan använts. Vänta tills appen visar en ny kod.",
                "That code has been used already. Wait until the app shows a new one.",
            )),
            StepOutcome::Refused(_) => wrong(ctx.t(
                "Koden stämmer inte. Försök igen med koden appen visar nu, eller med en reservkod.",
                "The code is not right. Try again with the code the app shows now, or with a recovery code.",
            )),
        },
    };
    let body = step_body(&state, &ctx, person).await?.unwrap_or_default();
    Ok(no_store(html_with_status(
        StatusCode::UNAUTHORIZED,
        step_page(&ctx, &next, body, Some(refused)),
    )))
}

/// Enrolled at sign-in: signed in, and the recovery codes shown once.
async fn enrolled(
    req: &HttpRequest,
    state: &AppState,
    ctx: &PageCtx,
    who: (PersonId, i32),
    (next, codes): (&str, &[String]),
) -> AppResult<HttpResponse> {
    let title = ctx.t("Tvåstegsverifiering är på", "Two-step verification is on");
    let markup = layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            (message("notice", ctx.t("Appen är kopplad och du är inloggad.", "The app is connected and you are signed in.")))
            section.card { (recovery_block(ctx, codes)) }
            p { a.button href=(next) { (ctx.t("Fortsätt till Närvaro", "Continue to Närvaro")) } }
        },
    );
    let mut res = no_store(html_with_status(StatusCode::OK, markup));
    for cookie in session_cookies(req, state, who).await? {
        res.add_cookie(&cookie).map_err(AppError::caused)?;
    }
    res.add_cookie(&pending_cookie(state, String::new(), 0))
        .map_err(AppError::caused)?;
    Ok(res)
}
