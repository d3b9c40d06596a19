//! Starting a session: after a password or an e-mailed link, the second step when the
//! person has (or must have) a second factor, carried by a signed cookie for five minutes;
//! then the session's cookies. A sign-in through the identity provider starts its session
//! at once ([`open_session`]): the provider did its own multi-factor authentication.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::common::client_addr;
use crate::auth::second_factor;
use crate::auth::secret;
use crate::auth::session::{self, Audience};
use crate::auth::viewer::session_cookie;
use crate::error::{AppError, AppResult};
use crate::school::ids::PersonId;
use crate::state::AppState;

pub(super) fn secure(state: &AppState) -> bool {
    state.config.base_url.starts_with("https://")
}

/// Signs the person in on this browser and goes on to `next`, unless the sign-in needs a
/// second step (a code from their authenticator app, or enrolling one where their role
/// requires it): then on to that step first. A password or an e-mailed link comes here;
/// a sign-in through the identity provider goes straight to [`open_session`] (the provider
/// does its own multi-factor authentication).
pub(super) async fn start_session(
    req: &HttpRequest,
    state: &AppState,
    who: (PersonId, i32),
    next: &str,
) -> AppResult<HttpResponse> {
    let person = who.0;
    let (today, roles) = (
        state.today(),
        state.config.sign_in.second_factor_for.clone(),
    );
    let step = state
        .db(move |conn| Ok(second_factor::needed(conn, person, today, &roles)?))
        .await?;
    if step != second_factor::SecondStep::None {
        return Ok(ask(state, who, next));
    }
    open_session(req, state, who, next).await
}

/// Signs the person in on this browser, every step done, and goes on to `next`.
pub(super) async fn open_session(
    req: &HttpRequest,
    state: &AppState,
    who: (PersonId, i32),
    next: &str,
) -> AppResult<HttpResponse> {
    let mut res = HttpResponse::SeeOther();
    for cookie in session_cookies(req, state, who).await? {
        res.cookie(cookie);
    }
    res.insert_header((header::LOCATION, next))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(res.finish())
}

/// The cookies of a new session. A language chosen on this browser before signing in
/// becomes the person's (their e-mails are written in it); without one, the person's
/// stored language is this browser's from now on.
pub(super) async fn session_cookies(
    req: &HttpRequest,
    state: &AppState,
    (person, version): (PersonId, i32),
) -> AppResult<Vec<actix_web::cookie::Cookie<'static>>> {
    let (token, _) = session::issue(&state.jwt_secret, Audience::Web, person, version, None)
        .map_err(AppError::caused)?;
    let chosen = req
        .cookie(crate::i18n::LANG_COOKIE)
        .and_then(|c| crate::i18n::Lang::parse(c.value()));
    let (addr, now) = (client_addr(req), state.now());
    // a write only when there is a choice to keep; otherwise a read
    let stored = match chosen {
        Some(l) => {
            state
                .db_write(move |conn| {
                    crate::auth::account::set_language(conn, person, l.code(), (&addr, now))
                })
                .await?;
            None
        }
        None => {
            state
                .db(move |conn| crate::auth::account::language(conn, person))
                .await?
        }
    };
    let mut cookies = vec![
        session_cookie(token, secure(state)),
        device_cookie(state, person),
    ];
    if let Some(lang) = stored.and_then(|l| crate::i18n::Lang::parse(&l)) {
        cookies.push(super::pages::language_cookie(lang));
    }
    Ok(cookies)
}

/// The cookie that remembers a device where a person signed in with a password (a year):
/// their attempts from it are not held back by the limit per client address.
pub const DEVICE_COOKIE: &str = "narvaro_device";

fn device_value(state: &AppState, person: PersonId) -> String {
    let sig = crate::auth::secret::mac(&state.jwt_secret, "device", &person.to_string());
    format!("{person}.{sig}")
}

fn device_cookie(state: &AppState, person: PersonId) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(DEVICE_COOKIE, device_value(state, person))
        .path("/login")
        .http_only(true)
        .secure(secure(state))
        .same_site(actix_web::cookie::SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The person a request's device cookie proves an earlier sign-in of, if any.
pub(super) fn trusted_device(req: &HttpRequest, state: &AppState) -> Option<PersonId> {
    let cookie = req.cookie(DEVICE_COOKIE)?;
    let (person, _) = cookie.value().split_once('.')?;
    let person: PersonId = person.parse().ok()?;
    crate::auth::secret::constant_time_eq(cookie.value(), &device_value(state, person))
        .then_some(person)
}

/// The cookie that carries a sign-in between its password and its second step.
pub const PENDING_COOKIE: &str = "narvaro_second_step";
/// How long the second step may take.
const PENDING_SECS: i64 = 300;
pub(super) const PATH: &str = "/login/second-factor";

fn pending_value(state: &AppState, (person, version): (PersonId, i32), until: i64) -> String {
    let body = format!("{person}.{version}.{until}");
    let sig = secret::mac(&state.jwt_secret, "second-step", &body);
    format!("{body}.{sig}")
}

/// The person (and token version) whose password this browser gave in the last five
/// minutes, from the signed cookie.
pub(super) fn pending(req: &HttpRequest, state: &AppState) -> Option<(PersonId, i32)> {
    let cookie = req.cookie(PENDING_COOKIE)?;
    let mut parts = cookie.value().split('.');
    let person: PersonId = parts.next()?.parse().ok()?;
    let version: i32 = parts.next()?.parse().ok()?;
    let until: i64 = parts.next()?.parse().ok()?;
    let now = crate::school::clock::system_now().and_utc().timestamp();
    (now <= until
        && secret::constant_time_eq(
            cookie.value(),
            &pending_value(state, (person, version), until),
        ))
    .then_some((person, version))
}

pub(super) fn pending_cookie(state: &AppState, value: String, max_age: i64) -> Cookie<'static> {
    Cookie::build(PENDING_COOKIE, value)
        .path(PATH)
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age))
        .finish()
}

/// On to the second step after the password (or a link): the signed cookie, and the page.
pub(super) fn ask(state: &AppState, who: (PersonId, i32), next: &str) -> HttpResponse {
    let until = crate::school::clock::system_now().and_utc().timestamp() + PENDING_SECS;
    let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    HttpResponse::SeeOther()
        .cookie(pending_cookie(
            state,
            pending_value(state, who, until),
            PENDING_SECS,
        ))
        .insert_header((header::LOCATION, format!("{PATH}?{q}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
