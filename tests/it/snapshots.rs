//! Snapshots of what people see, reviewed in the diff when it changes: the roll-call page
//! and the three start pages (teacher, guardian, principal), the statistics' CSV files,
//! the API's error bodies, every e-mail template in both languages (and one e-mail as the
//! outbox sends it), and the OpenAPI document's operations.
//!
//! The world is built with `crate::build` on Monday 30 November 2026 at 09:30 (the
//! service's clock is set), so nothing depends on the day the test runs. Each snapshot is
//! the same on SQLite and PostgreSQL: the test asserts one file for both. Values that are
//! new on every run (CSRF tokens, the server's port, link secrets, message headers) are
//! replaced by a placeholder first.
//!
//! A change that alters one of these fails the test with the difference; run
//! `INSTA_UPDATE=always scripts/test snapshots`, read the `.snap` diff and commit it.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

use crate::browser::{conn, deliver, mails, pool, Browser};
use crate::build::{Group, Lesson, Municipality, Person, School};
use crate::helpers::{backends, Kind, TestApp};
use narvaro::i18n::Lang;

const PASSWORD: &str = "ett-långt-lösenord-för-test";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

struct World {
    class: i64,
    school: i64,
    alva: i64,
    bo: i64,
    maths: i64,
}

/// Ekskolan in Exempelby: class 7A (Alva Ek, Bo Berg, and Cleo Dahl with a protected
/// identity), Alva's guardian Karin Ek, the teacher and mentor Tove Lind, the principal
/// Rut Sjö; mathematics and Swedish today, mathematics a week ago.
async fn world(kind: Kind) -> (TestApp, World) {
    let moment = Utc.with_ymd_and_hms(2026, 11, 30, 8, 30, 0).unwrap();
    let app = TestApp::spawn_with(kind, |c| {
        c.clock = narvaro::school::clock::Clock::starting_at(moment);
        // notices go as soon as the roll call is saved
        c.notice_delay_minutes = Some(0);
    })
    .await;
    let pool = pool(&app);
    let mut c = conn(&pool);
    let c = &mut *c;
    let muni = Municipality::new("Exempelby kommun").insert(c);
    let school = School::new("Ekskolan", muni).alert_threshold(20).insert(c);
    // the school's threshold notice as the migration made it: a rule of the school, 20 %
    // over 30 days, e-mailed to the mentor and the principal
    use diesel::prelude::*;
    use narvaro::schema::signal_rules;
    diesel::insert_into(signal_rules::table)
        .values((
            signal_rules::organisation_id.eq(school),
            signal_rules::kind.eq("share"),
            signal_rules::counts.eq("all"),
            signal_rules::window_days.eq(30),
            signal_rules::share_pct.eq(Some(20)),
            signal_rules::tell_mentor.eq(true),
            signal_rules::tell_principal.eq(true),
            signal_rules::send_email.eq(true),
            signal_rules::active.eq(true),
            signal_rules::created_at.eq(moment.naive_utc()),
        ))
        .execute(c)
        .unwrap();
    let class = Group::class("7A", school, 7).insert(c);
    let teacher = Person::new("Tove", "Lind")
        .email("tove.lind@exempelby.se")
        .account("tove.lind", PASSWORD)
        .duty(school, "teacher", None)
        .duty(school, "mentor", Some(class))
        .insert(c);
    Person::new("Rut", "Sjö")
        .email("rut.sjo@exempelby.se")
        .account("rut.sjo", PASSWORD)
        .duty(school, "principal", None)
        .insert(c);
    let karin = Person::new("Karin", "Ek")
        .email("karin.ek@example.se")
        .account("karin.ek", PASSWORD)
        .insert(c);
    let alva = Person::new("Alva", "Ek")
        .pupil_at(school)
        .born(day("2013-03-14"))
        .in_group(class)
        .with_guardian(karin)
        .insert(c);
    let bo = Person::new("Bo", "Berg")
        .pupil_at(school)
        .born(day("2013-06-02"))
        .in_group(class)
        .insert(c);
    Person::new("Cleo", "Dahl")
        .pupil_at(school)
        .protected()
        .in_group(class)
        .insert(c);
    // the administrator last, so that the others keep the ids the older snapshots name
    Person::new("Ada", "Holm")
        .email("ada.holm@exempelby.se")
        .account("ada.holm", PASSWORD)
        .duty(muni, "admin", None)
        .insert(c);
    let (_, maths) = Lesson::new(
        school,
        ("MA", "Matematik"),
        day("2026-11-30"),
        "08:00",
        "09:00",
    )
    .group(class)
    .teacher(teacher)
    .room("B12")
    .insert(c);
    Lesson::new(
        school,
        ("SV", "Svenska"),
        day("2026-11-30"),
        "10:00",
        "11:00",
    )
    .group(class)
    .teacher(teacher)
    .insert(c);
    Lesson::new(
        school,
        ("MA", "Matematik"),
        day("2026-11-23"),
        "08:00",
        "09:00",
    )
    .group(class)
    .teacher(teacher)
    .insert(c);
    // the lessons were written directly: the statistics learn of them as after an import
    narvaro::insight::statistics::store::rebuild(
        c,
        chrono_tz::Europe::Stockholm,
        narvaro::school::ids::SchoolId(school),
        day("2026-11-23"),
        day("2026-11-30"),
    )
    .unwrap();
    let w = World {
        class,
        school,
        alva,
        bo,
        maths,
    };
    (app, w)
}

/// The page or file with what changes on every run replaced.
fn steady(app: &TestApp, text: &str) -> String {
    let escaped = app.address.replace('/', "&#x2f;");
    let mut out = text
        .replace(&app.address, "http://närvaro.test")
        .replace(&escaped, "http:&#x2f;&#x2f;närvaro.test");
    for marker in ["name=\"_csrf\" value=\"", "name=\"csrf\" content=\""] {
        let mut from = 0;
        while let Some(at) = out[from..].find(marker) {
            let start = from + at + marker.len();
            let end = start + out[start..].find('"').unwrap_or(0);
            out.replace_range(start..end, "[csrf]");
            from = start;
        }
    }
    out
}

/// A page one element per line, so that a change reads as a diff of lines.
fn html_lines(html: &str) -> String {
    html.replace("><", ">\n<")
}

async fn signed_in(app: &TestApp, username: &str) -> Browser {
    let mut b = Browser::open(app).await;
    b.sign_in(username, PASSWORD).await;
    b
}

/// `insta::assert_snapshot!` with one name for both backends.
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[actix_web::test]
async fn pages_people_start_from() {
    for kind in backends() {
        let (app, w) = world(kind).await;
        let mut teacher = signed_in(&app, "tove.lind").await;
        let page = teacher.get("/").await;
        assert_eq!(page.status, 200);
        snap!("start_page_teacher", html_lines(&steady(&app, &page.body)));
        let page = teacher.get(&format!("/lessons/{}", w.maths)).await;
        assert_eq!(page.status, 200);
        snap!("roll_call_page", html_lines(&steady(&app, &page.body)));

        let mut guardian = signed_in(&app, "karin.ek").await;
        let page = guardian.get("/").await;
        assert_eq!(page.status, 200);
        snap!("start_page_guardian", html_lines(&steady(&app, &page.body)));

        let mut principal = signed_in(&app, "rut.sjo").await;
        let page = principal.get("/").await;
        assert_eq!(page.status, 200);
        snap!(
            "start_page_principal",
            html_lines(&steady(&app, &page.body))
        );
    }
}

/// The pages the school office, the principal and the administrator work on, added since
/// the first snapshots: the day page, trips, reasons, settings, the audit log (a period
/// without rows, since its rows carry the time they were written) and /admin.
#[actix_web::test]
async fn pages_the_office_and_the_administrator_work_on() {
    for kind in backends() {
        let (app, w) = world(kind).await;
        let mut principal = signed_in(&app, "rut.sjo").await;
        let school = w.school;
        for (name, path) in [
            ("day_page", format!("/schools/{school}/day")),
            ("trips_page", format!("/schools/{school}/trips")),
            ("school_reasons_page", format!("/schools/{school}/reasons")),
            (
                "school_settings_page",
                format!("/schools/{school}/settings"),
            ),
            (
                "audit_page",
                "/audit?from=2026-11-01&to=2026-11-02".to_string(),
            ),
        ] {
            let page = principal.get(&path).await;
            assert_eq!(page.status, 200, "{kind:?} {path}: {}", page.body);
            snap!(name, html_lines(&steady(&app, &page.body)));
        }
        let mut admin = signed_in(&app, "ada.holm").await;
        for (name, path) in [
            ("admin_page", "/admin"),
            ("admin_reasons_page", "/admin/reasons"),
        ] {
            let page = admin.get(path).await;
            assert_eq!(page.status, 200, "{kind:?} {path}: {}", page.body);
            snap!(name, html_lines(&steady(&app, &page.body)));
        }
    }
}

/// Every stored snapshot is one a test still takes: a page that was removed or renamed
/// leaves no stale file behind to be reviewed by nobody.
#[test]
fn every_stored_snapshot_is_taken_by_a_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots.rs"),
    )
    .unwrap();
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".snap.new") {
            stale.push(format!("{name} (an unreviewed new snapshot)"));
            continue;
        }
        let Some(stem) = name.strip_suffix(".snap") else {
            continue;
        };
        if !source.contains(&format!("\"{stem}\"")) {
            stale.push(name.to_string());
        }
    }
    assert!(stale.is_empty(), "snapshots no test takes: {stale:?}");
}

#[actix_web::test]
async fn statistics_files_and_the_notice_a_guardian_gets() {
    for kind in backends() {
        let (app, w) = world(kind).await;
        let mut teacher = signed_in(&app, "tove.lind").await;
        // Alva absent (her guardian hears of it), Bo ten minutes late
        let alva = format!("s{}", w.alva);
        let bo = format!("s{}", w.bo);
        let bo_minutes = format!("m{}", w.bo);
        let done = teacher
            .post(
                &format!("/lessons/{}", w.maths),
                &[
                    ("version", "0"),
                    (&alva, "a"),
                    (&bo, "l"),
                    (&bo_minutes, "10"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let mut principal = signed_in(&app, "rut.sjo").await;
        let period = format!(
            "school={}&period=custom&from=2026-11-23&to=2026-11-30",
            w.school
        );
        for (name, path) in [
            (
                "statistics_classes_csv",
                format!("/statistics?{period}&csv=classes"),
            ),
            (
                "statistics_weeks_csv",
                format!("/statistics?{period}&csv=weeks"),
            ),
            (
                "statistics_pupils_over_csv",
                format!("/statistics/pupils?{period}&threshold=5&csv=pupils"),
            ),
            (
                "statistics_class_pupils_csv",
                format!(
                    "/statistics/groups/{}?period=custom&from=2026-11-23&to=2026-11-30&csv=pupils",
                    w.class
                ),
            ),
        ] {
            let file = principal.get(&path).await;
            assert_eq!(file.status, 200, "{path}: {}", file.body);
            snap!(name, steady(&app, &file.body));
        }

        deliver(&app).await;
        // Karin hears of Alva's absence; Alva is over the threshold, so her mentor and
        // the principal hear of that
        let mut sent: Vec<String> = mails(&app).iter().map(|m| steady_mail(&app, m)).collect();
        sent.sort_by_key(|m| m.lines().find(|l| l.starts_with("To:")).map(str::to_string));
        assert_eq!(sent.len(), 3, "{sent:#?}");
        snap!("mails_after_a_roll_call", sent.join("\n\n========\n\n"));
    }
}

/// An e-mail as written, without the headers that differ per message (the date, the
/// message id, the part boundary) and with the confirmation link's secret replaced.
fn steady_mail(app: &TestApp, raw: &str) -> String {
    let mut out = Vec::new();
    for line in steady(app, raw).lines() {
        let l = line.to_ascii_lowercase();
        if ["date:", "message-id:"].iter().any(|h| l.starts_with(h)) {
            continue;
        }
        // the confirmation link's signature and expiry
        let line = match line.find("seen?exp=") {
            Some(at) => {
                let end = line[at..]
                    .find(['"', ' ', '<'])
                    .map_or(line.len(), |e| at + e);
                format!("{}seen?[signed]{}", &line[..at], &line[end..])
            }
            None => line.to_string(),
        };
        let line = if line.contains("boundary") || line.starts_with("--") {
            "[boundary]".to_string()
        } else {
            line
        };
        out.push(line);
    }
    out.join("\n")
}

#[actix_web::test]
async fn error_bodies() {
    for kind in backends() {
        let (app, w) = world(kind).await;
        let mut teacher = signed_in(&app, "tove.lind").await;
        let token = crate::browser::api_token(&app, "tove.lind", PASSWORD).await;
        let mut out = String::new();
        let cases: Vec<(&str, String, Option<Value>)> = vec![
            ("no token", "/api/v1/lessons".into(), None),
            (
                "an id that is no number",
                "/api/v1/lessons/abc".into(),
                None,
            ),
            (
                "a lesson out of reach",
                "/api/v1/lessons/999999".into(),
                None,
            ),
            ("a bad date", "/api/v1/lessons?date=30/11".into(), None),
            (
                "a mark for a pupil not in the lesson",
                format!("/api/v1/lessons/{}/roll-call", w.maths),
                Some(json!({"marks": [{"pupil_id": 999999, "status": "absent"}]})),
            ),
            (
                "late without minutes",
                format!("/api/v1/lessons/{}/roll-call", w.maths),
                Some(json!({"marks": [{"pupil_id": w.bo, "status": "late"}]})),
            ),
            (
                "a control character",
                format!("/api/v1/lessons/{}/roll-call", w.maths),
                Some(json!({"marks": [], "correction_reason": "a\u{7}b"})),
            ),
        ];
        for (what, path, body) in cases {
            let mut req = match body {
                Some(_) => app.client.put(app.url(&path)),
                None => app.client.get(app.url(&path)),
            };
            if what != "no token" {
                req = req.insert_header(("Authorization", format!("Bearer {token}")));
            }
            req = req.insert_header(("Accept-Language", "sv"));
            let mut res = match &body {
                Some(b) => req.send_json(b).await.unwrap(),
                None => req.send().await.unwrap(),
            };
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let bytes = res.body().await.unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let pretty = serde_json::from_str::<Value>(&text)
                .map(|v| serde_json::to_string_pretty(&v).unwrap())
                .unwrap_or_else(|_| text.to_string());
            out.push_str(&format!(
                "## {what}\n{} {path}\n{status} {content_type}\n{pretty}\n\n",
                if body.is_some() { "PUT" } else { "GET" }
            ));
        }
        // and one as a page: a form's wrong value says so in the reader's language
        let page = teacher
            .post(&format!("/lessons/{}", w.maths), &[("version", "x")])
            .await;
        out.push_str(&format!(
            "## a roll-call form with a broken version (HTML)\n{}\n",
            page.status.as_u16()
        ));
        let main = page
            .body
            .split("<main")
            .nth(1)
            .and_then(|m| m.split("</main>").next())
            .map(|m| format!("<main{m}</main>"))
            .unwrap_or_else(|| page.body.clone());
        out.push_str(&html_lines(main.trim()));
        out.push('\n');
        snap!("error_bodies", steady(&app, &out));
    }
}

/// Every e-mail template in both languages, rendered with the contexts the outbox gives
/// them (a protected pupil's notice names no one).
#[test]
fn every_email_template_in_both_languages() {
    let t = narvaro::notices::templates::Templates::load(None).unwrap();
    let mut out = String::new();
    for lang in [Lang::Sv, Lang::En] {
        for (kind, ctx) in contexts(lang) {
            let r = t.render(kind, lang.code(), &ctx).unwrap();
            out.push_str(&format!(
                "==== {kind}.{} (protected: {}, cancelled/approved: {})\nSubject: {}\n---- text\n{}\n---- html\n{}\n\n",
                lang.code(),
                ctx["protected"].as_bool().unwrap_or(false),
                ctx.get("cancelled").or(ctx.get("approved")).and_then(Value::as_bool).map_or("-".to_string(), |b| b.to_string()),
                r.subject,
                r.text.trim_end(),
                r.html.trim_end(),
            ));
        }
    }
    snap!("email_templates", out);
}

/// What the outbox gives each template, in the recipient's language.
fn contexts(lang: Lang) -> Vec<(&'static str, Value)> {
    let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    let today = lang.day(day("2026-11-30"));
    let whole_day = lang.span(at("2026-12-01 00:00"), at("2026-12-02 00:00"));
    let leave = lang.days(day("2026-12-14"), day("2026-12-16"));
    let (absent, late) = (lang.pick("Frånvarande", "Absent"), lang.pick("Sen", "Late"));
    vec![
        (
            "unexplained_absence",
            json!({
                "guardian_name": "Karin", "child_name": "Alva Ek", "protected": false, "date": today,
                "lessons": [
                    {"starts_at": "08:00", "ends_at": "09:00", "subject": "Matematik", "status": absent, "minutes": null},
                    {"starts_at": "10:00", "ends_at": "11:00", "subject": "Svenska", "status": late, "minutes": 10}
                ],
                "confirm_url": "http://närvaro.test/notices/1/seen?[signed]", "refused_leave": false,
            }),
        ),
        (
            "unexplained_absence",
            json!({
                "guardian_name": "Karin", "child_name": null, "protected": true, "date": today,
                "lessons": [], "confirm_url": "http://närvaro.test/notices/1/seen?[signed]", "refused_leave": true,
            }),
        ),
        (
            "report_confirmation",
            json!({"guardian_name": "Karin", "child_name": "Alva Ek", "protected": false, "from": "2026-12-01 00:00", "to": "2026-12-02 00:00", "period": whole_day, "cancelled": false, "pupil_url": "http://127.0.0.1:8080/pupils/7"}),
        ),
        (
            "report_confirmation",
            json!({"guardian_name": "Karin", "child_name": "Alva Ek", "protected": false, "from": "2026-12-01 00:00", "to": "2026-12-02 00:00", "period": whole_day, "cancelled": true, "pupil_url": "http://127.0.0.1:8080/pupils/7"}),
        ),
        (
            "leave_decision",
            json!({"guardian_name": "Karin", "child_name": "Alva Ek", "protected": false, "start_date": "2026-12-14", "end_date": "2026-12-16", "period": leave, "approved": true, "declined": false, "comment": "Trevlig resa.", "delegated": 10, "pupil_url": "http://127.0.0.1:8080/pupils/7"}),
        ),
        (
            "leave_decision",
            json!({"guardian_name": "Karin", "child_name": null, "protected": true, "start_date": "2026-12-14", "end_date": "2026-12-16", "period": leave, "approved": false, "declined": false, "comment": null, "delegated": null, "pupil_url": "http://127.0.0.1:8080/pupils/7"}),
        ),
        // the other guardian declined (issue 39): no decision, no comment in the e-mail
        (
            "leave_decision",
            json!({"guardian_name": "Karin", "child_name": "Alva Ek", "protected": false, "start_date": "2026-12-14", "end_date": "2026-12-16", "period": leave, "approved": false, "declined": true, "comment": null, "delegated": null, "pupil_url": "http://127.0.0.1:8080/pupils/7"}),
        ),
        (
            "leave_confirmation",
            json!({"guardian_name": "Kim", "child_name": "Alva Ek", "protected": false, "period": leave, "answer_url": "http://127.0.0.1:8080/leave-applications/7/answer"}),
        ),
        (
            "leave_confirmation",
            json!({"guardian_name": "Kim", "child_name": null, "protected": true, "period": leave, "answer_url": "http://127.0.0.1:8080/leave-applications/7/answer"}),
        ),
        (
            "threshold_alert",
            json!({"staff_name": "Tove", "pupil_label": "Bo Berg", "percent": "16", "threshold": 15, "days": 30, "pupil_url": "http://närvaro.test/pupils/5"}),
        ),
        (
            "sign_in_link",
            json!({"given_name": "Karin", "url": "http://närvaro.test/login/link/[secret]"}),
        ),
        (
            "password_reset",
            json!({"given_name": "Karin", "url": "http://närvaro.test/password/new/[secret]"}),
        ),
        (
            "invitation",
            json!({"given_name": "Tove", "url": "http://närvaro.test/password/new/[secret]"}),
        ),
    ]
}

/// The OpenAPI document's operations: method, path and the answers each documents.
#[test]
fn openapi_operations() {
    let doc = crate::openapi::document();
    let mut out = String::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "put", "post", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let mut codes: Vec<&str> = op["responses"]
                    .as_object()
                    .map(|r| r.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                codes.sort_unstable();
                out.push_str(&format!(
                    "{} {path} [{}] {}\n",
                    method.to_uppercase(),
                    op["operationId"].as_str().unwrap_or("-"),
                    codes.join(" ")
                ));
            }
        }
    }
    snap!("openapi_operations", out);
}
