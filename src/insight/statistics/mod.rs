//! Absence statistics: the one code path behind the principal's pages, the CSV exports and
//! the JSON API. Figures are minutes: scheduled (lessons not cancelled, for the pupils in
//! the lesson's groups on its date), reported (of those, on lessons with a roll call),
//! valid and invalid absence; the percentages are of scheduled minutes.
//!
//! Sums by pupil, class, school, week, weekday and sex read `absence_days` (kept live by
//! `store::refresh`); sums by subject or activity and a pupil's lessons read the facts
//! (`facts`), which `absence_days` is made from, so the two always agree.

pub mod facts;
pub mod overview;
pub mod store;

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use serde::Serialize;

use crate::db::DbConn;
use crate::db::CHUNK;
use crate::error::{AppError, AppResult, Code, Refusal};
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{
    ActivityId, GroupId, LessonId, OrganisationId, PersonId, PupilId, SchoolId,
};
use facts::{Fact, Sel};

/// The longest period a request may ask for.
pub const MAX_YEARS: i32 = 5;

/// A period of school-local dates, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A checked period: it ends on or after its start, and spans at most five years.
    pub fn new(from: NaiveDate, to: NaiveDate) -> AppResult<Period> {
        if to < from {
            return Err(AppError::invalid(
                Code::PeriodReversed,
                Refusal::new("period_reversed"),
            ));
        }
        let limit = from
            .with_year(from.year() + MAX_YEARS)
            .unwrap_or(from + Duration::days(365 * i64::from(MAX_YEARS)));
        if to >= limit {
            return Err(AppError::invalid(
                Code::PeriodTooLong,
                Refusal::new("period_over_five_years"),
            ));
        }
        Ok(Period { from, to })
    }

    /// A named period that contains `today`: week, month, term, year (school year).
    pub fn preset(name: &str, today: NaiveDate) -> Option<Period> {
        let from = match name {
            "week" => today - Duration::days(today.weekday().num_days_from_monday() as i64),
            "month" => today.with_day(1)?,
            "term" => crate::school::calendar::term_start(today),
            "year" => crate::school::calendar::school_year_start(today),
            _ => return None,
        };
        let to = match name {
            "week" => from + Duration::days(6),
            "month" => next_month(from)? - Duration::days(1),
            "term" => next_term(from)? - Duration::days(1),
            _ => from.with_year(from.year() + 1)? - Duration::days(1),
        };
        Some(Period { from, to })
    }

    /// From–to where either end may be left out: the term around `today` fills it in.
    pub fn or_term(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> AppResult<Period> {
        let term = Period::preset("term", today).unwrap_or(Period {
            from: today,
            to: today,
        });
        Period::new(from.unwrap_or(term.from), to.unwrap_or(term.to))
    }

    /// The period when it lies within one school year (1 July – 30 June); comparing across
    /// the summer is refused.
    pub fn within_school_year(self) -> AppResult<Period> {
        if crate::school::calendar::school_year_start(self.from)
            != crate::school::calendar::school_year_start(self.to)
        {
            return Err(AppError::invalid(
                Code::BadPeriod,
                Refusal::new("period_across_school_years"),
            ));
        }
        Ok(self)
    }

    /// The period up to `today`: lessons that have not happened yet are not in the figures.
    pub fn until(self, today: NaiveDate) -> Period {
        Period {
            from: self.from,
            to: self.to.min(today),
        }
    }

    pub fn is_empty(self) -> bool {
        self.to < self.from
    }
}

fn next_month(d: NaiveDate) -> Option<NaiveDate> {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
}

fn next_term(d: NaiveDate) -> Option<NaiveDate> {
    if d.month() >= 7 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), 7, 1)
    }
}

/// The first and last day of a calendar month.
pub fn month(year: i32, month: u32) -> Option<Period> {
    let from = NaiveDate::from_ymd_opt(year, month, 1)?;
    Some(Period {
        from,
        to: next_month(from)? - Duration::days(1),
    })
}

/// Whose figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Municipality(OrganisationId),
    School(SchoolId),
    Group(GroupId),
    Pupil(PupilId),
}

/// What the figures are summed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Total,
    Pupil,
    /// the pupil's class on each day
    Group,
    School,
    Week,
    Weekday,
    Sex,
    Subject,
    /// (pupil, week): each pupil's trend
    PupilWeek,
    /// (class, week): a school's classes and weeks in one reading
    GroupWeek,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        Some(match s {
            "total" => By::Total,
            "pupil" => By::Pupil,
            "group" => By::Group,
            "school" => By::School,
            "week" => By::Week,
            "weekday" => By::Weekday,
            "sex" => By::Sex,
            "subject" => By::Subject,
            _ => return None,
        })
    }
}

/// Minutes, and the shares of scheduled minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub scheduled_minutes: i64,
    pub reported_minutes: i64,
    pub valid_minutes: i64,
    pub invalid_minutes: i64,
    pub other_minutes: i64,
    pub lates: i64,
    /// of the invalid minutes, those on days the pupil's leave was refused
    pub refused_leave_minutes: i64,
}

fn pct(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (1000.0 * part as f64 / whole as f64).round() / 10.0
    }
}

impl Figures {
    pub fn absent_minutes(&self) -> i64 {
        self.valid_minutes + self.invalid_minutes
    }
    pub fn absence_pct(&self) -> f64 {
        pct(self.absent_minutes(), self.scheduled_minutes)
    }
    pub fn valid_pct(&self) -> f64 {
        pct(self.valid_minutes, self.scheduled_minutes)
    }
    pub fn invalid_pct(&self) -> f64 {
        pct(self.invalid_minutes, self.scheduled_minutes)
    }
    pub fn reporting_rate(&self) -> f64 {
        pct(self.reported_minutes, self.scheduled_minutes)
    }
    /// Absence as an exact fraction of scheduled minutes, for comparing with a threshold.
    pub fn at_least_pct(&self, threshold: i64) -> bool {
        self.scheduled_minutes > 0
            && self.absent_minutes() * 100 >= threshold * self.scheduled_minutes
    }
    pub fn add(&mut self, o: &Figures) {
        self.scheduled_minutes += o.scheduled_minutes;
        self.reported_minutes += o.reported_minutes;
        self.valid_minutes += o.valid_minutes;
        self.invalid_minutes += o.invalid_minutes;
        self.other_minutes += o.other_minutes;
        self.lates += o.lates;
        self.refused_leave_minutes += o.refused_leave_minutes;
    }
    fn add_fact(&mut self, f: &Fact) {
        self.scheduled_minutes += f.scheduled;
        self.reported_minutes += f.reported_minutes();
        self.valid_minutes += f.valid;
        self.invalid_minutes += f.invalid;
        self.other_minutes += f.other;
        self.refused_leave_minutes += f.refused_leave;
        if f.status.as_deref() == Some("late") {
            self.lates += 1;
        }
    }
}

/// What a row of figures is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Total,
    /// a pupil, a class (0: no class), or a school
    Id(i64),
    /// ISO year * 100 + week
    Week(i32),
    /// 1 = Monday
    Weekday(i32),
    /// "F", "M", "X", or "" (not recorded)
    Sex(String),
    /// subject code
    Subject(String),
    PupilWeek(i64, i32),
    GroupWeek(i64, i32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: Key,
    /// the pupil's, class's, school's or subject's name
    pub name: String,
    /// a pupil with a protected or confidential identity
    pub protected: bool,
    pub figures: Figures,
}

impl Row {
    /// The id the row is keyed by (a pupil, a class), when it is keyed by one.
    pub fn id(&self) -> Option<i64> {
        match self.key {
            Key::Id(id) => Some(id),
            _ => None,
        }
    }

    /// The pupil a row by pupil is of.
    pub fn pupil(&self) -> Option<PupilId> {
        self.id().map(PupilId)
    }

    /// The key as the API gives it: an id, a week ("2026-W47"), a weekday (1–7), a sex or a
    /// subject code.
    pub fn key_json(&self) -> serde_json::Value {
        match &self.key {
            Key::Total => serde_json::Value::Null,
            Key::Id(0) => serde_json::Value::Null,
            Key::Id(id) => (*id).into(),
            Key::Week(w) => format!("{}-W{:02}", w / 100, w % 100).into(),
            Key::Weekday(d) => (*d).into(),
            Key::Sex(s) => s.clone().into(),
            Key::Subject(s) => s.clone().into(),
            Key::PupilWeek(id, w) | Key::GroupWeek(id, w) => {
                format!("{id}/{}-W{:02}", w / 100, w % 100).into()
            }
        }
    }
}

#[derive(QueryableByName)]
struct Agg {
    #[diesel(sql_type = BigInt)]
    k: i64,
    #[diesel(sql_type = BigInt)]
    k2: i64,
    #[diesel(sql_type = Text)]
    t: String,
    #[diesel(sql_type = BigInt)]
    scheduled: i64,
    #[diesel(sql_type = BigInt)]
    reported: i64,
    #[diesel(sql_type = BigInt)]
    valid: i64,
    #[diesel(sql_type = BigInt)]
    invalid: i64,
    #[diesel(sql_type = BigInt)]
    other: i64,
    #[diesel(sql_type = BigInt)]
    lates: i64,
    #[diesel(sql_type = BigInt)]
    refused: i64,
}

fn scope_sql(scope: Scope, p: &dyn Fn(u8) -> String) -> (String, i64) {
    match scope {
        Scope::Municipality(m) => (
            format!("d.school_id IN (SELECT o.id FROM organisations o WHERE o.parent_id = {})", p(3)),
            m.into(),
        ),
        Scope::School(s) => (format!("d.school_id = {}", p(3)), s.into()),
        Scope::Group(g) => (
            format!(
                "d.school_id = (SELECT g.school_id FROM groups g WHERE g.id = {p3}) AND EXISTS (SELECT 1 FROM group_memberships gm WHERE gm.group_id = {p3} AND gm.pupil_id = d.pupil_id AND gm.start_date <= d.day AND (gm.end_date IS NULL OR gm.end_date >= d.day))",
                p3 = p(3)
            ),
            g.into(),
        ),
        Scope::Pupil(pupil) => (format!("d.pupil_id = {}", p(3)), pupil.into()),
    }
}

/// Sums of `absence_days` by a column; of `absence_class_days` where that is enough (a
/// school's or the municipality's figures by anything but pupil and sex).
fn sums(conn: &mut DbConn, scope: Scope, period: Period, by: By) -> AppResult<Vec<(Key, Figures)>> {
    let per_class = matches!(scope, Scope::Municipality(_) | Scope::School(_))
        && matches!(
            by,
            By::Total | By::Group | By::School | By::Week | By::Weekday | By::GroupWeek
        );
    let (table, class) = if per_class {
        ("absence_class_days", "d.class_id")
    } else {
        ("absence_days", "COALESCE(d.class_id, 0)")
    };
    let zero = "CAST(0 AS BIGINT)";
    let week = "CAST(d.week AS BIGINT)";
    let (k, k2, t, join) = match by {
        By::Total => (zero, zero, "''", ""),
        By::Pupil => ("d.pupil_id", zero, "''", ""),
        By::Group => (class, zero, "''", ""),
        By::School => ("d.school_id", zero, "''", ""),
        By::Week => (week, zero, "''", ""),
        By::Weekday => ("CAST(d.weekday AS BIGINT)", zero, "''", ""),
        By::Sex => (
            zero,
            zero,
            "COALESCE(p.sex, '')",
            " JOIN people p ON p.id = d.pupil_id",
        ),
        By::PupilWeek => ("d.pupil_id", week, "''", ""),
        By::GroupWeek => (class, week, "''", ""),
        By::Subject => {
            return Err(AppError::internal(
                "statistics::sums asked for subjects (figures reads facts for them)",
            ))
        }
    };
    let pg = matches!(conn, DbConn::Pg(_));
    let p = move |n: u8| if pg { format!("${n}") } else { format!("?{n}") };
    let (filter, id) = scope_sql(scope, &p);
    let sql = format!(
        "SELECT {k} AS k, {k2} AS k2, {t} AS t, \
         CAST(SUM(d.scheduled_minutes) AS BIGINT) AS scheduled, \
         CAST(SUM(d.reported_minutes) AS BIGINT) AS reported, \
         CAST(SUM(d.valid_minutes) AS BIGINT) AS valid, \
         CAST(SUM(d.invalid_minutes) AS BIGINT) AS invalid, \
         CAST(SUM(d.other_minutes) AS BIGINT) AS other, \
         CAST(SUM(d.lates) AS BIGINT) AS lates, \
         CAST(SUM(d.refused_leave_minutes) AS BIGINT) AS refused \
         FROM {table} d{join} WHERE d.day >= {p1} AND d.day <= {p2} AND {filter} \
         GROUP BY 1, 2, 3",
        p1 = p(1),
        p2 = p(2),
    );
    let rows: Vec<Agg> = on_backend!(conn, c => diesel::sql_query(&sql)
        .bind::<Date, _>(period.from)
        .bind::<Date, _>(period.to)
        .bind::<BigInt, _>(id)
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|a| {
            let key = match by {
                By::Total => Key::Total,
                By::Pupil | By::Group | By::School => Key::Id(a.k),
                By::Week => Key::Week(a.k as i32),
                By::Weekday => Key::Weekday(a.k as i32),
                By::Sex => Key::Sex(a.t),
                By::PupilWeek => Key::PupilWeek(a.k, a.k2 as i32),
                By::GroupWeek => Key::GroupWeek(a.k, a.k2 as i32),
                By::Subject => Key::Subject(a.t),
            };
            (
                key,
                Figures {
                    scheduled_minutes: a.scheduled,
                    reported_minutes: a.reported,
                    valid_minutes: a.valid,
                    invalid_minutes: a.invalid,
                    other_minutes: a.other,
                    lates: a.lates,
                    refused_leave_minutes: a.refused,
                },
            )
        })
        .collect())
}

/// Calls `each` with every fact in the scope and period (a school's, a group member's while
/// a member, or a pupil's).
pub fn scope_facts(
    conn: &mut DbConn,
    tz: Tz,
    scope: Scope,
    period: Period,
    mut each: impl FnMut(&Fact),
) -> AppResult<()> {
    if period.is_empty() {
        return Ok(());
    }
    match scope {
        Scope::Municipality(_) => Err(AppError::invalid(
            Code::ScopeTooWide,
            Refusal::new("subjects_need_narrower_scope"),
        )),
        Scope::School(s) => Ok(facts::each(
            conn,
            Sel::School(s),
            period.from,
            period.to,
            tz,
            |f| {
                if f.school == s {
                    each(f)
                }
            },
        )?),
        Scope::Pupil(p) => Ok(facts::each(
            conn,
            Sel::Pupils(&[p]),
            period.from,
            period.to,
            tz,
            each,
        )?),
        Scope::Group(g) => {
            let school: SchoolId = groups::table
                .find(g)
                .select(groups::school_id)
                .first(conn)?;
            let spans: Vec<(PupilId, NaiveDate, Option<NaiveDate>)> = group_memberships::table
                .filter(group_memberships::group_id.eq(g))
                .filter(crate::school::membership::during(period.from, period.to))
                .select((
                    group_memberships::pupil_id,
                    group_memberships::start_date,
                    group_memberships::end_date,
                ))
                .load(conn)?;
            let mut pupils: Vec<PupilId> = spans.iter().map(|s| s.0).collect();
            pupils.sort_unstable();
            pupils.dedup();
            Ok(facts::each(
                conn,
                Sel::Pupils(&pupils),
                period.from,
                period.to,
                tz,
                |f| {
                    let member = spans.iter().any(|(p, s, e)| {
                        *p == f.pupil && *s <= f.date && e.is_none_or(|e| e >= f.date)
                    });
                    if member && f.school == school {
                        each(f)
                    }
                },
            )?)
        }
    }
}

/// Each pupil's sums at one school over a period, as stored (`absence_days`): the term
/// report's reading, one school at a time.
pub fn pupil_sums(
    conn: &mut DbConn,
    school: SchoolId,
    period: Period,
) -> AppResult<Vec<(PupilId, Figures)>> {
    Ok(sums(conn, Scope::School(school), period, By::Pupil)?
        .into_iter()
        .filter_map(|(k, f)| match k {
            Key::Id(p) => Some((PupilId(p), f)),
            _ => None,
        })
        .collect())
}

/// The figures in a scope over a period (up to `today`), summed by `by`.
pub fn figures(
    conn: &mut DbConn,
    tz: Tz,
    scope: Scope,
    period: Period,
    by: By,
    today: NaiveDate,
) -> AppResult<Vec<Row>> {
    let period = period.until(today);
    if period.is_empty() {
        return Ok(Vec::new());
    }
    let sums: Vec<(Key, Figures)> = if by == By::Subject {
        let mut per_activity: HashMap<ActivityId, Figures> = HashMap::new();
        scope_facts(conn, tz, scope, period, |f| {
            per_activity.entry(f.activity).or_default().add_fact(f)
        })?;
        let names = activity_subjects(conn, per_activity.keys().copied().collect())?;
        let mut per_subject: HashMap<String, Figures> = HashMap::new();
        for (activity, f) in per_activity {
            let code = names
                .get(&activity)
                .map(|n| n.0.clone())
                .unwrap_or_default();
            per_subject.entry(code).or_default().add(&f);
        }
        let mut subject_names: HashMap<String, String> = HashMap::new();
        for (code, name) in names.into_values() {
            subject_names.entry(code).or_insert(name);
        }
        let mut rows: Vec<Row> = per_subject
            .into_iter()
            .map(|(code, figures)| Row {
                name: subject_names
                    .get(&code)
                    .cloned()
                    .unwrap_or_else(|| code.clone()),
                key: Key::Subject(code),
                protected: false,
                figures,
            })
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        return Ok(rows);
    } else {
        sums(conn, scope, period, by)?
    };
    let ids: Vec<i64> = sums
        .iter()
        .filter_map(|(k, _)| match k {
            Key::Id(id) | Key::PupilWeek(id, _) | Key::GroupWeek(id, _) => Some(*id),
            _ => None,
        })
        .collect();
    let names: HashMap<i64, (String, bool)> = match by {
        By::Pupil | By::PupilWeek => pupil_names(conn, ids)?,
        By::Group | By::GroupWeek => groups::table
            .filter(groups::id.eq_any(&ids))
            .select((groups::id, groups::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .map(|(id, n)| (id, (n, false)))
            .collect(),
        By::School => organisations::table
            .filter(organisations::id.eq_any(&ids))
            .select((organisations::id, organisations::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .map(|(id, n)| (id, (n, false)))
            .collect(),
        _ => HashMap::new(),
    };
    let mut rows: Vec<Row> = sums
        .into_iter()
        .map(|(key, figures)| {
            let (name, protected) = match &key {
                Key::Id(id) | Key::PupilWeek(id, _) | Key::GroupWeek(id, _) => {
                    names.get(id).cloned().unwrap_or_default()
                }
                _ => (String::new(), false),
            };
            Row {
                key,
                name,
                protected,
                figures,
            }
        })
        .collect();
    sort(&mut rows);
    Ok(rows)
}

/// Pupils, classes and schools by name; weeks, weekdays and the rest by key.
fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| match (&a.key, &b.key) {
        (Key::Id(_), Key::Id(_)) => a.name.cmp(&b.name).then(a.key.cmp(&b.key)),
        _ => a.key.cmp(&b.key),
    });
}

/// Rows summed again by a coarser key (a pupil's weeks into the pupil, say), sorted as
/// `figures` sorts.
pub fn regroup(rows: &[Row], key: impl Fn(&Key) -> Key) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    let mut at: HashMap<Key, usize> = HashMap::new();
    for r in rows {
        let k = key(&r.key);
        match at.get(&k) {
            Some(&i) => out[i].figures.add(&r.figures),
            None => {
                at.insert(k.clone(), out.len());
                let name = if matches!(k, Key::Week(_) | Key::Weekday(_) | Key::Total) {
                    String::new()
                } else {
                    r.name.clone()
                };
                out.push(Row {
                    key: k,
                    name,
                    protected: r.protected,
                    figures: r.figures,
                });
            }
        }
    }
    sort(&mut out);
    out
}

/// Sums per (activity, pupil): SS 12000 `AggregatedAttendance`. `school` keeps one
/// school's lessons only.
pub fn per_activity(
    conn: &mut DbConn,
    tz: Tz,
    scope: Scope,
    period: Period,
    school: Option<SchoolId>,
) -> AppResult<std::collections::BTreeMap<(ActivityId, PupilId), Figures>> {
    let mut sums: std::collections::BTreeMap<(ActivityId, PupilId), Figures> = Default::default();
    scope_facts(conn, tz, scope, period, |f| {
        if school.is_none_or(|s| s == f.school) {
            sums.entry((f.activity, f.pupil)).or_default().add_fact(f);
        }
    })?;
    Ok(sums)
}

/// The one row of a total (zeros when nothing was scheduled).
pub fn total(rows: &[Row]) -> Figures {
    let mut f = Figures::default();
    for r in rows {
        f.add(&r.figures);
    }
    f
}

/// Names of pupils ("Given Family"), and whether their identity is protected.
pub fn pupil_names(conn: &mut DbConn, ids: Vec<i64>) -> AppResult<HashMap<i64, (String, bool)>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, String, String)> = people::table
            .filter(people::id.eq_any(chunk))
            .select((
                people::id,
                people::given_name,
                people::family_name,
                people::security_marking,
            ))
            .load(conn)?;
        for (id, g, f, marking) in rows {
            out.insert(id, (format!("{g} {f}"), marking != "none"));
        }
    }
    Ok(out)
}

/// activity → (subject code, subject name)
pub fn activity_subjects(
    conn: &mut DbConn,
    ids: Vec<ActivityId>,
) -> AppResult<HashMap<ActivityId, (String, String)>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(ActivityId, String, String)> = activities::table
            .filter(activities::id.eq_any(chunk))
            .select((
                activities::id,
                activities::subject_code,
                activities::subject_name,
            ))
            .load(conn)?;
        for (id, code, name) in rows {
            out.insert(id, (code, name));
        }
    }
    Ok(out)
}

/// A teacher's unreported lessons in a period: the lessons that have ended and have no
/// roll call, counted for the teacher who should report them (the substitute when there is
/// one).
#[derive(Debug, Clone, Serialize)]
pub struct Unreported {
    pub teacher_id: PersonId,
    pub teacher: String,
    pub lessons: i64,
    pub minutes: i64,
    pub oldest: NaiveDate,
}

pub fn unreported(
    conn: &mut DbConn,
    school: SchoolId,
    period: Period,
    today: NaiveDate,
) -> AppResult<Vec<Unreported>> {
    // lessons of today may still be running: up to yesterday
    let period = period.until(today - Duration::days(1));
    if period.is_empty() {
        return Ok(Vec::new());
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(LessonId, NaiveDate, i32, Option<PersonId>, PersonId)> = lessons::table
        .inner_join(
            activity_teachers::table.on(activity_teachers::activity_id.eq(lessons::activity_id)),
        )
        .left_join(lesson_reports::table)
        .filter(lessons::school_id.eq(school))
        .filter(lessons::lesson_date.between(period.from, period.to))
        .filter(lessons::cancelled.eq(false))
        .filter(lesson_reports::lesson_id.nullable().is_null())
        .select((
            lessons::id,
            lessons::lesson_date,
            lessons::teaching_minutes,
            lessons::substitute_teacher_id,
            activity_teachers::teacher_id,
        ))
        .load(conn)?;
    let mut per: HashMap<PersonId, Unreported> = HashMap::new();
    let mut counted = std::collections::HashSet::new();
    for (lesson, date, minutes, substitute, teacher) in rows {
        let who = substitute.unwrap_or(teacher);
        if !counted.insert((lesson, who)) {
            continue;
        }
        let e = per.entry(who).or_insert(Unreported {
            teacher_id: who,
            teacher: String::new(),
            lessons: 0,
            minutes: 0,
            oldest: date,
        });
        e.lessons += 1;
        e.minutes += i64::from(minutes);
        e.oldest = e.oldest.min(date);
    }
    // names by the rows' raw keys (`Key::Id`), as every list of people here
    let names = pupil_names(conn, per.keys().map(|p| i64::from(*p)).collect())?;
    let mut out: Vec<Unreported> = per
        .into_values()
        .map(|mut u| {
            u.teacher = names
                .get(&i64::from(u.teacher_id))
                .map(|n| n.0.clone())
                .unwrap_or_default();
            u
        })
        .collect();
    out.sort_by(|a, b| b.lessons.cmp(&a.lessons).then(a.teacher.cmp(&b.teacher)));
    Ok(out)
}

/// CSN: pupils with at least `CSN_MINUTES` of invalid absence in a calendar month, and on
/// how many days they had it.
pub const CSN_MINUTES: i64 = 240;

#[derive(Debug, Clone)]
pub struct CsnRow {
    pub row: Row,
    pub days: i64,
}

pub fn csn(
    conn: &mut DbConn,
    tz: Tz,
    school: SchoolId,
    month: Period,
    today: NaiveDate,
) -> AppResult<Vec<CsnRow>> {
    let rows = figures(conn, tz, Scope::School(school), month, By::Pupil, today)?;
    let over: Vec<Row> = rows
        .into_iter()
        .filter(|r| r.figures.invalid_minutes >= CSN_MINUTES)
        .collect();
    let ids: Vec<i64> = over.iter().filter_map(Row::id).collect();
    let mut days: HashMap<i64, i64> = HashMap::new();
    let period = month.until(today);
    for chunk in ids.chunks(CHUNK) {
        let list: Vec<i64> = absence_days::table
            .filter(absence_days::school_id.eq(school))
            .filter(absence_days::pupil_id.eq_any(chunk))
            .filter(absence_days::day.between(period.from, period.to))
            .filter(absence_days::invalid_minutes.gt(0))
            .select(absence_days::pupil_id)
            .load(conn)?;
        for p in list {
            *days.entry(p).or_default() += 1;
        }
    }
    let mut out: Vec<CsnRow> = over
        .into_iter()
        .map(|row| {
            let d = match row.key {
                Key::Id(id) => days.get(&id).copied().unwrap_or(0),
                _ => 0,
            };
            CsnRow { row, days: d }
        })
        .collect();
    out.sort_by(|a, b| {
        b.row
            .figures
            .invalid_minutes
            .cmp(&a.row.figures.invalid_minutes)
            .then(a.row.name.cmp(&b.row.name))
    });
    Ok(out)
}

/// Whether the school is an upper secondary school (the CSN list applies).
pub fn is_upper_secondary(form: Option<&str>) -> bool {
    matches!(form, Some("gymnasieskola" | "anpassad_gymnasieskola"))
}
