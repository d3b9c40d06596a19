//! HTTP routes: the HTML pages and the JSON API, each area in its own module.

mod absence;
mod absence_reasons;
mod access_log;
pub mod accessibility;
mod account;
mod admin;
mod admin_clients;
mod admin_find;
mod admin_sync;
mod api;
pub mod api_docs;
mod audit;
mod audit_words;
mod case_forms;
mod cases;
mod channels;
mod common;
mod day;
mod errors;
mod home_report;
mod huvudman;
mod idp_session;
mod input;
pub mod layout;
mod leave;
mod leave_guardians;
mod leave_rules;
mod login_page;
mod mentor;
mod notices;
mod oauth;
mod offline;
mod oidc;
mod pages;
mod pupils;
pub(crate) mod reads;
mod register_extract;
mod roll_call;
mod roll_call_form;
mod school_settings;
pub(crate) mod second_factor;
mod second_factor_account;
mod security_txt;
mod session_start;
mod sign_in;
mod signal_rules;
mod signals;
mod sms_reports;
mod ss12000;
mod statistics;
mod teacher_start;
mod term_report;
mod trips;
mod unreached;
pub mod words;

use actix_web::{web, HttpResponse};
use serde_json::json;

pub use errors::render_errors;
pub use input::refuse_control_characters;

use crate::error::AppError;
use crate::state::AppState;

/// Declares every route once: registers it, and lists it in `ROUTES` so that the
/// access-matrix test fails when a route is added without an entry.
macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every route of the application as (method, path pattern).
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
            // HEAD answers as GET does, without the body (actix-http leaves it out)
            $( if stringify!($method) == "get" {
                cfg.route($path, web::head().to($handler));
            } )*
            cfg.default_service(web::to(not_found));
        }
    };
}

routes! {
    // The roll call first: a path is tried against the routes in this order (each one
    // with a parameter by a regex), and these are the ones a school's morning asks for.
    // No route below has a path these patterns also match.
    get "/lessons/{id}" => roll_call::page,
    post "/lessons/{id}" => roll_call::submit,
    get "/api/v1/lessons/{id}/roll-call" => api::lessons::roll_call,
    put "/api/v1/lessons/{id}/roll-call" => api::lessons::submit_roll_call,
    get "/healthz" => healthz,
    get "/static/app.css" => stylesheet,
    get "/static/roll-call.js" => roll_call_script,
    get "/static/offline.js" => offline_script,
    get "/static/queue.js" => queue_script,
    get "/sw.js" => service_worker,
    get "/favicon.ico" => favicon,
    get "/.well-known/security.txt" => security_txt::security_txt,
    get "/" => pages::home,
    get "/accessibility" => accessibility::page,
    post "/lang" => pages::set_language,
    // signing in and out
    get "/login" => sign_in::login_page,
    post "/login" => sign_in::login,
    post "/logout" => sign_in::logout,
    post "/login/link" => sign_in::request_link,
    get "/login/oidc/{which}" => oidc::start,
    get "/login/oidc/{which}/callback" => oidc::callback,
    get "/login/link/{token}" => sign_in::link_page,
    post "/login/link/{token}" => sign_in::use_link,
    get "/password/forgot" => sign_in::forgot_page,
    post "/password/forgot" => sign_in::request_reset,
    get "/password/new/{token}" => sign_in::new_password_page,
    post "/password/new/{token}" => sign_in::set_new_password,
    get "/account" => account::page,
    post "/account/password" => account::change_password,
    post "/account/settings" => account::save_settings,
    post "/account/channels" => channels::save,
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
    get "/leave-applications/{id}/answer" => leave_guardians::answer_page,
    post "/leave-applications/{id}/answer" => leave_guardians::answer,
    post "/leave-applications/{id}/withdraw" => leave_guardians::withdraw,
    post "/leave-applications/{id}/by-phone" => leave_guardians::by_phone,
    get "/leave" => leave::pending_leave,
    // early signals of absence
    get "/signals" => signals::page,
    post "/signals/{id}/seen" => signals::seen,
    post "/signals/{id}/dismiss" => signals::dismiss,
    get "/admin/signals" => signal_rules::rules_page,
    post "/admin/signals" => signal_rules::add_rule,
    post "/admin/signals/{id}/active" => signal_rules::set_active,
    post "/admin/signals/deadline" => signal_rules::set_deadline,
    get "/schools/{id}/signals" => signal_rules::school_page,
    post "/schools/{id}/signals" => signal_rules::add_school_rule,
    post "/schools/{id}/signals/{rule}/active" => signal_rules::set_school_active,
    // absence investigations and the reports to the huvudman
    post "/signals/{id}/case" => cases::open_from_signal,
    post "/pupils/{id}/case" => cases::open_by_hand,
    get "/cases" => cases::list,
    get "/cases/{id}" => cases::page,
    post "/cases/{id}/decision" => case_forms::decide,
    post "/cases/{id}/participants" => case_forms::add_participant,
    post "/cases/{id}/steps" => case_forms::add_step,
    post "/cases/{id}/health-notes" => case_forms::add_health_note,
    post "/cases/{id}/conclusion" => case_forms::conclude,
    post "/cases/{id}/close" => case_forms::close,
    get "/cases/{id}/home-report" => home_report::page,
    post "/cases/{id}/home-report/sent" => home_report::sent,
    get "/huvudman/reports" => huvudman::inbox,
    post "/huvudman/reports/{id}" => huvudman::set_report_status,
    post "/huvudman/rounds" => huvudman::add_round,
    post "/cases/{id}/report-update" => case_forms::report_update,
    get "/huvudman/figures" => huvudman::figures,
    get "/huvudman/figures.csv" => huvudman::figures_csv,
    post "/leave-delegations" => leave::delegate,
    post "/leave-delegations/end" => leave::end_delegation,
    // notices
    get "/notices" => notices::day,
    get "/guardians/unreached" => unreached::list,
    // the SMS gateway's delivery reports (a signed address, no session)
    post "/sms/reports/{row}" => sms_reports::report,
    get "/notices/{id}/seen" => notices::seen_page,
    post "/notices/{id}/seen" => notices::confirm,
    // the school office's day: substitutes and cancelled lessons
    get "/schools/{id}/day" => day::page,
    post "/schools/{id}/day/substitute" => day::substitute,
    post "/schools/{id}/day/cancel" => day::cancel,
    post "/schools/{id}/day/absent" => day::absent,
    post "/schools/{id}/day/absent/end" => day::end_absence,
    get "/schools/{id}/settings" => school_settings::page,
    post "/schools/{id}/settings" => school_settings::save,
    post "/schools/{id}/holidays" => school_settings::add_holiday,
    post "/schools/{id}/holidays/remove" => school_settings::remove_holiday,
    get "/schools/{id}/trips" => trips::page,
    post "/schools/{id}/trips" => trips::add,
    post "/schools/{id}/trips/cancel" => trips::cancel,
    post "/schools/{id}/trips/stays" => trips::stays,
    get "/mentor" => mentor::mentor,
    // statistics
    get "/statistics" => statistics::dashboard,
    get "/statistics/pupils" => statistics::over_threshold,
    get "/statistics/pupils/{id}" => statistics::pupil,
    get "/statistics/groups/{id}" => statistics::group,
    get "/statistics/unreported" => statistics::unreported,
    get "/statistics/csn" => statistics::csn,
    // administration
    get "/admin" => admin::page,
    get "/admin/reasons" => absence_reasons::page,
    post "/admin/reasons" => absence_reasons::add,
    post "/admin/reasons/active" => absence_reasons::set_active,
    post "/admin/reasons/schools" => absence_reasons::schools_may_add,
    get "/schools/{id}/reasons" => absence_reasons::school_page,
    post "/schools/{id}/reasons" => absence_reasons::school_add,
    post "/schools/{id}/reasons/active" => absence_reasons::school_set_active,
    get "/admin/leave-rules" => leave_rules::page,
    post "/admin/leave-rules" => leave_rules::save,
    post "/admin/leave-rules/blocked" => leave_rules::add_blocked,
    post "/admin/leave-rules/blocked/remove" => leave_rules::remove_blocked,
    get "/schools/{id}/leave-rules" => leave_rules::school_page,
    post "/schools/{id}/leave-rules" => leave_rules::school_save,
    post "/schools/{id}/leave-rules/blocked" => leave_rules::school_add_blocked,
    post "/schools/{id}/leave-rules/blocked/remove" => leave_rules::school_remove_blocked,
    get "/admin/people/{id}/extract" => register_extract::page,
    get "/admin/people/{id}/extract.json" => register_extract::json,
    get "/audit" => audit::page,
    get "/audit.csv" => audit::csv_file,
    post "/admin/staff" => admin::invite_staff,
    post "/admin/guardianships" => admin::connect_guardian,
    post "/admin/duties" => admin::assign_duty,
    get "/admin/api-clients" => admin_clients::list,
    post "/admin/api-clients" => admin_clients::register,
    post "/admin/api-clients/{id}/revoke" => admin_clients::revoke,
    get "/admin/sync" => admin_sync::show,
    post "/admin/sync" => admin_sync::start,
    // machine credentials: OAuth 2.0 client credentials
    post "/oauth/token" => oauth::token,
    // the JSON API and its contract
    get "/api/docs" => api_docs::page,
    get "/api/v1/openapi.yaml" => api_docs::openapi_yaml,
    post "/api/v1/auth/token" => api::token,
    post "/api/v1/auth/sign-out" => api::sign_out,
    get "/api/v1/me" => api::me,
    get "/api/v1/pupils/{id}" => api::pupil,
    get "/api/v1/pupils/{id}/absences" => api::absence::pupil_absences,
    post "/api/v1/absence-reports" => api::absence::create_absence_report,
    delete "/api/v1/absence-reports/{id}" => api::absence::cancel_absence_report,
    post "/api/v1/leave-applications" => api::absence::create_leave_application,
    post "/api/v1/leave-applications/{id}/recommendation" => api::absence::recommend_leave,
    post "/api/v1/leave-applications/{id}/decision" => api::absence::decide_leave,
    post "/api/v1/leave-applications/{id}/answer" => api::absence::answer_leave,
    post "/api/v1/leave-applications/{id}/withdraw" => api::absence::withdraw_leave,
    get "/api/v1/lessons" => api::lessons::lessons,
    get "/api/v1/lessons/{id}" => api::lessons::lesson,
    get "/api/v1/statistics/absence" => api::statistics::statistics_absence,
    get "/api/v1/signals" => api::signals::signals,
    get "/api/v1/cases" => api::cases::list,
    get "/api/v1/cases/{id}" => api::cases::one,
    get "/api/v1/cases/{id}/home-report" => home_report::json,
    get "/api/v1/statistics/aggregated-attendance" => api::statistics::v1_aggregated_attendance,
    // the SS 12000 export
    get "/api/ss12000/v2/attendances" => ss12000::attendances,
    post "/api/ss12000/v2/attendances/lookup" => ss12000::attendances_lookup,
    get "/api/ss12000/v2/attendances/{id}" => ss12000::attendance,
    get "/api/ss12000/v2/absences" => ss12000::absences,
    post "/api/ss12000/v2/absences/lookup" => ss12000::absences_lookup,
    get "/api/ss12000/v2/absences/{id}" => ss12000::absence,
    get "/api/ss12000/v2/aggregatedAttendance" => ss12000::aggregated_attendance,
    get "/api/ss12000/v2/deletedEntities" => ss12000::deleted_entities,
    // two-step verification and who read what (issue 40): rarely asked for, so last (the
    // router tries the routes in this order, and the roll call's come before them)
    get "/login/second-factor" => second_factor::page,
    post "/login/second-factor" => second_factor::submit,
    get "/account/second-factor" => second_factor_account::page,
    post "/account/second-factor/confirm" => second_factor_account::confirm,
    post "/account/second-factor/remove" => second_factor_account::remove,
    post "/admin/people/{id}/second-factor/reset" => second_factor_account::reset,
    get "/admin/access-log" => access_log::page,
    get "/admin/access-log.csv" => access_log::csv_file,
    // the huvudman's term report and overview (issue 38): a few times a term
    get "/huvudman/term-report" => term_report::page,
    get "/huvudman/term-report.csv" => term_report::csv,
    post "/huvudman/term-report/close" => term_report::close,
    post "/huvudman/term-report/reopen" => term_report::reopen,
    get "/huvudman/term-report.json" => term_report::json,
    get "/huvudman/term-report.columns.json" => term_report::columns,
    get "/api/v1/term-report" => term_report::json,
    get "/api/v1/term-report/columns" => term_report::columns,
    get "/huvudman/schools" => statistics::huvudman::page,
    get "/api/v1/huvudman/schools" => statistics::huvudman::api,
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// 200 when the database answers a query, 503 when it does not or when the server is
/// stopping (draining after SIGTERM, so that a load balancer takes it out).
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.backend.name();
    if state.stopping.load(std::sync::atomic::Ordering::Relaxed) {
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({"status": "stopping", "database": database}));
    }
    let pool = state.database.pool().clone();
    let probe = web::block(move || -> Result<(), String> {
        let mut conn = pool
            .get_timeout(std::time::Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        crate::db::ping(&mut conn).map_err(|e| e.to_string())
    })
    .await;
    let cause = match probe {
        Ok(Ok(())) => {
            return HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(match state.last_backup.get() {
                    Some(at) => json!({"status": "ok", "database": database,
                        "last_backup": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
                    None => json!({"status": "ok", "database": database}),
                })
        }
        Ok(Err(e)) => e,
        Err(e) => e.to_string(),
    };
    tracing::warn!(%cause, "health check: database did not answer");
    HttpResponse::ServiceUnavailable()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"status": "unavailable", "database": database}))
}

/// `/metrics` (served on NARVARO_METRICS_BIND only): the Prometheus text format, with the
/// pool, the outbox queue and the last backup and sync read now.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.database.pool().state();
    let now = state.now();
    let stored = state
        .db(move |conn| Ok(crate::ops::metrics::read_stored(conn, now)?))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            crate::ops::metrics::Stored::default()
        });
    let body = state.metrics.render(&crate::ops::metrics::Snapshot {
        pool_connections: pool.connections,
        pool_idle: pool.idle_connections,
        stored,
        last_backup: state.last_backup.get(),
    });
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(include_str!("../../static/app.css"))
}

/// The tab's icon: a tick in the accent colour (SVG, which browsers take at this path).
async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=604800"))
        .body(include_str!("../../static/icon.svg"))
}

/// A script that never changes under its versioned address.
fn script(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(body)
}

async fn offline_script() -> HttpResponse {
    script(include_str!("../../static/offline.js"))
}

async fn queue_script() -> HttpResponse {
    script(include_str!("../../static/queue.js"))
}

/// The service worker, at the root so that it may keep the lesson pages: always asked for
/// anew (browsers check it on each visit), naming this version's static files.
async fn service_worker() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(include_str!("../../static/sw.js").replace("__VERSION__", env!("CARGO_PKG_VERSION")))
}

async fn roll_call_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(include_str!("../../static/roll-call.js"))
}
