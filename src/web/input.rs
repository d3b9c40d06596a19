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

fn form_has_control_character(bytes: &[u8]) -> bool {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).is_ok_and(|pairs| {
        pairs
            .iter()
            .any(|(k, v)| has_control_character(k) || has_control_character(v))
    })
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
    if !query.is_empty() && form_has_control_character(query.as_bytes()) {
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
        let bad = if json {
            serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|v| json_has_control_character(&v))
        } else {
            form_has_control_character(&body)
        };
        if bad {
            return refuse(req);
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    Ok(next.call(req).await?.map_into_left_body())
}
