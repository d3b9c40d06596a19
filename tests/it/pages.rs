//! What every page does over HTTP, whoever asks: text is compressed for a browser that
//! accepts gzip (the roll call travels in under 5 KB), HEAD answers as GET without the
//! body, and the tab's icon is there.

use std::io::Read;

use awc::http::Method;
use diesel::prelude::*;
use narvaro::schema::*;

use crate::browser::{conn, seed_demo, Browser};
use crate::helpers::{Kind, TestApp};

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("a gzip body");
    out
}

#[actix_web::test]
async fn pages_are_compressed_answer_head_and_have_an_icon() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let pool = seed_demo(&app);
    let mut b = Browser::open(&app).await;
    let signed_in = b
        .sign_in("demo.teacher", narvaro::seed::DEMO_PASSWORD)
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let teacher: i64 = people::table
        .filter(people::username.eq("demo.teacher"))
        .select(people::id)
        .first(&mut *conn(&pool))
        .unwrap();
    let today = app.config.clock.today(chrono_tz::Europe::Stockholm);
    let lesson: i64 = lessons::table
        .inner_join(
            activity_teachers::table.on(activity_teachers::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_teachers::teacher_id.eq(teacher))
        .filter(lessons::lesson_date.eq(today))
        .select(lessons::id)
        .first(&mut *conn(&pool))
        .unwrap();
    let roll_call = format!("/lessons/{lesson}");

    // the same page, plain and compressed: the same text
    let (status, plain_headers, plain) = b.raw(Method::GET, &roll_call, &[]).await;
    assert_eq!(status, 200);
    assert!(plain_headers.get("content-encoding").is_none());
    let (status, headers, gz) = b
        .raw(Method::GET, &roll_call, &[("Accept-Encoding", "gzip, br")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let text = gunzip(&gz);
    let plain = String::from_utf8(plain).unwrap();
    // the CSRF token differs per response; everything else is the same
    assert_eq!(text.len(), plain.len(), "the same page");
    assert!(text.contains("<form"), "{text}");
    println!(
        "roll call of {} pupils: {} bytes, {} gzip",
        text.matches("type=\"radio\"").count() / 4,
        plain.len(),
        gz.len()
    );
    assert!(
        gz.len() < 5 * 1024,
        "the roll call is {} bytes compressed",
        gz.len()
    );
    // styles, script, the API's documents and its errors (no bearer token here)
    for (path, kind, want) in [
        ("/static/app.css", "text/css", 200),
        ("/static/roll-call.js", "text/javascript", 200),
        ("/api/v1/openapi.yaml", "", 200),
        ("/api/v1/lessons", "application/problem+json", 401),
    ] {
        let (status, headers, body) = b
            .raw(Method::GET, path, &[("Accept-Encoding", "gzip")])
            .await;
        assert_eq!(status, want, "{path}");
        assert!(headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with(kind)));
        assert_eq!(
            headers
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some("gzip"),
            "{path}"
        );
        assert!(!gunzip(&body).is_empty());
    }

    // HEAD: GET's status and headers, no body; on a page that needs a session too
    for path in [
        "/login",
        "/",
        roll_call.as_str(),
        "/static/app.css",
        "/healthz",
    ] {
        let (get_status, get_headers, _) = b.raw(Method::GET, path, &[]).await;
        let (status, headers, body) = b.raw(Method::HEAD, path, &[]).await;
        assert_eq!(status, get_status, "HEAD {path}");
        assert!(body.is_empty(), "HEAD {path} has no body");
        assert_eq!(
            headers.get("content-type"),
            get_headers.get("content-type"),
            "HEAD {path}"
        );
    }
    let (status, _, _) = b.raw(Method::HEAD, "/no-such-page", &[]).await;
    assert_eq!(status, 404);

    // the start page counts the leave applications the /leave page lists: one more after
    // demo.guardian applies for a child
    let guardian: i64 = people::table
        .filter(people::username.eq("demo.guardian"))
        .select(people::id)
        .first(&mut *conn(&pool))
        .unwrap();
    let child: i64 = guardianships::table
        .filter(guardianships::guardian_id.eq(guardian))
        .select(guardianships::pupil_id)
        .order(guardianships::pupil_id)
        .first(&mut *conn(&pool))
        .unwrap();
    let mut g = Browser::open(&app).await;
    assert_eq!(
        g.sign_in("demo.guardian", narvaro::seed::DEMO_PASSWORD)
            .await
            .status,
        303
    );
    let day = (today + chrono::Duration::days(7)).to_string();
    let applied = g
        .post(
            &format!("/pupils/{child}/leave-applications"),
            &[
                ("start_date", &day),
                ("end_date", &day),
                ("reason", "Mormors 90-årsdag"),
            ],
        )
        .await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    for who in ["demo.principal", "demo.teacher"] {
        let mut s = Browser::open(&app).await;
        assert_eq!(
            s.sign_in(who, narvaro::seed::DEMO_PASSWORD).await.status,
            303
        );
        let start = s.get("/").await.body;
        let listed = s
            .get("/leave")
            .await
            .body
            .matches("href=\"/pupils/")
            .count();
        if who == "demo.principal" {
            assert!(listed >= 1, "the new application is listed");
        }
        assert!(
            start.contains(&format!("Ledighetsansökningar att hantera ({listed})")),
            "{who}: {listed} listed; {start}"
        );
    }

    // the icon every browser asks for
    let (status, headers, body) = b.raw(Method::GET, "/favicon.ico", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("image/svg+xml")
    );
    assert!(String::from_utf8(body).unwrap().starts_with("<svg"));
}
