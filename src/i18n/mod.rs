//! Swedish first. Guardians and pupils read Närvaro in nine languages, staff in Swedish and
//! English. The language comes from a `lang` cookie (the person's choice) or the browser's
//! Accept-Language; a code Närvaro does not have is Swedish. Swedish and English words stand
//! side by side in the code; the other languages translate the Swedish from the catalogues
//! in `templates/translations/` (see `catalogue`).

pub mod catalogue;
mod names;

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::HttpRequest;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Lang {
    #[default]
    Sv,
    En,
    Ar,
    So,
    Fa,
    Ti,
    Uk,
    Fi,
    /// Bosnian, Croatian and Serbian, one language in Latin script.
    Bs,
}

pub const LANG_COOKIE: &str = "lang";

/// Arabic and Persian write their own digits unless the municipality chose Latin ones
/// (NARVARO_LATIN_DIGITS).
static LATIN_DIGITS: AtomicBool = AtomicBool::new(false);

pub fn set_latin_digits(latin: bool) {
    LATIN_DIGITS.store(latin, Ordering::Relaxed);
}

impl Lang {
    /// Every language, in the order the language menu shows them.
    pub const ALL: [Lang; 9] = [
        Lang::Sv,
        Lang::En,
        Lang::Ar,
        Lang::So,
        Lang::Fa,
        Lang::Ti,
        Lang::Uk,
        Lang::Fi,
        Lang::Bs,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
            Lang::Ar => "ar",
            Lang::So => "so",
            Lang::Fa => "fa",
            Lang::Ti => "ti",
            Lang::Uk => "uk",
            Lang::Fi => "fi",
            Lang::Bs => "bs",
        }
    }

    /// The language's name in itself, as the language menu writes it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Sv => "Svenska",
            Lang::En => "English",
            Lang::Ar => "العربية",
            Lang::So => "Soomaali",
            Lang::Fa => "فارسی",
            Lang::Ti => "ትግርኛ",
            Lang::Uk => "Українська",
            Lang::Fi => "Suomi",
            Lang::Bs => "Bosanski / Hrvatski / Srpski",
        }
    }

    /// Right to left: Arabic and Persian.
    pub fn rtl(self) -> bool {
        matches!(self, Lang::Ar | Lang::Fa)
    }

    pub fn dir(self) -> &'static str {
        if self.rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// Staff pages are in Swedish and English: any other language reads them in Swedish.
    pub fn staff(self) -> Lang {
        match self {
            Lang::En => Lang::En,
            _ => Lang::Sv,
        }
    }

    /// A language by its code or a tag of it ("ar", "ar-SE", "sr-Latn", "hr"); None for
    /// one Närvaro does not have.
    pub fn parse(s: &str) -> Option<Lang> {
        let tag = s.trim().to_ascii_lowercase().replace('_', "-");
        let primary = tag.split('-').next().unwrap_or("");
        match primary {
            "sv" => Some(Lang::Sv),
            "en" => Some(Lang::En),
            "ar" => Some(Lang::Ar),
            "so" => Some(Lang::So),
            "fa" | "prs" => Some(Lang::Fa),
            "ti" => Some(Lang::Ti),
            "uk" => Some(Lang::Uk),
            "fi" => Some(Lang::Fi),
            "bs" | "hr" | "sr" | "sh" | "cnr" => Some(Lang::Bs),
            _ => None,
        }
    }

    /// The text in this language: Swedish and English as given, any other language the
    /// catalogue's translation of the Swedish (the Swedish when it has none).
    pub fn pick<'a>(self, sv: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Sv => sv,
            Lang::En => en,
            other => catalogue::lookup(other, sv).unwrap_or(sv),
        }
    }

    /// `pick` with `{name}` placeholders filled in; numbers in the values are written in
    /// the language's digits.
    pub fn fill(self, sv: &str, en: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.pick(sv, en).to_string();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), &self.value(value));
        }
        out
    }

    /// A value put into a sentence: a number (or a time, a percentage) in the language's
    /// digits, anything else as it is.
    pub fn value(self, v: &str) -> String {
        if v.chars()
            .all(|c| c.is_ascii_digit() || ",.:% –-".contains(c))
        {
            self.digits(v)
        } else {
            v.to_string()
        }
    }

    /// Digits as the language writes them: Arabic-Indic in Arabic, Persian in Persian
    /// (unless the municipality chose Latin digits), as given elsewhere.
    pub fn digits(self, s: &str) -> String {
        let zero = match self {
            Lang::Ar => '\u{0660}',
            Lang::Fa => '\u{06F0}',
            _ => return s.to_string(),
        };
        if LATIN_DIGITS.load(Ordering::Relaxed) {
            return s.to_string();
        }
        s.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => char::from_u32(zero as u32 + d).unwrap_or(c),
                _ => c,
            })
            .collect()
    }

    /// A percentage as this language writes it: "2,7 %" in Swedish, "2.7 %" in English.
    pub fn percent(self, value: f64, decimals: usize) -> String {
        let s = format!("{value:.decimals$} %");
        match self {
            Lang::Sv | Lang::Fi | Lang::Uk | Lang::Bs => s.replace('.', ","),
            // "٢٫٧٪": the Arabic decimal separator and per cent sign
            Lang::Ar | Lang::Fa => {
                self.digits(&format!("{value:.decimals$}\u{066A}").replace('.', "\u{066B}"))
            }
            Lang::En | Lang::So | Lang::Ti => s,
        }
    }

    /// A time of day as this language writes it ("08:10", "٠٨:١٠").
    pub fn time(self, t: NaiveTime) -> String {
        self.digits(&t.format("%H:%M").to_string())
    }

    /// A day as people write it: "måndag 30 november", "Monday 30 November",
    /// "الاثنين ٣٠ نوفمبر", "maanantai 30. marraskuuta".
    pub fn day(self, d: NaiveDate) -> String {
        let weekday = names::weekdays(self)[d.weekday().num_days_from_monday() as usize];
        let month = names::months(self)[d.month0() as usize];
        let n = self.digits(&d.day().to_string());
        match self {
            Lang::Fi | Lang::Bs => format!("{weekday} {n}. {month}"),
            Lang::So => format!("{weekday}, {n} {month}"),
            _ => format!("{weekday} {n} {month}"),
        }
    }

    /// A weekday by its ISO number (1 is Monday), in the plural of "every such day":
    /// "tisdagar", "Tuesdays"; None for a number that is not a weekday. (Staff pages only:
    /// other languages name the day.)
    pub fn weekdays(self, iso: u32) -> Option<String> {
        let i = usize::try_from(iso.checked_sub(1)?).ok()?;
        let day = names::weekdays(self).get(i).copied()?;
        Some(match self {
            Lang::Sv => format!("{day}ar"),
            Lang::En => format!("{day}s"),
            _ => day.to_string(),
        })
    }

    /// Days from `first` to `last` (inclusive): "måndag 14 december" or "måndag 14
    /// december – onsdag 16 december".
    pub fn days(self, first: NaiveDate, last: NaiveDate) -> String {
        if first >= last {
            self.day(first)
        } else {
            format!("{} – {}", self.day(first), self.day(last))
        }
    }

    /// A stretch of time from `from` to `to` (school-local): whole days read as days ("tisdag
    /// 1 december, hela dagen"; "tisdag 1 december – torsdag 3 december"), a part of one day
    /// as its hours ("tisdag 1 december 08:00–12:00"), anything else from moment to moment.
    pub fn span(self, from: NaiveDateTime, to: NaiveDateTime) -> String {
        let midnight = NaiveTime::MIN;
        let hm = |t: NaiveDateTime| self.time(t.time());
        if from.time() == midnight && to.time() == midnight && to > from {
            let last = to.date() - Duration::days(1);
            if last == from.date() {
                let whole = self.pick("hela dagen", "all day");
                return format!("{}, {whole}", self.day(from.date()));
            }
            return self.days(from.date(), last);
        }
        if from.date() == to.date()
            || (to.time() == midnight && to.date() == from.date() + Duration::days(1))
        {
            let end = if to.time() == midnight {
                self.digits("24:00")
            } else {
                hm(to)
            };
            let sep = if self == Lang::Sv { " " } else { ", " };
            return format!("{}{sep}{}–{end}", self.day(from.date()), hm(from));
        }
        format!(
            "{} {} – {} {}",
            self.day(from.date()),
            hm(from),
            self.day(to.date()),
            hm(to)
        )
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

    /// The preferred of Närvaro's languages in an Accept-Language header; Swedish on a tie
    /// with it, the earlier on any other tie, Swedish when none is offered.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let Some(lang) = Lang::parse(tag) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((bq, _)) => q > bq || (q == bq && lang == Lang::Sv),
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
    fn names_sort_as_swedish_lists_do() {
        let mut names = [
            ("Östberg", "Ali", 1),
            ("Zetterlund", "Bo", 2),
            ("Åberg", "Cleo", 3),
            ("Ärlig", "Dan", 4),
            ("andersson", "Eva", 5),
            ("Andersson", "Ada", 6),
            ("Eklund", "Fia", 7),
            ("Ébert", "Gun", 8),
        ];
        names.sort_by_key(|(f, g, id)| by_surname(f, g, *id));
        let order: Vec<i64> = names.iter().map(|n| n.2).collect();
        assert_eq!(order, [6, 5, 8, 7, 2, 3, 4, 1]);
    }

    #[test]
    fn percentages_follow_the_language() {
        assert_eq!(Lang::Sv.percent(2.654, 1), "2,7 %");
        assert_eq!(Lang::En.percent(2.654, 1), "2.7 %");
        assert_eq!(Lang::Sv.percent(15.0, 0), "15 %");
        assert_eq!(Lang::Fi.percent(2.654, 1), "2,7 %");
        assert_eq!(Lang::Ar.percent(2.654, 1), "٢٫٧٪");
        assert_eq!(Lang::Fa.percent(15.0, 0), "۱۵٪");
    }

    #[test]
    fn every_language_has_a_code_a_name_in_itself_and_a_direction() {
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.code()), Some(l));
            assert!(!l.own_name().is_empty());
        }
        assert_eq!(Lang::Ar.own_name(), "العربية");
        assert!(Lang::Ar.rtl() && Lang::Fa.rtl() && !Lang::So.rtl() && !Lang::Ti.rtl());
        assert_eq!(Lang::parse("hr-HR"), Some(Lang::Bs));
        assert_eq!(Lang::parse("sr-Latn"), Some(Lang::Bs));
        assert_eq!(Lang::parse("prs"), Some(Lang::Fa));
        assert_eq!(Lang::parse("de"), None);
        // staff pages: Swedish and English only
        assert_eq!(Lang::Ar.staff(), Lang::Sv);
        assert_eq!(Lang::En.staff(), Lang::En);
    }

    #[test]
    fn accept_language_picks_among_all_nine() {
        assert_eq!(
            Lang::from_accept_language("ar-SE,ar;q=0.9,en;q=0.5"),
            Lang::Ar
        );
        assert_eq!(
            Lang::from_accept_language("de, so;q=0.8, sv;q=0.2"),
            Lang::So
        );
        assert_eq!(Lang::from_accept_language("ti, sv"), Lang::Sv);
        assert_eq!(Lang::from_accept_language("uk,ru;q=0.9"), Lang::Uk);
    }

    #[test]
    fn arabic_and_persian_write_their_own_digits() {
        assert_eq!(Lang::Ar.digits("08:10"), "٠٨:١٠");
        assert_eq!(Lang::Fa.digits("2026"), "۲۰۲۶");
        assert_eq!(Lang::So.digits("08:10"), "08:10");
        assert_eq!(
            Lang::Ar.value("Anna 2"),
            "Anna 2",
            "a name keeps its digits"
        );
        assert_eq!(Lang::Ar.value("12"), "١٢");
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

#[cfg(test)]
mod date_tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn days_read_as_people_write_them() {
        assert_eq!(Lang::Sv.day(d("2026-12-01")), "tisdag 1 december");
        assert_eq!(Lang::En.day(d("2026-12-01")), "Tuesday 1 December");
        assert_eq!(Lang::Sv.day(d("2027-01-03")), "söndag 3 januari");
        assert_eq!(
            Lang::Sv.days(d("2026-12-14"), d("2026-12-16")),
            "måndag 14 december – onsdag 16 december"
        );
        assert_eq!(
            Lang::En.days(d("2026-12-14"), d("2026-12-14")),
            "Monday 14 December"
        );
        assert_eq!(Lang::Ar.day(d("2026-12-08")), "الثلاثاء ٨ ديسمبر");
        assert_eq!(Lang::Fa.day(d("2026-12-08")), "سه‌شنبه ۸ دسامبر");
        assert_eq!(Lang::So.day(d("2026-12-08")), "Talaado, 8 Desembar");
        assert_eq!(Lang::Uk.day(d("2026-12-08")), "вівторок 8 грудня");
        assert_eq!(Lang::Fi.day(d("2026-12-08")), "tiistai 8. joulukuuta");
        assert_eq!(Lang::Bs.day(d("2026-12-08")), "utorak 8. decembar");
        assert_eq!(Lang::Ti.day(d("2026-12-08")), "ሰሉስ 8 ታሕሳስ");
    }

    #[test]
    fn a_whole_day_is_all_day_and_part_of_one_is_its_hours() {
        let sv = Lang::Sv;
        assert_eq!(
            sv.span(at("2026-12-01 00:00"), at("2026-12-02 00:00")),
            "tisdag 1 december, hela dagen"
        );
        assert_eq!(
            Lang::En.span(at("2026-12-01 00:00"), at("2026-12-02 00:00")),
            "Tuesday 1 December, all day"
        );
        assert_eq!(
            sv.span(at("2026-12-01 00:00"), at("2026-12-04 00:00")),
            "tisdag 1 december – torsdag 3 december"
        );
        assert_eq!(
            sv.span(at("2026-12-01 08:00"), at("2026-12-01 12:00")),
            "tisdag 1 december 08:00–12:00"
        );
        assert_eq!(
            Lang::En.span(at("2026-12-01 13:00"), at("2026-12-02 00:00")),
            "Tuesday 1 December, 13:00–24:00"
        );
        assert_eq!(
            sv.span(at("2026-12-01 13:00"), at("2026-12-02 10:00")),
            "tisdag 1 december 13:00 – onsdag 2 december 10:00"
        );
    }
}

/// A name's place in a Swedish list: letters without case, with å, ä and ö after z in
/// that order (æ as ä, ø as ö), ü as y and accented e as e, as Swedish school lists sort.
pub fn swedish_order(s: &str) -> Vec<u32> {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'å' => 'z' as u32 + 1,
            'ä' | 'æ' => 'z' as u32 + 2,
            'ö' | 'ø' => 'z' as u32 + 3,
            'ü' => 'y' as u32,
            'é' | 'è' | 'ê' | 'ë' => 'e' as u32,
            c => c as u32,
        })
        .collect()
}

/// A pupil list's order: by family name, then given name (then id, for a tie).
pub fn by_surname<T: Ord>(family: &str, given: &str, id: T) -> (Vec<u32>, Vec<u32>, T) {
    (swedish_order(family), swedish_order(given), id)
}
