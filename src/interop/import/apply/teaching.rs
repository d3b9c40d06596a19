//! Activities with their groups and teachers, and lessons.

use crate::db::DbConn;
use crate::insight::term_report::Term;
use crate::interop::import::roster::{Event, Roster, Summary};
use crate::interop::import::staged;
use crate::schema::*;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

use super::common::*;
use super::known::{lookup, Table};
use super::people::*;
use super::touched::Touched;

/// Activities, with exactly their groups and teachers.
pub(super) fn activities(
    conn: &mut DbConn,
    r: &Roster,
    keys: &Keys,
    now: NaiveDateTime,
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<Ids> {
    type ActivityValues = (String, String, String, String, i64);
    let act_rows = existing::<ActivityValues>(
        conn,
        r.activities.iter().map(|a| a.ext.clone()).collect(),
        |c, chunk| {
            activities::table
                .filter(activities::external_id.eq_any(chunk))
                .select((
                    activities::external_id,
                    activities::id,
                    (
                        activities::display_name,
                        activities::subject_code,
                        activities::subject_name,
                        activities::activity_type,
                        activities::school_id,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut acts = ids(&act_rows);
    let mut new = Vec::new();
    for a in &r.activities {
        let school = keys.orgs.get(&a.school).copied().unwrap_or_default();
        let want: ActivityValues = (
            a.name.clone(),
            a.subject_code.clone(),
            a.subject_name.clone(),
            a.kind.to_string(),
            school,
        );
        match act_rows.get(&a.ext) {
            Some((_, have)) if *have == want => {}
            Some(&(id, _)) => {
                sum.updated += diesel::update(activities::table.find(id))
                    .set((
                        activities::display_name.eq(&a.name),
                        activities::subject_code.eq(&a.subject_code),
                        activities::subject_name.eq(&a.subject_name),
                        activities::activity_type.eq(a.kind),
                        activities::school_id.eq(school),
                    ))
                    .execute(conn)?;
            }
            None => new.push((
                activities::school_id.eq(school),
                activities::display_name.eq(&a.name),
                activities::subject_code.eq(&a.subject_code),
                activities::subject_name.eq(&a.subject_name),
                activities::activity_type.eq(a.kind),
                activities::external_id.eq(&a.ext),
                activities::uuid.eq(source_uuid(&a.ext)?),
                activities::created_at.eq(now),
            )),
        }
    }
    sum.inserted += insert_batched!(conn, activities::table, new);
    let added: Vec<String> = r
        .activities
        .iter()
        .filter(|a| !acts.contains_key(&a.ext))
        .map(|a| a.ext.clone())
        .collect();
    acts.extend(lookup(conn, added, Table::Activities)?);
    let mut groups = Vec::new();
    let mut teachers = Vec::new();
    for a in &r.activities {
        let Some(&id) = acts.get(&a.ext) else {
            continue;
        };
        let of = |refs: &[String], ids: &Ids| -> HashSet<i64> {
            refs.iter().filter_map(|x| ids.get(x).copied()).collect()
        };
        groups.push((id, of(&a.groups, keys.groups)));
        teachers.push((id, of(&a.teachers, keys.persons)));
    }
    let removes = keys.removes_missing();
    // a group added or removed: its members' days at the activity's lessons
    for (a, g) in sync_links(conn, &groups, false, removes, keys.kept_groups, sum)? {
        t.link(a, g);
    }
    sync_links(conn, &teachers, true, removes, keys.kept_people, sum)?;
    Ok(acts)
}

/// Lessons (calendar events) of the imported activities: the roster's events, or its
/// staged ones a batch at a time. The stored lessons the events name (for
/// `cancel_missing`).
pub(super) fn lessons(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    acts: &Ids,
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<Seen> {
    let newest: Option<i64> = lessons::table
        .select(diesel::dsl::max(lessons::id))
        .first(conn)?;
    let mut w = Lessons {
        seen: Seen {
            bits: Vec::new(),
            newer_than: newest.unwrap_or(0),
        },
        acts,
        school_of: r
            .activities
            .iter()
            .filter_map(|a| Some((a.ext.clone(), *orgs.get(&a.school)?)))
            .collect(),
        // a term the huvudman has closed keeps its lessons as delivered (issue 38)
        closed: ClosedTerms::load(conn)?,
        held: 0,
    };
    match r.staged_events {
        None => w.write(conn, &r.events, sum, t)?,
        Some(run) => {
            let mut after = 0;
            loop {
                let (mut events, last) = staged::batch(conn, run, after)?;
                if events.is_empty() {
                    break;
                }
                after = last;
                // as `drop_unread` leaves out a roster's events
                events.retain(|e| !r.unread.contains(&e.activity) && !r.unread.contains(&e.ext));
                w.write(conn, &events, sum, t)?;
            }
        }
    }
    if w.held > 0 {
        sum.notes_of_apply.push(format!(
            "{} lessons in terms the huvudman has closed were left as they were (reopening the term lets the next sync take the source's changes)",
            w.held
        ));
    }
    Ok(w.seen)
}

/// The stored lessons a run's events named: a bit for each lesson id (a municipality's
/// five years of lessons in a megabyte or two), and every lesson added by the run.
pub(super) struct Seen {
    bits: Vec<u64>,
    /// the largest lesson id before the run wrote any: those above were added by it
    newer_than: i64,
}

impl Seen {
    fn mark(&mut self, id: i64) {
        let Ok(i) = usize::try_from(id) else { return };
        if i / 64 >= self.bits.len() {
            self.bits.resize(i / 64 + 1, 0);
        }
        self.bits[i / 64] |= 1 << (i % 64);
    }

    fn has(&self, id: i64) -> bool {
        id > self.newer_than
            || usize::try_from(id)
                .ok()
                .and_then(|i| self.bits.get(i / 64).map(|w| w & (1 << (i % 64)) != 0))
                .unwrap_or(false)
    }
}

/// Writing lessons, a batch of events at a time.
struct Lessons<'a> {
    acts: &'a Ids,
    /// each activity's school: the imported ones, and stored ones as events name them
    school_of: HashMap<String, i64>,
    closed: ClosedTerms,
    /// lessons in closed terms left as they were
    held: usize,
    seen: Seen,
}

impl Lessons<'_> {
    fn write(
        &mut self,
        conn: &mut DbConn,
        events: &[Event],
        sum: &mut Summary,
        t: &mut Touched,
    ) -> QueryResult<()> {
        type LessonValues = (i64, NaiveDate, NaiveTime, NaiveTime, i32, bool);
        // the stored values and, for a lesson cancelled or given back by hand on the day
        // page, what the source said then (src/day_changes.rs)
        type Stored = (
            i64,
            NaiveDate,
            NaiveTime,
            NaiveTime,
            i32,
            bool,
            Option<bool>,
            i64,
        );
        let lesson_rows = existing::<Stored>(
            conn,
            events.iter().map(|e| e.ext.clone()).collect(),
            |c, chunk| {
                lessons::table
                    .filter(lessons::external_id.eq_any(chunk))
                    .select((
                        lessons::external_id,
                        lessons::id,
                        (
                            lessons::activity_id,
                            lessons::lesson_date,
                            lessons::starts_at,
                            lessons::ends_at,
                            lessons::teaching_minutes,
                            lessons::cancelled,
                            lessons::source_cancelled,
                            lessons::school_id,
                        ),
                    ))
                    .load(c)
            },
        )?;
        self.stored_schools(conn, events)?;
        let mut new = Vec::new();
        for e in events {
            if let Some(&(id, _)) = lesson_rows.get(&e.ext) {
                self.seen.mark(id);
            }
            let Some(&activity) = self.acts.get(&e.activity) else {
                continue;
            };
            let school = self.school_of.get(&e.activity).copied().unwrap_or_default();
            let (date, starts, ends) = (e.start.date(), e.start.time(), e.end.time());
            let want: LessonValues = (activity, date, starts, ends, e.minutes, e.cancelled);
            // the source's own view of the stored lesson: a change by hand stands while
            // the source says what it said before
            let source_view =
                |h: &Stored| -> LessonValues { (h.0, h.1, h.2, h.3, h.4, h.6.unwrap_or(h.5)) };
            let closed = &self.closed;
            match lesson_rows.get(&e.ext) {
                Some((_, have)) if source_view(have) == want => {}
                Some((_, have)) if closed.holds(school, have.1) || closed.holds(school, date) => {
                    self.held += 1
                }
                None if closed.holds(school, date) => self.held += 1,
                Some(&(id, ref have)) => {
                    // the day it was on and the day it is on
                    t.day(have.7, have.1);
                    t.day(school, date);
                    sum.updated += diesel::update(lessons::table.find(id))
                        .set((
                            lessons::activity_id.eq(activity),
                            lessons::school_id.eq(school),
                            lessons::lesson_date.eq(date),
                            lessons::starts_at.eq(starts),
                            lessons::ends_at.eq(ends),
                            lessons::teaching_minutes.eq(e.minutes),
                            lessons::cancelled.eq(e.cancelled),
                            lessons::source_cancelled.eq(None::<bool>),
                        ))
                        .execute(conn)?;
                }
                None => {
                    t.day(school, date);
                    new.push(NewLesson {
                        activity_id: activity,
                        school_id: school,
                        lesson_date: date,
                        starts_at: starts,
                        ends_at: ends,
                        teaching_minutes: e.minutes,
                        cancelled: e.cancelled,
                        external_id: Some(&e.ext),
                        uuid: Some(source_uuid(&e.ext)?),
                    })
                }
            }
        }
        sum.inserted += match conn {
            // a year's timetable: COPY, in the binary format
            DbConn::Pg(c) => diesel::copy_from(lessons::table)
                .from_insertable(&new)
                .execute(c)?,
            DbConn::Sqlite(_) => insert_batched!(conn, lessons::table, new),
        };
        Ok(())
    }

    /// The schools of the activities `events` name that were stored earlier (a run of
    /// changes brings lessons of activities it does not hold).
    fn stored_schools(&mut self, conn: &mut DbConn, events: &[Event]) -> QueryResult<()> {
        let stored: Vec<&str> = events
            .iter()
            .map(|e| e.activity.as_str())
            .filter(|a| !self.school_of.contains_key(*a))
            .collect::<HashSet<&str>>()
            .into_iter()
            .collect();
        for chunk in stored.chunks(crate::db::CHUNK) {
            let rows: Vec<(Option<String>, i64)> = activities::table
                .filter(activities::external_id.eq_any(chunk))
                .select((activities::external_id, activities::school_id))
                .load(conn)?;
            self.school_of.extend(
                rows.into_iter()
                    .filter_map(|(ext, school)| Some((ext?, school))),
            );
        }
        Ok(())
    }
}

/// The terms closed at each school (school, first day of the term).
struct ClosedTerms(HashSet<(i64, NaiveDate)>);

impl ClosedTerms {
    fn load(conn: &mut DbConn) -> QueryResult<ClosedTerms> {
        Ok(ClosedTerms(
            term_closings::table
                .filter(term_closings::reopened_at.is_null())
                .select((term_closings::school_id, term_closings::term_start))
                .load::<(i64, NaiveDate)>(conn)?
                .into_iter()
                .collect(),
        ))
    }

    fn holds(&self, school: i64, day: NaiveDate) -> bool {
        !self.0.is_empty() && self.0.contains(&(school, Term::of(day).first_day()))
    }
}

#[derive(Insertable)]
#[diesel(table_name = lessons, treat_none_as_default_value = false)]
pub(super) struct NewLesson<'a> {
    activity_id: i64,
    school_id: i64,
    lesson_date: NaiveDate,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    teaching_minutes: i32,
    cancelled: bool,
    external_id: Option<&'a str>,
    uuid: Option<String>,
}

/// A snapshot's missing lessons: an imported lesson of one of its schools, from today on
/// and inside the days its calendar covers, that it no longer holds is cancelled (a roll
/// call made is kept). Nothing is cancelled when an activity or a calendar event could not
/// be read.
pub(super) fn cancel_missing(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    seen: &Seen,
    today: NaiveDate,
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<()> {
    let Some((first, last)) = r.calendar else {
        return Ok(());
    };
    if ["activities", "calendarEvents"]
        .iter()
        .any(|l| r.unread_lists.contains(l))
    {
        sum.notes_of_apply.push(
            "no lesson was cancelled for missing, since an activity or a calendar event could not be read"
                .to_string(),
        );
        return Ok(());
    }
    // school by school: a school's year of lessons at a time in memory
    let mut missing: Vec<i64> = Vec::new();
    for school in snapshot_schools(r, orgs) {
        let rows: Vec<(i64, NaiveDate)> = lessons::table
            .filter(lessons::school_id.eq(school))
            .filter(lessons::lesson_date.ge(first.max(today)))
            .filter(lessons::lesson_date.le(last))
            .filter(lessons::cancelled.eq(false))
            .filter(lessons::external_id.is_not_null())
            .select((lessons::id, lessons::lesson_date))
            .load(conn)?;
        for (id, day) in rows.into_iter().filter(|(id, _)| !seen.has(*id)) {
            missing.push(id);
            t.day(school, day);
        }
    }
    for chunk in missing.chunks(crate::db::CHUNK) {
        sum.ended += diesel::update(lessons::table.filter(lessons::id.eq_any(chunk)))
            .set(lessons::cancelled.eq(true))
            .execute(conn)?;
    }
    Ok(())
}
