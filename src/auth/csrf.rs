//! CSRF protection for every state-changing HTML request, in one middleware, so a new form
//! cannot forget it. A random nonce lives in an HttpOnly cookie; forms carry
//! `_csrf` = MAC(secret, nonce) (the signed double-submit pattern), and a request with a
//! foreign `Origin` is refused as well. The API is exempt: it takes bearer tokens only,
//! never the cookie, so a cross-site request carries no credentials there.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use super::secret;
use crate::auth::Sessions;
use crate::error::AppError;
use crate::ops::request_log::route_of;

pub const COOKIE: &str = "narvaro_csrf";
pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

/// This request's nonce, and whether it is new (then the response sets the cookie).
#[derive(Clone)]
struct Nonce {
    value: String,
    fresh: bool,
}

fn valid_nonce(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The token a form on this page must carry.
pub fn token(req: &HttpRequest) -> String {
    let nonce = req.extensions().get::<Nonce>().map(|n| n.value.clone());
    let secret = req
        .app_data::<web::Data<Sessions>>()
        .map(|s| s.secret.clone());
    match (nonce, secret) {
        (Some(n), Some(s)) => secret::mac(&s, "csrf", &n),
        _ => String::new(),
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn forbidden() -> AppError {
    AppError::Forbidden(crate::error::Refusal::new("form_not_verified").into())
}

/// The `Origin` header, when present, must be this site.
fn origin_ok(req: &ServiceRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = req.connection_info().host().to_string();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(&host))
}

pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    // the API takes bearer tokens, not cookies; its reference page /api/docs is a page
    // (the OAuth token endpoint too: clients authenticate with their secret)
    let api = (path.starts_with("/api/") && path != "/api/docs") || path == "/oauth/token";
    // the SMS gateway's delivery reports carry no cookie: their address is signed instead
    let exempt = api
        || path.starts_with("/static/")
        || path == "/healthz"
        || path.starts_with("/sms/reports/");
    if exempt {
        return next.call(req).await.map(|r| r.map_into_left_body());
    }
    let cookie = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| valid_nonce(v));
    let nonce = match &cookie {
        Some(v) => Nonce {
            value: v.clone(),
            fresh: false,
        },
        None => Nonce {
            value: secret::random_hex(16).map_err(actix_web::error::ErrorInternalServerError)?,
            fresh: true,
        },
    };
    req.extensions_mut().insert(nonce.clone());

    if !is_safe(req.method()) {
        let secret = req
            .app_data::<web::Data<Sessions>>()
            .map(|s| s.secret.clone())
            .unwrap_or_default();
        let sent = sent_token(&mut req).await;
        let ok = match (&cookie, sent) {
            (Some(n), Ok(Some(sent))) => {
                origin_ok(&req) && secret::constant_time_eq(&sent, &secret::mac(&secret, "csrf", n))
            }
            (_, Err(e)) => return Ok(req.error_response(e).map_into_right_body()),
            _ => false,
        };
        if !ok {
            tracing::warn!(route = %route_of(req.request()), "CSRF check failed");
            return Ok(req.error_response(forbidden()).map_into_right_body());
        }
    }

    let mut res = next.call(req).await?;
    if nonce.fresh {
        let secure = res
            .request()
            .app_data::<web::Data<Sessions>>()
            .is_some_and(|s| s.secure_cookies);
        let cookie = Cookie::build(COOKIE, nonce.value)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        res.response_mut()
            .add_cookie(&cookie)
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    Ok(res.map_into_left_body())
}

/// The token a request carries: the `X-CSRF-Token` header, or the `_csrf` field of a
/// url-encoded form (the body is read here and handed on unchanged).
async fn sent_token(req: &mut ServiceRequest) -> Result<Option<String>, actix_web::Error> {
    if let Some(h) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return Ok(Some(h.to_string()));
    }
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Ok(None);
    }
    let body = req.extract::<web::Bytes>().await?;
    let found = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
    req.set_payload(actix_web::dev::Payload::from(body));
    Ok(found)
}
