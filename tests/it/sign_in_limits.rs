//! Sign-in limits under a burst (issue 34, items 1, 2 and 4): an attempt is reserved before
//! its hash, so parallel attempts cannot walk past a limit; a device where the person
//! signed in before has a counter of its own; the API client limit runs on the system
//! clock whatever the school day's clock says.

use serde_json::json;

use crate::browser::{audited, Browser, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, TestApp};
use crate::roll_call::futures_join_all;

/// POSTs the password attempts to the API's token endpoint all at once; their statuses.
async fn burst(app: &TestApp, attempts: Vec<(String, String)>) -> Vec<u16> {
    let tasks: Vec<_> = attempts
        .into_iter()
        .map(|(username, password)| {
            let req = app.client.post(app.url("/api/v1/auth/token"));
            async move {
                req.send_json(&json!({"username": username, "password": password}))
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        })
        .collect();
    futures_join_all(tasks).await
}

#[actix_web::test]
async fn three_hundred_wrong_passwords_at_once_get_at_most_five_evaluated() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut attempts: Vec<(String, String)> = (0..300)
            .map(|i| ("demo.teacher".to_string(), format!("gissning-{i}")))
            .collect();
        // the right password, inside the burst
        attempts.push(("demo.teacher".into(), DEMO_PASSWORD.into()));
        let statuses = burst(&app, attempts).await;
        let evaluated = statuses.iter().filter(|s| **s == 401).count();
        let held = statuses.iter().filter(|s| **s == 429).count();
        assert!(
            evaluated <= 5,
            "{kind:?}: {evaluated} wrong passwords were evaluated"
        );
        assert_eq!(audited(&world.pool, "sign_in.failed"), evaluated as i64);
        assert_eq!(evaluated + held, 301, "{kind:?}: {statuses:?}");
        assert_eq!(
            statuses.last(),
            Some(&429),
            "{kind:?}: the right password inside the burst is refused while the account is held"
        );
        assert_eq!(audited(&world.pool, "sign_in.ok"), 0);
        // and after the burst, the account is still held
        let after = burst(&app, vec![("demo.teacher".into(), DEMO_PASSWORD.into())]).await;
        assert_eq!(after, vec![429], "{kind:?}");
    }
}

#[actix_web::test]
async fn a_spray_from_one_address_gets_at_most_the_address_limit_evaluated() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let attempts = (0..200)
            .map(|i| (format!("gissat.namn{i}"), "Sommar2026".to_string()))
            .collect();
        let statuses = burst(&app, attempts).await;
        let evaluated = statuses.iter().filter(|s| **s == 401).count() as i64;
        assert!(
            evaluated <= narvaro::auth::throttle::PER_ADDRESS,
            "{kind:?}: {evaluated} of a spray of 200 were evaluated"
        );
        assert_eq!(audited(&world.pool, "sign_in.failed"), evaluated);
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count() as i64,
            200 - evaluated,
            "{kind:?}: {statuses:?}"
        );
    }
}

#[actix_web::test]
async fn somebody_elses_guesses_do_not_lock_a_teacher_out_on_her_own_device() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        fixtures::build(&app);
        // the teacher has signed in on her phone before
        let mut phone = Browser::open(&app).await;
        phone.sign_in("demo.teacher", DEMO_PASSWORD).await;
        assert!(phone.cookies.contains_key("narvaro_device"));
        phone.post("/logout", &[]).await;

        // somebody else tries her account five times, then even the right password waits
        let guesses = (0..narvaro::auth::throttle::PER_ACCOUNT)
            .map(|i| ("demo.teacher".to_string(), format!("fel-{i}")))
            .collect();
        let statuses = burst(&app, guesses).await;
        assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
        let stranger = burst(&app, vec![("demo.teacher".into(), DEMO_PASSWORD.into())]).await;
        assert_eq!(stranger, vec![429], "{kind:?}: unknown devices are held");

        // on her own phone she signs in
        let page = phone
            .post(
                "/login",
                &[
                    ("username", "demo.teacher"),
                    ("password", DEMO_PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{kind:?}: {}", page.body);
        phone.post("/logout", &[]).await;

        // her own device has a limit of its own: five wrong there hold it too
        for i in 0..narvaro::auth::throttle::PER_ACCOUNT {
            let page = phone
                .post(
                    "/login",
                    &[("username", "demo.teacher"), ("password", &format!("x{i}"))],
                )
                .await;
            assert_eq!(page.status, 401, "{kind:?}");
        }
        let page = phone
            .post(
                "/login",
                &[("username", "demo.teacher"), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 429, "{kind:?}: the device's own counter holds");
    }
}
