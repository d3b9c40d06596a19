//! Absence despite refused leave (issue 39, item 4): invalid absence on a day for which
//! the pupil's leave was applied for and refused is its own category: invalid in the
//! statistics and counted apart, named on the pupil's page, said in the guardians'
//! same-day notice, and in the statistics' CSV, the API and the term report.

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::Value;

use crate::browser::{
    api_get, api_token, conn, deliver, mails, put_absent, Browser, DEMO_PASSWORD,
};
use crate::fixtures;
use crate::helpers::{backends, test_today, TestApp};

/// (invalid, refused-leave) minutes of the child's stored day.
fn stored_day(pool: &narvaro::db::Pool, pupil: i64, day: chrono::NaiveDate) -> (i32, i32) {
    absence_days::table
        .filter(absence_days::pupil_id.eq(pupil))
        .filter(absence_days::day.eq(day))
        .select((
            absence_days::invalid_minutes,
            absence_days::refused_leave_minutes,
        ))
        .first(&mut conn(pool))
        .unwrap_or((0, 0))
}

#[actix_web::test]
async fn absence_on_a_day_of_refused_leave_is_its_own_category_everywhere() {
    for kind in backends() {
        // the same-day notice goes at once, not at the afternoon's hour
        let app = TestApp::spawn_with(kind, |c| c.notice_delay_minutes = Some(0)).await;
        let world = fixtures::build(&app);
        let (child, lesson, school) = (world.ids.child, world.ids.lesson, world.ids.school1);
        let today = test_today();
        // the guardian applies for today's leave; the child is marked absent while it waits
        let mut g = Browser::open(&app).await;
        g.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let day = today.to_string();
        let sent = g
            .post(
                &format!("/pupils/{child}/leave-applications"),
                &[("start_date", &day), ("end_date", &day), ("reason", "Resa")],
            )
            .await;
        assert_eq!(sent.status, 303, "{kind:?}: {}", sent.body);
        let leave: i64 = leave_applications::table
            .filter(leave_applications::pupil_id.eq(child))
            .filter(leave_applications::status.eq("pending"))
            .select(leave_applications::id)
            .first(&mut conn(&world.pool))
            .unwrap();
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        put_absent(&app, &teacher, lesson, &[child]).await;
        let (invalid, refused) = stored_day(&world.pool, child, today);
        assert!(invalid > 0, "{kind:?}: the absence is invalid");
        assert_eq!(refused, 0, "pending leave refuses nothing yet");

        // the principal refuses the leave: the day's invalid absence becomes the category
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let no = principal
            .post(
                &format!("/leave-applications/{leave}/decision"),
                &[("answer", "no"), ("comment", "Inte under terminen")],
            )
            .await;
        assert_eq!(no.status, 303, "{}", no.body);
        assert_eq!(
            stored_day(&world.pool, child, today),
            (invalid, invalid),
            "{kind:?}: all of the day's invalid absence is despite refused leave"
        );
        // the class's sum says the same
        let class_refused: i32 = absence_class_days::table
            .filter(absence_class_days::school_id.eq(school))
            .filter(absence_class_days::day.eq(today))
            .select(absence_class_days::refused_leave_minutes)
            .load::<i32>(&mut conn(&world.pool))
            .unwrap()
            .into_iter()
            .sum();
        assert_eq!(class_refused, invalid);

        // named to the principal: the pupil's page and the school's figures
        let page = principal.get(&format!("/pupils/{child}")).await;
        assert!(page
            .body
            .contains("Ogiltig: frånvaro trots avslagen ledighet"));
        let period = format!("period=custom&from={day}&to={day}");
        let stats = principal
            .get(&format!("/statistics?school={school}&{period}"))
            .await;
        assert!(
            stats
                .body
                .contains("Varav frånvaro trots avslagen ledighet"),
            "{}",
            stats.body
        );
        let csv = principal
            .get(&format!("/statistics?school={school}&{period}&csv=classes"))
            .await;
        assert!(csv.body.contains("Varav trots avslagen ledighet, minuter"));
        assert!(
            csv.body
                .lines()
                .skip(1)
                .any(|l| l.ends_with(&format!(";{invalid}"))),
            "the class's row ends with its minutes despite refused leave: {}",
            csv.body
        );
        // the API
        let (status, json) = api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/pupils/{child}/absences?from={day}&to={day}"),
        )
        .await;
        assert_eq!(status, 200);
        let lessons = json["lessons"].as_array().unwrap();
        assert!(lessons
            .iter()
            .any(|l| l["refused_leave"] == Value::Bool(true)));

        // the guardians' same-day notice says the leave had been refused
        deliver(&app).await;
        let notice = mails(&app)
            .into_iter()
            .find(|m| m.contains("var frånvarande utan anmäld orsak"))
            .expect("the same-day notice");
        assert!(notice.contains("hade avslagits"), "{notice}");

        // the term report's row
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let report = admin
            .get("/huvudman/term-report.json?term=HT2026&anyway=1")
            .await;
        let json: Value = serde_json::from_str(&report.body).unwrap_or(Value::Null);
        let refused_in_file: i64 = json["data"]
            .as_array()
            .expect("the term report's rows")
            .iter()
            .map(|r| r["refused_leave_absence_minutes"].as_i64().unwrap())
            .sum();
        assert_eq!(refused_in_file, i64::from(invalid), "{kind:?}");
    }
}
