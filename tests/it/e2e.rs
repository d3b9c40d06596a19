//! End to end in a real browser: headless Chromium at a phone's size, driven through
//! ChromeDriver's W3C WebDriver protocol (plain HTTP, so no extra crates). Debian's
//! `chromium` and `chromium-driver` are installed by scripts/install-deps.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::conn;
use crate::fixtures;
use crate::helpers::{backends, TestApp};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    profile: std::path::PathBuf,
    base: String,
    session: String,
    http: awc::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium's helper processes outlive the driver; they are known by the profile folder
        let _ = Command::new("pkill").arg("-f").arg(&self.profile).status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Whether the browser is installed; in CI its absence is a failure, elsewhere a loud skip.
fn browser_available() -> bool {
    let there =
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists();
    if !there {
        assert!(
            std::env::var("CI").is_err(),
            "CI: {CHROMEDRIVER} or {CHROMIUM} is missing; scripts/install-deps installs them"
        );
        eprintln!("\n!! chromium/chromedriver not installed: the browser test was SKIPPED (scripts/install-deps installs them)\n");
    }
    there
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(mut res) = http.get(format!("{base}/status")).send().await {
                let v: Value = res.json().await.unwrap_or(Value::Null);
                if v["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("narvaro-chromium-{port}"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--lang=sv-SE", format!("--user-data-dir={}", profile.display())],
                "prefs": {"intl.accept_languages": "sv-SE,sv"},
                "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0}}
            }
        }}});
        let mut res = http
            .post(format!("{base}/session"))
            .send_json(&caps)
            .await
            .unwrap();
        let v: Value = res.json().limit(1 << 20).await.unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Driver {
            child,
            profile,
            base,
            session,
            http,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = self.try_call(method, path, body).await;
        assert!(v.get("error").is_none(), "{method} {path}: {v}");
        v
    }

    /// The command's value, or its error object (the page may be changing under it).
    async fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url),
        };
        let mut res = match body {
            Some(b) => req.send_json(&b).await.unwrap(),
            None => req.send().await.unwrap(),
        };
        let v: Value = res.json().limit(8 << 20).await.unwrap();
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call("GET", &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Runs a script in the page and answers its value.
    async fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    async fn source(&self) -> String {
        self.call("GET", "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits until the element's text contains `want` (across page loads).
    async fn wait_text(&self, css: &str, want: &str) -> String {
        let started = Instant::now();
        loop {
            let v = self
                .try_call(
                    "POST",
                    "/elements",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(e) = v
                .as_array()
                .and_then(|a| a.first())
                .and_then(|e| e[ELEMENT].as_str())
            {
                let t = self
                    .try_call("GET", &format!("/element/{e}/text"), None)
                    .await;
                if let Some(t) = t.as_str().filter(|t| t.contains(want)) {
                    return t.to_string();
                }
            }
            if started.elapsed() > Duration::from_secs(10) {
                let page = self.try_call("GET", "/source", None).await;
                panic!(
                    "'{want}' never showed in {css}; the page:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[actix_web::test]
async fn a_teacher_reports_todays_lesson_on_a_phone() {
    if !browser_available() {
        return;
    }
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let d = Driver::start().await;
        d.go(&app.url("/login")).await;
        d.type_into("#username", "demo.teacher").await;
        d.type_into("#password", crate::browser::DEMO_PASSWORD)
            .await;
        d.click("form[action='/login'] button[type=submit]").await;
        d.wait_text("h1", "Hej").await;
        // the current or next lesson is the big one on the start page
        d.click("a.lesson.big").await;
        d.wait_text("#state", "Inte rapporterad").await;
        let html = d.source().await;
        let order: Vec<i64> = html
            .split("name=\"s")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .fold(Vec::new(), |mut v, id| {
                if !v.contains(&id) {
                    v.push(id);
                }
                v
            });
        assert!(order.len() >= 3, "a class on the page");
        let (a, b, late) = (order[0], order[1], order[2]);
        d.click(&format!("input[name='s{a}'][value=a] + span"))
            .await;
        d.click(&format!("input[name='s{b}'][value=a] + span"))
            .await;
        d.click(&format!("input[name='s{late}'][value=l] + span"))
            .await;
        d.type_into(&format!("input[name='m{late}']"), "10").await;
        d.click("button[value=report]").await;
        let state = d.wait_text("#state", "Rapporterad").await;
        assert!(state.contains("Rapporterad av"), "{state}");
        assert!(d.text(".notice").await.contains("Sparat"));

        let mut c = conn(&world.pool);
        let stored: Vec<(i64, String, i32)> = attendance_marks::table
            .filter(attendance_marks::pupil_id.eq_any([a, b, late]))
            .filter(
                attendance_marks::marked_at
                    .gt(crate::helpers::test_moment().naive_utc() - chrono::Duration::minutes(5)),
            )
            .select((
                attendance_marks::pupil_id,
                attendance_marks::status,
                attendance_marks::minutes,
            ))
            .order(attendance_marks::pupil_id)
            .load(&mut *c)
            .unwrap();
        let mut statuses: Vec<(i64, String)> = stored.iter().map(|s| (s.0, s.1.clone())).collect();
        statuses.sort();
        let mut want = vec![
            (a, "absent".to_string()),
            (b, "absent".to_string()),
            (late, "late".to_string()),
        ];
        want.sort();
        assert_eq!(statuses, want);
        assert!(stored.iter().any(|s| s.0 == late && s.2 == 10));
        d.call("DELETE", "", None).await;
    }
}

#[actix_web::test]
async fn a_principal_reads_the_statistics_on_a_phone_without_javascript_needed() {
    if !browser_available() {
        return;
    }
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let _world = fixtures::build(&app);
        let d = Driver::start().await;
        d.go(&app.url("/login")).await;
        d.type_into("#username", "demo.principal").await;
        d.type_into("#password", crate::browser::DEMO_PASSWORD)
            .await;
        d.click("form[action='/login'] button[type=submit]").await;
        d.wait_text("h1", "Hej").await;
        d.click("a[href='/statistics']").await;
        d.wait_text("h1", "Frånvarostatistik").await;
        // the weekly chart and the key figures, and nothing wider than the phone
        d.find("svg.trend").await;
        assert!(d.text("dl.key").await.contains("Rapporterat"));
        let fits = d
            .script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
            .await;
        assert_eq!(fits, json!(true), "the dashboard fits a phone's width");
        // the period form works by a plain GET: this school year
        let year = d.find("#f-period option[value=year]").await;
        d.call("POST", &format!("/element/{year}/click"), Some(json!({})))
            .await;
        d.click("form.filters button[type=submit]").await;
        let started = Instant::now();
        while !d
            .script("return location.search;")
            .await
            .as_str()
            .unwrap_or("")
            .contains("period=year")
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the form was sent"
            );
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        // drill down: pupils over the threshold, the 10 % quick filter, a pupil's lessons
        d.click("nav.sub a[href^='/statistics/pupils']").await;
        d.wait_text("h1", "Elever över frånvarogränsen").await;
        d.click("nav.sub a[href$='threshold=10']").await;
        d.wait_text("nav.sub strong", "10 %").await;
        let first = d
            .try_call(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": "table.figures tbody th a"})),
            )
            .await;
        if let Some(link) = first
            .as_array()
            .and_then(|a| a.first())
            .and_then(|e| e[ELEMENT].as_str())
        {
            d.call("POST", &format!("/element/{link}/click"), Some(json!({})))
                .await;
            d.wait_text("h2", "Frånvaro per vecka").await;
        }
        d.call("DELETE", "", None).await;
    }
}
