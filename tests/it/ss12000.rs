//! The SS 12000 export as a standard client reads it, on both databases, checked against
//! the published SS 12000:2020 API, version 2.1 (`openapi_ss12000_version2_1_0.yaml`,
//! repository ist-group/ss12k2xsd; the schemas are in `ss12000_schema.rs`): every record of
//! the demo valid; paging (`pageToken` "cannot be combined with other filters but with
//! `limit`") that gives exactly the query; the filters of `/attendances` and `/absences`;
//! records by id and by lookup; `meta.modified` and `/deletedEntities`, so that a client
//! that follows changes stays in step; and what it refuses, in the standard's `Error`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{api_get, api_post, api_token, conn, Uuids, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, test_moment, test_today, TestApp};
use crate::ss12000_schema as schema;

/// Every record of a query: the first page with the query, then only the token (and the
/// limit), as the standard says a client may.
async fn follow(
    app: &TestApp,
    token: &str,
    resource: &str,
    query: &str,
    limit: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/ss12000/v2/{resource}?{query}&limit={limit}");
    for _ in 0..10_000 {
        let (status, body) = api_get(app, Some(token), &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        out.extend(body["data"].as_array().unwrap().iter().cloned());
        match body.get("pageToken").and_then(Value::as_str) {
            Some(t) => path = format!("/api/ss12000/v2/{resource}?limit={limit}&pageToken={t}"),
            None => return out,
        }
    }
    panic!("no last page");
}

fn ids(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| match &r["id"] {
            Value::String(s) => s.clone(),
            // aggregated records have no id: their key is activity and student
            _ => format!("{}/{}", r["activity"]["id"], r["student"]["id"]),
        })
        .collect()
}

/// An answer is the standard's `Error`: exactly `code` and `message`, both strings.
fn assert_error(body: &Value, code: &str) {
    assert_eq!(
        schema::check(body, &schema::error()),
        Vec::<String>::new(),
        "{body}"
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    assert_eq!(body["code"], code, "{body}");
}

/// An RFC 3339 instant for a query string.
fn at(t: NaiveDateTime) -> String {
    format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

fn modified(r: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(r["meta"]["modified"].as_str().unwrap()).unwrap()
}

#[actix_web::test]
async fn every_record_of_the_demo_is_valid_against_the_standard() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let admin = api_token(&app, "demo.admin", DEMO_PASSWORD).await;
        let all = |body: &Value, item: Value| schema::check(body, &schema::list(item));
        // the demo's twelve weeks, every attendance record, page by page
        let mut path = "/api/ss12000/v2/attendances?limit=1000".to_string();
        let (mut records, mut reasons) = (0, 0);
        loop {
            let (status, body) = api_get(&app, Some(&admin), &path).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                all(&body, schema::attendance()),
                Vec::<String>::new(),
                "{kind:?}"
            );
            let data = body["data"].as_array().unwrap();
            records += data.len();
            reasons += data
                .iter()
                .filter(|r| r.get("absenceReason").is_some())
                .count();
            match body["pageToken"].as_str() {
                Some(t) => path = format!("/api/ss12000/v2/attendances?pageToken={t}"),
                None => break,
            }
        }
        let reported: i64 = {
            let mut c = conn(&world.pool);
            lesson_reports::table.count().get_result(&mut *c).unwrap()
        };
        assert!(
            records as i64 > reported * 10,
            "{kind:?}: {records} records of {reported} lessons"
        );
        assert!(reasons > 0, "{kind:?}: some marks have a reason");
        // absences, with names, and the aggregate of the whole demo
        let (_, body) = api_get(
            &app,
            Some(&admin),
            "/api/ss12000/v2/absences?expandReferenceNames=true",
        )
        .await;
        assert_eq!(
            all(&body, schema::absence()),
            Vec::<String>::new(),
            "{kind:?}"
        );
        let data = body["data"].as_array().unwrap();
        assert!(data.len() > 100, "{kind:?}: {}", data.len());
        assert!(data.iter().all(|r| r["student"]["displayName"].is_string()));
        let types: BTreeSet<&str> = data.iter().filter_map(|r| r["type"].as_str()).collect();
        assert_eq!(types.len(), 2, "{kind:?}: reports and granted leave");
        let today = test_today();
        let agg = format!(
            "/api/ss12000/v2/aggregatedAttendance?startDate={}&endDate={today}",
            today - Duration::weeks(12)
        );
        let (_, body) = api_get(&app, Some(&admin), &agg).await;
        assert_eq!(
            all(&body, schema::aggregated()),
            Vec::<String>::new(),
            "{kind:?}"
        );
        assert!(!body["data"].as_array().unwrap().is_empty());
        let (_, body) = api_get(&app, Some(&admin), "/api/ss12000/v2/deletedEntities").await;
        assert_eq!(
            schema::check(&body, &schema::deleted_entities()),
            Vec::<String>::new()
        );
        assert_eq!(
            body["data"]["absences"],
            json!([world.ids.report_uuid]),
            "{kind:?}"
        );
        assert_eq!(body["data"]["attendances"], json!([]));
    }
}

#[actix_web::test]
async fn a_client_that_follows_only_the_token_gets_exactly_its_query() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let uuids = Uuids::load(&world.pool);
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let today = test_today();
        let week = format!(
            "startTime.onOrAfter={}&startTime.onOrBefore={today}",
            today - Duration::days(7)
        );
        let start = at(test_moment().naive_utc() - Duration::days(7));
        let week_absences = format!("startTime.onOrAfter={start}");
        for (resource, query) in [("attendances", &week), ("absences", &week_absences)] {
            let paged = follow(&app, &principal, resource, query, 7).await;
            let whole = follow(&app, &principal, resource, query, 1000).await;
            assert!(
                !whole.is_empty(),
                "{kind:?} {resource}: the week has records"
            );
            assert_eq!(
                paged.len(),
                whole.len(),
                "{kind:?} {resource}: no record twice"
            );
            assert_eq!(
                paged, whole,
                "{kind:?} {resource}: the same records in the same order"
            );
        }
        // page 2 of aggregated attendance with only the token
        let dates = format!("startDate={}&endDate={today}", today - Duration::days(14));
        let paged = follow(&app, &principal, "aggregatedAttendance", &dates, 5).await;
        let whole = follow(&app, &principal, "aggregatedAttendance", &dates, 1000).await;
        assert!(whole.len() > 5, "{kind:?}: more than a page");
        assert_eq!(ids(&paged), ids(&whole), "{kind:?} aggregated");
        assert_eq!(paged.len(), whole.len());

        // one pupil's records only, by her uuid; a pupil out of reach is not there
        let child = uuids.person(world.ids.child).to_string();
        let hers = follow(
            &app,
            &principal,
            "attendances",
            &format!("{week}&student={child}"),
            3,
        )
        .await;
        assert!(!hers.is_empty());
        assert!(
            hers.iter().all(|r| r["student"]["id"] == child.as_str()),
            "{kind:?}"
        );
        let (status, body) = api_get(
            &app,
            Some(&principal),
            "/api/ss12000/v2/attendances?student=046b6c7f-0b8a-43b9-b35d-6489e6daee91",
        )
        .await;
        assert_eq!(status, 404, "{body}");
        assert_error(&body, "not_found");
        // one calendar event's records
        let lesson = uuids.id(&hers[0]["calendarEvent"]).unwrap();
        let its = follow(
            &app,
            &principal,
            "attendances",
            &format!("calendarEvent={}", uuids.lesson(lesson)),
            1000,
        )
        .await;
        assert!(its
            .iter()
            .all(|r| r["calendarEvent"]["id"] == uuids.lesson(lesson)));
        assert!(its.iter().any(|r| r["id"] == hers[0]["id"]));

        // the school, and the municipality above it, as organisation
        let whole = follow(&app, &principal, "absences", &week_absences, 1000).await;
        let school = uuids.org(world.ids.school1).to_string();
        let by_school = follow(
            &app,
            &principal,
            "absences",
            &format!("{week_absences}&organisation={school}"),
            1000,
        )
        .await;
        assert_eq!(
            ids(&by_school),
            ids(&whole),
            "{kind:?}: the principal has one school"
        );
        let municipality: i64 = {
            let mut c = conn(&world.pool);
            organisations::table
                .find(world.ids.school1)
                .select(organisations::parent_id.assume_not_null())
                .first(&mut *c)
                .unwrap()
        };
        let by_municipality = follow(
            &app,
            &principal,
            "absences",
            &format!("{week_absences}&organisation={}", uuids.org(municipality)),
            1000,
        )
        .await;
        assert_eq!(ids(&by_municipality), ids(&whole), "{kind:?}");
    }
}

#[actix_web::test]
async fn absences_filter_and_sort_as_the_standard_says() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let admin = api_token(&app, "demo.admin", DEMO_PASSWORD).await;
        let whole = follow(&app, &admin, "absences", "expandReferenceNames=false", 1000).await;
        let time = |r: &Value, f: &str| {
            chrono::DateTime::parse_from_rfc3339(r[f].as_str().unwrap()).unwrap()
        };
        // each sort key, paged by the token alone, is the whole list in that order
        for (key, field, desc) in [
            ("StartTimeAsc", "startTime", false),
            ("StartTimeDesc", "startTime", true),
            ("ModifiedDesc", "meta", true),
        ] {
            let sorted = follow(&app, &admin, "absences", &format!("sortkey={key}"), 13).await;
            assert_eq!(ids(&sorted), ids(&whole), "{kind:?} {key}");
            assert_eq!(sorted.len(), whole.len());
            let keys: Vec<_> = sorted
                .iter()
                .map(|r| {
                    if field == "meta" {
                        modified(r)
                    } else {
                        time(r, field)
                    }
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort();
            if desc {
                expected.reverse();
            }
            assert_eq!(keys, expected, "{kind:?} {key}");
        }
        // type, registeredBy and the time bounds pick exactly what they say
        for t in ["Anmäld frånvaro", "Beviljad ledighet"] {
            let q = serde_urlencoded::to_string([("type", t)]).unwrap();
            let of_type = follow(&app, &admin, "absences", &q, 1000).await;
            let expected: Vec<&Value> = whole.iter().filter(|r| r["type"] == t).collect();
            assert_eq!(of_type.len(), expected.len(), "{kind:?} {t}");
            assert!(!of_type.is_empty());
        }
        let by = whole[0]["registeredBy"]["id"].as_str().unwrap();
        let theirs = follow(
            &app,
            &admin,
            "absences",
            &format!("registeredBy={by}"),
            1000,
        )
        .await;
        let expected = whole
            .iter()
            .filter(|r| r["registeredBy"]["id"] == by)
            .count();
        assert_eq!(theirs.len(), expected, "{kind:?}");
        let middle = time(&whole[whole.len() / 2], "endTime").naive_utc();
        for (param, field, after) in [
            ("endTime.onOrAfter", "endTime", true),
            ("endTime.onOrBefore", "endTime", false),
            ("startTime.onOrAfter", "startTime", true),
            ("startTime.onOrBefore", "startTime", false),
        ] {
            let got = follow(
                &app,
                &admin,
                "absences",
                &format!("{param}={}", at(middle)),
                1000,
            )
            .await;
            let expected = whole
                .iter()
                .filter(|r| {
                    let t = time(r, field).naive_utc();
                    if after {
                        t >= middle
                    } else {
                        t <= middle
                    }
                })
                .count();
            assert_eq!(got.len(), expected, "{kind:?} {param}");
        }
        // by id, and many by lookup; what is not there is a 404 alone and left out of many
        let one = &whole[3];
        let (status, body) = api_get(
            &app,
            Some(&admin),
            &format!("/api/ss12000/v2/absences/{}", one["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!((status, &body), (200, one), "{kind:?}");
        let missing = "046b6c7f-0b8a-43b9-b35d-6489e6daee91";
        let (status, _) = api_get(
            &app,
            Some(&admin),
            &format!("/api/ss12000/v2/absences/{missing}"),
        )
        .await;
        assert_eq!(status, 404);
        let (status, body) = api_get(&app, Some(&admin), "/api/ss12000/v2/absences/r1").await;
        assert_eq!(status, 400, "{body}");
        assert_error(&body, "bad_id");
        let wanted =
            json!({"ids": [whole[0]["id"], whole[1]["id"], missing, world.ids.report_uuid]});
        let (status, body) = api_post(
            &app,
            Some(&admin),
            "/api/ss12000/v2/absences/lookup",
            &wanted,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            ids(body.as_array().unwrap()),
            ids(&whole[..2]),
            "{kind:?}: the cancelled report is gone"
        );
    }
}

#[actix_web::test]
async fn attendance_by_id_and_by_lookup_is_what_the_list_says() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let uuids = Uuids::load(&world.pool);
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let other = api_token(&app, "other.principal", DEMO_PASSWORD).await;
        let child = uuids.person(world.ids.child).to_string();
        let hers = follow(
            &app,
            &principal,
            "attendances",
            &format!("student={child}"),
            1000,
        )
        .await;
        assert!(hers.len() > 20, "{kind:?}: {}", hers.len());
        let one = &hers[5];
        let path = format!(
            "/api/ss12000/v2/attendances/{}",
            one["id"].as_str().unwrap()
        );
        let (status, body) = api_get(&app, Some(&principal), &path).await;
        assert_eq!((status, &body), (200, one), "{kind:?}");
        assert_eq!(
            api_get(&app, Some(&other), &path).await.0,
            404,
            "{kind:?}: not another school's"
        );
        let (status, body) =
            api_get(&app, Some(&principal), "/api/ss12000/v2/attendances/1-293").await;
        assert_eq!(status, 400, "{body}");
        assert_error(&body, "bad_id");
        // by student: the same records as the list; by calendar event and ids too
        let lookup = "/api/ss12000/v2/attendances/lookup";
        let (status, body) = api_post(
            &app,
            Some(&principal),
            lookup,
            &json!({"students": [child]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids(body.as_array().unwrap()), ids(&hers), "{kind:?}");
        let event = one["calendarEvent"]["id"].clone();
        let (_, body) = api_post(
            &app,
            Some(&principal),
            lookup,
            &json!({"calendareEvents": [event], "ids": [hers[0]["id"]]}),
        )
        .await;
        let got = body.as_array().unwrap();
        assert!(
            got.iter().any(|r| r["id"] == one["id"])
                && got.iter().any(|r| r["id"] == hers[0]["id"])
        );
        assert!(got
            .iter()
            .all(|r| r["calendarEvent"]["id"] == event || r["id"] == hers[0]["id"]));
        // another school's principal gets nothing of it
        let (_, body) = api_post(
            &app,
            Some(&other),
            lookup,
            &json!({"students": [child], "ids": [one["id"]]}),
        )
        .await;
        assert_eq!(body, json!([]), "{kind:?}");
        for bad in [json!({"ids": ["1-293"]}), json!({"ids": "x"}), json!([1])] {
            let (status, body) = api_post(&app, Some(&principal), lookup, &bad).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        // names only when asked for
        assert!(one["student"].get("displayName").is_none());
        let (_, named) = api_post(
            &app,
            Some(&principal),
            &format!("{lookup}?expandReferenceNames=true"),
            &json!({"ids": [one["id"]]}),
        )
        .await;
        assert!(named[0]["student"]["displayName"].is_string(), "{named}");
        assert!(
            named[0]["calendarEvent"]["displayName"].is_string(),
            "{named}"
        );
    }
}

#[actix_web::test]
async fn a_client_that_follows_changes_stays_in_step() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let uuids = Uuids::load(&world.pool);
        let admin = api_token(&app, "demo.admin", DEMO_PASSWORD).await;
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        // the service's clock starts at the test moment and runs on
        let now = app.config.clock.now_utc();
        let since = format!("meta.modified.after={}", at(now - Duration::seconds(1)));
        // nothing changed yet
        assert_eq!(
            follow(&app, &admin, "attendances", &since, 1000).await,
            Vec::<Value>::new()
        );
        assert_eq!(
            follow(&app, &admin, "absences", &since, 1000).await,
            Vec::<Value>::new()
        );

        // the teacher corrects an earlier lesson: every record of it moves
        let (lesson, pupil): (i64, i64) = {
            let mut c = conn(&world.pool);
            let teacher_id: i64 = people::table
                .filter(people::username.eq("demo.teacher"))
                .select(people::id)
                .first(&mut *c)
                .unwrap();
            let lesson = lessons::table
                .inner_join(lesson_reports::table)
                .inner_join(
                    activity_teachers::table
                        .on(activity_teachers::activity_id.eq(lessons::activity_id)),
                )
                .filter(activity_teachers::teacher_id.eq(teacher_id))
                .filter(lessons::lesson_date.lt(test_today()))
                .select(lessons::id)
                .order(lessons::lesson_date.desc())
                .first(&mut *c)
                .unwrap();
            let pupil = attendance_marks::table
                .filter(attendance_marks::lesson_id.eq(lesson))
                .select(attendance_marks::pupil_id)
                .first(&mut *c)
                .optional()
                .unwrap();
            (lesson, pupil.unwrap_or(world.ids.child))
        };
        let before = follow(
            &app,
            &admin,
            "attendances",
            &format!("calendarEvent={}", uuids.lesson(lesson)),
            1000,
        )
        .await;
        let res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({"marks": [{"pupil_id": pupil, "status": "late", "minutes": 7}], "correction_reason": "Fel elev"}))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{kind:?}");
        let changed = follow(&app, &admin, "attendances", &since, 1000).await;
        assert_eq!(
            ids(&changed),
            ids(&before),
            "{kind:?}: the lesson's records"
        );
        let theirs = changed
            .iter()
            .find(|r| r["student"]["id"] == uuids.person(pupil))
            .unwrap();
        let absent = |r: &Value| {
            r["validAbsenceMinutes"].as_i64().unwrap()
                + r["invalidAbsenceMinutes"].as_i64().unwrap()
        };
        assert_eq!(absent(theirs), 7, "{kind:?}: late 7 minutes: {theirs}");
        assert!(changed
            .iter()
            .all(|r| modified(r).naive_utc() >= now - Duration::seconds(1)));
        let created: BTreeMap<String, Value> = before
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_string(),
                    r["meta"]["created"].clone(),
                )
            })
            .collect();
        assert!(
            changed
                .iter()
                .all(|r| created[r["id"].as_str().unwrap()] == r["meta"]["created"]),
            "{kind:?}: created stays"
        );

        // the school reports the child absent on an earlier day: her records of that day
        // move (a pupil's, not the class's), and so does the new absence
        let child = world.ids.child;
        let day = test_today() - Duration::days(1);
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let (status, report) = api_post(&app, Some(&principal), "/api/v1/absence-reports", &json!({"pupil_id": child, "from": format!("{day}T00:00"), "to": format!("{day}T23:59")})).await;
        assert_eq!(status, 201, "{kind:?}: {report}");
        let changed = follow(&app, &admin, "attendances", &since, 1000).await;
        let hers: Vec<&Value> = changed
            .iter()
            .filter(|r| r["student"]["id"] == uuids.person(child))
            .collect();
        let on_day = follow(
            &app,
            &admin,
            "attendances",
            &format!(
                "student={}&startTime.onOrAfter={day}&startTime.onOrBefore={day}",
                uuids.person(child)
            ),
            1000,
        )
        .await;
        assert!(!on_day.is_empty(), "{kind:?}: she had lessons that day");
        for r in &on_day {
            assert!(hers.iter().any(|h| h["id"] == r["id"]), "{kind:?}: {r}");
        }
        let absences = follow(&app, &admin, "absences", &since, 1000).await;
        assert_eq!(absences.len(), 1, "{kind:?}: {absences:?}");
        let report_id = absences[0]["id"].as_str().unwrap().to_string();

        // cancelled, it leaves the list and is named by /deletedEntities after the moment
        let numeric = report["id"].as_i64().unwrap();
        let res = app
            .client
            .delete(app.url(&format!("/api/v1/absence-reports/{numeric}")))
            .insert_header(("Authorization", format!("Bearer {principal}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{kind:?}");
        assert_eq!(
            follow(&app, &admin, "absences", &since, 1000).await,
            Vec::<Value>::new()
        );
        let (_, gone) = api_get(
            &app,
            Some(&admin),
            &format!(
                "/api/ss12000/v2/deletedEntities?after={}&entities=Absence",
                at(now - Duration::seconds(1))
            ),
        )
        .await;
        assert_eq!(gone["data"], json!({"absences": [report_id]}), "{kind:?}");
        let later = app.config.clock.now_utc() + Duration::seconds(1);
        let (_, earlier) = api_get(
            &app,
            Some(&admin),
            &format!("/api/ss12000/v2/deletedEntities?after={}", at(later)),
        )
        .await;
        assert_eq!(earlier["data"]["absences"], json!([]), "{kind:?}");
    }
}

#[actix_web::test]
async fn what_the_export_does_not_do_it_refuses_in_the_standards_error() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        fixtures::build(&app);
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let (_, first) = api_get(
            &app,
            Some(&principal),
            "/api/ss12000/v2/attendances?limit=2",
        )
        .await;
        let token = first["pageToken"]
            .as_str()
            .expect("a second page")
            .to_string();
        let some = "046b6c7f-0b8a-43b9-b35d-6489e6daee91";
        let cases = [
            // the token carries the query: nothing but limit beside it
            (format!("/api/ss12000/v2/attendances?pageToken={token}&student={some}"), "page_token_with_filters"),
            (format!("/api/ss12000/v2/attendances?pageToken={token}&startTime.onOrAfter=2026-11-01"), "page_token_with_filters"),
            // a token of one resource is no token of another
            (format!("/api/ss12000/v2/absences?pageToken={token}"), "bad_page_token"),
            ("/api/ss12000/v2/attendances?pageToken=zz".to_string(), "bad_page_token"),
            // defined by the standard, not supported yet: refused, not ignored
            ("/api/ss12000/v2/aggregatedAttendance?startDate=2026-11-01&endDate=2026-11-20&expand=activity".to_string(), "unsupported_parameter"),
            // values the standard's types do not allow
            ("/api/ss12000/v2/attendances?calendarEvent=1".to_string(), "bad_id"),
            ("/api/ss12000/v2/absences?organisation=4".to_string(), "bad_id"),
            ("/api/ss12000/v2/absences?type=Tj%C3%A4nstledighet".to_string(), "bad_parameter"),
            ("/api/ss12000/v2/absences?sortkey=NameAsc".to_string(), "bad_parameter"),
            ("/api/ss12000/v2/absences?expandReferenceNames=yes".to_string(), "bad_parameter"),
            ("/api/ss12000/v2/aggregatedAttendance?startDate=2026-11-01&endDate=2026-11-20&schoolType=XX".to_string(), "bad_parameter"),
            ("/api/ss12000/v2/deletedEntities?entities=Pupil".to_string(), "bad_parameter"),
            ("/api/ss12000/v2/absences?meta.modified.after=2026-11-01".to_string(), "bad_datetime"),
            ("/api/ss12000/v2/deletedEntities?after=ig%C3%A5r".to_string(), "bad_datetime"),
            ("/api/ss12000/v2/absences?startTime.onOrAfter=2026-11-20T00:00:00Z&startTime.onOrBefore=2026-11-01T00:00:00Z".to_string(), "period_reversed"),
            // not a parameter at all, or not of this resource
            (format!("/api/ss12000/v2/attendances?studnet={some}"), "unknown_parameter"),
            ("/api/ss12000/v2/attendances?startDate=2026-11-01".to_string(), "unknown_parameter"),
            ("/api/ss12000/v2/attendances?sortkey=StartTimeAsc".to_string(), "unknown_parameter"),
            ("/api/ss12000/v2/aggregatedAttendance?startDate=2026-11-01&endDate=2026-11-20&startTime.onOrAfter=2026-11-01".to_string(), "unknown_parameter"),
            (format!("/api/ss12000/v2/absences?organisation={some}&organisation={some}"), "repeated_parameter"),
            // required by the standard
            ("/api/ss12000/v2/aggregatedAttendance?endDate=2026-11-20".to_string(), "missing_parameter"),
            ("/api/ss12000/v2/aggregatedAttendance?startDate=2026-11-01".to_string(), "missing_parameter"),
            ("/api/ss12000/v2/attendances?limit=0".to_string(), "bad_limit"),
        ];
        for (path, code) in cases {
            let (status, body) = api_get(&app, Some(&principal), &path).await;
            assert_eq!(status, 400, "{kind:?} {path}: {body}");
            assert_error(&body, code);
        }
        // a limit above a page is pages of 1000; a + the query string made a space is a +
        let (status, body) = api_get(
            &app,
            Some(&principal),
            "/api/ss12000/v2/attendances?limit=5000",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"].as_array().map(Vec::len), Some(1000));
        let (status, body) = api_get(
            &app,
            Some(&principal),
            "/api/ss12000/v2/absences?meta.created.after=2026-11-01T00:00:00+01:00",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // an unknown record is a 404
        let (status, body) = api_get(
            &app,
            Some(&principal),
            &format!("/api/ss12000/v2/absences?student={some}"),
        )
        .await;
        assert_eq!(status, 404, "{body}");
        assert_error(&body, "not_found");
        // without a token: 401, the standard's error, and how to authenticate
        let mut res = app
            .client
            .get(app.url("/api/ss12000/v2/absences"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.headers().get("www-authenticate").is_some());
        let body: Value = res.json().await.unwrap();
        assert_error(&body, "unauthorized");
    }
}
