//! The huvudman's term report (issue 38): the file equals a recomputation from the marks,
//! the quality check finds what was planted and nothing on clean data, and bad input gets
//! a clear answer.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;
use serde_json::Value;

use crate::browser::{api_get, api_token, conn, pool, Browser};
use crate::helpers::{backends, test_today, TestApp};

const TERM_START: (i32, u32, u32) = (2026, 7, 1);

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A generated municipality of four schools (three grundskolor, one gymnasieskola), six
/// weeks of the autumn term up to the tests' today. Returns the administrator's username.
fn municipality(c: &mut DbConn) -> String {
    narvaro::seed::generate(
        c,
        &narvaro::seed::SeedParams {
            municipality: "Rapportkommun".into(),
            schools: 4,
            pupils: 240,
            weeks: 6,
            seed: 11,
            start: day(2026, 10, 12),
            today: test_today(),
        },
        chrono_tz::Europe::Stockholm,
    )
    .unwrap();
    duties::table
        .inner_join(people::table.on(people::id.eq(duties::person_id)))
        .filter(duties::role.eq("admin"))
        .select(people::username)
        .first::<Option<String>>(c)
        .unwrap()
        .unwrap()
}

/// Minutes per (school, pupil): offered, valid, invalid, other.
type Sums = HashMap<(i64, i64), [i64; 4]>;

/// The term's minutes recomputed from the timetable, the memberships, the marks, the
/// reasons, the absence reports and the granted leave, without the statistics' code.
fn recompute(c: &mut DbConn, from: NaiveDate, to: NaiveDate) -> Sums {
    let lessons: Vec<(i64, i64, i64, NaiveDate, NaiveTime, NaiveTime, i32)> = lessons::table
        .filter(lessons::lesson_date.between(from, to))
        .filter(lessons::cancelled.eq(false))
        .select((
            lessons::id,
            lessons::activity_id,
            lessons::school_id,
            lessons::lesson_date,
            lessons::starts_at,
            lessons::ends_at,
            lessons::teaching_minutes,
        ))
        .load(c)
        .unwrap();
    let groups_of: Vec<(i64, i64)> = activity_groups::table
        .select((activity_groups::activity_id, activity_groups::group_id))
        .load(c)
        .unwrap();
    let members: Vec<(i64, i64, NaiveDate, Option<NaiveDate>)> = group_memberships::table
        .select((
            group_memberships::group_id,
            group_memberships::pupil_id,
            group_memberships::start_date,
            group_memberships::end_date,
        ))
        .load(c)
        .unwrap();
    let marks: HashMap<(i64, i64), (i32, Option<i64>)> = attendance_marks::table
        .select((
            attendance_marks::lesson_id,
            attendance_marks::pupil_id,
            attendance_marks::minutes,
            attendance_marks::reason_id,
        ))
        .load::<(i64, i64, i32, Option<i64>)>(c)
        .unwrap()
        .into_iter()
        .map(|(l, p, m, r)| ((l, p), (m, r)))
        .collect();
    let reasons: HashMap<i64, (bool, bool)> = absence_reasons::table
        .select((
            absence_reasons::id,
            absence_reasons::counts_as_absence,
            absence_reasons::is_valid,
        ))
        .load::<(i64, bool, bool)>(c)
        .unwrap()
        .into_iter()
        .map(|(id, counts, valid)| (id, (counts, valid)))
        .collect();
    let reports: Vec<(i64, NaiveDateTime, NaiveDateTime)> = absence_reports::table
        .filter(absence_reports::cancelled_at.is_null())
        .select((
            absence_reports::pupil_id,
            absence_reports::starts_at,
            absence_reports::ends_at,
        ))
        .load(c)
        .unwrap();
    let leave: Vec<(i64, NaiveDate, NaiveDate)> = leave_applications::table
        .filter(leave_applications::status.eq("approved"))
        .select((
            leave_applications::pupil_id,
            leave_applications::start_date,
            leave_applications::end_date,
        ))
        .load(c)
        .unwrap();
    let tz = chrono_tz::Europe::Stockholm;
    let utc = |d: NaiveDate, t: NaiveTime| {
        d.and_time(t)
            .and_local_timezone(tz)
            .earliest()
            .unwrap()
            .naive_utc()
    };
    let mut out: Sums = HashMap::new();
    for (lesson, activity, school, date, starts, ends, minutes) in lessons {
        let mut seen = HashSet::new();
        for (_, group) in groups_of.iter().filter(|(a, _)| *a == activity) {
            for (_, pupil, s, e) in members.iter().filter(|m| m.0 == *group) {
                if *s > date || e.is_some_and(|e| e < date) || !seen.insert(*pupil) {
                    continue;
                }
                let sums = out.entry((school, *pupil)).or_default();
                sums[0] += i64::from(minutes);
                let Some((marked, reason)) = marks.get(&(lesson, *pupil)) else {
                    continue;
                };
                let marked = i64::from((*marked).max(0));
                let (ws, we) = (utc(date, starts), utc(date, ends));
                let covered = reports
                    .iter()
                    .any(|(p, s, e)| p == pupil && *s < we && *e > ws)
                    || leave
                        .iter()
                        .any(|(p, s, e)| p == pupil && *s <= date && *e >= date);
                match reason.and_then(|r| reasons.get(&r)) {
                    Some((false, _)) => sums[3] += marked,
                    Some((true, true)) => sums[1] += marked,
                    _ if covered => sums[1] += marked,
                    _ => sums[2] += marked,
                }
            }
        }
    }
    out
}

fn csv_rows(body: &str) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut lines = body.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap()
        .split(';')
        .map(str::to_string)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(';').map(str::to_string))
                .collect()
        })
        .collect();
    (head, rows)
}

fn minutes(row: &HashMap<String, String>, name: &str) -> i64 {
    row[name].parse().unwrap()
}

#[actix_web::test]
async fn the_term_report_equals_a_recomputation_from_the_marks_for_every_pupil() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let admin = municipality(&mut conn(&pool));
        // the generated civic numbers, hashed and sealed as `narvaro seed` leaves them
        let numbers: HashMap<i64, String> = people::table
            .filter(people::school_id.is_not_null())
            .select((people::id, people::civic_no.assume_not_null()))
            .load::<(i64, String)>(&mut conn(&pool))
            .unwrap()
            .into_iter()
            .map(|(id, n)| (id, n.replace('-', "")))
            .collect();
        let key = narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes());
        narvaro::auth::civic::hash_stored(&mut conn(&pool), &key).unwrap();
        // one pupil with protected personal details
        let protected: i64 = {
            let c: &mut DbConn = &mut conn(&pool);
            let id: i64 = group_memberships::table
                .select(group_memberships::pupil_id)
                .order(group_memberships::pupil_id)
                .first(c)
                .unwrap();
            diesel::update(people::table.find(id))
                .set(people::security_marking.eq("protected"))
                .execute(c)
                .unwrap();
            id
        };
        let mut b = Browser::open(&app).await;
        b.sign_in(&admin, narvaro::seed::DEMO_PASSWORD).await;
        let page = b.get("/huvudman/term-report?term=HT2026").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let dashed = |n: &String| format!("{}-{}", &n[..8], &n[8..]);
        assert!(
            numbers
                .values()
                .all(|n| !page.body.contains(n.as_str()) && !page.body.contains(&dashed(n))),
            "no civic number on the page"
        );

        let file = b
            .get("/huvudman/term-report.csv?term=HT2026&form=all&anyway=1")
            .await;
        assert_eq!(file.status, 200, "{}", file.body);
        let (head, rows) = csv_rows(&file.body);
        assert_eq!(head[0], "term");
        let expected = recompute(
            &mut conn(&pool),
            day(TERM_START.0, TERM_START.1, TERM_START.2),
            test_today(),
        );
        assert!(
            expected.len() > 200,
            "the municipality has pupils: {}",
            expected.len()
        );
        assert_eq!(rows.len(), expected.len(), "one row per pupil and school");
        let (by_uuid, unit_codes) = keys(&pool);
        let mut protected_rows = HashSet::new();
        for r in &rows {
            assert_eq!(r["term"], "HT2026");
            let school = unit_codes[&r["school_unit_code"]];
            let pupil = by_uuid[&r["student"]];
            // the civic number, opened from its seal, as the source sent it
            assert_eq!(r["civic_number"], numbers[&pupil], "pupil {pupil}");
            if r["protected_identity"] == "true" {
                protected_rows.insert(pupil);
            }
            let want = expected[&(school, pupil)];
            let got = [
                minutes(r, "offered_minutes"),
                minutes(r, "valid_absence_minutes"),
                minutes(r, "invalid_absence_minutes"),
                minutes(r, "other_attendance_minutes"),
            ];
            assert_eq!(got, want, "pupil {pupil} at school {school}");
            assert_eq!(
                r["offered_hours"],
                narvaro::insight::term_report::hours(want[0])
            );
            assert!(
                !r["year_group"].is_empty(),
                "every seeded pupil has a class"
            );
            // the autumn of 2026 is before the ten-year school: year 1 is the second year
            let year: i32 = r["year_group"].parse().unwrap();
            let number: i32 = r["school_year_number"].parse().unwrap();
            assert_eq!(
                number,
                if r["school_form"] == "GR" {
                    year + 1
                } else {
                    year
                }
            );
            assert!(["GR", "GY"].contains(&r["school_form"].as_str()));
        }
        let marked: HashSet<i64> = people::table
            .filter(people::security_marking.ne("none"))
            .select(people::id)
            .load::<i64>(&mut conn(&pool))
            .unwrap()
            .into_iter()
            .filter(|p| expected.keys().any(|(_, q)| q == p))
            .collect();
        assert!(protected_rows.contains(&protected));
        assert_eq!(
            protected_rows, marked,
            "every protected pupil is marked, no one else"
        );
        let invalid: i64 = rows
            .iter()
            .map(|r| minutes(r, "invalid_absence_minutes"))
            .sum();
        assert!(invalid > 0, "the generated marks hold invalid absence");

        // the JSON says the same, row for row, and one school form narrows it
        let (status, json) =
            get_json(&mut b, "/huvudman/term-report.json?term=HT2026&anyway=1").await;
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["data"].as_array().unwrap().len(), rows.len());
        assert_eq!(json["start_date"], "2026-07-01");
        let sum = |v: &Value, k: &str| -> i64 {
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r[k].as_i64().unwrap())
                .sum()
        };
        assert_eq!(sum(&json, "invalid_absence_minutes"), invalid);
        assert!(json["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["civic_number"] == numbers[&by_uuid[r["student"].as_str().unwrap()]]));
        // the database holds no number in the clear
        let stored: Vec<(Option<String>, Option<String>)> = people::table
            .select((people::civic_no, people::civic_sealed))
            .load(&mut conn(&pool))
            .unwrap();
        for (hash, sealed) in stored {
            for n in numbers.values() {
                assert!(!hash.as_deref().unwrap_or("").contains(n.as_str()));
                assert!(!sealed.as_deref().unwrap_or("").contains(n.as_str()));
            }
        }
        let (_, gy) = get_json(
            &mut b,
            "/huvudman/term-report.json?term=HT2026&form=GY&anyway=1",
        )
        .await;
        let gy_rows = gy["data"].as_array().unwrap();
        assert!(!gy_rows.is_empty() && gy_rows.len() < rows.len());
        assert!(gy_rows.iter().all(|r| r["school_form"] == "GY"));

        // the API with a token gives the same
        let token = api_token(&app, &admin, narvaro::seed::DEMO_PASSWORD).await;
        let (status, api) = api_get(
            &app,
            Some(&token),
            "/api/v1/term-report?term=HT2026&anyway=1",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(api["data"], json["data"]);
        // the SS 12000 aggregatedAttendance of the same term sums to the same per pupil
        aggregated_agrees(&app, &token, &pool, &expected).await;

        // the export is in the audit log, with its problems
        let logged: Vec<String> = audit_log::table
            .filter(audit_log::action.eq("term_report.exported"))
            .select(audit_log::detail)
            .load(&mut conn(&pool))
            .unwrap();
        assert_eq!(logged.len(), 4, "{logged:?}");
    }
}

/// Pupils by SS 12000 id, schools by unit code.
fn keys(pool: &narvaro::db::Pool) -> (HashMap<String, i64>, HashMap<String, i64>) {
    let c: &mut DbConn = &mut conn(pool);
    let uuids: HashMap<String, i64> = people::table
        .filter(people::uuid.is_not_null())
        .select((people::uuid.assume_not_null(), people::id))
        .load(c)
        .unwrap()
        .into_iter()
        .collect();
    let units: HashMap<String, i64> = organisations::table
        .filter(organisations::school_unit_code.is_not_null())
        .select((
            organisations::school_unit_code.assume_not_null(),
            organisations::id,
        ))
        .load(c)
        .unwrap()
        .into_iter()
        .collect();
    (uuids, units)
}

async fn get_json(b: &mut Browser, path: &str) -> (u16, Value) {
    let page = b.get(path).await;
    (
        page.status.as_u16(),
        serde_json::from_str(&page.body).unwrap_or(Value::Null),
    )
}

/// SS 12000 `aggregatedAttendance` per school for the term: per pupil, the activities'
/// offered, valid and invalid minutes add up to the recomputation.
async fn aggregated_agrees(app: &TestApp, token: &str, pool: &narvaro::db::Pool, expected: &Sums) {
    let (by_uuid, _) = keys(pool);
    let schools: Vec<i64> = organisations::table
        .filter(organisations::org_type.eq("school"))
        .select(organisations::id)
        .load(&mut conn(pool))
        .unwrap();
    let mut got: Sums = HashMap::new();
    for s in schools {
        let path = format!(
            "/api/v1/statistics/aggregated-attendance?organisation={s}&startDate=2026-07-01&endDate=2026-12-31"
        );
        let (status, body) = api_get(app, Some(token), &path).await;
        assert_eq!(status, 200, "{body}");
        for r in body["data"].as_array().unwrap() {
            let pupil = by_uuid[r["student"]["id"].as_str().unwrap()];
            let e = got.entry((s, pupil)).or_default();
            e[0] += r["offeredSum"].as_i64().unwrap();
            e[1] += r["validAbsenceSum"].as_i64().unwrap();
            e[2] += r["invalidAbsenceSum"].as_i64().unwrap();
            e[3] += r["otherAttendanceSum"].as_i64().unwrap();
        }
    }
    assert_eq!(got.len(), expected.len(), "every pupil and school");
    for (k, v) in &got {
        assert_eq!(Some(v), expected.get(k), "aggregatedAttendance of {k:?}");
    }
}

#[actix_web::test]
async fn the_quality_check_finds_each_planted_problem_and_nothing_on_clean_data() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let admin = municipality(&mut conn(&pool));
        let mut b = Browser::open(&app).await;
        b.sign_in(&admin, narvaro::seed::DEMO_PASSWORD).await;
        // the generated municipality leaves some past lessons unreported, as teachers do: the
        // check finds them
        let (_, seen) = get_json(&mut b, "/huvudman/term-report.json?term=HT2026&anyway=1").await;
        let unreported = past_unreported(&mut conn(&pool));
        assert!(!unreported.is_empty());
        assert_eq!(
            seen["quality"]["problems"],
            unreported.len() as i64,
            "{}",
            seen["quality"]
        );
        // once they are reported the data is clean, and the file comes without asking twice
        report_all(&mut conn(&pool), &unreported);
        let (status, clean) = get_json(&mut b, "/huvudman/term-report.json?term=HT2026").await;
        assert_eq!(status, 200, "{}", seen["quality"]);
        assert_eq!(clean["quality"]["problems"], 0, "{}", clean["quality"]);
        let page = b.get("/huvudman/term-report?term=HT2026").await;
        assert!(page.body.contains("Kontrollen hittade inga problem."));

        let planted = plant_problems(&mut conn(&pool));
        let token = api_token(&app, &admin, narvaro::seed::DEMO_PASSWORD).await;
        let (status, refused) =
            api_get(&app, Some(&token), "/api/v1/term-report?term=HT2026").await;
        assert_eq!(status, 409, "{refused}");
        assert_eq!(refused["code"], "quality_problems");
        let page = b.get("/huvudman/term-report.json?term=HT2026").await;
        assert_eq!(page.status, 409, "signed in too");
        assert!(page.body.contains("kvalitetsproblem"), "{}", page.body);
        let csv = b.get("/huvudman/term-report.csv?term=HT2026").await;
        assert_eq!(csv.status, 409, "the CSV too");
        let (status, anyway) =
            get_json(&mut b, "/huvudman/term-report.json?term=HT2026&anyway=1").await;
        assert_eq!(status, 200);
        assert_eq!(anyway["quality"]["exported_anyway"], true);
        let mut found: HashMap<(String, String), i64> = HashMap::new();
        for s in anyway["quality"]["schools"].as_array().unwrap() {
            for (code, n) in s["problems"].as_object().unwrap() {
                found.insert(
                    (s["name"].as_str().unwrap().to_string(), code.clone()),
                    n.as_i64().unwrap(),
                );
            }
        }
        assert_eq!(found, planted, "exactly the planted problems");
        let total: i64 = planted.values().sum();
        assert_eq!(anyway["quality"]["problems"], total);
        // each row carries its school's count
        let first_school = &anyway["data"][0];
        assert!(first_school["school_problems"].as_i64().is_some());
        let page = b.get("/huvudman/term-report?term=HT2026").await;
        assert!(
            page.body.contains(&format!("{total} problem på")),
            "{}",
            page.body
        );
        assert!(page.body.contains("Exportera ändå som CSV"));

        // the spring term: a mark set in November on a lesson of May
        let (school, name, pupil, admin_id) = {
            let c: &mut DbConn = &mut conn(&pool);
            let (school, name): (i64, String) = organisations::table
                .filter(organisations::org_type.eq("school"))
                .select((organisations::id, organisations::name))
                .order(organisations::id)
                .offset(3)
                .first(c)
                .unwrap();
            let pupil: i64 = people::table
                .filter(people::school_id.eq(school))
                .select(people::id)
                .first(c)
                .unwrap();
            let admin_id: i64 = duties::table
                .filter(duties::role.eq("admin"))
                .select(duties::person_id)
                .first(c)
                .unwrap();
            (school, name, pupil, admin_id)
        };
        {
            let c: &mut DbConn = &mut conn(&pool);
            let existing: i64 = lessons::table
                .filter(lessons::school_id.eq(school))
                .select(lessons::activity_id)
                .first(c)
                .unwrap();
            let may = lesson(c, existing, school, day(2026, 5, 20), Some(admin_id));
            diesel::insert_into(attendance_marks::table)
                .values((
                    attendance_marks::lesson_id.eq(may),
                    attendance_marks::pupil_id.eq(pupil),
                    attendance_marks::status.eq("absent"),
                    attendance_marks::minutes.eq(40),
                    attendance_marks::marked_by.eq(admin_id),
                    attendance_marks::marked_at
                        .eq(day(2026, 11, 2).and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap())),
                ))
                .execute(c)
                .unwrap();
        }
        let (status, spring) =
            get_json(&mut b, "/huvudman/term-report.json?term=VT2026&anyway=1").await;
        assert_eq!(status, 200, "{spring}");
        let school_row = spring["quality"]["schools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name.as_str())
            .unwrap();
        assert_eq!(school_row["problems"]["marks_after_term"], 1, "{spring}");
    }
}

/// Past lessons (before the tests' today), not cancelled, without a roll call.
fn past_unreported(c: &mut DbConn) -> Vec<i64> {
    lessons::table
        .filter(lessons::lesson_date.lt(test_today()))
        .filter(lessons::cancelled.eq(false))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            lesson_reports::table.filter(lesson_reports::lesson_id.eq(lessons::id)),
        )))
        .select(lessons::id)
        .load(c)
        .unwrap()
}

/// Reports the lessons (everyone present), as the administrator.
fn report_all(c: &mut DbConn, ids: &[i64]) {
    let admin: i64 = duties::table
        .filter(duties::role.eq("admin"))
        .select(duties::person_id)
        .first(c)
        .unwrap();
    for id in ids {
        diesel::insert_into(lesson_reports::table)
            .values((
                lesson_reports::lesson_id.eq(id),
                lesson_reports::reported_by.eq(admin),
                lesson_reports::reported_at.eq(test_today().and_time(NaiveTime::MIN)),
            ))
            .execute(c)
            .unwrap();
    }
}

/// Plants one of each problem of the autumn term; returns (school name, problem code) →
/// count.
fn plant_problems(c: &mut DbConn) -> HashMap<(String, String), i64> {
    let schools: Vec<(i64, String)> = organisations::table
        .filter(organisations::org_type.eq("school"))
        .select((organisations::id, organisations::name))
        .order(organisations::id)
        .load(c)
        .unwrap();
    let [a, b, cc, d] = [0, 1, 2, 3].map(|i| schools[i].clone());
    let admin: i64 = duties::table
        .filter(duties::role.eq("admin"))
        .select(duties::person_id)
        .first(c)
        .unwrap();
    let mut out = HashMap::new();
    let mut put = |school: &(i64, String), code: &str, n: i64| {
        out.insert((school.1.clone(), code.to_string()), n);
    };
    // A loses its school unit code
    diesel::update(organisations::table.find(a.0))
        .set(organisations::school_unit_code.eq(None::<String>))
        .execute(c)
        .unwrap();
    put(&a, "no_school_unit_code", 1);
    // B: one past lesson of its busiest teacher loses its roll call (one of many: the
    // teacher stays over 90 %)
    let taught: Vec<(i64, i64)> = lessons::table
        .inner_join(
            activity_teachers::table.on(activity_teachers::activity_id.eq(lessons::activity_id)),
        )
        .inner_join(lesson_reports::table)
        .filter(lessons::school_id.eq(b.0))
        .select((activity_teachers::teacher_id, lessons::id))
        .order(lessons::id)
        .load(c)
        .unwrap();
    let mut per_teacher: HashMap<i64, Vec<i64>> = HashMap::new();
    for (t, l) in taught {
        per_teacher.entry(t).or_default().push(l);
    }
    let busiest = per_teacher.values().max_by_key(|l| l.len()).unwrap();
    assert!(busiest.len() > 10, "{}", busiest.len());
    diesel::delete(lesson_reports::table.find(busiest[0]))
        .execute(c)
        .unwrap();
    put(&b, "unreported_lessons", 1);
    // B: a class becomes a teaching group, so its pupils are in no class
    let class: i64 = groups::table
        .filter(groups::school_id.eq(b.0))
        .filter(groups::group_type.eq("class"))
        .select(groups::id)
        .order(groups::id)
        .first(c)
        .unwrap();
    let pupils: i64 = group_memberships::table
        .filter(group_memberships::group_id.eq(class))
        .select(diesel::dsl::count(group_memberships::pupil_id).aggregate_distinct())
        .first(c)
        .unwrap();
    diesel::update(groups::table.find(class))
        .set(groups::group_type.eq("teaching"))
        .execute(c)
        .unwrap();
    narvaro::insight::statistics::store::rebuild(
        c,
        chrono_tz::Europe::Stockholm,
        narvaro::school::ids::SchoolId(b.0),
        day(2026, 7, 1),
        test_today(),
    )
    .unwrap();
    put(&b, "pupils_without_class", pupils);
    // C: the principal gets an activity of their own and reports none of its two lessons;
    // an activity nobody teaches has one lesson, reported
    let principal: i64 = duties::table
        .filter(duties::organisation_id.eq(cc.0))
        .filter(duties::role.eq("principal"))
        .select(duties::person_id)
        .first(c)
        .unwrap();
    let group: i64 = groups::table
        .filter(groups::school_id.eq(cc.0))
        .select(groups::id)
        .first(c)
        .unwrap();
    let own = activity(c, cc.0, group, Some(principal));
    lesson(c, own, cc.0, day(2026, 11, 17), None);
    lesson(c, own, cc.0, day(2026, 11, 18), None);
    put(&cc, "unreported_lessons", 2);
    put(&cc, "low_reporting_teachers", 1);
    let nobody = activity(c, cc.0, group, None);
    lesson(c, nobody, cc.0, day(2026, 11, 19), Some(admin));
    put(&cc, "lessons_without_teacher", 1);
    // D: a reported lesson on a Saturday, and one on a holiday of the municipality
    let existing: i64 = lessons::table
        .filter(lessons::school_id.eq(d.0))
        .select(lessons::activity_id)
        .first(c)
        .unwrap();
    lesson(c, existing, d.0, day(2026, 11, 14), Some(admin));
    let municipality: i64 = organisations::table
        .find(d.0)
        .select(organisations::parent_id.assume_not_null())
        .first(c)
        .unwrap();
    diesel::insert_into(holidays::table)
        .values((
            holidays::organisation_id.eq(municipality),
            holidays::holiday_date.eq(day(2026, 11, 20)),
            holidays::name.eq("Studiedag"),
        ))
        .execute(c)
        .unwrap();
    // the municipality's holiday closes every school: each one's lessons that day count
    for school in &schools {
        let on_holiday: i64 = lessons::table
            .filter(lessons::school_id.eq(school.0))
            .filter(lessons::lesson_date.eq(day(2026, 11, 20)))
            .filter(lessons::cancelled.eq(false))
            .count()
            .get_result(c)
            .unwrap();
        let saturday = i64::from(school.0 == d.0);
        if on_holiday + saturday > 0 {
            put(school, "lessons_off_school_days", on_holiday + saturday);
        }
    }
    out
}

fn activity(c: &mut DbConn, school: i64, group: i64, teacher: Option<i64>) -> i64 {
    let id: i64 = diesel::insert_into(activities::table)
        .values((
            activities::school_id.eq(school),
            activities::display_name.eq("Planterad"),
            activities::subject_code.eq("XX"),
            activities::subject_name.eq("Planterad"),
            activities::created_at.eq(day(2026, 7, 1).and_time(NaiveTime::MIN)),
        ))
        .returning(activities::id)
        .get_result(c)
        .unwrap();
    diesel::insert_into(activity_groups::table)
        .values((
            activity_groups::activity_id.eq(id),
            activity_groups::group_id.eq(group),
        ))
        .execute(c)
        .unwrap();
    if let Some(t) = teacher {
        diesel::insert_into(activity_teachers::table)
            .values((
                activity_teachers::activity_id.eq(id),
                activity_teachers::teacher_id.eq(t),
            ))
            .execute(c)
            .unwrap();
    }
    id
}

/// A lesson 16:00–16:40; reported by `reporter` when given.
fn lesson(
    c: &mut DbConn,
    activity: i64,
    school: i64,
    date: NaiveDate,
    reporter: Option<i64>,
) -> i64 {
    let id: i64 = diesel::insert_into(lessons::table)
        .values((
            lessons::activity_id.eq(activity),
            lessons::school_id.eq(school),
            lessons::lesson_date.eq(date),
            lessons::starts_at.eq(NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            lessons::ends_at.eq(NaiveTime::from_hms_opt(16, 40, 0).unwrap()),
            lessons::teaching_minutes.eq(40),
            lessons::cancelled.eq(false),
        ))
        .returning(lessons::id)
        .get_result(c)
        .unwrap();
    if let Some(r) = reporter {
        diesel::insert_into(lesson_reports::table)
            .values((
                lesson_reports::lesson_id.eq(id),
                lesson_reports::reported_by.eq(r),
                lesson_reports::reported_at
                    .eq(date.and_time(NaiveTime::from_hms_opt(17, 0, 0).unwrap())),
            ))
            .execute(c)
            .unwrap();
    }
    id
}

#[actix_web::test]
async fn bad_terms_and_forms_get_a_clear_answer_and_others_get_404() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let admin = municipality(&mut conn(&pool));
        let mut b = Browser::open(&app).await;
        b.sign_in(&admin, narvaro::seed::DEMO_PASSWORD).await;
        let token = api_token(&app, &admin, narvaro::seed::DEMO_PASSWORD).await;
        for (path, code) in [
            ("/api/v1/term-report?term=HT", "bad_term"),
            ("/api/v1/term-report?term=VT2027", "term_not_started"),
            ("/api/v1/term-report?term=HT2026&form=XX", "bad_parameter"),
            (
                "/api/v1/huvudman/schools?period=custom&from=2026-05-01&to=2026-09-01",
                "bad_period",
            ),
        ] {
            let (status, body) = api_get(&app, Some(&token), path).await;
            assert_eq!(status, 400, "{path}: {body}");
            assert_eq!(body["code"], code, "{path}");
        }
        // one school by its unit code; a code no school has, and a school whose code is gone
        let (code, school): (String, i64) = organisations::table
            .filter(organisations::org_type.eq("school"))
            .select((
                organisations::school_unit_code.assume_not_null(),
                organisations::id,
            ))
            .order(organisations::id)
            .first(&mut conn(&pool))
            .unwrap();
        let (status, one) = api_get(
            &app,
            Some(&token),
            &format!("/api/v1/term-report?term=HT2026&anyway=1&unit={code}"),
        )
        .await;
        assert_eq!(status, 200, "{one}");
        let rows = one["data"].as_array().unwrap();
        assert!(!rows.is_empty() && rows.iter().all(|r| r["school_unit_code"] == code.as_str()));
        let (status, body) = api_get(
            &app,
            Some(&token),
            "/api/v1/term-report?term=HT2026&unit=123",
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (400, Some("bad_school")));
        diesel::update(organisations::table.find(school))
            .set(organisations::school_unit_code.eq(None::<String>))
            .execute(&mut conn(&pool))
            .unwrap();
        let (status, body) = api_get(
            &app,
            Some(&token),
            &format!("/api/v1/term-report?term=HT2026&unit={code}"),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_school")),
            "{body}"
        );
        assert!(
            body["detail"].as_str().unwrap_or_default().contains(&code),
            "{body}"
        );
        let page = b.get("/huvudman/term-report?term=VT2027").await;
        assert_eq!(page.status, 400);
        assert!(
            page.body.contains("Terminen har inte börjat"),
            "{}",
            page.body
        );
        // a principal has no term report
        let principal: String = duties::table
            .inner_join(people::table.on(people::id.eq(duties::person_id)))
            .filter(duties::role.eq("principal"))
            .select(people::username.assume_not_null())
            .first(&mut conn(&pool))
            .unwrap();
        let mut p = Browser::open(&app).await;
        p.sign_in(&principal, narvaro::seed::DEMO_PASSWORD).await;
        for path in [
            "/huvudman/term-report",
            "/huvudman/term-report.csv?anyway=1",
            "/huvudman/term-report.json?anyway=1",
            "/huvudman/term-report.columns.json",
            "/huvudman/schools",
        ] {
            assert_eq!(p.get(path).await.status, 404, "{path}");
        }
        let pt = api_token(&app, &principal, narvaro::seed::DEMO_PASSWORD).await;
        for path in ["/api/v1/term-report?anyway=1", "/api/v1/huvudman/schools"] {
            assert_eq!(api_get(&app, Some(&pt), path).await.0, 404, "{path}");
        }
        // the column description names every column of the file
        let (status, cols) = get_json(&mut b, "/huvudman/term-report.columns.json").await;
        assert_eq!(status, 200);
        let file = b
            .get("/huvudman/term-report.csv?term=HT2026&anyway=1")
            .await;
        let head: Vec<&str> = file.body.lines().next().unwrap().split(';').collect();
        let named: Vec<&str> = cols["tableSchema"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(head, named);
        assert_eq!(cols["dialect"]["delimiter"], ";");
    }
}

/// The huvudman's overview: every school side by side, its figures the sums of its pupils',
/// the pupils over the threshold counted from the marks, the weeks adding up to the total.
#[actix_web::test]
async fn the_huvudman_overview_sets_every_school_side_by_side() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let admin = municipality(&mut conn(&pool));
        let token = api_token(&app, &admin, narvaro::seed::DEMO_PASSWORD).await;
        let (from, to) = (day(2026, 10, 12), test_today());
        let q = format!("period=custom&from={from}&to={to}");
        let (status, o) =
            api_get(&app, Some(&token), &format!("/api/v1/huvudman/schools?{q}")).await;
        assert_eq!(status, 200, "{o}");
        let expected = recompute(&mut conn(&pool), from, to);
        let threshold = o["threshold_pct"].as_i64().unwrap();
        let stored: i32 = organisations::table
            .filter(organisations::org_type.eq("municipality"))
            .select(organisations::alert_threshold_pct)
            .first(&mut conn(&pool))
            .unwrap();
        assert_eq!(threshold, i64::from(stored));
        let schools = o["schools"].as_array().unwrap();
        assert_eq!(schools.len(), 4);
        let mut total = 0;
        for s in schools {
            let id = s["id"].as_i64().unwrap();
            let mine: Vec<&[i64; 4]> = expected
                .iter()
                .filter(|((sc, _), _)| *sc == id)
                .map(|(_, v)| v)
                .collect();
            let offered: i64 = mine.iter().map(|v| v[0]).sum();
            let invalid: i64 = mine.iter().map(|v| v[2]).sum();
            let over = mine
                .iter()
                .filter(|v| v[0] > 0 && (v[1] + v[2]) * 100 >= threshold * v[0])
                .count();
            assert_eq!(s["figures"]["scheduled_minutes"], offered, "{s}");
            assert_eq!(s["figures"]["invalid_minutes"], invalid, "{s}");
            assert_eq!(s["pupils_over_threshold"], over as i64, "{s}");
            total += offered;
        }
        assert_eq!(o["total"]["scheduled_minutes"], total);
        let weeks: i64 = o["weeks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["figures"]["scheduled_minutes"].as_i64().unwrap())
            .sum();
        assert_eq!(weeks, total, "the weeks add up to the total");
        // by school form and year group: the same total, each year group's number beside it
        let years = o["year_groups"].as_array().unwrap();
        let by_year: i64 = years
            .iter()
            .map(|y| y["figures"]["scheduled_minutes"].as_i64().unwrap())
            .sum();
        assert_eq!(by_year, total, "the year groups add up to the total");
        for y in years {
            let (year, number) = (
                y["year_group"].as_i64().unwrap(),
                y["school_year_number"].as_i64().unwrap(),
            );
            let want = if y["school_form"] == "grundskola" {
                year + 1
            } else {
                year
            };
            assert_eq!(number, want, "{y}");
        }
        assert!(years.iter().any(|y| y["school_form"] == "gymnasieskola"));
        assert!(o["weeks"][0]["week"]
            .as_str()
            .unwrap()
            .starts_with("2026-W"));

        // one school's weeks, on the page and in the API; a school of nobody's is a 404
        let first = schools[0]["id"].as_i64().unwrap();
        let (_, one) = api_get(
            &app,
            Some(&token),
            &format!("/api/v1/huvudman/schools?{q}&school={first}"),
        )
        .await;
        assert_eq!(one["school"]["id"], first);
        assert!(!one["school"]["weeks"].as_array().unwrap().is_empty());
        assert_eq!(
            api_get(
                &app,
                Some(&token),
                &format!("/api/v1/huvudman/schools?{q}&school=999999")
            )
            .await
            .0,
            404
        );
        let mut b = Browser::open(&app).await;
        b.sign_in(&admin, narvaro::seed::DEMO_PASSWORD).await;
        let page = b
            .get(&format!("/huvudman/schools?{q}&school={first}"))
            .await;
        assert_eq!(page.status, 200);
        for s in schools {
            assert!(page.body.contains(s["name"].as_str().unwrap()));
        }
        assert!(
            page.body.contains("id=\"school\""),
            "the school's weeks are shown"
        );
        let csv = b.get(&format!("/huvudman/schools?{q}&csv=schools")).await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.body.lines().count(), 5, "a head and four schools");
        let across = b
            .get("/huvudman/schools?period=custom&from=2026-05-01&to=2026-09-01")
            .await;
        assert_eq!(across.status, 400);
        assert!(across.body.contains("två läsår"), "{}", across.body);
    }
}

/// Issue 38: the huvudman's pages at 1280 px pass axe; the chart has its axis labelled and
/// its figures in a table beside it.
#[actix_web::test]
async fn the_huvudman_pages_pass_axe_at_1280_px() {
    if !crate::e2e::browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let pool = pool(&app);
    let admin = municipality(&mut conn(&pool));
    let d = crate::e2e::Driver::start_as(crate::e2e::Setup {
        width: 1280,
        height: 900,
        js: true,
    })
    .await;
    d.sign_in(&app, &admin).await;
    d.go(&app.url("/huvudman/schools?period=custom&from=2026-10-12&to=2026-11-25"))
        .await;
    d.wait_text("h1", "Huvudmannens översikt").await;
    d.check_page("the huvudman's overview").await;
    assert!(d.has("svg.trend title").await, "the chart is named");
    assert!(d.has("svg.trend text.axis").await, "the axes are labelled");
    assert!(
        d.has("#weeks ~ div.scroll table.figures").await,
        "a table beside the chart"
    );
    d.click("table.figures tbody tr th a").await;
    d.wait_text("#school", "veckor").await;
    d.check_page("the huvudman's overview with one school")
        .await;
    d.go(&app.url("/huvudman/term-report")).await;
    d.wait_text("h1", "Terminsrapport").await;
    d.check_page("the term report's check").await;
    d.call("DELETE", "", None).await;
}
