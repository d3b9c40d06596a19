//! Delegated leave decisions: the principal delegates decisions on short leave to the
//! mentors, a mentor decides within the limit and the decision names the delegation,
//! longer leave and leave after the delegation ends stay with the principal; on
//! PostgreSQL two decisions at once that together pass the limit cannot both be made.

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_get, api_post, api_token, audited, conn, Browser, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, Kind, TestApp};
use crate::roll_call::futures_join_all;

/// The guardian's application over the API: its id.
async fn apply(app: &TestApp, token: &str, pupil: i64, from: &str, to: &str) -> i64 {
    let (status, body) = api_post(
        app,
        Some(token),
        "/api/v1/leave-applications",
        &json!({"pupil_id": pupil, "start_date": from, "end_date": to, "reason": "Resa"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn granted(world: &fixtures::World, pupil: i64, day: &str) -> i64 {
    let mut c = conn(&world.pool);
    let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    narvaro::attendance::leave_application::granted_days(
        &mut c,
        narvaro::school::ids::PupilId(pupil),
        day,
    )
    .unwrap()
}

fn decided(world: &fixtures::World, id: i64) -> (String, Option<i64>) {
    let mut c = conn(&world.pool);
    leave_applications::table
        .find(id)
        .select((
            leave_applications::status,
            leave_applications::delegation_id,
        ))
        .first(&mut *c)
        .unwrap()
}

#[actix_web::test]
async fn a_mentor_decides_short_leave_under_the_principals_delegation() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let school = world.ids.school1.to_string();
        let guardian = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let mentor = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        // three, four and one school days
        let three = apply(&app, &guardian, child, "2026-12-07", "2026-12-09").await;
        let four = apply(&app, &guardian, child, "2026-12-14", "2026-12-17").await;
        let one = apply(&app, &guardian, child, "2026-12-11", "2026-12-11").await;
        let before = granted(&world, child, "2026-12-07");

        // without a delegation the principal decides
        let decide = |id: i64| format!("/api/v1/leave-applications/{id}/decision");
        let (status, body) = api_post(
            &app,
            Some(&mentor),
            &decide(three),
            &json!({"approved": true}),
        )
        .await;
        assert_eq!(status, 403, "{body}");

        // the principal delegates: mentors decide up to what is granted + 3 days
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let page = principal.get("/leave").await;
        assert!(
            page.body.contains("Delegera till mentorerna"),
            "{}",
            page.body
        );
        for bad in ["0", "61", "tio", ""] {
            let page = principal
                .post(
                    "/leave-delegations",
                    &[("school_id", &school), ("max_days", bad)],
                )
                .await;
            assert_eq!(page.status, 400, "{bad}");
        }
        let limit = (before + 3).to_string();
        let page = principal
            .post(
                "/leave-delegations",
                &[("school_id", &school), ("max_days", &limit)],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location.as_deref(), Some("/leave?done=delegated"));
        // the same again changes nothing
        principal
            .post(
                "/leave-delegations",
                &[("school_id", &school), ("max_days", &limit)],
            )
            .await;
        assert_eq!(audited(&world.pool, "leave.delegated"), 1);
        let page = principal.get("/leave").await;
        assert!(
            page.body
                .contains(&format!("upp till {limit} skoldagar per läsår")),
            "{}",
            page.body
        );
        // a teacher may not delegate, nor the principal at another school: not theirs (404)
        let mut teacher = Browser::open(&app).await;
        teacher.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let page = teacher
            .post(
                "/leave-delegations",
                &[("school_id", &school), ("max_days", "20")],
            )
            .await;
        assert_eq!(page.status, 404);
        let other = world.ids.school2.to_string();
        let page = principal
            .post(
                "/leave-delegations",
                &[("school_id", &other), ("max_days", "20")],
            )
            .await;
        assert_eq!(page.status, 404);

        // the mentor's page: a decision form for the three days, the principal's for four
        let page = teacher.get(&format!("/pupils/{child}")).await;
        assert!(
            page.body
                .contains(&format!("/leave-applications/{three}/decision")),
            "{}",
            page.body
        );
        assert!(!page
            .body
            .contains(&format!("/leave-applications/{four}/decision")));
        assert!(
            page.body
                .contains("Rektor beslutar om den här ansökan: 4 skoldagar"),
            "{}",
            page.body
        );
        let page = teacher.get("/leave").await;
        assert!(
            page.body
                .contains("har delegerat beslut om ledighet till mentorerna"),
            "{}",
            page.body
        );

        // the mentor approves the three days, under the delegation
        let page = teacher
            .post(
                &format!("/leave-applications/{three}/decision"),
                &[("answer", "yes"), ("comment", "Trevlig resa")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let (status, delegation) = decided(&world, three);
        assert_eq!(status, "approved");
        let delegation = delegation.expect("the decision names the delegation");
        // the guardian reads it on the child's page and in the API
        let mut family = Browser::open(&app).await;
        family.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let page = family.get(&format!("/pupils/{child}")).await;
        assert!(
            page.body.contains("med delegation från rektor"),
            "{}",
            page.body
        );
        let (_, body) = api_get(
            &app,
            Some(&guardian),
            &format!("/api/v1/pupils/{child}/absences?from=2026-12-01&to=2026-12-31"),
        )
        .await;
        let item = body["leave"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == json!(three))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            item["delegation"],
            json!({"id": delegation, "max_days": before + 3}),
            "{body}"
        );

        // the limit is used up: one more day is the principal's
        let (status, _) = api_post(
            &app,
            Some(&mentor),
            &decide(one),
            &json!({"approved": true}),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(decided(&world, one), ("pending".into(), None));

        // the principal ends the delegation and decides the four days himself
        let page = principal
            .post("/leave-delegations/end", &[("school_id", &school)])
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(audited(&world.pool, "leave.delegation_ended"), 1);
        let page = teacher.get(&format!("/pupils/{child}")).await;
        assert!(
            page.body.contains("beslut är inte delegerade"),
            "{}",
            page.body
        );
        let page = principal
            .post(
                &format!("/leave-applications/{four}/decision"),
                &[("answer", "no")],
            )
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(decided(&world, four), ("rejected".into(), None));
    }
}

#[actix_web::test]
async fn two_mentor_decisions_at_once_stay_within_the_limit_on_postgresql() {
    let Some(kind) = backends().into_iter().find(|k| matches!(k, Kind::Postgres)) else {
        return;
    };
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let child = world.ids.child;
    let guardian = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
    let mentor = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
    let mut ids = Vec::new();
    // four applications of two school days each; room for one of them
    for (a, b) in [
        ("2027-01-11", "2027-01-12"),
        ("2027-01-13", "2027-01-14"),
        ("2027-01-18", "2027-01-19"),
        ("2027-01-20", "2027-01-21"),
    ] {
        ids.push(apply(&app, &guardian, child, a, b).await);
    }
    let limit = (granted(&world, child, "2027-01-11") + 2).to_string();
    let mut principal = Browser::open(&app).await;
    principal.sign_in("demo.principal", DEMO_PASSWORD).await;
    let page = principal
        .post(
            "/leave-delegations",
            &[
                ("school_id", &world.ids.school1.to_string()),
                ("max_days", &limit),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let req = app
                .client
                .post(app.url(&format!("/api/v1/leave-applications/{id}/decision")))
                .insert_header(("Authorization", format!("Bearer {mentor}")));
            async move {
                req.send_json(&json!({"approved": true}))
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .collect();
    let mut statuses = futures_join_all(tasks).await;
    statuses.sort();
    assert_eq!(statuses, vec![200, 403, 403, 403]);
    let approved = ids
        .iter()
        .filter(|id| decided(&world, **id).0 == "approved")
        .count();
    assert_eq!(approved, 1);
}
