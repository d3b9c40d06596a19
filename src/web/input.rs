//! Free text that cannot be stored: a control character (other than tab and line breaks)
//! in a form, a JSON body or the query string is refused before any handler sees it.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{body::MessageBody, web};

use crate::error::{AppError, Code};

/// Whether a text holds a control character other than tab, line feed and carriage
/// return (a browser sends a textarea's line breaks as CR LF).
pub fn has_control_character(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn json_has_control_character(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => has_control_character(s),
        serde_json::Value::Array(items) => items.iter().any(json_has_control_character),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| has_control_character(k) || json_has_control_character(v)),
        _ => false,
    }
}

/// Whether a form (or a query string) holds a control character; Err when it cannot be
/// read as one.
fn form_has_control_character(bytes: &[u8]) -> Result<bool, ()> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .map(|pairs| {
            pairs
                .iter()
                .any(|(k, v)| has_control_character(k) || has_control_character(v))
        })
        .map_err(|_| ())
}

/// Whether a body could carry a refused control character: as a raw byte (a C0 control
/// other than tab and line breaks, DEL, or a C1 control in UTF-8), as a JSON escape
/// (`\u…`, `\b`, `\f`), or percent-encoded in a form. A body without any of these is let
/// through without being parsed twice.
fn may_hold_control_character(body: &[u8], json: bool) -> bool {
    let raw = body
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
        || body
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]));
    let encoded = if json {
        body.windows(2)
            .any(|w| w[0] == b'\\' && matches!(w[1], b'u' | b'b' | b'f'))
    } else {
        body.contains(&b'%')
    };
    raw || encoded
}

fn control_character_error(lang: crate::i18n::Lang) -> AppError {
    AppError::invalid(
        Code::ControlCharacter,
        lang.pick(
            "Texten innehåller ett osynligt styrtecken (till exempel ett NUL-tecken) som inte kan sparas. Ta bort det och försök igen.",
            "The text contains an invisible control character (a NUL byte, for example) that cannot be stored. Remove it and try again.",
        ),
    )
}

fn unreadable_error(lang: crate::i18n::Lang, json: bool) -> AppError {
    AppError::invalid(
        Code::BadRequest,
        if json {
            lang.pick("Innehållet är inte JSON som kan läsas (till exempel ett tal utanför gränserna, ett ensamt surrogattecken eller för djup nästling).",
            "The body is not JSON that can be read (a number out of range, a lone surrogate or nesting too deep, for example).")
        } else {
            lang.pick(
                "Formuläret kan inte läsas. Ladda om sidan och försök igen.",
                "The form cannot be read. Reload the page and try again.",
            )
        },
    )
}

/// Middleware: free text with a control character (other than tab and line breaks) in a
/// form, a JSON body or the query string is refused with one clear 400 on both databases,
/// before any handler sees it (PostgreSQL cannot store a NUL byte; SQLite would).
pub async fn refuse_control_characters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let lang = crate::i18n::Lang::from_request(req.request());
    let refuse = |req: ServiceRequest| {
        let (http, _) = req.into_parts();
        Ok(ServiceResponse::from_err(control_character_error(lang), http).map_into_right_body())
    };
    let query = req.query_string();
    if may_hold_control_character(query.as_bytes(), false)
        && form_has_control_character(query.as_bytes()) != Ok(false)
    {
        return refuse(req);
    }
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let json = content_type.contains("json");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    if json || form {
        // within the payload limit; a larger body gets its 413 here, as it would later
        let body = match req.extract::<web::Bytes>().await {
            Ok(body) => body,
            Err(e) => {
                let (http, _) = req.into_parts();
                return Ok(ServiceResponse::from_err(e, http).map_into_right_body());
            }
        };
        // most bodies cannot hold one at all: parse only those that might. One that might
        // and cannot be read whole here (a number such as 1e400, a lone surrogate, nesting
        // deeper than the parser goes) is refused too: a handler's own reader, which skips
        // what it does not need, must never be the only one to see its strings
        if may_hold_control_character(&body, json) {
            let verdict = if json {
                serde_json::from_slice::<serde_json::Value>(&body)
                    .map(|v| json_has_control_character(&v))
                    .map_err(|_| ())
            } else {
                form_has_control_character(&body)
            };
            match verdict {
                Ok(false) => {}
                Ok(true) => return refuse(req),
                Err(()) => {
                    let (http, _) = req.into_parts();
                    let e = unreadable_error(lang, json);
                    return Ok(ServiceResponse::from_err(e, http).map_into_right_body());
                }
            }
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::may_hold_control_character as may;

    #[test]
    fn only_bodies_that_could_hold_a_control_character_are_parsed() {
        assert!(!may(
            br#"{"marks":[{"pupil_id":1,"status":"absent"}]}"#,
            true
        ));
        assert!(!may(b"{\"message\":\"Feber\\nHemma\"}", true));
        assert!(may(b"{\"username\":\"a\\u0000b\"}", true));
        assert!(may(b"{\"m\":\"a\\bc\"}", true));
        assert!(may("{\"m\":\"a\u{85}\"}".as_bytes(), true));
        assert!(!may(b"username=demo.teacher&password=x", false));
        assert!(may(b"username=a%00b", false));
        assert!(may(b"a=\x01", false));
    }
}
