//! The huvudman's rules for leave (issue 39): the municipality's administrator sets days of
//! notice, the longest leave one decision may grant, the leave per school year above
//! which only the principal decides, and blocked periods; a school's principal may make
//! them stricter, never looser. A guardian reads them above the form, and an application
//! or a mentor's decision against them is refused with nothing stored.

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{api_post, api_token, audited, conn, Browser, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, TestApp};

async fn apply(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    api_post(app, Some(token), "/api/v1/leave-applications", &body).await
}

fn applications(world: &fixtures::World) -> i64 {
    leave_applications::table
        .count()
        .get_result(&mut conn(&world.pool))
        .unwrap()
}

#[actix_web::test]
async fn the_huvudman_s_rules_hold_for_applications_and_decisions() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (child, school) = (world.ids.child, world.ids.school1);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;

        // bad values are refused and nothing is stored
        for bad in [
            ("-1", "", ""),
            ("", "0", ""),
            ("", "", "400"),
            ("tio", "", ""),
        ] {
            let page = admin
                .post(
                    "/admin/leave-rules",
                    &[
                        ("notice_days", bad.0),
                        ("longest_days", bad.1),
                        ("principal_above_days", bad.2),
                    ],
                )
                .await;
            assert_eq!(page.status, 400, "{kind:?}: {bad:?}");
            assert!(page.body.contains("heltal"), "{}", page.body);
        }
        assert_eq!(audited(&world.pool, "leave_rules.set"), 0);
        // 14 days' notice, at most 5 school days, the principal above 8 a year
        let saved = admin
            .post(
                "/admin/leave-rules",
                &[
                    ("notice_days", "14"),
                    ("longest_days", "5"),
                    ("principal_above_days", "8"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{kind:?}: {}", saved.body);
        let blocked = admin
            .post(
                "/admin/leave-rules/blocked",
                &[
                    ("name", "Nationella prov åk 9"),
                    ("first_day", "2027-01-11"),
                    ("last_day", "2027-01-13"),
                ],
            )
            .await;
        assert_eq!(blocked.status, 303, "{}", blocked.body);
        let reversed = admin
            .post(
                "/admin/leave-rules/blocked",
                &[
                    ("name", "Baklänges"),
                    ("first_day", "2027-02-10"),
                    ("last_day", "2027-02-01"),
                ],
            )
            .await;
        assert_eq!(reversed.status, 400);

        // the school may be stricter, not looser
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let path = format!("/schools/{school}/leave-rules");
        let looser = principal.post(&path, &[("notice_days", "7")]).await;
        assert_eq!(looser.status, 400, "{}", looser.body);
        assert!(looser.body.contains("minst 14 dagar"), "{}", looser.body);
        let stricter = principal
            .post(
                &path,
                &[
                    ("notice_days", "21"),
                    ("longest_days", ""),
                    ("principal_above_days", ""),
                ],
            )
            .await;
        assert_eq!(stricter.status, 303, "{}", stricter.body);
        // another school's rules are not the principal's; a teacher has none
        let other = principal
            .post(
                &format!("/schools/{}/leave-rules", world.ids.school2),
                &[("notice_days", "30")],
            )
            .await;
        assert_eq!(other.status, 404);
        let mut teacher = Browser::open(&app).await;
        teacher.sign_in("demo.teacher", DEMO_PASSWORD).await;
        assert_eq!(teacher.get(&path).await.status, 404);
        assert_eq!(teacher.get("/admin/leave-rules").await.status, 404);

        // the guardian reads the rules before sending (today is 25 November 2026)
        let mut g = Browser::open(&app).await;
        g.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let form = g.get(&format!("/pupils/{child}/leave")).await;
        for said in [
            "Ansök senast <bdi>21</bdi> dagar",
            "från och med <bdi>onsdag 16 december</bdi>",
            "högst <bdi>5</bdi> skoldagar",
            "Över <bdi>8</bdi> skoldagar",
            "Kvar innan dess: <bdi>6</bdi>",
            "value=\"2026-12-16\"",
            "Nationella prov åk 9",
            "varför kan den inte tas en annan tid",
        ] {
            assert!(form.body.contains(said), "{kind:?}: {said}: {}", form.body);
        }

        let guardian = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let before = applications(&world);
        let body = |from: &str, to: &str, why: Option<&str>| json!({"pupil_id": child, "start_date": from, "end_date": to, "reason": "Resa", "blocked_reason": why});
        // too soon: 21 days' notice (the school's), so 15 December is refused
        let (status, said) = apply(&app, &guardian, body("2026-12-15", "2026-12-15", None)).await;
        assert_eq!(
            (status, said["code"].as_str()),
            (400, Some("leave_notice_too_short")),
            "{said}"
        );
        // six school days is over the five one decision may grant
        let (status, said) = apply(&app, &guardian, body("2026-12-16", "2026-12-23", None)).await;
        assert_eq!(
            (status, said["code"].as_str()),
            (400, Some("leave_too_long")),
            "{said}"
        );
        // the blocked period needs its own reason
        let (status, said) =
            apply(&app, &guardian, body("2027-01-12", "2027-01-12", Some(" "))).await;
        assert_eq!(
            (status, said["code"].as_str()),
            (400, Some("blocked_period_reason_required")),
            "{said}"
        );
        assert!(
            said["detail"]
                .as_str()
                .unwrap()
                .contains("Nationella prov åk 9"),
            "{said}"
        );
        assert_eq!(applications(&world), before, "{kind:?}: nothing stored");
        // the form says the same in words, and keeps what was written
        let page = g
            .post(
                &format!("/pupils/{child}/leave-applications"),
                &[
                    ("start_date", "2027-01-12"),
                    ("end_date", "2027-01-12"),
                    ("reason", "Bröllop"),
                    ("blocked_reason", ""),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        assert!(
            page.body.contains("spärrade perioden") && page.body.contains("Bröllop"),
            "{}",
            page.body
        );

        let (status, in_blocked) = apply(
            &app,
            &guardian,
            body(
                "2027-01-12",
                "2027-01-12",
                Some("Kusinens bröllop i Bosnien"),
            ),
        )
        .await;
        assert_eq!(status, 201, "{in_blocked}");
        let kept: Option<String> = leave_applications::table
            .find(in_blocked["id"].as_i64().unwrap())
            .select(leave_applications::blocked_reason)
            .first(&mut conn(&world.pool))
            .unwrap();
        assert_eq!(kept.as_deref(), Some("Kusinens bröllop i Bosnien"));
        let (status, short) = apply(&app, &guardian, body("2027-01-18", "2027-01-19", None)).await;
        assert_eq!(status, 201, "{short}");

        // a mentor under a generous delegation still may not decide the blocked one
        let limit = "30";
        let page = principal
            .post(
                "/leave-delegations",
                &[("school_id", &school.to_string()), ("max_days", limit)],
            )
            .await;
        assert_eq!(page.status, 303);
        let mentor = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let decide = |id: &Value| format!("/api/v1/leave-applications/{}/decision", id["id"]);
        let (status, said) = api_post(
            &app,
            Some(&mentor),
            &decide(&in_blocked),
            &json!({"approved": true}),
        )
        .await;
        assert_eq!(status, 403, "{said}");
        assert!(
            said["detail"].as_str().unwrap().contains("rektor beslutar"),
            "{said}"
        );
        // the mentor's page says so beside the application and offers no decision on it
        let page = teacher.get(&format!("/pupils/{child}")).await;
        assert!(
            page.body.contains(
                "Ledigheten rör den spärrade perioden Nationella prov åk 9: rektor beslutar."
            ),
            "{}",
            page.body
        );
        let forms = page.body.matches("/decision\"").count();
        assert_eq!(forms, 1, "{kind:?}: a decision form for the short one only");
        // the short one is within every rule: the mentor decides it
        let (status, said) = api_post(
            &app,
            Some(&mentor),
            &decide(&short),
            &json!({"approved": true}),
        )
        .await;
        assert_eq!(status, 200, "{said}");
        // the principal sees the whole picture beside it: the rules, the blocked period and
        // the guardian's reason for it
        let page = principal.get(&format!("/pupils/{child}")).await;
        for said in [
            "Regler: ansökan 21 dagar i förväg; högst 5 skoldagar per beslut; över 8 skoldagar per läsår beslutar rektor.",
            "Rör en spärrad period:</strong> Nationella prov åk 9. Motivering: <bdi>Kusinens bröllop i Bosnien</bdi>",
        ] {
            assert!(page.body.contains(said), "{kind:?}: {said}: {}", page.body);
        }
        // the principal decides the blocked one
        let boss = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let (status, said) = api_post(
            &app,
            Some(&boss),
            &decide(&in_blocked),
            &json!({"approved": true}),
        )
        .await;
        assert_eq!(status, 200, "{said}");
        // the school year so far, by hand: 26–27 October (the fixture's) and 23 November,
        // taken, and 12 and 18–19 January: six school days granted, three taken; the
        // lessons are the child's groups' lessons on those days, counted here on their own
        let lessons_on = |days: &[&str]| -> i64 {
            let c = &mut *conn(&world.pool);
            let groups: Vec<i64> = group_memberships::table
                .filter(group_memberships::pupil_id.eq(child))
                .select(group_memberships::group_id)
                .load(c)
                .unwrap();
            let mut ids: Vec<i64> = Vec::new();
            for day in days {
                let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
                let found: Vec<i64> = lessons::table
                    .inner_join(
                        activity_groups::table
                            .on(activity_groups::activity_id.eq(lessons::activity_id)),
                    )
                    .filter(activity_groups::group_id.eq_any(&groups))
                    .filter(lessons::lesson_date.eq(day))
                    .filter(lessons::cancelled.eq(false))
                    .select(lessons::id)
                    .load(c)
                    .unwrap();
                ids.extend(found);
            }
            ids.sort_unstable();
            ids.dedup();
            ids.len() as i64
        };
        // and one day of this week, with lessons, granted earlier (as stored)
        {
            let c = &mut *conn(&world.pool);
            let guardian: i64 = guardianships::table
                .filter(guardianships::pupil_id.eq(child))
                .select(guardianships::guardian_id)
                .first(c)
                .unwrap();
            let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
            diesel::insert_into(leave_applications::table)
                .values((
                    leave_applications::pupil_id.eq(child),
                    leave_applications::start_date.eq(monday),
                    leave_applications::end_date.eq(monday),
                    leave_applications::reason.eq("Tandläkare i Göteborg"),
                    leave_applications::applied_by.eq(guardian),
                    leave_applications::applied_at.eq(monday.and_hms_opt(7, 0, 0).unwrap()),
                    leave_applications::status.eq("approved"),
                ))
                .execute(c)
                .unwrap();
        }
        let taken = ["2026-10-26", "2026-10-27", "2026-11-23"];
        assert!(
            lessons_on(&["2026-11-23"]) > 0,
            "{kind:?}: the demo has lessons that Monday"
        );
        let granted = lessons_on(&[
            "2026-10-26",
            "2026-10-27",
            "2026-11-23",
            "2027-01-12",
            "2027-01-18",
            "2027-01-19",
        ]);
        let page = principal.get(&format!("/pupils/{child}")).await;
        let summary = format!(
            "Beviljad ledighet detta läsår: 6 skoldagar ({granted} lektioner), varav tagen hittills: 3 skoldagar ({} lektioner).",
            lessons_on(&taken)
        );
        assert!(
            page.body.contains(&summary),
            "{kind:?}: {summary}: {}",
            page.body
        );

        // removing the period: the school's principal cannot remove the municipality's
        let id: i64 = leave_blocked_periods::table
            .select(leave_blocked_periods::id)
            .first(&mut conn(&world.pool))
            .unwrap();
        let theirs = principal
            .post(
                &format!("{path}/blocked/remove"),
                &[("id", &id.to_string())],
            )
            .await;
        assert_eq!(theirs.status, 404);
        let gone = admin
            .post(
                "/admin/leave-rules/blocked/remove",
                &[("id", &id.to_string())],
            )
            .await;
        assert_eq!(gone.status, 303);
        assert_eq!(audited(&world.pool, "leave_rules.set"), 2);
        assert_eq!(audited(&world.pool, "leave_blocked.added"), 1);
        assert_eq!(audited(&world.pool, "leave_blocked.removed"), 1);
    }
}
