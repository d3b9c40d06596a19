//! What an adversarial probe of the running service found, each as the story that showed
//! it: parallel identical requests, control characters, secrets in the log, one address
//! locking everyone out, a teacher whose duty ended, HTTPS without HSTS, a mark the
//! service cannot read, two administrators choosing one username. On both databases, at a
//! set moment (a Tuesday morning), so that nothing depends on the day the tests run.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use narvaro::schema::*;
use narvaro::school::clock::Clock;
use serde_json::{json, Value};

use crate::browser::{api_get, api_token, conn, deliver, last_link, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, Kind, TestApp};

/// Tuesday 24 November 2026, 08:00 in Stockholm.
fn tuesday_morning() -> Clock {
    Clock::starting_at(Utc.with_ymd_and_hms(2026, 11, 24, 7, 0, 0).unwrap())
}

async fn spawn(kind: Kind) -> TestApp {
    TestApp::spawn_with(kind, |c| c.clock = tuesday_morning()).await
}

fn today(app: &TestApp) -> NaiveDate {
    app.config.clock.today(chrono_tz::Europe::Stockholm)
}

fn at(d: NaiveDate, h: u32) -> String {
    d.and_hms_opt(h, 0, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Sends `n` identical API requests at the same moment; their statuses.
async fn at_once(
    app: &TestApp,
    n: usize,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url(path);
            let auth = format!("Bearer {token}");
            let body = body.clone();
            let method = method.to_string();
            actix_web::rt::spawn(async move {
                let req = match method.as_str() {
                    "DELETE" => client.delete(url),
                    _ => client.post(url),
                }
                .insert_header(("Authorization", auth));
                let res = if method == "DELETE" {
                    req.send().await
                } else {
                    req.send_json(&body).await
                };
                res.map(|r| r.status().as_u16()).unwrap_or(0)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    statuses
}

async fn post_json(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let mut req = app.client.post(app.url(path));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut res = req.send_json(&body).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.body().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn count_of(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[actix_web::test]
async fn identical_requests_at_the_same_moment_have_one_winner() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let day = fixtures::next_school_day(&world, today(&app));
        let g = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let active_reports = |world: &World| -> i64 {
            let mut c = conn(&world.pool);
            absence_reports::table
                .filter(absence_reports::pupil_id.eq(child))
                .filter(absence_reports::cancelled_at.is_null())
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        let before = active_reports(&world);

        // one sick report, sent 12 times at once: one is stored, the rest are told it exists
        let report =
            json!({"pupil_id": child, "from": at(day, 8), "to": at(day, 12), "kind": "sick"});
        let got = at_once(&app, 12, &g, "POST", "/api/v1/absence-reports", report).await;
        assert_eq!(
            (count_of(&got, 201), count_of(&got, 409)),
            (1, 11),
            "{kind:?}: {got:?}"
        );
        assert_eq!(active_reports(&world), before + 1);
        let report_id: i64 = {
            let mut c = conn(&world.pool);
            absence_reports::table
                .filter(absence_reports::pupil_id.eq(child))
                .filter(absence_reports::cancelled_at.is_null())
                .select(absence_reports::id)
                .order(absence_reports::id.desc())
                .first(&mut *c)
                .unwrap()
        };
        // one confirmation per guardian who wants them, not one per request
        let confirmations: i64 = {
            let mut c = conn(&world.pool);
            outbox::table
                .filter(outbox::kind.eq("report_confirmation"))
                .filter(outbox::payload.like(format!("%\"report_id\":{report_id}}}%")))
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        let wanting: i64 = {
            let mut c = conn(&world.pool);
            guardianships::table
                .inner_join(people::table.on(people::id.eq(guardianships::guardian_id)))
                .filter(guardianships::pupil_id.eq(child))
                .filter(people::receive_confirmations.eq(true))
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        assert_eq!(confirmations, wanting);

        // cancelled 10 times at once: one cancellation
        let got = at_once(
            &app,
            10,
            &g,
            "DELETE",
            &format!("/api/v1/absence-reports/{report_id}"),
            Value::Null,
        )
        .await;
        assert_eq!(
            (count_of(&got, 204), count_of(&got, 409)),
            (1, 9),
            "{kind:?}: {got:?}"
        );
        let cancellations: i64 = {
            let mut c = conn(&world.pool);
            audit_log::table
                .filter(audit_log::action.eq("absence_report.cancelled"))
                .filter(audit_log::entity_id.eq(report_id))
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        assert_eq!(cancellations, 1);

        // one leave application, sent 12 times at once
        let leave_day = fixtures::next_school_day(&world, day);
        let leave = json!({"pupil_id": child, "start_date": leave_day, "end_date": leave_day, "reason": "Släktkalas"});
        let got = at_once(&app, 12, &g, "POST", "/api/v1/leave-applications", leave).await;
        assert_eq!(
            (count_of(&got, 201), count_of(&got, 409)),
            (1, 11),
            "{kind:?}: {got:?}"
        );
        let (leave_id, applications): (i64, i64) = {
            let mut c = conn(&world.pool);
            let ids: Vec<i64> = leave_applications::table
                .filter(leave_applications::pupil_id.eq(child))
                .filter(leave_applications::start_date.eq(leave_day))
                .select(leave_applications::id)
                .load(&mut *c)
                .unwrap();
            (ids[0], ids.len() as i64)
        };
        assert_eq!(applications, 1);

        // the principal decides 10 times at once, approving and rejecting by turns: one
        // decision is made, and it is the one stored and audited
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let client = app.client.clone();
                let url = app.url(&format!("/api/v1/leave-applications/{leave_id}/decision"));
                let auth = format!("Bearer {principal}");
                actix_web::rt::spawn(async move {
                    client
                        .post(url)
                        .insert_header(("Authorization", auth))
                        .send_json(&json!({"approved": i % 2 == 0}))
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0)
                })
            })
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        assert_eq!(
            (count_of(&got, 200), count_of(&got, 409)),
            (1, 9),
            "{kind:?}: {got:?}"
        );
        let mut c = conn(&world.pool);
        let decisions: Vec<String> = audit_log::table
            .filter(audit_log::action.eq("leave.decided"))
            .filter(audit_log::entity_id.eq(leave_id))
            .select(audit_log::detail)
            .load(&mut *c)
            .unwrap();
        assert_eq!(decisions.len(), 1, "{decisions:?}");
        let stored: String = leave_applications::table
            .find(leave_id)
            .select(leave_applications::status)
            .first(&mut *c)
            .unwrap();
        assert!(decisions[0].contains(&stored), "{decisions:?} vs {stored}");
        let decision_mails: i64 = outbox::table
            .filter(outbox::kind.eq("leave_decision"))
            .filter(outbox::payload.eq(json!({"leave_id": leave_id}).to_string()))
            .count()
            .get_result(&mut *c)
            .unwrap();
        let guardians: i64 = guardianships::table
            .filter(guardianships::pupil_id.eq(child))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(
            decision_mails, guardians,
            "one decision e-mail per guardian"
        );
    }
}

#[actix_web::test]
async fn control_characters_get_a_clear_400_and_store_nothing() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let day = fixtures::next_school_day(&world, today(&app));

        // before signing in: the API, the form, the link and reset requests
        let (status, problem) = post_json(
            &app,
            None,
            "/api/v1/auth/token",
            json!({"username": "a\u{0}b", "password": "x"}),
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("control_character")),
            "{kind:?}"
        );
        let mut b = Browser::open(&app).await;
        for (path, fields) in [
            (
                "/login",
                vec![("username", "demo\u{0}.teacher"), ("password", "x")],
            ),
            ("/login/link", vec![("email", "a\u{0}@example.com")]),
            ("/password/forgot", vec![("email", "a\u{1b}@example.com")]),
        ] {
            let page = b.post(path, &fields).await;
            assert_eq!(page.status, 400, "{kind:?} {path}: {}", page.body);
            assert!(page.body.contains("styrtecken"), "{path}: {}", page.body);
        }
        // a query string too
        let g = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let (status, _) = api_get(
            &app,
            Some(&g),
            &format!("/api/v1/pupils/{child}/absences?from=%00"),
        )
        .await;
        assert_eq!(status, 400);

        // signed in: a report's message and a leave reason; nothing is stored
        let reports_before: i64 = {
            let mut c = conn(&world.pool);
            absence_reports::table.count().get_result(&mut *c).unwrap()
        };
        let (status, problem) = post_json(
            &app,
            Some(&g),
            "/api/v1/absence-reports",
            json!({"pupil_id": child, "from": at(day, 8), "to": at(day, 12), "kind": "sick", "message": "Feber\u{0}"}),
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("control_character"))
        );
        let (status, _) = post_json(
            &app,
            Some(&g),
            "/api/v1/leave-applications",
            json!({"pupil_id": child, "start_date": day, "end_date": day, "reason": "Resa\u{7}"}),
        )
        .await;
        assert_eq!(status, 400);
        {
            let mut c = conn(&world.pool);
            let after: i64 = absence_reports::table.count().get_result(&mut *c).unwrap();
            assert_eq!(after, reports_before);
            let leave: i64 = leave_applications::table
                .filter(leave_applications::reason.eq("Resa\u{7}"))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert_eq!(leave, 0);
        }
        // tabs and line breaks are text, and are kept
        let (status, created) = post_json(
            &app,
            Some(&g),
            "/api/v1/absence-reports",
            json!({"pupil_id": child, "from": at(day, 8), "to": at(day, 12), "kind": "sick", "message": "Feber\r\nHemma\ttill lunch"}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
    }
}

/// Every log line the service writes from now on, in this test binary.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one log capture");
        buf
    })
    .clone()
}

#[actix_web::test]
async fn no_link_secret_reaches_the_log() {
    let log = captured_log();
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let mut tokens = Vec::new();

        // an administrator invites a teacher, who opens the invitation but waits
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let page = fixtures::invite_teacher(
            &mut admin,
            world.ids.school1,
            ("Ny", "Lärare"),
            "ny.larare@example.com",
            "ny.larare",
        )
        .await;
        assert_eq!(page.status, 303, "{}", page.body);
        deliver(&app).await;
        let invitation = last_link(&app, "/password/new/");
        let mut teacher = Browser::open(&app).await;
        assert_eq!(
            teacher
                .get(invitation.trim_start_matches(&app.address))
                .await
                .status,
            200
        );
        tokens.push(invitation.rsplit('/').next().unwrap().to_string());

        // a member of staff asks for a new password and opens the link
        let email: String = {
            let mut c = conn(&world.pool);
            people::table
                .filter(people::username.eq("demo.teacher"))
                .select(people::email.assume_not_null())
                .first(&mut *c)
                .unwrap()
        };
        let mut b = Browser::open(&app).await;
        assert_eq!(
            b.post("/password/forgot", &[("email", &email)])
                .await
                .status,
            200
        );
        deliver(&app).await;
        let reset = last_link(&app, "/password/new/");
        assert_ne!(reset, invitation);
        assert_eq!(
            b.get(reset.trim_start_matches(&app.address)).await.status,
            200
        );
        tokens.push(reset.rsplit('/').next().unwrap().to_string());

        // a guardian signs in with a link
        let mut g = Browser::open(&app).await;
        assert_eq!(
            g.post("/login/link", &[("email", "demo.guardian@example.com")])
                .await
                .status,
            200
        );
        deliver(&app).await;
        let link = last_link(&app, "/login/link/");
        let path = link.trim_start_matches(&app.address).to_string();
        assert_eq!(g.get(&path).await.status, 200);
        assert_eq!(g.post(&path, &[]).await.status, 303);
        tokens.push(link.rsplit('/').next().unwrap().to_string());
        // a mistyped link is not logged either
        assert_eq!(
            g.get(&format!("/login/lnk/{}", tokens[2])).await.status,
            404
        );

        let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
        assert!(
            text.contains("route=/login/link/{token}")
                && text.contains("route=/password/new/{token}"),
            "the requests were logged, by route"
        );
        for t in &tokens {
            assert_eq!(t.len(), 64);
            assert!(
                !text.contains(t.as_str()),
                "{kind:?}: a link secret is in the log"
            );
        }
    }
}

#[actix_web::test]
async fn failures_from_one_address_do_not_lock_out_those_who_signed_in_there_before() {
    for kind in backends() {
        let app = spawn(kind).await;
        fixtures::build(&app);
        // the administrator has signed in on this computer before
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        assert!(admin.cookies.contains_key("narvaro_device"));
        admin.post("/logout", &[]).await;

        // someone behind the same address sprays passwords
        for i in 0..narvaro::auth::throttle::PER_ADDRESS {
            let (status, _) = post_json(
                &app,
                None,
                "/api/v1/auth/token",
                json!({"username": format!("guess{i}"), "password": "Sommar2026"}),
            )
            .await;
            assert_eq!(status, 401);
        }
        // the sprayer, and anyone new on the address, is held back
        let (status, _) = post_json(
            &app,
            None,
            "/api/v1/auth/token",
            json!({"username": "demo.principal", "password": DEMO_PASSWORD}),
        )
        .await;
        assert_eq!(
            status, 429,
            "{kind:?}: the limit per address holds for new devices"
        );
        // the administrator, on the computer she used before, signs in
        let page = admin
            .post(
                "/login",
                &[
                    ("username", "demo.admin"),
                    ("password", DEMO_PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{kind:?}: {}", page.body);
        // a forged device cookie is no help
        let mut forged = Browser::open(&app).await;
        forged.cookies.insert(
            "narvaro_device".into(),
            admin.cookies["narvaro_device"].replace(|c: char| c.is_ascii_digit(), "7"),
        );
        let page = forged
            .post(
                "/login",
                &[
                    ("username", "demo.principal"),
                    ("password", DEMO_PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(page.status, 429);
    }
}

#[actix_web::test]
async fn a_teacher_whose_duty_ended_gets_no_lesson_list() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let t = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let date = today(&app);
        let (status, before) =
            api_get(&app, Some(&t), &format!("/api/v1/lessons?date={date}")).await;
        assert_eq!(status, 200);
        assert!(!before["lessons"].as_array().unwrap().is_empty());
        {
            let mut c = conn(&world.pool);
            let teacher: i64 = people::table
                .filter(people::username.eq("demo.teacher"))
                .select(people::id)
                .first(&mut *c)
                .unwrap();
            diesel::update(duties::table.filter(duties::person_id.eq(teacher)))
                .set(duties::end_date.eq(date - Duration::days(1)))
                .execute(&mut *c)
                .unwrap();
        }
        let (status, after) =
            api_get(&app, Some(&t), &format!("/api/v1/lessons?date={date}")).await;
        assert_eq!(status, 200);
        assert_eq!(after["lessons"], json!([]), "{kind:?}: {after}");
        let (status, _) = api_get(
            &app,
            Some(&t),
            &format!("/api/v1/lessons/{}", world.ids.lesson),
        )
        .await;
        assert_eq!(status, 404);
    }
}

#[actix_web::test]
async fn https_answers_carry_hsts_and_plain_http_does_not() {
    for kind in backends() {
        let app =
            TestApp::spawn_with(kind, |c| c.base_url = "https://narvaro.example.se".into()).await;
        let res = app.client.get(app.url("/login")).send().await.unwrap();
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000")
        );
        let plain = TestApp::spawn(kind).await;
        let res = plain.client.get(plain.url("/login")).send().await.unwrap();
        assert!(res.headers().get("strict-transport-security").is_none());
    }
}

#[actix_web::test]
async fn a_sign_in_link_arrives_at_once_though_the_worker_polls_seldom() {
    for kind in backends() {
        // the server's own worker, polling once an hour: the request wakes it
        let app = TestApp::spawn_with(kind, |c| c.outbox_poll_seconds = 3600).await;
        fixtures::build(&app);
        let mut g = Browser::open(&app).await;
        let page = g
            .post("/login/link", &[("email", "demo.guardian@example.com")])
            .await;
        assert_eq!(page.status, 200);
        let mut arrived = false;
        for _ in 0..100 {
            if crate::browser::mails(&app)
                .iter()
                .any(|m| m.contains("/login/link/"))
            {
                arrived = true;
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(arrived, "{kind:?}: the link arrived within five seconds");
    }
}

#[actix_web::test]
async fn a_stored_mark_with_an_unknown_status_is_refused_loudly() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let t = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let lesson = world.ids.lesson;
        {
            let mut c = conn(&world.pool);
            // a value written by a newer version, or by hand: the CHECK constraint is lifted
            // for the test
            match kind {
                Kind::Postgres => {
                    diesel::sql_query("ALTER TABLE attendance_marks DROP CONSTRAINT attendance_marks_status_check")
                        .execute(&mut *c)
                        .unwrap();
                }
                Kind::Sqlite => {
                    diesel::sql_query("PRAGMA ignore_check_constraints = ON")
                        .execute(&mut *c)
                        .unwrap();
                }
            }
            let teacher: i64 = people::table
                .filter(people::username.eq("demo.teacher"))
                .select(people::id)
                .first(&mut *c)
                .unwrap();
            diesel::insert_into(attendance_marks::table)
                .values((
                    attendance_marks::lesson_id.eq(lesson),
                    attendance_marks::pupil_id.eq(world.ids.child),
                    attendance_marks::status.eq("excused_by_owl"),
                    attendance_marks::minutes.eq(60),
                    attendance_marks::marked_by.eq(teacher),
                    attendance_marks::marked_at.eq(Utc::now().naive_utc()),
                ))
                .execute(&mut *c)
                .unwrap();
            if kind == Kind::Sqlite {
                diesel::sql_query("PRAGMA ignore_check_constraints = OFF")
                    .execute(&mut *c)
                    .unwrap();
            }
        }
        let (status, body) = api_get(
            &app,
            Some(&t),
            &format!("/api/v1/lessons/{lesson}/roll-call"),
        )
        .await;
        assert_eq!(status, 500, "{kind:?}: never shown as present: {body}");
    }
}

#[actix_web::test]
async fn two_administrators_choosing_one_username_at_once_get_one_account_and_a_message() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let school = world.ids.school1;
        let mut admins = Vec::new();
        for _ in 0..6 {
            let mut a = Browser::open(&app).await;
            a.sign_in("demo.admin", DEMO_PASSWORD).await;
            admins.push(a);
        }
        let tasks: Vec<_> = admins
            .into_iter()
            .map(|mut a| {
                actix_web::rt::spawn(async move {
                    fixtures::invite_teacher(
                        &mut a,
                        school,
                        ("Kim", "Samtidig"),
                        "kim@example.com",
                        "kim.samtidig",
                    )
                    .await
                })
            })
            .collect();
        let mut pages = Vec::new();
        for t in tasks {
            pages.push(t.await.unwrap());
        }
        let made = pages.iter().filter(|p| p.status == 303).count();
        let taken = pages
            .iter()
            .filter(|p| p.status == 400 && p.body.contains("Användarnamnet är upptaget"))
            .count();
        assert_eq!(
            (made, taken),
            (1, 5),
            "{kind:?}: {:?}",
            pages.iter().map(|p| p.status).collect::<Vec<_>>()
        );
        let mut c = conn(&world.pool);
        let n: i64 = people::table
            .filter(people::username.eq("kim.samtidig"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n, 1);
    }
}

/// Posts one form `n` times at the same moment from one signed-in browser; the statuses.
pub(crate) async fn forms_at_once(
    app: &TestApp,
    b: &Browser,
    n: usize,
    path: &str,
    fields: &[(&str, &str)],
) -> Vec<u16> {
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    form.push(("_csrf".into(), b.csrf.clone()));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url, cookie, form) = (
                app.client.clone(),
                app.url(path),
                cookie.clone(),
                form.clone(),
            );
            actix_web::rt::spawn(async move {
                client
                    .post(url)
                    .insert_header(("Cookie", cookie))
                    .send_form(&form)
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    statuses
}

#[actix_web::test]
async fn an_administrators_identical_forms_store_one_duty_and_one_guardian() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let school = world.ids.school1.to_string();
        let child = world.ids.child.to_string();
        let newcomer = {
            let mut c = conn(&world.pool);
            crate::build::Person::new("Nora", "Nykvist")
                .account("nora.nykvist", "ett-långt-lösenord")
                .insert(&mut c)
        };
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;

        // the same duty, eight times at once: one is stored, the others are told it exists
        let got = forms_at_once(
            &app,
            &admin,
            8,
            "/admin/duties",
            &[
                ("username", "nora.nykvist"),
                ("role", "teacher"),
                ("school_id", &school),
            ],
        )
        .await;
        assert_eq!(
            (count_of(&got, 303), count_of(&got, 400)),
            (1, 7),
            "{kind:?}: {got:?}"
        );
        let duties_of: i64 = {
            let mut c = conn(&world.pool);
            duties::table
                .filter(duties::person_id.eq(newcomer))
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        assert_eq!(duties_of, 1);

        // a new guardian for the child, eight times at once: one person, one guardianship
        let got = forms_at_once(
            &app,
            &admin,
            8,
            "/admin/guardianships",
            &[
                ("pupil_id", &child),
                ("email", "ny.vardnadshavare@example.se"),
                ("given_name", "Ny"),
                ("family_name", "Vårdnadshavare"),
            ],
        )
        .await;
        assert_eq!(
            (count_of(&got, 303), count_of(&got, 400)),
            (1, 7),
            "{kind:?}: {got:?}"
        );
        let mut c = conn(&world.pool);
        let people_with: Vec<i64> = people::table
            .filter(people::email.eq("ny.vardnadshavare@example.se"))
            .select(people::id)
            .load(&mut *c)
            .unwrap();
        assert_eq!(people_with.len(), 1, "one person, not one per request");
        let links: i64 = guardianships::table
            .filter(guardianships::pupil_id.eq(world.ids.child))
            .filter(guardianships::guardian_id.eq(people_with[0]))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(links, 1);
    }
}

/// POSTs a JSON body exactly as written (serde_json cannot write 1e400 or a lone surrogate).
async fn post_raw_json(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    body: String,
) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .insert_header(("Content-Type", "application/json"));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut res = req.send_body(body).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.body().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[actix_web::test]
async fn a_control_character_beside_a_value_the_check_cannot_read_is_refused_too() {
    for kind in backends() {
        let app = spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let day = fixtures::next_school_day(&world, today(&app));
        // a NUL beside a number out of range, a lone surrogate, nesting past 128
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        for body in [
            r#"{"username":"a\u0000b","password":"x","n":1e400}"#.to_string(),
            r#"{"username":"a\u0000b","password":"x","s":"\ud800"}"#.to_string(),
            format!(r#"{{"username":"a\u0000b","password":"x","d":{deep}}}"#),
        ] {
            let (status, problem) = post_raw_json(&app, None, "/api/v1/auth/token", body).await;
            assert_eq!(status, 400, "{kind:?}: {problem}");
            assert!(
                problem["code"].is_string(),
                "{kind:?}: a problem body: {problem}"
            );
        }
        // signed in: a leave reason and a report's message; nothing is stored
        let g = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let (status, problem) = post_raw_json(
            &app,
            Some(&g),
            "/api/v1/leave-applications",
            format!(r#"{{"pupil_id":{child},"start_date":"{day}","end_date":"{day}","reason":"Resa\u0000","n":1e400}}"#),
        )
        .await;
        assert_eq!(status, 400, "{kind:?}: {problem}");
        let (status, problem) = post_raw_json(
            &app,
            Some(&g),
            "/api/v1/absence-reports",
            format!(
                r#"{{"pupil_id":{child},"from":"{}","to":"{}","kind":"sick","message":"Feber\u0000","s":"\udc00"}}"#,
                at(day, 8),
                at(day, 12)
            ),
        )
        .await;
        assert_eq!(status, 400, "{kind:?}: {problem}");
        {
            let mut c = conn(&world.pool);
            let reasons: Vec<String> = leave_applications::table
                .select(leave_applications::reason)
                .load(&mut *c)
                .unwrap();
            assert!(reasons.iter().all(|r| !r.contains('\u{0}')), "{kind:?}");
            let messages: Vec<Option<String>> = absence_reports::table
                .select(absence_reports::message)
                .load(&mut *c)
                .unwrap();
            assert!(
                messages.iter().flatten().all(|m| !m.contains('\u{0}')),
                "{kind:?}"
            );
            let audit: Vec<String> = audit_log::table
                .select(audit_log::detail)
                .load(&mut *c)
                .unwrap();
            assert!(audit.iter().all(|d| !d.contains("\\u0000")), "{kind:?}");
        }

        // a NUL inside HTTP Basic credentials
        let mut res = app
            .client
            .post(app.url("/oauth/token"))
            .insert_header(("Authorization", "Basic YQBiOnM="))
            .send_form(&[("grant_type", "client_credentials")])
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{kind:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");

        // a date before 4713 BC, on pages and in forms
        let mut p = Browser::open(&app).await;
        p.sign_in("demo.principal", DEMO_PASSWORD).await;
        let school = world.ids.school1;
        for path in [
            format!("/schools/{school}/day?date=-5000-01-01"),
            "/notices?date=-5000-01-01".to_string(),
            "/audit?from=-5000-01-01".to_string(),
            "/audit?to=-5000-01-01".to_string(),
        ] {
            let page = p.get(&path).await;
            assert_eq!(page.status, 400, "{kind:?} {path}: {}", page.body);
        }
        let today = today(&app).to_string();
        for (path, fields) in [
            (
                format!("/schools/{school}/day/absent"),
                vec![
                    ("date", today.as_str()),
                    ("teacher", "1"),
                    ("last_day", "-5000-01-01"),
                ],
            ),
            (
                format!("/schools/{school}/day/substitute"),
                vec![
                    ("date", "-5000-01-01"),
                    ("teacher", "1"),
                    ("substitute", "2"),
                ],
            ),
        ] {
            let page = p.post(&path, &fields).await;
            assert_eq!(page.status, 400, "{kind:?} {path}: {}", page.body);
        }
    }
}

#[actix_web::test]
async fn answers_that_refuse_are_never_cached() {
    for kind in backends() {
        let app = spawn(kind).await;
        fixtures::build(&app);
        let t = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        for (path, token, status) in [
            ("/no/such/page", None, 404),
            ("/api/v1/lessons/999999999/roll-call", Some(t.as_str()), 404),
            ("/api/v1/lessons?date=-5000-01-01", Some(t.as_str()), 400),
            ("/api/v1/lessons", None, 401),
        ] {
            let mut req = app.client.get(app.url(path));
            if let Some(t) = token {
                req = req.insert_header(("Authorization", format!("Bearer {t}")));
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status().as_u16(), status, "{kind:?} {path}");
            assert_eq!(
                res.headers()
                    .get("cache-control")
                    .and_then(|v| v.to_str().ok()),
                Some("no-store"),
                "{kind:?} {path}"
            );
        }
    }
}
