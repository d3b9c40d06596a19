//! Swedish first, English by choice (a `lang` cookie) or by the browser's Accept-Language.

use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::HttpRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Sv,
    En,
}

pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sv" | "sv-se" => Some(Lang::Sv),
            "en" | "en-gb" | "en-us" => Some(Lang::En),
            _ => None,
        }
    }

    /// The text in this language.
    pub fn pick<'a>(self, sv: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Sv => sv,
            Lang::En => en,
        }
    }

    /// A percentage as this language writes it: "2,7 %" in Swedish, "2.7 %" in English.
    pub fn percent(self, value: f64, decimals: usize) -> String {
        let s = format!("{value:.decimals$} %");
        match self {
            Lang::Sv => s.replace('.', ","),
            Lang::En => s,
        }
    }

    pub fn from_request(req: &HttpRequest) -> Lang {
        if let Some(lang) = req.cookie(LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
            return lang;
        }
        req.headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::from_accept_language)
            .unwrap_or_default()
    }

    /// The preferred of Swedish and English in an Accept-Language header; Swedish on a tie.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "sv" => Lang::Sv,
                "en" => Lang::En,
                _ => continue,
            };
            let better = match best {
                None => true,
                Some((bq, bl)) => q > bq || (q == bq && lang == Lang::Sv && bl == Lang::En),
            };
            if better && q > 0.0 {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_follow_the_language() {
        assert_eq!(Lang::Sv.percent(2.654, 1), "2,7 %");
        assert_eq!(Lang::En.percent(2.654, 1), "2.7 %");
        assert_eq!(Lang::Sv.percent(15.0, 0), "15 %");
    }

    #[test]
    fn accept_language_prefers_by_weight() {
        assert_eq!(
            Lang::from_accept_language("en-GB,en;q=0.9,sv;q=0.8"),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language("sv-SE,sv;q=0.9,en;q=0.8"),
            Lang::Sv
        );
        assert_eq!(Lang::from_accept_language("de-DE,de;q=0.9"), Lang::Sv);
        assert_eq!(Lang::from_accept_language("de,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::Sv);
        assert_eq!(Lang::from_accept_language("en;q=0"), Lang::Sv);
    }
}
