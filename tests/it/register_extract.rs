//! The register extract (GDPR art. 15): an administrator gets everything held about one
//! person as a page and as JSON, the civic number only as "on record", and producing it
//! is audited. On both databases.

use diesel::prelude::*;
use narvaro::schema::*;

use crate::browser::{audited, conn, Browser, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, TestApp};

#[actix_web::test]
async fn an_administrator_produces_a_register_extract() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let (given, family, marks): (String, String, i64) = {
            let mut c = conn(&world.pool);
            diesel::update(people::table.find(child))
                .set((
                    people::civic_no.eq("201401012383"),
                    people::phone.eq(Some("+46701234567")),
                ))
                .execute(&mut *c)
                .unwrap();
            let (g, f): (String, String) = people::table
                .find(child)
                .select((people::given_name, people::family_name))
                .first(&mut *c)
                .unwrap();
            let n: i64 = attendance_marks::table
                .filter(attendance_marks::pupil_id.eq(child))
                .count()
                .get_result(&mut *c)
                .unwrap();
            (g, f, n)
        };
        // the guardian signs in, once wrongly; the teacher marks the child and changes it
        let mut guardian_browser = Browser::open(&app).await;
        let wrong = guardian_browser
            .post(
                "/login",
                &[
                    ("username", "demo.guardian"),
                    ("password", "not-the-password"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401);
        guardian_browser
            .sign_in("demo.guardian", DEMO_PASSWORD)
            .await;
        let teacher = crate::browser::api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        for status in ["absent", "present"] {
            let res = app
                .client
                .put(app.url(&format!("/api/v1/lessons/{}/roll-call", world.ids.lesson)))
                .insert_header(("Authorization", format!("Bearer {teacher}")))
                .send_json(&serde_json::json!({"marks": [{"pupil_id": child, "status": status}]}))
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let page = admin.get(&format!("/admin/people/{child}/extract")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(&given) && page.body.contains(&family));
        assert!(
            page.body.contains(&format!("Närvaromarkeringar ({marks})")),
            "{}",
            page.body
        );
        assert!(page.body.contains("Vårdnadshavare ("));
        assert!(
            !page.body.contains("201401012383"),
            "the civic number is never shown"
        );
        let json = admin
            .get(&format!("/admin/people/{child}/extract.json"))
            .await;
        assert_eq!(json.status, 200);
        let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(v["person"][0]["civic_number"], "on record");
        assert_eq!(v["person"][0]["phone"], "+46701234567");
        assert_eq!(v["marks"].as_array().map(|m| m.len() as i64), Some(marks));
        assert!(v["guardians"].as_array().is_some_and(|g| !g.is_empty()));
        // the changes to the child's marks are audit rows about the child
        let changed = v["audit"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "attendance.changed")
            .count();
        assert!(changed >= 1, "{kind:?}: {}", v["audit"]);
        assert_eq!(audited(&world.pool, "register.extract"), 2);
        // a guardian's extract names the children; someone who does not exist is a 404
        let guardian: i64 = {
            let mut c = conn(&world.pool);
            people::table
                .filter(people::username.eq("demo.guardian"))
                .select(people::id)
                .first(&mut *c)
                .unwrap()
        };
        let json = admin
            .get(&format!("/admin/people/{guardian}/extract.json"))
            .await;
        let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert!(v["children"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["id"] == child)));
        // their sign-ins, failed and successful, by channel and address
        let outcomes: Vec<&str> = v["sign_ins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["failed", "ok"], "{kind:?}: {}", v["sign_ins"]);
        assert_eq!(v["sign_ins"][1]["channel"], "web");
        assert_eq!(v["sign_ins"][1]["from"], "127.0.0.1");
        assert_eq!(
            admin.get("/admin/people/999999999/extract").await.status,
            404
        );
        assert_eq!(audited(&world.pool, "register.extract"), 3);
        // and it is found from the search
        let page = admin
            .get(&format!(
                "/admin?{}",
                serde_urlencoded::to_string([("q", family.as_str())]).unwrap()
            ))
            .await;
        assert!(page
            .body
            .contains(&format!("/admin/people/{child}/extract")));
    }
}
