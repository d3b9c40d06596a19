//! Trips: the school's office or principal moves a group (a class, a teaching group) out of
//! the timetable for a trip or another school activity, for whole days or some hours.
//!
//! - The lessons the trip covers count as its reason, one that is not absence ("Annan
//!   skolaktivitet"): the roll call marks the group's pupils with it until the teacher says
//!   otherwise (`crate::school::absence::covers_for_lesson`), and the statistics count those
//!   minutes as neither valid nor invalid absence.
//! - The office unticks pupils of the group who stay at school (`set_goers`, the table
//!   `trip_stays`): the trip does not cover them, and their teachers mark them as on any day.
//! - A trip does not excuse anything else: a pupil who stayed behind and was marked absent
//!   without a reason is unexplained absence, and the guardians hear of it. A guardian's
//!   report or granted leave for the same time wins over the trip.
//! - Trips are planned from today on, for at most `MAX_DAYS` days, and none of the group's
//!   pupils may be on another trip at the same time (checked under the school's row lock).
//!   A trip that has not ended can be cancelled; nothing is deleted. Every change is
//!   audited.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::json;

use crate::audit;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::calendar::{to_local, to_utc, utc_window};
use crate::school::ids::{GroupId, LessonId, PupilId, ReasonId, SchoolId, TripId};
use crate::school::Act;
use crate::school::{Checked, Refusal};

/// The longest trip.
pub const MAX_DAYS: i64 = 14;
pub const MAX_TITLE: usize = 100;

/// A trip as the trips page shows it (times school-local).
pub struct Trip {
    pub id: TripId,
    pub group: String,
    pub title: String,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub reason_sv: String,
    pub reason_en: String,
    pub created_by: String,
    /// The lessons it covers, and how many of them have a roll call already.
    pub lessons: usize,
    pub reported: usize,
    /// The group's pupils then: (id, name, stays at school), by family name.
    pub pupils: Vec<(PupilId, String, bool)>,
}

/// A reason a trip may count as: (id, code, Swedish, English).
pub type TripReason = (ReasonId, String, String, String);

pub struct TripsPage {
    pub school: String,
    /// Trips that have not ended, soonest first.
    pub trips: Vec<Trip>,
    /// The school's groups: (id, name).
    pub groups: Vec<(GroupId, String)>,
    pub reasons: Vec<TripReason>,
}

/// A trip as asked for on the form (school-local; no times: whole days).
pub struct NewTrip {
    pub group: GroupId,
    pub title: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub from_time: Option<NaiveTime>,
    pub to_time: Option<NaiveTime>,
    pub reason: ReasonId,
}

impl NewTrip {
    /// The school-local period: from the first day's start (or midnight) to the last day's
    /// end time (or the following midnight); or the refusal that says what is wrong.
    pub fn period(&self, today: NaiveDate) -> Result<(NaiveDateTime, NaiveDateTime), Refusal> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE {
            return Err(Refusal::new("give_trip_name_most_100"));
        }
        if self.first_day < today {
            return Err(Refusal::new("trips_added_from_today"));
        }
        if self.last_day < self.first_day {
            return Err(Refusal::new("last_day_before_first_day"));
        }
        if self.last_day - self.first_day >= Duration::days(MAX_DAYS) {
            return Err(Refusal::new("trip_last_most_14_days"));
        }
        let from = self
            .first_day
            .and_time(self.from_time.unwrap_or(NaiveTime::MIN));
        let to = match self.to_time {
            Some(t) => self.last_day.and_time(t),
            None => (self.last_day + Duration::days(1)).and_time(NaiveTime::MIN),
        };
        if to <= from {
            return Err(Refusal::new("trip_must_end_after_starts"));
        }
        Ok((from, to))
    }
}

/// The reasons offered at the school a trip may count as: active, chosen by staff, and not
/// absence.
pub fn reasons(conn: &mut DbConn, school: SchoolId) -> AppResult<Vec<TripReason>> {
    let owners = crate::attendance::absence_reasons::owners_at(conn, school)?;
    Ok(absence_reasons::table
        .filter(absence_reasons::organisation_id.eq_any(owners))
        .filter(absence_reasons::active.eq(true))
        .filter(absence_reasons::staff_selectable.eq(true))
        .filter(absence_reasons::counts_as_absence.eq(false))
        .select((
            absence_reasons::id,
            absence_reasons::code,
            absence_reasons::name_sv,
            absence_reasons::name_en,
        ))
        .order((absence_reasons::sort_order, absence_reasons::id))
        .load(conn)?)
}

type TripRow = (
    TripId,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    GroupId,
    String,
    String,
    String,
    String,
);

/// The trips page: the school's trips that have not ended, its groups and the reasons.
pub fn load(
    conn: &mut DbConn,
    school: SchoolId,
    now_utc: NaiveDateTime,
    tz: Tz,
) -> AppResult<TripsPage> {
    let name: String = organisations::table
        .find(school)
        .select(organisations::name)
        .first(conn)?;
    let rows: Vec<TripRow> = trips::table
        .inner_join(groups::table)
        .inner_join(absence_reasons::table)
        .inner_join(people::table.on(people::id.eq(trips::created_by)))
        .filter(trips::school_id.eq(school))
        .filter(trips::cancelled_at.is_null())
        .filter(trips::ends_at.gt(now_utc))
        .select((
            trips::id,
            groups::name,
            trips::title,
            trips::starts_at,
            trips::ends_at,
            trips::group_id,
            absence_reasons::name_sv,
            absence_reasons::name_en,
            people::given_name,
            people::family_name,
        ))
        .order((trips::starts_at, trips::id))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, group, title, s, e, group_id, sv, en, g, f) in rows {
        let (lessons, reported) = covered_lessons(conn, group_id, (s, e), tz)?;
        let stay = stays(conn, id)?;
        let pupils = named_pupils(
            conn,
            group_id,
            to_local(tz, s).date(),
            to_local(tz, e - Duration::seconds(1)).date(),
        )?
        .into_iter()
        .map(|(p, name)| (p, name, stay.contains(&p)))
        .collect();
        out.push(Trip {
            pupils,
            id,
            group,
            title,
            from: to_local(tz, s),
            to: to_local(tz, e),
            reason_sv: sv,
            reason_en: en,
            created_by: format!("{g} {f}"),
            lessons: lessons.len(),
            reported,
        });
    }
    let mut groups: Vec<(GroupId, String)> = groups::table
        .filter(groups::school_id.eq(school))
        .select((groups::id, groups::name))
        .load(conn)?;
    groups.sort_by(|a, b| {
        crate::i18n::swedish_order(&a.1)
            .cmp(&crate::i18n::swedish_order(&b.1))
            .then(a.0.cmp(&b.0))
    });
    Ok(TripsPage {
        school: name,
        trips: out,
        groups,
        reasons: reasons(conn, school)?,
    })
}

/// The group's pupils at some time between two school-local dates, with their names, by
/// family name.
fn named_pupils(
    conn: &mut DbConn,
    group: GroupId,
    first: NaiveDate,
    last: NaiveDate,
) -> AppResult<Vec<(PupilId, String)>> {
    let mut rows: Vec<(PupilId, String, String)> = group_memberships::table
        .inner_join(people::table)
        .filter(group_memberships::group_id.eq(group))
        .filter(crate::school::membership::during(first, last))
        .select((people::id, people::given_name, people::family_name))
        .distinct()
        .load(conn)?;
    rows.sort_by_cached_key(|(id, g, f)| {
        (
            crate::i18n::swedish_order(f),
            crate::i18n::swedish_order(g),
            *id,
        )
    });
    Ok(rows
        .into_iter()
        .map(|(id, g, f)| (id, format!("{g} {f}")))
        .collect())
}

/// The group's pupils at some time between two school-local dates.
fn pupils_of(
    conn: &mut DbConn,
    group: GroupId,
    first: NaiveDate,
    last: NaiveDate,
) -> AppResult<Vec<PupilId>> {
    Ok(group_memberships::table
        .filter(group_memberships::group_id.eq(group))
        .filter(crate::school::membership::during(first, last))
        .select(group_memberships::pupil_id)
        .distinct()
        .load(conn)?)
}

/// The lessons (not cancelled) a trip of `group` over a UTC period covers: every lesson in
/// the period with one of the group's pupils. Answers them and how many have a roll call.
pub fn covered_lessons(
    conn: &mut DbConn,
    group: GroupId,
    (starts, ends): (NaiveDateTime, NaiveDateTime),
    tz: Tz,
) -> AppResult<(Vec<LessonId>, usize)> {
    let (first, last) = (
        to_local(tz, starts).date(),
        to_local(tz, ends - Duration::seconds(1)).date(),
    );
    let pupils = pupils_of(conn, group, first, last)?;
    let rows: Vec<(LessonId, NaiveDate, NaiveTime, NaiveTime)> = lessons::table
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .inner_join(
            group_memberships::table.on(group_memberships::group_id.eq(activity_groups::group_id)),
        )
        .filter(group_memberships::pupil_id.eq_any(&pupils))
        .filter(crate::school::membership::during(first, last))
        .filter(lessons::lesson_date.between(first, last))
        .filter(lessons::cancelled.eq(false))
        .select((
            lessons::id,
            lessons::lesson_date,
            lessons::starts_at,
            lessons::ends_at,
        ))
        .distinct()
        .load(conn)?;
    let mut ids: Vec<LessonId> = rows
        .into_iter()
        .filter(|(_, date, s, e)| {
            let (ws, we) = utc_window(tz, *date, *s, *e);
            ws < ends && we > starts
        })
        .map(|r| r.0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let reported: i64 = lesson_reports::table
        .filter(lesson_reports::lesson_id.eq_any(&ids))
        .count()
        .get_result(conn)?;
    Ok((ids, reported as usize))
}

/// Plans a trip. Answers its id, the lessons it covers and how many of them have a roll
/// call already (kept as the teacher made it).
pub fn add(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    t: &NewTrip,
) -> Checked<(TripId, usize, usize)> {
    let (from, to) = match t.period(ch.today) {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let (from_utc, to_utc) = (to_utc(ch.tz, from), to_utc(ch.tz, to));
    if to_utc <= ch.now {
        return Ok(Err(Refusal::new("trip_already_over")));
    }
    let group_ok: i64 = groups::table
        .filter(groups::id.eq(t.group))
        .filter(groups::school_id.eq(school))
        .count()
        .get_result(conn)?;
    if group_ok == 0 {
        return Ok(Err(Refusal::new("choose_one_school_s_groups")));
    }
    if !reasons(conn, school)?.iter().any(|r| r.0 == t.reason) {
        return Ok(Err(Refusal::new("choose_reason_does_count_absence")));
    }
    conn.transaction(|conn| {
        // two overlapping trips asked for at the same moment are checked one at a time
        conn.lock_organisation(school)?;
        let pupils = pupils_of(conn, t.group, from.date(), to.date())?;
        if overlaps(
            conn,
            ch.tz,
            school,
            (from_utc, to_utc),
            t.group,
            &pupils,
            None,
        )? {
            return Ok(Err(overlap_refusal()));
        }
        let id: TripId = diesel::insert_into(trips::table)
            .values((
                trips::school_id.eq(school),
                trips::group_id.eq(t.group),
                trips::reason_id.eq(t.reason),
                trips::title.eq(t.title.trim()),
                trips::starts_at.eq(from_utc),
                trips::ends_at.eq(to_utc),
                trips::created_by.eq(ch.actor.id),
                trips::created_at.eq(ch.now),
            ))
            .returning(trips::id)
            .get_result(conn)?;
        let (lessons, reported) = covered_lessons(conn, t.group, (from_utc, to_utc), ch.tz)?;
        audit::acted(
            conn,
            ch,
            "trip.created",
            "trip",
            id,
            json!({"school_id": school, "group_id": t.group, "title": t.title.trim(),
                    "from": from, "to": to, "reason_id": t.reason, "lessons": lessons.len(),
                    "reported": reported}),
        )?;
        Ok(Ok((id, lessons.len(), reported)))
    })
}

/// Whether another trip of the school (not `except`) overlapping the UTC period takes
/// `group` or one of `pupils` out; a pupil who stays behind on it is not out.
fn overlaps(
    conn: &mut DbConn,
    tz: Tz,
    school: SchoolId,
    (from_utc, to_utc): (NaiveDateTime, NaiveDateTime),
    group: GroupId,
    pupils: &[PupilId],
    except: Option<TripId>,
) -> AppResult<bool> {
    let others: Vec<(TripId, GroupId, NaiveDateTime, NaiveDateTime)> = trips::table
        .filter(trips::school_id.eq(school))
        .filter(trips::cancelled_at.is_null())
        .filter(trips::starts_at.lt(to_utc))
        .filter(trips::ends_at.gt(from_utc))
        .select((trips::id, trips::group_id, trips::starts_at, trips::ends_at))
        .load(conn)?;
    for (id, theirs, s, e) in others.into_iter().filter(|o| Some(o.0) != except) {
        let (first, last) = (
            to_local(tz, s.max(from_utc)).date(),
            to_local(tz, e.min(to_utc) - Duration::seconds(1)).date(),
        );
        let stay = stays(conn, id)?;
        let out = pupils_of(conn, theirs, first, last)?;
        if (theirs == group && except.is_none())
            || out.iter().any(|p| pupils.contains(p) && !stay.contains(p))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn overlap_refusal() -> Refusal {
    Refusal::new("group_pupils_already_have_trip")
}

/// The pupils who stay at school while their group is on the trip.
fn stays(conn: &mut DbConn, trip: TripId) -> AppResult<Vec<PupilId>> {
    Ok(trip_stays::table
        .filter(trip_stays::trip_id.eq(trip))
        .select(trip_stays::pupil_id)
        .order(trip_stays::pupil_id)
        .load(conn)?)
}

/// Sets who of the group goes on a trip that has not ended; the rest of the group stays
/// at school. A pupil not in the group then is refused; one who would go while on another
/// trip at the same time too. Answers how many stay.
pub fn set_goers(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    trip: TripId,
    goes: &[PupilId],
) -> Checked<usize> {
    conn.transaction(|conn| {
        // checked one at a time with the school's other trip changes
        conn.lock_organisation(school)?;
        let row: Option<(GroupId, NaiveDateTime, NaiveDateTime)> = trips::table
            .find(trip)
            .filter(trips::school_id.eq(school))
            .filter(trips::cancelled_at.is_null())
            .select((trips::group_id, trips::starts_at, trips::ends_at))
            .first(conn)
            .optional()?;
        let Some((group, s, e)) = row else {
            return Err(AppError::NotFound);
        };
        if e <= ch.now {
            return Ok(Err(Refusal::new("trip_already_over")));
        }
        let (first, last) = (
            to_local(ch.tz, s).date(),
            to_local(ch.tz, e - Duration::seconds(1)).date(),
        );
        let members = pupils_of(conn, group, first, last)?;
        if goes.iter().any(|p| !members.contains(p)) {
            return Ok(Err(Refusal::new("choose_among_group_s_pupils")));
        }
        let mut wanted: Vec<PupilId> = members
            .iter()
            .copied()
            .filter(|p| !goes.contains(p))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let before = stays(conn, trip)?;
        if before == wanted {
            return Ok(Ok(wanted.len()));
        }
        let going: Vec<PupilId> = members
            .iter()
            .copied()
            .filter(|p| before.contains(p) && !wanted.contains(p))
            .collect();
        if !going.is_empty() && overlaps(conn, ch.tz, school, (s, e), group, &going, Some(trip))? {
            return Ok(Err(overlap_refusal()));
        }
        diesel::delete(trip_stays::table.filter(trip_stays::trip_id.eq(trip))).execute(conn)?;
        for pupil in &wanted {
            diesel::insert_into(trip_stays::table)
                .values((
                    trip_stays::trip_id.eq(trip),
                    trip_stays::pupil_id.eq(*pupil),
                ))
                .execute(conn)?;
        }
        audit::acted(
            conn,
            ch,
            "trip.stays",
            "trip",
            trip,
            json!({"school_id": school, "staying": wanted.len(), "before": before.len()}),
        )?;
        Ok(Ok(wanted.len()))
    })
}

/// Cancels a trip that has not ended. Of two identical cancellations at the same moment
/// one changes and audits; the other finds it done.
pub fn cancel(conn: &mut DbConn, ch: &Act, school: SchoolId, trip: TripId) -> Checked<()> {
    conn.transaction(|conn| {
        let row: Option<(NaiveDateTime, Option<NaiveDateTime>)> = trips::table
            .find(trip)
            .filter(trips::school_id.eq(school))
            .select((trips::ends_at, trips::cancelled_at))
            .first(conn)
            .optional()?;
        let Some((ends, cancelled)) = row else {
            return Err(AppError::NotFound);
        };
        if cancelled.is_some() {
            return Ok(Ok(()));
        }
        if ends <= ch.now {
            return Ok(Err(Refusal::new("trip_over_cancelled")));
        }
        let done = diesel::update(
            trips::table
                .find(trip)
                .filter(trips::cancelled_at.is_null()),
        )
        .set((
            trips::cancelled_at.eq(Some(ch.now)),
            trips::cancelled_by.eq(Some(ch.actor.id)),
        ))
        .execute(conn)?;
        if done == 1 {
            audit::acted(
                conn,
                ch,
                "trip.cancelled",
                "trip",
                trip,
                json!({"school_id": school}),
            )?;
        }
        Ok(Ok(()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn trip(first: &str, last: &str, from: Option<&str>, to: Option<&str>) -> NewTrip {
        NewTrip {
            group: GroupId(1),
            title: "Skansen".into(),
            first_day: d(first),
            last_day: d(last),
            from_time: from.map(|t| t.parse().unwrap()),
            to_time: to.map(|t| t.parse().unwrap()),
            reason: ReasonId(1),
        }
    }

    #[test]
    fn whole_days_run_midnight_to_midnight_and_hours_keep_their_times() {
        let today = d("2026-11-25");
        let (f, t) = trip("2026-11-25", "2026-11-26", None, None)
            .period(today)
            .unwrap();
        assert_eq!(f, d("2026-11-25").and_hms_opt(0, 0, 0).unwrap());
        assert_eq!(t, d("2026-11-27").and_hms_opt(0, 0, 0).unwrap());
        let (f, t) = trip("2026-11-25", "2026-11-25", Some("09:00"), Some("13:30"))
            .period(today)
            .unwrap();
        assert_eq!(f, d("2026-11-25").and_hms_opt(9, 0, 0).unwrap());
        assert_eq!(t, d("2026-11-25").and_hms_opt(13, 30, 0).unwrap());
    }

    #[test]
    fn a_past_backwards_overlong_or_nameless_trip_is_refused() {
        let today = d("2026-11-25");
        let refused = |t: NewTrip| t.period(today).err().map(|r| r.code);
        let past = refused(trip("2026-11-24", "2026-11-25", None, None));
        assert_eq!(past, Some("trips_added_from_today"));
        let backwards = refused(trip("2026-11-26", "2026-11-25", None, None));
        assert_eq!(backwards, Some("last_day_before_first_day"));
        // 14 days at most: 26 November to 9 December, not to 10 December
        let long_trip = refused(trip("2026-11-26", "2026-12-10", None, None));
        assert_eq!(long_trip, Some("trip_last_most_14_days"));
        assert!(refused(trip("2026-11-26", "2026-12-09", None, None)).is_none());
        let times = refused(trip(
            "2026-11-25",
            "2026-11-25",
            Some("13:00"),
            Some("09:00"),
        ));
        assert_eq!(times, Some("trip_must_end_after_starts"));
        let mut nameless = trip("2026-11-25", "2026-11-25", None, None);
        nameless.title = "  ".into();
        assert_eq!(refused(nameless), Some("give_trip_name_most_100"));
        let mut long = trip("2026-11-25", "2026-11-25", None, None);
        long.title = "x".repeat(101);
        assert_eq!(refused(long), Some("give_trip_name_most_100"));
    }
}
