//! Retention on both backends: a pupil who left longer ago than the policy keeps them goes
//! with their marks, reports, leave, notices, audit rows and per-pupil statistics, and so
//! do guardians of nobody else; the class sums stay; `--dry-run` lists and changes
//! nothing; old sent e-mails lose content and address but stay as notices; a policy of
//! zero years is refused with one line. Time is the test's: the pupil left on a fixed
//! day and the runs are given their day.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use narvaro::config::Retention;
use narvaro::schema::*;
use narvaro::upkeep::retention;
use serde_json::json;

use crate::browser::{api_token, conn, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, run_binary, test_moment, test_today, TestApp};

/// The day the pupil's last enrolment ended.
fn left() -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 6, 11).unwrap()
}

fn policy(years: u32) -> Retention {
    Retention {
        years,
        mail_days: 90,
        access_log_days: 365,
    }
}

/// What the database holds about a person, as counts: marks, reports, leave, notices about
/// or to them, audit rows about them (their own row and their marks), statistics days,
/// and whether the person is there.
fn held(world: &World, person: i64) -> Vec<i64> {
    let mut c = conn(&world.pool);
    let c = &mut *c;
    let mark = format!("%\"pupil_id\":{person},%");
    vec![
        attendance_marks::table
            .filter(attendance_marks::pupil_id.eq(person))
            .count()
            .get_result(c)
            .unwrap(),
        absence_reports::table
            .filter(absence_reports::pupil_id.eq(person))
            .count()
            .get_result(c)
            .unwrap(),
        leave_applications::table
            .filter(leave_applications::pupil_id.eq(person))
            .count()
            .get_result(c)
            .unwrap(),
        outbox::table
            .filter(
                outbox::pupil_id
                    .eq(person)
                    .or(outbox::recipient_id.eq(person)),
            )
            .count()
            .get_result(c)
            .unwrap(),
        audit_log::table
            .filter(
                audit_log::entity
                    .eq("person")
                    .and(audit_log::entity_id.eq(person))
                    .or(audit_log::actor_id.eq(person))
                    .or(audit_log::detail.like(mark)),
            )
            .count()
            .get_result(c)
            .unwrap(),
        absence_days::table
            .filter(absence_days::pupil_id.eq(person))
            .count()
            .get_result(c)
            .unwrap(),
        people::table.find(person).count().get_result(c).unwrap(),
    ]
}

/// Years of per-day rows and of reads of the pupil's records: more than one of
/// retention's batches deletes, so that the person goes over several transactions.
fn long_history(world: &World, pupil: i64) {
    let mut c = conn(&world.pool);
    let c = &mut *c;
    let school: i64 = absence_days::table
        .filter(absence_days::pupil_id.eq(pupil))
        .select(absence_days::school_id)
        .first(c)
        .unwrap();
    let n = retention::BATCH_ROWS as i64 + 700;
    let first = NaiveDate::from_ymd_opt(2012, 8, 20).unwrap();
    let days: Vec<narvaro::insight::statistics::store::DayRow> = (0..n)
        .map(|i| {
            let day = first + Duration::days(i);
            narvaro::insight::statistics::store::DayRow {
                school_id: narvaro::school::ids::SchoolId(school),
                day,
                pupil_id: narvaro::school::ids::PupilId(pupil),
                class_id: None,
                week: narvaro::insight::statistics::store::iso_week(day),
                weekday: 1,
                scheduled_minutes: 60,
                reported_minutes: 60,
                valid_minutes: 0,
                invalid_minutes: 0,
                other_minutes: 0,
                lates: 0,
                refused_leave_minutes: 0,
            }
        })
        .collect();
    for batch in days.chunks(500) {
        narvaro::on_backend!(c, c => diesel::insert_into(absence_days::table)
            .values(batch)
            .execute(c))
        .unwrap();
    }
    // recent reads: the access log's own pruning would not take them
    let at = test_moment().naive_utc();
    let reads: Vec<_> = (0..n)
        .map(|_| {
            (
                access_log::at.eq(at),
                access_log::pupil_id.eq(pupil),
                access_log::kind.eq("pupil_page"),
                access_log::route.eq("/pupils/{id}"),
            )
        })
        .collect();
    for batch in reads.chunks(500) {
        narvaro::on_backend!(c, c => diesel::insert_into(access_log::table)
            .values(batch)
            .execute(c))
        .unwrap();
    }
}

/// The class sums of the statistics, which outlive the pupils.
fn class_sums(world: &World) -> Vec<(i64, NaiveDate, i64, i32, i32, i32)> {
    let mut c = conn(&world.pool);
    absence_class_days::table
        .select((
            absence_class_days::class_id,
            absence_class_days::day,
            absence_class_days::school_id,
            absence_class_days::pupils,
            absence_class_days::reported_minutes,
            absence_class_days::invalid_minutes,
        ))
        .order((absence_class_days::class_id, absence_class_days::day))
        .load(&mut *c)
        .unwrap()
}

/// The child's guardians, each with whether the policy takes them too (a guardian of
/// nobody else, with no duty).
fn guardians(world: &World, child: i64) -> Vec<(i64, bool)> {
    let mut c = conn(&world.pool);
    let ids: Vec<i64> = guardianships::table
        .filter(guardianships::pupil_id.eq(child))
        .select(guardianships::guardian_id)
        .load(&mut *c)
        .unwrap();
    ids.into_iter()
        .map(|g| {
            let others: i64 = guardianships::table
                .filter(guardianships::guardian_id.eq(g))
                .filter(guardianships::pupil_id.ne(child))
                .count()
                .get_result(&mut *c)
                .unwrap();
            let duties: i64 = duties::table
                .filter(duties::person_id.eq(g))
                .count()
                .get_result(&mut *c)
                .unwrap();
            (g, others == 0 && duties == 0)
        })
        .collect()
}

#[actix_web::test]
async fn a_pupil_who_left_long_ago_goes_with_everything_about_them_and_the_sums_stay() {
    for kind in backends() {
        let app = TestApp::spawn_with(kind, |c| c.notice_delay_minutes = Some(0)).await;
        let world = fixtures::build(&app);
        let (child, lesson) = (world.ids.child, world.ids.lesson);
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        // the child and a classmate absent: marks, notices, audit rows, statistics
        let (_, rc) = crate::browser::api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{lesson}/roll-call"),
        )
        .await;
        let classmate = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .find(|p| *p != child)
            .unwrap();
        let res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({"marks": [
                {"pupil_id": child, "status": "absent"},
                {"pupil_id": classmate, "status": "absent"}]}))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let pass = narvaro::notices::worker::run_once(&app.outbox, "retention-test")
            .await
            .unwrap();
        assert!(pass.sent >= 1, "{kind:?}: {pass:?}");

        // the child left on a fixed day years ago (the sync ended them)
        {
            let mut c = conn(&world.pool);
            diesel::update(group_memberships::table.filter(group_memberships::pupil_id.eq(child)))
                .set((
                    group_memberships::start_date.eq(NaiveDate::from_ymd_opt(2018, 8, 20).unwrap()),
                    group_memberships::end_date.eq(Some(left())),
                ))
                .execute(&mut *c)
                .unwrap();
            diesel::update(people::table.find(child))
                .set((
                    people::active.eq(false),
                    people::ended_at.eq(Some(left().and_hms_opt(18, 0, 0).unwrap())),
                ))
                .execute(&mut *c)
                .unwrap();
        }
        long_history(&world, child);
        let before = held(&world, child);
        assert!(
            before[5] > retention::BATCH_ROWS as i64,
            "{kind:?}: more per-day rows than one batch deletes"
        );
        assert!(
            before[..6].iter().all(|n| *n > 0) && before[6] == 1,
            "{kind:?}: the child has marks, reports, leave, notices, audit rows and statistics: {before:?}"
        );
        let classmate_before = held(&world, classmate);
        let sums = class_sums(&world);
        let guardians = guardians(&world, child);
        // one guardian has another child and stays; the other is a guardian of nobody else
        assert!(
            guardians.iter().any(|g| g.1) && guardians.iter().any(|g| !g.1),
            "{guardians:?}"
        );
        let (today, now) = (test_today(), test_moment().naive_utc());

        // seven years keep the child (left 2021, today 2026); three do not
        {
            let mut c = conn(&world.pool);
            let kept = retention::plan(&mut c, &policy(7), today, now).unwrap();
            assert!(kept.people.is_empty(), "{kind:?}: {:?}", kept.people);
            let plan = retention::plan(&mut c, &policy(3), today, now).unwrap();
            let pupils: Vec<i64> = plan
                .people
                .iter()
                .filter(|p| p.kind == retention::Kind::Pupil)
                .map(|p| i64::from(p.id))
                .collect();
            assert_eq!(pupils, vec![child], "{kind:?}");
            let mut expected: Vec<i64> = guardians.iter().filter(|g| g.1).map(|g| g.0).collect();
            expected.sort();
            let mut planned: Vec<i64> = plan
                .people
                .iter()
                .filter(|p| p.kind == retention::Kind::Guardian)
                .map(|p| i64::from(p.id))
                .collect();
            planned.sort();
            assert_eq!(planned, expected, "{kind:?}: guardians of nobody else");
            assert_eq!(plan.people[0].left, Some(left()));
            assert_eq!(plan.people[0].counts.marks, before[0]);
        }

        // the command's dry run lists the child and changes nothing
        let url = app.db.url_string();
        let out = run_binary(
            &["retention", "--dry-run"],
            &[
                ("DATABASE_URL", url.as_str()),
                ("NARVARO_JWT_SECRET", crate::helpers::TEST_SECRET),
                ("NARVARO_RETENTION_YEARS", "3"),
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{kind:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("  {child} ")) && stdout.contains("left 2021-06-11"),
            "{stdout}"
        );
        assert!(
            stdout.contains("Nothing was changed (--dry-run)"),
            "{stdout}"
        );
        assert_eq!(
            held(&world, child),
            before,
            "{kind:?}: a dry run changes nothing"
        );

        // zero years: one line naming the setting, nothing changed
        let out = run_binary(
            &["retention"],
            &[
                ("DATABASE_URL", url.as_str()),
                ("NARVARO_JWT_SECRET", crate::helpers::TEST_SECRET),
                ("NARVARO_RETENTION_YEARS", "0"),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("NARVARO_RETENTION_YEARS"), "{stderr}");
        assert_eq!(held(&world, child), before);

        // the run: the child and their guardians of nobody else go, in full
        let done = retention::apply(&app.database, policy(3), today, now)
            .await
            .unwrap();
        assert_eq!(done.pupils, 1, "{kind:?}");
        assert_eq!(done.kept, 0);
        assert_eq!(
            held(&world, child),
            vec![0; 7],
            "{kind:?}: nothing about the child"
        );
        {
            let mut c = conn(&world.pool);
            let reads: i64 = access_log::table
                .filter(access_log::pupil_id.eq(child))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert_eq!(reads, 0, "{kind:?}: nor who read their records");
        }
        assert!(
            done.longest_write < std::time::Duration::from_secs(5),
            "{kind:?}: {:?}",
            done.longest_write
        );
        for (g, goes) in &guardians {
            let there = held(&world, *g)[6];
            assert_eq!(there, i64::from(!goes), "{kind:?}: guardian {g}");
        }
        assert_eq!(
            held(&world, classmate),
            classmate_before,
            "the classmate stays"
        );
        assert_eq!(
            class_sums(&world),
            sums,
            "{kind:?}: the class sums outlive the pupil"
        );
        {
            let mut c = conn(&world.pool);
            let logged: String = audit_log::table
                .filter(audit_log::action.eq("retention.applied"))
                .select(audit_log::detail)
                .first(&mut *c)
                .unwrap();
            let logged: serde_json::Value = serde_json::from_str(&logged).unwrap();
            assert_eq!(logged["pupils"], 1);
            assert_eq!(logged["marks"], before[0]);
        }
        // the register extract of the child now finds nobody
        let (mut admin, _) = fixtures::sign_in_as(&app, &world, fixtures::Role::Admin).await;
        let page = admin
            .get(&format!("/admin/people/{child}/extract.json"))
            .await;
        assert_eq!(page.status, 404, "{kind:?}");

        // 91 days on: the classmate's sent notices keep that they were sent, not what or
        // to which address; a second run finds no one
        let later = now + Duration::days(91);
        let again = retention::apply(&app.database, policy(3), today + Duration::days(91), later)
            .await
            .unwrap();
        assert_eq!(again.pupils + again.guardians, 0);
        let mut c = conn(&world.pool);
        let notices: Vec<(
            String,
            String,
            Option<String>,
            Option<chrono::NaiveDateTime>,
        )> = outbox::table
            .filter(outbox::pupil_id.eq(classmate))
            .select((
                outbox::status,
                outbox::payload,
                outbox::recipient_email,
                outbox::sent_at,
            ))
            .load(&mut *c)
            .unwrap();
        assert!(!notices.is_empty());
        for (status, payload, email, sent_at) in &notices {
            if status == "pending" {
                assert_ne!(payload, "{}", "a notice still to send keeps its content");
            } else {
                assert_eq!(
                    (payload.as_str(), email),
                    ("{}", &None),
                    "{kind:?}: {status}"
                );
            }
            if status == "sent" {
                assert!(sent_at.is_some());
            }
        }
        assert!(
            notices.iter().any(|n| n.0 == "sent"),
            "{kind:?}: {notices:?}"
        );
    }
}
