//! The administrator finds pupils, guardians, staff and classes by name (a plain GET form)
//! and chooses them into the forms: no ids to type, no school chosen for them. On both
//! databases.

use diesel::prelude::*;
use narvaro::schema::*;

use crate::browser::{conn, Browser, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{backends, TestApp};

fn name_of(c: &mut narvaro::db::DbConn, id: i64) -> (String, String) {
    people::table
        .find(id)
        .select((people::given_name, people::family_name))
        .first(c)
        .unwrap()
}

fn query(q: &str) -> String {
    serde_urlencoded::to_string([("q", q)]).unwrap()
}

#[actix_web::test]
async fn an_admin_finds_by_name_and_chooses_instead_of_typing_ids() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (child, class, guardian, teacher) = {
            let mut c = conn(&world.pool);
            let guardian: i64 = people::table
                .filter(people::username.eq("demo.guardian"))
                .select(people::id)
                .first(&mut *c)
                .unwrap();
            let teacher: i64 = people::table
                .filter(people::username.eq("demo.teacher"))
                .select(people::id)
                .first(&mut *c)
                .unwrap();
            let class: String = groups::table
                .find(world.ids.class)
                .select(groups::name)
                .first(&mut *c)
                .unwrap();
            (
                name_of(&mut c, world.ids.child),
                class,
                name_of(&mut c, guardian),
                (teacher, name_of(&mut c, teacher)),
            )
        };
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;

        // no school is chosen for the administrator: the list starts with "Välj skola"
        let page = admin.get("/admin").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains(r#"<option value="" selected disabled>Välj skola</option>"#),
            "{}",
            page.body
        );

        // the family name in lower case, then the class: the child is found, with class and school
        let lower = child.1.to_lowercase();
        let page = admin.get(&format!("/admin?{}", query(&lower))).await;
        assert_eq!(page.status, 200);
        let choose = format!("/admin?q={}&amp;pupil={}#guardian", lower, world.ids.child);
        assert!(page.body.contains(&choose), "{choose} in {}", page.body);
        let page = admin
            .get(&format!(
                "/admin?{}",
                query(&format!("{class} {}", child.0))
            ))
            .await;
        assert!(page.body.contains(&format!("pupil={}", world.ids.child)));
        assert!(page
            .body
            .contains(&format!("{} {} · {class}", child.0, child.1)));
        // the class itself is found by its name, to make someone its mentor
        assert!(
            page.body
                .contains(&format!("group={}#duty", world.ids.class))
                || {
                    let p = admin.get(&format!("/admin?{}", query(&class))).await;
                    p.body.contains(&format!("group={}#duty", world.ids.class))
                }
        );

        // nothing found says so; wildcards are letters, not patterns
        for q in ["zzxq", "%", "_"] {
            let page = admin.get(&format!("/admin?{}", query(q))).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains("Ingen träff"), "{q}");
        }

        // the chosen pupil is in the guardian form, by name; an unknown id is no choice
        let page = admin
            .get(&format!("/admin?pupil={}", world.ids.child))
            .await;
        assert!(page
            .body
            .contains(&format!(r#"name="pupil_id" value="{}""#, world.ids.child)));
        let page = admin.get("/admin?pupil=999999&group=x").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(r#"name="pupil_id""#));
        assert!(page.body.contains("sök fram eleven ovan"));

        // a guardian is found by name and chosen with their e-mail address
        let page = admin.get(&format!("/admin?{}", query(&guardian.0))).await;
        assert!(page
            .body
            .contains(&format!("{} {}", guardian.0, guardian.1)));
        let page = admin
            .get(&format!("/admin?pupil={}&guardian={}", world.ids.adult, {
                let mut c = conn(&world.pool);
                people::table
                    .filter(people::username.eq("demo.guardian"))
                    .select(people::id)
                    .first::<i64>(&mut *c)
                    .unwrap()
            }))
            .await;
        assert!(page.body.contains("Vårdnadshavare: "), "{}", page.body);
        assert!(!page.body.contains(r#"id="g-email""#));

        // staff by name, into the duty form's username
        let page = admin
            .get(&format!(
                "/admin?{}&staff={}",
                query(&teacher.1 .1),
                teacher.0
            ))
            .await;
        assert!(
            page.body.contains(r#"value="demo.teacher""#),
            "{}",
            page.body
        );

        // connecting without a pupil: told to choose one, nothing stored
        let before: i64 = {
            let mut c = conn(&world.pool);
            guardianships::table.count().get_result(&mut *c).unwrap()
        };
        let page = admin
            .post("/admin/guardianships", &[("email", "ny@example.com")])
            .await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("Välj en elev"), "{}", page.body);
        // and with one: connected
        let page = admin
            .post(
                "/admin/guardianships",
                &[
                    ("pupil_id", &world.ids.child.to_string()),
                    ("email", "ny.vardnadshavare@example.com"),
                    ("given_name", "Ny"),
                    ("family_name", "Vårdnadshavare"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let after: i64 = {
            let mut c = conn(&world.pool);
            guardianships::table.count().get_result(&mut *c).unwrap()
        };
        assert_eq!(after, before + 1);
        // and the new guardian is found by a name with å in any case
        let page = admin
            .get(&format!("/admin?{}", query("VÅRDNADSHAVARE ny")))
            .await;
        assert!(
            page.body.contains("ny.vardnadshavare@example.com"),
            "{}",
            page.body
        );

        // an invitation without a school is refused, nothing stored
        let page = admin
            .post(
                "/admin/staff",
                &[
                    ("given_name", "Utan"),
                    ("family_name", "Skola"),
                    ("email", "utan.skola@example.com"),
                    ("username", "utan.skola"),
                    ("role", "teacher"),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("Välj en skola"));
        let mut c = conn(&world.pool);
        let n: i64 = people::table
            .filter(people::username.eq("utan.skola"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n, 0);
    }
}

/// WCAG 2.5.3 (label in name): the register extract link's accessible name starts with
/// the words it shows.
#[actix_web::test]
async fn the_extract_links_name_starts_with_its_visible_text() {
    for kind in crate::helpers::backends() {
        let app = crate::helpers::TestApp::spawn(kind).await;
        let world = crate::fixtures::build(&app);
        let family = {
            let mut c = crate::browser::conn(&world.pool);
            name_of(&mut c, world.ids.child).1
        };
        let mut admin = crate::browser::Browser::open(&app).await;
        admin
            .sign_in("demo.admin", crate::browser::DEMO_PASSWORD)
            .await;
        let page = admin.get(&format!("/admin?{}", query(&family))).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let links: Vec<&str> = page
            .body
            .split("/extract\" aria-label=\"")
            .skip(1)
            .collect();
        assert!(!links.is_empty(), "{kind:?}: {}", page.body);
        for l in links {
            let (label, rest) = l.split_once('"').unwrap();
            let shown = rest.split('>').nth(1).unwrap().split('<').next().unwrap();
            assert!(label.starts_with(shown), "{label:?} starts with {shown:?}");
        }
    }
}
