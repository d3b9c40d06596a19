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
