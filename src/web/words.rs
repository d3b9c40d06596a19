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
        Lang::En => EN_TABLE.get_or_init(|| entries(EN)),
        _ => SV_TABLE.get_or_init(|| entries(SV)),
    }
}

/// The catalogues' texts, by language code (for the tests that hold them complete).
pub const CATALOGUES: [(&str, &str); 2] = [("sv", SV), ("en", EN)];

/// What `refusal` says in `lang`, its values put in.
pub fn say(lang: Lang, refusal: &Refusal) -> String {
    let words = catalogue(lang)
        .get(refusal.code)
        .or_else(|| catalogue(Lang::Sv).get(refusal.code));
    // Beyond Swedish and English, the Swedish words are translated from the catalogue.
    let words = match (lang, words) {
        (Lang::Sv | Lang::En, w) => w.copied(),
        (other, Some(sv)) => Some(other.pick(sv, sv)),
        (_, None) => None,
    };
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
    let mut out = words.to_string();
    for (name, value) in &refusal.args {
        out = out.replace(&format!("{{{name}}}"), &lang.digits(value));
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

/// An error's title in `lang`.
pub fn title(e: &AppError, lang: Lang) -> &'static str {
    title_for(e.status(), lang)
}

/// What a person is told, in `lang`: a refusal worded from the catalogue. Internal
/// details stay in the log.
pub fn detail(e: &AppError, lang: Lang) -> String {
    match e {
        AppError::NotFound => lang
            .pick(
                "Sidan eller posten finns inte, eller så har du inte tillgång till den.",
                "The page or record does not exist, or you do not have access to it.",
            )
            .into(),
        AppError::Invalid { message, .. }
        | AppError::Conflict { message, .. }
        | AppError::Forbidden(message)
        | AppError::Unauthorized(message) => said(lang, message),
        AppError::TooLarge(message) => message.clone(),
        AppError::PayloadTooLarge => lang
            .pick(
                "Det du skickade är för stort.",
                "What you sent is too large.",
            )
            .into(),
        AppError::TooManyRequests { retry_after_secs } => lang.fill(
            "För många försök. Vänta {wait} och försök igen.",
            "Too many attempts. Wait {wait} and try again.",
            &[("wait", &wait_text(*retry_after_secs, lang))],
        ),
        AppError::Unavailable(_) => lang
            .pick(
                "Tjänsten svarar inte just nu. Försök igen om en stund.",
                "The service is not answering right now. Try again in a moment.",
            )
            .into(),
        AppError::Busy { .. } => lang
            .pick(
                "Många loggar in just nu. Försök igen om några sekunder.",
                "Many people are signing in right now. Try again in a few seconds.",
            )
            .into(),
        AppError::Internal(_) => lang
            .pick(
                "Något gick fel hos oss. Inget av det du skickade sparades. Försök igen.",
                "Something went wrong on our side. Nothing you sent was saved. Please try again.",
            )
            .into(),
    }
}

fn wait_text(secs: u64, lang: Lang) -> String {
    if secs < 90 {
        lang.fill("{n} sekunder", "{n} seconds", &[("n", &secs.to_string())])
    } else {
        let mins = secs.div_ceil(60);
        lang.fill("{n} minuter", "{n} minutes", &[("n", &mins.to_string())])
    }
}

/// The title of a status in `lang`.
pub fn title_for(status: actix_web::http::StatusCode, lang: Lang) -> &'static str {
    match status.as_u16() {
        400 => lang.pick("Felaktiga uppgifter", "Invalid input"),
        401 => lang.pick("Inloggning krävs", "Sign-in required"),
        403 => lang.pick("Inte tillåtet", "Not allowed"),
        404 => lang.pick("Hittades inte", "Not found"),
        405 => lang.pick("Metoden stöds inte", "Method not allowed"),
        409 => lang.pick("Krock med en annan ändring", "Conflict"),
        413 => lang.pick("För stort", "Too large"),
        415 => lang.pick("Fel innehållstyp", "Unsupported media type"),
        429 => lang.pick("För många försök", "Too many requests"),
        503 => lang.pick("Tillfälligt otillgänglig", "Temporarily unavailable"),
        s if s >= 500 => lang.pick("Serverfel", "Server error"),
        _ => lang.pick("Felaktig begäran", "Bad request"),
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
    fn internal_details_are_not_shown() {
        let e = AppError::internal("UNIQUE constraint failed: secret.column");
        assert!(!detail(&e, Lang::Sv).contains("UNIQUE"));
        assert!(!detail(&e, Lang::En).contains("secret"));
    }

    #[test]
    fn waiting_time_reads_naturally() {
        assert_eq!(wait_text(30, Lang::Sv), "30 sekunder");
        assert_eq!(wait_text(600, Lang::En), "10 minutes");
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
