//! The roll call as a teacher uses it, on both databases: the story from the issue, the
//! API's contract and its bad input, two teachers on one lesson, and the mentor's week.

use chrono::Duration;
use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_token, conn, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, TestApp};

/// Pupils of the lesson in page order, from the API.
async fn pupils(app: &TestApp, token: &str, lesson: i64) -> Vec<serde_json::Value> {
    let (status, rc) = crate::browser::api_get(
        app,
        Some(token),
        &format!("/api/v1/lessons/{lesson}/roll-call"),
    )
    .await;
    assert_eq!(status, 200, "{rc}");
    rc["pupils"].as_array().unwrap().clone()
}

fn marks(world: &World, lesson: i64) -> Vec<(i64, String, i32, Option<i64>)> {
    let mut c = conn(&world.pool);
    attendance_marks::table
        .filter(attendance_marks::lesson_id.eq(lesson))
        .select((
            attendance_marks::pupil_id,
            attendance_marks::status,
            attendance_marks::minutes,
            attendance_marks::reason_id,
        ))
        .order(attendance_marks::pupil_id)
        .load(&mut *c)
        .unwrap()
}

/// A guardian's sick report for the child, covering today, made this morning.
fn report_sick_today(world: &World) -> i64 {
    let mut c = conn(&world.pool);
    let c = &mut *c;
    let sick: i64 = absence_reasons::table
        .filter(absence_reasons::code.eq("SJUK"))
        .select(absence_reasons::id)
        .first(c)
        .unwrap();
    let guardian: i64 = people::table
        .filter(people::username.eq("demo.guardian"))
        .select(people::id)
        .first(c)
        .unwrap();
    let tz = chrono_tz::Europe::Stockholm;
    let today = crate::helpers::test_today();
    let (start, end) = narvaro::school::calendar::utc_window(
        tz,
        today,
        chrono::NaiveTime::MIN,
        chrono::NaiveTime::from_hms_opt(23, 59, 0).unwrap(),
    );
    diesel::insert_into(absence_reports::table)
        .values((
            absence_reports::pupil_id.eq(world.ids.child),
            absence_reports::starts_at.eq(start),
            absence_reports::ends_at.eq(end),
            absence_reports::reason_id.eq(sick),
            absence_reports::reported_by.eq(guardian),
            absence_reports::created_at.eq(crate::helpers::test_moment().naive_utc()),
        ))
        .execute(c)
        .unwrap();
    sick
}

/// The version a roll-call page's form was made from.
fn version_in(body: &str) -> String {
    body.split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the form's version")
        .to_string()
}

fn lesson_minutes(world: &World) -> i32 {
    let mut c = conn(&world.pool);
    lessons::table
        .find(world.ids.lesson)
        .select(lessons::teaching_minutes)
        .first(&mut *c)
        .unwrap()
}

#[actix_web::test]
async fn a_teacher_reports_a_lesson_and_corrects_it_the_next_day() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let sick = report_sick_today(&world);

        let mut t = Browser::open(&app).await;
        t.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let home = t.get("/").await;
        assert!(home.body.contains("Dagens lektioner"));
        assert!(
            home.body.contains(&format!("/lessons/{lesson}")),
            "today's lesson is on the start page"
        );
        let page = t.get(&format!("/lessons/{lesson}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Inte rapporterad ännu"));
        assert!(
            page.body.contains("Anmäld frånvaro"),
            "the guardian's report shows"
        );
        assert!(!page.body.contains("Sjukdom\""), "no diagnosis as a badge");
        let child = world.ids.child;
        assert!(
            page.body
                .contains(&format!("name=\"s{child}\" value=\"a\" checked")),
            "pre-marked absent"
        );

        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let list = pupils(&app, &token, lesson).await;
        let others: Vec<i64> = list
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .filter(|id| *id != child)
            .collect();
        let (a, b, late) = (others[0], others[1], others[2]);
        let version = crate::browser::csrf_in(&page.body).map(|_| "0").unwrap();
        let (sa, sb, sl, ml) = (
            format!("s{a}"),
            format!("s{b}"),
            format!("s{late}"),
            format!("m{late}"),
        );
        let done = t
            .post(
                &format!("/lessons/{lesson}"),
                &[
                    ("version", version),
                    ("action", "report"),
                    (&sa, "a"),
                    (&sb, "a"),
                    (&sl, "l"),
                    (&ml, "10"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = t.get(done.location.as_deref().unwrap()).await;
        assert!(
            page.body.contains("Rapporterad") && page.body.contains("av Vincent")
                || page.body.contains("Rapporterad</strong> av"),
            "who reported shows"
        );
        let minutes = lesson_minutes(&world);
        let mut expected = vec![
            (a, "absent".to_string(), minutes, None),
            (b, "absent".to_string(), minutes, None),
            (late, "late".to_string(), 10, None),
            (child, "absent".to_string(), minutes, Some(sick)),
        ];
        expected.sort();
        assert_eq!(marks(&world, lesson), expected);
        {
            let mut c = conn(&world.pool);
            let changed: i64 = audit_log::table
                .filter(audit_log::action.eq("attendance.changed"))
                .filter(audit_log::entity_id.eq(lesson))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert_eq!(changed, 4);
            let reported: i64 = audit_log::table
                .filter(audit_log::action.eq("lesson.reported"))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert_eq!(reported, 1);
        }

        // "everyone present" keeps the reported pupil absent
        let page = t.get(&format!("/lessons/{lesson}")).await;
        let v = version_in(&page.body);
        let done = t
            .post(
                &format!("/lessons/{lesson}"),
                &[("version", &v), ("action", "all_present")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(
            marks(&world, lesson),
            vec![(child, "absent".to_string(), minutes, Some(sick))]
        );

        // the next day a change needs a reason
        {
            let mut c = conn(&world.pool);
            let date: chrono::NaiveDate = lessons::table
                .find(lesson)
                .select(lessons::lesson_date)
                .first(&mut *c)
                .unwrap();
            diesel::update(lessons::table.find(lesson))
                .set(lessons::lesson_date.eq(date - Duration::days(1)))
                .execute(&mut *c)
                .unwrap();
        }
        let page = t.get(&format!("/lessons/{lesson}")).await;
        assert!(page.body.contains("correction_reason"), "the form asks why");
        let v = version_in(&page.body);
        let refused = t
            .post(
                &format!("/lessons/{lesson}"),
                &[("version", &v), ("action", "report"), (&sa, "a")],
            )
            .await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.body.contains("skriv kort varför"),
            "{}",
            refused.body
        );
        assert!(
            refused
                .body
                .contains(&format!("name=\"s{a}\" value=\"a\" checked")),
            "the entry is kept on the page"
        );
        assert_eq!(marks(&world, lesson).len(), 1, "nothing stored");
        let done = t
            .post(
                &format!("/lessons/{lesson}"),
                &[
                    ("version", &v),
                    ("action", "report"),
                    (&sa, "a"),
                    ("correction_reason", "Eleven var på annan lektion"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let after = marks(&world, lesson);
        assert!(
            after.iter().any(|m| m.0 == a && m.1 == "absent"),
            "{after:?}"
        );
        assert!(after.iter().any(|m| m.0 == child), "{after:?}");
        // anyone else stored now is a pupil covered that day (a report or granted leave),
        // whose pre-mark a saved roll call keeps
        assert!(
            after
                .iter()
                .filter(|m| m.0 != a && m.0 != child)
                .all(|m| m.1 == "absent"),
            "{after:?}"
        );
        let mut c = conn(&world.pool);
        let detail: String = audit_log::table
            .filter(audit_log::action.eq("attendance.changed"))
            .order(audit_log::id.desc())
            .select(audit_log::detail)
            .first(&mut *c)
            .unwrap();
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(detail["from"]["status"], "present");
        assert_eq!(detail["to"]["status"], "absent");
        assert_eq!(detail["reason"], "Eleven var på annan lektion");
    }
}

#[actix_web::test]
async fn the_api_roll_call_is_idempotent_and_refuses_bad_input_without_touching_marks() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let url = app.url(&format!("/api/v1/lessons/{lesson}/roll-call"));
        let put = |body: serde_json::Value| {
            let req = app
                .client
                .put(url.clone())
                .insert_header(("Authorization", format!("Bearer {token}")));
            async move {
                let mut res = req.send_json(&body).await.unwrap();
                let status = res.status().as_u16();
                let json: serde_json::Value = res
                    .json()
                    .limit(1 << 20)
                    .await
                    .unwrap_or(serde_json::Value::Null);
                (status, json)
            }
        };
        let list = pupils(&app, &token, lesson).await;
        let ids: Vec<i64> = list.iter().map(|p| p["id"].as_i64().unwrap()).collect();
        let body = json!({"marks": [
            {"pupil_id": ids[0], "status": "absent"},
            {"pupil_id": ids[1], "status": "late", "minutes": 7},
        ]});
        let (status, first) = put(body.clone()).await;
        assert_eq!(status, 200, "{first}");
        let (status, second) = put(body.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(
            first["pupils"], second["pupils"],
            "the same request twice gives the same roll call"
        );
        let stored = marks(&world, lesson);
        assert_eq!(stored.len(), 2);
        // pupils not listed keep their marks
        let (status, _) =
            put(json!({"marks": [{"pupil_id": ids[2], "status": "left_early", "minutes": 15}]}))
                .await;
        assert_eq!(status, 200);
        assert_eq!(marks(&world, lesson).len(), 3);
        let before = marks(&world, lesson);

        let minutes = lesson_minutes(&world);
        let bad = [
            (
                json!({"marks": [{"pupil_id": 999999999, "status": "absent"}]}),
                400,
                "pupil_not_in_lesson",
            ),
            (
                json!({"marks": [{"pupil_id": world.ids.adult, "status": "absent"}]}),
                400,
                "pupil_not_in_lesson",
            ),
            (
                json!({"marks": [{"pupil_id": ids[3], "status": "late", "minutes": -5}]}),
                400,
                "bad_minutes",
            ),
            (
                json!({"marks": [{"pupil_id": ids[3], "status": "late", "minutes": minutes + 1}]}),
                400,
                "bad_minutes",
            ),
            (
                json!({"marks": [{"pupil_id": ids[3], "status": "late"}]}),
                400,
                "minutes_required",
            ),
            (
                json!({"marks": [{"pupil_id": ids[3], "status": "sleeping"}]}),
                400,
                "unknown_status",
            ),
            (
                json!({"marks": [{"pupil_id": ids[3], "status": "absent", "reason_id": 999999}]}),
                400,
                "unknown_reason",
            ),
            (
                json!({"marks": [{"pupil_id": ids[0], "status": "present"}, {"pupil_id": ids[0], "status": "absent"}]}),
                400,
                "duplicate_pupil",
            ),
            (json!({"marks": "all"}), 400, "bad_request"),
            (
                json!({"marks": [{"pupil_id": ids[0], "status": "present"}], "expected_version": 1}),
                409,
                "stale_roll_call",
            ),
        ];
        for (body, status, code) in bad {
            let (got, problem) = put(body.clone()).await;
            assert_eq!(got, status, "{body} → {problem}");
            assert_eq!(problem["code"], code, "{body}");
            assert_eq!(marks(&world, lesson), before, "{body} changed nothing");
        }
        // a mix of one good and one bad mark stores nothing
        let (got, _) = put(json!({"marks": [{"pupil_id": ids[0], "status": "present"}, {"pupil_id": ids[3], "status": "late", "minutes": 0}]})).await;
        assert_eq!(got, 400);
        assert_eq!(marks(&world, lesson), before);

        // a cancelled lesson, a lesson that is not the caller's, a lesson not yet today
        {
            let mut c = conn(&world.pool);
            diesel::update(lessons::table.find(lesson))
                .set(lessons::cancelled.eq(true))
                .execute(&mut *c)
                .unwrap();
        }
        let (got, problem) = put(json!({"marks": []})).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (409, Some("lesson_cancelled"))
        );
        let other_lesson: i64 = {
            let mut c = conn(&world.pool);
            diesel::update(lessons::table.find(lesson))
                .set(lessons::cancelled.eq(false))
                .execute(&mut *c)
                .unwrap();
            lessons::table
                .filter(lessons::school_id.eq(world.ids.school2))
                .select(lessons::id)
                .first(&mut *c)
                .unwrap()
        };
        let res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{other_lesson}/roll-call")))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(&json!({"marks": []}))
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        {
            let mut c = conn(&world.pool);
            let date: chrono::NaiveDate = lessons::table
                .find(lesson)
                .select(lessons::lesson_date)
                .first(&mut *c)
                .unwrap();
            diesel::update(lessons::table.find(lesson))
                .set(lessons::lesson_date.eq(date + Duration::days(3)))
                .execute(&mut *c)
                .unwrap();
        }
        let (got, problem) = put(json!({"marks": []})).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (400, Some("lesson_in_future"))
        );
        assert_eq!(marks(&world, lesson), before);

        // the day's lessons for the API
        let (status, day) = crate::browser::api_get(&app, Some(&token), "/api/v1/lessons").await;
        assert_eq!(status, 200);
        assert!(
            day["lessons"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["starts_at"].as_str().unwrap().len() == 19),
            "{day}"
        );
    }
}

#[actix_web::test]
async fn two_teachers_on_one_lesson_never_lose_a_mark() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        // other.teacher stands in (co-teaching): a substitute on the same lesson
        let sub_id = fixtures::stand_in(&world, lesson, "other.teacher");
        let mut a = Browser::open(&app).await;
        a.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let mut b = Browser::open(&app).await;
        b.sign_in("other.teacher", DEMO_PASSWORD).await;
        let path = format!("/lessons/{lesson}");
        let page_a = a.get(&path).await;
        let page_b = b.get(&path).await;
        assert_eq!(page_b.status, 200, "the substitute sees the lesson");
        assert!(
            page_a.body.contains("name=\"version\" value=\"0\"")
                && page_b.body.contains("name=\"version\" value=\"0\"")
        );
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let ids: Vec<i64> = pupils(&app, &token, lesson)
            .await
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        let (s0, s1) = (format!("s{}", ids[0]), format!("s{}", ids[1]));
        let done = a
            .post(&path, &[("version", "0"), ("action", "report"), (&s0, "a")])
            .await;
        assert_eq!(done.status, 303);
        // B submits the form it opened before A saved
        let late = b
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("action", "report"),
                    (&s0, "p"),
                    (&s1, "a"),
                ],
            )
            .await;
        assert_eq!(late.status, 409, "{}", late.body);
        assert!(late.body.contains("Någon annan sparade lektionen"));
        assert!(late.body.contains("Du skickade") && late.body.contains("Sparat nu"));
        assert_eq!(
            marks(&world, lesson)
                .iter()
                .map(|m| (m.0, m.1.clone()))
                .collect::<Vec<_>>(),
            vec![(ids[0], "absent".to_string())],
            "A's mark stands, nothing of B's was stored"
        );
        // B's page now shows the current version and B can save on top of it
        let v = version_in(&late.body);
        assert_eq!(v, "1");
        let again = b
            .post(
                &path,
                &[
                    ("version", &v),
                    ("action", "report"),
                    (&s0, "a"),
                    (&s1, "a"),
                ],
            )
            .await;
        assert_eq!(again.status, 303);
        assert_eq!(marks(&world, lesson).len(), 2);
        let by: Vec<i64> = {
            let mut c = conn(&world.pool);
            attendance_marks::table
                .filter(attendance_marks::lesson_id.eq(lesson))
                .select(attendance_marks::marked_by)
                .order(attendance_marks::pupil_id)
                .load(&mut *c)
                .unwrap()
        };
        assert!(by.contains(&sub_id));

        // many API submissions at once, each for other pupils: every mark is kept
        let sub_token = api_token(&app, "other.teacher", DEMO_PASSWORD).await;
        let mut tasks = Vec::new();
        for (i, pupil) in ids.iter().enumerate().skip(2).take(8) {
            let tok = if i % 2 == 0 {
                token.clone()
            } else {
                sub_token.clone()
            };
            let req = app
                .client
                .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
                .insert_header(("Authorization", format!("Bearer {tok}")));
            let body = json!({"marks": [{"pupil_id": pupil, "status": "late", "minutes": 5}]});
            tasks.push(async move { req.send_json(&body).await.unwrap().status().as_u16() });
        }
        let statuses = futures_join_all(tasks).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(
            marks(&world, lesson).len(),
            10,
            "no concurrent submission lost a mark"
        );
    }
}

/// Runs the futures concurrently on this thread.
pub(crate) async fn futures_join_all<T: 'static, F: std::future::Future<Output = T> + 'static>(
    tasks: Vec<F>,
) -> Vec<T> {
    let handles: Vec<_> = tasks.into_iter().map(actix_web::rt::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[actix_web::test]
async fn the_mentor_sees_the_week_per_pupil() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let ids: Vec<i64> = pupils(&app, &token, lesson)
            .await
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        let res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(&json!({"marks": [{"pupil_id": ids[0], "status": "absent"}]}))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let mut t = Browser::open(&app).await;
        t.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let page = t.get("/mentor").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Ogiltig, min"));
        let minutes = lesson_minutes(&world);
        // the row of the pupil marked absent shows at least that lesson's minutes as invalid
        let row = page
            .body
            .split(&format!("/pupils/{}\"", ids[0]))
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap();
        let cells: Vec<i64> = row
            .split("<td>")
            .skip(1)
            .filter_map(|c| c.split('<').next().unwrap().trim().parse().ok())
            .collect();
        assert!(
            cells[1] >= i64::from(minutes),
            "invalid minutes {cells:?} in {row}"
        );
        assert_eq!(t.get("/mentor?week=2026-13-01").await.status, 400);
    }
}

/// Identical first reports of a lesson at the same moment through the API, naming no
/// version ("these marks, whatever is stored"): one inserts the report, the others go on
/// top of it with nothing to change. Every one is answered 200 and the marks are stored
/// once (on PostgreSQL the losers used to get 409 from the race for the report row).
#[actix_web::test]
async fn identical_first_reports_at_the_same_moment_all_succeed() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let reported = || -> (i64, Option<i32>) {
            let mut c = conn(&world.pool);
            let version = lesson_reports::table
                .filter(lesson_reports::lesson_id.eq(lesson))
                .select(lesson_reports::version)
                .first(&mut *c)
                .optional()
                .unwrap();
            (
                crate::browser::audited(&world.pool, "lesson.reported"),
                version,
            )
        };
        assert_eq!(reported(), (0, None), "{kind:?}: not reported yet");
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let ids: Vec<i64> = pupils(&app, &token, lesson)
            .await
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        let body = json!({"marks": [
            {"pupil_id": ids[0], "status": "absent"},
            {"pupil_id": ids[1], "status": "late", "minutes": 5},
        ]});
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let req = app
                    .client
                    .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
                    .insert_header(("Authorization", format!("Bearer {token}")));
                let body = body.clone();
                async move { req.send_json(&body).await.unwrap().status().as_u16() }
            })
            .collect();
        let statuses = futures_join_all(tasks).await;
        assert!(statuses.iter().all(|s| *s == 200), "{kind:?}: {statuses:?}");
        let mut expected = vec![(ids[0], "absent".to_string()), (ids[1], "late".to_string())];
        expected.sort();
        assert_eq!(
            marks(&world, lesson)
                .iter()
                .map(|m| (m.0, m.1.clone()))
                .collect::<Vec<_>>(),
            expected,
            "{kind:?}"
        );
        let (first, version) = reported();
        assert_eq!(first, 1, "{kind:?}: one first report");
        assert_eq!(version, Some(8), "{kind:?}: each submission one version");
    }
}

#[actix_web::test]
async fn everyone_present_asks_before_it_throws_away_the_marks_on_the_page() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let sick = report_sick_today(&world);
        let child = world.ids.child;
        let mut t = Browser::open(&app).await;
        t.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let others: Vec<i64> = pupils(&app, &token, lesson)
            .await
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .filter(|id| *id != child)
            .collect();
        let (a, b) = (others[0], others[1]);
        let (sa, sb) = (format!("s{a}"), format!("s{b}"));
        // two pupils marked absent on the page, then "Alla närvarande" under "Rapportera"
        let fields = |action: &'static str| {
            vec![
                ("version", "0".to_string()),
                ("action", action.to_string()),
                (sa.as_str(), "a".to_string()),
                (sb.as_str(), "a".to_string()),
            ]
        };
        let path = format!("/lessons/{lesson}");
        async fn post(
            t: &mut Browser,
            path: &str,
            fields: Vec<(&str, String)>,
        ) -> crate::browser::Page {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            t.post(path, &refs).await
        }
        let asked = post(&mut t, &path, fields("all_present")).await;
        assert_eq!(asked.status, 200, "{kind:?}: {}", asked.body);
        assert!(
            asked.body.contains("Vill du ta bort dina markeringar?"),
            "{}",
            asked.body
        );
        assert!(asked.body.contains("value=\"all_present_confirmed\""));
        assert!(
            asked
                .body
                .contains(&format!("name=\"{sa}\" value=\"a\" checked"))
                && asked
                    .body
                    .contains(&format!("name=\"{sb}\" value=\"a\" checked")),
            "{kind:?}: the teacher's marks stay on the page"
        );
        assert!(!asked.body.contains("Sparat."));
        assert!(
            marks(&world, lesson).is_empty(),
            "{kind:?}: nothing was saved"
        );
        {
            let mut c = conn(&world.pool);
            let reported: i64 = lesson_reports::table
                .filter(lesson_reports::lesson_id.eq(lesson))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert_eq!(reported, 0, "{kind:?}: the lesson is not reported");
        }
        // "Spara mina markeringar" keeps them
        let kept = post(&mut t, &path, fields("report")).await;
        assert_eq!(kept.status, 303, "{}", kept.body);
        let minutes = lesson_minutes(&world);
        let mut expected = vec![
            (a, "absent".to_string(), minutes, None),
            (b, "absent".to_string(), minutes, None),
            (child, "absent".to_string(), minutes, Some(sick)),
        ];
        expected.sort();
        assert_eq!(marks(&world, lesson), expected);
        // asked again and confirmed, everyone is present but the reported child
        let page = t.get(&format!("/lessons/{lesson}")).await;
        let v = version_in(&page.body);
        let mut confirm = fields("all_present_confirmed");
        confirm[0].1 = v;
        let done = post(&mut t, &path, confirm).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(
            marks(&world, lesson),
            vec![(child, "absent".to_string(), minutes, Some(sick))]
        );
    }
}

#[actix_web::test]
async fn a_teacher_reaches_an_earlier_lesson_and_sees_its_latest_change() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let child = world.ids.child;
        let mut t = Browser::open(&app).await;
        t.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let s = format!("s{child}");
        let done = t
            .post(
                &format!("/lessons/{lesson}"),
                &[("version", "0"), ("action", "report"), (&s, "a")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        // the lesson was yesterday's
        {
            let mut c = conn(&world.pool);
            let date: chrono::NaiveDate = lessons::table
                .find(lesson)
                .select(lessons::lesson_date)
                .first(&mut *c)
                .unwrap();
            diesel::update(lessons::table.find(lesson))
                .set(lessons::lesson_date.eq(date - Duration::days(1)))
                .execute(&mut *c)
                .unwrap();
        }
        // from the start page's reported lessons ...
        let home = t.get("/").await;
        let reported = home
            .body
            .split("Rapporterade, senaste 7 skoldagarna")
            .nth(1)
            .unwrap_or_else(|| panic!("{kind:?}: {}", home.body));
        assert!(reported.contains(&format!("href=\"/lessons/{lesson}\"")));
        // ... and from the pupil's absence per lesson
        let pupil = t.get(&format!("/pupils/{child}")).await;
        assert!(
            pupil
                .body
                .contains(&format!("<a href=\"/lessons/{lesson}\">")),
            "{kind:?}: {}",
            pupil.body
        );
        // the why comes before the list, where it is seen before saving
        let page = t.get(&format!("/lessons/{lesson}")).await;
        let why = page.body.find("id=\"why\"").expect("the why field");
        let list = page.body.find("<ol class=\"roll\">").expect("the list");
        assert!(why < list, "{kind:?}: the why field is above the list");
        let state_line = |body: &str| -> String {
            let state = body.split("id=\"state\"").nth(1).unwrap_or_default();
            state.split("</p>").next().unwrap_or_default().to_string()
        };
        assert!(!state_line(&page.body).contains("senast ändrad"));
        let v = version_in(&page.body);
        let changed = t
            .post(
                &format!("/lessons/{lesson}"),
                &[
                    ("version", &v),
                    ("action", "report"),
                    (&s, "p"),
                    ("correction_reason", "Kom efter första rasten"),
                ],
            )
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        let page = t.get(&format!("/lessons/{lesson}")).await;
        let state = state_line(&page.body);
        assert!(state.contains("senast ändrad"), "{kind:?}: {state}");
    }
}

/// The roll call a save answers with (built from the one it read inside its transaction)
/// is what reading it again gives: first report, a change, a covered pupil set present.
#[actix_web::test]
async fn a_saved_roll_call_answers_what_a_new_read_gives() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        report_sick_today(&world);
        let child = world.ids.child;
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let others: Vec<i64> = pupils(&app, &token, lesson)
            .await
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .filter(|id| *id != child)
            .collect();
        let path = format!("/api/v1/lessons/{lesson}/roll-call");
        for marks in [
            json!([{"pupil_id": others[0], "status": "absent"}, {"pupil_id": others[1], "status": "late", "minutes": 7}]),
            json!([{"pupil_id": others[0], "status": "present"}, {"pupil_id": child, "status": "present"}]),
            json!([{"pupil_id": others[1], "status": "left_early", "minutes": 12}]),
        ] {
            let mut res = app
                .client
                .put(app.url(&path))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .send_json(&json!({ "marks": marks }))
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let answered: serde_json::Value = res.json().await.unwrap();
            let (status, read) = crate::browser::api_get(&app, Some(&token), &path).await;
            assert_eq!(status, 200);
            assert_eq!(answered, read, "{kind:?}: after {marks}");
        }
    }
}
