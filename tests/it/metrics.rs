//! `/metrics` on its own address (NARVARO_METRICS_BIND), scraped in the Prometheus text
//! format before and after a sign-in (failed, throttled and successful), a roll call, the
//! outbox's pass (to a real SMTP server on loopback: notices sent, one refused) and an SS 12000 sync:
//! every metric the issue names moves. Not served beside the pages. On both backends.

use std::collections::HashMap;

use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_token, conn, put_absent, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, Kind, TestApp};
use crate::notices::Smtp;

/// Every sample of a scrape, by its series as written (`name{label="value",…}`).
struct Scrape(HashMap<String, f64>);

impl Scrape {
    async fn of(app: &TestApp) -> Scrape {
        let address = app.metrics_address.as_deref().expect("metrics are on");
        let mut res = app
            .client
            .get(format!("{address}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
        if std::env::var("SHOW_METRICS").is_ok() {
            eprintln!("{body}");
        }
        let mut samples = HashMap::new();
        for line in body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            samples.insert(series.to_string(), value.parse::<f64>().expect("a number"));
        }
        Scrape(samples)
    }

    /// A sample, 0 when the series has not appeared yet.
    fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// Whether the metric is there at all (as a plain sample or a histogram).
    fn has(&self, name: &str) -> bool {
        self.0.keys().any(|k| {
            k == name || k.starts_with(&format!("{name}{{")) || k.starts_with(&format!("{name}_"))
        })
    }
}

async fn token_attempt(app: &TestApp, username: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/token"))
        .send_json(&json!({"username": username, "password": password}))
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn metrics_are_scraped_on_their_own_address_and_move_with_the_work() {
    if !Smtp::available() {
        return;
    }
    let structure = crate::sync::seeded_structure();
    for kind in backends() {
        let mut smtp = Smtp::new();
        smtp.start();
        let smtp_url = smtp.url();
        let backups = std::env::temp_dir().join(format!(
            "narvaro-metrics-backups-{}-{kind:?}",
            std::process::id()
        ));
        std::fs::create_dir_all(&backups).unwrap();
        let dir = backups.clone();
        let app = TestApp::spawn_with(kind, move |c| {
            c.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
            c.notice_delay_minutes = Some(0);
            c.smtp_url = Some(smtp_url);
            if kind == Kind::Sqlite {
                c.backups = Some(narvaro::config::BackupSchedule {
                    dir,
                    every_hours: 24,
                    keep: 2,
                });
            }
        })
        .await;

        // never beside the pages
        let res = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 404, "{kind:?}");

        let world = fixtures::build(&app);
        let before = Scrape::of(&app).await;
        for name in [
            "narvaro_db_pool_connections",
            "narvaro_db_pool_in_use",
            "narvaro_outbox_pending",
            "narvaro_outbox_failed",
            "narvaro_outbox_oldest_due_age_seconds",
            "narvaro_last_backup_timestamp_seconds",
            "narvaro_last_sync_timestamp_seconds",
            "narvaro_db_pool_wait_seconds",
            "narvaro_db_write_turn_wait_seconds",
        ] {
            assert!(before.has(name), "{kind:?}: {name} is scraped");
        }
        assert_eq!(before.get("narvaro_last_sync_timestamp_seconds"), 0.0);
        assert_eq!(before.get("narvaro_outbox_pending"), 0.0);

        // sign-ins: five wrong passwords, then the account waits; then one right
        for _ in 0..narvaro::auth::throttle::PER_ACCOUNT {
            assert_eq!(
                token_attempt(&app, "demo.principal", "wrong-password").await,
                401
            );
        }
        assert_eq!(
            token_attempt(&app, "demo.principal", DEMO_PASSWORD).await,
            429
        );
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;

        // a roll call with two absent pupils: a notice to each guardian, due at once; the
        // address of the first pupil's guardian is one the mail server refuses
        let (child, lesson) = (world.ids.child, world.ids.lesson);
        let (_, rc) = crate::browser::api_get(
            &app,
            Some(&teacher),
            &format!("/api/v1/lessons/{lesson}/roll-call"),
        )
        .await;
        let other = rc["pupils"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .find(|p| *p != child)
            .unwrap();
        {
            let mut c = conn(&world.pool);
            let guardian: i64 = guardianships::table
                .filter(guardianships::pupil_id.eq(child))
                .select(guardianships::guardian_id)
                .order(guardianships::guardian_id)
                .first(&mut *c)
                .unwrap();
            diesel::update(people::table.find(guardian))
                .set(people::email.eq("reject.me@skola.example"))
                .execute(&mut *c)
                .unwrap();
        }
        put_absent(&app, &teacher, lesson, &[child, other]).await;
        // a connection held, as a busy request would
        let held = app.database.pool().get().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let during = Scrape::of(&app).await;
        drop(held);

        let put = r#"method="PUT",route="/api/v1/lessons/{id}/roll-call""#;
        assert_eq!(
            during.get(&format!(
                "narvaro_http_requests_total{{{put},status=\"200\"}}"
            )),
            1.0,
            "{kind:?}"
        );
        assert_eq!(
            during.get(&format!(
                "narvaro_http_request_duration_seconds_count{{{put}}}"
            )),
            1.0
        );
        assert!(
            during.get(&format!(
                "narvaro_http_request_duration_seconds_sum{{{put}}}"
            )) > 0.0
        );
        let token = r#"method="POST",route="/api/v1/auth/token""#;
        assert_eq!(
            during.get(&format!(
                "narvaro_http_requests_total{{{token},status=\"401\"}}"
            )),
            5.0
        );
        assert_eq!(
            during.get(r#"narvaro_sign_ins_total{channel="api",outcome="failed"}"#),
            5.0
        );
        assert_eq!(
            during.get(r#"narvaro_sign_ins_total{channel="api",outcome="throttled"}"#),
            1.0
        );
        assert_eq!(
            during.get(r#"narvaro_sign_ins_total{channel="api",outcome="ok"}"#),
            1.0
        );
        assert!(during.get("narvaro_db_pool_in_use") >= 1.0, "{kind:?}");
        assert!(during.get("narvaro_db_pool_connections") >= 1.0);
        assert!(
            during.get("narvaro_db_pool_wait_seconds_count")
                > before.get("narvaro_db_pool_wait_seconds_count")
        );
        if kind == Kind::Sqlite {
            assert!(
                during.get("narvaro_db_write_turn_wait_seconds_count")
                    > before.get("narvaro_db_write_turn_wait_seconds_count")
            );
        }
        let notices = during.get("narvaro_outbox_pending");
        assert!(notices >= 2.0, "{kind:?}: {notices}");
        assert!(during.get("narvaro_outbox_oldest_due_age_seconds") > 0.0);

        // the running server's own worker makes its pass
        let pass = narvaro::notices::worker::run_once(&app.outbox, "metrics-test")
            .await
            .unwrap();
        assert!(pass.sent >= 1 && pass.failed == 1, "{kind:?}: {pass:?}");
        let after = Scrape::of(&app).await;
        assert_eq!(
            after.get(r#"narvaro_notices_total{outcome="sent"}"#),
            pass.sent as f64
        );
        assert_eq!(after.get(r#"narvaro_notices_total{outcome="failed"}"#), 1.0);
        assert_eq!(after.get("narvaro_outbox_failed"), 1.0);
        assert_eq!(
            after.get("narvaro_outbox_pending"),
            notices - pass.sent as f64 - 1.0
        );

        // a sync from the school administration system, and (SQLite) the scheduled backup
        let source_dir = backups.join("source");
        std::fs::create_dir_all(&source_dir).unwrap();
        let data = source_dir.join("source.json");
        crate::sync::write(&data, &structure);
        let source = crate::sync::Source::start(&source_dir, &data, None);
        crate::sync::sync(&app.database, &source).await.unwrap();
        if kind == Kind::Sqlite {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while Scrape::of(&app)
                .await
                .get("narvaro_last_backup_timestamp_seconds")
                == 0.0
            {
                assert!(std::time::Instant::now() < deadline, "the backup ran");
                actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        let last = Scrape::of(&app).await;
        let now = chrono::Utc::now().timestamp() as f64;
        let synced = last.get("narvaro_last_sync_timestamp_seconds");
        // the sync ran on the test's clock, which reads 25 November 2026
        let test_clock = crate::helpers::test_moment().timestamp() as f64;
        assert!(
            (synced - test_clock).abs() < 600.0,
            "{kind:?}: {synced} is the sync's end"
        );
        if kind == Kind::Sqlite {
            let backed_up = last.get("narvaro_last_backup_timestamp_seconds");
            assert!((now - backed_up).abs() < 600.0, "{backed_up}");
        }
        drop(source);
        let _ = std::fs::remove_dir_all(&backups);
    }
}
