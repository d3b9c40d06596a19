//! Guardians and adult pupils: reporting absence, seeing it, cancelling, leave, and the
//! rules that keep one family out of another's business. On both databases.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{api_get, api_token, conn, deliver, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, TestApp};

/// Every test here runs on a Wednesday morning of the autumn term (the service's clock is
/// set), so none depends on the day it runs.
async fn spawn(kind: crate::helpers::Kind) -> TestApp {
    let moment = Utc.with_ymd_and_hms(2026, 11, 25, 7, 15, 0).unwrap();
    TestApp::spawn_with(kind, |c| {
        c.clock = narvaro::school::clock::Clock::starting_at(moment)
    })
    .await
}

fn today(app: &TestApp) -> NaiveDate {
    app.config.clock.today(chrono_tz::Europe::Stockholm)
}

async fn send(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let req = match method {
        "DELETE" => app.client.delete(app.url(path)),
        _ => app.client.post(app.url(path)),
    }
    .insert_header(("Authorization", format!("Bearer {token}")));
    let mut res = if method == "DELETE" {
        req.send().await.unwrap()
    } else {
        req.send_json(&body).await.unwrap()
    };
    let status = res.status().as_u16();
    let bytes = res.body().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn report_count(world: &World) -> i64 {
    let mut c = conn(&world.pool);
    absence_reports::table.count().get_result(&mut *c).unwrap()
}

/// The child's other guardian, signed in with the demo password.
fn second_guardian(world: &World) -> String {
    let mut c = conn(&world.pool);
    let me: i64 = people::table
        .filter(people::username.eq("demo.guardian"))
        .select(people::id)
        .first(&mut *c)
        .unwrap();
    let hash: String = people::table
        .find(me)
        .select(people::password_hash.assume_not_null())
        .first(&mut *c)
        .unwrap();
    let other: i64 = guardianships::table
        .filter(guardianships::pupil_id.eq(world.ids.child))
        .filter(guardianships::guardian_id.ne(me))
        .select(guardianships::guardian_id)
        .first(&mut *c)
        .expect("the child has a second guardian");
    diesel::update(people::table.find(other))
        .set((
            people::username.eq("second.guardian"),
            people::password_hash.eq(hash),
        ))
        .execute(&mut *c)
        .unwrap();
    "second.guardian".into()
}

#[actix_web::test]
async fn a_guardian_reports_sick_in_two_taps_and_the_school_sees_it() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let lesson = world.ids.lesson;
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        // the teacher marks the child absent first: unexplained for now
        let (status, _) = {
            let mut res = app
                .client
                .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
                .insert_header(("Authorization", format!("Bearer {teacher}")))
                .send_json(&json!({"marks": [{"pupil_id": child, "status": "absent"}]}))
                .await
                .unwrap();
            (res.status().as_u16(), res.body().await.unwrap())
        };
        assert_eq!(status, 200);
        let (_, before) = api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/pupils/{child}/absences"),
        )
        .await;
        let row = before["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["lesson_id"] == json!(lesson))
            .unwrap()
            .clone();
        assert!(row["invalid_minutes"].as_i64().unwrap() > 0, "{row}");

        // two requests: the start page, then "sick today"
        let mut g = Browser::open(&app).await;
        g.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let start = g.get("/").await;
        assert!(start.body.contains("Sjuk i dag"));
        assert!(start
            .body
            .contains(&format!("action=\"/pupils/{child}/absence-reports\"")));
        let done = g
            .post(
                &format!("/pupils/{child}/absence-reports"),
                &[("quick", "sick_today")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = g.get(done.location.as_deref().unwrap()).await;
        assert!(
            page.body.contains("Frånvaron är anmäld")
                && page.body.contains("Anmäld frånvarande i dag"),
            "{}",
            page.body
        );

        // the roll call shows it pre-marked, and the absence now counts as valid
        let (_, rc) = api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{lesson}/roll-call"),
        )
        .await;
        let line = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == json!(child))
            .unwrap()
            .clone();
        assert_eq!(line["covered_by"]["kind"], "absence_report", "{line}");
        assert_eq!(line["status"], "absent");
        let (_, after) = api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/pupils/{child}/absences"),
        )
        .await;
        let row = after["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["lesson_id"] == json!(lesson))
            .unwrap()
            .clone();
        assert_eq!(row["invalid_minutes"], 0, "{row}");
        assert!(row["valid_minutes"].as_i64().unwrap() > 0);
        assert_eq!(row["covered_by"], "absence_report");
        // the teacher sees the reason; guardians see "reported absence"
        assert_eq!(after["reports"][0]["kind"], "Sjukdom");

        // the other guardian sees it, without a diagnosis
        let second = second_guardian(&world);
        let token2 = api_token(&app, &second, DEMO_PASSWORD).await;
        let (status, seen) = api_get(
            &app,
            Some(&token2),
            &format!("/api/v1/pupils/{child}/absences"),
        )
        .await;
        assert_eq!(status, 200);
        let report = seen["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cancelled"] == json!(false))
            .unwrap()
            .clone();
        assert_eq!(report["kind"], "Anmäld frånvaro");
        let report_id = report["id"].as_i64().unwrap();

        // another family can neither see nor cancel it
        let other = api_token(&app, "other.guardian", DEMO_PASSWORD).await;
        assert_eq!(
            api_get(
                &app,
                Some(&other),
                &format!("/api/v1/pupils/{child}/absences")
            )
            .await
            .0,
            404
        );
        assert_eq!(
            send(
                &app,
                &other,
                "DELETE",
                &format!("/api/v1/absence-reports/{report_id}"),
                Value::Null
            )
            .await
            .0,
            404
        );
        let mut ob = Browser::open(&app).await;
        ob.sign_in("other.guardian", DEMO_PASSWORD).await;
        assert_eq!(
            ob.post(&format!("/absence-reports/{report_id}/cancel"), &[])
                .await
                .status,
            404
        );
        assert_eq!(ob.get(&format!("/pupils/{child}")).await.status, 404);
        // (a tap by mistake can be undone for a quarter of an hour, lessons begun or not:
        // the browser test undoes one) after that its first lesson (08:10) has started, so the guardian cannot take it
        // back: the report is dated back past the undo window, as time would have moved on
        {
            let mut c = conn(&world.pool);
            diesel::update(absence_reports::table.find(report_id))
                .set(
                    absence_reports::created_at.eq(crate::helpers::test_moment().naive_utc()
                        - chrono::Duration::minutes(
                            narvaro::attendance::absence_report::UNDO_MINUTES + 1,
                        )),
                )
                .execute(&mut *c)
                .unwrap();
        }
        let (status, problem) = send(
            &app,
            &token2,
            "DELETE",
            &format!("/api/v1/absence-reports/{report_id}"),
            Value::Null,
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (409, Some("report_started"))
        );
        let mut c = conn(&world.pool);
        let cancelled: Option<chrono::NaiveDateTime> = absence_reports::table
            .find(report_id)
            .select(absence_reports::cancelled_at)
            .first(&mut *c)
            .unwrap();
        assert!(cancelled.is_none());
    }
}

#[actix_web::test]
async fn bad_reports_get_clear_messages_and_store_nothing() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let g = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let t = today(&app);
        let day = fixtures::next_school_day(&world, t);
        let at = |d: NaiveDate, h: u32| {
            d.and_hms_opt(h, 0, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        };
        let mut saturday = t + Duration::days(1);
        while saturday.weekday() != Weekday::Sat {
            saturday += Duration::days(1);
        }
        let before = report_count(&world);
        let cases = [
            (
                json!({"pupil_id": child, "from": at(day, 10), "to": at(day, 9)}),
                400,
                "period_ends_before_start",
            ),
            (
                json!({"pupil_id": child, "from": at(t - Duration::days(2), 8), "to": at(t - Duration::days(2), 16)}),
                400,
                "period_in_the_past",
            ),
            (
                json!({"pupil_id": child, "from": at(t + Duration::days(20), 8), "to": at(t + Duration::days(20), 16)}),
                400,
                "period_too_far_ahead",
            ),
            (
                json!({"pupil_id": child, "from": at(saturday, 0), "to": at(saturday + Duration::days(2), 0)}),
                400,
                "period_without_school_days",
            ),
            (
                json!({"pupil_id": child, "from": at(day, 8), "to": at(day, 10), "kind": "skiing"}),
                400,
                "unknown_kind",
            ),
            (
                json!({"pupil_id": child, "from": at(day, 8), "to": at(day, 10), "message": "x".repeat(501)}),
                400,
                "message_too_long",
            ),
            (
                json!({"pupil_id": child, "from": "tomorrow", "to": at(day, 10)}),
                400,
                "bad_datetime",
            ),
            (
                json!({"pupil_id": world.ids.adult, "from": at(day, 8), "to": at(day, 10)}),
                404,
                "not_found",
            ),
            (
                json!({"pupil_id": "one", "from": at(day, 8), "to": at(day, 10)}),
                400,
                "bad_request",
            ),
        ];
        for (body, status, code) in cases {
            let (got, problem) =
                send(&app, &g, "POST", "/api/v1/absence-reports", body.clone()).await;
            assert_eq!(
                (got, problem["code"].as_str()),
                (status, Some(code)),
                "{body} → {problem}"
            );
        }
        assert_eq!(report_count(&world), before, "nothing stored");

        // a report for a school day ahead, then an overlapping one: a clear conflict
        let (got, created) = send(&app, &g, "POST", "/api/v1/absence-reports", json!({"pupil_id": child, "from": at(day, 8), "to": at(day, 12), "kind": "lakare", "message": "Tandläkaren"})).await;
        assert_eq!(got, 201, "{created}");
        let (got, problem) = send(
            &app,
            &g,
            "POST",
            "/api/v1/absence-reports",
            json!({"pupil_id": child, "from": at(day, 10), "to": at(day, 14)}),
        )
        .await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (409, Some("overlapping_report")),
            "{problem}"
        );
        assert!(problem["detail"].as_str().unwrap().contains("08:00"));
        // not started yet: the other guardian may cancel it
        let second = second_guardian(&world);
        let token2 = api_token(&app, &second, DEMO_PASSWORD).await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(
            send(
                &app,
                &token2,
                "DELETE",
                &format!("/api/v1/absence-reports/{id}"),
                Value::Null
            )
            .await
            .0,
            204
        );
        assert_eq!(
            send(
                &app,
                &token2,
                "DELETE",
                &format!("/api/v1/absence-reports/{id}"),
                Value::Null
            )
            .await
            .0,
            409
        );

        // staff register a phoned-in absence backwards in time
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let past = t - Duration::days(3);
        let (got, body) = send(&app, &teacher, "POST", "/api/v1/absence-reports", json!({"pupil_id": child, "from": at(past, 0), "to": at(past + Duration::days(1), 0), "kind": "sick"})).await;
        if has_school_day(&world, past) {
            assert_eq!(got, 201, "{body}");
            let mut c = conn(&world.pool);
            let by_staff: bool = absence_reports::table
                .find(body["id"].as_i64().unwrap())
                .select(absence_reports::registered_by_staff)
                .first(&mut *c)
                .unwrap();
            assert!(by_staff);
        } else {
            assert_eq!(body["code"], "period_without_school_days");
        }

        // an adult pupil reports for themself
        let adult = api_token(&app, "adult.pupil", DEMO_PASSWORD).await;
        let (got, body) = send(
            &app,
            &adult,
            "POST",
            "/api/v1/absence-reports",
            json!({"pupil_id": world.ids.adult, "from": at(day, 8), "to": at(day, 10)}),
        )
        .await;
        assert_eq!(got, 201, "{body}");
        assert_eq!(
            send(
                &app,
                &adult,
                "POST",
                "/api/v1/absence-reports",
                json!({"pupil_id": child, "from": at(day, 8), "to": at(day, 10)})
            )
            .await
            .0,
            404
        );

        // the HTML form says the same in words
        let mut b = Browser::open(&app).await;
        b.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let page = b
            .post(
                &format!("/pupils/{child}/absence-reports"),
                &[
                    ("mode", "days"),
                    ("from_date", &(t - Duration::days(2)).to_string()),
                    ("to_date", &(t - Duration::days(2)).to_string()),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("bakåt i tiden"), "{}", page.body);
    }
}

fn has_school_day(world: &World, d: NaiveDate) -> bool {
    let mut c = conn(&world.pool);
    let holidays: Vec<NaiveDate> = holidays::table
        .select(holidays::holiday_date)
        .load(&mut *c)
        .unwrap();
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d)
}

#[actix_web::test]
async fn leave_goes_through_recommendation_and_decision_and_covers_the_lessons() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let day = fixtures::next_school_day(&world, today(&app));
        let g = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let (got, created) = send(&app, &g, "POST", "/api/v1/leave-applications", json!({"pupil_id": child, "start_date": day, "end_date": day, "reason": "Mormors 90-årsdag"})).await;
        assert_eq!(got, 201, "{created}");
        let id = created["id"].as_i64().unwrap();
        // the principal cannot recommend, the mentor cannot decide
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        assert_eq!(
            send(
                &app,
                &principal,
                "POST",
                &format!("/api/v1/leave-applications/{id}/recommendation"),
                json!({"recommended": true})
            )
            .await
            .0,
            403
        );
        assert_eq!(
            send(
                &app,
                &teacher,
                "POST",
                &format!("/api/v1/leave-applications/{id}/decision"),
                json!({"approved": true})
            )
            .await
            .0,
            403
        );
        assert_eq!(
            send(
                &app,
                &g,
                "POST",
                &format!("/api/v1/leave-applications/{id}/decision"),
                json!({"approved": true})
            )
            .await
            .0,
            403
        );
        // the mentor recommends (in the page), the principal approves
        let mut m = Browser::open(&app).await;
        m.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let page = m.get(&format!("/pupils/{child}")).await;
        assert!(
            page.body
                .contains(&format!("/leave-applications/{id}/recommendation")),
            "the mentor gets the form"
        );
        assert_eq!(
            m.post(
                &format!("/leave-applications/{id}/recommendation"),
                &[("answer", "yes"), ("comment", "Närvaron är god")]
            )
            .await
            .status,
            303
        );
        let mut p = Browser::open(&app).await;
        p.sign_in("demo.principal", DEMO_PASSWORD).await;
        let pending = p.get("/leave").await;
        assert!(
            pending.body.contains("Mormors 90-årsdag")
                && pending.body.contains("mentorn tillstyrker"),
            "{}",
            pending.body
        );
        let (got, decided) = send(
            &app,
            &principal,
            "POST",
            &format!("/api/v1/leave-applications/{id}/decision"),
            json!({"approved": true, "comment": "Beviljas"}),
        )
        .await;
        assert_eq!(got, 200, "{decided}");
        assert_eq!(
            send(
                &app,
                &principal,
                "POST",
                &format!("/api/v1/leave-applications/{id}/decision"),
                json!({"approved": false})
            )
            .await
            .0,
            409
        );
        // the guardian sees the decision
        let (_, seen) = api_get(
            &app,
            Some(&g),
            &format!("/api/v1/pupils/{child}/absences?from={day}&to={day}"),
        )
        .await;
        let leave = seen["leave"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == json!(id))
            .unwrap()
            .clone();
        assert_eq!(leave["status"], "approved");
        assert_eq!(leave["recommendation"], "recommended");
        assert_eq!(leave["decision_comment"], "Beviljas");
        // the day's lessons for the child's class are covered as leave
        let lesson: Option<i64> = {
            let mut c = conn(&world.pool);
            let groups: Vec<i64> = group_memberships::table
                .filter(group_memberships::pupil_id.eq(child))
                .select(group_memberships::group_id)
                .load(&mut *c)
                .unwrap();
            lessons::table
                .inner_join(
                    activity_groups::table
                        .on(activity_groups::activity_id.eq(lessons::activity_id)),
                )
                .filter(activity_groups::group_id.eq_any(groups))
                .filter(lessons::lesson_date.eq(day))
                .select(lessons::id)
                .first(&mut *c)
                .optional()
                .unwrap()
        };
        {
            let lesson = lesson.expect("the child has lessons on a Thursday of the term");
            let (_, rc) = api_get(
                &app,
                Some(&principal),
                &format!("/api/v1/lessons/{lesson}/roll-call"),
            )
            .await;
            let line = rc["pupils"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == json!(child))
                .unwrap()
                .clone();
            assert_eq!(line["covered_by"]["kind"], "leave", "{line}");
            assert_eq!(line["status"], "absent");
        }
        // bad leave input
        let (got, problem) = send(
            &app,
            &g,
            "POST",
            "/api/v1/leave-applications",
            json!({"pupil_id": child, "start_date": day, "end_date": day, "reason": "igen"}),
        )
        .await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (409, Some("overlapping_leave"))
        );
        let (got, _) = send(&app, &g, "POST", "/api/v1/leave-applications", json!({"pupil_id": child, "start_date": day, "end_date": day - Duration::days(1), "reason": "x"})).await;
        assert_eq!(got, 400);
        let (got, _) = send(&app, &g, "POST", "/api/v1/leave-applications", json!({"pupil_id": child, "start_date": day + Duration::days(7), "end_date": day + Duration::days(7), "reason": "  "})).await;
        assert_eq!(got, 400);
        let other = api_token(&app, "other.guardian", DEMO_PASSWORD).await;
        assert_eq!(
            send(
                &app,
                &other,
                "POST",
                "/api/v1/leave-applications",
                json!({"pupil_id": child, "start_date": day, "end_date": day, "reason": "x"})
            )
            .await
            .0,
            404
        );
    }
}

/// A refused report or leave application comes back with everything the guardian typed.
#[actix_web::test]
async fn refused_forms_keep_what_the_guardian_typed() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let t = today(&app);
        let day = fixtures::next_school_day(&world, t).to_string();
        let before = report_count(&world);
        let mut g = Browser::open(&app).await;
        g.sign_in("demo.guardian", DEMO_PASSWORD).await;
        // part of a day that ends before it starts
        let page = g
            .post(
                &format!("/pupils/{child}/absence-reports"),
                &[
                    ("mode", "part"),
                    ("date", &day),
                    ("from_time", "13:15"),
                    ("to_time", "09:40"),
                    ("kind", "sick"),
                    ("message", "Tandläkare, sedan hem"),
                ],
            )
            .await;
        assert_eq!(page.status, 400, "{kind:?}: {}", page.body);
        for kept in [
            "name=\"mode\" value=\"part\" checked".to_string(),
            format!("name=\"date\" type=\"date\" value=\"{day}\""),
            "value=\"13:15\"".to_string(),
            "value=\"09:40\"".to_string(),
            "Tandläkare, sedan hem</textarea>".to_string(),
        ] {
            assert!(
                page.body.contains(&kept),
                "{kind:?}: {kept} in {}",
                page.body
            );
        }
        // leave that ends before it starts
        let later = (fixtures::next_school_day(&world, t) - Duration::days(1)).to_string();
        let page = g
            .post(
                &format!("/pupils/{child}/leave-applications"),
                &[
                    ("start_date", &day),
                    ("end_date", &later),
                    ("reason", "Farmors 80-årsdag i Umeå"),
                ],
            )
            .await;
        assert_eq!(page.status, 400, "{kind:?}: {}", page.body);
        for kept in [
            format!("value=\"{day}\""),
            format!("value=\"{later}\""),
            "Farmors 80-årsdag i Umeå</textarea>".to_string(),
        ] {
            assert!(
                page.body.contains(&kept),
                "{kind:?}: {kept} in {}",
                page.body
            );
        }
        assert_eq!(report_count(&world), before, "{kind:?}: nothing stored");
    }
}

/// The mentor's to-do empties once the mentor has answered, and the principal sees which
/// applications the mentor has not answered yet.
#[actix_web::test]
async fn the_mentors_leave_to_do_empties_after_the_answer() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let day = fixtures::next_school_day(&world, today(&app));
        let g = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let (got, created) = send(&app, &g, "POST", "/api/v1/leave-applications", json!({"pupil_id": child, "start_date": day, "end_date": day, "reason": "Kusinens bröllop"})).await;
        assert_eq!(got, 201, "{created}");
        let id = created["id"].as_i64().unwrap();
        let mut p = Browser::open(&app).await;
        p.sign_in("demo.principal", DEMO_PASSWORD).await;
        let pending = p.get("/leave").await;
        let line = pending
            .body
            .split("<li>")
            .find(|l| l.contains("Kusinens bröllop"))
            .unwrap_or_else(|| panic!("{}", pending.body));
        assert!(
            line.contains("mentorn har inte svarat ännu"),
            "{kind:?}: {line}"
        );

        let mut m = Browser::open(&app).await;
        m.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let count = |body: &str| -> String {
            body.split("Ledighetsansökningar att hantera (")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .unwrap_or("none")
                .to_string()
        };
        let before = count(&m.get("/").await.body);
        assert_ne!(before, "0", "{kind:?}: the application waits on the mentor");
        let answered = m
            .post(
                &format!("/leave-applications/{id}/recommendation"),
                &[("answer", "yes"), ("comment", "")],
            )
            .await;
        assert_eq!(answered.status, 303, "{}", answered.body);
        let after = count(&m.get("/").await.body);
        assert_eq!(
            after.parse::<i64>().unwrap(),
            before.parse::<i64>().unwrap() - 1,
            "{kind:?}: answered, it leaves the mentor's count"
        );
        let list = m.get("/leave").await;
        let (mine, answered_part) = list
            .body
            .split_once("Du har svarat, rektor beslutar")
            .unwrap_or_else(|| panic!("{kind:?}: {}", list.body));
        assert!(!mine.contains("Kusinens bröllop"), "{kind:?}");
        assert!(answered_part.contains("Kusinens bröllop"), "{kind:?}");
        // and the principal still has it, now recommended
        let pending = p.get("/leave").await;
        assert!(pending.body.contains("mentorn tillstyrker"), "{kind:?}");
    }
}

/// A mis-tapped "Sjuk i dag" undone at once sends nothing: the confirmation is held a
/// minute and the undo withdraws it. Undone later, the guardians hear of both.
#[actix_web::test]
async fn an_undo_within_a_minute_sends_no_email_at_all() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let mut g = Browser::open(&app).await;
        g.sign_in("demo.guardian", DEMO_PASSWORD).await;
        async fn sick(g: &mut Browser, world: &World, child: i64) -> i64 {
            let page = g
                .post(
                    &format!("/pupils/{child}/absence-reports"),
                    &[("quick", "sick_today")],
                )
                .await;
            assert_eq!(page.status, 303, "{}", page.body);
            let mut c = conn(&world.pool);
            absence_reports::table
                .filter(absence_reports::pupil_id.eq(child))
                .filter(absence_reports::cancelled_at.is_null())
                .select(absence_reports::id)
                .order(absence_reports::id.desc())
                .first::<i64>(&mut *c)
                .unwrap()
        }
        let before = crate::browser::mails(&app).len();
        let report = sick(&mut g, &world, child).await;
        deliver(&app).await;
        assert_eq!(
            crate::browser::mails(&app).len(),
            before,
            "{kind:?}: held a minute"
        );
        let undone = g
            .post(&format!("/absence-reports/{report}/cancel"), &[])
            .await;
        assert_eq!(undone.status, 303, "{}", undone.body);
        deliver(&app).await;
        assert_eq!(
            crate::browser::mails(&app).len(),
            before,
            "{kind:?}: a mis-tap and its undo send nothing"
        );
        {
            let mut c = conn(&world.pool);
            let rows: Vec<String> = outbox::table
                .filter(outbox::kind.eq("report_confirmation"))
                .filter(outbox::payload.like(format!("%\"report_id\":{report}}}%")))
                .select(outbox::status)
                .load(&mut *c)
                .unwrap();
            assert!(
                !rows.is_empty() && rows.iter().all(|s| s == "cancelled"),
                "{kind:?}: {rows:?}"
            );
        }

        // reported again, and the minute passes: the confirmation goes out, and the undo
        // is confirmed too
        let report = sick(&mut g, &world, child).await;
        {
            let mut c = conn(&world.pool);
            let past = crate::helpers::test_moment().naive_utc() - chrono::Duration::minutes(2);
            diesel::update(
                outbox::table.filter(outbox::payload.like(format!("%\"report_id\":{report}}}%"))),
            )
            .set(outbox::due_at.eq(past))
            .execute(&mut *c)
            .unwrap();
        }
        deliver(&app).await;
        let told = crate::browser::mails(&app).len() - before;
        assert!(told >= 1, "{kind:?}: the confirmation went out");
        let undone = g
            .post(&format!("/absence-reports/{report}/cancel"), &[])
            .await;
        assert_eq!(undone.status, 303, "{}", undone.body);
        deliver(&app).await;
        assert_eq!(
            crate::browser::mails(&app).len() - before,
            2 * told,
            "{kind:?}: those told of the report hear of the undo"
        );
    }
}
