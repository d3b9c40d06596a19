//! The request log: one line per request, naming the route pattern a request matched
//! (`/login/link/{token}`), never its path or query string, which may carry a secret
//! (sign-in links, invitations, password resets, confirmation links).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// The route a request matched, as its pattern. A path no route matches is not named at
/// all: it may be a mistyped link.
pub fn route_of(req: &actix_web::HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "(no route)".to_string())
}

/// Middleware: one log line per request, and the request counted in the metrics.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let route = route_of(req.request());
    let metrics = req
        .app_data::<actix_web::web::Data<crate::ops::metrics::Metrics>>()
        .cloned();
    let res = next.call(req).await;
    let took = start.elapsed();
    let micros = took.as_micros() as u64;
    let status = match &res {
        Ok(r) => {
            let status = r.status().as_u16();
            tracing::info!(%method, %route, status, micros, "request");
            status
        }
        Err(e) => {
            tracing::warn!(%method, %route, error = %e, micros, "request failed");
            e.as_response_error().status_code().as_u16()
        }
    };
    if let Some(m) = metrics {
        m.request(&method, &route, status, took);
    }
    res
}
