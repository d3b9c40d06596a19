//! A school's settings page (issue 21), on both databases: a change for one school leaves
//! another unchanged; refused values store nothing; the school's own notice time decides
//! when its absence notices are due; a day off cancels the school's lessons and removing
//! it gives them back.

use chrono::{Duration, NaiveTime};
use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_get, api_token, audited, conn, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, test_today, TestApp};

type Row = (i32, bool, i32, Option<String>);

fn settings(world: &World, school: i64) -> Row {
    let mut c = conn(&world.pool);
    organisations::table
        .find(school)
        .select((
            organisations::report_days_ahead,
            organisations::allow_adult_self_report,
            organisations::alert_threshold_pct,
            organisations::notice_at,
        ))
        .first(&mut *c)
        .unwrap()
}

#[actix_web::test]
async fn a_setting_changed_for_one_school_leaves_another_unchanged() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (s1, s2) = (world.ids.school1, world.ids.school2);
        let other_before = settings(&world, s2);
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let path = format!("/schools/{s1}/settings");
        assert_eq!(principal.get(&path).await.status.as_u16(), 200);
        // another school's settings are not the principal's
        assert_eq!(
            principal
                .get(&format!("/schools/{s2}/settings"))
                .await
                .status
                .as_u16(),
            404
        );

        let saved = principal
            .post(
                &path,
                &[
                    ("report_days_ahead", "3"),
                    ("alert_threshold_pct", "20"),
                    ("notice_at", "14:00"),
                    ("allow_adult_self_report", "1"),
                ],
            )
            .await;
        assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
        let mine = (3, true, 20, Some("14:00".to_string()));
        assert_eq!(settings(&world, s1), mine);
        assert_eq!(
            settings(&world, s2),
            other_before,
            "{kind:?}: the other school is as it was"
        );
        assert_eq!(audited(&world.pool, "school.settings"), 1);

        // refused values: a message on the form, the values sent kept, nothing stored
        for (field, value, message) in [
            ("alert_threshold_pct", "0", "från 1 till 100"),
            ("alert_threshold_pct", "101", "från 1 till 100"),
            ("report_days_ahead", "-1", "från 0 till 60"),
            ("notice_at", "25:00", "TT:MM"),
        ] {
            let mut fields = vec![
                ("report_days_ahead", "3"),
                ("alert_threshold_pct", "20"),
                ("notice_at", "14:00"),
            ];
            fields.retain(|f| f.0 != field);
            fields.push((field, value));
            let refused = principal.post(&path, &fields).await;
            assert_eq!(refused.status.as_u16(), 400, "{field}={value}");
            assert!(
                refused.body.contains(message),
                "{field}={value}: {}",
                refused.body
            );
            assert!(
                refused.body.contains(&format!("value=\"{value}\"")),
                "the value sent is kept"
            );
            assert_eq!(settings(&world, s1), mine, "{field}={value} stored nothing");
        }
        assert_eq!(audited(&world.pool, "school.settings"), 1);

        // the school's notice time: a child marked absent today is noticed at 14:00
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let (_, rc) = api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{}/roll-call", world.ids.lesson),
        )
        .await;
        let marks: Vec<serde_json::Value> = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let status = if p["id"] == json!(world.ids.child) {
                    "absent"
                } else {
                    "present"
                };
                json!({"pupil_id": p["id"], "status": status})
            })
            .collect();
        let mut res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{}/roll-call", world.ids.lesson)))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({"marks": marks}))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{:?}", res.body().await);
        let due: Vec<chrono::NaiveDateTime> = {
            let mut c = conn(&world.pool);
            outbox::table
                .filter(outbox::kind.eq("unexplained_absence"))
                .filter(outbox::pupil_id.eq(world.ids.child))
                .select(outbox::due_at)
                .load(&mut *c)
                .unwrap()
        };
        assert!(!due.is_empty());
        // 14:00 in Stockholm in November is 13:00 UTC
        let at = test_today().and_time(NaiveTime::from_hms_opt(13, 0, 0).unwrap());
        assert!(due.iter().all(|d| *d == at), "{due:?}");
    }
}

fn cancelled_on(world: &World, school: i64, date: chrono::NaiveDate) -> (i64, i64) {
    let mut c = conn(&world.pool);
    let rows: Vec<bool> = lessons::table
        .filter(lessons::school_id.eq(school))
        .filter(lessons::lesson_date.eq(date))
        .select(lessons::cancelled)
        .load(&mut *c)
        .unwrap();
    (
        rows.iter().filter(|c| **c).count() as i64,
        rows.len() as i64,
    )
}

#[actix_web::test]
async fn a_day_off_cancels_the_schools_lessons_and_removing_it_gives_them_back() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (s1, s2) = (world.ids.school1, world.ids.school2);
        let tomorrow = test_today() + Duration::days(1);
        let before = cancelled_on(&world, s1, tomorrow);
        let lessons = before.1;
        assert!(lessons > 0, "the demo has lessons tomorrow");
        let other_before = cancelled_on(&world, s2, tomorrow);
        let mut office = Browser::open(&app).await;
        office.sign_in("demo.principal", DEMO_PASSWORD).await;
        let day = tomorrow.to_string();
        let added = office
            .post(
                &format!("/schools/{s1}/holidays"),
                &[("date", &day), ("name", "Studiedag")],
            )
            .await;
        assert_eq!(added.status.as_u16(), 303, "{}", added.body);
        assert_eq!(cancelled_on(&world, s1, tomorrow), (lessons, lessons));
        assert_eq!(cancelled_on(&world, s2, tomorrow), other_before);
        assert_eq!(audited(&world.pool, "school.holiday_added"), 1);
        let page = office.get(&format!("/schools/{s1}/settings")).await;
        assert!(page.body.contains("Studiedag"));

        // the same day again, a day that has passed, a day without a name: refused
        for (date, name, message) in [
            (day.as_str(), "Igen", "redan ledig"),
            ("2026-11-01", "Förr", "från i dag"),
            (day.as_str(), " ", "Ge dagen ett namn"),
        ] {
            let refused = office
                .post(
                    &format!("/schools/{s1}/holidays"),
                    &[("date", date), ("name", name)],
                )
                .await;
            assert_eq!(refused.status.as_u16(), 400, "{date} {name}");
            assert!(refused.body.contains(message), "{}", refused.body);
        }
        assert_eq!(audited(&world.pool, "school.holiday_added"), 1);

        let holiday: i64 = {
            let mut c = conn(&world.pool);
            holidays::table
                .filter(holidays::organisation_id.eq(s1))
                .filter(holidays::holiday_date.eq(tomorrow))
                .select(holidays::id)
                .first(&mut *c)
                .unwrap()
        };
        let removed = office
            .post(
                &format!("/schools/{s1}/holidays/remove"),
                &[("holiday", &holiday.to_string())],
            )
            .await;
        assert_eq!(removed.status.as_u16(), 303, "{}", removed.body);
        // the timetable's own cancellations stay cancelled
        assert_eq!(cancelled_on(&world, s1, tomorrow), before);
        assert_eq!(audited(&world.pool, "school.holiday_removed"), 1);
    }
}
