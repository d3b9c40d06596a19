//! The audit log as principals and administrators read it: by period, who acted, pupil
//! and lesson, as a page and as CSV; a principal reads only their schools' rows, everyone
//! else gets 404. On both databases.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_token, conn, Browser, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, TestApp};

#[actix_web::test]
async fn principals_and_administrators_search_the_audit_log() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let child = world.ids.child;
        // the teacher reports the lesson, then marks the child absent: a changed mark
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let put = |marks: serde_json::Value| {
            let req = app
                .client
                .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
                .insert_header(("Authorization", format!("Bearer {token}")));
            async move {
                req.send_json(&json!({ "marks": marks }))
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(put(json!([])).await, 200);
        assert_eq!(
            put(json!([{"pupil_id": child, "status": "absent"}])).await,
            200
        );
        let family: String = {
            let mut c = conn(&world.pool);
            people::table
                .filter(people::username.eq("demo.teacher"))
                .select(people::family_name)
                .first(&mut *c)
                .unwrap()
        };
        // the rows carry the service clock's time (the test's moment); the period brackets it
        let moment = crate::helpers::test_moment();
        let (from, to) = (
            (moment - Duration::days(1)).date_naive(),
            (moment + Duration::days(1)).date_naive(),
        );
        let period = format!("from={from}&to={to}");

        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let page = principal.get(&format!("/audit?{period}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Lektionen rapporterad"), "{}", page.body);
        assert!(page.body.contains("Markering ändrad"));
        assert!(
            page.body.contains("Närvarande → Frånvarande"),
            "{}",
            page.body
        );
        // by pupil, by lesson, by who acted (any case)
        let page = principal
            .get(&format!("/audit?{period}&pupil={child}"))
            .await;
        assert!(page.body.contains("Markering ändrad"));
        assert!(!page.body.contains("Lektionen rapporterad"));
        let page = principal
            .get(&format!("/audit?{period}&who={}", family.to_lowercase()))
            .await;
        assert!(page.body.contains("Lektionen rapporterad"));
        let page = principal.get(&format!("/audit?{period}&who=zzxq")).await;
        assert!(page.body.contains("0 händelser"), "{}", page.body);
        // the same as CSV
        let res = app
            .client
            .get(app.url(&format!("/audit.csv?{period}&lesson={lesson}")))
            .insert_header(("Cookie", principal.cookie_header()))
            .send()
            .await
            .unwrap();
        assert!(res
            .headers()
            .get("content-type")
            .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/csv")));
        let mut res = res;
        let body = String::from_utf8_lossy(&res.body().await.unwrap()).to_string();
        assert!(
            body.starts_with("\u{feff}Tid (UTC);Vem;Händelse;Kod;Gäller;Ändring;Varifrån"),
            "{body}"
        );
        assert!(
            body.contains("attendance.changed") && body.contains("lesson.reported"),
            "{body}"
        );

        // another school's principal reads none of it; an administrator all of it
        let mut other = Browser::open(&app).await;
        other.sign_in("other.principal", DEMO_PASSWORD).await;
        let page = other.get(&format!("/audit?{period}&lesson={lesson}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("0 händelser"), "{}", page.body);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let page = admin.get(&format!("/audit?{period}&lesson={lesson}")).await;
        assert!(page.body.contains("Markering ändrad"));

        // teachers and guardians: not here
        let mut teacher = Browser::open(&app).await;
        teacher.sign_in("demo.teacher", DEMO_PASSWORD).await;
        assert_eq!(teacher.get("/audit").await.status, 404);
        // bad periods and ids are refused clearly
        for q in [
            "from=25/11",
            "from=2026-11-25&to=2026-11-01",
            "from=2024-01-01&to=2026-01-01",
            "lesson=x",
        ] {
            let page = principal.get(&format!("/audit?{q}")).await;
            assert_eq!(page.status, 400, "{q}");
        }
    }
}

/// The log reads as words: a pupil is found by name, a changed mark names the pupil and the
/// lesson's day as people write it, sign-ins and their outcomes are words, never JSON.
#[actix_web::test]
async fn the_audit_log_reads_as_words_and_finds_a_pupil_by_name() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let child = world.ids.child;
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(&json!({"marks": [{"pupil_id": child, "status": "absent"}]}))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        // a wrong password, for a sign-in row
        let mut wrong = Browser::open(&app).await;
        let page = wrong
            .post(
                "/login",
                &[("username", "demo.teacher"), ("password", "fel")],
            )
            .await;
        assert_eq!(page.status, 401);
        let (given, family): (String, String) = {
            let mut c = conn(&world.pool);
            people::table
                .find(child)
                .select((people::given_name, people::family_name))
                .first(&mut *c)
                .unwrap()
        };
        let moment = crate::helpers::test_moment();
        let (from, to) = (
            (moment - Duration::days(1)).date_naive(),
            (moment + Duration::days(1)).date_naive(),
        );
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let page = admin
            .get(&format!(
                "/audit?from={from}&to={to}&pupil={}",
                family.to_lowercase()
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let table = page.body.split("<tbody>").nth(1).unwrap_or_default();
        assert!(table.contains("Markering ändrad"), "{kind:?}: {table}");
        assert!(
            table.contains(&format!("– {given} {family}")),
            "{kind:?}: the changed mark names the pupil: {table}"
        );
        assert!(table.contains("onsdag 25 november"), "{kind:?}: {table}");
        assert!(
            !table.contains("Misslyckad inloggning"),
            "only the pupil's rows"
        );
        // the whole log: sign-ins in words, and no JSON anywhere. A sign-in runs on the
        // system clock (its limits are security windows), and is recorded at its time.
        let (from, to) = (
            (Utc::now() - Duration::days(1)).date_naive(),
            (Utc::now() + Duration::days(1)).date_naive(),
        );
        let page = admin.get(&format!("/audit?from={from}&to={to}")).await;
        let table = page.body.split("<tbody>").nth(1).unwrap_or_default();
        assert!(table.contains("Misslyckad inloggning"), "{kind:?}: {table}");
        assert!(table.contains("fel lösenord"), "{kind:?}: {table}");
        assert!(
            !table.contains("{&quot;") && !table.contains("&quot;:"),
            "{kind:?}: {table}"
        );
        assert!(!table.contains("sign_in.failed"), "{kind:?}: {table}");
    }
}
