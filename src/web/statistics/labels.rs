//! The words of the statistics' rows: totals, weeks, weekdays, sexes, and a withheld name.

use crate::i18n::Lang;
use crate::insight::statistics::{Key, Row};

const WEEKDAYS: [(&str, &str); 7] = [
    ("Måndag", "Monday"),
    ("Tisdag", "Tuesday"),
    ("Onsdag", "Wednesday"),
    ("Torsdag", "Thursday"),
    ("Fredag", "Friday"),
    ("Lördag", "Saturday"),
    ("Söndag", "Sunday"),
];

/// "v. 47 2026" / "w. 47 2026"
pub(crate) fn week_label(week: i32, lang: Lang) -> String {
    format!("{} {} {}", lang.pick("v.", "w."), week % 100, week / 100)
}

/// A row's label for a reader; `hide_protected` for readers who may not see a protected
/// pupil's name (an administrator outside the school).
pub(crate) fn row_label(row: &Row, lang: Lang, hide_protected: bool) -> String {
    match &row.key {
        Key::Total => lang.pick("Totalt", "Total").into(),
        Key::Id(id) if row.protected && hide_protected => format!(
            "{} (id {id})",
            lang.pick("Skyddad identitet", "Protected identity")
        ),
        Key::Id(0) => lang.pick("Utan klass", "No class").into(),
        Key::Id(_) | Key::Subject(_) | Key::PupilWeek(..) | Key::GroupWeek(..) => row.name.clone(),
        Key::Week(w) => week_label(*w, lang),
        Key::Weekday(d) => {
            let (sv, en) = WEEKDAYS[(*d as usize).clamp(1, 7) - 1];
            lang.pick(sv, en).into()
        }
        Key::Sex(s) => match s.as_str() {
            "F" => lang.pick("Flickor", "Girls"),
            "M" => lang.pick("Pojkar", "Boys"),
            "X" => lang.pick("Annat", "Other"),
            _ => lang.pick("Ej angivet", "Not recorded"),
        }
        .into(),
    }
}
