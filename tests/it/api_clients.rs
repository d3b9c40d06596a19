//! Machine credentials, on both databases: an administrator registers an API client (on
//! the admin page or with `narvaro api-client`), the client gets a short-lived token from
//! `POST /oauth/token` (OAuth 2.0 client credentials, RFC 6749 §4.4, secret by HTTP Basic
//! or in the body), reads the SS 12000 export of its schools and nothing else, every call
//! is audited, and revoking it ends its tokens at once.

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::Value;

use crate::browser::{api_get, audited, conn, Browser, Uuids, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, run_binary, TestApp};

/// POST /oauth/token with a form body and, when given, HTTP Basic credentials.
async fn token_request(
    app: &TestApp,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value, Option<String>) {
    let mut req = app.client.post(app.url("/oauth/token"));
    if let Some((id, secret)) = basic {
        let raw = format!("{id}:{secret}");
        req = req.insert_header(("Authorization", format!("Basic {}", base64(raw.as_bytes()))));
    }
    let mut res = req.send_form(&form.to_vec()).await.unwrap();
    let status = res.status().as_u16();
    let www = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(
        cache.as_deref(),
        Some("no-store"),
        "RFC 6749 §5.1: never cached"
    );
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body, www)
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &x| (a << 8) | x as u32) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The client id and secret on the page that answered the registration form.
fn credentials(page: &str) -> (String, String) {
    let codes: Vec<&str> = page
        .split("<dd><code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .collect();
    assert_eq!(
        codes.len(),
        2,
        "the client id and the secret are shown: {page}"
    );
    (codes[0].to_string(), codes[1].to_string())
}

#[actix_web::test]
async fn a_registered_client_reads_its_schools_and_nothing_else_until_it_is_revoked() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let uuids = Uuids::load(&world.pool);
        let (school1, school2) = (world.ids.school1, world.ids.school2);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let page = admin.get("/admin/api-clients").await;
        assert_eq!(page.status, 200);
        // a form that names no school or no scope is refused, and nothing is stored
        let refused = admin
            .post(
                "/admin/api-clients",
                &[("name", "Extens"), ("scope", "ss12000.read")],
            )
            .await;
        assert_eq!(refused.status, 400, "{kind:?}");
        assert_eq!(audited(&world.pool, "api_client.registered"), 0);
        let s1 = school1.to_string();
        let made = admin
            .post(
                "/admin/api-clients",
                &[
                    ("name", "Extens närvaroexport"),
                    ("school_id", &s1),
                    ("scope", "ss12000.read"),
                ],
            )
            .await;
        assert_eq!(made.status, 200, "{kind:?}: {}", made.body);
        let (id, secret) = credentials(&made.body);
        assert!(
            id.starts_with("nrv_") && secret.len() == 64,
            "{id} {secret}"
        );
        // the secret is shown once: the list does not hold it, the database only its hash
        let list = admin.get("/admin/api-clients").await;
        assert!(list.body.contains(&id) && !list.body.contains(&secret));
        {
            let mut c = conn(&world.pool);
            let stored: String = api_clients::table
                .filter(api_clients::client_id.eq(&id))
                .select(api_clients::secret_hash)
                .first(&mut *c)
                .unwrap();
            assert_ne!(stored, secret);
        }

        // the token: Basic or in the body, short-lived, never cached
        let (status, body, _) = token_request(
            &app,
            Some((&id, &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(
            (
                body["token_type"].as_str(),
                body["expires_in"].as_i64(),
                body["scope"].as_str()
            ),
            (Some("Bearer"), Some(600), Some("ss12000.read"))
        );
        let token = body["access_token"].as_str().unwrap().to_string();
        let (status, body, _) = token_request(
            &app,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "ss12000.read"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");

        // it reads its school's export, not another school's, and no other API
        let (status, body) =
            api_get(&app, Some(&token), "/api/ss12000/v2/attendances?limit=5").await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(body["data"].as_array().map(Vec::len), Some(5));
        let path = format!(
            "/api/ss12000/v2/absences?organisation={}",
            uuids.org(school1)
        );
        assert_eq!(api_get(&app, Some(&token), &path).await.0, 200);
        let path = format!(
            "/api/ss12000/v2/absences?organisation={}",
            uuids.org(school2)
        );
        assert_eq!(
            api_get(&app, Some(&token), &path).await.0,
            404,
            "{kind:?}: not school 2"
        );
        for other in [
            "/api/v1/me",
            &format!("/api/v1/statistics/absence?scope=school&id={school1}"),
        ] {
            let (status, body) = api_get(&app, Some(&token), other).await;
            assert_eq!(status, 403, "{kind:?} {other}: {body}");
        }
        let res = app.client.post(app.url("/api/v1/absence-reports")).insert_header(("Authorization", format!("Bearer {token}"))).send_json(&serde_json::json!({"pupil_id": world.ids.child, "from": "2026-11-26T08:00", "to": "2026-11-26T12:00"})).await.unwrap();
        assert_eq!(
            res.status().as_u16(),
            403,
            "{kind:?}: a client writes nothing"
        );
        // every call is in the audit log, by route pattern
        assert_eq!(audited(&world.pool, "api_client.call"), 6, "{kind:?}");
        assert_eq!(audited(&world.pool, "api_client.token"), 2);

        // revoked: the token stops now, and no new one is given
        let client: i64 = {
            let mut c = conn(&world.pool);
            api_clients::table
                .filter(api_clients::client_id.eq(&id))
                .select(api_clients::id)
                .first(&mut *c)
                .unwrap()
        };
        let done = admin
            .post(&format!("/admin/api-clients/{client}/revoke"), &[])
            .await;
        assert_eq!(done.status, 303, "{kind:?}");
        let (status, _) = api_get(&app, Some(&token), "/api/ss12000/v2/attendances?limit=5").await;
        assert_eq!(status, 401, "{kind:?}");
        let (status, body, www) = token_request(
            &app,
            Some((&id, &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert!(www.is_some_and(|w| w.starts_with("Basic")));
        // revoking twice is a 404, and the list says it is revoked
        assert_eq!(
            admin
                .post(&format!("/admin/api-clients/{client}/revoke"), &[])
                .await
                .status,
            404
        );
        assert!(admin
            .get("/admin/api-clients")
            .await
            .body
            .contains("Återkallad"));
    }
}

#[actix_web::test]
async fn the_token_endpoint_refuses_as_rfc_6749_says() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        // the command line registers a client
        let out = run_binary(
            &[
                "api-client",
                "add",
                "--name",
                "Statistiklager",
                "--school",
                "all",
                "--scope",
                "ss12000.read",
                "--scope",
                "statistics.read",
            ],
            &[
                ("DATABASE_URL", &app.db.url_string()),
                (
                    "NARVARO_JWT_SECRET",
                    "client-test-secret-client-test-secret-0",
                ),
            ],
        );
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{said}");
        let field = |name: &str| {
            said.lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("{name} in {said}"))
        };
        let (id, secret) = (field("client_id:"), field("client_secret:"));
        let cc = ("grant_type", "client_credentials");
        for (basic, form, status, error) in [
            (
                Some((id.as_str(), "wrong")),
                vec![cc],
                401,
                "invalid_client",
            ),
            (
                Some(("nrv_000000000000000000000000", secret.as_str())),
                vec![cc],
                401,
                "invalid_client",
            ),
            (None, vec![cc], 401, "invalid_client"),
            (
                Some((id.as_str(), secret.as_str())),
                vec![("grant_type", "password")],
                400,
                "unsupported_grant_type",
            ),
            (
                Some((id.as_str(), secret.as_str())),
                vec![],
                400,
                "invalid_request",
            ),
            (
                Some((id.as_str(), secret.as_str())),
                vec![cc, cc],
                400,
                "invalid_request",
            ),
            (
                Some((id.as_str(), secret.as_str())),
                vec![
                    cc,
                    ("client_id", id.as_str()),
                    ("client_secret", secret.as_str()),
                ],
                400,
                "invalid_request",
            ),
            (
                None,
                vec![cc, ("client_id", id.as_str())],
                400,
                "invalid_request",
            ),
            (
                Some((id.as_str(), secret.as_str())),
                vec![cc, ("scope", "ss12000.write")],
                400,
                "invalid_scope",
            ),
            // a control character is refused before the endpoint reads the form
            (
                Some((id.as_str(), secret.as_str())),
                vec![cc, ("scope", "\u{96}")],
                400,
                "invalid_request",
            ),
        ] {
            let (got, body, www) = token_request(&app, basic, &form).await;
            assert_eq!(
                (got, body["error"].as_str()),
                (status, Some(error)),
                "{kind:?} {form:?}: {body}"
            );
            assert!(body["error_description"].is_string());
            assert_eq!(www.is_some(), status == 401);
        }
        // a JSON body is not the form RFC 6749 asks for
        let res = app
            .client
            .post(app.url("/oauth/token"))
            .send_json(&serde_json::json!({"grant_type": "client_credentials"}))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 400);
        // the statistics scope opens the statistics API, for every school of the municipality
        let (status, body, _) = token_request(
            &app,
            Some((&id, &secret)),
            &[cc, ("scope", "statistics.read")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap();
        let path = format!(
            "/api/v1/statistics/absence?scope=school&id={}",
            world.ids.school2
        );
        assert_eq!(api_get(&app, Some(token), &path).await.0, 200, "{kind:?}");
        assert_eq!(
            api_get(&app, Some(token), "/api/ss12000/v2/absences")
                .await
                .0,
            403,
            "{kind:?}: not asked for"
        );
        // the command line lists and revokes
        let env = [
            ("DATABASE_URL", app.db.url_string()),
            (
                "NARVARO_JWT_SECRET",
                "client-test-secret-client-test-secret-0".to_string(),
            ),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let listed = run_binary(&["api-client", "list"], &env);
        let listed = String::from_utf8_lossy(&listed.stdout).to_string();
        assert!(
            listed.contains(&id) && listed.contains("Statistiklager") && !listed.contains(&secret),
            "{listed}"
        );
        assert!(run_binary(&["api-client", "revoke", &id], &env)
            .status
            .success());
        assert_eq!(api_get(&app, Some(token), &path).await.0, 401, "{kind:?}");
        assert!(
            !run_binary(&["api-client", "revoke", &id], &env)
                .status
                .success(),
            "once"
        );
    }
}

#[actix_web::test]
async fn identical_revocations_at_once_revoke_once() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let s1 = world.ids.school1.to_string();
        let made = admin
            .post(
                "/admin/api-clients",
                &[
                    ("name", "Extens"),
                    ("school_id", &s1),
                    ("scope", "ss12000.read"),
                ],
            )
            .await;
        assert_eq!(made.status, 200);
        let client: i64 = {
            let mut c = conn(&world.pool);
            api_clients::table
                .select(api_clients::id)
                .first(&mut *c)
                .unwrap()
        };
        let path = format!("/admin/api-clients/{client}/revoke");
        let got = crate::hardening::forms_at_once(&app, &admin, 8, &path, &[]).await;
        let count = |status: u16| got.iter().filter(|s| **s == status).count();
        assert_eq!((count(303), count(404)), (1, 7), "{kind:?}: {got:?}");
        assert_eq!(audited(&world.pool, "api_client.revoked"), 1, "{kind:?}");
    }
}

#[actix_web::test]
async fn the_failure_limit_holds_while_the_school_clock_runs_ahead_of_the_system_clock() {
    for kind in backends() {
        // a drill's clock (NARVARO_CLOCK_START) far ahead of the real one
        let app = TestApp::spawn_with(kind, |c| {
            c.clock = narvaro::school::clock::Clock::starting_at(
                chrono::DateTime::parse_from_rfc3339("2100-01-04T08:15:00+01:00")
                    .unwrap()
                    .with_timezone(&chrono::Utc),
            );
        })
        .await;
        fixtures::build(&app);
        let form = [("grant_type", "client_credentials")];
        for _ in 0..narvaro::auth::throttle::CLIENT_FAILURES_PER_ADDRESS {
            let (status, body, _) =
                token_request(&app, Some(("no-such-client", "wrong")), &form).await;
            assert_eq!(status, 401, "{kind:?}: {body}");
        }
        let (status, body, _) = token_request(&app, Some(("no-such-client", "wrong")), &form).await;
        assert_eq!(status, 429, "{kind:?}: the limit holds: {body}");
    }
}
