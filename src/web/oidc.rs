//! Signing in through the municipality's identity provider (staff) or an identity broker
//! for BankID and Freja eID (guardians, adult pupils): the start, which sends the browser
//! to the provider, and the callback, which checks what comes back (src/auth/oidc.rs) and
//! starts a session or says, on a page of its own, why not.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::common::{client_addr, html_with_status};
use super::layout::{self, PageCtx};
use super::session_start::{open_session, secure};
use super::sign_in::safe_next;
use crate::auth::oidc::{self, Matched, Refusal, Which};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The cookie that binds a started sign-in to this browser: its state, for ten minutes.
const STATE_COOKIE: &str = "narvaro_oidc";

fn provider(state: &AppState, which: Which) -> AppResult<std::sync::Arc<oidc::Provider>> {
    match which {
        Which::Staff => state.oidc_staff.clone(),
        Which::Guardian => state.oidc_guardian.clone(),
    }
    .ok_or(AppError::NotFound)
}

fn redirect_uri(state: &AppState, which: Which) -> String {
    format!(
        "{}/login/oidc/{}/callback",
        state.config.base_url,
        which.as_str()
    )
}

fn state_cookie(value: String, secure: bool, which: Which) -> Cookie<'static> {
    Cookie::build(STATE_COOKIE, value)
        .path(format!("/login/oidc/{}", which.as_str()))
        .http_only(true)
        .secure(secure)
        // the provider sends the browser back with a top-level GET: Lax lets it through
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(
            oidc::ATTEMPT_MINUTES,
        ))
        .finish()
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /login/oidc/{which}`: to the provider, with a new state, nonce and PKCE challenge.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Which>,
    query: web::Query<StartQuery>,
) -> AppResult<HttpResponse> {
    let which = path.into_inner();
    let provider = provider(&state, which)?;
    let next = safe_next(query.next.as_deref());
    let started = match provider.start(&redirect_uri(&state, which)).await {
        Ok(s) => s,
        Err(r) => return refused(&req, &state, which, r).await,
    };
    let now = crate::school::clock::system_now();
    let (url, cookie_state) = (started.url.clone(), started.state.clone());
    state
        .db_write(move |conn| Ok(oidc::store_attempt(conn, which, &started, &next, now)?))
        .await?;
    Ok(HttpResponse::SeeOther()
        .cookie(state_cookie(cookie_state, secure(&state), which))
        .insert_header(("Location", url))
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /login/oidc/{which}/callback`: the provider's answer.
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Which>,
    query: web::Query<Callback>,
) -> AppResult<HttpResponse> {
    let which = path.into_inner();
    let provider = provider(&state, which)?;
    let q = query.into_inner();
    if let Some(error) = q.error {
        // the provider's error code only (RFC 6749 §4.1.2.1: a fixed set of words)
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_lowercase() || *c == '_')
            .take(40)
            .collect();
        return refused(&req, &state, which, Refusal::Provider(code)).await;
    }
    let (Some(code), Some(returned)) = (q.code, q.state) else {
        return refused(&req, &state, which, Refusal::State).await;
    };
    let ours = req.cookie(STATE_COOKIE).map(|c| c.value().to_string());
    if !ours.is_some_and(|o| crate::auth::secret::constant_time_eq(&o, &returned)) {
        return refused(&req, &state, which, Refusal::State).await;
    }
    let now = crate::school::clock::system_now();
    let attempt = state
        .db_write(move |conn| Ok(oidc::take_attempt(conn, which, &returned, now)?))
        .await?;
    let Some(attempt) = attempt else {
        return refused(&req, &state, which, Refusal::State).await;
    };
    let claims = match provider
        .finish(&redirect_uri(&state, which), code, &attempt)
        .await
    {
        Ok(c) => c,
        Err(r) => return refused(&req, &state, which, r).await,
    };
    let value = match oidc::claim_value(&claims, &provider.config.claim) {
        Ok(v) => v,
        Err(r) => return refused(&req, &state, which, r).await,
    };
    let today = state.today();
    let matched = match which {
        Which::Staff => {
            state
                .db(move |conn| Ok(oidc::match_staff(conn, &value, today)?))
                .await?
        }
        Which::Guardian => {
            let Some(hash) = state.civic_key().hash(&value) else {
                let r = Refusal::Claim(format!(
                    "the claim {} is not a civic number",
                    provider.config.claim
                ));
                return refused(&req, &state, which, r).await;
            };
            state
                .db(move |conn| Ok(oidc::match_civic(conn, &hash, today)?))
                .await?
        }
    };
    let (person, version) = match matched {
        Matched::One { person, version } => (person, version),
        Matched::Unknown => return refused(&req, &state, which, Refusal::Unknown).await,
        Matched::Many(n) => return refused(&req, &state, which, Refusal::Ambiguous(n)).await,
    };
    let addr = client_addr(&req);
    state
        .db_write(move |conn| Ok(oidc::record(conn, which, Ok(person), &addr)?))
        .await?;
    state.metrics.sign_in(which.channel(), "ok");
    // the provider did its own multi-factor authentication: no second step here
    let mut res = open_session(&req, &state, (person, version), &attempt.next).await?;
    let mut spent = state_cookie(String::new(), secure(&state), which);
    spent.make_removal();
    res.add_cookie(&spent).map_err(AppError::caused)?;
    let came_from = Cookie::build(super::idp_session::PROVIDER_COOKIE, which.as_str())
        .path("/")
        .http_only(true)
        .secure(secure(&state))
        .same_site(SameSite::Lax)
        .finish();
    res.add_cookie(&came_from).map_err(AppError::caused)?;
    Ok(res)
}

/// A sign-in that did not end in a session: audited, counted, and explained.
async fn refused(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    which: Which,
    refusal: Refusal,
) -> AppResult<HttpResponse> {
    tracing::warn!(provider = which.as_str(), outcome = refusal.code(), detail = %refusal.detail(), "sign-in through the identity provider refused");
    let addr = client_addr(req);
    let r = refusal.clone();
    state
        .db_write(move |conn| Ok(oidc::record(conn, which, Err(&r), &addr)?))
        .await?;
    state.metrics.sign_in(which.channel(), "failed");
    let ctx = PageCtx::new(req);
    let (status, text) = match (&refusal, which) {
        (Refusal::State, _) => (
            StatusCode::BAD_REQUEST,
            ctx.t(
                "Inloggningen kunde inte slutföras: svaret från inloggningstjänsten hör inte till en inloggning som pågår här (den kan vara för gammal eller redan använd). Börja om.",
                "The sign-in could not be completed: the answer from the sign-in service does not belong to a sign-in under way here (it may be too old or used already). Start again.",
            ),
        ),
        (Refusal::Provider(_), _) => (
            StatusCode::BAD_REQUEST,
            ctx.t(
                "Inloggningen avbröts hos inloggningstjänsten. Börja om om du vill logga in.",
                "The sign-in was stopped at the sign-in service. Start again if you want to sign in.",
            ),
        ),
        (Refusal::Unreachable(_), _) => (
            StatusCode::BAD_GATEWAY,
            ctx.t(
                "Inloggningstjänsten svarar inte som den ska just nu. Försök igen om en stund.",
                "The sign-in service is not answering as it should right now. Try again in a while.",
            ),
        ),
        (Refusal::Token(_), _) => (
            StatusCode::BAD_REQUEST,
            ctx.t(
                "Inloggningen kunde inte bekräftas: beviset från inloggningstjänsten höll inte. Börja om; om det händer igen, kontakta kommunens IT-support.",
                "The sign-in could not be confirmed: the proof from the sign-in service did not hold. Start again; if it happens again, contact the municipality's IT support.",
            ),
        ),
        (Refusal::Claim(_), _) => (
            StatusCode::BAD_REQUEST,
            ctx.t(
                "Inloggningstjänsten skickade inte det Närvaro behöver för att känna igen dig. Kontakta kommunens IT-support.",
                "The sign-in service did not send what Närvaro needs to recognise you. Contact the municipality's IT support.",
            ),
        ),
        (Refusal::Unknown, Which::Staff) => (
            StatusCode::FORBIDDEN,
            ctx.t(
                "Du är inloggad hos kommunen, men Närvaro känner inte igen ditt konto som personal på någon skola. Kontakta skolans expedition eller kommunens IT-support, så kopplas kontot.",
                "You are signed in at the municipality, but Närvaro does not know your account as staff at any school. Contact the school office or the municipality's IT support to have it linked.",
            ),
        ),
        (Refusal::Unknown, Which::Guardian) => (
            StatusCode::FORBIDDEN,
            ctx.t(
                "Du är identifierad, men Närvaro har ingen vårdnadshavare eller elev med ditt personnummer. Kontakta skolans expedition, så kontrollerar de uppgifterna i skolans register.",
                "You are identified, but Närvaro has no guardian or pupil with your personal identity number. Contact the school office to have the school's register checked.",
            ),
        ),
        (Refusal::Ambiguous(_), _) => (
            StatusCode::CONFLICT,
            ctx.t(
                "Flera personer i Närvaro har samma identitet som du, så ingen av dem kan loggas in. Kontakta skolans expedition eller kommunens IT-support.",
                "Several people in Närvaro have the same identity as you, so none of them can be signed in. Contact the school office or the municipality's IT support.",
            ),
        ),
    };
    let title = ctx.t("Inloggningen gick inte", "The sign-in did not work");
    let page = layout::page(
        &ctx,
        title,
        html! {
            h1 { (title) }
            p class="errors" role="alert" { (text) }
            p { a href={"/login/oidc/" (which.as_str())} { (ctx.t("Börja om", "Start again")) } }
            p { a href="/login" { (ctx.t("Till inloggningen", "To the sign-in page")) } }
        },
    );
    Ok(html_with_status(status, page))
}
