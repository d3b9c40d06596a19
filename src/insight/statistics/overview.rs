//! What the statistics pages read in one go: the schools a viewer has figures for, a
//! school's overview (weeks, classes, pupils over its threshold), the municipality's
//! schools, and a threshold list with each pupil's weeks. Access is checked here, before
//! any figure is read.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use diesel::prelude::*;

use super::{figures, regroup, total, By, Figures, Key, Period, Row, Scope};
use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::{GroupId, OrganisationId, PupilId, SchoolId};

/// A school the viewer has statistics for: (id, name, school form).
pub type School = (SchoolId, String, Option<String>);

/// The schools the viewer has statistics for, by name: those they lead and those of the
/// municipalities they administer.
pub fn schools_of(conn: &mut DbConn, v: &Viewer) -> AppResult<Vec<School>> {
    let mut ids: Vec<SchoolId> = v.roles.principal_of.clone();
    ids.extend(access::admin_schools(conn, v)?.into_iter().map(|s| s.0));
    Ok(organisations::table
        .filter(organisations::id.eq_any(&ids))
        .select((
            organisations::id,
            organisations::name,
            organisations::school_form,
        ))
        .order(organisations::name)
        .load(conn)?)
}

/// The school a page shows: the one asked for (if the viewer may see it), else `default`
/// picks among the viewer's schools; `None` when there is none to pick.
pub fn chosen_school(
    conn: &mut DbConn,
    v: &Viewer,
    wanted: Option<SchoolId>,
    schools: &[School],
) -> AppResult<Option<SchoolId>> {
    match wanted {
        Some(id) => {
            access::school(conn, v, id)?;
            Ok(Some(id))
        }
        None => Ok(schools.first().map(|s| s.0)),
    }
}

/// Rows by absence, highest first (then by name).
pub fn ranked(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| {
        b.figures
            .absence_pct()
            .total_cmp(&a.figures.absence_pct())
            .then(a.name.cmp(&b.name))
    });
    rows
}

/// One school's overview for a period.
pub struct SchoolOverview {
    pub id: SchoolId,
    pub name: String,
    pub form: Option<String>,
    /// the school's alert threshold, per cent
    pub threshold: i32,
    pub total: Figures,
    pub weeks: Vec<Row>,
    /// classes by absence, highest first
    pub classes: Vec<Row>,
    /// how many pupils are at or over the threshold
    pub over: usize,
}

/// A school's overview; the caller has checked access to `id`.
pub fn school_overview(
    conn: &mut DbConn,
    tz: Tz,
    id: SchoolId,
    period: Period,
    today: NaiveDate,
) -> AppResult<SchoolOverview> {
    let (name, form, threshold): (String, Option<String>, i32) = organisations::table
        .find(id)
        .select((
            organisations::name,
            organisations::school_form,
            organisations::alert_threshold_pct,
        ))
        .first(conn)?;
    let scope = Scope::School(id);
    // classes and weeks in one reading of the per-class sums
    let both = figures(conn, tz, scope, period, By::GroupWeek, today)?;
    let weeks = regroup(&both, |k| match k {
        Key::GroupWeek(_, w) => Key::Week(*w),
        other => other.clone(),
    });
    let classes = ranked(regroup(&both, |k| match k {
        Key::GroupWeek(g, _) => Key::Id(*g),
        other => other.clone(),
    }));
    let over = figures(conn, tz, scope, period, By::Pupil, today)?
        .iter()
        .filter(|r| r.figures.at_least_pct(threshold.into()))
        .count();
    Ok(SchoolOverview {
        id,
        name,
        form,
        threshold,
        total: total(&weeks),
        weeks,
        classes,
        over,
    })
}

/// Every school of the municipalities the viewer administers, one row each.
pub fn municipality_schools(
    conn: &mut DbConn,
    tz: Tz,
    v: &Viewer,
    period: Period,
    today: NaiveDate,
) -> AppResult<Vec<Row>> {
    let mut rows = Vec::new();
    for m in &v.roles.admin_of {
        rows.extend(figures(
            conn,
            tz,
            Scope::Municipality(*m),
            period,
            By::School,
            today,
        )?);
    }
    Ok(rows)
}

/// The school's alert threshold, per cent.
pub fn alert_threshold(conn: &mut DbConn, school: SchoolId) -> AppResult<i32> {
    Ok(organisations::table
        .find(school)
        .select(organisations::alert_threshold_pct)
        .first(conn)?)
}

/// The school's form ("GY", "GR", …) as imported, if any.
pub fn school_form(conn: &mut DbConn, school: SchoolId) -> AppResult<Option<String>> {
    Ok(organisations::table
        .find(school)
        .select(organisations::school_form)
        .first(conn)?)
}

/// A class's name.
pub fn group_name(conn: &mut DbConn, group: GroupId) -> AppResult<String> {
    Ok(groups::table.find(group).select(groups::name).first(conn)?)
}

/// Each pupil's class (a group of type class) on a day, by pupil id; a pupil in two
/// classes that day has them joined by a comma.
pub fn classes_on(
    conn: &mut DbConn,
    pupils: &[PupilId],
    day: NaiveDate,
) -> AppResult<HashMap<PupilId, String>> {
    let mut out: HashMap<PupilId, String> = HashMap::new();
    for chunk in pupils.chunks(900) {
        let rows: Vec<(PupilId, String)> = group_memberships::table
            .inner_join(groups::table)
            .filter(group_memberships::pupil_id.eq_any(chunk))
            .filter(crate::school::membership::on(day))
            .filter(groups::group_type.eq("class"))
            .select((group_memberships::pupil_id, groups::name))
            .order((group_memberships::pupil_id, groups::name))
            .load(conn)?;
        for (pupil, name) in rows {
            out.entry(pupil)
                .and_modify(|c| {
                    c.push_str(", ");
                    c.push_str(&name);
                })
                .or_insert(name);
        }
    }
    Ok(out)
}

/// Each pupil's weeks in order: (week, figures).
pub type Weeks = HashMap<i64, Vec<(i32, Figures)>>;

/// Pupils at or over `threshold` per cent, by absence, and each one's weeks in order.
pub fn over_threshold(
    conn: &mut DbConn,
    tz: Tz,
    scope: Scope,
    period: Period,
    threshold: i64,
    today: NaiveDate,
) -> AppResult<(Vec<Row>, Weeks)> {
    // each pupil's weeks, and their sum: one reading
    let weeks = figures(conn, tz, scope, period, By::PupilWeek, today)?;
    let rows = ranked(
        regroup(&weeks, |k| match k {
            Key::PupilWeek(p, _) => Key::Id(*p),
            other => other.clone(),
        })
        .into_iter()
        .filter(|r| r.figures.at_least_pct(threshold))
        .collect(),
    );
    Ok((rows, pupil_weeks(weeks)))
}

/// Per pupil: their weeks in order, from `By::PupilWeek` rows.
pub fn pupil_weeks(rows: Vec<Row>) -> Weeks {
    let mut out: HashMap<i64, Vec<(i32, Figures)>> = HashMap::new();
    for r in rows {
        if let Key::PupilWeek(p, w) = r.key {
            out.entry(p).or_default().push((w, r.figures));
        }
    }
    for v in out.values_mut() {
        v.sort_by_key(|w| w.0);
    }
    out
}

/// One school on the huvudman's page.
#[derive(Debug, Clone)]
pub struct HuvudmanSchool {
    pub id: SchoolId,
    pub name: String,
    /// the school form as stored ("grundskola", …)
    pub form: Option<String>,
    pub unit_code: Option<String>,
    pub figures: Figures,
    /// pupils at or over the huvudman's threshold at this school
    pub over: usize,
}

/// The huvudman's view of a period: every school side by side and the weeks of all.
#[derive(Debug, Clone)]
pub struct HuvudmanOverview {
    /// the huvudman's alert threshold, per cent (the lowest of its municipalities')
    pub threshold: i32,
    pub schools: Vec<HuvudmanSchool>,
    pub total: Figures,
    pub weeks: Vec<Row>,
    /// by school form and year group (of the pupils' classes), in that order
    pub years: Vec<YearGroupRow>,
}

/// The figures of one year group of one school form, across the schools.
#[derive(Debug, Clone)]
pub struct YearGroupRow {
    /// the school form as stored; None for pupils in no class
    pub form: Option<String>,
    /// the classes' year group; None for pupils in no class, or classes without one
    pub year: Option<i32>,
    pub figures: Figures,
}

/// The classes' rows summed by (school form, year group).
fn by_year_group(conn: &mut DbConn, classes: &[Row]) -> AppResult<Vec<YearGroupRow>> {
    let ids: Vec<GroupId> = classes
        .iter()
        .filter_map(|r| r.id())
        .filter(|id| *id > 0)
        .map(GroupId)
        .collect();
    let mut of: HashMap<i64, (Option<String>, Option<i32>)> = HashMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows: Vec<(GroupId, Option<String>, Option<i32>)> = groups::table
            .inner_join(organisations::table)
            .filter(groups::id.eq_any(chunk))
            .select((groups::id, organisations::school_form, groups::school_year))
            .load(conn)?;
        of.extend(rows.into_iter().map(|(g, f, y)| (i64::from(g), (f, y))));
    }
    let mut sums: std::collections::BTreeMap<(Option<String>, Option<i32>), Figures> =
        Default::default();
    for r in classes {
        let key = r
            .id()
            .and_then(|id| of.get(&id).cloned())
            .unwrap_or((None, None));
        sums.entry(key).or_default().add(&r.figures);
    }
    Ok(sums
        .into_iter()
        .map(|((form, year), figures)| YearGroupRow {
            form,
            year,
            figures,
        })
        .collect())
}

/// Every school of the municipalities over a period (up to `today`); the caller has
/// checked the viewer leads or follows them up.
pub fn huvudman_overview(
    conn: &mut DbConn,
    tz: Tz,
    municipalities: &[OrganisationId],
    period: Period,
    today: NaiveDate,
) -> AppResult<HuvudmanOverview> {
    let threshold: i32 = organisations::table
        .filter(organisations::id.eq_any(municipalities))
        .select(diesel::dsl::min(organisations::alert_threshold_pct))
        .first::<Option<i32>>(conn)?
        .unwrap_or(15);
    let listed: Vec<(SchoolId, String, Option<String>, Option<String>)> = organisations::table
        .filter(organisations::parent_id.eq_any(municipalities))
        .filter(organisations::org_type.eq("school"))
        .select((
            organisations::id,
            organisations::name,
            organisations::school_form,
            organisations::school_unit_code,
        ))
        .order((organisations::name, organisations::id))
        .load(conn)?;
    let so_far = period.until(today);
    let mut schools = Vec::with_capacity(listed.len());
    for (id, name, form, unit_code) in listed {
        let pupils = if so_far.is_empty() {
            Vec::new()
        } else {
            super::pupil_sums(conn, id, so_far)?
        };
        let mut figures = Figures::default();
        let mut over = 0;
        for (_, f) in &pupils {
            figures.add(f);
            if f.at_least_pct(threshold.into()) {
                over += 1;
            }
        }
        schools.push(HuvudmanSchool {
            id,
            name,
            form,
            unit_code,
            figures,
            over,
        });
    }
    let (mut weeks, mut classes) = (Vec::new(), Vec::new());
    for m in municipalities {
        let scope = Scope::Municipality(*m);
        weeks.extend(figures(conn, tz, scope, period, By::Week, today)?);
        classes.extend(figures(conn, tz, scope, period, By::Group, today)?);
    }
    let weeks = regroup(&weeks, |k| k.clone());
    let years = by_year_group(conn, &classes)?;
    let mut total = Figures::default();
    for s in &schools {
        total.add(&s.figures);
    }
    Ok(HuvudmanOverview {
        threshold,
        schools,
        total,
        weeks,
        years,
    })
}
