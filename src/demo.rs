//! `narvaro demo`: a small demo municipality with fixed accounts that docs and tests can
//! name, and lessons for `demo.teacher` on whatever day it is started.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::{DbConn, DbError};
use crate::schema::*;
use crate::school::ids::{GroupId, PersonId, PupilId, SchoolId};
use crate::seed::{self, SeedParams};

pub const ACCOUNTS: [(&str, &str); 5] = [
    ("demo.admin", "administratör / administrator"),
    ("demo.principal", "rektor / principal"),
    (
        "demo.office",
        "skoladministratör (expeditionen) / school administrator (the office)",
    ),
    ("demo.teacher", "lärare och mentor / teacher and mentor"),
    (
        "demo.guardian",
        "vårdnadshavare till två barn / guardian of two children",
    ),
];

pub enum DemoState {
    /// Seeded now or earlier; the demo accounts exist.
    Ready,
    /// The database holds other data; nothing was added.
    ForeignData,
}

/// Seeds the demo school if the database is empty, then makes sure `demo.teacher` has
/// lessons today.
pub fn prepare(conn: &mut DbConn, tz: Tz, today: NaiveDate) -> Result<DemoState, DbError> {
    let teacher: Option<PersonId> = people::table
        .filter(people::username.eq("demo.teacher"))
        .select(people::id)
        .first(conn)
        .optional()?;
    let teacher = match teacher {
        Some(id) => id,
        None => {
            let orgs: i64 = organisations::table.count().get_result(conn)?;
            if orgs > 0 {
                return Ok(DemoState::ForeignData);
            }
            seed_demo(conn, tz, today)?
        }
    };
    ensure_lessons_today(conn, tz, teacher, today)?;
    Ok(DemoState::Ready)
}

fn seed_demo(conn: &mut DbConn, tz: Tz, today: NaiveDate) -> Result<PersonId, DbError> {
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let params = SeedParams {
        municipality: "Demokommunen".into(),
        schools: 2,
        pupils: 420,
        weeks: 12,
        seed: 2026,
        start: monday - Duration::weeks(8),
        today,
    };
    let seeded = seed::generate(conn, &params, tz)?;
    let school = &seeded.schools[0];
    let (mentor_class, teacher) = school.classes[0];
    let other_class = school.classes.get(1).map(|c| c.0).unwrap_or(mentor_class);

    conn.transaction(|conn| {
        for (username, id) in [
            ("demo.admin", seeded.admin_id),
            ("demo.principal", school.principal_id),
            ("demo.teacher", teacher),
        ] {
            diesel::update(people::table.find(id))
                .set(people::username.eq(username))
                .execute(conn)?;
        }
        let pupils_of = |conn: &mut DbConn, class: GroupId| -> QueryResult<Vec<PupilId>> {
            group_memberships::table
                .inner_join(people::table)
                .filter(group_memberships::group_id.eq(class))
                .filter(group_memberships::end_date.is_null())
                .filter(people::security_marking.eq("none"))
                .select(people::id)
                .order(people::id)
                .load(conn)
        };
        let first_guardian = |conn: &mut DbConn, pupil: PupilId| -> QueryResult<Option<PersonId>> {
            guardianships::table
                .filter(guardianships::pupil_id.eq(pupil))
                .select(guardianships::guardian_id)
                .order(guardianships::id)
                .first(conn)
                .optional()
        };
        // A child whose first guardian has no other children, so demo.guardian ends up with two.
        let mut chosen = None;
        for pupil in pupils_of(conn, mentor_class)? {
            let Some(g) = first_guardian(conn, pupil)? else {
                continue;
            };
            let children: i64 = guardianships::table
                .filter(guardianships::guardian_id.eq(g))
                .count()
                .get_result(conn)?;
            if children == 1 {
                chosen = Some((pupil, g));
                break;
            }
        }
        let (child_a, guardian) = chosen.ok_or(diesel::result::Error::NotFound)?;
        let child_b = pupils_of(conn, other_class)?
            .into_iter()
            .find(|p| *p != child_a)
            .ok_or(diesel::result::Error::NotFound)?;
        // The generator already hashed the demo password onto every staff account.
        let hash: Option<String> = people::table
            .find(teacher)
            .select(people::password_hash)
            .first(conn)?;
        diesel::update(people::table.find(guardian))
            .set((
                people::username.eq("demo.guardian"),
                people::password_hash.eq(&hash),
                people::email.eq("demo.guardian@example.com"),
            ))
            .execute(conn)?;
        // as a school's register lists a guardian: private and work, the private one used
        for (address, kind) in [
            ("demo.guardian@example.com", "Privat"),
            ("demo.guardian@work.example.com", "Arbete övrigt"),
        ] {
            diesel::insert_into(person_emails::table)
                .values((
                    person_emails::person_id.eq(guardian),
                    person_emails::address.eq(address),
                    person_emails::kind.eq(kind),
                ))
                .execute(conn)?;
        }
        // The second child's first guardian becomes demo.guardian.
        let replaced: Option<i64> = guardianships::table
            .filter(guardianships::pupil_id.eq(child_b))
            .select(guardianships::id)
            .order(guardianships::id)
            .first(conn)
            .optional()?;
        match replaced {
            Some(id) => {
                diesel::update(guardianships::table.find(id))
                    .set(guardianships::guardian_id.eq(guardian))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(guardianships::table)
                    .values((
                        guardianships::pupil_id.eq(child_b),
                        guardianships::guardian_id.eq(guardian),
                        guardianships::relation.eq("guardian"),
                        guardianships::created_at.eq(crate::school::clock::system_now()),
                    ))
                    .execute(conn)?;
            }
        }
        office_and_trip(conn, school.id, other_class, &hash, params.start, tz, today)?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(teacher)
}

/// `demo.office`, the first school's office (Skoladministratör), and a trip for the
/// second class on its first school day a week or more from now, for the day page, the
/// trips page and the roll call to show.
fn office_and_trip(
    conn: &mut DbConn,
    school: SchoolId,
    class: GroupId,
    hash: &Option<String>,
    since: NaiveDate,
    tz: Tz,
    today: NaiveDate,
) -> QueryResult<()> {
    let now = crate::school::clock::system_now();
    let office: i64 = diesel::insert_into(people::table)
        .values((
            people::given_name.eq("Eva"),
            people::family_name.eq("Expedit"),
            people::security_marking.eq("none"),
            people::email.eq("demo.office@skola.example.com"),
            people::language.eq("sv"),
            people::receive_confirmations.eq(false),
            people::username.eq("demo.office"),
            people::password_hash.eq(hash),
            people::token_version.eq(0),
            people::active.eq(true),
            people::created_at.eq(now),
            people::email_chosen.eq(false),
        ))
        .returning(people::id)
        .get_result(conn)?;
    diesel::insert_into(duties::table)
        .values((
            duties::person_id.eq(office),
            duties::organisation_id.eq(school),
            duties::role.eq(crate::school::states::Role::SchoolAdmin),
            duties::start_date.eq(since),
        ))
        .execute(conn)?;
    let day: Option<NaiveDate> = lessons::table
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_groups::group_id.eq(class))
        .filter(lessons::lesson_date.ge(today + Duration::days(7)))
        .filter(lessons::cancelled.eq(false))
        .select(diesel::dsl::min(lessons::lesson_date))
        .first(conn)?;
    let reason: Option<i64> = absence_reasons::table
        .filter(absence_reasons::code.eq("SKOLAKT"))
        .select(absence_reasons::id)
        .first(conn)
        .optional()?;
    if let (Some(day), Some(reason)) = (day, reason) {
        let midnight = NaiveTime::MIN;
        diesel::insert_into(trips::table)
            .values((
                trips::school_id.eq(school),
                trips::group_id.eq(class),
                trips::reason_id.eq(reason),
                trips::title.eq("Friluftsdag i Hellasgården"),
                trips::starts_at.eq(crate::school::calendar::to_utc(tz, day.and_time(midnight))),
                trips::ends_at.eq(crate::school::calendar::to_utc(
                    tz,
                    (day + Duration::days(1)).and_time(midnight),
                )),
                trips::created_by.eq(office),
                trips::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Schedules two lessons today in demo.teacher's mentor class when the timetable gives the
/// teacher none with that class (a weekend, a holiday, a day off).
fn ensure_lessons_today(
    conn: &mut DbConn,
    tz: Tz,
    teacher: PersonId,
    today: NaiveDate,
) -> Result<(), DbError> {
    let mentor_class: Option<i64> = duties::table
        .filter(duties::person_id.eq(teacher))
        .filter(duties::role.eq(crate::school::states::Role::Mentor))
        .select(duties::group_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten();
    let Some(class) = mentor_class else {
        return Ok(());
    };
    let activity: Option<(i64, i64)> = activities::table
        .inner_join(activity_teachers::table)
        .inner_join(activity_groups::table)
        .filter(activity_teachers::teacher_id.eq(teacher))
        .filter(activity_groups::group_id.eq(class))
        .select((activities::id, activities::school_id))
        .order(activities::id)
        .first(conn)
        .optional()?;
    let Some((activity, school)) = activity else {
        return Ok(());
    };
    let todays: Vec<(i64, NaiveTime, NaiveTime)> = lessons::table
        .inner_join(
            activity_teachers::table.on(activity_teachers::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_teachers::teacher_id.eq(teacher))
        .filter(lessons::lesson_date.eq(today))
        .select((lessons::activity_id, lessons::starts_at, lessons::ends_at))
        .load(conn)?;
    let with_class = activity_groups::table
        .filter(activity_groups::group_id.eq(class))
        .filter(activity_groups::activity_id.eq_any(todays.iter().map(|t| t.0).collect::<Vec<_>>()))
        .count()
        .get_result::<i64>(conn)?;
    if with_class > 0 {
        return Ok(());
    }
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    let candidates = [
        (t(8, 10), t(9, 10)),
        (t(9, 20), t(10, 20)),
        (t(10, 40), t(11, 40)),
        (t(12, 30), t(13, 30)),
        (t(13, 40), t(14, 40)),
        (t(14, 50), t(15, 50)),
    ];
    let free: Vec<_> = candidates
        .into_iter()
        .filter(|(s, e)| todays.iter().all(|(_, ts, te)| e <= ts || s >= te))
        .take(2)
        .collect();
    let room = if matches!(today.weekday(), Weekday::Sat | Weekday::Sun) {
        "Helgskola"
    } else {
        "A12"
    };
    if free.is_empty() {
        return Ok(());
    }
    let pupils: Vec<PupilId> = group_memberships::table
        .filter(group_memberships::group_id.eq(class))
        .select(group_memberships::pupil_id)
        .load(conn)?;
    conn.transaction(|conn| {
        for (starts, ends) in free {
            diesel::insert_into(lessons::table)
                .values((
                    lessons::activity_id.eq(activity),
                    lessons::school_id.eq(school),
                    lessons::lesson_date.eq(today),
                    lessons::starts_at.eq(starts),
                    lessons::ends_at.eq(ends),
                    lessons::teaching_minutes.eq(60),
                    lessons::room.eq(room),
                    lessons::cancelled.eq(false),
                ))
                .execute(conn)?;
        }
        crate::insight::statistics::store::refresh(conn, tz, &pupils, today, today)
    })?;
    Ok(())
}
