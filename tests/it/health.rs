//! /healthz, error rendering, security headers, the language switch.

use crate::browser::Browser;
use crate::helpers::{backends, Kind, TestApp};

#[actix_web::test]
async fn healthz_names_the_backend_and_turns_503_when_the_database_is_gone() {
    for kind in backends() {
        let mut app = TestApp::spawn(kind).await;
        let mut res = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{kind:?}");
        let body: serde_json::Value = res.json().await.unwrap();
        let expected = if kind == Kind::Sqlite {
            "sqlite"
        } else {
            "postgres"
        };
        assert_eq!(
            body,
            serde_json::json!({"status": "ok", "database": expected})
        );

        if kind == Kind::Postgres {
            // The database disappears under the running server: 503, not a hang or a 500.
            app.db.drop_now();
            let started = std::time::Instant::now();
            let mut res = app
                .client
                .get(app.url("/healthz"))
                .timeout(std::time::Duration::from_secs(20))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 503);
            assert!(started.elapsed().as_secs() < 10, "answered within seconds");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["status"], "unavailable");
            assert_eq!(body["database"], "postgres");
        }
    }
}

#[actix_web::test]
async fn unknown_api_paths_get_problem_json_and_pages_get_html() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let mut res = app
            .client
            .get(app.url("/api/v1/no-such-thing"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], 404);
        assert_eq!(body["code"], "not_found");

        let mut res = app
            .client
            .get(app.url("/no-such-page"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        assert!(res
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
        assert!(html.contains("<html lang=\"sv\" dir=\"ltr\">"));
        assert!(html.contains("Hittades inte"));

        let mut res = app
            .client
            .get(app.url("/no-such-page"))
            .insert_header(("Accept-Language", "en-GB,en;q=0.9"))
            .send()
            .await
            .unwrap();
        let html = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
        assert!(html.contains("<html lang=\"en\" dir=\"ltr\">") && html.contains("Not found"));

        // A method the route does not take is a 4xx, not a 500.
        let res = app.client.delete(app.url("/healthz")).send().await.unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
    }
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    for path in ["/", "/healthz", "/nope", "/api/v1/nope", "/static/app.css"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert!(h.get("referrer-policy").is_some(), "{path}");
    }
}

#[actix_web::test]
async fn the_language_switch_remembers_english() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let b = Browser::open(&app).await;
    let csrf_cookie = format!("narvaro_csrf={}", b.cookies["narvaro_csrf"]);
    let res = app
        .client
        .post(app.url("/lang"))
        .insert_header(("Referer", format!("{}/accessibility", app.address)))
        .insert_header(("Cookie", csrf_cookie.clone()))
        .send_form(&[("lang", "en"), ("_csrf", &b.csrf)])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers().get("location").unwrap(), "/accessibility");
    let cookie = res.cookie("lang").expect("a lang cookie");
    assert_eq!(cookie.value(), "en");
    assert_eq!(cookie.http_only(), Some(true));

    let mut page = app
        .client
        .get(app.url("/accessibility"))
        .cookie(cookie)
        .send()
        .await
        .unwrap();
    let html = String::from_utf8(page.body().await.unwrap().to_vec()).unwrap();
    assert!(html.contains("Accessibility statement"));

    // An off-site Referer never becomes the redirect target.
    let res = app
        .client
        .post(app.url("/lang"))
        .insert_header(("Referer", "https://evil.example/phish"))
        .insert_header(("Cookie", csrf_cookie.clone()))
        .send_form(&[("lang", "sv"), ("_csrf", &b.csrf)])
        .await
        .unwrap();
    assert_eq!(res.headers().get("location").unwrap(), "/");

    let res = app
        .client
        .post(app.url("/lang"))
        .insert_header(("Cookie", csrf_cookie))
        .send_form(&[("lang", "klingon"), ("_csrf", &b.csrf)])
        .await
        .unwrap();
    // a language Närvaro does not have is Swedish, never an error page
    assert_eq!(res.status(), 303);
    let cookie = res.cookie("lang").expect("the language is set");
    assert_eq!(cookie.value(), "sv");
}

/// RFC 9116: the file is served as plain text, with its two required fields (`Contact`,
/// and `Expires` once, in the future and less than a year ahead) and its own address.
#[actix_web::test]
async fn security_txt_says_where_to_report_a_vulnerability() {
    for kind in crate::helpers::backends() {
        let app = crate::helpers::TestApp::spawn_with(kind, |c| {
            c.security_contacts = vec!["mailto:sakerhet@kommun.example".into()];
        })
        .await;
        let mut res = app
            .client
            .get(app.url("/.well-known/security.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "text/plain; charset=utf-8"
        );
        let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
        assert!(
            text.contains("Contact: mailto:sakerhet@kommun.example\n"),
            "{text}"
        );
        assert_eq!(text.matches("\nExpires: ").count(), 1, "{text}");
        let expires = text
            .lines()
            .find_map(|l| l.strip_prefix("Expires: "))
            .unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(expires).unwrap();
        let ahead = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
        assert!(ahead > chrono::Duration::days(30) && ahead < chrono::Duration::days(365));
        assert!(text.contains(&format!(
            "Canonical: {}/.well-known/security.txt",
            app.config.base_url
        )));
    }
}

/// A pooled PostgreSQL connection cut from outside (a database restart, a proxy's idle
/// timeout) fails at most the one call that finds it, with a 503, and the next call gets
/// a new connection; no call waits for a health check while its connection is fresh.
#[actix_web::test]
async fn a_cut_database_connection_fails_one_call_with_503_and_the_next_reconnects() {
    use diesel::prelude::*;
    use narvaro::db::{Backend, Database, Manager};
    if !backends().contains(&Kind::Postgres) {
        return;
    }
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let db = crate::helpers::TestDb::new(Kind::Postgres);
    // one connection, so that every call gets the same one
    let database = Database::new(narvaro::db::connect(&db.url, 1).unwrap(), Backend::Postgres);
    let backend_pid = |database: &Database| {
        let database = database.clone();
        async move {
            database
                .read(|c| {
                    Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid")
                        .get_result::<Pid>(c)?
                        .pid)
                })
                .await
        }
    };
    let first = backend_pid(&database).await.unwrap();
    assert_eq!(
        backend_pid(&database).await.unwrap(),
        first,
        "the connection is kept"
    );

    let mut outside = Manager::new(db.url.clone()).open().unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({first})"))
        .execute(&mut outside)
        .unwrap();
    // the connection served a call a moment ago: it is used without asking, and fails
    let err = backend_pid(&database).await.unwrap_err();
    assert_eq!(err.status(), 503, "{err}");
    // the failure retires it: the next call asks, finds it dead, and gets a new one
    let second = backend_pid(&database).await.unwrap();
    assert_ne!(second, first);
    assert_eq!(backend_pid(&database).await.unwrap(), second);
}
