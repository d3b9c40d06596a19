//! Guardian notices through the outbox, against a real SMTP server (aiosmtpd, started by
//! the test on a loopback port): one same-day notice per guardian, suppressed by a report
//! made before the send time, delivered once after the server was down, and sent exactly
//! once by two workers on one database. On both databases.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use narvaro::notices::worker;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_token, conn, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, Kind, TestApp};

const PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/.venv/bin/python");
const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");

/// A real SMTP server process on a loopback port, writing what it accepts to a folder.
pub(crate) struct Smtp {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Smtp {
    pub(crate) fn available() -> bool {
        let there = Path::new(PYTHON).exists();
        if !there {
            assert!(
                std::env::var("CI").is_err(),
                "CI: {PYTHON} is missing; scripts/install-deps installs aiosmtpd"
            );
            eprintln!("\n!! aiosmtpd is not installed: the notice tests were SKIPPED (scripts/install-deps installs it)\n");
        }
        there
    }

    pub(crate) fn new() -> Smtp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("narvaro-smtp-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Smtp {
            child: None,
            port,
            dir,
        }
    }

    pub(crate) fn start(&mut self) {
        let mut child = Command::new(PYTHON)
            .args([
                SERVER,
                "--port",
                &self.port.to_string(),
                "--dir",
                &self.dir.display().to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the SMTP server");
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, decoded.
    pub(crate) fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| crate::browser::decode_mail(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) async fn app_with_smtp(kind: Kind, smtp: &Smtp, delay: Option<i64>) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with(kind, move |c| {
        c.smtp_url = Some(url);
        c.notice_delay_minutes = delay;
    })
    .await
}

pub(crate) async fn put_marks(app: &TestApp, token: &str, lesson: i64, marks: serde_json::Value) {
    let mut res = app
        .client
        .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&json!({ "marks": marks }))
        .await
        .unwrap();
    let status = res.status();
    assert_eq!(status, 200, "{:?}", res.body().await);
}

fn notices(world: &World, kind: &str) -> Vec<(i64, String, Option<String>, i32)> {
    let mut c = conn(&world.pool);
    outbox::table
        .filter(outbox::kind.eq(kind))
        .select((
            outbox::id,
            outbox::status,
            outbox::recipient_email,
            outbox::attempts,
        ))
        .order(outbox::id)
        .load(&mut *c)
        .unwrap()
}

/// Every notice waiting to be sent (absence notices and threshold alerts alike).
fn pending(world: &World) -> usize {
    let mut c = conn(&world.pool);
    outbox::table
        .filter(outbox::status.eq("pending"))
        .count()
        .get_result::<i64>(&mut *c)
        .unwrap() as usize
}

pub(crate) fn guardian_emails(world: &World, pupil: i64) -> Vec<String> {
    let mut c = conn(&world.pool);
    guardianships::table
        .inner_join(people::table.on(people::id.eq(guardianships::guardian_id)))
        .filter(guardianships::pupil_id.eq(pupil))
        .select(people::email.assume_not_null())
        .order(people::id)
        .load(&mut *c)
        .unwrap()
}

fn make_due_now(world: &World) {
    let mut c = conn(&world.pool);
    diesel::update(outbox::table.filter(outbox::status.eq("pending")))
        .set(
            outbox::due_at
                .eq(crate::helpers::test_moment().naive_utc() - chrono::Duration::seconds(1)),
        )
        .execute(&mut *c)
        .unwrap();
}

#[actix_web::test]
async fn a_marked_absence_sends_one_notice_per_guardian_naming_the_lessons() {
    if !Smtp::available() {
        return;
    }
    for kind in backends() {
        let mut smtp = Smtp::new();
        smtp.start();
        let app = app_with_smtp(kind, &smtp, Some(0)).await;
        let world = fixtures::build(&app);
        let (child, lesson) = (world.ids.child, world.ids.lesson);
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        put_marks(
            &app,
            &teacher,
            lesson,
            json!([{"pupil_id": child, "status": "absent"}]),
        )
        .await;
        // reported again (another pupil late): no second notice about the child
        let (_, rc) = crate::browser::api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{lesson}/roll-call"),
        )
        .await;
        let other = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .find(|p| *p != child)
            .unwrap();
        put_marks(&app, &teacher, lesson, json!([{"pupil_id": child, "status": "absent"}, {"pupil_id": other, "status": "late", "minutes": 10}])).await;

        let w = app.worker();
        let stats = worker::drain(&w, "test-worker", 10).await.unwrap();
        assert_eq!(stats.failed, 0, "{stats:?}");
        let mails = smtp.messages();
        let to_child: Vec<&String> = mails
            .iter()
            .filter(|m| {
                guardian_emails(&world, child)
                    .iter()
                    .any(|e| m.contains(&format!("X-Envelope-To: {e}")))
            })
            .collect();
        assert_eq!(
            to_child.len(),
            guardian_emails(&world, child).len(),
            "exactly one per guardian"
        );
        let subject = rc["lesson"]["subject"].as_str().unwrap();
        let starts = &rc["lesson"]["starts_at"].as_str().unwrap()[11..16];
        for m in &to_child {
            assert!(
                m.contains("utan anmäld orsak") || m.contains("without a reported reason"),
                "{m}"
            );
            assert!(
                m.contains(subject) && m.contains(starts),
                "names the lesson: {m}"
            );
            assert!(
                m.contains("/notices/") && m.contains("sig="),
                "a confirmation link"
            );
        }
        let to_other = mails
            .iter()
            .filter(|m| {
                guardian_emails(&world, other)
                    .iter()
                    .any(|e| m.contains(&format!("X-Envelope-To: {e}")))
            })
            .count();
        assert_eq!(to_other, guardian_emails(&world, other).len());
        // another pass sends nothing more
        let again = worker::drain(&w, "test-worker", 10).await.unwrap();
        assert_eq!(again.claimed, 0);
        assert_eq!(smtp.messages().len(), mails.len());

        // the guardian confirms with the link; staff see it
        let m = to_child[0];
        let link = crate::browser::link_in(m, &format!("{}/notices/", app.address)).unwrap();
        let path = link.trim_start_matches(&app.address).to_string();
        let mut g = Browser::open(&app).await;
        let page = g.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Jag har sett meddelandet"));
        assert_eq!(g.post(&path, &[]).await.status, 200);
        let tampered = path.replace("sig=", "sig=0");
        assert_eq!(g.get(&tampered).await.status, 404);
        let mut p = Browser::open(&app).await;
        p.sign_in("demo.principal", DEMO_PASSWORD).await;
        let day = p.get("/notices").await;
        assert!(
            day.body.contains("Bekräftat") && day.body.contains("Skickat, ej bekräftat"),
            "{}",
            day.body
        );
        let unconfirmed = p.get("/notices?unconfirmed=1").await;
        assert!(
            !unconfirmed.body.contains("Bekräftat<"),
            "only the unconfirmed are listed"
        );
        smtp.stop();
    }
}

#[actix_web::test]
async fn a_guardian_report_before_the_send_time_suppresses_the_notice() {
    if !Smtp::available() {
        return;
    }
    for kind in backends() {
        let mut smtp = Smtp::new();
        smtp.start();
        let app = app_with_smtp(kind, &smtp, Some(60)).await;
        let world = fixtures::build(&app);
        let (child, lesson) = (world.ids.child, world.ids.lesson);
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        put_marks(
            &app,
            &teacher,
            lesson,
            json!([{"pupil_id": child, "status": "absent"}]),
        )
        .await;
        let w = app.worker();
        assert_eq!(
            worker::drain(&w, "w", 10).await.unwrap().claimed,
            0,
            "not due for an hour"
        );
        // the guardian reports sick before the send time
        let mut g = Browser::open(&app).await;
        g.sign_in("demo.guardian", DEMO_PASSWORD).await;
        assert_eq!(
            g.post(
                &format!("/pupils/{child}/absence-reports"),
                &[("quick", "sick_today")]
            )
            .await
            .status,
            303
        );
        make_due_now(&world);
        let stats = worker::drain(&w, "w", 10).await.unwrap();
        {
            let mut c = conn(&world.pool);
            let all: Vec<(String, String, Option<String>)> = outbox::table
                .select((outbox::kind, outbox::status, outbox::last_error))
                .load(&mut *c)
                .unwrap();
            eprintln!("OUTBOX {all:?}");
        }
        assert!(stats.cancelled >= 1, "{stats:?}");
        let mails = smtp.messages();
        assert!(
            mails
                .iter()
                .all(|m| !m.contains("utan anmäld orsak")
                    && !m.contains("without a reported reason")),
            "no unexplained-absence notice"
        );
        assert!(
            mails
                .iter()
                .any(|m| m.contains("Skolan har tagit emot en anmälan")
                    || m.contains("has received an absence report")),
            "the report was confirmed"
        );
        assert!(
            mails
                .iter()
                .all(|m| !m.contains("Sjukdom") && !m.contains("Illness")),
            "no diagnosis in any e-mail"
        );
        assert!(notices(&world, "unexplained_absence")
            .iter()
            .all(|n| n.1 == "cancelled"));
        smtp.stop();
    }
}

#[actix_web::test]
async fn an_smtp_server_that_was_down_gets_everything_once_it_is_back() {
    if !Smtp::available() {
        return;
    }
    for kind in backends() {
        let mut smtp = Smtp::new(); // not started: down
        let app = app_with_smtp(kind, &smtp, Some(0)).await;
        let world = fixtures::build(&app);
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let (_, rc) = crate::browser::api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{}/roll-call", world.ids.lesson),
        )
        .await;
        let pupils: Vec<i64> = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .take(3)
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        put_marks(
            &app,
            &teacher,
            world.ids.lesson,
            json!(pupils
                .iter()
                .map(|p| json!({"pupil_id": p, "status": "absent"}))
                .collect::<Vec<_>>()),
        )
        .await;
        let w = app.worker();
        let stats = worker::drain(&w, "w", 10).await.unwrap();
        assert_eq!(stats.sent, 0);
        assert!(stats.retried > 0, "{stats:?}");
        let rows = notices(&world, "unexplained_absence");
        assert!(
            rows.iter().all(|r| r.1 == "pending" && r.3 == 1),
            "kept for a retry: {rows:?}"
        );
        let waiting = pending(&world);
        // not due again yet (backoff)
        assert_eq!(worker::drain(&w, "w", 10).await.unwrap().claimed, 0);
        smtp.start();
        make_due_now(&world);
        let stats = worker::drain(&w, "w", 10).await.unwrap();
        assert_eq!(stats.sent, waiting, "{stats:?}");
        assert_eq!(smtp.messages().len(), waiting, "each exactly once");
        assert!(notices(&world, "unexplained_absence")
            .iter()
            .all(|r| r.1 == "sent"));
        // the retry is the same message: its Message-ID names the outbox row
        let messages = smtp.messages();
        for (id, ..) in notices(&world, "unexplained_absence") {
            let header = format!("Message-ID: <notice.{id}.0@");
            assert_eq!(
                messages.iter().filter(|m| m.contains(&header)).count(),
                1,
                "{header} in {messages:?}"
            );
        }
        smtp.stop();
    }
}

#[actix_web::test]
async fn two_workers_on_one_database_send_each_notice_exactly_once() {
    if !Smtp::available() {
        return;
    }
    for kind in backends() {
        let mut smtp = Smtp::new();
        smtp.start();
        let app = app_with_smtp(kind, &smtp, Some(0)).await;
        let world = fixtures::build(&app);
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let (_, rc) = crate::browser::api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{}/roll-call", world.ids.lesson),
        )
        .await;
        let marks: Vec<_> = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| json!({"pupil_id": p["id"], "status": "absent"}))
            .collect();
        put_marks(&app, &teacher, world.ids.lesson, json!(marks)).await;
        // the day's other lesson too, and a second day, so there is more than one batch
        let (_, day) = crate::browser::api_get(&app, Some(&teacher), "/api/v1/lessons").await;
        for l in day["lessons"].as_array().unwrap() {
            let id = l["id"].as_i64().unwrap();
            if id != world.ids.lesson && !l["cancelled"].as_bool().unwrap() {
                let (_, rc) = crate::browser::api_get(
                    &app,
                    Some(&teacher),
                    &format!("/api/v1/lessons/{id}/roll-call"),
                )
                .await;
                let marks: Vec<_> = rc["pupils"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| json!({"pupil_id": p["id"], "status": "late", "minutes": 5}))
                    .collect();
                put_marks(&app, &teacher, id, json!(marks)).await;
            }
        }
        // and 150 confirmations to other guardians, so that there are several batches to race for
        {
            let mut c = conn(&world.pool);
            let guardians: Vec<(i64, String)> = people::table
                .filter(people::email.like("%@example.com"))
                .filter(people::school_id.is_null())
                .select((people::id, people::email.assume_not_null()))
                .order(people::id)
                .limit(150)
                .load(&mut *c)
                .unwrap();
            let now = crate::helpers::test_moment().naive_utc();
            for (g, email) in guardians {
                diesel::insert_into(outbox::table)
                    .values((
                        outbox::kind.eq("report_confirmation"),
                        outbox::dedupe_key.eq(format!("bench:{g}")),
                        outbox::recipient_id.eq(g),
                        outbox::recipient_email.eq(email),
                        outbox::payload
                            .eq(json!({"report_id": world.ids.report, "cancelled": true})
                                .to_string()),
                        outbox::due_at.eq(now),
                        outbox::created_at.eq(now),
                    ))
                    .execute(&mut *c)
                    .unwrap();
            }
        }
        let total = pending(&world);
        assert!(total > 150, "{total}");
        let (a, b) = (app.worker(), app.worker());
        let (ra, rb) = futures_join(
            worker::drain(&a, "worker-a", 100),
            worker::drain(&b, "worker-b", 100),
        )
        .await;
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ra.sent + rb.sent, total, "{ra:?} {rb:?}");
        let mails = smtp.messages();
        assert_eq!(
            mails.len(),
            total,
            "each notice reached the server once: nothing sent twice"
        );
        let mut c = conn(&world.pool);
        let sent: i64 = outbox::table
            .filter(outbox::status.eq("sent"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(sent as usize, total);
        smtp.stop();
    }
}

/// Runs two futures concurrently on this thread.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}

#[actix_web::test]
async fn staff_see_rejected_and_unreachable_guardians() {
    if !Smtp::available() {
        return;
    }
    let mut smtp = Smtp::new();
    smtp.start();
    let app = app_with_smtp(Kind::Sqlite, &smtp, Some(0)).await;
    let world = fixtures::build(&app);
    let child = world.ids.child;
    {
        let mut c = conn(&world.pool);
        let ids: Vec<i64> = guardianships::table
            .filter(guardianships::pupil_id.eq(child))
            .select(guardianships::guardian_id)
            .order(guardianships::guardian_id)
            .load(&mut *c)
            .unwrap();
        diesel::update(people::table.find(ids[0]))
            .set(people::email.eq("reject.me@example.com"))
            .execute(&mut *c)
            .unwrap();
        if let Some(second) = ids.get(1) {
            diesel::update(people::table.find(second))
                .set(people::email.eq(None::<String>))
                .execute(&mut *c)
                .unwrap();
        }
    }
    let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
    put_marks(
        &app,
        &teacher,
        world.ids.lesson,
        json!([{"pupil_id": child, "status": "absent"}]),
    )
    .await;
    let stats = worker::drain(&app.worker(), "w", 10).await.unwrap();
    assert_eq!(stats.failed, 1, "{stats:?}");
    let mut p = Browser::open(&app).await;
    p.sign_in("demo.principal", DEMO_PASSWORD).await;
    let day = p.get("/notices").await;
    assert!(
        day.body.contains("Misslyckades") && day.body.contains("550"),
        "{}",
        day.body
    );
    let rows = notices(&world, "unexplained_absence");
    if rows.len() > 1 {
        assert!(day.body.contains("Kan inte nås"), "{}", day.body);
    }
    smtp.stop();
}

#[test]
fn a_template_with_an_unknown_variable_stops_the_start_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("narvaro-badtpl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("unexplained_absence.sv.subject.txt"),
        "Frånvaro {{ datum }}",
    )
    .unwrap();
    let db = std::env::temp_dir().join(format!("narvaro-badtpl-{}.db", std::process::id()));
    let out = crate::helpers::run_binary(&["migrate"], &[("DATABASE_URL", db.to_str().unwrap())]);
    assert!(out.status.success());
    let out = crate::helpers::run_binary(
        &["send-notices"],
        &[
            ("DATABASE_URL", db.to_str().unwrap()),
            ("NARVARO_TEMPLATE_DIR", dir.to_str().unwrap()),
            ("NARVARO_MAIL_DIR", dir.to_str().unwrap()),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("unexplained_absence.sv.subject.txt") && err.contains("line 1"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    for s in ["", "-wal", "-shm", ".secret"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
    let _ = Duration::from_secs(0);
}

/// A lesson of the same activity as `lesson`, on its day, at the given school-local times.
fn another_lesson_that_day(
    world: &World,
    lesson: i64,
    starts: (u32, u32),
    ends: (u32, u32),
) -> i64 {
    let mut c = conn(&world.pool);
    let (activity, school, date): (i64, i64, chrono::NaiveDate) = lessons::table
        .find(lesson)
        .select((
            lessons::activity_id,
            lessons::school_id,
            lessons::lesson_date,
        ))
        .first(&mut *c)
        .unwrap();
    let t = |(h, m): (u32, u32)| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    diesel::insert_into(lessons::table)
        .values((
            lessons::activity_id.eq(activity),
            lessons::school_id.eq(school),
            lessons::lesson_date.eq(date),
            lessons::starts_at.eq(t(starts)),
            lessons::ends_at.eq(t(ends)),
            lessons::teaching_minutes.eq(60),
            lessons::cancelled.eq(false),
        ))
        .returning(lessons::id)
        .get_result(&mut *c)
        .unwrap()
}

fn starts_at(world: &World, lesson: i64) -> String {
    let mut c = conn(&world.pool);
    let t: chrono::NaiveTime = lessons::table
        .find(lesson)
        .select(lessons::starts_at)
        .first(&mut *c)
        .unwrap();
    t.format("%H:%M").to_string()
}

#[actix_web::test]
async fn a_second_unexplained_absence_the_same_day_reaches_the_guardians_too() {
    if !Smtp::available() {
        return;
    }
    for kind in backends() {
        let mut smtp = Smtp::new();
        smtp.start();
        let app = app_with_smtp(kind, &smtp, Some(0)).await;
        let world = fixtures::build(&app);
        let (child, first) = (world.ids.child, world.ids.lesson);
        let late = another_lesson_that_day(&world, first, (15, 40), (16, 40));
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let parents = guardian_emails(&world, child);
        let to_parents = |smtp: &Smtp| -> Vec<String> {
            smtp.messages()
                .into_iter()
                .filter(|m| {
                    parents
                        .iter()
                        .any(|e| m.contains(&format!("X-Envelope-To: {e}")))
                })
                .collect()
        };
        let w = app.worker();

        // absent in the first lesson: one notice per guardian, naming it
        put_marks(
            &app,
            &teacher,
            first,
            json!([{"pupil_id": child, "status": "absent"}]),
        )
        .await;
        worker::drain(&w, "test-worker", 10).await.unwrap();
        let mails = to_parents(&smtp);
        assert_eq!(mails.len(), parents.len(), "{kind:?}");
        let (t1, t2) = (starts_at(&world, first), starts_at(&world, late));
        assert!(mails.iter().all(|m| m.contains(&t1) && !m.contains(&t2)));

        // absent again at 15:40, after the day's notice went out: a follow-up per guardian,
        // naming only the new lesson
        put_marks(
            &app,
            &teacher,
            late,
            json!([{"pupil_id": child, "status": "absent"}]),
        )
        .await;
        worker::drain(&w, "test-worker", 10).await.unwrap();
        let mails = to_parents(&smtp);
        assert_eq!(
            mails.len(),
            2 * parents.len(),
            "{kind:?}: a follow-up per guardian"
        );
        let follow_ups: Vec<&String> = mails.iter().filter(|m| m.contains(&t2)).collect();
        assert_eq!(follow_ups.len(), parents.len());
        assert!(
            follow_ups.iter().all(|m| !m.contains(&format!("{t1}–"))),
            "a lesson already notified is not repeated"
        );
        // the roll call saved again changes nothing, and nothing more is sent
        put_marks(
            &app,
            &teacher,
            late,
            json!([{"pupil_id": child, "status": "absent"}]),
        )
        .await;
        let again = worker::drain(&w, "test-worker", 10).await.unwrap();
        assert_eq!(again.sent, 0, "{again:?}");
        assert_eq!(to_parents(&smtp).len(), 2 * parents.len());

        // the staff's page lists both notices to each guardian
        let mut p = Browser::open(&app).await;
        p.sign_in("demo.principal", DEMO_PASSWORD).await;
        let page = p.get("/notices").await;
        for e in &parents {
            assert_eq!(
                page.body.matches(e.as_str()).count(),
                2,
                "{e}: {}",
                page.body
            );
        }
        smtp.stop();
    }
}

#[actix_web::test]
async fn a_notice_made_unnecessary_is_explained_in_the_readers_language() {
    if !Smtp::available() {
        return;
    }
    let mut smtp = Smtp::new();
    smtp.start();
    let app = app_with_smtp(Kind::Sqlite, &smtp, Some(0)).await;
    let world = fixtures::build(&app);
    let (child, lesson) = (world.ids.child, world.ids.lesson);
    let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
    put_marks(
        &app,
        &teacher,
        lesson,
        json!([{"pupil_id": child, "status": "absent"}]),
    )
    .await;
    // the teacher corrects the roll call before the notice goes
    put_marks(
        &app,
        &teacher,
        lesson,
        json!([{"pupil_id": child, "status": "present"}]),
    )
    .await;
    let stats = worker::drain(&app.worker(), "test-worker", 10)
        .await
        .unwrap();
    assert!(stats.cancelled > 0, "{stats:?}");
    let mut p = Browser::open(&app).await;
    p.sign_in("demo.principal", DEMO_PASSWORD).await;
    let page = p.get("/notices").await;
    assert!(
        page.body.contains("Frånvaron blev giltig eller togs bort"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("made valid or removed"));
    smtp.stop();
}

#[actix_web::test]
async fn a_sign_in_link_request_never_talks_to_the_mail_server() {
    if !Smtp::available() {
        return;
    }
    for kind in backends() {
        let mut smtp = Smtp::new();
        smtp.start();
        let app = app_with_smtp(kind, &smtp, Some(0)).await;
        let world = fixtures::build(&app);
        let mut b = Browser::open(&app).await;
        for email in ["demo.guardian@example.com", "nobody@example.com"] {
            let page = b.post("/login/link", &[("email", email)]).await;
            assert_eq!(page.status, 200);
        }
        // the answer came before anything was sent: both requests wait in the outbox,
        // alike, whether or not the address has an account
        assert!(
            smtp.messages().is_empty(),
            "{kind:?}: the request sent mail itself"
        );
        let queued = notices(&world, "link_request");
        assert_eq!(queued.len(), 2);
        assert!(queued.iter().all(|(_, status, _, _)| status == "pending"));

        let stats = worker::drain(&app.worker(), "test-worker", 10)
            .await
            .unwrap();
        assert_eq!((stats.sent, stats.cancelled), (1, 1), "{stats:?}");
        let sent = smtp.messages();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("X-Envelope-To: demo.guardian@example.com"));
        assert!(
            sent[0].contains("Här är länken för att logga in") && sent[0].contains("/login/link/"),
            "{}",
            sent[0]
        );
        // handled requests keep no address
        let left = notices(&world, "link_request");
        assert!(
            left.iter().all(|(_, _, email, _)| email.is_none()),
            "{left:?}"
        );
        smtp.stop();
    }
}

#[actix_web::test]
async fn an_invitation_uses_an_overridden_template() {
    let dir = std::env::temp_dir().join(format!("narvaro-tpl-invite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("invitation.sv.body.txt"),
        "Välkommen, {{ given_name }}! Kommunens egen text. {{ url }}\n",
    )
    .unwrap();
    let d = dir.clone();
    let app = TestApp::spawn_with(Kind::Sqlite, move |c| c.template_dir = Some(d)).await;
    let world = fixtures::build(&app);
    let mut admin = Browser::open(&app).await;
    admin.sign_in("demo.admin", DEMO_PASSWORD).await;
    let page = fixtures::invite_teacher(
        &mut admin,
        world.ids.school1,
        ("Tove", "Mall"),
        "tove@example.com",
        "tove.mall",
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    crate::browser::deliver(&app).await;
    let mail = crate::browser::mails(&app).pop().expect("an invitation");
    assert!(
        mail.contains("Kommunens egen text") && mail.contains("/password/new/"),
        "{mail}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
