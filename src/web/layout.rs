//! The page frame every HTML page shares: language, skip link, header, footer.

use actix_web::{HttpMessage, HttpRequest};
use maud::{html, Markup, DOCTYPE};

use crate::auth::csrf;
use crate::auth::viewer::SignedInAs;
use crate::i18n::Lang;

/// Cache-busting version of the stylesheet, so it can be cached for a year.
pub const CSS_PATH: &str = concat!("/static/app.css?v=", env!("CARGO_PKG_VERSION"));

/// What the frame of a page needs to know about its request.
pub struct PageCtx {
    pub lang: Lang,
    /// The token every state-changing form carries.
    pub csrf: String,
    /// The signed-in person's name, when the handler resolved a viewer.
    pub signed_in: Option<String>,
}

impl PageCtx {
    pub fn new(req: &HttpRequest) -> PageCtx {
        PageCtx {
            lang: Lang::from_request(req),
            csrf: csrf::token(req),
            signed_in: req.extensions().get::<SignedInAs>().map(|s| s.0.clone()),
        }
    }

    pub fn t<'a>(&self, sv: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(sv, en)
    }

    /// A refusal in the reader's language, from the catalogue of messages.
    pub fn say(&self, refusal: &crate::school::Refusal) -> String {
        super::words::say(self.lang, refusal)
    }

    /// The hidden CSRF field for a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(csrf::FIELD) value=(self.csrf); }
    }
}

pub fn page(ctx: &PageCtx, title: &str, body: Markup) -> Markup {
    let lang = ctx.lang;
    let other = match lang {
        Lang::Sv => Lang::En,
        Lang::En => Lang::Sv,
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) @if title != "Närvaro" { " – Närvaro" } }
                link rel="stylesheet" href=(CSS_PATH);
            }
            body {
                a.skip href="#main" { (lang.pick("Hoppa till innehållet", "Skip to content")) }
                header.top {
                    a.brand href="/" { "Närvaro" }
                    nav.tools aria-label=(lang.pick("Konto och språk", "Account and language")) {
                        @if let Some(name) = &ctx.signed_in {
                            a href="/account" { (name) }
                            form.inline method="post" action="/logout" {
                                (ctx.csrf_field())
                                button.link type="submit" { (lang.pick("Logga ut", "Sign out")) }
                            }
                        } @else {
                            a href="/login" { (lang.pick("Logga in", "Sign in")) }
                        }
                        form.inline.lang method="post" action="/lang" {
                            (ctx.csrf_field())
                            input type="hidden" name="lang" value=(other.code());
                            button.link type="submit" lang=(other.code()) {
                                (match other { Lang::Sv => "På svenska", Lang::En => "In English" })
                            }
                        }
                    }
                }
                main #main { (body) }
                footer.bottom {
                    a href="/accessibility" { (lang.pick("Tillgänglighetsredogörelse", "Accessibility statement")) }
                }
            }
        }
    }
}
