//! The part of a session that came from an identity provider: which one (a cookie), so
//! that signing out of Närvaro also signs out there (RP-Initiated Logout 1.0).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use super::common::html_with_status;
use super::layout::{self, PageCtx};

use crate::auth::oidc::Which;
use crate::state::AppState;

/// Which provider the session came from.
pub const PROVIDER_COOKIE: &str = "narvaro_idp";

/// Where signing out goes: for a session from an identity provider, its end-session
/// endpoint (RP-Initiated Logout 1.0, back to the sign-in page), when it has one.
pub(super) async fn end_session_location(req: &HttpRequest, state: &AppState) -> Option<String> {
    let provider = req
        .cookie(PROVIDER_COOKIE)
        .and_then(|c| Which::parse(c.value()))
        .and_then(|w| match w {
            Which::Staff => state.oidc_staff.clone(),
            Which::Guardian => state.oidc_guardian.clone(),
        });
    let after = format!("{}/login", state.config.base_url);
    provider?.end_session_url(&after).await
}

/// Signed out of Närvaro; on to the provider to sign out there too, at once (a refresh)
/// or by the link.
pub(super) fn on_to_provider(ctx: &PageCtx, url: &str) -> HttpResponse {
    let title = ctx.t(
        "Du är utloggad från Närvaro",
        "You are signed out of Närvaro",
    );
    let page = layout::page(
        ctx,
        title,
        html! {
            meta http-equiv="refresh" content={"0;url=" (url)};
            h1 { (title) }
            p { (ctx.t(
                "Du skickas vidare för att logga ut från kommunens inloggning också.",
                "You are being sent on to sign out of the municipality's sign-in too."
            )) }
            p { a.button #provider-sign-out href=(url) { (ctx.t("Logga ut där också", "Sign out there too")) } }
        },
    );
    html_with_status(StatusCode::OK, page)
}

/// The provider cookie, removed.
pub(super) fn spent_provider_cookie() -> Cookie<'static> {
    let mut c = Cookie::build(PROVIDER_COOKIE, "").path("/").finish();
    c.make_removal();
    c
}
