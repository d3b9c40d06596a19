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
pub(crate) const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const RIGHT: &str = "\u{E014}";

pub(crate) struct Driver {
    /// taps (clicks) made so far, for the tap budgets
    pub taps: std::cell::Cell<u32>,
    /// keys pressed so far, for the keyboard budget
    keys: std::cell::Cell<u32>,
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
pub(crate) fn browser_available() -> bool {
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

/// How the browser is set up: the phone's viewport, and JavaScript on or off.
#[derive(Clone, Copy)]
pub(crate) struct Setup {
    pub width: u32,
    pub height: u32,
    pub js: bool,
}

/// A 390×844 phone with JavaScript (the older tests' browser).
const PHONE: Setup = Setup {
    width: 390,
    height: 844,
    js: true,
};

/// The issue's small phone: 375×667.
pub(crate) const SMALL: Setup = Setup {
    width: 375,
    height: 667,
    js: true,
};

impl Driver {
    pub(crate) async fn start() -> Driver {
        Driver::start_as(PHONE).await
    }

    pub(crate) async fn start_as(setup: Setup) -> Driver {
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
                "mobileEmulation": {"deviceMetrics": {"width": setup.width, "height": setup.height, "pixelRatio": 2.0}}
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
        let d = Driver {
            taps: std::cell::Cell::new(0),
            keys: std::cell::Cell::new(0),
            child,
            profile,
            base,
            session,
            http,
        };
        if !setup.js {
            // Närvaro's pages load script only from files: blocking them is a browser without
            // JavaScript for Närvaro, while the test can still drive and inspect the page
            // (switching JavaScript off in Chromium's settings stops ChromeDriver too)
            d.call(
                "POST",
                "/goog/cdp/execute",
                Some(json!({"cmd": "Network.enable", "params": {}})),
            )
            .await;
            d.call(
                "POST",
                "/goog/cdp/execute",
                Some(json!({"cmd": "Network.setBlockedURLs", "params": {"urls": ["*.js", "*.js?*"]}})),
            )
            .await;
        }
        d
    }

    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = self.try_call(method, path, body).await;
        assert!(v.get("error").is_none(), "{method} {path}: {v}");
        v
    }

    /// The command's value, or its error object (the page may be changing under it).
    pub(crate) async fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
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

    pub(crate) async fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    pub(crate) async fn click(&self, css: &str) {
        self.taps.set(self.taps.get() + 1);
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})))
            .await;
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call("GET", &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Runs a script in the page and answers its value.
    pub(crate) async fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    pub(crate) async fn source(&self) -> String {
        self.call("GET", "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits until the element's text contains `want` (across page loads).
    pub(crate) async fn wait_text(&self, css: &str, want: &str) -> String {
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
        d.tap_row(&format!("input[name='s{a}'][value=a] + span"))
            .await;
        d.tap_row(&format!("input[name='s{b}'][value=a] + span"))
            .await;
        d.tap_row(&format!("input[name='s{late}'][value=l] + span"))
            .await;
        d.tap_row(&format!("input[name='m{late}'][value='10'] + span"))
            .await;
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

/// axe-core, installed by scripts/install-deps from tests/browser/package.json.
fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/browser/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}; scripts/install-deps installs axe-core"))
}

impl Driver {
    /// Runs axe (WCAG 2.0, 2.1 and 2.2, levels A and AA) on the page and fails on any violation;
    /// also fails when the page is wider than the phone.
    pub(crate) async fn check_page(&self, what: &str) {
        self.call("POST", "/timeouts", Some(json!({"script": 60000})))
            .await;
        let loaded = self
            .call(
                "POST",
                "/execute/sync",
                Some(
                    json!({"script": format!("{}\n;return typeof axe;", axe_source()), "args": []}),
                ),
            )
            .await;
        assert_eq!(loaded, json!("object"), "axe loads into {what}");
        let found = self
            .call(
                "POST",
                "/execute/async",
                Some(json!({"script": r#"
                    var done = arguments[arguments.length - 1];
                    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}, rules: {'target-size': {enabled: true}}})
                      .then(function (r) { done(r.violations.map(function (v) {
                        return v.id + ' (' + v.impact + '): ' + v.nodes.map(function (n) { return n.target.join(' '); }).join(' | ');
                      })); })
                      .catch(function (e) { done(['axe failed: ' + e]); });"#, "args": []})),
            )
            .await;
        assert_eq!(found, json!([]), "WCAG 2.2 A/AA violations on {what}");
        let fits = self
            .script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
            .await;
        assert_eq!(fits, json!(true), "{what} is no wider than the phone");
    }

    pub(crate) async fn sign_in(&self, app: &TestApp, username: &str) {
        self.go(&app.url("/login")).await;
        self.type_into("#username", username).await;
        self.type_into("#password", crate::browser::DEMO_PASSWORD)
            .await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        self.wait_text("h1", "Hej").await;
        self.taps.set(0);
    }

    /// Taps a control in a long list: first scrolls it to the middle of the screen, clear of
    /// the save bar that sticks to the bottom, as a person scrolls before tapping. (The test
    /// scrolls through WebDriver, which works with the page's own scripts blocked too.)
    pub(crate) async fn tap_row(&self, css: &str) {
        let e = self.find(css).await;
        let mut element = serde_json::Map::new();
        element.insert(ELEMENT.to_string(), json!(e));
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": "arguments[0].scrollIntoView({block: 'center'});", "args": [Value::Object(element)]})),
        )
        .await;
        self.click(css).await;
    }

    /// Whether the element is shown (not hidden by the style sheet).
    pub(crate) async fn displayed(&self, css: &str) -> bool {
        let e = self.find(css).await;
        self.call("GET", &format!("/element/{e}/displayed"), None)
            .await
            == json!(true)
    }

    /// Presses one key (a WebDriver key code: Tab is \u{E004}, Enter \u{E007}, the right
    /// arrow \u{E014}) where the focus is, and counts it.
    pub(crate) async fn press(&self, key: &str) {
        self.keys.set(self.keys.get() + 1);
        let act = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.call("POST", "/actions", Some(act)).await;
    }

    /// The focused element's name attribute (or its tag and value when it has none).
    pub(crate) async fn focused(&self) -> String {
        let v = self
            .script("var e = document.activeElement; return e ? (e.getAttribute('name') || e.tagName) + '=' + (e.value || '') : '';")
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Tabs forward until the focus is on a control named `name` (at most 60 keys).
    pub(crate) async fn tab_to(&self, name: &str) {
        for _ in 0..60 {
            if self.focused().await.starts_with(&format!("{name}=")) {
                return;
            }
            self.press(TAB).await;
        }
        panic!("Tab never reached {name}");
    }

    /// Whether an element matches the selector on the page now.
    pub(crate) async fn has(&self, css: &str) -> bool {
        let v = self
            .try_call(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array().is_some_and(|a| !a.is_empty())
    }
}

/// The pupils of a roll call, in the page's order (from the status radios' names).
pub(crate) fn pupils_in(html: &str) -> Vec<i64> {
    html.split("name=\"s")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .fold(Vec::new(), |mut v, id| {
            if !v.contains(&id) {
                v.push(id);
            }
            v
        })
}

/// The issue's task, from the start page during a lesson: two absent, one ten minutes late,
/// saved, in at most five taps and no typing, at 375 px, with JavaScript on and off.
#[actix_web::test]
async fn a_teacher_marks_two_absent_and_one_late_in_five_taps() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    for js in [true, false] {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let d = Driver::start_as(Setup { js, ..SMALL }).await;
        d.sign_in(&app, "demo.teacher").await;
        // the lesson going on is a class of 30
        let action = d
            .script("var f = document.querySelector('section.now form#roll'); return f ? f.getAttribute('action') : '';")
            .await;
        let lesson: i64 = action
            .as_str()
            .and_then(|a| a.rsplit('/').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        fill_class_to_30(&world, lesson);
        d.go(&app.url("/")).await;
        // during the lesson, the start page is its roll call
        assert!(
            d.has("section.now form#roll").await,
            "the start page at 08:15 holds the lesson going on: {}",
            d.source().await
        );
        {
            d.check_page("the teacher's start page").await;
            // one row per pupil, and the save bar on the screen from the start
            let rows = d
                .script("return Array.from(document.querySelectorAll('ol.roll > li')).map(function (li) { return li.getBoundingClientRect().height; });")
                .await;
            let rows: Vec<f64> = serde_json::from_value(rows).unwrap();
            assert!(!rows.is_empty());
            assert!(
                rows.iter().all(|h| *h < 60.0),
                "each pupil on one row at 375 px: {rows:?}"
            );
            let bar = d
                .script("var r = document.querySelector('section.now .savebar').getBoundingClientRect(); return r.bottom <= window.innerHeight + 1 && r.top >= 0;")
                .await;
            assert_eq!(bar, json!(true), "the save bar is on the screen");
            let tall = d
                .script("var ol = document.querySelector('section.now ol.roll'); return [ol.children.length, Math.round(ol.getBoundingClientRect().height), Math.round(ol.getBoundingClientRect().top + window.scrollY), document.documentElement.scrollHeight, window.innerHeight];")
                .await;
            eprintln!("the start page with the roll call at 375 px: [pupils, list height, list top, page height, screen height] = {tall}");
            // a class of 30, from the top of the page to its last pupil, in two and a half screens
            let [n, height, top, _, screen]: [f64; 5] = serde_json::from_value(tall).unwrap();
            assert_eq!(n, 30.0);
            assert!(
                top + height <= 2.5 * screen,
                "30 pupils end {} px down, more than 2.5 screens of {screen}",
                top + height
            );
        }
        let html = d.source().await;
        let order = pupils_in(&html);
        assert!(order.len() >= 3, "a class on the page");
        let (a, b, late) = (order[0], order[1], order[2]);
        d.tap_row(&format!("section.now input[name='s{a}'][value=a] + span"))
            .await;
        // with JavaScript the reason appears as soon as a pupil is marked; without it, on
        // the next visit (the proof the script really is off)
        assert_eq!(
            d.has(&format!("section.now li:has(input[name='s{a}']) label.rs"))
                .await,
            js
        );
        d.tap_row(&format!("section.now input[name='s{b}'][value=a] + span"))
            .await;
        d.tap_row(&format!(
            "section.now input[name='s{late}'][value=l] + span"
        ))
        .await;
        d.tap_row(&format!(
            "section.now input[name='m{late}'][value='10'] + span"
        ))
        .await;
        d.click("section.now button[value=report]").await;
        let state = d.wait_text("#state", "Rapporterad").await;
        assert!(state.contains("Rapporterad av"), "{state}");
        assert_eq!(d.taps.get(), 5, "five taps from the start page");
        d.check_page("the roll call after saving").await;
        let stored = todays_marks(&world, &[a, b, late]);
        let lesson_minutes = stored.iter().find(|s| s.0 == a).map_or(0, |s| s.2);
        let mut want = vec![
            (a, "absent".to_string(), lesson_minutes),
            (b, "absent".to_string(), lesson_minutes),
            (late, "late".to_string(), 10),
        ];
        want.sort();
        assert_eq!(
            stored,
            want,
            "with JavaScript {}",
            if js { "on" } else { "off" }
        );
        // the save bar is one row on a phone
        let bar = d
            .script("return document.querySelector('.savebar').getBoundingClientRect().height;")
            .await;
        assert!(bar.as_f64().unwrap_or(999.0) < 70.0, "one row: {bar}");
        // "Alla närvarande" with marks on the page asks first and keeps them
        d.click("button[value=all_present]").await;
        d.wait_text(".errors", "Vill du ta bort dina markeringar?")
            .await;
        d.check_page("the question before everyone present").await;
        assert_eq!(
            todays_marks(&world, &[a, b, late]),
            want,
            "nothing thrown away"
        );
        d.call("DELETE", "", None).await;
    }
}

/// The same task with the keyboard alone: each pupil's statuses are one radio group (one
/// Tab in, arrows inside), the minutes another, and Enter saves. The keys are counted.
#[actix_web::test]
async fn a_teacher_marks_two_absent_and_one_late_with_the_keyboard() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    for js in [true, false] {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let d = Driver::start_as(Setup { js, ..SMALL }).await;
        d.sign_in(&app, "demo.teacher").await;
        let order = pupils_in(&d.source().await);
        let (a, b, late) = (order[0], order[1], order[2]);
        // from the top of the start page
        d.tab_to(&format!("s{a}")).await;
        let to_first = d.keys.get();
        d.press(RIGHT).await;
        d.tab_to(&format!("s{b}")).await;
        d.press(RIGHT).await;
        d.tab_to(&format!("s{late}")).await;
        d.press(RIGHT).await;
        d.press(RIGHT).await;
        assert_eq!(
            d.focused().await,
            format!("s{late}=l"),
            "late is two to the right"
        );
        d.tab_to(&format!("m{late}")).await;
        d.press(RIGHT).await;
        assert_eq!(d.focused().await, format!("m{late}=10"));
        // Enter on a radio button sends the form with its first button, "Rapportera"
        d.press(ENTER).await;
        let state = d.wait_text("#state", "Rapporterad").await;
        assert!(state.contains("Rapporterad av"), "{state}");
        let keys = d.keys.get();
        eprintln!(
            "keyboard, JavaScript {}: {keys} keys ({to_first} Tab to the first pupil)",
            if js { "on" } else { "off" }
        );
        assert!(keys <= 20, "{keys} keys, the budget is 20");
        let stored = todays_marks(&world, &[a, b, late]);
        let statuses: Vec<(i64, &str)> = stored.iter().map(|s| (s.0, s.1.as_str())).collect();
        let mut want = vec![(a, "absent"), (b, "absent"), (late, "late")];
        want.sort();
        assert_eq!(statuses, want);
        assert!(stored.iter().any(|s| s.0 == late && s.2 == 10));
        d.call("DELETE", "", None).await;
    }
}

/// The pupils' marks on today's lessons (pupil, status, minutes), by pupil.
fn todays_marks(world: &fixtures::World, pupils: &[i64]) -> Vec<(i64, String, i32)> {
    let mut c = conn(&world.pool);
    attendance_marks::table
        .filter(attendance_marks::pupil_id.eq_any(pupils))
        .filter(
            attendance_marks::lesson_id.eq_any(
                lessons::table
                    .filter(lessons::lesson_date.eq(crate::helpers::test_today()))
                    .select(lessons::id),
            ),
        )
        .select((
            attendance_marks::pupil_id,
            attendance_marks::status,
            attendance_marks::minutes,
        ))
        .order((attendance_marks::pupil_id, attendance_marks::id))
        .load(&mut *c)
        .unwrap()
}

/// More pupils in the lesson's class, so its roll call is a class of 30.
fn fill_class_to_30(world: &fixtures::World, lesson: i64) {
    let mut c = conn(&world.pool);
    let class: i64 = activity_groups::table
        .inner_join(lessons::table.on(lessons::activity_id.eq(activity_groups::activity_id)))
        .filter(lessons::id.eq(lesson))
        .select(activity_groups::group_id)
        .first(&mut *c)
        .unwrap();
    let now: i64 = group_memberships::table
        .filter(group_memberships::group_id.eq(class))
        .filter(narvaro::school::membership::on(crate::helpers::test_today()))
        .count()
        .get_result(&mut *c)
        .unwrap();
    let names = [
        ("Maximilian", "Andersson-Lindqvist"),
        ("Ella", "Ek"),
        ("Oskar", "Håkansson"),
        ("Saga", "Björklund"),
        ("Mohammed", "Abdullahi"),
        ("Wilma", "Öberg"),
        ("Vincent", "Sjöström"),
        ("Alice", "Lundgren"),
        ("Hugo", "Nyström"),
    ];
    for (given, family) in names.iter().take(30usize.saturating_sub(now as usize)) {
        crate::build::Person::new(given, family)
            .pupil_at(world.ids.school1)
            .in_group(class)
            .insert(&mut c);
    }
}

/// "Sjuk i dag" is one tap, said back in plain words, and undone with one more; a child
/// without lessons today is not offered it; the report form is one column.
#[actix_web::test]
async fn a_guardian_reports_sick_today_and_undoes_it_on_a_phone() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    for js in [true, false] {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let d = Driver::start_as(Setup { js, ..SMALL }).await;
        d.sign_in(&app, "demo.guardian").await;
        d.check_page("the guardian's start page").await;
        // the second choices look like second choices: no fill, as button.secondary
        let fills = d
            .script("return Array.from(document.querySelectorAll('a.button.secondary')).map(function (a) { return getComputedStyle(a).backgroundColor === getComputedStyle(document.documentElement).backgroundColor; });")
            .await;
        let fills: Vec<bool> = serde_json::from_value(fills).unwrap();
        assert!(!fills.is_empty() && fills.iter().all(|f| *f), "{fills:?}");
        // each child's day as it is: lessons from a time, or none
        let cards = d
            .call(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": "section.card"})),
            )
            .await;
        let mut offered = 0;
        for card in cards.as_array().unwrap() {
            let e = card[ELEMENT].as_str().unwrap();
            let text = d
                .call("GET", &format!("/element/{e}/text"), None)
                .await
                .as_str()
                .unwrap_or("")
                .to_string();
            if !text.contains("Anmäl frånvaro") {
                continue;
            }
            assert!(
                text.contains("Lektioner i dag")
                    || text.contains("Ingen lektion i dag")
                    || text.contains("i dag"),
                "the card says the child's day: {text}"
            );
            let sick = text.contains("Sjuk i dag");
            assert_eq!(
                sick,
                !text.contains("Ingen lektion i dag"),
                "sick today is offered exactly when there are lessons: {text}"
            );
            offered += usize::from(sick);
        }
        assert!(offered >= 1, "a child with lessons today");
        let child = world.ids.child;
        d.click(&format!(
            "form[action='/pupils/{child}/absence-reports'] button"
        ))
        .await;
        let said = d.wait_text(".notice", "Frånvaron är anmäld").await;
        assert!(said.contains("onsdag 25 november, hela dagen"), "{said}");
        assert_eq!(d.taps.get(), 1, "one tap files it");
        assert!(
            d.has(".notice a[href='/']").await,
            "a way back to the start page"
        );
        d.check_page("the child's page after sick today").await;
        d.click(".notice form button").await;
        d.wait_text(".notice", "Anmälan är borttagen").await;
        let mut c = conn(&world.pool);
        let open: i64 = absence_reports::table
            .filter(absence_reports::pupil_id.eq(child))
            .filter(absence_reports::cancelled_at.is_null())
            .filter(
                absence_reports::created_at
                    .gt(crate::helpers::test_moment().naive_utc() - chrono::Duration::minutes(5)),
            )
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(open, 0, "undone: no report stands");
        // the report form: one column, whole days or part of a day, one of them shown
        d.go(&app.url(&format!("/pupils/{child}/report"))).await;
        d.wait_text("h1", "Anmäl frånvaro").await;
        d.check_page("the report form").await;
        d.click("input[name=mode][value=part] + span").await;
        assert!(
            d.displayed("#from_time").await,
            "part of a day shows its times"
        );
        assert!(
            !d.displayed("#from_date").await,
            "and hides the whole days' dates"
        );
        d.call("DELETE", "", None).await;
    }
}

/// The principal's and the administrator's pages pass axe at 375 px.
#[actix_web::test]
async fn staff_pages_pass_axe_at_375_px() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let d = Driver::start_as(SMALL).await;
    d.sign_in(&app, "demo.principal").await;
    d.check_page("the principal's start page").await;
    for (path, heading) in [
        ("/statistics", "Frånvarostatistik"),
        (
            "/statistics/pupils?threshold=1",
            "Elever över frånvarogränsen",
        ),
        ("/leave", "Ledighetsansökningar"),
        ("/notices", "Meddelanden om frånvaro"),
        ("/audit", "Ändringslogg"),
    ] {
        d.go(&app.url(path)).await;
        d.wait_text("h1", heading).await;
        d.check_page(path).await;
    }
    // the principal delegates leave decisions to the mentors on /leave
    d.go(&app.url("/leave")).await;
    d.click("form[action='/leave-delegations'] button[type=submit]")
        .await;
    d.wait_text("p.notice", "Delegationen är sparad").await;
    d.check_page("/leave with a delegation").await;
    assert!(d.has("form[action='/leave-delegations/end']").await);
    // the day page: a substitute for the first lesson of the day, chosen in its list
    d.go(&app.url(&format!("/schools/{}/day", world.ids.school1)))
        .await;
    d.wait_text("h1", "Dagens ändringar").await;
    d.check_page("the day page").await;
    // teachers are folded: the office opens the first one
    d.click("details.teacher > summary").await;
    d.check_page("the day page with a teacher open").await;
    let lesson_select = "details.teacher ul.lessons select[name=substitute]";
    d.script(&format!(
        "var s = document.querySelector('{lesson_select}'); s.selectedIndex = s.options.length - 1;"
    ))
    .await;
    d.click("details.teacher ul.lessons form[action$='/day/substitute'] button[type=submit]")
        .await;
    d.wait_text("p.notice", "Vikarien är sparad").await;
    // back at the lesson changed, its teacher open
    assert!(d
        .text("details.teacher[open] ul.lessons")
        .await
        .contains("Vikarie: "));
    d.check_page("the day page with a substitute").await;
    d.go(&app.url(&format!("/schools/{}/settings", world.ids.school1)))
        .await;
    d.wait_text("h1", "Skolans inställningar").await;
    d.check_page("the school's settings").await;
    // the trips page: the class out for the afternoon, chosen and typed on the phone
    d.go(&app.url(&format!("/schools/{}/trips", world.ids.school1)))
        .await;
    d.wait_text("h1", "Utflykter och skolaktiviteter").await;
    d.check_page("the trips page").await;
    d.script(&format!(
        "document.querySelector('#group').value = '{}'; document.querySelector('#first').value = '{}'; document.querySelector('#from').value = '13:00';",
        world.ids.class,
        crate::helpers::test_today()
    ))
    .await;
    d.type_into("#title", "Skridskor").await;
    d.click("form[action$='/trips'] button[type=submit]").await;
    d.wait_text("p.notice", "Utflykten är inlagd").await;
    assert!(d.text("main").await.contains("Skridskor"));
    d.check_page("the trips page with a trip").await;
    // who goes: the list of the class opened, one pupil unticked and saved
    d.click("details > summary").await;
    d.check_page("the trips page with who goes open").await;
    d.click("details input[name=goes]").await;
    d.click("details button[type=submit]").await;
    d.wait_text("p.notice", "Elever som stannar kvar: 1").await;
    d.go(&app.url(&format!("/schools/{}/reasons", world.ids.school1)))
        .await;
    d.wait_text("h1", "Skolans frånvaroorsaker").await;
    d.check_page("the school's reasons").await;
    // the threshold list names each pupil's class
    d.go(&app.url("/statistics/pupils?threshold=1")).await;
    let head = d.text("table.figures thead").await;
    assert!(head.contains("Klass"), "{head}");
    d.go(&app.url(&format!("/pupils/{}", world.ids.child)))
        .await;
    d.check_page("a pupil's page").await;
    d.call("DELETE", "", None).await;
    // the administrator, without JavaScript: finds a pupil by name, chooses, connects a
    // guardian, no id typed
    let a = Driver::start_as(Setup { js: false, ..SMALL }).await;
    a.sign_in(&app, "demo.admin").await;
    a.check_page("the administrator's start page").await;
    a.go(&app.url("/admin/reasons")).await;
    a.wait_text("h1", "Frånvaroorsaker").await;
    a.check_page("/admin/reasons").await;
    a.go(&app.url("/admin")).await;
    a.check_page("/admin").await;
    let family: String = {
        let mut c = conn(&world.pool);
        people::table
            .find(world.ids.child)
            .select(people::family_name)
            .first(&mut *c)
            .unwrap()
    };
    a.type_into("#q", &family.to_lowercase()).await;
    a.click("#find button[type=submit]").await;
    a.wait_text("#find h3", "Elever").await;
    a.check_page("/admin with search results").await;
    a.click(&format!("#find a[href*='pupil={}']", world.ids.child))
        .await;
    a.wait_text("#guardian p.chosen", &family).await;
    a.type_into("#g-email", "hittad@example.com").await;
    a.type_into("#g-given", "Hittad").await;
    a.type_into("#g-family", "Förälder").await;
    a.click("#guardian button[type=submit]").await;
    a.wait_text("p.notice", "Vårdnadshavaren är kopplad till eleven")
        .await;
    a.call("DELETE", "", None).await;
}

/// Issue 36: from a signal on the start page to an opened investigation in at most four
/// taps at 375 px, every page passing axe; the principal then records the decision to
/// investigate, with the deadline the form suggests, in one more tap.
#[actix_web::test]
async fn a_principal_opens_an_investigation_from_a_signal_in_four_taps() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let signal = world.ids.signal;
    let d = Driver::start_as(SMALL).await;
    d.sign_in(&app, "demo.principal").await;
    d.check_page("the principal's start page").await;
    d.click("a[href='/signals']").await;
    d.wait_text("h1", "Signaler om frånvaro").await;
    d.check_page("the signal list").await;
    d.click(&format!("form[action='/signals/{signal}/case'] button"))
        .await;
    d.wait_text("h1", "Frånvaroutredning").await;
    assert!(d.taps.get() <= 4, "{} taps to the case", d.taps.get());
    d.check_page("the opened investigation").await;
    let opened: Vec<(String, Option<String>)> = absence_cases::table
        .filter(absence_cases::pupil_id.eq(world.ids.child))
        .select((absence_cases::status, absence_cases::decision))
        .load(&mut *conn(&world.pool))
        .unwrap();
    assert_eq!(opened, vec![("open".to_string(), None)]);
    d.click("form[action$='/decision'] button[type=submit]")
        .await;
    d.wait_text("p.notice", "Sparat").await;
    d.check_page("the investigation after the decision").await;
    let decided: Vec<Option<String>> = absence_cases::table
        .filter(absence_cases::pupil_id.eq(world.ids.child))
        .select(absence_cases::decision)
        .load(&mut *conn(&world.pool))
        .unwrap();
    assert_eq!(decided, vec![Some("investigate".to_string())]);
    d.call("DELETE", "", None).await;
}
