//! Signing in and out: the password form, e-mailed sign-in links for guardians and pupils,
//! password resets and invitations for staff.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::html_with_status;
use super::common::{client_addr, see_other};
use super::layout::{self, PageCtx};
use super::login_page::{login_form, message, Ways};
use super::session_start::{secure, start_session, trusted_device};
use crate::auth::links::Purpose;
use crate::auth::sign_in::{self, Outcome};
use crate::auth::viewer::{cleared_session_cookie, MaybeViewer};
use crate::error::{AppError, AppResult, Code};
use crate::notices::LinkRequest;
use crate::state::AppState;

/// A local path to return to after signing in; anything else becomes the start page.
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

/// A password attempt, for the form and the API alike: the account and the limits are
/// read, the hash is computed on the blocking pool without holding a database connection
/// (at most one per core at a time; 503 with Retry-After when too many wait), and the
/// outcome is written to the audit log.
pub async fn password_attempt(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    username: String,
    password: String,
    channel: &'static str,
) -> AppResult<Outcome> {
    let addr = client_addr(req);
    // the limits' windows run on the system clock, whatever the school day's clock says
    let now = crate::school::clock::system_now();
    let today = state.today();
    let device = trusted_device(req, state);
    let a = addr.clone();
    let mut attempt = state
        .db(move |conn| sign_in::look_up(conn, &username, &a, device, today))
        .await?;
    let a = addr.clone();
    let (attempt, wait) = state
        .db_write(move |conn| {
            let wait = sign_in::reserve(conn, &mut attempt, &a, channel, now)?;
            Ok((attempt, wait))
        })
        .await?;
    if let Some(wait_secs) = wait {
        state.metrics.sign_in(channel, "throttled");
        return Ok(Outcome::Throttled { wait_secs });
    }
    let (attempt, checked) = web::block(move || {
        let checked = attempt.check(&password);
        (attempt, checked)
    })
    .await?;
    let checked = match checked {
        Ok(checked) => checked,
        Err(busy) => {
            // nothing was checked: the attempt does not count
            state
                .db_write(move |conn| Ok(sign_in::withdraw(conn, &attempt)?))
                .await?;
            return Err(busy.into());
        }
    };
    let passwords_allowed = state.config.sign_in.staff_passwords;
    let outcome = state
        .db_write(move |conn| {
            sign_in::record(conn, &attempt, checked, &addr, (channel, passwords_allowed))
        })
        .await?;
    state.metrics.sign_in(
        channel,
        match outcome {
            Outcome::SignedIn { .. } => "ok",
            Outcome::Throttled { .. } => "throttled",
            Outcome::Refused | Outcome::PasswordsOff => "failed",
        },
    );
    Ok(outcome)
}

/// A new password's hash, computed on the blocking pool (503 when too many are under way).
pub async fn hash_new_password(password: String) -> AppResult<String> {
    Ok(web::block(move || crate::auth::password::hash(&password)).await??)
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
    viewer: MaybeViewer,
) -> HttpResponse {
    let next = safe_next(query.next.as_deref());
    if viewer.0.is_some() {
        return see_other(&next);
    }
    html_with_status(
        StatusCode::OK,
        login_form(&PageCtx::new(&req), Ways::of(&state), &next, "", None),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let ctx = PageCtx::new(&req);
    let next = safe_next(form.next.as_deref());
    if form.username.trim().is_empty() || form.password.is_empty() {
        let note = message(
            "errors",
            ctx.t(
                "Fyll i både användarnamn och lösenord.",
                "Enter both your username and your password.",
            ),
        );
        return Ok(html_with_status(
            StatusCode::BAD_REQUEST,
            login_form(&ctx, Ways::of(&state), &next, &form.username, Some(note)),
        ));
    }
    let outcome =
        password_attempt(&req, &state, form.username.clone(), form.password, "web").await?;
    match outcome {
        Outcome::SignedIn { person, version } => {
            start_session(&req, &state, (person, version), &next).await
        }
        Outcome::Refused => {
            let note = message(
                "errors",
                ctx.t(
                    "Fel användarnamn eller lösenord.",
                    "Wrong username or password.",
                ),
            );
            Ok(html_with_status(
                StatusCode::UNAUTHORIZED,
                login_form(&ctx, Ways::of(&state), &next, &form.username, Some(note)),
            ))
        }
        Outcome::Throttled { wait_secs } => Err(AppError::TooManyRequests {
            retry_after_secs: wait_secs,
        }),
        Outcome::PasswordsOff => {
            let note = message(
                "errors",
                ctx.t(
                    "Personal loggar in med kommunens konto här, inte med lösenord.",
                    "Staff sign in with the municipality's account here, not with a password.",
                ),
            );
            Ok(html_with_status(
                StatusCode::FORBIDDEN,
                login_form(&ctx, Ways::of(&state), &next, &form.username, Some(note)),
            ))
        }
    }
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: MaybeViewer,
) -> AppResult<HttpResponse> {
    if let Some(v) = viewer.0 {
        let addr = client_addr(&req);
        state
            .db_write(move |conn| sign_in::sign_out(conn, v.id, &addr))
            .await?;
    }
    // what the device kept for the roll call without a network goes too (static/sw.js)
    let mut res = match super::idp_session::end_session_location(&req, &state).await {
        // signed in through a provider: on to its sign-out (a page, since the form may
        // only post to Närvaro itself: CSP form-action)
        Some(url) => {
            // the person is signed out: the page names nobody and offers no sign-out
            let ctx = PageCtx {
                signed_in: None,
                ..PageCtx::new(&req)
            };
            super::idp_session::on_to_provider(&ctx, &url)
        }
        None => see_other("/login"),
    };
    for cookie in [
        cleared_session_cookie(secure(&state)),
        super::idp_session::spent_provider_cookie(),
    ] {
        res.add_cookie(&cookie).map_err(AppError::caused)?;
    }
    res.headers_mut().insert(
        header::HeaderName::from_static("clear-site-data"),
        header::HeaderValue::from_static("\"cache\", \"storage\""),
    );
    Ok(res)
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

fn link_sent_page(ctx: &PageCtx, email: &str) -> Markup {
    let title = ctx.t("Kolla din e-post", "Check your e-mail");
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            p role="status" { (ctx.tf(
                "Om adressen finns hos skolan har vi skickat en länk till {address}.",
                "If the school has this address, we have sent a link to {address}.",
                &[("address", email)],
            )) " " (ctx.t(
                "Länken gäller i 15 minuter. Hittar du den inte, titta i skräpposten.",
                "The link works for 15 minutes. If you cannot find it, look in your spam folder."
            )) }
            p { a href="/login" { (ctx.t("Tillbaka till inloggningen", "Back to signing in")) } }
        },
    )
}

async fn handle_link_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: EmailForm,
    purpose: Purpose,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let Some(email) = crate::mail::Email::parse(&form.email).map(|e| e.to_string()) else {
        return Err(AppError::invalid(
            Code::BadEmail,
            ctx.t(
                "Skriv en hel e-postadress, till exempel namn@example.com.",
                "Enter a whole e-mail address, for example name@example.com.",
            ),
        ));
    };
    let addr = client_addr(&req);
    let now = crate::school::clock::system_now();
    let asked = email.clone();
    let due = state.now();
    let result = state
        .db_write(move |conn| crate::notices::request_links(conn, &asked, purpose, &addr, now, due))
        .await?;
    match result {
        LinkRequest::Throttled { wait_secs } => Err(AppError::TooManyRequests {
            retry_after_secs: wait_secs,
        }),
        LinkRequest::Queued => {
            // the outbox worker sends it within seconds; this request never talks to SMTP
            state.wake_outbox();
            Ok(html_with_status(
                StatusCode::OK,
                link_sent_page(&ctx, &email),
            ))
        }
    }
}

pub async fn request_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<EmailForm>,
) -> AppResult<HttpResponse> {
    if !state.config.sign_in.guardian_links {
        // NARVARO_GUARDIAN_LINKS=off: guardians and pupils sign in with BankID
        let ctx = PageCtx::new(&req);
        let note = message(
            "errors",
            ctx.t(
                "Inloggning med e-postlänk används inte här. Logga in med BankID.",
                "Sign-in links by e-mail are not used here. Sign in with BankID.",
            ),
        );
        return Ok(html_with_status(
            StatusCode::FORBIDDEN,
            login_form(&ctx, Ways::of(&state), "/", "", Some(note)),
        ));
    }
    handle_link_request(req, state, form.into_inner(), Purpose::SignIn).await
}

pub async fn request_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<EmailForm>,
) -> AppResult<HttpResponse> {
    handle_link_request(req, state, form.into_inner(), Purpose::Reset).await
}

pub async fn forgot_page(req: HttpRequest) -> HttpResponse {
    let ctx = PageCtx::new(&req);
    let title = ctx.t("Nytt lösenord", "New password");
    html_with_status(
        StatusCode::OK,
        layout::page(
            &ctx,
            title,
            html! {
                h1 { (title) }
                p { (ctx.t(
                    "Skriv e-postadressen som hör till ditt personalkonto, så skickar vi en länk där du väljer ett nytt lösenord.",
                    "Enter the e-mail address of your staff account and we will send a link where you choose a new password."
                )) }
                form method="post" action="/password/forgot" {
                    (ctx.csrf_field())
                    label for="email" { (ctx.t("E-postadress", "E-mail address")) }
                    input #email name="email" type="email" autocomplete="email" required;
                    p { button type="submit" { (ctx.t("Skicka länk", "Send link")) } }
                }
            },
        ),
    )
}

/// The page for a link that is unknown, used or expired.
fn dead_link(ctx: &PageCtx) -> HttpResponse {
    let title = ctx.t("Länken fungerar inte längre", "The link no longer works");
    html_with_status(
        StatusCode::NOT_FOUND,
        layout::page(
            ctx,
            title,
            html! {
                h1 { (title) }
                p { (ctx.t(
                    "Länken är redan använd, har gått ut eller är felstavad. Be om en ny länk.",
                    "The link has already been used, has expired, or is mistyped. Ask for a new one."
                )) }
                p { a href="/login" { (ctx.t("Till inloggningen", "Go to signing in")) } }
            },
        ),
    )
}

/// Opening a sign-in link shows a button; only pressing it signs in, so a mail scanner
/// that follows links does not spend them.
pub async fn link_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let token = token.into_inner();
    let now = crate::school::clock::system_now();
    let t = token.clone();
    let person = state
        .db(move |conn| sign_in::link_holder(conn, &t, now))
        .await?;
    let Some(given_name) = person else {
        return Ok(dead_link(&ctx));
    };
    let title = ctx.t("Logga in", "Sign in");
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(
            &ctx,
            title,
            html! {
                h1 { (title) }
                p { (ctx.tf("Välkommen, {name}.", "Welcome, {name}.", &[("name", &given_name)])) }
                form method="post" action={"/login/link/" (token)} {
                    (ctx.csrf_field())
                    button type="submit" { (ctx.t("Logga in i Närvaro", "Sign in to Närvaro")) }
                }
            },
        ),
    ))
}

pub async fn use_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let token = token.into_inner();
    let addr = client_addr(&req);
    let now = crate::school::clock::system_now();
    let signed_in = state
        .db_write(move |conn| sign_in::use_link(conn, &token, &addr, now))
        .await?;
    let outcome = if signed_in.is_some() { "ok" } else { "failed" };
    state.metrics.sign_in("link", outcome);
    match signed_in {
        Some((id, version)) => start_session(&req, &state, (id, version), "/").await,
        None => Ok(dead_link(&ctx)),
    }
}

fn new_password_form(ctx: &PageCtx, token: &str, username: &str, note: Option<Markup>) -> Markup {
    let title = ctx.t("Välj lösenord", "Choose a password");
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(note) = note { (note) }
            p { (ctx.tf("Ditt användarnamn är {username}.", "Your username is {username}.", &[("username", username)])) }
            form method="post" action={"/password/new/" (token)} {
                (ctx.csrf_field())
                input type="text" name="username" value=(username) autocomplete="username" hidden;
                label for="password" { (ctx.t("Nytt lösenord (minst 10 tecken)", "New password (at least 10 characters)")) }
                input #password name="password" type="password" autocomplete="new-password" minlength="10" required;
                label for="confirm" { (ctx.t("Samma lösenord en gång till", "The same password again")) }
                input #confirm name="confirm" type="password" autocomplete="new-password" minlength="10" required;
                p { button type="submit" { (ctx.t("Spara och logga in", "Save and sign in")) } }
            }
        },
    )
}

pub async fn new_password_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let token = token.into_inner();
    let now = crate::school::clock::system_now();
    let t = token.clone();
    match state
        .db(move |conn| sign_in::password_link(conn, &t, now))
        .await?
    {
        Some((_, _, username)) => Ok(html_with_status(
            StatusCode::OK,
            new_password_form(&ctx, &token, &username, None),
        )),
        None => Ok(dead_link(&ctx)),
    }
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    password: String,
    confirm: String,
}

pub async fn set_new_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<NewPasswordForm>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let token = token.into_inner();
    let form = form.into_inner();
    let now = crate::school::clock::system_now();
    let t = token.clone();
    let Some((_, _, username)) = state
        .db(move |conn| sign_in::password_link(conn, &t, now))
        .await?
    else {
        return Ok(dead_link(&ctx));
    };
    if let Err((sv, en)) =
        sign_in::check_new_password(&form.password, &form.confirm, Some(&username))
    {
        let note = message("errors", ctx.t(sv, en));
        return Ok(html_with_status(
            StatusCode::BAD_REQUEST,
            new_password_form(&ctx, &token, &username, Some(note)),
        ));
    }
    let addr = client_addr(&req);
    let hash = hash_new_password(form.password).await?;
    let done = state
        .db_write(move |conn| sign_in::set_password_by_link(conn, &token, &hash, &addr, now))
        .await?;
    match done {
        Some((id, version)) => start_session(&req, &state, (id, version), "/").await,
        None => Ok(dead_link(&ctx)),
    }
}
