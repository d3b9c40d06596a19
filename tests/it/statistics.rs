//! Statistics on a school built by hand, on both databases: exact minutes and shares with a
//! cancelled lesson, a pupil who changes class mid-period, a late arrival, a guardian's
//! report, a lesson not reported yet, and a reason that is not absence; the page, the API
//! and the CSV give the same figures; the per-day sums equal a fresh computation.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{api_get, api_token, conn, pool, Browser, Uuids};
use crate::build::{Activity, Group, Lesson, Municipality, Person, School as BSchool};
use crate::helpers::{backends, TestApp};
use narvaro::interop::ss12000::uuid::attendance;
use narvaro::school::ids::{LessonId, PupilId, SchoolId};

/// The attendance record id of a pupil on a lesson (the database's numbers).
fn attendance_id(lesson: i64, pupil: i64) -> String {
    attendance(LessonId(lesson), PupilId(pupil))
}

const PASSWORD: &str = "statistik-test-1";

struct School {
    id: i64,
    other_school: i64,
    class_a: i64,
    class_b: i64,
    p1: i64,
    p2: i64,
    p3: i64,
    /// Monday, Tuesday, Wednesday of the week two weeks ago
    mon: NaiveDate,
    wed: NaiveDate,
    /// Mon A maths, Mon A Swedish (cancelled), Tue A maths, Tue B maths, Wed A English
    lessons: [i64; 5],
    math_a: i64,
    english_a: i64,
    math_b: i64,
    remote: i64,
}

/// A municipality with an upper secondary school: classes A and B, a principal and a
/// teacher, three pupils (P3 moves from A to B on Tuesday), and a second school with its
/// own principal.
fn build(c: &mut DbConn) -> School {
    let today = crate::helpers::test_today();
    let mon = today - Duration::days(today.weekday().num_days_from_monday() as i64 + 14);
    let (tue, wed) = (mon + Duration::days(1), mon + Duration::days(2));
    let start = mon - Duration::days(30);
    let muni = Municipality::new("Testkommun").insert(c);
    let school = BSchool::new("Testgymnasiet", muni)
        .form("gymnasieskola")
        .insert(c);
    let other_school = BSchool::new("Andra skolan", muni).insert(c);
    let staff = |given: &str, user: &str, org: i64, role: &'static str| {
        Person::new(given, "Testsson")
            .account(user, PASSWORD)
            .duty_from(org, role, None, start)
    };
    let principal = staff("Rektor", "stat.principal", school, "principal").insert(c);
    staff("Annan", "stat.other", other_school, "principal").insert(c);
    staff("Admin", "stat.admin", muni, "admin").insert(c);
    let teacher = staff("Lärare", "stat.teacher", school, "teacher").insert(c);
    let class_a = Group::class("TE1A", school, 1).insert(c);
    let class_b = Group::class("TE1B", school, 1).insert(c);
    let pupil = |given: &str| Person::new(given, "Testsson").pupil_at(school);
    let p1 = pupil("Pia")
        .sex("F")
        .in_group_during(class_a, start, None)
        .insert(c);
    let p2 = pupil("Per")
        .sex("M")
        .in_group_during(class_a, start, None)
        .insert(c);
    let p3 = pupil("Kim")
        .in_group_during(class_a, start, Some(mon))
        .in_group_during(class_b, tue, None)
        .insert(c);
    let activity =
        |class: i64, subject| Activity::new(school, subject).group(class).teacher(teacher);
    let math_a = activity(class_a, ("MATMAT01c", "Matematik 1c")).insert(c);
    let swedish_a = activity(class_a, ("SVESVE01", "Svenska 1")).insert(c);
    let english_a = activity(class_a, ("ENGENG05", "Engelska 5")).insert(c);
    let math_b = activity(class_b, ("MATMAT01c", "Matematik 1c")).insert(c);
    let lessons = [
        Lesson::of(math_a, school, mon, "08:00", "09:00")
            .insert(c)
            .1,
        Lesson::of(swedish_a, school, mon, "10:00", "11:00")
            .cancelled()
            .insert(c)
            .1,
        Lesson::of(math_a, school, tue, "08:00", "09:00")
            .insert(c)
            .1,
        Lesson::of(math_b, school, tue, "10:00", "11:00")
            .insert(c)
            .1,
        Lesson::of(english_a, school, wed, "09:00", "09:40")
            .insert(c)
            .1,
    ];
    // the municipality's default reasons: illness counts as valid absence, taking part
    // remotely is valid and not absence
    let reason = |c: &mut DbConn, code: &str| -> i64 {
        absence_reasons::table
            .filter(absence_reasons::organisation_id.eq(muni))
            .filter(absence_reasons::code.eq(code))
            .select(absence_reasons::id)
            .first(c)
            .unwrap()
    };
    let remote = reason(c, "DISTANS");
    // P1's guardian reported Tuesday morning sick (08:00–09:00 local covers Tue maths)
    let sick = reason(c, "SJUK");
    let tz = chrono_tz::Europe::Stockholm;
    let (s, e) = narvaro::school::calendar::utc_window(
        tz,
        tue,
        NaiveTime::MIN,
        NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
    );
    diesel::insert_into(absence_reports::table)
        .values((
            absence_reports::pupil_id.eq(p1),
            absence_reports::starts_at.eq(s),
            absence_reports::ends_at.eq(e),
            absence_reports::reason_id.eq(sick),
            absence_reports::reported_by.eq(principal),
            absence_reports::registered_by_staff.eq(true),
            absence_reports::created_at.eq(s),
        ))
        .execute(c)
        .unwrap();
    // as an import of the timetable does: the statistics' per-day sums of the school
    c.transaction(|c| {
        narvaro::insight::statistics::store::rebuild(c, tz, SchoolId(school), start, wed)
    })
    .unwrap();
    School {
        id: school,
        other_school,
        class_a,
        class_b,
        p1,
        p2,
        p3,
        mon,
        wed,
        lessons,
        math_a,
        english_a,
        math_b,
        remote,
    }
}

async fn roll_call(app: &TestApp, token: &str, lesson: i64, marks: Value) {
    let mut res = app
        .client
        .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&json!({ "marks": marks }))
        .await
        .unwrap();
    let body: Value = res.json().limit(1 << 20).await.unwrap_or(Value::Null);
    assert_eq!(res.status(), 200, "roll call of lesson {lesson}: {body}");
}

fn minutes(v: &Value) -> (i64, i64, i64, i64) {
    (
        v["scheduled_minutes"].as_i64().unwrap(),
        v["reported_minutes"].as_i64().unwrap(),
        v["valid_minutes"].as_i64().unwrap(),
        v["invalid_minutes"].as_i64().unwrap(),
    )
}

fn row(body: &Value, key: Value) -> &Value {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {body}"))
}

/// CSV lines (without the byte-order mark) as cells.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    assert!(body.starts_with('\u{feff}'), "the CSV starts with a BOM");
    body.trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(';').map(str::to_string).collect())
        .collect()
}

#[actix_web::test]
async fn figures_are_exact_to_the_minute_and_page_api_and_csv_agree() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let s = build(&mut conn(&pool));
        let uuids = Uuids::load(&pool);
        let teacher = api_token(&app, "stat.teacher", PASSWORD).await;
        let principal = api_token(&app, "stat.principal", PASSWORD).await;
        let (from, to) = (s.mon, s.wed);
        let q = |scope: &str, id: i64, by: &str| {
            format!("/api/v1/statistics/absence?scope={scope}&id={id}&from={from}&to={to}&by={by}")
        };

        // before any roll call: everything scheduled, nothing reported or absent
        let (status, before) = api_get(&app, Some(&principal), &q("school", s.id, "total")).await;
        assert_eq!(status, 200, "{before}");
        assert_eq!(minutes(&before["total"]), (440, 0, 0, 0), "{before}");

        // Monday maths: P1 absent without a reason, P2 ten minutes late
        roll_call(
            &app,
            &teacher,
            s.lessons[0],
            json!([
                {"pupil_id": s.p1, "status": "absent"},
                {"pupil_id": s.p2, "status": "late", "minutes": 10},
            ]),
        )
        .await;
        // the figures are live: the roll call is in them at once
        let (_, live) = api_get(&app, Some(&principal), &q("school", s.id, "total")).await;
        assert_eq!(minutes(&live["total"]), (440, 180, 0, 70), "{live}");
        // Tuesday maths in A: P1 is covered by the report (pre-marked, valid); P3 is in B now
        roll_call(&app, &teacher, s.lessons[2], json!([])).await;
        // Tuesday maths in B: P3 left 15 minutes early without a reason
        roll_call(
            &app,
            &teacher,
            s.lessons[3],
            json!([
                {"pupil_id": s.p3, "status": "left_early", "minutes": 15},
            ]),
        )
        .await;
        // the cancelled lesson cannot be reported; Wednesday English stays unreported

        // per school: 440 scheduled (the cancelled lesson is not), 360 reported
        let (status, total) = api_get(&app, Some(&principal), &q("school", s.id, "total")).await;
        assert_eq!(status, 200, "{total}");
        assert_eq!(minutes(&total["total"]), (440, 360, 60, 85), "{total}");
        assert_eq!(total["total"]["absence_pct"], 33.0);
        assert_eq!(total["total"]["valid_pct"], 13.6);
        assert_eq!(total["total"]["invalid_pct"], 19.3);
        assert_eq!(total["total"]["reporting_rate"], 81.8);

        // per pupil: P3 counts Monday in A and Tuesday in B
        let (_, by_pupil) = api_get(&app, Some(&principal), &q("school", s.id, "pupil")).await;
        assert_eq!(minutes(row(&by_pupil, json!(s.p1))), (160, 120, 60, 60));
        assert_eq!(row(&by_pupil, json!(s.p1))["absence_pct"], 75.0);
        assert_eq!(minutes(row(&by_pupil, json!(s.p2))), (160, 120, 0, 10));
        assert_eq!(row(&by_pupil, json!(s.p2))["absence_pct"], 6.3);
        assert_eq!(minutes(row(&by_pupil, json!(s.p3))), (120, 120, 0, 15));
        assert_eq!(row(&by_pupil, json!(s.p3))["absence_pct"], 12.5);

        // per class: the membership on each day decides
        let (_, by_group) = api_get(&app, Some(&principal), &q("school", s.id, "group")).await;
        assert_eq!(
            minutes(row(&by_group, json!(s.class_a))),
            (380, 300, 60, 70)
        );
        assert_eq!(minutes(row(&by_group, json!(s.class_b))), (60, 60, 0, 15));
        // a class's own figures count a pupil only while in it
        let (_, a) = api_get(&app, Some(&principal), &q("group", s.class_a, "pupil")).await;
        assert_eq!(minutes(&a["total"]), (380, 300, 60, 70));
        assert_eq!(minutes(row(&a, json!(s.p3))), (60, 60, 0, 0));

        // per subject, weekday and sex
        let (_, by_subject) = api_get(&app, Some(&principal), &q("school", s.id, "subject")).await;
        assert_eq!(
            minutes(row(&by_subject, json!("MATMAT01c"))),
            (360, 360, 60, 85)
        );
        assert_eq!(minutes(row(&by_subject, json!("ENGENG05"))), (80, 0, 0, 0));
        assert_eq!(
            by_subject["rows"].as_array().unwrap().len(),
            2,
            "no row for the cancelled lesson's subject"
        );
        let (_, by_weekday) = api_get(&app, Some(&principal), &q("school", s.id, "weekday")).await;
        assert_eq!(minutes(row(&by_weekday, json!(1))), (180, 180, 0, 70));
        assert_eq!(minutes(row(&by_weekday, json!(2))), (180, 180, 60, 15));
        assert_eq!(minutes(row(&by_weekday, json!(3))), (80, 0, 0, 0));
        let (_, by_sex) = api_get(&app, Some(&principal), &q("school", s.id, "sex")).await;
        assert_eq!(minutes(row(&by_sex, json!("F"))), (160, 120, 60, 60));
        assert_eq!(minutes(row(&by_sex, json!("M"))), (160, 120, 0, 10));
        assert_eq!(minutes(row(&by_sex, json!(""))), (120, 120, 0, 15));
        let week = s.mon.iso_week();
        let (_, by_week) = api_get(&app, Some(&principal), &q("school", s.id, "week")).await;
        let wk = format!("{}-W{:02}", week.year(), week.week());
        assert_eq!(minutes(row(&by_week, json!(wk))), (440, 360, 60, 85));
        // one pupil
        let (_, one) = api_get(&app, Some(&principal), &q("pupil", s.p3, "subject")).await;
        assert_eq!(minutes(&one["total"]), (120, 120, 0, 15));

        // SS 12000 AggregatedAttendance: per activity and pupil
        let (status, agg) = api_get(
            &app,
            Some(&principal),
            &format!("/api/v1/statistics/aggregated-attendance?startDate={from}&endDate={to}&organisation={}", s.id),
        )
        .await;
        assert_eq!(status, 200, "{agg}");
        let find = |activity: i64, pupil: i64| -> Value {
            agg["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| {
                    uuids.id(&r["activity"]) == Some(activity)
                        && uuids.id(&r["student"]) == Some(pupil)
                })
                .cloned()
                .unwrap_or_else(|| panic!("no {activity}/{pupil} in {agg}"))
        };
        let p1_math = find(s.math_a, s.p1);
        assert_eq!(
            (
                p1_math["offeredSum"].as_i64(),
                p1_math["reportedSum"].as_i64(),
                p1_math["validAbsenceSum"].as_i64(),
                p1_math["invalidAbsenceSum"].as_i64(),
                p1_math["attendanceSum"].as_i64()
            ),
            (Some(120), Some(120), Some(60), Some(60), Some(0))
        );
        let p2_math = find(s.math_a, s.p2);
        assert_eq!(p2_math["attendanceSum"], 110);
        let p1_english = find(s.english_a, s.p1);
        assert_eq!(
            (
                p1_english["offeredSum"].as_i64(),
                p1_english["reportedSum"].as_i64()
            ),
            (Some(40), Some(0))
        );
        let p3_math_b = find(s.math_b, s.p3);
        assert_eq!(
            (
                p3_math_b["offeredSum"].as_i64(),
                p3_math_b["invalidAbsenceSum"].as_i64(),
                p3_math_b["attendanceSum"].as_i64()
            ),
            (Some(60), Some(15), Some(45))
        );
        assert_eq!(agg["data"].as_array().unwrap().len(), 6, "{agg}");

        // the page and the CSV say the same
        let mut b = Browser::open(&app).await;
        b.sign_in("stat.principal", PASSWORD).await;
        let period = format!("period=custom&from={from}&to={to}");
        let page = b
            .get(&format!("/statistics?school={}&{period}", s.id))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        for shown in [
            "33,0 %", "13,6 %", "19,3 %", "81,8 %", "TE1A", "TE1B", "<svg",
        ] {
            assert!(page.body.contains(shown), "the dashboard shows {shown}");
        }
        let csv = b
            .get(&format!(
                "/statistics/pupils?school={}&{period}&threshold=1&csv=pupils",
                s.id
            ))
            .await;
        assert_eq!(csv.status, 200);
        let lines = csv_rows(&csv.body);
        assert_eq!(lines[0][..2], ["Elev", "Klass"]);
        let pia = lines
            .iter()
            .find(|l| l[0] == "Pia Testsson")
            .expect("Pia in the CSV");
        assert_eq!(
            &pia[1..],
            ["TE1A", "75,0", "37,5", "37,5", "75,0", "160", "120", "60", "60", "0"]
        );
        let kim = lines
            .iter()
            .find(|l| l[0] == "Kim Testsson")
            .expect("Kim in the CSV");
        assert_eq!(
            &kim[2..],
            ["12,5", "0,0", "12,5", "100,0", "120", "120", "0", "15", "0"]
        );
        // the threshold list: 10 % leaves out Per (6.3 %)
        let over = b
            .get(&format!(
                "/statistics/pupils?school={}&{period}&threshold=10",
                s.id
            ))
            .await;
        assert!(over.body.contains("Pia Testsson") && over.body.contains("Kim Testsson"));
        assert!(!over.body.contains("Per Testsson"), "6.3 % is under 10 %");
        let classes = b
            .get(&format!("/statistics?school={}&{period}&csv=classes", s.id))
            .await;
        let lines = csv_rows(&classes.body);
        let a_line = lines.iter().find(|l| l[0] == "TE1A").unwrap();
        assert_eq!(&a_line[5..], ["380", "300", "60", "70", "0"]);
        // drill-down: class → pupil → lessons
        let class_page = b
            .get(&format!("/statistics/groups/{}?{period}", s.class_a))
            .await;
        assert_eq!(class_page.status, 200);
        assert!(class_page
            .body
            .contains(&format!("/statistics/pupils/{}", s.p3)));
        let pupil_page = b
            .get(&format!("/statistics/pupils/{}?{period}&csv=lessons", s.p1))
            .await;
        let lessons = csv_rows(&pupil_page.body);
        assert_eq!(
            lessons.len(),
            3,
            "a header and P1's two marked lessons: {lessons:?}"
        );
        // unreported lessons: Wednesday English, for the teacher
        let unreported = b
            .get(&format!(
                "/statistics/unreported?school={}&{period}&csv=teachers",
                s.id
            ))
            .await;
        let lines = csv_rows(&unreported.body);
        assert_eq!(lines[1][..3], ["Lärare Testsson", "1", "40"]);
        // CSN: nobody reaches 4 hours of invalid absence in the month
        let month = format!("{:04}-{:02}", s.mon.year(), s.mon.month());
        let csn = b
            .get(&format!("/statistics/csn?school={}&month={month}", s.id))
            .await;
        assert_eq!(csn.status, 200);
        assert!(csn.body.contains("Ingen elev når gränsen"), "{}", csn.body);

        // the stored per-day sums equal a fresh computation from the marks
        let mut c = conn(&pool);
        let tz = chrono_tz::Europe::Stockholm;
        let stored = narvaro::insight::statistics::store::stored(&mut c, SchoolId(s.id)).unwrap();
        let fresh = narvaro::insight::statistics::store::computed(
            &mut c,
            tz,
            SchoolId(s.id),
            s.mon - Duration::days(60),
            s.mon + Duration::days(60),
        )
        .unwrap();
        assert_eq!(stored, fresh);
        drop(c);

        // a reason that is not absence counts as neither, and a granted change is live:
        // the teacher corrects P3's mark in B to "taking part remotely"
        let mut res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{}/roll-call", s.lessons[3])))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({"marks": [{"pupil_id": s.p3, "status": "absent", "reason_id": s.remote}], "correction_reason": "Deltog på distans"}))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{:?}", res.body().await);
        let (_, after) = api_get(&app, Some(&principal), &q("pupil", s.p3, "total")).await;
        assert_eq!(minutes(&after["total"]), (120, 120, 0, 0), "{after}");
        let (_, agg) = api_get(
            &app,
            Some(&principal),
            &format!(
                "/api/v1/statistics/aggregated-attendance?startDate={from}&endDate={to}&student={}",
                s.p3
            ),
        )
        .await;
        let b_row = agg["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| uuids.id(&r["activity"]) == Some(s.math_b))
            .unwrap()
            .clone();
        assert_eq!(
            (
                b_row["otherAttendanceSum"].as_i64(),
                b_row["attendanceSum"].as_i64()
            ),
            (Some(60), Some(0))
        );
    }
}

#[actix_web::test]
async fn bad_periods_scopes_and_ids_get_a_clear_4xx() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let s = build(&mut conn(&pool));
        let principal = api_token(&app, "stat.principal", PASSWORD).await;
        let other = api_token(&app, "stat.other", PASSWORD).await;
        let teacher = api_token(&app, "stat.teacher", PASSWORD).await;
        let base = "/api/v1/statistics/absence";
        for (path, status, code) in [
            (
                format!(
                    "{base}?scope=school&id={}&from=2026-05-01&to=2026-04-01",
                    s.id
                ),
                400,
                "period_reversed",
            ),
            (
                format!(
                    "{base}?scope=school&id={}&from=2020-01-01&to=2026-01-01",
                    s.id
                ),
                400,
                "period_too_long",
            ),
            (format!("{base}?scope=class&id={}", s.id), 400, "bad_scope"),
            (
                format!("{base}?scope=school&id={}&by=colour", s.id),
                400,
                "bad_by",
            ),
            (format!("{base}?scope=school&id=abc"), 400, "bad_id"),
            (format!("{base}?scope=school"), 400, "id_required"),
            (
                format!("{base}?scope=school&id={}&from=1.1.2026", s.id),
                400,
                "bad_date",
            ),
            (
                format!("{base}?scope=school&id={}", s.other_school),
                404,
                "",
            ),
            (format!("{base}?scope=pupil&id=999999"), 404, ""),
            (
                "/api/v1/statistics/aggregated-attendance".to_string(),
                400,
                "organisation_or_student_required",
            ),
            (
                format!(
                    "/api/v1/statistics/aggregated-attendance?organisation={}",
                    s.other_school
                ),
                404,
                "",
            ),
        ] {
            let (got, body) = api_get(&app, Some(&principal), &path).await;
            assert_eq!(got, status, "{path}: {body}");
            if !code.is_empty() {
                assert_eq!(body["code"], code, "{path}: {body}");
            }
        }
        // out of scope is 404, for another school's principal and for a teacher
        let mine = format!("{base}?scope=school&id={}", s.id);
        assert_eq!(api_get(&app, Some(&other), &mine).await.0, 404);
        assert_eq!(api_get(&app, Some(&teacher), &mine).await.0, 404);
        assert_eq!(api_get(&app, None, &mine).await.0, 401);
        // the administrator sees every school
        let admin = api_token(&app, "stat.admin", PASSWORD).await;
        assert_eq!(api_get(&app, Some(&admin), &mine).await.0, 200);

        let mut b = Browser::open(&app).await;
        b.sign_in("stat.principal", PASSWORD).await;
        for path in [
            format!(
                "/statistics?school={}&period=custom&from=2026-05-01&to=2026-04-01",
                s.id
            ),
            format!("/statistics?school={}&period=fortnight", s.id),
            format!("/statistics/pupils?school={}&threshold=0", s.id),
            format!("/statistics?school={}&csv=everything", s.id),
            format!("/statistics/csn?school={}&month=oktober", s.id),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, 400, "{path}");
            assert!(
                page.body.contains("<html"),
                "{path}: a page, with the reason"
            );
        }
        assert_eq!(
            b.get(&format!("/statistics?school={}", s.other_school))
                .await
                .status,
            404
        );
        assert_eq!(b.get("/statistics/groups/999999").await.status, 404);
    }
}

/// Every page of an SS 12000 list, following `pageToken`.
async fn all_pages(app: &TestApp, token: &str, first: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut next: Option<String> = None;
    loop {
        // the token carries the query: it is followed alone (with the limit), as the
        // standard says a client may
        let path = match &next {
            None => first.to_string(),
            Some(t) => {
                let (base, query) = first.split_once('?').unwrap_or((first, ""));
                let limit = query
                    .split('&')
                    .find(|p| p.starts_with("limit="))
                    .map(|l| format!("{l}&"))
                    .unwrap_or_default();
                format!("{base}?{limit}pageToken={t}")
            }
        };
        let (status, body) = api_get(app, Some(token), &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        out.extend(body["data"].as_array().unwrap().iter().cloned());
        pages += 1;
        match body.get("pageToken").and_then(Value::as_str) {
            Some(t) => next = Some(t.to_string()),
            None => return (out, pages),
        }
        assert!(pages < 50, "paging ends");
    }
}

#[actix_web::test]
async fn the_ss12000_export_pages_through_everything_once() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let s = build(&mut conn(&pool));
        let uuids = Uuids::load(&pool);
        let teacher = api_token(&app, "stat.teacher", PASSWORD).await;
        let principal = api_token(&app, "stat.principal", PASSWORD).await;
        roll_call(
            &app,
            &teacher,
            s.lessons[0],
            json!([{"pupil_id": s.p1, "status": "absent"}]),
        )
        .await;
        roll_call(&app, &teacher, s.lessons[2], json!([])).await;
        roll_call(
            &app,
            &teacher,
            s.lessons[3],
            json!([{"pupil_id": s.p3, "status": "late", "minutes": 5}]),
        )
        .await;
        let (from, to) = (s.mon, s.wed);
        let period = format!("startTime.onOrAfter={from}&startTime.onOrBefore={to}");

        // attendances: 3 + 2 + 1 pupils in the reported lessons, 4 a page
        let (list, pages) = all_pages(
            &app,
            &principal,
            &format!(
                "/api/ss12000/v2/attendances?organisation={}&{period}&limit=4",
                uuids.org(s.id)
            ),
        )
        .await;
        assert_eq!((list.len(), pages), (6, 2));
        let ids: std::collections::BTreeSet<&str> =
            list.iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 6, "no record twice");
        let p1_tue = list
            .iter()
            .find(|a| a["id"] == attendance_id(s.lessons[2], s.p1))
            .unwrap();
        assert_eq!(
            (
                p1_tue["validAbsenceMinutes"].as_i64(),
                p1_tue["attendanceMinutes"].as_i64()
            ),
            (Some(60), Some(0))
        );
        assert_eq!(
            p1_tue["absenceReason"], "Sjukdom",
            "the reason by its Swedish name"
        );
        assert_eq!(p1_tue["isReported"], true);
        let p3_b = list
            .iter()
            .find(|a| a["id"] == attendance_id(s.lessons[3], s.p3))
            .unwrap();
        assert_eq!(
            (
                p3_b["invalidAbsenceMinutes"].as_i64(),
                p3_b["attendanceMinutes"].as_i64()
            ),
            (Some(5), Some(55))
        );
        // one page of 1000 says the same
        let (one, pages) = all_pages(
            &app,
            &principal,
            &format!("/api/ss12000/v2/attendances?{period}&limit=1000"),
        )
        .await;
        assert_eq!((one.len(), pages), (6, 1));
        assert_eq!(one, list, "the pages in order are the whole list");

        // absences: the guardian's report on Tuesday
        let (abs, _) = all_pages(
            &app,
            &principal,
            &format!("/api/ss12000/v2/absences?startTime.onOrAfter={from}T00:00:00%2B01:00&startTime.onOrBefore={to}T23:59:59%2B01:00&limit=1"),
        )
        .await;
        assert_eq!(abs.len(), 1, "{abs:?}");
        assert_eq!(abs[0]["type"], "Anmäld frånvaro");
        assert_eq!(abs[0]["student"]["id"], uuids.person(s.p1));

        // aggregated attendance: 6 (activity, pupil) pairs, 4 a page
        let (agg, pages) = all_pages(&app, &principal, &format!("/api/ss12000/v2/aggregatedAttendance?organisation={}&startDate={from}&endDate={to}&limit=4", uuids.org(s.id))).await;
        assert_eq!((agg.len(), pages), (6, 2));
        let offered: i64 = agg.iter().map(|a| a["offeredSum"].as_i64().unwrap()).sum();
        assert_eq!(offered, 440);

        // bad paging and filters are 400s; another school is 404; a teacher has no export
        for (path, code) in [
            ("/api/ss12000/v2/attendances?pageToken=zz".to_string(), "bad_page_token"),
            ("/api/ss12000/v2/attendances?pageToken=613a783a32".to_string(), "bad_page_token"),
            ("/api/ss12000/v2/absences?pageToken=613a313a32".to_string(), "bad_page_token"),
            ("/api/ss12000/v2/attendances?limit=0".to_string(), "bad_limit"),
            ("/api/ss12000/v2/attendances?limit=-3".to_string(), "bad_limit"),
            ("/api/ss12000/v2/absences?startTime.onOrAfter=yesterday".to_string(), "bad_datetime"),
            (format!("/api/ss12000/v2/absences?startTime.onOrAfter={from}"), "bad_datetime"),
            (format!("/api/ss12000/v2/attendances?startTime.onOrAfter={to}&startTime.onOrBefore={from}"), "period_reversed"),
        ] {
            let (status, body) = api_get(&app, Some(&principal), &path).await;
            assert_eq!((status, body["code"].as_str()), (400, Some(code)), "{path}: {body}");
        }
        let other = format!(
            "/api/ss12000/v2/attendances?organisation={}",
            uuids.org(s.other_school)
        );
        assert_eq!(api_get(&app, Some(&principal), &other).await.0, 404);
        assert_eq!(
            api_get(&app, Some(&teacher), "/api/ss12000/v2/absences")
                .await
                .0,
            404
        );
    }
}

/// A day's sums: school, day, pupil or class, reported and invalid minutes, lates.
type DaySums = Vec<(i64, chrono::NaiveDate, i64, i32, i32, i32)>;

/// The statistics' sums, per pupil and per class, as stored.
fn stored_sums(world: &crate::fixtures::World) -> (DaySums, DaySums) {
    use diesel::prelude::*;
    use narvaro::schema::{absence_class_days as c, absence_days as d};
    let mut conn = crate::browser::conn(&world.pool);
    let pupils = d::table
        .select((
            d::school_id,
            d::day,
            d::pupil_id,
            d::reported_minutes,
            d::invalid_minutes,
            d::lates,
        ))
        .order((d::school_id, d::day, d::pupil_id))
        .load(&mut *conn)
        .unwrap();
    let classes = c::table
        .select((
            c::school_id,
            c::day,
            c::class_id,
            c::reported_minutes,
            c::invalid_minutes,
            c::lates,
        ))
        .order((c::school_id, c::day, c::class_id))
        .load(&mut *conn)
        .unwrap();
    (pupils, classes)
}

#[actix_web::test]
async fn parallel_roll_calls_keep_the_class_sums_equal_to_a_rebuild_on_postgresql() {
    // the advisory lock per school orders refreshes of one school: eight teachers saving
    // eight lessons of one school at once must leave the class sums what a rebuild
    // computes (without the lock, a roll-up that has not seen another's rows commits last)
    use diesel::prelude::*;
    use narvaro::schema::{activity_teachers, lessons, people};
    if !crate::helpers::backends().contains(&crate::helpers::Kind::Postgres) {
        return;
    }
    let app = crate::helpers::TestApp::spawn(crate::helpers::Kind::Postgres).await;
    let world = crate::fixtures::build(&app);
    let today = crate::helpers::test_today();
    // one lesson each of eight teachers of the first school, earlier this week
    let picks: Vec<(i64, String)> = {
        let mut c = crate::browser::conn(&world.pool);
        let rows: Vec<(i64, String)> = lessons::table
            .inner_join(
                activity_teachers::table
                    .on(activity_teachers::activity_id.eq(lessons::activity_id)),
            )
            .inner_join(people::table.on(people::id.eq(activity_teachers::teacher_id)))
            .filter(lessons::school_id.eq(world.ids.school1))
            .filter(lessons::cancelled.eq(false))
            .filter(lessons::lesson_date.lt(today))
            .filter(lessons::lesson_date.ge(today - chrono::Duration::days(2)))
            .filter(people::username.is_not_null())
            .select((lessons::id, people::username.assume_not_null()))
            .order(lessons::id)
            .load(&mut *c)
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        rows.into_iter()
            .filter(|(_, u)| seen.insert(u.clone()))
            .take(8)
            .collect()
    };
    assert!(picks.len() >= 4, "{picks:?}");
    let mut writers = Vec::new();
    for (lesson, username) in picks {
        let token = crate::browser::api_token(&app, &username, crate::browser::DEMO_PASSWORD).await;
        let (_, rc) = crate::browser::api_get(
            &app,
            Some(&token),
            &format!("/api/v1/lessons/{lesson}/roll-call"),
        )
        .await;
        let pupils: Vec<i64> = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/api/v1/lessons/{lesson}/roll-call")),
        );
        writers.push(actix_web::rt::spawn(async move {
            for round in 0..6usize {
                let marks: Vec<serde_json::Value> = pupils
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        if (i + round) % 3 == 0 {
                            serde_json::json!({"pupil_id": p, "status": "late", "minutes": 5 + round})
                        } else if (i + round) % 3 == 1 {
                            serde_json::json!({"pupil_id": p, "status": "absent"})
                        } else {
                            serde_json::json!({"pupil_id": p, "status": "present"})
                        }
                    })
                    .collect();
                let res = client
                    .put(&url)
                    .insert_header(("Authorization", format!("Bearer {token}")))
                    .send_json(&serde_json::json!({"marks": marks, "correction_reason": "Rättat efter lektionen"}))
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200, "{url}");
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let live = stored_sums(&world);
    assert!(!live.1.is_empty());
    {
        let mut c = crate::browser::conn(&world.pool);
        let schools: Vec<i64> = narvaro::schema::absence_class_days::table
            .select(narvaro::schema::absence_class_days::school_id)
            .distinct()
            .load(&mut *c)
            .unwrap();
        for school in schools {
            narvaro::insight::statistics::store::rebuild(
                &mut c,
                chrono_tz::Europe::Stockholm,
                SchoolId(school),
                today - chrono::Duration::days(400),
                today + chrono::Duration::days(400),
            )
            .unwrap();
        }
    }
    assert_eq!(stored_sums(&world), live, "the live sums are a rebuild's");
}
