//! Closing a term (issue 38, item 4): the huvudman closes a school's ended term; then only
//! the principal changes its marks, with a reason, and the change is listed for the
//! huvudman; reopening needs a reason; all of it in the audit log. On PostgreSQL, parallel
//! identical closings close the term once.

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{api_post, api_token, conn, pool, Browser};
use crate::helpers::{backends, test_today, Kind, TestApp};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The generated municipality, and in its first school a lesson on 20 May 2026 (the spring
/// term, ended) of an activity whose group has been together since January.
struct Spring {
    admin: String,
    principal: String,
    teacher: String,
    school: i64,
    other_school: i64,
    lesson: i64,
    pupil: i64,
}

fn spring(c: &mut DbConn) -> Spring {
    narvaro::seed::generate(
        c,
        &narvaro::seed::SeedParams {
            municipality: "Stängkommun".into(),
            schools: 2,
            pupils: 60,
            weeks: 2,
            seed: 5,
            start: day(2026, 11, 9),
            today: test_today(),
        },
        chrono_tz::Europe::Stockholm,
    )
    .unwrap();
    let username = |c: &mut DbConn, id: i64| -> String {
        people::table
            .find(id)
            .select(people::username.assume_not_null())
            .first(c)
            .unwrap()
    };
    let schools: Vec<i64> = organisations::table
        .filter(organisations::org_type.eq("school"))
        .select(organisations::id)
        .order(organisations::id)
        .load(c)
        .unwrap();
    let school = schools[0];
    let (activity, group, teacher): (i64, i64, i64) = activities::table
        .inner_join(activity_groups::table)
        .inner_join(activity_teachers::table)
        .filter(activities::school_id.eq(school))
        .select((
            activities::id,
            activity_groups::group_id,
            activity_teachers::teacher_id,
        ))
        .order(activities::id)
        .first(c)
        .unwrap();
    diesel::update(group_memberships::table.filter(group_memberships::group_id.eq(group)))
        .set(group_memberships::start_date.eq(day(2026, 1, 7)))
        .execute(c)
        .unwrap();
    let pupil: i64 = group_memberships::table
        .filter(group_memberships::group_id.eq(group))
        .select(group_memberships::pupil_id)
        .first(c)
        .unwrap();
    let lesson: i64 = diesel::insert_into(lessons::table)
        .values((
            lessons::activity_id.eq(activity),
            lessons::school_id.eq(school),
            lessons::lesson_date.eq(day(2026, 5, 20)),
            lessons::starts_at.eq(NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
            lessons::ends_at.eq(NaiveTime::from_hms_opt(10, 0, 0).unwrap()),
            lessons::teaching_minutes.eq(60),
            lessons::cancelled.eq(false),
        ))
        .returning(lessons::id)
        .get_result(c)
        .unwrap();
    let role = |c: &mut DbConn, role: &str, org: Option<i64>| -> i64 {
        let mut q = duties::table
            .filter(duties::role.eq(role.to_string()))
            .select(duties::person_id)
            .into_boxed();
        if let Some(o) = org {
            q = q.filter(duties::organisation_id.eq(o));
        }
        q.first(c).unwrap()
    };
    let (admin, principal) = (role(c, "admin", None), role(c, "principal", Some(school)));
    Spring {
        admin: username(c, admin),
        principal: username(c, principal),
        teacher: username(c, teacher),
        school,
        other_school: schools[1],
        lesson,
        pupil,
    }
}

async fn put_marks(
    app: &TestApp,
    token: &str,
    lesson: i64,
    marks: Value,
    reason: Option<&str>,
) -> (u16, Value) {
    let mut res = app
        .client
        .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&json!({ "marks": marks, "correction_reason": reason }))
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.body().limit(1 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn marks_of(c: &mut DbConn, lesson: i64) -> Vec<(i64, String)> {
    attendance_marks::table
        .filter(attendance_marks::lesson_id.eq(lesson))
        .select((attendance_marks::pupil_id, attendance_marks::status))
        .order(attendance_marks::pupil_id)
        .load(c)
        .unwrap()
}

#[actix_web::test]
async fn a_closed_term_changes_only_by_the_principal_with_a_reason_and_is_listed() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let s = spring(&mut conn(&pool));
        let pw = narvaro::seed::DEMO_PASSWORD;
        let teacher = api_token(&app, &s.teacher, pw).await;
        let principal = api_token(&app, &s.principal, pw).await;
        let absent = json!([{"pupil_id": s.pupil, "status": "absent"}]);
        // open: the teacher reports the lesson; the principal may not
        let (status, body) = put_marks(&app, &principal, s.lesson, absent.clone(), Some("x")).await;
        assert_eq!(status, 403, "{body}");
        let (status, body) = put_marks(&app, &teacher, s.lesson, absent.clone(), None).await;
        assert_eq!(status, 200, "{body}");

        // the administrator closes the spring term for the school; a term not ended cannot be
        let mut b = Browser::open(&app).await;
        b.sign_in(&s.admin, pw).await;
        let autumn = b
            .post(
                "/huvudman/term-report/close",
                &[("term", "HT2026"), ("school", &s.school.to_string())],
            )
            .await;
        assert_eq!(autumn.status, 400, "{}", autumn.body);
        assert!(autumn.body.contains("har inte slutat"));
        let closed = b
            .post(
                "/huvudman/term-report/close",
                &[("term", "VT2026"), ("school", &s.school.to_string())],
            )
            .await;
        assert_eq!(closed.status, 303, "{}", closed.body);
        let again = b
            .post(
                "/huvudman/term-report/close",
                &[("term", "VT2026"), ("school", &s.school.to_string())],
            )
            .await;
        assert_eq!(again.status, 409);
        // a school of no municipality of the administrator's is not there
        let nowhere = b
            .post(
                "/huvudman/term-report/close",
                &[("term", "VT2026"), ("school", "999999")],
            )
            .await;
        assert_eq!(nowhere.status, 404);

        // closed: the teacher's change is refused and nothing moves
        let before = marks_of(&mut conn(&pool), s.lesson);
        let present = json!([{"pupil_id": s.pupil, "status": "present"}]);
        let (status, body) =
            put_marks(&app, &teacher, s.lesson, present.clone(), Some("glömde")).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "term_closed");
        assert_eq!(marks_of(&mut conn(&pool), s.lesson), before);
        // the principal needs a reason, then changes it
        let (status, body) = put_marks(&app, &principal, s.lesson, present.clone(), None).await;
        assert_eq!(
            body["code"], "correction_reason_required",
            "{status} {body}"
        );
        assert_eq!(marks_of(&mut conn(&pool), s.lesson), before);
        let (status, body) = put_marks(
            &app,
            &principal,
            s.lesson,
            present,
            Some("Eleven var på studiebesök"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(marks_of(&mut conn(&pool), s.lesson).is_empty());
        let page = b.get("/huvudman/term-report?term=VT2026").await;
        assert!(
            page.body.contains("Eleven var på studiebesök"),
            "the change is listed"
        );
        assert!(page.body.contains("Öppna terminen igen"));

        // reopening needs a reason; then the teacher reports again
        let blank = b
            .post(
                "/huvudman/term-report/reopen",
                &[
                    ("term", "VT2026"),
                    ("school", &s.school.to_string()),
                    ("reason", " "),
                ],
            )
            .await;
        assert_eq!(blank.status, 400);
        let reopened = b
            .post(
                "/huvudman/term-report/reopen",
                &[
                    ("term", "VT2026"),
                    ("school", &s.school.to_string()),
                    ("reason", "Fel i schemat"),
                ],
            )
            .await;
        assert_eq!(reopened.status, 303, "{}", reopened.body);
        let (status, body) = put_marks(&app, &teacher, s.lesson, absent, Some("rättat")).await;
        assert_eq!(status, 200, "{body}");
        let page = b.get("/huvudman/term-report?term=VT2026").await;
        assert!(
            page.body.contains("Eleven var på studiebesök"),
            "the change stays listed"
        );

        let actions: Vec<String> = audit_log::table
            .filter(audit_log::action.like("term.%"))
            .select(audit_log::action)
            .order(audit_log::id)
            .load(&mut conn(&pool))
            .unwrap();
        assert_eq!(actions, ["term.closed", "term.reopened"]);
        let rows: i64 = closed_term_changes::table
            .count()
            .get_result(&mut conn(&pool))
            .unwrap();
        assert_eq!(rows, 1);
        let _ = s.other_school;
    }
}

#[actix_web::test]
async fn parallel_closings_of_a_term_close_it_once_on_postgresql() {
    if !backends().contains(&Kind::Postgres) {
        return;
    }
    let app = TestApp::spawn(Kind::Postgres).await;
    let pool = pool(&app);
    let s = spring(&mut conn(&pool));
    let mut b = Browser::open(&app).await;
    b.sign_in(&s.admin, narvaro::seed::DEMO_PASSWORD).await;
    let school = s.other_school.to_string();
    let csrf = b.csrf.clone();
    let cookie = b.cookie_header();
    let sends = (0..8).map(|_| {
        let client = awc::Client::builder().disable_redirects().finish();
        let (cookie, csrf, school, url) = (
            cookie.clone(),
            csrf.clone(),
            school.clone(),
            app.url("/huvudman/term-report/close"),
        );
        async move {
            client
                .post(url)
                .insert_header(("Cookie", cookie))
                .send_form(&[
                    ("term", "VT2026"),
                    ("school", school.as_str()),
                    ("_csrf", csrf.as_str()),
                ])
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(sends).await;
    statuses.sort();
    assert_eq!(statuses, [303, 409, 409, 409, 409, 409, 409, 409]);
    let in_force: i64 = term_closings::table
        .filter(term_closings::school_id.eq(s.other_school))
        .filter(term_closings::reopened_at.is_null())
        .count()
        .get_result(&mut conn(&pool))
        .unwrap();
    assert_eq!(in_force, 1);
}

/// What else changes a term's figures is held too while it is closed: an absence report
/// registered or withdrawn for its days, or leave granted in it, is refused (409
/// `term_closed`) and nothing is stored; refusing leave, which changes no figure, is not.
#[actix_web::test]
async fn reports_and_leave_in_a_closed_term_are_refused_and_nothing_changes() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let s = spring(&mut conn(&pool));
        let pw = narvaro::seed::DEMO_PASSWORD;
        let principal = api_token(&app, &s.principal, pw).await;
        let report = |day: &str| json!({"pupil_id": s.pupil, "from": format!("{day}T07:00"), "to": format!("{day}T18:00"), "kind": "SJUK"});
        // before the closing the school registers a report for a day of the spring
        let (status, made) = api_post(
            &app,
            Some(&principal),
            "/api/v1/absence-reports",
            &report("2026-05-19"),
        )
        .await;
        assert_eq!(status, 201, "{kind:?}: {made}");
        let leave = |c: &mut DbConn, guardian: i64| -> i64 {
            diesel::insert_into(leave_applications::table)
                .values((
                    leave_applications::pupil_id.eq(s.pupil),
                    leave_applications::start_date.eq(day(2026, 5, 25)),
                    leave_applications::end_date.eq(day(2026, 5, 26)),
                    leave_applications::reason.eq("Resa"),
                    leave_applications::applied_by.eq(guardian),
                    leave_applications::applied_at
                        .eq(day(2026, 5, 1).and_hms_opt(8, 0, 0).unwrap()),
                    leave_applications::status.eq("pending"),
                ))
                .returning(leave_applications::id)
                .get_result(c)
                .unwrap()
        };
        let (grant, refuse) = {
            let c = &mut *conn(&pool);
            let guardian: i64 = guardianships::table
                .filter(guardianships::pupil_id.eq(s.pupil))
                .select(guardianships::guardian_id)
                .first(c)
                .unwrap();
            (leave(c, guardian), leave(c, guardian))
        };
        let mut b = Browser::open(&app).await;
        b.sign_in(&s.admin, pw).await;
        let closed = b
            .post(
                "/huvudman/term-report/close",
                &[("term", "VT2026"), ("school", &s.school.to_string())],
            )
            .await;
        assert_eq!(closed.status, 303, "{}", closed.body);

        let reports = |c: &mut DbConn| -> Vec<(i64, bool)> {
            absence_reports::table
                .filter(absence_reports::pupil_id.eq(s.pupil))
                .select((
                    absence_reports::id,
                    absence_reports::cancelled_at.is_not_null(),
                ))
                .order(absence_reports::id)
                .load(c)
                .unwrap()
        };
        let before = reports(&mut conn(&pool));
        let (status, body) = api_post(
            &app,
            Some(&principal),
            "/api/v1/absence-reports",
            &report("2026-05-20"),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("term_closed")),
            "{kind:?}: {body}"
        );
        assert!(
            body["detail"].as_str().unwrap().contains("stängt"),
            "{body}"
        );
        let mut res = app
            .client
            .delete(app.url(&format!("/api/v1/absence-reports/{}", made["id"])))
            .insert_header(("Authorization", format!("Bearer {principal}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status().as_u16(),
            409,
            "{kind:?}: {:?}",
            res.body().await
        );
        assert_eq!(
            reports(&mut conn(&pool)),
            before,
            "{kind:?}: nothing stored or withdrawn"
        );

        let decide = |id: i64, approved: bool| {
            let (app, principal) = (&app, &principal);
            async move {
                api_post(
                    app,
                    Some(principal),
                    &format!("/api/v1/leave-applications/{id}/decision"),
                    &json!({ "approved": approved }),
                )
                .await
            }
        };
        let (status, body) = decide(grant, true).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("term_closed")),
            "{kind:?}: {body}"
        );
        let (status, body) = decide(refuse, false).await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        let statuses: Vec<String> = leave_applications::table
            .filter(leave_applications::id.eq_any([grant, refuse]))
            .select(leave_applications::status)
            .order(leave_applications::id)
            .load(&mut conn(&pool))
            .unwrap();
        assert_eq!(statuses, ["pending", "rejected"], "{kind:?}");

        // reopened, the same report is taken
        let reopened = b
            .post(
                "/huvudman/term-report/reopen",
                &[
                    ("term", "VT2026"),
                    ("school", &s.school.to_string()),
                    ("reason", "Sjukanmälan kom sent"),
                ],
            )
            .await;
        assert_eq!(reopened.status, 303, "{}", reopened.body);
        let (status, body) = api_post(
            &app,
            Some(&principal),
            "/api/v1/absence-reports",
            &report("2026-05-20"),
        )
        .await;
        assert_eq!(status, 201, "{kind:?}: {body}");
    }
}
