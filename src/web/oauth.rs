//! `POST /oauth/token`: the OAuth 2.0 token endpoint for API clients, client credentials
//! grant only (RFC 6749 §4.4). The client authenticates with HTTP Basic
//! (`client_secret_basic`, §2.3.1) or with `client_id` and `client_secret` in the body
//! (`client_secret_post`), never both; the body is `application/x-www-form-urlencoded`,
//! each parameter at most once. The answer is §5.1's (`access_token`, `token_type`,
//! `expires_in`, `scope`) or §5.2's error (`error`, `error_description`), never cached.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::common::client_addr;
use crate::auth::clients::{self, Refusal};
use crate::auth::session;
use crate::error::AppResult;
use crate::state::AppState;

/// Standard base64 (with or without padding), as HTTP Basic sends it.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

/// The credentials of an `Authorization: Basic` header: `None` without one, `Some(None)`
/// when it is malformed. Id and secret are form-encoded inside it (RFC 6749 §2.3.1).
fn basic(req: &HttpRequest) -> Option<Option<(String, String)>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let parsed = value.to_str().ok().and_then(|v| {
        let (scheme, rest) = v.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let text = String::from_utf8(base64_decode(rest.trim())?).ok()?;
        let (id, secret) = text.split_once(':')?;
        let id: String = serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={id}"))
            .ok()?
            .pop()?
            .1;
        let secret: String =
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={secret}"))
                .ok()?
                .pop()?
                .1;
        Some((id, secret))
    });
    Some(parsed)
}

fn refuse(r: &Refusal) -> HttpResponse {
    let (status, error, description) = match r {
        Refusal::InvalidRequest(why) => (400, "invalid_request", (*why).to_string()),
        Refusal::InvalidClient => (
            401,
            "invalid_client",
            "The client id or secret is wrong, or the client is revoked.".to_string(),
        ),
        Refusal::UnsupportedGrantType => (
            400,
            "unsupported_grant_type",
            "Only grant_type=client_credentials is supported.".to_string(),
        ),
        Refusal::InvalidScope => (
            400,
            "invalid_scope",
            "The client does not hold every scope asked for.".to_string(),
        ),
        Refusal::SlowDown(secs) => (
            429,
            "invalid_request",
            format!("Too many failed attempts from this address; wait {secs} seconds."),
        ),
    };
    let mut res = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    );
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if status == 401 {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"narvaro\""));
    }
    if let Refusal::SlowDown(secs) = r {
        res.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    res.json(json!({"error": error, "error_description": description}))
}

/// The request's parameters, each at most once, from a form body.
fn form(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(Refusal::InvalidRequest(
            "The body is application/x-www-form-urlencoded.",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| Refusal::InvalidRequest("The body is not a form."))?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(p, _)| p == k) {
            return Err(Refusal::InvalidRequest(
                "A parameter is given more than once.",
            ));
        }
    }
    Ok(pairs)
}

/// POST /oauth/token
pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let pairs = match form(&req, &body) {
        Ok(p) => p,
        Err(r) => return Ok(refuse(&r)),
    };
    let get = |k: &str| pairs.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    match get("grant_type").as_deref() {
        None => return Ok(refuse(&Refusal::InvalidRequest("grant_type is required."))),
        Some("client_credentials") => {}
        Some(_) => return Ok(refuse(&Refusal::UnsupportedGrantType)),
    }
    let in_body = match (get("client_id"), get("client_secret")) {
        (Some(id), Some(secret)) => Some((id, secret)),
        (None, None) => None,
        _ => {
            return Ok(refuse(&Refusal::InvalidRequest(
                "client_id and client_secret go together.",
            )))
        }
    };
    let (id, secret) = match (basic(&req), in_body) {
        (Some(_), Some(_)) => {
            return Ok(refuse(&Refusal::InvalidRequest(
                "Authenticate one way: HTTP Basic or the body, not both.",
            )))
        }
        (Some(Some(creds)), None) | (None, Some(creds)) => creds,
        (Some(None), None) | (None, None) => return Ok(refuse(&Refusal::InvalidClient)),
    };
    // a NUL or another control character cannot be an id or a secret (the body's were
    // refused before; HTTP Basic's are decoded only here)
    if [&id, &secret]
        .iter()
        .any(|s| super::input::has_control_character(s))
    {
        return Ok(refuse(&Refusal::InvalidRequest(
            "The client credentials hold a control character.",
        )));
    }
    let scope = get("scope");
    // the failure limit's window runs on the system clock, whatever the school day's says
    let (addr, now, wall) = (
        client_addr(&req),
        state.now(),
        crate::school::clock::system_now(),
    );
    let outcome = state
        .db_write(move |conn| {
            clients::grant(conn, &id, &secret, scope.as_deref(), &addr, (now, wall))
        })
        .await?;
    let grant = match outcome {
        Ok(g) => g,
        Err(r) => return Ok(refuse(&r)),
    };
    let (token, _) = session::issue_client(&state.jwt_secret, grant.client.id, &grant.scope)
        .map_err(crate::error::AppError::caused)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": clients::TOKEN_SECS,
            "scope": grant.scope,
        })))
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64_reads_what_http_basic_sends() {
        assert_eq!(
            base64_decode("bnJ2X2FiYzpzM2NyZXQ=").as_deref(),
            Some(&b"nrv_abc:s3cret"[..])
        );
        assert_eq!(
            base64_decode("bnJ2X2FiYzpzM2NyZXQ").as_deref(),
            Some(&b"nrv_abc:s3cret"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64_decode("").as_deref(), Some(&b""[..]));
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("a*bc"), None);
    }
}
