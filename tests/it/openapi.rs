//! The API contract: `api-spec/openapi.yaml` names every API route and no other, is
//! served as it is, and what the API answers (successes and problems, for several roles)
//! matches the document's schemas exactly: no missing field, no undocumented field, no
//! wrong type. CI also runs a schema-driven fuzzer against it (`scripts/fuzz-api`).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::browser::{api_token, DEMO_PASSWORD};
use crate::fixtures::{self, Role};
use crate::helpers::{backends, TestApp};

pub fn document() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/api-spec/openapi.yaml"
    ))
    .expect("api-spec/openapi.yaml");
    yaml_serde::from_str(&text).expect("the OpenAPI document is YAML")
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut at = doc;
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            assert!(!at.is_null(), "{r} is defined");
            at
        }
        None => v,
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        other => panic!("type {other} is not one the test knows"),
    }
}

/// Checks `v` against a JSON Schema (the subset the document uses); properties the schema
/// does not name are errors, so the document cannot fall behind the code.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = resolve(doc, schema);
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        // the union of the parts' properties is what may appear
        let mut merged = json!({"type": "object", "properties": {}, "required": []});
        for part in all {
            let part = resolve(doc, part);
            for (k, p) in part["properties"].as_object().into_iter().flatten() {
                merged["properties"][k] = p.clone();
            }
            for r in part["required"].as_array().into_iter().flatten() {
                merged["required"].as_array_mut().unwrap().push(r.clone());
            }
        }
        return check(doc, &merged, v, at, errors);
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errors.push(format!("{at}: {v} is not {c}"));
        }
        return;
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errors.push(format!("{at}: {v} is not one of {e:?}"));
        }
        return;
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, v)) {
        errors.push(format!("{at}: {v} is not {types:?}"));
        return;
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            errors.push(format!("{at}: {n} < {min}"));
        }
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                errors.push(format!("{at}: required {r} is missing"));
            }
        }
        if let Some(props) = props {
            for (k, val) in obj {
                match props.get(k) {
                    Some(p) => check(doc, p, val, &format!("{at}.{k}"), errors),
                    None => errors.push(format!("{at}: {k} is not in the document")),
                }
            }
        }
    }
    if let (Some(items), Some(list)) = (s.get("items"), v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// The document's routes under /api/v1, as (method, path).
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                out.insert((m.to_string(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_document_names_every_api_route_and_no_other() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let routes: BTreeSet<(String, String)> = narvaro::web::ROUTES
        .iter()
        .filter(|(_, p)| (p.starts_with("/api/") && *p != "/api/docs") || *p == "/oauth/token")
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented(&doc),
        routes,
        "api-spec/openapi.yaml and narvaro::web::ROUTES differ"
    );
    // every operation answers problems in the documented shape
    for (m, p) in documented(&doc) {
        let op = &doc["paths"][&p][&m];
        assert!(
            op["responses"].get("default").is_some() || p.ends_with("openapi.yaml"),
            "{m} {p} documents its errors"
        );
        assert!(op["summary"].is_string(), "{m} {p} has a summary");
    }
    // the built-in copy is the file, and parses
    assert_eq!(narvaro::web::api_docs::document(), &doc);
}

struct Call {
    method: &'static str,
    /// the document's path pattern
    pattern: &'static str,
    path: String,
    role: Option<Role>,
    body: Option<Value>,
}

fn call(
    method: &'static str,
    pattern: &'static str,
    path: String,
    role: Option<Role>,
    body: Option<Value>,
) -> Call {
    Call {
        method,
        pattern,
        path,
        role,
        body,
    }
}

#[actix_web::test]
async fn what_the_api_answers_matches_the_document() {
    let doc = document();
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let ids = &world.ids;
        let mut tokens = std::collections::BTreeMap::new();
        for role in [
            Role::Guardian,
            Role::Teacher,
            Role::Principal,
            Role::Admin,
            Role::AdultPupil,
        ] {
            let user = world.username(role).unwrap().to_string();
            tokens.insert(role, api_token(&app, &user, DEMO_PASSWORD).await);
        }
        let today = crate::helpers::test_today();
        let later = today + chrono::Duration::days(40);
        let (t, g, p, a) = (
            Some(Role::Teacher),
            Some(Role::Guardian),
            Some(Role::Principal),
            Some(Role::Admin),
        );
        let calls = vec![
            call(
                "get",
                "/api/v1/openapi.yaml",
                "/api/v1/openapi.yaml".into(),
                None,
                None,
            ),
            call(
                "post",
                "/api/v1/auth/token",
                "/api/v1/auth/token".into(),
                None,
                Some(json!({"username": "demo.teacher", "password": DEMO_PASSWORD})),
            ),
            call(
                "post",
                "/api/v1/auth/token",
                "/api/v1/auth/token".into(),
                None,
                Some(json!({"username": "demo.teacher", "password": "wrong"})),
            ),
            call(
                "post",
                "/api/v1/auth/token",
                "/api/v1/auth/token".into(),
                None,
                Some(json!({"username": 5})),
            ),
            // not a form: RFC 6749's invalid_request (the grant itself: tests/it/api_clients.rs)
            call("post", "/oauth/token", "/oauth/token".into(), None, None),
            call("get", "/api/v1/me", "/api/v1/me".into(), g, None),
            call("get", "/api/v1/me", "/api/v1/me".into(), t, None),
            call("get", "/api/v1/me", "/api/v1/me".into(), a, None),
            call("get", "/api/v1/me", "/api/v1/me".into(), None, None),
            call(
                "get",
                "/api/v1/pupils/{id}",
                format!("/api/v1/pupils/{}", ids.child),
                g,
                None,
            ),
            call(
                "get",
                "/api/v1/pupils/{id}",
                format!("/api/v1/pupils/{}", ids.protected),
                a,
                None,
            ),
            call(
                "get",
                "/api/v1/pupils/{id}",
                "/api/v1/pupils/99999999".into(),
                g,
                None,
            ),
            call(
                "get",
                "/api/v1/pupils/{id}",
                "/api/v1/pupils/x".into(),
                g,
                None,
            ),
            call(
                "get",
                "/api/v1/pupils/{id}/absences",
                format!("/api/v1/pupils/{}/absences", ids.child),
                g,
                None,
            ),
            call(
                "get",
                "/api/v1/pupils/{id}/absences",
                format!("/api/v1/pupils/{}/absences", ids.child),
                p,
                None,
            ),
            call(
                "get",
                "/api/v1/pupils/{id}/absences",
                format!("/api/v1/pupils/{}/absences?from=yesterday", ids.child),
                p,
                None,
            ),
            call("get", "/api/v1/lessons", "/api/v1/lessons".into(), t, None),
            call(
                "get",
                "/api/v1/lessons",
                "/api/v1/lessons?date=2026-13-01".into(),
                t,
                None,
            ),
            call(
                "get",
                "/api/v1/lessons/{id}",
                format!("/api/v1/lessons/{}", ids.lesson),
                t,
                None,
            ),
            call(
                "get",
                "/api/v1/lessons/{id}/roll-call",
                format!("/api/v1/lessons/{}/roll-call", ids.lesson),
                t,
                None,
            ),
            call(
                "put",
                "/api/v1/lessons/{id}/roll-call",
                format!("/api/v1/lessons/{}/roll-call", ids.lesson),
                t,
                Some(json!({"marks": []})),
            ),
            call(
                "put",
                "/api/v1/lessons/{id}/roll-call",
                format!("/api/v1/lessons/{}/roll-call", ids.lesson),
                t,
                Some(json!({"marks": [{"pupil_id": ids.child, "status": "late", "minutes": 5}]})),
            ),
            call(
                "put",
                "/api/v1/lessons/{id}/roll-call",
                format!("/api/v1/lessons/{}/roll-call", ids.lesson),
                t,
                Some(json!({"marks": [{"pupil_id": ids.child, "status": "asleep"}]})),
            ),
            call(
                "put",
                "/api/v1/lessons/{id}/roll-call",
                format!("/api/v1/lessons/{}/roll-call", ids.lesson),
                t,
                Some(json!({"marks": "none"})),
            ),
            call(
                "put",
                "/api/v1/lessons/{id}/roll-call",
                format!("/api/v1/lessons/{}/roll-call", ids.lesson),
                t,
                Some(json!({"marks": [], "expected_version": 0})),
            ),
            call(
                "post",
                "/api/v1/absence-reports",
                "/api/v1/absence-reports".into(),
                g,
                Some(
                    json!({"pupil_id": ids.child, "from": format!("{later}T08:00:00"), "to": format!("{later}T12:00:00")}),
                ),
            ),
            call(
                "post",
                "/api/v1/absence-reports",
                "/api/v1/absence-reports".into(),
                g,
                Some(json!({"pupil_id": ids.child, "from": "tomorrow", "to": "later"})),
            ),
            call(
                "delete",
                "/api/v1/absence-reports/{id}",
                format!("/api/v1/absence-reports/{}", ids.report),
                g,
                None,
            ),
            call(
                "post",
                "/api/v1/leave-applications",
                "/api/v1/leave-applications".into(),
                g,
                Some(
                    json!({"pupil_id": ids.child, "start_date": later, "end_date": later, "reason": "Familjeresa"}),
                ),
            ),
            call(
                "post",
                "/api/v1/leave-applications",
                "/api/v1/leave-applications".into(),
                g,
                Some(
                    json!({"pupil_id": ids.child, "start_date": later, "end_date": today, "reason": "Bakvänd"}),
                ),
            ),
            call(
                "post",
                "/api/v1/leave-applications/{id}/recommendation",
                format!("/api/v1/leave-applications/{}/recommendation", ids.leave),
                t,
                Some(json!({"recommended": true})),
            ),
            call(
                "post",
                "/api/v1/leave-applications/{id}/decision",
                format!("/api/v1/leave-applications/{}/decision", ids.leave),
                p,
                Some(json!({"approved": true})),
            ),
            // both guardians: the application asks no one (404), and once decided it
            // cannot be withdrawn (409); tests/it/leave_guardians.rs calls them to 200
            call(
                "post",
                "/api/v1/leave-applications/{id}/answer",
                format!("/api/v1/leave-applications/{}/answer", ids.leave),
                g,
                Some(json!({"agree": true})),
            ),
            call(
                "post",
                "/api/v1/leave-applications/{id}/withdraw",
                format!("/api/v1/leave-applications/{}/withdraw", ids.leave),
                g,
                Some(json!({})),
            ),
            // the fixture's open signal for the child; a guardian follows nobody up
            call("get", "/api/v1/signals", "/api/v1/signals".into(), p, None),
            call("get", "/api/v1/signals", "/api/v1/signals".into(), g, None),
            // the fixture's open investigation; a guardian reaches none
            call("get", "/api/v1/cases", "/api/v1/cases".into(), p, None),
            call(
                "get",
                "/api/v1/cases/{id}",
                format!("/api/v1/cases/{}", ids.case),
                p,
                None,
            ),
            call(
                "get",
                "/api/v1/cases/{id}",
                format!("/api/v1/cases/{}", ids.case),
                g,
                None,
            ),
            // the fixture's case needs no home-municipality report (tests/it/cases.rs
            // checks the report's shape)
            call(
                "get",
                "/api/v1/cases/{id}/home-report",
                format!("/api/v1/cases/{}/home-report", ids.case),
                p,
                None,
            ),
            call(
                "get",
                "/api/v1/statistics/absence",
                format!(
                    "/api/v1/statistics/absence?scope=school&id={}&by=week",
                    ids.school1
                ),
                p,
                None,
            ),
            call(
                "get",
                "/api/v1/statistics/absence",
                format!(
                    "/api/v1/statistics/absence?scope=school&id={}&by=group",
                    ids.school1
                ),
                a,
                None,
            ),
            call(
                "get",
                "/api/v1/statistics/absence",
                format!(
                    "/api/v1/statistics/absence?scope=pupil&id={}&by=subject",
                    ids.child
                ),
                g,
                None,
            ),
            call(
                "get",
                "/api/v1/statistics/absence",
                format!(
                    "/api/v1/statistics/absence?scope=group&id={}&by=sex",
                    ids.class
                ),
                t,
                None,
            ),
            call(
                "get",
                "/api/v1/statistics/absence",
                "/api/v1/statistics/absence?scope=planet&id=1".into(),
                p,
                None,
            ),
            call(
                "get",
                "/api/v1/statistics/aggregated-attendance",
                format!(
                    "/api/v1/statistics/aggregated-attendance?student={}",
                    ids.child
                ),
                g,
                None,
            ),
            call(
                "get",
                "/api/v1/term-report",
                "/api/v1/term-report?term=HT2026&anyway=1".into(),
                a,
                None,
            ),
            call(
                "get",
                "/api/v1/term-report",
                "/api/v1/term-report?term=HT2026".into(),
                a,
                None,
            ),
            call(
                "get",
                "/api/v1/term-report",
                "/api/v1/term-report?term=VT2099".into(),
                a,
                None,
            ),
            call(
                "get",
                "/api/v1/term-report/columns",
                "/api/v1/term-report/columns".into(),
                a,
                None,
            ),
            call(
                "get",
                "/api/v1/huvudman/schools",
                format!("/api/v1/huvudman/schools?period=year&school={}", ids.school1),
                a,
                None,
            ),
            call(
                "get",
                "/api/v1/huvudman/schools",
                "/api/v1/huvudman/schools?period=custom&from=2026-05-01&to=2026-09-01".into(),
                a,
                None,
            ),
            call(
                "get",
                "/api/ss12000/v2/attendances",
                format!(
                    "/api/ss12000/v2/attendances?organisation={}&limit=5&expandReferenceNames=true",
                    ids.school1_uuid
                ),
                p,
                None,
            ),
            call(
                "get",
                "/api/ss12000/v2/attendances",
                "/api/ss12000/v2/attendances?pageToken=zz".into(),
                p,
                None,
            ),
            call(
                "get",
                "/api/ss12000/v2/absences",
                "/api/ss12000/v2/absences?limit=3".into(),
                a,
                None,
            ),
            call(
                "get",
                "/api/ss12000/v2/aggregatedAttendance",
                format!(
                    "/api/ss12000/v2/aggregatedAttendance?organisation={}&limit=2",
                    ids.school1_uuid
                ),
                p,
                None,
            ),
            call(
                "get",
                "/api/ss12000/v2/aggregatedAttendance",
                format!(
                    "/api/ss12000/v2/aggregatedAttendance?organisation={}&startDate=2026-11-02&endDate=2026-11-25&schoolType=GR&limit=2",
                    ids.school1_uuid
                ),
                p,
                None,
            ),
            call(
                "get",
                "/api/ss12000/v2/attendances/{id}",
                format!("/api/ss12000/v2/attendances/{}", ids.attendance),
                p,
                None,
            ),
            call(
                "get",
                "/api/ss12000/v2/attendances/{id}",
                "/api/ss12000/v2/attendances/not-a-uuid".into(),
                p,
                None,
            ),
            call(
                "post",
                "/api/ss12000/v2/attendances/lookup",
                "/api/ss12000/v2/attendances/lookup".into(),
                a,
                Some(json!({"ids": [ids.attendance]})),
            ),
            call(
                "get",
                "/api/ss12000/v2/absences/{id}",
                format!("/api/ss12000/v2/absences/{}", ids.leave_uuid),
                p,
                None,
            ),
            call(
                "post",
                "/api/ss12000/v2/absences/lookup",
                "/api/ss12000/v2/absences/lookup?expandReferenceNames=true".into(),
                p,
                Some(json!({"ids": [ids.leave_uuid, ids.report_uuid]})),
            ),
            call(
                "get",
                "/api/ss12000/v2/deletedEntities",
                "/api/ss12000/v2/deletedEntities?entities=Absence&entities=Person".into(),
                p,
                None,
            ),
            call(
                "post",
                "/api/v1/auth/sign-out",
                "/api/v1/auth/sign-out".into(),
                Some(Role::AdultPupil),
                None,
            ),
        ];
        let mut seen = BTreeSet::new();
        for c in calls {
            let mut req = app
                .client
                .request(c.method.to_uppercase().parse().unwrap(), app.url(&c.path));
            if let Some(role) = c.role {
                req = req.insert_header(("Authorization", format!("Bearer {}", tokens[&role])));
            }
            let mut res = match &c.body {
                Some(b) => req.send_json(b).await.unwrap(),
                None => req.send().await.unwrap(),
            };
            let status = res.status().as_u16();
            assert!(status < 500, "{} {}: {status}", c.method, c.path);
            let mime = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .to_string();
            let bytes = res.body().limit(1 << 22).await.unwrap();
            let op = &doc["paths"][c.pattern][c.method];
            assert!(op.is_object(), "{} {} is documented", c.method, c.pattern);
            let documented = op["responses"]
                .get(status.to_string())
                .or_else(|| op["responses"].get("default"))
                .unwrap_or_else(|| {
                    panic!("{} {}: status {status} is not documented", c.method, c.path)
                });
            let response = resolve(&doc, documented);
            match response.get("content").and_then(|m| m.get(&mime)) {
                None => assert!(
                    response.get("content").is_none() && bytes.is_empty(),
                    "{} {}: {status} {mime} is not documented",
                    c.method,
                    c.path
                ),
                Some(content) if mime.ends_with("json") => {
                    let body: Value = serde_json::from_slice(&bytes).unwrap();
                    let mut errors = Vec::new();
                    check(&doc, &content["schema"], &body, "body", &mut errors);
                    assert!(
                        errors.is_empty(),
                        "{} {} ({status}): {errors:#?}\n{body}",
                        c.method,
                        c.path
                    );
                    if mime == "application/problem+json" {
                        assert_eq!(body["status"], status);
                    }
                }
                Some(_) => assert_eq!(
                    bytes.as_ref(),
                    narvaro::web::api_docs::OPENAPI_YAML.as_bytes()
                ),
            }
            seen.insert((c.method.to_string(), c.pattern.to_string()));
        }
        assert_eq!(
            seen,
            documented(&doc),
            "every documented operation was called"
        );

        // malformed JSON, a wrong content type and a huge body: 4xx problems, nothing stored
        let guardian = &tokens[&Role::Guardian];
        let big = format!(
            "{{\"pupil_id\": 1, \"message\": \"{}\"}}",
            "x".repeat(3 << 20)
        );
        for (body, mime, expect) in [
            ("{\"pupil_id\": ".to_string(), "application/json", 400),
            (
                "pupil_id=1".to_string(),
                "application/x-www-form-urlencoded",
                400,
            ),
            (big, "application/json", 413),
        ] {
            let mut res = app
                .client
                .post(app.url("/api/v1/absence-reports"))
                .insert_header(("Authorization", format!("Bearer {guardian}")))
                .insert_header(("Content-Type", mime))
                .send_body(body)
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), expect, "{mime}");
            let problem: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
            let mut errors = Vec::new();
            check(
                &doc,
                &json!({"$ref": "#/components/schemas/Problem"}),
                &problem,
                "problem",
                &mut errors,
            );
            assert!(errors.is_empty(), "{errors:?}");
        }

        // the reference page lists every operation
        let mut res = app.client.get(app.url("/api/docs")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let page = String::from_utf8(res.body().limit(1 << 22).await.unwrap().to_vec()).unwrap();
        for (m, p) in documented(&doc) {
            assert!(
                page.contains(&format!("{} {}", m.to_uppercase(), p)),
                "/api/docs shows {m} {p}"
            );
        }
    }
}

/// Every error code the service has is documented in the document's `Problem.code`, the
/// document names no other, and every code is used somewhere in the service.
#[test]
fn every_error_code_is_documented_and_used() {
    use narvaro::error::Code;
    let doc = document();
    let documented: BTreeSet<String> = doc["components"]["schemas"]["Problem"]["properties"]
        ["code"]["enum"]
        .as_array()
        .expect("Problem.code lists its values")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let ours: BTreeSet<String> = Code::ALL.iter().map(|c| c.as_str().to_string()).collect();
    assert_eq!(
        documented, ours,
        "api-spec/openapi.yaml Problem.code and error::Code differ"
    );
    let description = doc["components"]["schemas"]["Problem"]["properties"]["code"]["description"]
        .as_str()
        .unwrap();
    for c in &ours {
        assert!(description.contains(&format!("`{c}`:")), "{c} is described");
    }
    // used: named somewhere in src/ outside the list itself
    let mut sources = String::new();
    fn read(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                read(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("error.rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut sources,
    );
    let error_rs = include_str!("../../src/error.rs");
    let impl_part = &error_rs[error_rs.find("impl AppError").unwrap()..];
    for c in Code::ALL {
        let name = format!("Code::{c:?}");
        assert!(
            sources.contains(&name) || impl_part.contains(&name),
            "{name} is never used"
        );
    }
}
