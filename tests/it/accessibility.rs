//! The accessibility statement is true (issue 40, item 6): every page it says is tested is
//! opened here in Chromium on a phone-sized screen, as the role it names, and checked with
//! axe against WCAG 2.0, 2.1 and 2.2 A and AA (target-size included); the axe version it
//! names is the one the tests install; the page itself has the parts DIGG's model asks for,
//! and tells a reader of another language, in theirs, that it is in Swedish and English.

use narvaro::web::accessibility::statement;

use crate::browser::Browser;
use crate::e2e::{browser_available, Driver, SMALL};
use crate::fixtures;
use crate::helpers::{backends, Kind, TestApp};

#[actix_web::test]
async fn the_statement_names_the_installed_axe_and_the_parts_digg_asks_for() {
    let s = statement().unwrap();
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/package-lock.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        lock["packages"]["node_modules/axe-core"]["version"], s.axe,
        "templates/accessibility.yaml names the axe-core version tests/browser installs"
    );
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.accessibility.organisation = Some("Exempels kommun".into());
        c.accessibility.contact = Some("tillganglighet@exempel.se".into());
    })
    .await;
    let mut b = Browser::open(&app).await;
    let page = b.get("/accessibility").await;
    assert_eq!(page.status, 200);
    for part in [
        "<bdi>Exempels kommun</bdi> står bakom Närvaro",
        "Hur tillgänglig är tjänsten?",
        "Vad kan du göra om du inte kan använda delar av tjänsten?",
        "Rapportera brister i tjänstens tillgänglighet",
        "Tillsyn",
        "digg.se",
        "Teknisk information om tjänstens tillgänglighet",
        "delvis förenlig med <bdi>WCAG 2.2 AA</bdi>",
        "Hur vi testat tjänsten",
        "mailto:tillganglighet@exempel.se",
        "Redogörelsen uppdaterades senast",
    ] {
        assert!(page.body.contains(part), "{part}");
    }
    b.cookies.insert("lang".into(), "ar".into());
    let arabic = b.get("/accessibility").await;
    assert!(arabic.body.contains("<html lang=\"sv\""));
    assert!(arabic.body.contains("lang=\"ar\" dir=\"rtl\""));
    assert!(arabic
        .body
        .contains("البيان منشور باللغتين السويدية والإنجليزية."));
}

#[actix_web::test]
async fn every_page_the_statement_names_passes_axe() {
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let s = statement().unwrap();
    let fill = |path: &str| {
        path.replace("{child}", &world.ids.child.to_string())
            .replace("{lesson}", &world.ids.lesson.to_string())
            .replace("{school}", &world.ids.school1.to_string())
    };
    let mut who: Vec<&str> = s.tested.iter().map(|t| t.who.as_str()).collect();
    who.dedup();
    for username in who {
        let d = Driver::start_as(SMALL).await;
        if !username.is_empty() {
            d.sign_in(&app, username).await;
        }
        for t in s.tested.iter().filter(|t| t.who == username) {
            d.go(&app.url(&fill(&t.path))).await;
            d.check_page(&format!("{} as {}", t.path, t.who)).await;
        }
        d.call("DELETE", "", None).await;
    }
}

/// The second step of a sign-in, in a real browser at 375 px: the code page passes axe,
/// a code from the app signs in; and the enrolment a required role meets at sign-in passes
/// axe with its QR code.
#[actix_web::test]
async fn the_second_step_of_a_sign_in_passes_axe_on_a_phone() {
    if !browser_available() {
        return;
    }
    use diesel::prelude::*;
    use narvaro::auth::totp;
    use narvaro::schema::{people, second_factors};
    let kind = backends().pop().unwrap_or(Kind::Sqlite);
    let app = TestApp::spawn_with(kind, |c| {
        c.sign_in.second_factor_for = vec![narvaro::school::states::Role::Admin];
    })
    .await;
    let world = fixtures::build(&app);
    // the teacher has an app already (as after enrolling on /account/second-factor)
    let key = b"an app's key for the tests".to_vec();
    {
        let mut c = crate::browser::conn(&world.pool);
        let teacher: i64 = people::table
            .filter(people::username.eq("demo.teacher"))
            .select(people::id)
            .first(&mut *c)
            .unwrap();
        diesel::insert_into(second_factors::table)
            .values((
                second_factors::person_id.eq(teacher),
                second_factors::secret.eq(totp::base32(&key)),
                second_factors::created_at.eq(chrono::Utc::now().naive_utc()),
                second_factors::confirmed_at.eq(Some(chrono::Utc::now().naive_utc())),
                second_factors::last_step.eq(0i64),
            ))
            .execute(&mut *c)
            .unwrap();
    }
    let d = Driver::start_as(SMALL).await;
    for (username, heading) in [
        ("demo.teacher", "Tvåstegsverifiering"),
        ("demo.admin", "Tvåstegsverifiering"),
    ] {
        d.go(&app.url("/login")).await;
        d.type_into("#username", username).await;
        d.type_into("#password", crate::browser::DEMO_PASSWORD)
            .await;
        d.click("form[action='/login'] button[type=submit]").await;
        d.wait_text("h1", heading).await;
        d.check_page(&format!("the second step for {username}"))
            .await;
        if username == "demo.teacher" {
            let step = totp::step_at(chrono::Utc::now().timestamp());
            d.type_into("#code", &totp::code_at(&key, step)).await;
            d.click("form[action='/login/second-factor'] button[type=submit]")
                .await;
            d.wait_text("h1", "Hej").await;
            d.click("form[action='/logout'] button[type=submit]").await;
        } else {
            assert!(
                d.has("figure.qr svg").await,
                "the enrolment shows the QR code"
            );
        }
    }
    d.call("DELETE", "", None).await;
}
