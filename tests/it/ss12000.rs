//! The SS 12000 export as a standard client reads it, on both databases, checked against
//! the published SS 12000:2020 API, version 2.1 (`openapi_ss12000_version2_1_0.yaml`,
//! repository ist-group/ss12k2xsd): its `Error` component (`code` and `message`, both
//! required strings), its paging (`pageToken` "cannot be combined with other filters but
//! with `limit`"), the parameters of `/attendances`, `/absences` and
//! `/aggregatedAttendance`, and `Attendance.absenceReason` (a string, not null).

use std::collections::BTreeSet;

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::Value;

use crate::browser::{api_get, api_token, conn, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, test_today, TestApp};

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
    let obj = body.as_object().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        obj.keys().map(String::as_str).collect::<Vec<_>>(),
        ["code", "message"],
        "{body}"
    );
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[actix_web::test]
async fn a_client_that_follows_only_the_token_gets_exactly_its_query() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let today = test_today();
        let week = format!(
            "startTime.onOrAfter={}&startTime.onOrBefore={}",
            today - chrono::Duration::days(7),
            today
        );
        for resource in ["attendances", "absences"] {
            let paged = follow(&app, &principal, resource, &week, 7).await;
            let whole = follow(&app, &principal, resource, &week, 1000).await;
            assert!(
                !whole.is_empty(),
                "{kind:?} {resource}: the week has records"
            );
            assert_eq!(
                paged.len(),
                whole.len(),
                "{kind:?} {resource}: no record twice"
            );
            assert_eq!(ids(&paged), ids(&whole), "{kind:?} {resource}");
        }
        // page 2 of aggregated attendance with only the token
        let dates = format!(
            "startDate={}&endDate={}",
            today - chrono::Duration::days(14),
            today
        );
        let paged = follow(&app, &principal, "aggregatedAttendance", &dates, 5).await;
        let whole = follow(&app, &principal, "aggregatedAttendance", &dates, 1000).await;
        assert!(whole.len() > 5, "{kind:?}: more than a page");
        assert_eq!(ids(&paged), ids(&whole), "{kind:?} aggregated");
        assert_eq!(paged.len(), whole.len());

        // one pupil's records only; a pupil out of reach is not there
        let child = world.ids.child;
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
            hers.iter()
                .all(|r| r["student"]["id"].as_str() == Some(child.to_string().as_str())),
            "{kind:?}: {hers:?}"
        );
        let (status, body) = api_get(
            &app,
            Some(&principal),
            "/api/ss12000/v2/attendances?student=99999999",
        )
        .await;
        assert_eq!(status, 404, "{body}");
        assert_error(&body, "not_found");

        // absenceReason is a string or left out, never null
        for r in &whole_attendances(&app, &principal, &week).await {
            assert!(
                r.get("absenceReason").is_none_or(Value::is_string),
                "{kind:?}: {r}"
            );
        }

        // a school by the id the export names it by (an imported school's SS 12000 id)
        let uuid = "4a7f0b2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
        {
            let mut c = conn(&world.pool);
            diesel::update(organisations::table.find(world.ids.school1))
                .set(organisations::external_id.eq(uuid))
                .execute(&mut *c)
                .unwrap();
        }
        let by_id = follow(
            &app,
            &principal,
            "absences",
            &format!("{week}&organisation={}", world.ids.school1),
            1000,
        )
        .await;
        let by_uuid = follow(
            &app,
            &principal,
            "absences",
            &format!("{week}&organisation={uuid}"),
            1000,
        )
        .await;
        assert_eq!(ids(&by_id), ids(&by_uuid), "{kind:?}");
    }
}

async fn whole_attendances(app: &TestApp, token: &str, week: &str) -> Vec<Value> {
    follow(app, token, "attendances", week, 1000).await
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
        let cases = [
            // the token carries the query: nothing but limit beside it
            (format!("/api/ss12000/v2/attendances?pageToken={token}&student=1"), "page_token_with_filters"),
            (format!("/api/ss12000/v2/attendances?pageToken={token}&startTime.onOrAfter=2026-11-01"), "page_token_with_filters"),
            // a token of one resource is no token of another
            (format!("/api/ss12000/v2/absences?pageToken={token}"), "bad_page_token"),
            ("/api/ss12000/v2/attendances?pageToken=zz".to_string(), "bad_page_token"),
            // defined by the standard, not supported yet: refused, not ignored
            ("/api/ss12000/v2/attendances?meta.modified.after=2026-11-01T00:00:00Z".to_string(), "unsupported_parameter"),
            ("/api/ss12000/v2/attendances?calendarEvent=1".to_string(), "unsupported_parameter"),
            ("/api/ss12000/v2/absences?type=Tj%C3%A4nstledighet".to_string(), "unsupported_parameter"),
            ("/api/ss12000/v2/absences?sortkey=StartTimeAsc".to_string(), "unsupported_parameter"),
            ("/api/ss12000/v2/aggregatedAttendance?startDate=2026-11-01&endDate=2026-11-20&schoolType=GR".to_string(), "unsupported_parameter"),
            // not a parameter at all
            ("/api/ss12000/v2/attendances?studnet=1".to_string(), "unknown_parameter"),
            // each resource's own period parameters
            ("/api/ss12000/v2/attendances?startDate=2026-11-01".to_string(), "unknown_parameter"),
            ("/api/ss12000/v2/aggregatedAttendance?startDate=2026-11-01&endDate=2026-11-20&startTime.onOrAfter=2026-11-01".to_string(), "unknown_parameter"),
            ("/api/ss12000/v2/absences?organisation=1&organisation=2".to_string(), "repeated_parameter"),
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
