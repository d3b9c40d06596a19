//! The page frame every HTML page shares: language, skip link, header, footer.

use maud::{html, Markup, DOCTYPE};

use crate::i18n::Lang;

/// Cache-busting version of the stylesheet, so it can be cached for a year.
pub const CSS_PATH: &str = concat!("/static/app.css?v=", env!("CARGO_PKG_VERSION"));

pub fn page(lang: Lang, title: &str, body: Markup) -> Markup {
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
                title { (title) " – Närvaro" }
                link rel="stylesheet" href=(CSS_PATH);
            }
            body {
                a.skip href="#main" { (lang.pick("Hoppa till innehållet", "Skip to content")) }
                header.top {
                    a.brand href="/" { "Närvaro" }
                    form.lang method="post" action="/lang" {
                        input type="hidden" name="lang" value=(other.code());
                        button type="submit" lang=(other.code()) {
                            (match other { Lang::Sv => "På svenska", Lang::En => "In English" })
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
