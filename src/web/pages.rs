//! Pages that belong to no one area: the start page, the accessibility statement, the
//! language switch.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::layout;
use crate::error::AppError;
use crate::i18n::{Lang, LANG_COOKIE};

pub async fn home(req: HttpRequest) -> HttpResponse {
    let lang = Lang::from_request(&req);
    let body = html! {
        h1 { "Närvaro" }
        p { (lang.pick(
            "Närvaro- och frånvarohantering för skolan: lärare rapporterar lektioner på sekunder, vårdnadshavare anmäler frånvaro och får besked samma dag, rektorer ser frånvaron direkt.",
            "Attendance and absence for schools: teachers report a lesson in seconds, guardians report absence and hear the same day, principals see absence as it happens."
        )) }
    };
    html_response(layout::page(lang, "Närvaro", body))
}

pub async fn accessibility(req: HttpRequest) -> HttpResponse {
    let lang = Lang::from_request(&req);
    let title = lang.pick("Tillgänglighetsredogörelse", "Accessibility statement");
    let body = html! {
        h1 { (title) }
        p { (lang.pick(
            "Närvaro ska uppfylla WCAG 2.1 nivå AA (lag 2018:1937 om tillgänglighet till digital offentlig service). Alla sidor fungerar utan JavaScript, med tangentbord och med skärmläsare.",
            "Närvaro aims to meet WCAG 2.1 level AA (Swedish act 2018:1937 on accessibility of digital public services). Every page works without JavaScript, by keyboard and with a screen reader."
        )) }
        h2 { (lang.pick("Rapportera brister", "Report a problem")) }
        p { (lang.pick(
            "Om något inte fungerar för dig, kontakta din skola eller kommunens IT-support. Du kan också anmäla till Myndigheten för digital förvaltning (Digg).",
            "If something does not work for you, contact your school or the municipality's IT support. You can also report it to the Agency for Digital Government (Digg)."
        )) }
    };
    html_response(layout::page(lang, title, body))
}

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
}

/// Stores the chosen language for a year and goes back to the page the person was on.
pub async fn set_language(
    req: HttpRequest,
    form: web::Form<LanguageForm>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::parse(&form.lang).ok_or_else(|| {
        AppError::invalid(
            "unknown_language",
            "Språket finns inte / unknown language (sv, en)",
        )
    })?;
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, back_to(&req)))
        .finish())
}

/// The same-site path of the Referer, or the start page.
fn back_to(req: &HttpRequest) -> String {
    let referer = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = req.connection_info().host().to_string();
    referer
        .split_once("://")
        .and_then(|(_, rest)| rest.strip_prefix(host.as_str()))
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or("/")
        .to_string()
}

pub fn html_response(markup: maud::Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}
