//! Year groups by school form, across the ten-year compulsory school (prop. 2024/25:143):
//! from 1 July 2026 the law makes grundskola and anpassad grundskola ten years and
//! specialskola eleven, förskoleklass ending as a school form and becoming the new year 1,
//! first applied to education after 30 June 2028. Every year group then moves up one: the
//! pupils of förskoleklass in 2027/28 are in year 2 in 2028/29, those of year 8 in year 10.
//! Year groups 1–10 (specialskola 1–11) are accepted on both sides of the change, so a
//! source imports whichever it sends; year 0 stays for förskoleklass, which many units
//! teach beside years 1–9 under one school unit code. A pupil's *school year number* (the
//! how-many-th year of schooling, förskoleklass counted) lets statistics follow a cohort
//! across the change while its label jumps.

use std::ops::RangeInclusive;

use chrono::NaiveDate;

/// Närvaro's school forms as stored, by the SS 12000 `SchoolTypesEnum` value that names
/// each (grundsärskola and gymnasiesärskola are today's anpassad grundskola and anpassad
/// gymnasieskola). The standard's other values name no Närvaro school form.
pub const FORMS: [(&str, &str); 6] = [
    ("FKLASS", "forskoleklass"),
    ("GR", "grundskola"),
    ("GRS", "anpassad_grundskola"),
    ("SP", "specialskola"),
    ("GY", "gymnasieskola"),
    ("GYS", "anpassad_gymnasieskola"),
];

/// The stored school form an SS 12000 `SchoolTypesEnum` value names, if any.
pub fn form_of_code(code: &str) -> Option<&'static str> {
    FORMS.iter().find(|(c, _)| *c == code).map(|(_, f)| *f)
}

/// The SS 12000 `SchoolTypesEnum` value of a stored school form.
pub fn code_of_form(form: &str) -> Option<&'static str> {
    FORMS.iter().find(|(_, f)| *f == form).map(|(c, _)| *c)
}

/// The first day of the first school year with ten years of compulsory school.
pub fn ten_year_school_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2028, 7, 1).unwrap_or(NaiveDate::MAX)
}

/// The year groups a school form has (as stored: "grundskola", …), when Närvaro knows it.
pub fn range(form: &str) -> Option<RangeInclusive<i32>> {
    Some(match form {
        "forskoleklass" => 0..=0,
        "grundskola" | "anpassad_grundskola" => 0..=10,
        "specialskola" => 0..=11,
        "gymnasieskola" | "anpassad_gymnasieskola" => 1..=4,
        _ => return None,
    })
}

/// The year groups some school form has: what a school of no known form is held to.
pub fn any_form() -> RangeInclusive<i32> {
    0..=11
}

/// The how-many-th year of schooling a year group of a compulsory form is on `day`: before
/// the change förskoleklass (year 0) was the first year and year 1 the second; from it,
/// year 1 is the first. So a cohort counts on by one a year while its label jumps by two
/// at the change (förskoleklass 2027/28 → year 2 in 2028/29: numbers 1, 2; year 8 → year
/// 10: numbers 9, 10). Other forms: the year group itself.
pub fn school_year_number(form: &str, year: i32, day: NaiveDate) -> i32 {
    match form {
        "forskoleklass" | "grundskola" | "anpassad_grundskola" | "specialskola" => {
            if day >= ten_year_school_from() {
                year
            } else {
                year + 1
            }
        }
        _ => year,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_school_form_has_a_code_both_ways_and_a_range() {
        for (code, form) in FORMS {
            assert_eq!(form_of_code(code), Some(form));
            assert_eq!(code_of_form(form), Some(code));
            assert!(range(form).is_some(), "{form}");
        }
        assert_eq!(form_of_code("SP"), Some("specialskola"));
        assert_eq!(form_of_code("VUX"), None);
        assert_eq!(code_of_form("folkhögskola"), None);
    }

    #[test]
    fn year_ten_is_a_year_of_compulsory_school_and_year_twelve_is_none() {
        assert!(range("grundskola").unwrap().contains(&10));
        assert!(!range("grundskola").unwrap().contains(&11));
        assert!(range("specialskola").unwrap().contains(&11));
        assert!(!range("gymnasieskola").unwrap().contains(&0));
        assert!(range("forskoleklass").unwrap().contains(&0));
        assert!(!range("forskoleklass").unwrap().contains(&1));
        assert_eq!(range("komvux"), None);
    }

    #[test]
    fn a_cohort_keeps_its_school_year_number_across_the_change() {
        let before = NaiveDate::from_ymd_opt(2027, 9, 1).unwrap();
        let after = NaiveDate::from_ymd_opt(2028, 9, 1).unwrap();
        // förskoleklass in 2027/28 is year 2 in 2028/29: the first year, then the second
        assert_eq!(school_year_number("forskoleklass", 0, before), 1);
        assert_eq!(school_year_number("grundskola", 2, after), 2);
        // year 8 in 2027/28 is year 10 in 2028/29: the ninth year, then the tenth
        assert_eq!(school_year_number("grundskola", 8, before), 9);
        assert_eq!(school_year_number("grundskola", 10, after), 10);
        // the first pupils to start in the new year 1 are in their first year
        assert_eq!(school_year_number("grundskola", 1, after), 1);
        assert_eq!(school_year_number("gymnasieskola", 2, after), 2);
    }
}
