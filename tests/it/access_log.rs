//! Who read what (issue 40, item 4), on both databases: each kind of read of a pupil's
//! records is recorded (the pupil page, the statistics drill-down, the register extract,
//! the API's record and absence history), a refused read is not; the administrator's
//! question answers it as a page and as CSV, refuses a period of more than a year, and the
//! person's register extract lists the reads; retention forgets old reads.

use diesel::prelude::*;
use narvaro::config::Retention;
use narvaro::schema::{access_log, people};

use crate::browser::{api_get, api_token, conn, Browser, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, test_moment, test_today, TestApp};

fn kinds(pool: &narvaro::db::Pool, pupil: i64) -> Vec<String> {
    let mut k: Vec<String> = access_log::table
        .filter(access_log::pupil_id.eq(pupil))
        .select(access_log::kind)
        .load(&mut *conn(pool))
        .unwrap();
    k.sort();
    k
}

fn name_of(pool: &narvaro::db::Pool, username: &str) -> String {
    let (g, f): (String, String) = people::table
        .filter(people::username.eq(username))
        .select((people::given_name, people::family_name))
        .first(&mut *conn(pool))
        .unwrap();
    format!("{g} {f}")
}

#[actix_web::test]
async fn every_read_of_a_pupil_is_recorded_and_the_administrator_can_ask_who() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;

        let mut teacher = Browser::open(&app).await;
        teacher.sign_in("demo.teacher", DEMO_PASSWORD).await;
        assert_eq!(teacher.get(&format!("/pupils/{child}")).await.status, 200);
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        assert_eq!(
            principal
                .get(&format!("/statistics/pupils/{child}"))
                .await
                .status,
            200
        );
        let token = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        assert_eq!(
            api_get(&app, Some(&token), &format!("/api/v1/pupils/{child}"))
                .await
                .0,
            200
        );
        assert_eq!(
            api_get(
                &app,
                Some(&token),
                &format!("/api/v1/pupils/{child}/absences")
            )
            .await
            .0,
            200
        );
        // out of scope: 404, and nothing was read
        let mut other = Browser::open(&app).await;
        other.sign_in("other.guardian", DEMO_PASSWORD).await;
        assert_eq!(other.get(&format!("/pupils/{child}")).await.status, 404);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        assert_eq!(
            admin
                .get(&format!("/admin/people/{child}/extract"))
                .await
                .status,
            200
        );
        assert_eq!(
            kinds(&world.pool, child),
            [
                "api_absences",
                "api_pupil",
                "pupil_page",
                "register_extract",
                "statistics_pupil"
            ],
            "{kind:?}"
        );
        let routes: Vec<String> = access_log::table
            .select(access_log::route)
            .load(&mut *conn(&world.pool))
            .unwrap();
        assert!(
            routes.contains(&"/pupils/{id}".to_string()),
            "route patterns, never paths: {routes:?}"
        );
        assert!(!routes.iter().any(|r| r.contains(&child.to_string())));

        // the administrator's question
        let page = admin.get(&format!("/admin/access-log?pupil={child}")).await;
        assert_eq!(page.status, 200, "{kind:?}");
        for who in [
            "demo.teacher",
            "demo.principal",
            "demo.guardian",
            "demo.admin",
        ] {
            assert!(
                page.body.contains(&name_of(&world.pool, who)),
                "{kind:?}: {who}"
            );
        }
        assert!(page.body.contains("Frånvarostatistik för eleven"));
        assert!(!page.body.contains(&name_of(&world.pool, "other.guardian")));
        let csv = admin
            .get(&format!("/admin/access-log.csv?pupil={child}"))
            .await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.body.lines().count(), 1 + 5, "{kind:?}: {}", csv.body);
        assert!(
            csv.body.contains("statistics_pupil") && csv.body.contains("/statistics/pupils/{id}")
        );

        // more than a year: refused with words
        let long = admin
            .get(&format!(
                "/admin/access-log?pupil={child}&from=2025-01-01&to=2026-06-01"
            ))
            .await;
        assert_eq!(long.status, 400, "{kind:?}");
        assert!(long.body.contains("högst ett år"), "{}", long.body);
        let bad = admin.get("/admin/access-log?pupil=anna").await;
        assert_eq!(bad.status, 400);

        // the pupil's register extract lists who read their records
        let extract = admin
            .get(&format!("/admin/people/{child}/extract.json"))
            .await;
        let json: serde_json::Value = serde_json::from_str(&extract.body).unwrap();
        let readers: Vec<&str> = json["reads"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["by"].as_str())
            .collect();
        assert!(
            readers.contains(&name_of(&world.pool, "demo.teacher").as_str()),
            "{readers:?}"
        );
        assert!(json["reads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["what"] == "api_absences"));

        // retention forgets reads older than its days, and keeps the rest
        let now = test_moment().naive_utc();
        diesel::insert_into(access_log::table)
            .values((
                access_log::at.eq(now - chrono::Duration::days(400)),
                access_log::pupil_id.eq(child),
                access_log::kind.eq("pupil_page"),
                access_log::route.eq("/pupils/{id}"),
            ))
            .execute(&mut *conn(&world.pool))
            .unwrap();
        let before = kinds(&world.pool, child).len();
        let policy = Retention {
            years: 3,
            mail_days: 90,
            access_log_days: 365,
        };
        narvaro::upkeep::retention::apply(&app.database, policy, test_today(), now)
            .await
            .unwrap();
        assert_eq!(kinds(&world.pool, child).len(), before - 1, "{kind:?}");
    }
}
