//! The municipality's absence reasons page (issue 21), on both databases: the administrator
//! adds a reason guardians may choose; a guardian's report with it makes the child's absence
//! valid in the statistics, and its name is in no e-mail; a name or code taken is refused
//! and nothing stored; a retired reason is no longer offered and keeps its reports.

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{
    api_get, api_post, api_token, audited, conn, deliver, mails, Browser, DEMO_PASSWORD,
};
use crate::fixtures::{self, World};
use crate::helpers::{backends, test_today, TestApp};

fn reasons(world: &World) -> i64 {
    let mut c = conn(&world.pool);
    absence_reasons::table.count().get_result(&mut *c).unwrap()
}

#[actix_web::test]
async fn a_reason_a_guardian_chooses_is_valid_absence_and_in_no_email() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        assert_eq!(admin.get("/admin/reasons").await.status.as_u16(), 200);
        let before = reasons(&world);
        let added = admin
            .post(
                "/admin/reasons",
                &[
                    ("code", "familj"),
                    ("name_sv", "Familjeangelägenhet"),
                    ("name_en", "Family matter"),
                    ("counts_as_absence", "1"),
                    ("is_valid", "1"),
                    ("staff", "1"),
                    ("guardian", "1"),
                ],
            )
            .await;
        assert_eq!(added.status.as_u16(), 303, "{}", added.body);
        assert_eq!(reasons(&world), before + 1);
        assert_eq!(audited(&world.pool, "reason.added"), 1);

        // a name or a code taken: refused on the form, nothing stored
        for (code, sv, en, message) in [
            (
                "ANNAT",
                "familjeangelägenhet",
                "Other family",
                "Namnet används redan",
            ),
            (
                "FAMILJ",
                "Något nytt",
                "Something new",
                "Koden används redan",
            ),
            ("X", "Kort", "Short", "2–12 tecken"),
        ] {
            let refused = admin
                .post(
                    "/admin/reasons",
                    &[
                        ("code", code),
                        ("name_sv", sv),
                        ("name_en", en),
                        ("guardian", "1"),
                    ],
                )
                .await;
            assert_eq!(refused.status.as_u16(), 400, "{code}");
            assert!(refused.body.contains(message), "{code}: {}", refused.body);
            assert_eq!(reasons(&world), before + 1, "{code}: nothing stored");
        }

        // the guardian reports the child absent all day with it
        let guardian = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let day = test_today();
        let (status, report) = api_post(
            &app,
            Some(&guardian),
            "/api/v1/absence-reports",
            &json!({"pupil_id": world.ids.child, "from": format!("{day}T07:00"), "to": format!("{day}T18:00"), "kind": "FAMILJ"}),
        )
        .await;
        assert_eq!(status, 201, "{report}");
        // the teacher marks the child absent: the report makes it valid
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let path = format!("/api/v1/lessons/{}/roll-call", world.ids.lesson);
        let (_, rc) = api_get(&app, Some(&teacher), &path).await;
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
            .put(app.url(&path))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({"marks": marks}))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{:?}", res.body().await);
        let (valid, invalid): (i32, i32) = {
            let mut c = conn(&world.pool);
            absence_days::table
                .filter(absence_days::pupil_id.eq(world.ids.child))
                .filter(absence_days::day.eq(day))
                .select((absence_days::valid_minutes, absence_days::invalid_minutes))
                .first(&mut *c)
                .unwrap()
        };
        assert!(valid > 0, "{kind:?}: valid absence, {valid} min");
        assert_eq!(invalid, 0);

        // e-mails went out (the report's confirmation, once its minute of grace for an
        // undo has passed), and none names the reason
        {
            let mut c = conn(&world.pool);
            diesel::update(outbox::table.filter(outbox::kind.eq("report_confirmation")))
                .set(outbox::due_at.eq(crate::helpers::test_moment().naive_utc()))
                .execute(&mut *c)
                .unwrap();
        }
        deliver(&app).await;
        let sent = mails(&app);
        assert!(!sent.is_empty(), "the report was confirmed by e-mail");
        for m in &sent {
            assert!(
                !m.contains("Familjeangelägenhet") && !m.contains("Family matter"),
                "{m}"
            );
        }

        // retired: no longer offered, and the report keeps it
        let id: i64 = {
            let mut c = conn(&world.pool);
            absence_reasons::table
                .filter(absence_reasons::code.eq("FAMILJ"))
                .select(absence_reasons::id)
                .first(&mut *c)
                .unwrap()
        };
        let retired = admin
            .post(
                "/admin/reasons/active",
                &[("reason", &id.to_string()), ("active", "0")],
            )
            .await;
        assert_eq!(retired.status.as_u16(), 303);
        assert_eq!(audited(&world.pool, "reason.retired"), 1);
        let tomorrow = day + chrono::Duration::days(1);
        let (status, _) = api_post(
            &app,
            Some(&guardian),
            "/api/v1/absence-reports",
            &json!({"pupil_id": world.ids.child, "from": format!("{tomorrow}T07:00"), "to": format!("{tomorrow}T18:00"), "kind": "FAMILJ"}),
        )
        .await;
        assert_eq!(status, 400, "a retired reason is not offered");
        let kept: i64 = {
            let mut c = conn(&world.pool);
            absence_reports::table
                .filter(absence_reports::reason_id.eq(id))
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        assert_eq!(kept, 1);
        assert_eq!(reasons(&world), before + 1, "never deleted");
    }
}

/// A school's own reason (issue 21, "per school where allowed"): refused until the
/// administrator lets the schools add reasons; then offered at that school only, beside the
/// municipality's; a name or code the municipality has is refused for the school, and the
/// school's code for the municipality; the school retires only its own reasons.
#[actix_web::test]
async fn a_school_adds_its_own_reason_where_the_municipality_allows_it() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let s1 = world.ids.school1;
        let path = format!("/schools/{s1}/reasons");
        let own = [
            ("code", "idrott"),
            ("name_sv", "Idrottstävling"),
            ("name_en", "Sports competition"),
            ("counts_as_absence", "1"),
            ("is_valid", "1"),
            ("staff", "1"),
            ("guardian", "1"),
        ];
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let page = principal.get(&path).await;
        assert_eq!(page.status.as_u16(), 200, "{}", page.body);
        assert!(
            page.body.contains("Sjukdom"),
            "the municipality's reasons are shown"
        );
        assert!(page.body.contains("Kommunen låter inte skolorna"));
        let before = reasons(&world);
        let refused = principal.post(&path, &own).await;
        assert_eq!(refused.status.as_u16(), 400);
        assert!(refused.body.contains("Kommunen låter inte skolorna"));
        assert_eq!(reasons(&world), before);

        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let allowed = admin
            .post("/admin/reasons/schools", &[("allowed", "1")])
            .await;
        assert_eq!(allowed.status.as_u16(), 303);
        assert_eq!(audited(&world.pool, "reason.schools_may_add"), 1);

        // the municipality's name or code: refused for the school
        for (code, sv, message) in [
            ("EGEN", "SJUKDOM", "Namnet används redan"),
            ("SJUK", "Något eget", "Koden används redan"),
        ] {
            let refused = principal
                .post(
                    &path,
                    &[
                        ("code", code),
                        ("name_sv", sv),
                        ("name_en", "Own"),
                        ("staff", "1"),
                    ],
                )
                .await;
            assert_eq!(refused.status.as_u16(), 400, "{code}");
            assert!(refused.body.contains(message), "{code}: {}", refused.body);
        }
        assert_eq!(reasons(&world), before);
        let added = principal.post(&path, &own).await;
        assert_eq!(added.status.as_u16(), 303, "{}", added.body);
        let (id, owner): (i64, i64) = {
            let mut c = conn(&world.pool);
            absence_reasons::table
                .filter(absence_reasons::code.eq("IDROTT"))
                .select((absence_reasons::id, absence_reasons::organisation_id))
                .first(&mut *c)
                .unwrap()
        };
        assert_eq!(owner, s1, "stored as the school's own");

        // offered at the school: to the child's guardian, and in the teacher's roll call
        let guardian = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let tomorrow = test_today() + chrono::Duration::days(1);
        let (status, report) = api_post(
            &app,
            Some(&guardian),
            "/api/v1/absence-reports",
            &json!({"pupil_id": world.ids.child, "from": format!("{tomorrow}T07:00"), "to": format!("{tomorrow}T18:00"), "kind": "IDROTT"}),
        )
        .await;
        assert_eq!(status, 201, "{report}");
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let (_, rc) = api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{}/roll-call", world.ids.lesson),
        )
        .await;
        let offered = |rc: &serde_json::Value| {
            rc["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == json!(id))
        };
        assert!(offered(&rc), "{rc}");
        // ... and not at another school
        let elsewhere: i64 = {
            let mut c = conn(&world.pool);
            lessons::table
                .filter(lessons::school_id.eq(world.ids.school2))
                .select(lessons::id)
                .first(&mut *c)
                .unwrap()
        };
        let admin_token = api_token(&app, "demo.admin", DEMO_PASSWORD).await;
        let (status, rc) = api_get(
            &app,
            Some(&admin_token),
            &format!("/api/v1/lessons/{elsewhere}/roll-call"),
        )
        .await;
        assert_eq!(status, 200, "{rc}");
        assert!(!rc["reasons"].as_array().unwrap().is_empty());
        assert!(!offered(&rc), "{rc}");

        // the school's code is refused for the municipality
        let refused = admin
            .post(
                "/admin/reasons",
                &[
                    ("code", "IDROTT"),
                    ("name_sv", "Idrott i kommunen"),
                    ("name_en", "Municipal sports"),
                    ("staff", "1"),
                ],
            )
            .await;
        assert_eq!(refused.status.as_u16(), 400);
        assert!(refused.body.contains("Koden används redan"));

        // the school retires its own reason, and only its own
        let sick: i64 = {
            let mut c = conn(&world.pool);
            absence_reasons::table
                .filter(absence_reasons::code.eq("SJUK"))
                .select(absence_reasons::id)
                .first(&mut *c)
                .unwrap()
        };
        let theirs = principal
            .post(
                &format!("{path}/active"),
                &[("reason", &sick.to_string()), ("active", "0")],
            )
            .await;
        assert_eq!(theirs.status.as_u16(), 404);
        let retired = principal
            .post(
                &format!("{path}/active"),
                &[("reason", &id.to_string()), ("active", "0")],
            )
            .await;
        assert_eq!(retired.status.as_u16(), 303);
        let (_, rc) = api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{}/roll-call", world.ids.lesson),
        )
        .await;
        assert!(!offered(&rc), "retired: no longer offered");
        // the principal reads the school's reason changes in the audit log
        {
            let mut c = conn(&world.pool);
            diesel::update(audit_log::table)
                .set(audit_log::at.eq(crate::helpers::test_moment().naive_utc()))
                .execute(&mut *c)
                .unwrap();
        }
        let log = principal.get("/audit").await;
        assert!(log.body.contains("Frånvaroorsak tillagd"), "{}", log.body);
        assert!(log.body.contains("Frånvaroorsak tagen ur bruk"));
    }
}

/// A reason that is not valid and that the principal says sends no notice (Skollagen
/// 7 kap. 17 §'s special reasons): the pupil marked late with it is invalid absence in the
/// statistics, and the guardians are not told; a pupil marked late without a reason is,
/// the same day.
#[actix_web::test]
async fn an_invalid_reason_that_sends_no_notice_is_counted_and_not_told() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let added = admin
            .post(
                "/admin/reasons",
                &[
                    ("code", "BUSS"),
                    ("name_sv", "Sen skolbuss"),
                    ("name_en", "Late school bus"),
                    ("counts_as_absence", "1"),
                    ("staff", "1"),
                ],
            )
            .await;
        assert_eq!(added.status.as_u16(), 303, "{}", added.body);
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let path = format!("/api/v1/lessons/{}/roll-call", world.ids.lesson);
        let (_, rc) = api_get(&app, Some(&teacher), &path).await;
        let bus = rc["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name_sv"] == json!("Sen skolbuss"))
            .map(|r| r["id"].clone())
            .expect("offered to staff");
        let ids: Vec<i64> = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .filter(|id| *id != world.ids.protected)
            .collect();
        let (by_bus, no_reason) = (ids[0], ids[1]);
        let marks: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| match *id {
                i if i == by_bus => {
                    json!({"pupil_id": i, "status": "late", "minutes": 10, "reason_id": bus})
                }
                i if i == no_reason => json!({"pupil_id": i, "status": "late", "minutes": 10}),
                i => json!({"pupil_id": i, "status": "present"}),
            })
            .collect();
        let mut res = app
            .client
            .put(app.url(&path))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({ "marks": marks }))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{:?}", res.body().await);
        let invalid = |pupil: i64| -> i32 {
            let mut c = conn(&world.pool);
            absence_days::table
                .filter(absence_days::pupil_id.eq(pupil))
                .filter(absence_days::day.eq(test_today()))
                .select(absence_days::invalid_minutes)
                .first(&mut *c)
                .unwrap()
        };
        assert_eq!(invalid(by_bus), 10, "{kind:?}: still invalid absence");
        assert_eq!(invalid(no_reason), 10);
        let told: Vec<Option<i64>> = {
            let mut c = conn(&world.pool);
            outbox::table
                .filter(outbox::kind.eq("unexplained_absence"))
                .select(outbox::pupil_id)
                .distinct()
                .load(&mut *c)
                .unwrap()
        };
        assert_eq!(told, vec![Some(no_reason)], "{kind:?}");
    }
}
