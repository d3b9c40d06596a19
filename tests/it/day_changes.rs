//! The school office's day page (issue 21), on both databases: a school administrator
//! gives three of today's lessons to a substitute, who reports one through the API and one
//! on the page; a cancelled lesson leaves the pupils' scheduled minutes; bad changes are
//! refused with a message and store nothing; the office reaches its own school only.

use chrono::Duration;
use diesel::prelude::*;
use narvaro::schema::*;

use crate::browser::{api_get, api_token, audited, conn, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, staff_member, World};
use crate::helpers::{backends, test_today, TestApp};

/// Today's lessons at the school that go ahead, not taught by `not_by`: (id, activity).
fn todays_lessons(world: &World, school: i64, not_by: i64) -> Vec<i64> {
    let mut c = conn(&world.pool);
    let taught: Vec<i64> = activity_teachers::table
        .filter(activity_teachers::teacher_id.eq(not_by))
        .select(activity_teachers::activity_id)
        .load(&mut *c)
        .unwrap();
    lessons::table
        .filter(lessons::school_id.eq(school))
        .filter(lessons::lesson_date.eq(test_today()))
        .filter(lessons::cancelled.eq(false))
        .filter(lessons::activity_id.ne_all(taught))
        .select(lessons::id)
        .order((lessons::starts_at, lessons::id))
        .load(&mut *c)
        .unwrap()
}

/// demo.teacher, and their lessons at school 1 that go ahead from today to `last`, in
/// time order.
fn demo_teacher_lessons(world: &World, last: chrono::NaiveDate) -> (i64, Vec<i64>) {
    let mut c = conn(&world.pool);
    let teacher: i64 = people::table
        .filter(people::username.eq("demo.teacher"))
        .select(people::id)
        .first(&mut *c)
        .unwrap();
    let lessons = lessons::table
        .inner_join(
            activity_teachers::table.on(activity_teachers::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_teachers::teacher_id.eq(teacher))
        .filter(lessons::school_id.eq(world.ids.school1))
        .filter(lessons::cancelled.eq(false))
        .filter(lessons::lesson_date.between(test_today(), last))
        .select(lessons::id)
        .order((lessons::lesson_date, lessons::starts_at, lessons::id))
        .load(&mut *c)
        .unwrap();
    (teacher, lessons)
}

fn substitute_of(world: &World, lesson: i64) -> Option<i64> {
    let mut c = conn(&world.pool);
    lessons::table
        .find(lesson)
        .select(lessons::substitute_teacher_id)
        .first(&mut *c)
        .unwrap()
}

#[actix_web::test]
async fn the_office_gives_three_lessons_to_a_substitute_who_reports_them() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (s1, s2) = (world.ids.school1, world.ids.school2);
        let sub = staff_member(&world, "stand.in", "teacher", s1);
        let elsewhere = staff_member(&world, "other.school", "teacher", s2);
        let lessons = todays_lessons(&world, s1, sub);
        assert!(
            lessons.len() >= 3,
            "the demo has lessons today: {lessons:?}"
        );
        let three = &lessons[..3];
        let day = format!("/schools/{s1}/day");
        let today = test_today().to_string();

        let mut office = Browser::open(&app).await;
        office.sign_in("demo.office", DEMO_PASSWORD).await;
        let page = office.get(&day).await;
        assert_eq!(page.status.as_u16(), 200, "{}", page.body);
        assert!(page.body.contains("Dagens ändringar"));
        // the office of school 1 does not reach school 2
        assert_eq!(
            office
                .get(&format!("/schools/{s2}/day"))
                .await
                .status
                .as_u16(),
            404
        );

        // a substitute from another school: a message, nothing stored
        let refused = office
            .post(
                &format!("{day}/substitute"),
                &[
                    ("date", &today),
                    ("lesson", &three[0].to_string()),
                    ("substitute", &elsewhere.to_string()),
                ],
            )
            .await;
        assert_eq!(refused.status.as_u16(), 400);
        assert!(
            refused
                .body
                .contains("Vikarien måste ha ett uppdrag på skolan"),
            "{}",
            refused.body
        );
        assert_eq!(substitute_of(&world, three[0]), None);
        assert_eq!(audited(&world.pool, "lesson.substitute"), 0);

        for l in three {
            let done = office
                .post(
                    &format!("{day}/substitute"),
                    &[
                        ("date", &today),
                        ("lesson", &l.to_string()),
                        ("substitute", &sub.to_string()),
                    ],
                )
                .await;
            assert_eq!(done.status.as_u16(), 303, "{}", done.body);
            assert_eq!(substitute_of(&world, *l), Some(sub));
        }
        assert_eq!(audited(&world.pool, "lesson.substitute"), 3);
        let page = office.get(&day).await;
        assert_eq!(
            page.body.matches("Vikarie: Sara Expedit teacher").count(),
            3,
            "{}",
            page.body
        );
        assert!(page.body.contains("Ändrad för hand"));

        // the substitute sees the lessons and reports one through the API ...
        let token = api_token(&app, "stand.in", DEMO_PASSWORD).await;
        // their day's lessons are the three they stand in for, in time order
        let (status, listed) = api_get(&app, Some(&token), "/api/v1/lessons").await;
        assert_eq!(status, 200, "{listed}");
        let ids: Vec<i64> = listed["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, three, "{listed}");
        let (status, rc) = api_get(
            &app,
            Some(&token),
            &format!("/api/v1/lessons/{}/roll-call", three[0]),
        )
        .await;
        assert_eq!(status, 200, "{rc}");
        let marks: Vec<serde_json::Value> = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| serde_json::json!({"pupil_id": p["id"], "status": "present"}))
            .collect();
        let mut res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{}/roll-call", three[0])))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(&serde_json::json!({"marks": marks}))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{:?}", res.body().await);
        // ... and another on the page, which says who stands in
        let mut stand_in = Browser::open(&app).await;
        stand_in.sign_in("stand.in", DEMO_PASSWORD).await;
        let page = stand_in.get(&format!("/lessons/{}", three[1])).await;
        assert_eq!(page.status.as_u16(), 200);
        assert!(
            page.body.contains("Vikarie: Sara Expedit teacher"),
            "{}",
            page.body
        );
        let sent = stand_in
            .post(
                &format!("/lessons/{}", three[1]),
                &[("version", "0"), ("action", "all_present")],
            )
            .await;
        assert_eq!(sent.status.as_u16(), 303, "{}", sent.body);
        {
            let mut c = conn(&world.pool);
            let reports: Vec<(i64, String)> = audit_log::table
                .filter(audit_log::action.eq("lesson.reported"))
                .filter(audit_log::actor_id.eq(sub))
                .select((audit_log::entity_id.assume_not_null(), audit_log::detail))
                .load(&mut *c)
                .unwrap();
            assert_eq!(reports.len(), 2, "{reports:?}");
            assert!(
                reports
                    .iter()
                    .all(|(_, d)| d.contains("\"substitute\":true")),
                "{reports:?}"
            );
        }
        // the principal sees the office's changes in the audit log
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        // (the audit log keeps the system clock's time; the school day runs on the test's,
        // so the rows are moved to the test's day)
        {
            let mut c = conn(&world.pool);
            diesel::update(audit_log::table)
                .set(audit_log::at.eq(crate::helpers::test_moment().naive_utc()))
                .execute(&mut *c)
                .unwrap();
        }
        let log = principal.get(&format!("/audit?lesson={}", three[0])).await;
        assert_eq!(log.status.as_u16(), 200);
        assert!(log.body.contains("Vikarie tillsatt"), "{}", log.body);

        // all at once: the substitute taken away from the teacher's lessons of the day
        let teacher: i64 = {
            let mut c = conn(&world.pool);
            lessons::table
                .inner_join(
                    activity_teachers::table
                        .on(activity_teachers::activity_id.eq(lessons::activity_id)),
                )
                .filter(lessons::id.eq(three[2]))
                .select(activity_teachers::teacher_id)
                .first(&mut *c)
                .unwrap()
        };
        let cleared = office
            .post(
                &format!("{day}/substitute"),
                &[
                    ("date", &today),
                    ("teacher", &teacher.to_string()),
                    ("substitute", ""),
                ],
            )
            .await;
        assert_eq!(cleared.status.as_u16(), 303, "{}", cleared.body);
        assert_eq!(substitute_of(&world, three[2]), None);
        assert!(audited(&world.pool, "lesson.substitute_removed") >= 1);

        // a lesson more than two weeks back is not changed here
        let old: i64 = {
            let mut c = conn(&world.pool);
            lessons::table
                .filter(lessons::school_id.eq(s1))
                .filter(lessons::lesson_date.lt(test_today() - Duration::days(15)))
                .select(lessons::id)
                .first(&mut *c)
                .unwrap()
        };
        let refused = office
            .post(
                &format!("{day}/substitute"),
                &[
                    ("date", &today),
                    ("lesson", &old.to_string()),
                    ("substitute", &sub.to_string()),
                ],
            )
            .await;
        assert_eq!(refused.status.as_u16(), 400);
        assert!(refused.body.contains("mer än två veckor sedan"));
        assert_eq!(substitute_of(&world, old), None);
    }
}

fn scheduled(world: &World, pupils: &[i64]) -> i64 {
    let mut c = conn(&world.pool);
    absence_days::table
        .filter(absence_days::pupil_id.eq_any(pupils))
        .filter(absence_days::day.eq(test_today()))
        .select(absence_days::scheduled_minutes)
        .load::<i32>(&mut *c)
        .unwrap()
        .into_iter()
        .map(i64::from)
        .sum()
}

#[actix_web::test]
async fn a_cancelled_lesson_leaves_the_scheduled_minutes_and_keeps_its_roll_call() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let (pupils, minutes): (Vec<i64>, i32) = {
            let mut c = conn(&world.pool);
            let (activity, minutes): (i64, i32) = lessons::table
                .find(lesson)
                .select((lessons::activity_id, lessons::teaching_minutes))
                .first(&mut *c)
                .unwrap();
            let pupils = group_memberships::table
                .inner_join(
                    activity_groups::table
                        .on(activity_groups::group_id.eq(group_memberships::group_id)),
                )
                .filter(activity_groups::activity_id.eq(activity))
                .filter(group_memberships::end_date.is_null())
                .select(group_memberships::pupil_id)
                .load(&mut *c)
                .unwrap();
            (pupils, minutes)
        };
        // the teacher reports first: the roll call is kept when the lesson is cancelled
        let mut teacher = Browser::open(&app).await;
        teacher.sign_in("demo.teacher", DEMO_PASSWORD).await;
        teacher.get(&format!("/lessons/{lesson}")).await;
        let sent = teacher
            .post(
                &format!("/lessons/{lesson}"),
                &[("version", "0"), ("action", "all_present")],
            )
            .await;
        assert_eq!(sent.status.as_u16(), 303);
        let before = scheduled(&world, &pupils);

        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let day = format!("/schools/{}/day", world.ids.school1);
        let today = test_today().to_string();
        let done = principal
            .post(
                &format!("{day}/cancel"),
                &[
                    ("date", &today),
                    ("lesson", &lesson.to_string()),
                    ("cancel", "1"),
                ],
            )
            .await;
        assert_eq!(done.status.as_u16(), 303, "{}", done.body);
        let after = scheduled(&world, &pupils);
        assert_eq!(
            before - after,
            i64::from(minutes) * pupils.len() as i64,
            "{before} -> {after}"
        );
        let page = principal.get(&day).await;
        assert!(page
            .body
            .contains("Närvaron som redan rapporterades finns kvar"));
        {
            let mut c = conn(&world.pool);
            let reports: i64 = lesson_reports::table
                .filter(lesson_reports::lesson_id.eq(lesson))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert_eq!(reports, 1, "the roll call is kept");
            let (cancelled, source): (bool, Option<bool>) = lessons::table
                .find(lesson)
                .select((lessons::cancelled, lessons::source_cancelled))
                .first(&mut *c)
                .unwrap();
            assert!(cancelled);
            assert_eq!(source, Some(false), "what the timetable said is kept");
        }
        assert_eq!(audited(&world.pool, "lesson.cancelled"), 1);
        // the same cancellation again changes nothing and audits nothing
        principal
            .post(
                &format!("{day}/cancel"),
                &[
                    ("date", &today),
                    ("lesson", &lesson.to_string()),
                    ("cancel", "1"),
                ],
            )
            .await;
        assert_eq!(audited(&world.pool, "lesson.cancelled"), 1);

        // given back: the minutes return, and the lesson is the timetable's again
        let done = principal
            .post(
                &format!("{day}/cancel"),
                &[
                    ("date", &today),
                    ("lesson", &lesson.to_string()),
                    ("cancel", "0"),
                ],
            )
            .await;
        assert_eq!(done.status.as_u16(), 303);
        assert_eq!(scheduled(&world, &pupils), before);
        let mut c = conn(&world.pool);
        let source: Option<bool> = lessons::table
            .find(lesson)
            .select(lessons::source_cancelled)
            .first(&mut *c)
            .unwrap();
        assert_eq!(source, None);
    }
}

/// Eight identical cancellations and eight identical substitutions at the same moment on
/// PostgreSQL: each lesson changes once, is audited once, and its pupils' minutes leave
/// the statistics once.
#[actix_web::test]
async fn identical_changes_at_the_same_moment_change_once_on_postgresql() {
    if !backends().contains(&crate::helpers::Kind::Postgres) {
        return;
    }
    let app = TestApp::spawn(crate::helpers::Kind::Postgres).await;
    let world = fixtures::build(&app);
    let s1 = world.ids.school1;
    let sub = staff_member(&world, "stand.in", "teacher", s1);
    let lessons = todays_lessons(&world, s1, sub);
    let (cancel, give) = (lessons[0], lessons[1]);
    let mut principal = Browser::open(&app).await;
    principal.sign_in("demo.principal", DEMO_PASSWORD).await;
    let today = test_today().to_string();
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let req = app
            .client
            .post(app.url(&path))
            .insert_header(("Cookie", principal.cookie_header()));
        let mut fields = fields;
        fields.push(("_csrf", principal.csrf.clone()));
        async move { req.send_form(&fields).await.unwrap().status().as_u16() }
    };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(post(
            format!("/schools/{s1}/day/cancel"),
            vec![
                ("date", today.clone()),
                ("lesson", cancel.to_string()),
                ("cancel", "1".into()),
            ],
        ));
        tasks.push(post(
            format!("/schools/{s1}/day/substitute"),
            vec![
                ("date", today.clone()),
                ("lesson", give.to_string()),
                ("substitute", sub.to_string()),
            ],
        ));
    }
    let statuses = crate::roll_call::futures_join_all(tasks).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(audited(&world.pool, "lesson.cancelled"), 1);
    assert_eq!(audited(&world.pool, "lesson.substitute"), 1);
    assert_eq!(substitute_of(&world, give), Some(sub));
    // the class sums still equal a rebuild from the facts
    let mut c = conn(&world.pool);
    let stored =
        narvaro::insight::statistics::store::stored(&mut c, narvaro::school::ids::SchoolId(s1))
            .unwrap();
    let computed = narvaro::insight::statistics::store::computed(
        &mut c,
        chrono_tz::Europe::Stockholm,
        narvaro::school::ids::SchoolId(s1),
        test_today(),
        test_today(),
    )
    .unwrap();
    let mut computed = computed;
    let mut today_rows: Vec<_> = stored
        .into_iter()
        .filter(|r| r.day == test_today())
        .collect();
    today_rows.sort_by_key(|r| r.pupil_id);
    computed.sort_by_key(|r| r.pupil_id);
    assert!(!computed.is_empty());
    assert_eq!(today_rows, computed);
}

/// A teacher away for two days: the day page says so and flags the lessons without a
/// substitute; an overlapping absence, someone from another school, or a period backwards
/// is refused and nothing stored; one substitute "all at once" until the last day covers
/// every lesson of both days; the absence is taken back and both are audited.
#[actix_web::test]
async fn a_teacher_away_for_two_days_gets_one_substitute_for_all() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (s1, s2) = (world.ids.school1, world.ids.school2);
        let sub = staff_member(&world, "stand.in", "teacher", s1);
        let elsewhere = staff_member(&world, "other.school", "teacher", s2);
        let (teacher, lessons) = demo_teacher_lessons(&world, test_today() + Duration::days(1));
        assert!(!lessons.is_empty(), "demo.teacher teaches today");
        let day = format!("/schools/{s1}/day");
        let today = test_today().to_string();
        let tomorrow = (test_today() + Duration::days(1)).to_string();
        let absences = |world: &World| -> i64 {
            let mut c = conn(&world.pool);
            staff_absences::table
                .filter(staff_absences::cancelled_at.is_null())
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        let mut office = Browser::open(&app).await;
        office.sign_in("demo.office", DEMO_PASSWORD).await;
        for (who, last, message) in [
            (elsewhere, tomorrow.as_str(), "arbetar på skolan"),
            (teacher, "2026-11-01", "före första dagen"),
        ] {
            let refused = office
                .post(
                    &format!("{day}/absent"),
                    &[
                        ("date", &today),
                        ("teacher", &who.to_string()),
                        ("last_day", last),
                    ],
                )
                .await;
            assert_eq!(refused.status.as_u16(), 400, "{message}");
            assert!(
                refused.body.contains(message),
                "{message}: {}",
                refused.body
            );
        }
        assert_eq!(absences(&world), 0);
        let away = office
            .post(
                &format!("{day}/absent"),
                &[
                    ("date", &today),
                    ("teacher", &teacher.to_string()),
                    ("last_day", &tomorrow),
                ],
            )
            .await;
        assert_eq!(away.status.as_u16(), 303, "{}", away.body);
        let overlapping = office
            .post(
                &format!("{day}/absent"),
                &[
                    ("date", &tomorrow),
                    ("teacher", &teacher.to_string()),
                    ("last_day", ""),
                ],
            )
            .await;
        assert_eq!(overlapping.status.as_u16(), 400);
        assert!(overlapping.body.contains("redan frånvarande"));
        assert_eq!(absences(&world), 1);
        assert_eq!(audited(&world.pool, "staff.absent"), 1);
        let page = office.get(&day).await;
        assert!(
            page.body
                .contains("Frånvarande onsdag 25 november – torsdag 26 november"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Saknar vikarie"));

        // one substitute for every lesson of both days
        let all = office
            .post(
                &format!("{day}/substitute"),
                &[
                    ("date", &today),
                    ("teacher", &teacher.to_string()),
                    ("last_day", &tomorrow),
                    ("substitute", &sub.to_string()),
                ],
            )
            .await;
        assert_eq!(all.status.as_u16(), 303, "{}", all.body);
        for l in &lessons {
            assert_eq!(substitute_of(&world, *l), Some(sub), "lesson {l}");
        }
        let page = office.get(&day).await;
        assert!(!page.body.contains("Saknar vikarie"), "{}", page.body);

        // taken back
        let id: i64 = {
            let mut c = conn(&world.pool);
            staff_absences::table
                .select(staff_absences::id)
                .first(&mut *c)
                .unwrap()
        };
        let ended = office
            .post(
                &format!("{day}/absent/end"),
                &[("date", &today), ("absence", &id.to_string())],
            )
            .await;
        assert_eq!(ended.status.as_u16(), 303, "{}", ended.body);
        assert_eq!(absences(&world), 0);
        assert_eq!(audited(&world.pool, "staff.absence_ended"), 1);
    }
}

/// The office's day page at work: the lessons that need a substitute come first, teachers
/// are folded, the lesson's own teacher is never offered as its substitute and busy
/// colleagues are said to be, and a change comes back to the lesson changed.
#[actix_web::test]
async fn the_day_page_puts_the_lessons_without_a_substitute_first() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let s1 = world.ids.school1;
        let sub = staff_member(&world, "stand.in", "teacher", s1);
        let (teacher, lessons) = demo_teacher_lessons(&world, test_today());
        let lesson = lessons[0];
        let day = format!("/schools/{s1}/day");
        let today = test_today().to_string();
        let mut office = Browser::open(&app).await;
        office.sign_in("demo.office", DEMO_PASSWORD).await;
        let page = office.get(&day).await;
        assert!(
            !page.body.contains("id=\"needing-h\""),
            "nobody is away yet"
        );
        assert!(
            !page.body.contains("<details class=\"card teacher\" open"),
            "{kind:?}: teachers are folded"
        );
        let away = office
            .post(
                &format!("{day}/absent"),
                &[
                    ("date", &today),
                    ("teacher", &teacher.to_string()),
                    ("last_day", ""),
                ],
            )
            .await;
        assert_eq!(away.status.as_u16(), 303, "{}", away.body);
        assert!(
            away.location
                .as_deref()
                .is_some_and(|l| l.ends_with(&format!("at=t{teacher}#t{teacher}"))),
            "{:?}",
            away.location
        );
        let page = office.get(&day).await;
        let needing = page
            .body
            .find("id=\"needing-h\"")
            .expect("a list of lessons without a substitute");
        let first_teacher = page.body.find("<details").expect("teachers");
        assert!(needing < first_teacher, "{kind:?}: the list comes first");
        // the lesson's own teacher is never offered for it
        let select = page
            .body
            .split(&format!("id=\"ns{lesson}\""))
            .nth(1)
            .and_then(|s| s.split("</select>").next())
            .unwrap_or_else(|| panic!("{kind:?}: {}", page.body));
        assert!(
            !select.contains(&format!("value=\"{teacher}\"")),
            "{select}"
        );
        assert!(select.contains(&format!("value=\"{sub}\"")), "{select}");
        assert!(select.contains("Lediga då"), "{select}");
        // a substitute given: back to that lesson, its teacher open
        let given = office
            .post(
                &format!("{day}/substitute"),
                &[
                    ("date", &today),
                    ("lesson", &lesson.to_string()),
                    ("substitute", &sub.to_string()),
                ],
            )
            .await;
        assert_eq!(given.status.as_u16(), 303, "{}", given.body);
        let back = given.location.clone().unwrap();
        assert!(back.ends_with(&format!("at=l{lesson}#l{lesson}")), "{back}");
        let page = office.get(back.split('#').next().unwrap()).await;
        let opened = page
            .body
            .split("<details class=\"card teacher\" open>")
            .nth(1)
            .unwrap_or_else(|| panic!("{kind:?}: {}", page.body));
        assert!(opened.contains(&format!("id=\"l{lesson}\"")), "{kind:?}");
        // now the lesson has its substitute, the first list no longer holds it
        assert!(!page.body.contains(&format!("id=\"nl{lesson}\"")));
    }
}
