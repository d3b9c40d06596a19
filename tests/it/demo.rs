//! `narvaro demo`: fixed accounts, lessons for demo.teacher today whatever today is.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use narvaro::auth::password;
use narvaro::demo::{self, DemoState};
use narvaro::schema::*;
use narvaro::seed::DEMO_PASSWORD;

use crate::helpers::{backends, TestDb};

fn id_of(conn: &mut narvaro::db::DbConn, username: &str) -> i64 {
    people::table
        .filter(people::username.eq(username))
        .select(people::id)
        .first(conn)
        .unwrap()
}

#[test]
fn the_demo_accounts_exist_and_demo_teacher_has_lessons_on_any_day() {
    for kind in backends() {
        let db = TestDb::new(kind);
        let pool = narvaro::db::connect(&db.url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        // A Sunday, then the Saturday before it, then a Wednesday: there are lessons each day.
        let sunday = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        for today in [
            sunday,
            sunday - Duration::days(1),
            sunday + Duration::days(3),
        ] {
            assert!(matches!(
                demo::prepare(&mut conn, chrono_tz::Europe::Stockholm, today).unwrap(),
                DemoState::Ready
            ));
            let teacher = id_of(&mut conn, "demo.teacher");
            let todays: Vec<(i64, i64)> = lessons::table
                .inner_join(
                    activity_teachers::table
                        .on(activity_teachers::activity_id.eq(lessons::activity_id)),
                )
                .inner_join(
                    activity_groups::table
                        .on(activity_groups::activity_id.eq(lessons::activity_id)),
                )
                .filter(activity_teachers::teacher_id.eq(teacher))
                .filter(lessons::lesson_date.eq(today))
                .select((lessons::id, activity_groups::group_id))
                .load(&mut conn)
                .unwrap();
            assert!(
                !todays.is_empty(),
                "{kind:?}: demo.teacher has lessons on {today}"
            );

            // demo.guardian: two children in one school, one of them in a lesson of demo.teacher today.
            let guardian = id_of(&mut conn, "demo.guardian");
            let children: Vec<(i64, Option<i64>)> = guardianships::table
                .inner_join(people::table.on(people::id.eq(guardianships::pupil_id)))
                .filter(guardianships::guardian_id.eq(guardian))
                .select((people::id, people::school_id))
                .load(&mut conn)
                .unwrap();
            assert_eq!(children.len(), 2, "{kind:?}");
            assert_eq!(children[0].1, children[1].1, "same school");
            let groups_today: Vec<i64> = todays.iter().map(|t| t.1).collect();
            let in_lesson: i64 = group_memberships::table
                .filter(group_memberships::pupil_id.eq_any(children.iter().map(|c| c.0)))
                .filter(group_memberships::group_id.eq_any(&groups_today))
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert!(
                in_lesson >= 1,
                "{kind:?}: a child of demo.guardian is in a lesson of demo.teacher on {today}"
            );
        }
        // Preparing again on the same day adds nothing.
        let before: i64 = lessons::table.count().get_result(&mut conn).unwrap();
        demo::prepare(&mut conn, chrono_tz::Europe::Stockholm, sunday).unwrap();
        let after: i64 = lessons::table.count().get_result(&mut conn).unwrap();
        assert_eq!(before, after);

        for (user, _) in demo::ACCOUNTS {
            let hash: Option<String> = people::table
                .filter(people::username.eq(user))
                .select(people::password_hash)
                .first(&mut conn)
                .unwrap();
            assert!(
                password::verify(DEMO_PASSWORD, &hash.unwrap()) == Ok(true),
                "{user} signs in with the demo password"
            );
        }
        let principal = id_of(&mut conn, "demo.principal");
        let roles: Vec<String> = duties::table
            .filter(duties::person_id.eq(principal))
            .select(duties::role)
            .load(&mut conn)
            .unwrap();
        assert_eq!(roles, ["principal"]);
        let admin = id_of(&mut conn, "demo.admin");
        let roles: Vec<String> = duties::table
            .filter(duties::person_id.eq(admin))
            .select(duties::role)
            .load(&mut conn)
            .unwrap();
        assert_eq!(roles, ["admin"]);
        // demo.office is the office of demo.principal's school, which has a trip planned
        // a week or more after the day the demo was seeded (the Sunday)
        let school_of = |conn: &mut narvaro::db::DbConn, who: i64| -> Vec<(String, i64)> {
            duties::table
                .filter(duties::person_id.eq(who))
                .select((duties::role, duties::organisation_id))
                .load(conn)
                .unwrap()
        };
        let office = id_of(&mut conn, "demo.office");
        let school = school_of(&mut conn, principal)[0].1;
        assert_eq!(
            school_of(&mut conn, office),
            [("school_admin".to_string(), school)]
        );
        let trips: Vec<(i64, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> = trips::table
            .select((trips::school_id, trips::starts_at, trips::cancelled_at))
            .load(&mut conn)
            .unwrap();
        assert_eq!(trips.len(), 1, "{kind:?}: {trips:?}");
        assert_eq!(trips[0].0, school);
        assert!(trips[0].1.date() >= sunday + Duration::days(6) && trips[0].2.is_none());
    }
}

#[test]
fn demo_leaves_a_database_with_other_data_alone() {
    let db = TestDb::new(crate::helpers::Kind::Sqlite);
    let pool = narvaro::db::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    diesel::insert_into(organisations::table)
        .values((
            organisations::org_type.eq("municipality"),
            organisations::name.eq("Riktiga kommunen"),
        ))
        .execute(&mut conn)
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    assert!(matches!(
        demo::prepare(&mut conn, chrono_tz::Europe::Stockholm, today).unwrap(),
        DemoState::ForeignData
    ));
    let people: i64 = people::table.count().get_result(&mut conn).unwrap();
    assert_eq!(people, 0);
}
