//! HTTP routes: the HTML pages and the JSON API, each area in its own module.

pub mod layout;
mod pages;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::AppError;
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/static/app.css", web::get().to(stylesheet))
        .route("/", web::get().to(pages::home))
        .route("/accessibility", web::get().to(pages::accessibility))
        .route("/lang", web::post().to(pages::set_language))
        .default_service(web::to(not_found));
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

/// Middleware: one log line per request (no query strings: they may carry tokens).
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await;
    let micros = start.elapsed().as_micros() as u64;
    match &res {
        Ok(r) => tracing::info!(%method, %path, status = r.status().as_u16(), micros, "request"),
        Err(e) => tracing::warn!(%method, %path, error = %e, micros, "request failed"),
    }
    res
}
