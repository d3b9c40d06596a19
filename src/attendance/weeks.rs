//! A group's absence over a period, per pupil: the mentor's week and the guardian's term.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::error::AppResult;
use crate::insight::statistics::facts::Sel;
use crate::schema::*;
use crate::school::ids::{GroupId, PupilId};

/// One pupil's week for the mentor.
#[derive(Debug, Clone, Serialize)]
pub struct WeekRow {
    pub pupil_id: PupilId,
    pub name: String,
    pub scheduled_minutes: i64,
    pub valid_minutes: i64,
    pub invalid_minutes: i64,
    pub lates: i64,
    /// of the invalid minutes, those on days the pupil's leave was refused
    pub refused_leave_minutes: i64,
}

impl WeekRow {
    pub fn absence_pct(&self) -> f64 {
        if self.scheduled_minutes == 0 {
            0.0
        } else {
            100.0 * (self.valid_minutes + self.invalid_minutes) as f64
                / self.scheduled_minutes as f64
        }
    }
}

/// A group's absence from `from` to `to` (inclusive) per pupil: scheduled minutes follow
/// the memberships valid on each lesson's date and skip cancelled lessons.
pub fn group_week(
    conn: &mut DbConn,
    group: GroupId,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<WeekRow>> {
    let members: Vec<(PupilId, String, String)> = group_memberships::table
        .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
        .filter(group_memberships::group_id.eq(group))
        .filter(crate::school::membership::during(from, to))
        .select((people::id, people::given_name, people::family_name))
        .distinct()
        .load(conn)?;
    period_rows(conn, members, from, to, tz)
}

/// Scheduled, valid and invalid minutes per pupil over a period (inclusive dates): the
/// statistics' facts (`crate::insight::statistics::facts`) summed per pupil.
pub fn period_rows(
    conn: &mut DbConn,
    members: Vec<(PupilId, String, String)>,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<WeekRow>> {
    let ids: Vec<PupilId> = members.iter().map(|m| m.0).collect();
    // Swedish school lists go by surname
    let order: HashMap<PupilId, (Vec<u32>, Vec<u32>, PupilId)> = members
        .iter()
        .map(|(id, g, f)| (*id, crate::i18n::by_surname(f, g, *id)))
        .collect();
    let mut rows: HashMap<PupilId, WeekRow> = members
        .into_iter()
        .map(|(id, g, f)| {
            let row = WeekRow {
                pupil_id: id,
                name: format!("{g} {f}"),
                scheduled_minutes: 0,
                valid_minutes: 0,
                invalid_minutes: 0,
                lates: 0,
                refused_leave_minutes: 0,
            };
            (id, row)
        })
        .collect();
    crate::insight::statistics::facts::each(conn, Sel::Pupils(&ids), from, to, tz, |f| {
        if let Some(row) = rows.get_mut(&f.pupil) {
            row.scheduled_minutes += f.scheduled;
            row.valid_minutes += f.valid;
            row.invalid_minutes += f.invalid;
            row.refused_leave_minutes += f.refused_leave;
            if f.status.as_deref() == Some("late") {
                row.lates += 1;
            }
        }
    })?;
    let mut rows: Vec<WeekRow> = rows.into_values().collect();
    rows.sort_by(|a, b| order.get(&a.pupil_id).cmp(&order.get(&b.pupil_id)));
    Ok(rows)
}
