//! Errors as their reader gets them: `application/problem+json` under `/api/`, a page in
//! the reader's language elsewhere, and a sign-in redirect for a page that needs one.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use super::layout::{self, PageCtx};
use crate::error::{problem_response, AppError, Code};
use crate::i18n::Lang;

/// Converts an error that is not ours (a bad JSON body, a bad path segment, an unknown
/// route) into an `AppError` by its status, keeping its own message for 4xx.
fn foreign_error(status: StatusCode, message: String, lang: Lang) -> AppError {
    match status.as_u16() {
        404 => AppError::NotFound,
        413 => AppError::PayloadTooLarge,
        401 => AppError::Unauthorized(message.into()),
        403 => AppError::Forbidden(message.into()),
        405 => AppError::invalid(
            Code::MethodNotAllowed,
            lang.pick(
                "Metoden stöds inte här.",
                "That method is not allowed here.",
            ),
        ),
        415 => AppError::invalid(Code::UnsupportedMediaType, message),
        s if (400..500).contains(&s) => AppError::invalid(Code::BadRequest, message),
        503 => AppError::Unavailable(message),
        _ => AppError::internal(message),
    }
}

/// Middleware: renders every error response for its reader.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    let is_api = req.path().starts_with("/api/");
    let is_ss12000 = req.path().starts_with("/api/ss12000/");
    let is_oauth = req.path() == "/oauth/token";
    let lang = Lang::from_request(req.request());
    let res = next.call(req).await?;
    let status = res.status();
    let Some(err) = res.response().error() else {
        return Ok(res.map_body(|_, b| EitherBody::left(b.boxed())));
    };
    let owned;
    let app: &AppError = match err.as_error::<AppError>() {
        Some(app) => app,
        None => {
            owned = foreign_error(status, err.to_string(), lang);
            &owned
        }
    };
    if let AppError::Internal(failure) = app {
        let mut detail = failure.to_string();
        let mut cause = failure
            .source
            .as_deref()
            .and_then(std::error::Error::source);
        while let Some(c) = cause {
            detail.push_str(&format!(": {c}"));
            cause = c.source();
        }
        tracing::error!(%detail, route = %crate::ops::request_log::route_of(res.request()), "request failed");
    }
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let cookies: Vec<HeaderValue> = res.headers().get_all(header::SET_COOKIE).cloned().collect();
    let mut rendered = if is_ss12000 {
        ss12000_error(app, lang)
    } else if is_oauth {
        oauth_error(app, lang)
    } else if is_api {
        problem_response(
            app.status(),
            app.code().as_str(),
            super::words::title(app, lang),
            &super::words::detail(app, lang),
            app,
        )
    } else if matches!(app, AppError::Unauthorized(_)) && res.request().method() == Method::GET {
        sign_in_redirect(res.request())
    } else {
        error_page(app, &PageCtx::new(res.request()))
    };
    // an error is about this request alone (and may name what the reader may not see)
    rendered
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(v) = retry_after {
        rendered.headers_mut().insert(header::RETRY_AFTER, v);
    }
    for c in cookies {
        rendered.headers_mut().append(header::SET_COOKIE, c);
    }
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, rendered).map_into_right_body())
}

/// An error of the SS 12000 API as the standard's `Error` (v2.1): `{"code", "message"}`,
/// both required; a missing or bad token is a 401 that says how to authenticate.
fn ss12000_error(err: &AppError, lang: Lang) -> HttpResponse {
    let mut res = HttpResponse::build(err.status());
    if let AppError::TooManyRequests { retry_after_secs } | AppError::Busy { retry_after_secs } =
        err
    {
        res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
    }
    if err.status() == actix_web::http::StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"narvaro\""));
    }
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({"code": err.code().as_str(), "message": super::words::detail(err, lang)}))
}

/// An error of the OAuth token endpoint as RFC 6749 §5.2 gives it (a body refused before
/// the endpoint read it, a control character say): `invalid_request`, never cached.
fn oauth_error(err: &AppError, lang: Lang) -> HttpResponse {
    let error = if err.status().is_client_error() {
        "invalid_request"
    } else {
        "temporarily_unavailable"
    };
    HttpResponse::build(err.status())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(serde_json::json!({"error": error, "error_description": super::words::detail(err, lang)}))
}

/// A page that needs a signed-in person sends the browser to the sign-in page, which
/// comes back here afterwards.
fn sign_in_redirect(req: &HttpRequest) -> HttpResponse {
    let back = match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_string(),
        None => "/".to_string(),
    };
    let next: String = serde_urlencoded::to_string([("next", back)]).unwrap_or_default();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/login?{next}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn error_page(err: &AppError, ctx: &PageCtx) -> HttpResponse {
    let lang = ctx.lang;
    let title = super::words::title(err, lang);
    let body = html! {
        h1 { (title) }
        p { (super::words::detail(err, lang)) }
        p { a href="/" { (lang.pick("Till startsidan", "Go to the start page")) } }
    };
    let mut res = HttpResponse::build(err.status());
    if let AppError::TooManyRequests { retry_after_secs } | AppError::Busy { retry_after_secs } =
        err
    {
        res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
    }
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    ))
    .body(layout::page(ctx, title, body).into_string())
}
