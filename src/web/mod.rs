//! HTTP routes: the HTML pages and the JSON API, each area in its own module.

mod absence;
mod account;
mod admin;
mod api;
pub mod api_docs;
pub mod layout;
mod notices;
mod pages;
mod pupils;
mod roll_call;
mod sign_in;
mod ss12000;
mod statistics;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::AppError;
use crate::startup::AppState;

/// Declares every route once: registers it, and lists it in `ROUTES` so that the
/// access-matrix test fails when a route is added without an entry.
macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every route of the application as (method, path pattern).
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
            cfg.default_service(web::to(not_found));
        }
    };
}

routes! {
    get "/healthz" => healthz,
    get "/static/app.css" => stylesheet,
    get "/static/roll-call.js" => roll_call_script,
    get "/" => pages::home,
    get "/accessibility" => pages::accessibility,
    post "/lang" => pages::set_language,
    // signing in and out
    get "/login" => sign_in::login_page,
    post "/login" => sign_in::login,
    post "/logout" => sign_in::logout,
    post "/login/link" => sign_in::request_link,
    get "/login/link/{token}" => sign_in::link_page,
    post "/login/link/{token}" => sign_in::use_link,
    get "/password/forgot" => sign_in::forgot_page,
    post "/password/forgot" => sign_in::request_reset,
    get "/password/new/{token}" => sign_in::new_password_page,
    post "/password/new/{token}" => sign_in::set_new_password,
    get "/account" => account::page,
    post "/account/password" => account::change_password,
    post "/account/settings" => account::save_settings,
    // people
    get "/pupils/{id}" => pupils::page,
    // absence reports and leave
    get "/pupils/{id}/report" => absence::report_page,
    post "/pupils/{id}/absence-reports" => absence::create_report,
    post "/absence-reports/{id}/cancel" => absence::cancel_report,
    get "/pupils/{id}/leave" => absence::leave_page,
    post "/pupils/{id}/leave-applications" => absence::apply_leave,
    post "/leave-applications/{id}/recommendation" => absence::recommend,
    post "/leave-applications/{id}/decision" => absence::decide,
    get "/leave" => absence::pending_leave,
    // notices
    get "/notices" => notices::day,
    get "/notices/{id}/seen" => notices::seen_page,
    post "/notices/{id}/seen" => notices::confirm,
    // the roll call
    get "/lessons/{id}" => roll_call::page,
    post "/lessons/{id}" => roll_call::submit,
    get "/mentor" => roll_call::mentor,
    // statistics
    get "/statistics" => statistics::dashboard,
    get "/statistics/pupils" => statistics::over_threshold,
    get "/statistics/pupils/{id}" => statistics::pupil,
    get "/statistics/groups/{id}" => statistics::group,
    get "/statistics/unreported" => statistics::unreported,
    get "/statistics/csn" => statistics::csn,
    // administration
    get "/admin" => admin::page,
    post "/admin/staff" => admin::invite_staff,
    post "/admin/guardianships" => admin::connect_guardian,
    post "/admin/duties" => admin::assign_duty,
    // the JSON API and its contract
    get "/api/docs" => api_docs::page,
    get "/api/v1/openapi.yaml" => api_docs::openapi_yaml,
    post "/api/v1/auth/token" => api::token,
    post "/api/v1/auth/sign-out" => api::sign_out,
    get "/api/v1/me" => api::me,
    get "/api/v1/pupils/{id}" => api::pupil,
    get "/api/v1/pupils/{id}/absences" => api::pupil_absences,
    post "/api/v1/absence-reports" => api::create_absence_report,
    delete "/api/v1/absence-reports/{id}" => api::cancel_absence_report,
    post "/api/v1/leave-applications" => api::create_leave_application,
    post "/api/v1/leave-applications/{id}/recommendation" => api::recommend_leave,
    post "/api/v1/leave-applications/{id}/decision" => api::decide_leave,
    get "/api/v1/lessons" => api::lessons,
    get "/api/v1/lessons/{id}" => api::lesson,
    get "/api/v1/lessons/{id}/roll-call" => api::roll_call,
    put "/api/v1/lessons/{id}/roll-call" => api::submit_roll_call,
    get "/api/v1/statistics/absence" => api::statistics_absence,
    get "/api/v1/statistics/aggregated-attendance" => api::aggregated_attendance,
    // the SS 12000 export
    get "/api/ss12000/v2/attendances" => ss12000::attendances,
    get "/api/ss12000/v2/absences" => ss12000::absences,
    get "/api/ss12000/v2/aggregatedAttendance" => ss12000::aggregated_attendance,
}

/// The client's address, for rate limits and the audit log. Behind a load balancer named
/// in NARVARO_TRUSTED_PROXIES, the nearest untrusted address in X-Forwarded-For.
pub fn client_addr(req: &actix_web::HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.trusted_proxies.clone())
        .unwrap_or_default();
    forwarded_client(
        peer,
        &trusted,
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok()),
    )
    .to_string()
}

fn forwarded_client(
    peer: std::net::IpAddr,
    trusted: &[std::net::IpAddr],
    forwarded: Option<&str>,
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded.unwrap_or("").rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// 303 See Other: where a form goes after it succeeded.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// 200 when the database answers a query, 503 when it does not.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.backend.name();
    let pool = state.pool.clone();
    let probe = web::block(move || -> Result<(), String> {
        let mut conn = pool
            .get_timeout(std::time::Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        crate::on_backend!(&mut *conn, c => {
            use diesel::connection::SimpleConnection;
            c.batch_execute("SELECT 1").map_err(|e| e.to_string())
        })
    })
    .await;
    let cause = match probe {
        Ok(Ok(())) => {
            return HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({"status": "ok", "database": database}))
        }
        Ok(Err(e)) => e,
        Err(e) => e.to_string(),
    };
    tracing::warn!(%cause, "health check: database did not answer");
    HttpResponse::ServiceUnavailable()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"status": "unavailable", "database": database}))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(include_str!("../../static/app.css"))
}

async fn roll_call_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(include_str!("../../static/roll-call.js"))
}

/// The route a request matched, as its pattern (`/login/link/{token}`): what the log
/// names instead of the path, which may carry a secret (sign-in links, invitations,
/// password resets). A path no route matches is not logged at all: it may be a mistyped
/// link.
pub fn route_of(req: &actix_web::HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "(no route)".to_string())
}

/// Middleware: one log line per request, naming the route pattern, never the path or the
/// query string (they may carry secrets).
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let route = route_of(req.request());
    let res = next.call(req).await;
    let micros = start.elapsed().as_micros() as u64;
    match &res {
        Ok(r) => tracing::info!(%method, %route, status = r.status().as_u16(), micros, "request"),
        Err(e) => tracing::warn!(%method, %route, error = %e, micros, "request failed"),
    }
    res
}

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
        "control_character",
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

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    #[test]
    fn only_trusted_proxies_may_name_the_client() {
        let lb = "10.0.0.5".parse().unwrap();
        let client = "198.51.100.7".parse().unwrap();
        let spoofed = Some("1.2.3.4, 198.51.100.7");
        assert_eq!(
            forwarded_client(client, &[lb], Some("1.2.3.4")),
            client,
            "untrusted peer"
        );
        assert_eq!(
            forwarded_client(lb, &[lb], spoofed),
            client,
            "the hop the balancer added"
        );
        assert_eq!(forwarded_client(lb, &[lb], None), lb);
        assert_eq!(forwarded_client(lb, &[lb], Some("garbage")), lb);
    }
}
