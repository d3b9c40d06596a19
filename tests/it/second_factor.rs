//! The second factor (issue 40, item 3), on both databases: enrolling an authenticator app
//! from the account page, the code at every password sign-in after that, a code used twice
//! (refused, also when the same code comes in parallel), one step of clock skew, wrong codes
//! counted like wrong passwords, recovery codes (each once), the API, an administrator's
//! reset, and the roles that must enrol at their next sign-in.
//!
//! The codes are computed here from the key the page shows, as an app does, at the
//! system clock's time step; a test waits out the last seconds of a step before it reads
//! one, so that no test depends on when it runs.

use diesel::prelude::*;
use narvaro::auth::totp;
use narvaro::schema::{people, second_factors};
use serde_json::json;

use crate::browser::{audited, conn, Browser, Page, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, TestApp};
use crate::roll_call::futures_join_all;

/// The system clock's time step, with at least five seconds of it left.
fn fresh_step() -> i64 {
    loop {
        let now = chrono::Utc::now().timestamp();
        if now.rem_euclid(totp::STEP_SECS) < totp::STEP_SECS - 5 {
            return totp::step_at(now);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The key the enrolment page shows, read as a person types it into an app.
fn key_on(page: &Page) -> Vec<u8> {
    let at = page
        .body
        .find("class=\"key\"")
        .expect("the page shows the key");
    let text = &page.body[at..];
    let start = text.find('>').unwrap() + 1;
    let end = text.find('<').unwrap();
    totp::from_base32(&text[start..end]).expect("the key is base 32")
}

/// The recovery codes a page shows.
fn recovery_codes_on(page: &Page) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect()
}

fn person_id(pool: &narvaro::db::Pool, username: &str) -> i64 {
    people::table
        .filter(people::username.eq(username))
        .select(people::id)
        .first(&mut *conn(pool))
        .unwrap()
}

/// The last step a code was accepted for.
fn last_step(pool: &narvaro::db::Pool, username: &str) -> i64 {
    let id = person_id(pool, username);
    let mut c = conn(pool);
    second_factors::table
        .find(id)
        .select(second_factors::last_step)
        .first(&mut *c)
        .unwrap()
}

/// A code for a step not used yet: now, or the next one (one step of skew).
fn next_code(pool: &narvaro::db::Pool, username: &str, key: &[u8]) -> String {
    let step = fresh_step().max(last_step(pool, username) + 1);
    totp::code_at(key, step)
}

/// Enrols `username` from the account page; the key and the recovery codes.
async fn enrol(app: &TestApp, username: &str) -> (Vec<u8>, Vec<String>) {
    let mut b = Browser::open(app).await;
    b.sign_in(username, DEMO_PASSWORD).await;
    let account = b.get("/account").await;
    assert!(account.body.contains("/account/second-factor"));
    let page = b.get("/account/second-factor").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<svg"), "a QR code");
    let key = key_on(&page);
    assert_eq!(
        key,
        key_on(&b.get("/account/second-factor").await),
        "the same key when shown again"
    );
    let step = fresh_step();
    // two steps behind: refused; one step behind (a slow phone clock): accepted
    let stale = b
        .post(
            "/account/second-factor/confirm",
            &[("code", &totp::code_at(&key, step - 3))],
        )
        .await;
    assert_eq!(stale.status, 400, "{}", stale.body);
    assert!(stale.body.contains("Koden stämmer inte"));
    let done = b
        .post(
            "/account/second-factor/confirm",
            &[("code", &totp::code_at(&key, step - 1))],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let codes = recovery_codes_on(&done);
    assert_eq!(codes.len(), 10, "{}", done.body);
    (key, codes)
}

/// A new browser that gave the right password: where it was sent.
async fn password_step(app: &TestApp, username: &str) -> (Browser, Page) {
    let mut b = Browser::open(app).await;
    let page = b
        .post(
            "/login",
            &[
                ("username", username),
                ("password", DEMO_PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    (b, page)
}

#[actix_web::test]
async fn an_enrolled_account_is_asked_for_a_code_at_every_password_sign_in() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (key, recovery) = enrol(&app, "demo.teacher").await;
        assert_eq!(audited(&world.pool, "second_factor.enrolled"), 1);

        // the password alone is no session
        let (mut b, page) = password_step(&app, "demo.teacher").await;
        assert_eq!(page.status, 303, "{kind:?}");
        let location = page.location.unwrap();
        assert!(location.starts_with("/login/second-factor?"), "{location}");
        assert!(!b.cookies.contains_key("narvaro_session"), "{kind:?}");
        assert_eq!(audited(&world.pool, "sign_in.password_ok"), 1);
        let ask = b.get(&location).await;
        assert_eq!(ask.status, 200);
        assert!(ask.body.contains("autocomplete=\"one-time-code\""));

        // the code the enrolment used, again: refused
        let used = totp::code_at(&key, last_step(&world.pool, "demo.teacher"));
        let again = b
            .post(
                "/login/second-factor",
                &[("code", &used), ("next", "/account")],
            )
            .await;
        assert_eq!(again.status, 401, "{kind:?}");
        assert!(again.body.contains("redan använts"), "{}", again.body);
        let wrong = b
            .post(
                "/login/second-factor",
                &[("code", "12 34 5x"), ("next", "/account")],
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("Koden stämmer inte"));

        let code = next_code(&world.pool, "demo.teacher", &key);
        let ok = b
            .post(
                "/login/second-factor",
                &[("code", &code), ("next", "/account")],
            )
            .await;
        assert_eq!(ok.status, 303, "{kind:?}: {}", ok.body);
        assert_eq!(ok.location.as_deref(), Some("/account"));
        assert!(b.cookies.contains_key("narvaro_session"));
        assert!(
            !b.cookies.contains_key("narvaro_second_step"),
            "the step's cookie goes"
        );
        assert_eq!(b.get("/account").await.status, 200);
        assert_eq!(
            audited(&world.pool, "sign_in.ok"),
            2,
            "{kind:?}: the enrolment's sign-in and this one"
        );

        // a recovery code, once
        let (mut b, _) = password_step(&app, "demo.teacher").await;
        let first = b
            .post(
                "/login/second-factor",
                &[("code", &recovery[0].to_uppercase()), ("next", "/")],
            )
            .await;
        assert_eq!(first.status, 303, "{kind:?}: {}", first.body);
        let (mut b, _) = password_step(&app, "demo.teacher").await;
        let twice = b
            .post(
                "/login/second-factor",
                &[("code", &recovery[0]), ("next", "/")],
            )
            .await;
        assert_eq!(twice.status, 401, "{kind:?}");
        let (mut b, _) = password_step(&app, "demo.teacher").await;
        b.post(
            "/login/second-factor",
            &[("code", &recovery[1]), ("next", "/")],
        )
        .await;
        assert!(b
            .get("/account/second-factor")
            .await
            .body
            .contains("Oanvända reservkoder: <bdi>8</bdi>"));

        // the API wants the code as well
        let token = |code: Option<&str>| {
            let req = app.client.post(app.url("/api/v1/auth/token"));
            let mut body = json!({"username": "demo.teacher", "password": DEMO_PASSWORD});
            if let Some(code) = code {
                body["code"] = json!(code);
            }
            async move { req.send_json(&body).await.unwrap().status().as_u16() }
        };
        assert_eq!(token(None).await, 401, "{kind:?}");
        assert_eq!(token(Some(&recovery[2])).await, 200, "{kind:?}");
        assert_eq!(token(Some(&recovery[2])).await, 401, "{kind:?}: spent");

        // a lost phone: the administrator resets it, audited, and the password is enough again
        let teacher = person_id(&world.pool, "demo.teacher");
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let extract = admin.get(&format!("/admin/people/{teacher}/extract")).await;
        assert!(extract.body.contains("second-factor/reset"));
        let reset = admin
            .post(&format!("/admin/people/{teacher}/second-factor/reset"), &[])
            .await;
        assert_eq!(reset.status, 303, "{kind:?}");
        assert_eq!(audited(&world.pool, "second_factor.reset"), 1);
        let (b, page) = password_step(&app, "demo.teacher").await;
        assert_eq!(page.location.as_deref(), Some("/account"), "{kind:?}");
        assert!(b.cookies.contains_key("narvaro_session"));
    }
}

#[actix_web::test]
async fn wrong_codes_count_like_wrong_passwords_and_the_same_code_goes_through_once() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (_, recovery) = enrol(&app, "demo.teacher").await;

        // five wrong codes are evaluated, the sixth is held, and so is the right password
        // afterwards
        let (mut b, _) = password_step(&app, "demo.teacher").await;
        let mut held = Vec::new();
        for _ in 0..6 {
            held.push(
                b.post("/login/second-factor", &[("code", "999999"), ("next", "/")])
                    .await,
            );
        }
        let statuses: Vec<u16> = held.iter().map(|p| p.status.as_u16()).collect();
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{kind:?}");
        assert!(held[5].retry_after.is_some());
        let right = b
            .post(
                "/login/second-factor",
                &[("code", &recovery[0]), ("next", "/")],
            )
            .await;
        assert_eq!(
            right.status, 429,
            "{kind:?}: the account is held, right code or not"
        );
        let (_, page) = password_step(&app, "demo.teacher").await;
        assert_eq!(page.status, 429, "{kind:?}: and so is its password");

        let (key, _) = enrol(&app, "demo.principal").await;
        // the same right code from ten browsers at once: one signs in (another account, since
        // the one above is held; the failures of the other nine may hold this one too)
        let mut browsers = Vec::new();
        for _ in 0..10 {
            let (b, page) = password_step(&app, "demo.principal").await;
            assert_eq!(page.status, 303);
            browsers.push(b);
        }
        let code = next_code(&world.pool, "demo.principal", &key);
        let tasks: Vec<_> = browsers
            .into_iter()
            .map(|mut b| {
                let code = code.clone();
                async move {
                    b.post("/login/second-factor", &[("code", &code), ("next", "/")])
                        .await
                        .status
                        .as_u16()
                }
            })
            .collect();
        let statuses: Vec<u16> = futures_join_all(tasks).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 303).count(),
            1,
            "{kind:?}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [303, 401, 429].contains(s)),
            "{statuses:?}"
        );
    }
}

#[actix_web::test]
async fn a_role_that_requires_a_second_factor_enrols_at_its_next_sign_in() {
    for kind in backends() {
        let app = TestApp::spawn_with(kind, |c| {
            c.sign_in.second_factor_for = vec![narvaro::school::states::Role::Principal];
        })
        .await;
        let world = fixtures::build(&app);
        // a teacher is not asked
        let (b, page) = password_step(&app, "demo.teacher").await;
        assert_eq!(page.location.as_deref(), Some("/account"));
        assert!(b.cookies.contains_key("narvaro_session"));

        // the API sends such a person to the web until they have enrolled
        let res = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .send_json(&json!({"username": "demo.principal", "password": DEMO_PASSWORD}))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 403, "{kind:?}");

        let (mut b, page) = password_step(&app, "demo.principal").await;
        let location = page.location.unwrap();
        assert!(
            location.starts_with("/login/second-factor"),
            "{kind:?}: {location}"
        );
        let enrol = b.get(&location).await;
        assert!(
            enrol.body.contains("Ditt konto kräver tvåstegsverifiering"),
            "{}",
            enrol.body
        );
        let key = key_on(&enrol);
        let code = totp::code_at(&key, fresh_step());
        let done = b
            .post(
                "/login/second-factor",
                &[("code", &code), ("next", "/account")],
            )
            .await;
        assert_eq!(done.status, 200, "{kind:?}: {}", done.body);
        assert_eq!(recovery_codes_on(&done).len(), 10);
        assert!(
            b.cookies.contains_key("narvaro_session"),
            "signed in with the codes shown"
        );
        assert_eq!(b.get("/account").await.status, 200);
        // it cannot be turned off
        let off = b
            .post(
                "/account/second-factor/remove",
                &[("code", &next_code(&world.pool, "demo.principal", &key))],
            )
            .await;
        assert_eq!(off.status, 409, "{kind:?}");
    }
}
