//! Swedish first, English by choice (a `lang` cookie) or by the browser's Accept-Language.

use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::HttpRequest;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

const SV_DAYS: [&str; 7] = [
    "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag",
];
const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const SV_MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

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

    /// A day as people write it: "måndag 30 november", "Monday 30 November".
    pub fn day(self, d: NaiveDate) -> String {
        let weekday = d.weekday().num_days_from_monday() as usize;
        let month = d.month0() as usize;
        match self {
            Lang::Sv => format!("{} {} {}", SV_DAYS[weekday], d.day(), SV_MONTHS[month]),
            Lang::En => format!("{} {} {}", EN_DAYS[weekday], d.day(), EN_MONTHS[month]),
        }
    }

    /// A weekday by its ISO number (1 is Monday), in the plural of "every such day":
    /// "tisdagar", "Tuesdays"; None for a number that is not a weekday.
    pub fn weekdays(self, iso: u32) -> Option<String> {
        let i = usize::try_from(iso.checked_sub(1)?).ok()?;
        match self {
            Lang::Sv => SV_DAYS.get(i).map(|d| format!("{d}ar")),
            Lang::En => EN_DAYS.get(i).map(|d| format!("{d}s")),
        }
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
        let hm = |t: NaiveDateTime| t.format("%H:%M").to_string();
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
                "24:00".to_string()
            } else {
                hm(to)
            };
            let sep = self.pick(" ", ", ");
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
