//! The catalogue of messages: what a refusal's code says in the reader's language. One file
//! per language in `templates/messages/` (`code = text`, `{name}` for a value the refusal
//! carries), built into the binary; a code a language lacks is said in Swedish, and a code
//! no catalogue knows is logged and shown as the general refusal.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{AppError, Refusal, Said};
use crate::i18n::Lang;

const SV: &str = include_str!("../../templates/messages/sv.txt");
const EN: &str = include_str!("../../templates/messages/en.txt");

/// A catalogue's entries by code.
pub fn entries(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(code, words)| (code.trim(), words.trim()))
        .collect()
}

fn catalogue(lang: Lang) -> &'static HashMap<&'static str, &'static str> {
    static SV_TABLE: OnceLock<HashMap<&str, &str>> = OnceLock::new();
    static EN_TABLE: OnceLock<HashMap<&str, &str>> = OnceLock::new();
    match lang {
        Lang::Sv => SV_TABLE.get_or_init(|| entries(SV)),
        Lang::En => EN_TABLE.get_or_init(|| entries(EN)),
    }
}

/// The catalogues' texts, by language code (for the tests that hold them complete).
pub const CATALOGUES: [(&str, &str); 2] = [("sv", SV), ("en", EN)];

/// What `refusal` says in `lang`, its values put in.
pub fn say(lang: Lang, refusal: &Refusal) -> String {
    let words = catalogue(lang)
        .get(refusal.code)
        .or_else(|| catalogue(Lang::Sv).get(refusal.code));
    let Some(words) = words else {
        tracing::warn!(
            code = refusal.code,
            "a refusal without words in the catalogue"
        );
        return lang
            .pick(
                "Formuläret innehöll ett felaktigt värde.",
                "The form held a wrong value.",
            )
            .to_string();
    };
    let mut out = (*words).to_string();
    for (name, value) in &refusal.args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// What a refused request is told, in `lang`.
pub fn said(lang: Lang, s: &Said) -> String {
    match s {
        Said::Refusal(r) => say(lang, r),
        Said::Words(w) => w.clone(),
    }
}

/// What an error tells its reader in `lang`: a refusal worded from the catalogue, the rest
/// as the error says it.
pub fn detail(e: &AppError, lang: Lang) -> String {
    match e.said() {
        Some(s) => said(lang, s),
        None => e.detail(lang),
    }
}

/// What to tell a person whose input was refused (400 or 409) in `lang`; empty otherwise.
pub fn refusal(e: &AppError, lang: Lang) -> String {
    match e {
        AppError::Invalid { .. } | AppError::Conflict { .. } => detail(e, lang),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_the_same_codes() {
        let sv = entries(SV);
        for (code, text) in CATALOGUES {
            let mut mine: Vec<_> = entries(text).into_keys().collect();
            let mut theirs: Vec<_> = sv.keys().copied().collect();
            mine.sort_unstable();
            theirs.sort_unstable();
            assert_eq!(mine, theirs, "{code}");
        }
    }

    #[test]
    fn values_are_put_in_and_an_unknown_code_is_said_generally() {
        let r = Refusal::new("most_60_days_time");
        assert_eq!(say(Lang::En, &r), "At most 60 days at a time.");
        assert_eq!(say(Lang::Sv, &r), "Högst 60 dagar åt gången.");
        let unknown = Refusal::new("no_such_code").with("x", 1);
        assert_eq!(say(Lang::En, &unknown), "The form held a wrong value.");
    }
}
