//! The roll call without a network, in headless Chromium: the school's Wi-Fi is a TCP proxy
//! between the browser and Närvaro that the test cuts and restores (every connection
//! through it dropped, as when the phone loses the network), together with the browser's
//! own offline mode. A roll call saved while cut reaches the server once when the network
//! is back; one overtaken by another teacher shows the conflict page; signing out clears
//! what the device kept.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{api_token, conn, DEMO_PASSWORD};
use crate::e2e::{browser_available, pupils_in, Driver, SMALL};
use crate::fixtures;
use crate::helpers::{backends, TestApp};

/// The network between the phone and the server.
struct Wifi {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Wifi {
    fn to(app: &TestApp) -> Wifi {
        let target = app.address.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
                    open2.lock().unwrap().extend([c, s]);
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(client, server));
                std::thread::spawn(move || pipe(s2, c2));
            }
        });
        Wifi { port, up, open }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn cut(&self, d: &Driver) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        browser_offline(d, true).await;
    }

    async fn restore(&self, d: &Driver) {
        self.up.store(true, Ordering::SeqCst);
        browser_offline(d, false).await;
    }
}

async fn browser_offline(d: &Driver, offline: bool) {
    d.call(
        "POST",
        "/goog/cdp/execute",
        Some(json!({"cmd": "Network.enable", "params": {}})),
    )
    .await;
    d.call(
        "POST",
        "/goog/cdp/execute",
        Some(
            json!({"cmd": "Network.emulateNetworkConditions", "params": {
            "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}}),
        ),
    )
    .await;
}

/// Waits until the script answers true (at most 15 s).
async fn until(d: &Driver, what: &str, js: &str) {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        if d.try_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
            == json!(true)
        {
            return;
        }
        assert!(Instant::now() < end, "never: {what}\n{}", d.source().await);
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs the teacher in through the Wi-Fi and waits until the device keeps the day.
async fn teacher_on_phone(wifi: &Wifi, username: &str) -> Driver {
    let d = Driver::start_as(SMALL).await;
    d.go(&wifi.url("/login")).await;
    d.type_into("#username", username).await;
    d.type_into("#password", DEMO_PASSWORD).await;
    d.click("form[action='/login'] button[type=submit]").await;
    d.wait_text("h1", "Hej").await;
    until(
        &d,
        "the service worker keeps the day",
        "return document.documentElement.getAttribute('data-offline') === 'ready';",
    )
    .await;
    d
}

/// Marks two absent and one ten minutes late on the lesson's page and saves.
async fn mark_and_save(d: &Driver, wifi: &Wifi, lesson: i64) -> (i64, i64, i64) {
    d.go(&wifi.url(&format!("/lessons/{lesson}"))).await;
    d.wait_text("h1", "").await;
    let order = pupils_in(&d.source().await);
    assert!(
        order.len() >= 3,
        "the kept page holds the class: {}",
        d.source().await
    );
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
    (a, b, late)
}

/// Closes the tab, leaving the browser open on a new one.
async fn close_tab(d: &Driver) {
    let new = d
        .call("POST", "/window/new", Some(json!({"type": "tab"})))
        .await;
    d.call("DELETE", "/window", None).await;
    d.call("POST", "/window", Some(json!({"handle": new["handle"]})))
        .await;
}

fn marks(world: &fixtures::World, lesson: i64) -> Vec<(i64, String, i32)> {
    let mut c = conn(&world.pool);
    attendance_marks::table
        .filter(attendance_marks::lesson_id.eq(lesson))
        .filter(attendance_marks::status.ne("present"))
        .select((
            attendance_marks::pupil_id,
            attendance_marks::status,
            attendance_marks::minutes,
        ))
        .order(attendance_marks::pupil_id)
        .load(&mut *c)
        .unwrap()
}

fn audit(world: &fixtures::World, lesson: i64) -> Vec<(String, Value)> {
    let mut c = conn(&world.pool);
    let rows: Vec<(String, String)> = audit_log::table
        .filter(audit_log::entity.eq("lesson"))
        .filter(audit_log::entity_id.eq(lesson))
        .filter(audit_log::action.like("lesson.%"))
        .select((audit_log::action, audit_log::detail))
        .order(audit_log::id)
        .load(&mut *c)
        .unwrap();
    rows.into_iter()
        .map(|(a, d)| (a, serde_json::from_str(&d).unwrap_or(Value::Null)))
        .collect()
}

#[actix_web::test]
async fn a_roll_call_saved_without_a_network_reaches_the_server_once() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let lesson = world.ids.lesson;
    let wifi = Wifi::to(&app);
    let d = teacher_on_phone(&wifi, "demo.teacher").await;

    wifi.cut(&d).await;
    let (a, b, late) = mark_and_save(&d, &wifi, lesson).await;
    let state = d.wait_text("#state", "Sparad på telefonen").await;
    assert!(state.contains("skickas när nätet är tillbaka"), "{state}");
    assert!(
        marks(&world, lesson).is_empty(),
        "nothing reached the server"
    );
    d.check_page("the roll call saved on the device").await;

    // a reload, still without a network: the marks that wait on the device are in the
    // form again, and the box above the list names the lesson
    d.go(&wifi.url(&format!("/lessons/{lesson}"))).await;
    until(
        &d,
        "the waiting marks are shown in the lesson's form",
        &format!(
            "var b = document.getElementById('offline'), f = document.getElementById('roll'); \
             if (!b || b.hidden || !f) return false; \
             var above = (b.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING) > 0; \
             var named = b.querySelector('li').textContent.indexOf(document.querySelector('h1').textContent.trim()) === 0; \
             return above && named && f.querySelector(\"input[name='s{a}'][value=a]\").checked \
               && f.querySelector(\"input[name='s{late}'][value=l]\").checked \
               && f.querySelector(\"input[name='m{late}'][value='10']\").checked;"
        ),
    )
    .await;
    d.check_page("the lesson with its roll call waiting on the device")
        .await;

    // the tab is closed; the start page, still without a network, lists what waits
    close_tab(&d).await;
    d.go(&wifi.url("/")).await;
    until(&d, "the waiting roll call is listed", "var b = document.getElementById('offline'); return !!b && !b.hidden && b.textContent.indexOf('sparad på telefonen') >= 0;").await;
    assert!(d
        .text(&format!("a.lesson[href='/lessons/{lesson}']"))
        .await
        .contains("Väntar på att skickas"));

    // the network is back: the next visit sends it, once
    wifi.restore(&d).await;
    d.go(&wifi.url("/")).await;
    // sent, and the page then reloads to say what the server has
    d.wait_text(
        &format!("a.lesson[href='/lessons/{lesson}'] .badge.ok"),
        "Rapporterad",
    )
    .await;
    assert!(!d.displayed("#offline").await, "nothing waits");
    let mut want = vec![
        (a, "absent".to_string()),
        (b, "absent".to_string()),
        (late, "late".to_string()),
    ];
    want.sort();
    let stored = marks(&world, lesson);
    assert_eq!(
        stored
            .iter()
            .map(|m| (m.0, m.1.clone()))
            .collect::<Vec<_>>(),
        want
    );
    assert!(stored.iter().any(|m| m.0 == late && m.2 == 10));
    // once more: nothing waits, nothing is sent again
    d.go(&wifi.url("/")).await;
    d.wait_text("h1", "Hej").await;
    let audited = audit(&world, lesson);
    assert_eq!(audited.len(), 1, "reported exactly once: {audited:?}");
    assert_eq!(audited[0].0, "lesson.reported");
    assert!(
        audited[0].1["saved_on_device_at"].is_string(),
        "{:?}",
        audited[0].1
    );
    assert!(audited[0].1["arrived_at"].is_string(), "{:?}", audited[0].1);
    // the guardians' notices follow as for any roll call
    let mut c = conn(&world.pool);
    let notices: i64 = outbox::table
        .filter(outbox::kind.eq("unexplained_absence"))
        .filter(outbox::pupil_id.eq_any([a, b]))
        .count()
        .get_result(&mut *c)
        .unwrap();
    assert!(notices > 0, "the absent pupils' guardians get their notice");
    d.call("DELETE", "", None).await;
}

#[actix_web::test]
async fn a_roll_call_overtaken_while_offline_shows_the_conflict() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let lesson = world.ids.lesson;
    // other.teacher stands in on the same lesson
    fixtures::stand_in(&world, lesson, "other.teacher");
    let wifi = Wifi::to(&app);
    let d = teacher_on_phone(&wifi, "demo.teacher").await;
    wifi.cut(&d).await;
    let (a, _, _) = mark_and_save(&d, &wifi, lesson).await;
    d.wait_text("#state", "Sparad på telefonen").await;

    // meanwhile the other teacher reports the lesson online: everyone present
    let token = api_token(&app, "other.teacher", DEMO_PASSWORD).await;
    let res = app
        .client
        .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&json!({"marks": [{"pupil_id": a, "status": "present"}]}))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    // the network returns while the lesson's page is still open: it sends at once, and
    // the server's answer is the conflict, shown in its place
    wifi.restore(&d).await;
    d.wait_text("main", "Någon annan sparade lektionen").await;
    d.check_page("the conflict after the network returned")
        .await;
    assert!(marks(&world, lesson).is_empty(), "nothing was overwritten");
    d.call("DELETE", "", None).await;
}

#[actix_web::test]
async fn signing_out_clears_what_the_device_kept() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(crate::helpers::Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let lesson = world.ids.lesson;
    let wifi = Wifi::to(&app);
    let d = teacher_on_phone(&wifi, "demo.teacher").await;
    wifi.cut(&d).await;
    mark_and_save(&d, &wifi, lesson).await;
    d.wait_text("#state", "Sparad på telefonen").await;

    // back online on a page that sends nothing (a page with the roll call would send it
    // the moment the network returns), the teacher signs out
    d.go(&wifi.url("/account")).await;
    d.wait_text("h1", "Ingen anslutning").await;
    wifi.restore(&d).await;
    d.go(&wifi.url("/account")).await;
    let kept = "var done = arguments[arguments.length - 1]; Promise.all([caches.keys(), indexedDB.databases ? indexedDB.databases() : []]).then(function (r) { done([r[0].length, r[1].length]); });";
    let before = d
        .call(
            "POST",
            "/execute/async",
            Some(json!({"script": kept, "args": []})),
        )
        .await;
    assert_ne!(
        before,
        json!([0, 0]),
        "the device keeps the day and the queue"
    );
    d.click("form[action='/logout'] button").await;
    d.wait_text("h1", "Logga in").await;
    let after = d
        .call(
            "POST",
            "/execute/async",
            Some(json!({"script": kept, "args": []})),
        )
        .await;
    assert_eq!(after, json!([0, 0]), "nothing is left on the device");

    // signing in again sends nothing
    d.type_into("#username", "demo.teacher").await;
    d.type_into("#password", DEMO_PASSWORD).await;
    d.click("form[action='/login'] button[type=submit]").await;
    d.wait_text("h1", "Hej").await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(marks(&world, lesson).is_empty());
    d.call("DELETE", "", None).await;
}

/// The same roll call from the device twice (its first answer lost with the network): the
/// second is recognised as already in, not taken for someone else's change; a malformed
/// device id or time is refused and stores nothing. On both databases.
#[actix_web::test]
async fn a_roll_call_sent_again_from_the_device_counts_once() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let mut b = crate::browser::Browser::open(&app).await;
        b.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let page = b.get(&format!("/lessons/{lesson}")).await;
        let pupil = pupils_in(&page.body)[0];
        let path = format!("/lessons/{lesson}");
        let status = format!("s{pupil}");
        let saved_at = "1795594500000"; // 2026-11-25 08:15 UTC
        for (field, value) in [
            ("device_submission", "no spaces"),
            ("device_saved_at", "soon"),
        ] {
            let mut form = vec![
                ("version", "0"),
                (status.as_str(), "a"),
                ("action", "report"),
            ];
            form.push((field, value));
            let page = b.post(&path, &form).await;
            assert_eq!(page.status, 400, "{field}={value}");
        }
        assert!(marks(&world, lesson).is_empty());
        let form = [
            ("version", "0"),
            (status.as_str(), "a"),
            ("action", "report"),
            ("device_saved_at", saved_at),
            ("device_submission", "6f1c2a9e-0b7d-4c55-9a3e-2f1d8c7b6a50"),
        ];
        for _ in 0..2 {
            let page = b.post(&path, &form).await;
            assert_eq!(page.status, 303, "{}", page.body);
        }
        assert_eq!(marks(&world, lesson).len(), 1);
        let audited = audit(&world, lesson);
        assert_eq!(audited.len(), 1, "{audited:?}");
        assert_eq!(
            audited[0].1["saved_on_device_at"],
            json!("2026-11-25T08:15:00")
        );
        // an ordinary stale form is still a conflict
        let page = b
            .post(
                &path,
                &[
                    ("version", "0"),
                    (status.as_str(), "p"),
                    ("action", "report"),
                ],
            )
            .await;
        assert_eq!(page.status, 409);
    }
}

/// The same roll call kept on the device, replayed eight times at the same moment (the
/// service worker and a second tab both sending it): every try is acknowledged, the marks
/// are stored and audited once. On both databases.
#[actix_web::test]
async fn identical_replays_at_the_same_moment_are_all_acknowledged() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let lesson = world.ids.lesson;
        let mut b = crate::browser::Browser::open(&app).await;
        b.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let page = b.get(&format!("/lessons/{lesson}")).await;
        let pupil = pupils_in(&page.body)[0];
        let fields: Vec<(String, String)> = [
            ("version", "0".to_string()),
            (&format!("s{pupil}"), "a".to_string()),
            ("action", "report".to_string()),
            ("device_saved_at", "1795594500000".to_string()),
            (
                "device_submission",
                "0c1d2e3f-4a5b-4c6d-8e7f-001122334455".to_string(),
            ),
            ("_csrf", b.csrf.clone()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let req = app
                    .client
                    .post(app.url(&format!("/lessons/{lesson}")))
                    .insert_header(("Cookie", b.cookie_header()));
                let fields = fields.clone();
                async move { req.send_form(&fields).await.unwrap().status().as_u16() }
            })
            .collect();
        let statuses = crate::roll_call::futures_join_all(tasks).await;
        assert!(statuses.iter().all(|s| *s == 303), "{kind:?}: {statuses:?}");
        assert_eq!(marks(&world, lesson).len(), 1, "{kind:?}");
        assert_eq!(audit(&world, lesson).len(), 1, "{kind:?}");
    }
}
