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
    /// Staff read Swedish and English only; guardians, pupils and anyone not signed in
    /// every language.
    pub staff: bool,
}

impl PageCtx {
    pub fn new(req: &HttpRequest) -> PageCtx {
        let signed_in = req
            .extensions()
            .get::<SignedInAs>()
            .map(|s| (s.0.clone(), s.1));
        let staff = signed_in.as_ref().is_some_and(|s| s.1);
        let lang = Lang::from_request(req);
        PageCtx {
            lang: if staff { lang.staff() } else { lang },
            csrf: csrf::token(req),
            signed_in: signed_in.map(|s| s.0),
            staff,
        }
    }

    pub fn t<'a>(&self, sv: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(sv, en)
    }

    /// A sentence with `{name}` placeholders, each value set apart (`<bdi>`) so that a name
    /// or a date in Latin script keeps its order inside right-to-left text.
    pub fn tf(&self, sv: &str, en: &str, args: &[(&str, &str)]) -> Markup {
        let template = self.lang.pick(sv, en);
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let name = &after[..close];
            let Some((_, value)) = args.iter().find(|(n, _)| *n == name) else {
                out.push_str(&maud::html! { (rest[..open + close + 2]) }.into_string());
                rest = &after[close + 1..];
                continue;
            };
            out.push_str(&maud::html! { (rest[..open]) }.into_string());
            let shown = self.lang.value(value);
            out.push_str(&maud::html! { bdi { (shown) } }.into_string());
            rest = &after[close + 1..];
        }
        out.push_str(&maud::html! { (rest) }.into_string());
        maud::PreEscaped(out)
    }

    /// Whether this reader may read Närvaro in `lang` (staff: Swedish and English).
    pub fn staff_may(&self, lang: Lang) -> bool {
        !self.staff || lang.staff() == lang
    }

    /// The languages this reader may choose among.
    pub fn languages(&self) -> impl Iterator<Item = Lang> + '_ {
        Lang::ALL.into_iter().filter(|l| self.staff_may(*l))
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
    html! {
        (DOCTYPE)
        html lang=(lang.code()) dir=(lang.dir()) {
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
                        (language_menu(ctx))
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

/// Staff switch between Swedish and English; everyone else chooses among all languages,
/// each named in itself, from a menu that needs no script.
fn language_menu(ctx: &PageCtx) -> Markup {
    let lang = ctx.lang;
    if ctx.staff {
        let other = if lang == Lang::En { Lang::Sv } else { Lang::En };
        return html! {
            form.inline.lang method="post" action="/lang" {
                (ctx.csrf_field())
                input type="hidden" name="lang" value=(other.code());
                button.link type="submit" lang=(other.code()) {
                    (if other == Lang::Sv { "På svenska" } else { "In English" })
                }
            }
        };
    }
    html! {
        details.langs {
            summary {
                (lang.pick("Språk", "Language")) ": " span lang=(lang.code()) dir=(lang.dir()) { (lang.own_name()) }
                // the menu found by those who read neither the page's language nor Swedish
                @if lang != Lang::En { " · " span lang="en" dir="ltr" { "Language" } }
            }
            form.langs method="post" action="/lang" {
                (ctx.csrf_field())
                ul {
                    @for l in Lang::ALL {
                        li {
                            button.link type="submit" name="lang" value=(l.code()) lang=(l.code()) dir=(l.dir())
                                aria-current=[(l == lang).then_some("true")] { (l.own_name()) }
                        }
                    }
                }
            }
        }
    }
}
