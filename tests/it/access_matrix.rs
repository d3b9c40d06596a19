//! The access matrix: every role against every route of the application, on both
//! databases. A route added to `narvaro::web::ROUTES` without a row here fails the test.
//! Out-of-scope records answer 404 (never 403), so ids cannot be probed.

use std::collections::BTreeSet;

use diesel::prelude::*;
use narvaro::schema::{audit_log, throttle_hits};

use crate::browser::conn;
use crate::fixtures::{self, Ids, ROLES};
use crate::helpers::{backends, TestApp};

/// How the request is sent.
#[derive(Clone, Copy)]
enum Via {
    /// a browser with the role's session cookie; forms carry the CSRF token
    Page,
    /// the API with the role's bearer token
    Api,
}

struct Row {
    method: &'static str,
    pattern: &'static str,
    path: fn(&Ids) -> String,
    body: &'static [(&'static str, &'static str)],
    via: Via,
    /// the status for each role in `ROLES` order; the last three are the school
    /// administrator (the office) of school 1, a member of school 1's elevhälsa and the
    /// huvudman's case officer
    expect: [u16; 12],
}

const fn all(s: u16) -> [u16; 12] {
    [s; 12]
}

/// anonymous gets `anon`, the admin `admin`, everyone else `others`
const fn admin_only(anon: u16, admin: u16, others: u16) -> [u16; 12] {
    [
        anon, others, others, others, others, others, others, others, admin, others, others, others,
    ]
}

const BOGUS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn rows() -> Vec<Row> {
    //                                       anon guard other adult teach oteach princ oprinc admin office
    vec![
        Row {
            method: "get",
            pattern: "/healthz",
            path: |_| "/healthz".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/static/app.css",
            path: |_| "/static/app.css".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/favicon.ico",
            path: |_| "/favicon.ico".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/",
            path: |_| "/".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/.well-known/security.txt",
            path: |_| "/.well-known/security.txt".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/accessibility",
            path: |_| "/accessibility".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "post",
            pattern: "/lang",
            path: |_| "/lang".into(),
            body: &[("lang", "sv")],
            via: Via::Page,
            expect: all(303),
        },
        Row {
            method: "get",
            pattern: "/login",
            path: |_| "/login".into(),
            body: &[],
            via: Via::Page,
            expect: [200, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303],
        },
        Row {
            method: "post",
            pattern: "/login",
            path: |_| "/login".into(),
            body: &[("username", "nobody"), ("password", "wrong")],
            via: Via::Page,
            expect: all(401),
        },
        Row {
            method: "post",
            pattern: "/login/link",
            path: |_| "/login/link".into(),
            body: &[("email", "nobody@example.com")],
            via: Via::Page,
            expect: all(200),
        },
        // no identity provider is configured here: the routes are not there (tests/it/oidc.rs)
        Row {
            method: "get",
            pattern: "/login/oidc/{which}",
            path: |_| "/login/oidc/staff".into(),
            body: &[],
            via: Via::Page,
            expect: all(404),
        },
        Row {
            method: "get",
            pattern: "/login/oidc/{which}/callback",
            path: |_| "/login/oidc/guardian/callback?code=c&state=s".into(),
            body: &[],
            via: Via::Page,
            expect: all(404),
        },
        Row {
            method: "get",
            pattern: "/login/link/{token}",
            path: |_| format!("/login/link/{BOGUS}"),
            body: &[],
            via: Via::Page,
            expect: all(404),
        },
        Row {
            method: "post",
            pattern: "/login/link/{token}",
            path: |_| format!("/login/link/{BOGUS}"),
            body: &[],
            via: Via::Page,
            expect: all(404),
        },
        Row {
            method: "get",
            pattern: "/password/forgot",
            path: |_| "/password/forgot".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "post",
            pattern: "/password/forgot",
            path: |_| "/password/forgot".into(),
            body: &[("email", "nobody@example.com")],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/password/new/{token}",
            path: |_| format!("/password/new/{BOGUS}"),
            body: &[],
            via: Via::Page,
            expect: all(404),
        },
        Row {
            method: "post",
            pattern: "/password/new/{token}",
            path: |_| format!("/password/new/{BOGUS}"),
            body: &[
                ("password", "long enough pw"),
                ("confirm", "long enough pw"),
            ],
            via: Via::Page,
            expect: all(404),
        },
        Row {
            method: "get",
            pattern: "/account",
            path: |_| "/account".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Row {
            method: "post",
            pattern: "/account/password",
            path: |_| "/account/password".into(),
            body: &[
                ("current", "not it at all"),
                ("password", "a new password 1"),
                ("confirm", "a new password 1"),
            ],
            via: Via::Page,
            expect: [401, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400],
        },
        Row {
            method: "get",
            pattern: "/pupils/{id}",
            path: |i| format!("/pupils/{}", i.child),
            body: &[],
            via: Via::Page,
            expect: [303, 200, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/pupils/{id}",
            path: |i| format!("/pupils/{}", i.adult),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 200, 404, 200, 404, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/pupils/{id}",
            path: |_| "/pupils/999999999".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/admin",
            path: |_| "/admin".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/staff",
            path: |_| "/admin/staff".into(),
            body: &[
                ("given_name", ""),
                ("family_name", ""),
                ("email", ""),
                ("username", ""),
                ("role", "teacher"),
                ("school_id", ""),
            ],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/guardianships",
            path: |_| "/admin/guardianships".into(),
            body: &[("pupil_id", ""), ("email", "")],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/duties",
            path: |_| "/admin/duties".into(),
            body: &[("username", ""), ("role", "nope"), ("school_id", "")],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "get",
            pattern: "/admin/api-clients",
            path: |_| "/admin/api-clients".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/api-clients",
            path: |_| "/admin/api-clients".into(),
            body: &[("name", "")],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "get",
            pattern: "/admin/sync",
            path: |_| "/admin/sync".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        // no source is configured in the tests: the administrator is sent back to the page
        Row {
            method: "post",
            pattern: "/admin/sync",
            path: |_| "/admin/sync".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(401, 303, 404),
        },
        // no client 999999: the administrator's 404 is a record that is not there
        Row {
            method: "post",
            pattern: "/admin/api-clients/{id}/revoke",
            path: |_| "/admin/api-clients/999999/revoke".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(401, 404, 404),
        },
        // the token endpoint answers everyone the same: no credentials, no token
        Row {
            method: "post",
            pattern: "/oauth/token",
            path: |_| "/oauth/token".into(),
            body: &[("grant_type", "client_credentials")],
            via: Via::Page,
            expect: all(401),
        },
        Row {
            method: "post",
            pattern: "/api/v1/auth/token",
            path: |_| "/api/v1/auth/token".into(),
            body: &[("username", "nobody"), ("password", "wrong")],
            via: Via::Api,
            expect: all(401),
        },
        Row {
            method: "get",
            pattern: "/api/v1/me",
            path: |_| "/api/v1/me".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Row {
            method: "get",
            pattern: "/api/v1/pupils/{id}",
            path: |i| format!("/api/v1/pupils/{}", i.child),
            body: &[],
            via: Via::Api,
            expect: [401, 200, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/pupils/{id}",
            path: |i| format!("/api/v1/pupils/{}", i.adult),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 200, 404, 200, 404, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/pupils/{id}",
            path: |i| format!("/api/v1/pupils/{}", i.protected),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/lessons/{id}",
            path: |i| format!("/api/v1/lessons/{}", i.lesson),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/lessons/{id}",
            path: |_| "/api/v1/lessons/not-a-number".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/static/roll-call.js",
            path: |_| "/static/roll-call.js".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/static/offline.js",
            path: |_| "/static/offline.js".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/static/queue.js",
            path: |_| "/static/queue.js".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/sw.js",
            path: |_| "/sw.js".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/lessons/{id}",
            path: |i| format!("/lessons/{}", i.lesson),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        // a stale version: the teacher is told, nothing is stored; principals may look but not report
        Row {
            method: "post",
            pattern: "/lessons/{id}",
            path: |i| format!("/lessons/{}", i.lesson),
            body: &[("version", "999")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 409, 404, 403, 404, 403, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/mentor",
            path: |_| "/mentor".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 404, 404, 404, 404, 404, 404],
        },
        // the API's contract, for anyone
        Row {
            method: "get",
            pattern: "/api/docs",
            path: |_| "/api/docs".into(),
            body: &[],
            via: Via::Page,
            expect: all(200),
        },
        Row {
            method: "get",
            pattern: "/api/v1/openapi.yaml",
            path: |_| "/api/v1/openapi.yaml".into(),
            body: &[],
            via: Via::Api,
            expect: all(200),
        },
        // the SS 12000 export: principals (their schools) and the administrator
        Row {
            method: "get",
            pattern: "/api/ss12000/v2/attendances",
            path: |_| "/api/ss12000/v2/attendances?limit=3".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/ss12000/v2/absences",
            path: |_| "/api/ss12000/v2/absences?limit=3".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/ss12000/v2/aggregatedAttendance",
            path: |i| {
                format!(
                    "/api/ss12000/v2/aggregatedAttendance?organisation={}&startDate=2026-11-02&endDate=2026-11-25&limit=3",
                    i.school1_uuid
                )
            },
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/ss12000/v2/deletedEntities",
            path: |_| "/api/ss12000/v2/deletedEntities?entities=Absence".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        // one record: the principal of its school and the administrator
        Row {
            method: "get",
            pattern: "/api/ss12000/v2/attendances/{id}",
            path: |i| format!("/api/ss12000/v2/attendances/{}", i.attendance),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/ss12000/v2/absences/{id}",
            path: |i| format!("/api/ss12000/v2/absences/{}", i.leave_uuid),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        // lookups answer what the caller may read of what they name (an empty body: none)
        Row {
            method: "post",
            pattern: "/api/ss12000/v2/attendances/lookup",
            path: |_| "/api/ss12000/v2/attendances/lookup".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/api/ss12000/v2/absences/lookup",
            path: |_| "/api/ss12000/v2/absences/lookup".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        // statistics: principals for their schools, the admin for all; a pupil's own
        // figures for whoever may see the pupil; a class's for its mentor too
        Row {
            method: "get",
            pattern: "/admin/people/{id}/extract",
            path: |i| format!("/admin/people/{}/extract", i.child),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        Row {
            method: "get",
            pattern: "/admin/people/{id}/extract.json",
            path: |i| format!("/admin/people/{}/extract.json", i.child),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        Row {
            method: "get",
            pattern: "/admin/people/{id}/extract.json",
            path: |_| "/admin/people/999999999/extract.json".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 404, 404),
        },
        Row {
            method: "get",
            pattern: "/admin/access-log",
            path: |i| format!("/admin/access-log?pupil={}", i.child),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        Row {
            method: "get",
            pattern: "/admin/access-log.csv",
            path: |i| format!("/admin/access-log.csv?pupil={}", i.child),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        Row {
            method: "get",
            pattern: "/audit",
            path: |_| "/audit".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/audit.csv",
            path: |_| "/audit.csv".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/statistics",
            path: |_| "/statistics".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/statistics",
            path: |i| format!("/statistics?school={}&period=year", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/statistics/pupils",
            path: |i| format!("/statistics/pupils?school={}&threshold=10", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/statistics/pupils/{id}",
            path: |i| format!("/statistics/pupils/{}", i.child),
            body: &[],
            via: Via::Page,
            expect: [303, 200, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/statistics/groups/{id}",
            path: |i| format!("/statistics/groups/{}?period=month", i.class),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/statistics/unreported",
            path: |i| format!("/statistics/unreported?school={}", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/statistics/csn",
            path: |_| "/statistics/csn".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 200, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/statistics/absence",
            path: |i| {
                format!(
                    "/api/v1/statistics/absence?scope=school&id={}&by=week",
                    i.school1
                )
            },
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/statistics/absence",
            path: |i| {
                format!(
                    "/api/v1/statistics/absence?scope=pupil&id={}&by=subject",
                    i.child
                )
            },
            body: &[],
            via: Via::Api,
            expect: [401, 200, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/statistics/absence",
            path: |i| {
                format!(
                    "/api/v1/statistics/absence?scope=group&id={}&by=pupil",
                    i.class
                )
            },
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/statistics/aggregated-attendance",
            path: |i| {
                format!(
                    "/api/v1/statistics/aggregated-attendance?organisation={}",
                    i.school1
                )
            },
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/lessons",
            path: |_| "/api/v1/lessons".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Row {
            method: "get",
            pattern: "/api/v1/lessons",
            path: |_| "/api/v1/lessons?date=23-11-2026".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400],
        },
        Row {
            method: "get",
            pattern: "/api/v1/lessons/{id}/roll-call",
            path: |i| format!("/api/v1/lessons/{}/roll-call", i.lesson),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "put",
            pattern: "/api/v1/lessons/{id}/roll-call",
            path: |i| format!("/api/v1/lessons/{}/roll-call", i.lesson),
            body: &[("marks", "[]"), ("expected_version", "999")],
            via: Via::Api,
            expect: [401, 404, 404, 404, 409, 404, 403, 404, 403, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/pupils/{id}/report",
            path: |i| format!("/pupils/{}/report", i.child),
            body: &[],
            via: Via::Page,
            expect: [303, 200, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/pupils/{id}/absence-reports",
            path: |i| format!("/pupils/{}/absence-reports", i.child),
            body: &[("mode", "days"), ("from_date", "not a date")],
            via: Via::Page,
            expect: [401, 400, 404, 404, 400, 404, 400, 404, 400, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/absence-reports/{id}/cancel",
            path: |i| format!("/absence-reports/{}/cancel", i.report),
            body: &[],
            via: Via::Page,
            expect: [401, 409, 404, 404, 409, 404, 409, 404, 409, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/pupils/{id}/leave",
            path: |i| format!("/pupils/{}/leave", i.child),
            body: &[],
            via: Via::Page,
            expect: [303, 200, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/pupils/{id}/leave-applications",
            path: |i| format!("/pupils/{}/leave-applications", i.child),
            body: &[("start_date", "x"), ("end_date", "x"), ("reason", "x")],
            via: Via::Page,
            expect: [401, 400, 404, 404, 400, 404, 400, 404, 400, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/leave-applications/{id}/recommendation",
            path: |i| format!("/leave-applications/{}/recommendation", i.leave),
            body: &[("answer", "yes")],
            via: Via::Page,
            expect: [401, 403, 404, 404, 409, 404, 403, 404, 403, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/leave-applications/{id}/decision",
            path: |i| format!("/leave-applications/{}/decision", i.leave),
            body: &[("answer", "yes")],
            via: Via::Page,
            expect: [401, 403, 404, 404, 403, 404, 409, 404, 403, 404, 404, 404],
        },
        // both guardians: the answer is the asked guardian's only (the fixture's leave asks
        // no one); the applicant withdraws (the fixture's is decided); the pupil's
        // principal or mentor records a telephone answer (no guardian 1 is asked)
        Row {
            method: "get",
            pattern: "/leave-applications/{id}/answer",
            path: |i| format!("/leave-applications/{}/answer", i.leave),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/leave-applications/{id}/answer",
            path: |i| format!("/leave-applications/{}/answer", i.leave),
            body: &[("answer", "yes")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/leave-applications/{id}/withdraw",
            path: |i| format!("/leave-applications/{}/withdraw", i.leave),
            body: &[],
            via: Via::Page,
            expect: [401, 409, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/leave-applications/{id}/by-phone",
            path: |i| format!("/leave-applications/{}/by-phone", i.leave),
            body: &[("guardian_id", "1"), ("answer", "yes")],
            via: Via::Page,
            expect: [401, 403, 404, 404, 400, 404, 400, 404, 403, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/leave",
            path: |_| "/leave".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 200, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/leave-delegations",
            path: |_| "/leave-delegations".into(),
            body: &[("school_id", ""), ("max_days", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 400, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/leave-delegations/end",
            path: |_| "/leave-delegations/end".into(),
            body: &[("school_id", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 400, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/pupils/{id}/absences",
            path: |i| format!("/api/v1/pupils/{}/absences", i.child),
            body: &[],
            via: Via::Api,
            expect: [401, 200, 404, 404, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/api/v1/absence-reports",
            path: |_| "/api/v1/absence-reports".into(),
            body: &[
                ("pupil_id", "{child}"),
                ("from", "2020-01-01T08:00:00"),
                ("to", "2020-01-01T09:00:00"),
            ],
            via: Via::Api,
            expect: [401, 400, 404, 404, 400, 404, 400, 404, 400, 404, 404, 404],
        },
        Row {
            method: "delete",
            pattern: "/api/v1/absence-reports/{id}",
            path: |i| format!("/api/v1/absence-reports/{}", i.report),
            body: &[],
            via: Via::Api,
            expect: [401, 409, 404, 404, 409, 404, 409, 404, 409, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/api/v1/leave-applications",
            path: |_| "/api/v1/leave-applications".into(),
            body: &[
                ("pupil_id", "{child}"),
                ("start_date", "\"2020-01-01\""),
                ("end_date", "\"2020-01-02\""),
                ("reason", "x"),
            ],
            via: Via::Api,
            expect: [401, 400, 404, 404, 403, 404, 403, 404, 403, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/api/v1/leave-applications/{id}/recommendation",
            path: |i| format!("/api/v1/leave-applications/{}/recommendation", i.leave),
            body: &[("recommended", "true")],
            via: Via::Api,
            expect: [401, 403, 404, 404, 409, 404, 403, 404, 403, 404, 404, 404],
        },
        // both guardians through the API: the same as the pages
        Row {
            method: "post",
            pattern: "/api/v1/leave-applications/{id}/answer",
            path: |i| format!("/api/v1/leave-applications/{}/answer", i.leave),
            body: &[("agree", "true")],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/api/v1/leave-applications/{id}/withdraw",
            path: |i| format!("/api/v1/leave-applications/{}/withdraw", i.leave),
            body: &[],
            via: Via::Api,
            expect: [401, 409, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/api/v1/leave-applications/{id}/decision",
            path: |i| format!("/api/v1/leave-applications/{}/decision", i.leave),
            body: &[("approved", "true")],
            via: Via::Api,
            expect: [401, 403, 404, 404, 403, 404, 409, 404, 403, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/notices",
            path: |_| "/notices".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 200, 200, 404, 404, 404],
        },
        // the guardians not reached: mentors and principals, each for their own pupils
        Row {
            method: "get",
            pattern: "/guardians/unreached",
            path: |_| "/guardians/unreached".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 200, 404, 404, 404, 404],
        },
        // the school office's day page: the school's principal, its office and the administrator
        Row {
            method: "get",
            pattern: "/schools/{id}/day",
            path: |i| format!("/schools/{}/day", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 200, 200, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/day/substitute",
            path: |i| format!("/schools/{}/day/substitute", i.school1),
            body: &[("date", "2026-11-25"), ("lesson", ""), ("substitute", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 400, 400, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/day/cancel",
            path: |i| format!("/schools/{}/day/cancel", i.school1),
            body: &[("date", "2026-11-25"), ("lesson", ""), ("cancel", "1")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 400, 400, 404, 404],
        },
        // refused (no teacher chosen): the page again with a message
        Row {
            method: "post",
            pattern: "/schools/{id}/day/absent",
            path: |i| format!("/schools/{}/day/absent", i.school1),
            body: &[("date", "2026-11-25"), ("teacher", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 400, 400, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/day/absent/end",
            path: |i| format!("/schools/{}/day/absent/end", i.school1),
            body: &[("date", "2026-11-25"), ("absence", "999999")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/schools/{id}/settings",
            path: |i| format!("/schools/{}/settings", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 200, 200, 404, 404],
        },
        // refused values: the form again with a message, nothing stored
        Row {
            method: "post",
            pattern: "/schools/{id}/settings",
            path: |i| format!("/schools/{}/settings", i.school1),
            body: &[("report_days_ahead", "7"), ("alert_threshold_pct", "0")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 400, 400, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/holidays",
            path: |i| format!("/schools/{}/holidays", i.school1),
            body: &[("date", "2026-11-01"), ("name", "Förr")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 400, 400, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/holidays/remove",
            path: |i| format!("/schools/{}/holidays/remove", i.school1),
            body: &[("holiday", "999999")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/schools/{id}/trips",
            path: |i| format!("/schools/{}/trips", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 200, 200, 404, 404],
        },
        // a refused trip (in the past): the form again with a message, nothing stored
        Row {
            method: "post",
            pattern: "/schools/{id}/trips",
            path: |i| format!("/schools/{}/trips", i.school1),
            body: &[
                ("group", "1"),
                ("title", "Förr"),
                ("first_day", "2026-11-01"),
                ("reason", "1"),
            ],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 400, 400, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/trips/cancel",
            path: |i| format!("/schools/{}/trips/cancel", i.school1),
            body: &[("trip", "999999")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/trips/stays",
            path: |i| format!("/schools/{}/trips/stays", i.school1),
            body: &[("trip", "999999")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/schools/{id}/reasons",
            path: |i| format!("/schools/{}/reasons", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 200, 200, 404, 404],
        },
        // a refused reason (no name): the form again, nothing stored
        Row {
            method: "post",
            pattern: "/schools/{id}/reasons",
            path: |i| format!("/schools/{}/reasons", i.school1),
            body: &[("code", "EGEN"), ("name_sv", ""), ("name_en", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 400, 400, 404, 404],
        },
        // a reason that is not the school's own: 404
        Row {
            method: "post",
            pattern: "/schools/{id}/reasons/active",
            path: |i| format!("/schools/{}/reasons/active", i.school1),
            body: &[("reason", "999999"), ("active", "0")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        // the school's rules for leave: its principal's (the municipality's are at /admin)
        Row {
            method: "get",
            pattern: "/schools/{id}/leave-rules",
            path: |i| format!("/schools/{}/leave-rules", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 404, 404, 404, 404],
        },
        // a refused rule (negative days): the form again, nothing stored
        Row {
            method: "post",
            pattern: "/schools/{id}/leave-rules",
            path: |i| format!("/schools/{}/leave-rules", i.school1),
            body: &[("notice_days", "-1")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 404, 404, 404, 404],
        },
        // a refused blocked period (no dates)
        Row {
            method: "post",
            pattern: "/schools/{id}/leave-rules/blocked",
            path: |i| format!("/schools/{}/leave-rules/blocked", i.school1),
            body: &[("name", "Prov"), ("first_day", ""), ("last_day", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 404, 404, 404, 404],
        },
        // a blocked period that is not the school's own: 404
        Row {
            method: "post",
            pattern: "/schools/{id}/leave-rules/blocked/remove",
            path: |i| format!("/schools/{}/leave-rules/blocked/remove", i.school1),
            body: &[("id", "999999")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        // early signals: the list for those who follow pupils up (the principal, the mentor,
        // elevhälsan)
        Row {
            method: "get",
            pattern: "/signals",
            path: |_| "/signals".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 200, 404, 404, 200, 404],
        },
        Row {
            method: "post",
            pattern: "/signals/{id}/seen",
            path: |i| format!("/signals/{}/seen", i.signal),
            body: &[],
            via: Via::Page,
            expect: [401, 404, 404, 404, 303, 404, 303, 404, 404, 404, 303, 404],
        },
        // no reason: refused for those who follow the child up, 404 for everyone else
        Row {
            method: "post",
            pattern: "/signals/{id}/dismiss",
            path: |i| format!("/signals/{}/dismiss", i.signal),
            body: &[("reason", " ")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 400, 404, 400, 404, 404, 404, 400, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/signals",
            path: |_| "/api/v1/signals".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 200, 404, 200, 200, 404, 404, 200, 404],
        },
        // absence investigations: the principal, the pupil's mentor and elevhälsan of the
        // school reach a case; a form that does not hold is refused for them, 404 for others
        Row {
            method: "post",
            pattern: "/signals/{id}/case",
            path: |i| format!("/signals/{}/case", i.signal),
            body: &[],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 303, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/pupils/{id}/case",
            path: |i| format!("/pupils/{}/case", i.child),
            body: &[],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 303, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/cases",
            path: |_| "/cases".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 200, 404, 404, 200, 404],
        },
        Row {
            method: "get",
            pattern: "/cases/{id}",
            path: |i| format!("/cases/{}", i.case),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 200, 404, 200, 404, 404, 404, 200, 404],
        },
        Row {
            method: "post",
            pattern: "/cases/{id}/decision",
            path: |i| format!("/cases/{}/decision", i.case),
            body: &[("decision", "investigate"), ("decided_on", "igår")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 400, 404, 400, 404, 404, 404, 400, 404],
        },
        Row {
            method: "post",
            pattern: "/cases/{id}/participants",
            path: |i| format!("/cases/{}/participants", i.case),
            body: &[("person_id", "0")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 400, 404, 400, 404, 404, 404, 400, 404],
        },
        Row {
            method: "post",
            pattern: "/cases/{id}/steps",
            path: |i| format!("/cases/{}/steps", i.case),
            body: &[("taken_on", "igår"), ("kind", "talk"), ("note", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 400, 404, 400, 404, 404, 404, 400, 404],
        },
        // the principal's update of the report to the huvudman: the principal only
        Row {
            method: "post",
            pattern: "/cases/{id}/report-update",
            path: |i| format!("/cases/{}/report-update", i.case),
            body: &[("body", " ")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 404, 404, 404, 404],
        },
        // a follow-up round on a date that is not one: the case officer only
        Row {
            method: "post",
            pattern: "/huvudman/rounds",
            path: |_| "/huvudman/rounds".into(),
            body: &[("due_on", "snart")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 400],
        },
        Row {
            method: "post",
            pattern: "/cases/{id}/health-notes",
            path: |i| format!("/cases/{}/health-notes", i.case),
            body: &[("note", " ")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 400, 404, 400, 404, 404, 404, 400, 404],
        },
        Row {
            method: "post",
            pattern: "/cases/{id}/conclusion",
            path: |i| format!("/cases/{}/conclusion", i.case),
            body: &[("conclusion", " ")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 400, 404, 400, 404, 404, 404, 400, 404],
        },
        Row {
            method: "post",
            pattern: "/cases/{id}/close",
            path: |i| format!("/cases/{}/close", i.case),
            body: &[("outcome", "")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 400, 404, 400, 404, 404, 404, 400, 404],
        },
        // the fixture's case needs no report to a home municipality: 404 for everyone
        // (tests/it/cases.rs makes one)
        Row {
            method: "get",
            pattern: "/cases/{id}/home-report",
            path: |i| format!("/cases/{}/home-report", i.case),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/cases/{id}/home-report/sent",
            path: |i| format!("/cases/{}/home-report/sent", i.case),
            body: &[("sent_on", "x"), ("method", "post")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/cases/{id}/home-report",
            path: |i| format!("/api/v1/cases/{}/home-report", i.case),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/cases",
            path: |_| "/api/v1/cases".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 200, 404, 200, 200, 404, 404, 200, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/cases/{id}",
            path: |i| format!("/api/v1/cases/{}", i.case),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 200, 404, 200, 404, 404, 404, 200, 404],
        },
        // the huvudman's inbox: its case officers only
        Row {
            method: "get",
            pattern: "/huvudman/reports",
            path: |_| "/huvudman/reports".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200],
        },
        Row {
            method: "get",
            pattern: "/huvudman/figures",
            path: |_| "/huvudman/figures".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200],
        },
        Row {
            method: "get",
            pattern: "/huvudman/schools",
            path: |_| "/huvudman/schools?period=year".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200],
        },
        Row {
            method: "get",
            pattern: "/api/v1/huvudman/schools",
            path: |_| "/api/v1/huvudman/schools?period=year".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200],
        },
        Row {
            method: "get",
            pattern: "/huvudman/term-report",
            path: |_| "/huvudman/term-report?term=HT2026".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200],
        },
        Row {
            method: "get",
            pattern: "/huvudman/term-report.csv",
            path: |_| "/huvudman/term-report.csv?term=HT2026&anyway=1".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/huvudman/term-report/close",
            path: |_| "/huvudman/term-report/close".into(),
            body: &[("term", "VT2026"), ("school", "0")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/huvudman/term-report/reopen",
            path: |_| "/huvudman/term-report/reopen".into(),
            body: &[("term", "VT2026"), ("school", "0"), ("reason", "test")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/huvudman/term-report.json",
            path: |_| "/huvudman/term-report.json?term=HT2026&anyway=1".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/huvudman/term-report.columns.json",
            path: |_| "/huvudman/term-report.columns.json".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200],
        },
        Row {
            method: "get",
            pattern: "/api/v1/term-report",
            path: |_| "/api/v1/term-report?term=HT2026&anyway=1".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/api/v1/term-report/columns",
            path: |_| "/api/v1/term-report/columns".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200],
        },
        Row {
            method: "get",
            pattern: "/huvudman/figures.csv",
            path: |_| "/huvudman/figures.csv?from=2026-08-01".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200],
        },
        Row {
            method: "post",
            pattern: "/huvudman/reports/{id}",
            path: |i| format!("/huvudman/reports/{}", i.hv_report),
            body: &[("status", "more_info"), ("note", " ")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 400],
        },
        Row {
            method: "get",
            pattern: "/admin/signals",
            path: |_| "/admin/signals".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        // a window of no days: the form again, nothing stored
        Row {
            method: "post",
            pattern: "/admin/signals",
            path: |_| "/admin/signals".into(),
            body: &[
                ("kind", "share"),
                ("counts", "all"),
                ("window_days", "0"),
                ("share_pct", "10"),
            ],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/signals/deadline",
            path: |_| "/admin/signals/deadline".into(),
            body: &[("days", "0")],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/signals/{id}/active",
            path: |i| format!("/admin/signals/{}/active", i.rule),
            body: &[("active", "maybe")],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        // a school's own rules: its principal only
        Row {
            method: "get",
            pattern: "/schools/{id}/signals",
            path: |i| format!("/schools/{}/signals", i.school1),
            body: &[],
            via: Via::Page,
            expect: [303, 404, 404, 404, 404, 404, 200, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/signals",
            path: |i| format!("/schools/{}/signals", i.school1),
            body: &[
                ("kind", "share"),
                ("counts", "all"),
                ("window_days", "0"),
                ("share_pct", "10"),
            ],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 404, 404, 404, 404],
        },
        Row {
            method: "post",
            pattern: "/schools/{id}/signals/{rule}/active",
            path: |i| format!("/schools/{}/signals/{}/active", i.school1, i.rule),
            body: &[("active", "maybe")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 400, 404, 404, 404, 404, 404],
        },
        Row {
            method: "get",
            pattern: "/admin/reasons",
            path: |_| "/admin/reasons".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        // a refused reason (no name): the form again, nothing stored
        Row {
            method: "post",
            pattern: "/admin/reasons",
            path: |_| "/admin/reasons".into(),
            body: &[
                ("code", "NYTT"),
                ("name_sv", ""),
                ("name_en", ""),
                ("staff", "1"),
            ],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/reasons/active",
            path: |_| "/admin/reasons/active".into(),
            body: &[("reason", "999999"), ("active", "0")],
            via: Via::Page,
            expect: admin_only(401, 404, 404),
        },
        // the municipality's rules for leave and blocked periods
        Row {
            method: "get",
            pattern: "/admin/leave-rules",
            path: |_| "/admin/leave-rules".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(303, 200, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/leave-rules",
            path: |_| "/admin/leave-rules".into(),
            body: &[("longest_days", "0")],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/leave-rules/blocked",
            path: |_| "/admin/leave-rules/blocked".into(),
            body: &[
                ("name", ""),
                ("first_day", "2027-05-10"),
                ("last_day", "2027-05-12"),
            ],
            via: Via::Page,
            expect: admin_only(401, 400, 404),
        },
        Row {
            method: "post",
            pattern: "/admin/leave-rules/blocked/remove",
            path: |_| "/admin/leave-rules/blocked/remove".into(),
            body: &[("id", "999999")],
            via: Via::Page,
            expect: admin_only(401, 404, 404),
        },
        // (the schools may not add reasons: already so, nothing changes)
        Row {
            method: "post",
            pattern: "/admin/reasons/schools",
            path: |_| "/admin/reasons/schools".into(),
            body: &[],
            via: Via::Page,
            expect: admin_only(401, 303, 404),
        },
        // a notice link with a bad signature is nobody's
        Row {
            method: "get",
            pattern: "/notices/{id}/seen",
            path: |_| "/notices/1/seen?exp=99999999999&sig=00".into(),
            body: &[],
            via: Via::Page,
            expect: all(404),
        },
        Row {
            method: "post",
            pattern: "/notices/{id}/seen",
            path: |_| "/notices/1/seen?exp=99999999999&sig=00".into(),
            body: &[],
            via: Via::Page,
            expect: all(404),
        },
        // the choice of channels exists where there is an SMS gateway (none here)
        Row {
            method: "post",
            pattern: "/account/channels",
            path: |_| "/account/channels".into(),
            body: &[("unexplained_absence", "sms")],
            via: Via::Page,
            expect: [401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404],
        },
        // the gateway's delivery reports: a signed address, the same for everyone
        Row {
            method: "post",
            pattern: "/sms/reports/{row}",
            path: |_| "/sms/reports/1?sig=00".into(),
            body: &[("id", "s1"), ("status", "delivered")],
            via: Via::Page,
            expect: all(404),
        },
        // the second step of a sign-in needs the signed cookie a right password gives: without
        // it, everyone goes back to the sign-in
        Row {
            method: "get",
            pattern: "/login/second-factor",
            path: |_| "/login/second-factor".into(),
            body: &[],
            via: Via::Page,
            expect: all(303),
        },
        Row {
            method: "post",
            pattern: "/login/second-factor",
            path: |_| "/login/second-factor".into(),
            body: &[("code", "123456")],
            via: Via::Page,
            expect: all(303),
        },
        // every role here signs in with a password, so each has a second factor to manage
        Row {
            method: "get",
            pattern: "/account/second-factor",
            path: |_| "/account/second-factor".into(),
            body: &[],
            via: Via::Page,
            expect: [303, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Row {
            method: "post",
            pattern: "/account/second-factor/confirm",
            path: |_| "/account/second-factor/confirm".into(),
            body: &[("code", "000000")],
            via: Via::Page,
            expect: [401, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400],
        },
        // nobody has one turned on: back to the page
        Row {
            method: "post",
            pattern: "/account/second-factor/remove",
            path: |_| "/account/second-factor/remove".into(),
            body: &[("code", "000000")],
            via: Via::Page,
            expect: [401, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303],
        },
        Row {
            method: "post",
            pattern: "/admin/people/{id}/second-factor/reset",
            path: |i| format!("/admin/people/{}/second-factor/reset", i.adult),
            body: &[],
            via: Via::Page,
            expect: admin_only(401, 303, 404),
        },
        Row {
            method: "post",
            pattern: "/account/settings",
            path: |_| "/account/settings".into(),
            body: &[("email", "not an address"), ("language", "sv")],
            via: Via::Page,
            expect: [401, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400],
        },
        // These end the role's sessions, so they come last.
        Row {
            method: "post",
            pattern: "/api/v1/auth/sign-out",
            path: |_| "/api/v1/auth/sign-out".into(),
            body: &[],
            via: Via::Api,
            expect: [401, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204, 204],
        },
        Row {
            method: "post",
            pattern: "/logout",
            path: |_| "/logout".into(),
            body: &[],
            via: Via::Page,
            expect: all(303),
        },
    ]
}

#[test]
fn every_route_has_a_row() {
    let routes: BTreeSet<(String, String)> = narvaro::web::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let covered: BTreeSet<(String, String)> = rows()
        .iter()
        .map(|r| (r.method.to_string(), r.pattern.to_string()))
        .collect();
    let missing: Vec<_> = routes.difference(&covered).collect();
    let stale: Vec<_> = covered.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes without an access-matrix row: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "access-matrix rows for routes that do not exist: {stale:?}"
    );
}

#[actix_web::test]
async fn every_role_against_every_route() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut sessions = Vec::new();
        for role in ROLES {
            sessions.push(fixtures::sign_in_as(&app, &world, role).await);
        }
        let mut failures = Vec::new();
        for row in rows() {
            let path = (row.path)(&world.ids);
            for (i, role) in ROLES.iter().enumerate() {
                // The link forms are rate limited per address; this test asks from one
                // address for every role (the limit itself is tested in
                // tests/it/accounts.rs).
                diesel::delete(throttle_hits::table)
                    .execute(&mut *conn(&world.pool))
                    .unwrap();
                let (browser, token) = &mut sessions[i];
                let status = match (row.via, row.method) {
                    (Via::Page, "get") => browser.get(&path).await.status.as_u16(),
                    (Via::Page, _) => browser.post(&path, row.body).await.status.as_u16(),
                    (Via::Api, method) => {
                        let mut req = match method {
                            "get" => app.client.get(app.url(&path)),
                            "put" => app.client.put(app.url(&path)),
                            "delete" => app.client.delete(app.url(&path)),
                            _ => app.client.post(app.url(&path)),
                        };
                        if let Some(t) = token {
                            req = req.insert_header(("Authorization", format!("Bearer {t}")));
                        }
                        let body: serde_json::Map<String, serde_json::Value> = row
                            .body
                            .iter()
                            .map(|(k, v)| {
                                let v = v.replace("{child}", &world.ids.child.to_string());
                                (
                                    k.to_string(),
                                    serde_json::from_str(&v)
                                        .unwrap_or_else(|_| serde_json::Value::from(v.as_str())),
                                )
                            })
                            .collect();
                        let res = if method == "get" || method == "delete" {
                            req.send().await
                        } else {
                            req.send_json(&body).await
                        };
                        res.unwrap().status().as_u16()
                    }
                };
                if status != row.expect[i] {
                    failures.push(format!(
                        "{kind:?} {} {path} as {role:?}: got {status}, expected {}",
                        row.method.to_uppercase(),
                        row.expect[i]
                    ));
                }
            }
            // The link forms are rate limited per address; this test asks from one address
            // for every role (the limit itself is tested in tests/it/accounts.rs).
            let mut c = conn(&world.pool);
            diesel::delete(audit_log::table.filter(audit_log::action.like("sign_in%")))
                .execute(&mut *c)
                .unwrap();
            diesel::delete(throttle_hits::table)
                .execute(&mut *c)
                .unwrap();
        }
        assert!(
            failures.is_empty(),
            "access matrix:\n{}",
            failures.join("\n")
        );
        let _ = (world.ids.school1, world.ids.school2);
    }
}

/// A protected identity seen by an administrator (no duty for the pupil): the API names the
/// pupil only as "protected identity" with the id, in the reader's language, and never by
/// name. The words are the edge's (the domain leaves the name empty and says it is withheld).
#[actix_web::test]
async fn a_withheld_name_is_worded_in_the_readers_language() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (_, token) = fixtures::sign_in_as(&app, &world, fixtures::Role::Admin).await;
        let token = token.expect("the administrator has an API token");
        let protected = world.ids.protected;
        let (given, family): (String, String) = {
            use narvaro::schema::people;
            let mut c = conn(&world.pool);
            people::table
                .find(protected)
                .select((people::given_name, people::family_name))
                .first(&mut *c)
                .unwrap()
        };
        for (language, words) in [("sv", "Skyddad identitet"), ("en", "Protected identity")] {
            let mut res = app
                .client
                .get(app.url(&format!("/api/v1/pupils/{protected}")))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("Accept-Language", language))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{kind:?}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(
                body["name"],
                format!("{words} (id {protected})"),
                "{kind:?}"
            );
            assert_eq!(body["name_withheld"], true);
            let text = body.to_string();
            assert!(
                !text.contains(&given) && !text.contains(&family),
                "{kind:?}: {text}"
            );
        }
    }
}
