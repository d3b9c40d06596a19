//! The principal's statistics pages: the school's dashboard and the administrator's overview
//! (`school`), the drill-down class → pupil → lessons (`drill`), pupils over a threshold,
//! unreported lessons per teacher and the CSN list (`lists`). Every table is also a CSV file
//! (`?csv=…`, `csv`), made from the same rows as the page; the figures come from
//! `crate::insight::statistics`, the page parts from `parts`.

pub(super) mod csv;
pub(super) use csv::csv as csv_file;
mod drill;
pub(super) mod huvudman;
pub(crate) mod labels;
mod lists;
mod parts;
mod school;

pub use drill::{group, pupil};
pub use lists::{csn, unreported};
pub use school::{dashboard, over_threshold};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::insight::statistics::Period;
use crate::school::ids::SchoolId;

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    school: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    threshold: Option<String>,
    month: Option<String>,
    csv: Option<String>,
}

/// The period a page shows: a named one (default: this term) or from–to.
pub(super) struct Shown {
    pub(super) period: Period,
    /// "week", "month", "term", "year" or "custom"
    name: String,
}

impl Shown {
    pub(super) fn query(&self) -> String {
        if self.name == "custom" {
            format!(
                "period=custom&from={}&to={}",
                self.period.from, self.period.to
            )
        } else {
            format!("period={}", self.name)
        }
    }
}

pub(super) fn shown(q: &StatsQuery, today: NaiveDate, lang: Lang) -> AppResult<Shown> {
    let name = q.period.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let from = q.from.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let to = q.to.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let custom = |f: &str, t: &str| -> AppResult<Shown> {
        Ok(Shown {
            period: Period::new(
                super::common::parse_date(f, lang.pick("Från", "From"), lang)?,
                super::common::parse_date(t, lang.pick("Till", "To"), lang)?,
            )?,
            name: "custom".into(),
        })
    };
    match (name, from, to) {
        (Some("custom") | None, Some(f), Some(t)) => custom(f, t),
        (Some("custom"), _, _) => Err(AppError::invalid(
            Code::PeriodIncomplete,
            lang.pick(
                "Välj både från- och till-datum för en egen period.",
                "Choose both a from and a to date for a period of your own.",
            ),
        )),
        // dates typed beside a named period mean a period of one's own: the form sends the
        // shown period's dates back, so only dates that differ from it were changed
        (Some(name), Some(f), Some(t))
            if Period::preset(name, today)
                .is_some_and(|p| f != p.from.to_string() || t != p.to.to_string()) =>
        {
            custom(f, t)
        }
        (name, _, _) => {
            let name = name.unwrap_or("term");
            let period = Period::preset(name, today).ok_or_else(|| {
                AppError::invalid(
                    Code::BadPeriod,
                    lang.pick(
                        "Perioden är vecka, månad, termin, läsår eller egen.",
                        "The period is week, month, term, school year or custom.",
                    ),
                )
            })?;
            Ok(Shown {
                period,
                name: name.into(),
            })
        }
    }
}

pub(super) fn school_param(q: &StatsQuery, lang: Lang) -> AppResult<Option<SchoolId>> {
    match q.school.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            // a number that is no id names no school the viewer has
            Ok(_) => s.parse().map(Some).map_err(|_| AppError::NotFound),
            Err(_) => Err(AppError::invalid(
                Code::BadSchool,
                lang.pick(
                    "Skolan anges med sitt id.",
                    "The school is given by its id.",
                ),
            )),
        },
    }
}

/// Only staff with statistics (principals, administrators) reach the school pages.
pub(super) fn staff_only(v: &Viewer) -> AppResult<()> {
    if v.roles.principal_of.is_empty() && !v.roles.is_admin() {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

pub(super) fn threshold_param(raw: Option<&str>, default: i32, lang: Lang) -> AppResult<i64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default.into()),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|t| (1..=100).contains(t))
            .ok_or_else(|| {
                AppError::invalid(
                    Code::BadThreshold,
                    lang.pick(
                        "Gränsen är ett helt antal procent mellan 1 och 100.",
                        "The threshold is a whole number of per cent from 1 to 100.",
                    ),
                )
            }),
    }
}

pub(super) fn csv_choice(q: &StatsQuery) -> Option<&str> {
    q.csv.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn unknown_table(lang: Lang) -> AppError {
    AppError::invalid(
        Code::BadCsv,
        lang.pick(
            "Den tabellen finns inte som CSV på den här sidan.",
            "That table is not available as CSV on this page.",
        ),
    )
}
