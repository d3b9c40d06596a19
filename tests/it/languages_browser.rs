//! A guardian's pages in Arabic (right to left) and Somali on a small phone, in a real
//! browser: axe finds nothing, no text is cut, overlaps or leaves the screen, the layout
//! keeps the Swedish page's parts, Arabic reads from the right, and the language menu is
//! reached and used with the keyboard alone. Screenshots are kept in
//! target/screenshots/languages/ for a person to compare.

use base64::Engine;
use serde_json::{json, Value};

use crate::e2e::{browser_available, Driver, SMALL};
use crate::fixtures;
use crate::helpers::{Kind, TestApp};

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Where text is cut, overlaps other text or leaves the screen; the page's height and its
/// number of controls, to hold against the Swedish page.
const LAYOUT: &str = r#"
var vw = window.innerWidth, out = [];
var shown = function (e) {
  return !e.closest('details:not([open]) > :not(summary)') && (!e.checkVisibility || e.checkVisibility({visibilityProperty: true}));
};
var all = Array.prototype.slice.call(document.querySelectorAll('body *')).filter(shown);
all.forEach(function (e) {
  if (e.closest('.skip') || e.classList.contains('skip')) return;
  var s = getComputedStyle(e);
  if ((s.overflowX === 'hidden' || s.overflowX === 'clip') && e.scrollWidth > e.clientWidth + 1)
    out.push('cut: ' + e.tagName + ' ' + e.textContent.trim().slice(0, 40));
  var r = e.getBoundingClientRect();
  if (r.width > 0 && r.height > 0 && (r.right > vw + 1 || r.left < -1))
    out.push('off the screen: ' + e.tagName + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
});
var boxes = [];
all.forEach(function (e) {
  if (e.children.length || !e.textContent.trim() || e.closest('.skip, option, select')) return;
  Array.prototype.forEach.call(e.getClientRects(), function (r) {
    if (r.width > 1 && r.height > 1) boxes.push([e, r]);
  });
});
for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
  var a = boxes[i][1], b = boxes[j][1];
  if (boxes[i][0] !== boxes[j][0] && a.left < b.right - 2 && b.left < a.right - 2 && a.top < b.bottom - 2 && b.top < a.bottom - 2)
    out.push('overlap: "' + boxes[i][0].textContent.trim().slice(0, 30) + '" and "' + boxes[j][0].textContent.trim().slice(0, 30) + '"');
}
var brand = document.querySelector('a.brand').getBoundingClientRect();
return {problems: out, height: document.documentElement.scrollHeight,
  controls: document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary').length,
  brand_right: brand.right > vw / 2, dir: document.documentElement.dir, lang: document.documentElement.lang};
"#;

async fn layout(d: &Driver) -> Value {
    d.script(LAYOUT).await
}

async fn screenshot(d: &Driver, name: &str) {
    let png = d.call("GET", "/screenshot", None).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap_or_default())
        .unwrap_or_default();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/languages");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
}

/// Opens the language menu and chooses `code` with the keyboard alone.
async fn choose_by_keyboard(d: &Driver, app: &TestApp, code: &str) {
    d.go(&app.url("/")).await;
    for _ in 0..40 {
        if d.focused().await == "SUMMARY=" {
            break;
        }
        d.press(TAB).await;
    }
    assert_eq!(
        d.focused().await,
        "SUMMARY=",
        "Tab reaches the language menu"
    );
    d.press(ENTER).await;
    let want = format!("lang={code}");
    for _ in 0..12 {
        if d.focused().await == want {
            break;
        }
        d.press(TAB).await;
    }
    assert_eq!(
        d.focused().await,
        want,
        "Tab reaches {code} in the open menu"
    );
    d.press(ENTER).await;
    let started = std::time::Instant::now();
    while d.script("return document.documentElement.lang;").await != json!(code) {
        assert!(started.elapsed().as_secs() < 20, "the page turned {code}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_guardians_pages_read_well_in_arabic_and_somali_on_a_small_phone() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn(Kind::Sqlite).await;
    let world = fixtures::build(&app);
    let child = world.ids.child;
    let d = Driver::start_as(SMALL).await;
    d.sign_in(&app, "demo.guardian").await;
    let pages = [
        "/".to_string(),
        format!("/pupils/{child}"),
        format!("/pupils/{child}/report"),
        format!("/pupils/{child}/leave"),
        "/account".to_string(),
    ];
    let mut swedish = Vec::new();
    for path in &pages {
        d.go(&app.url(path)).await;
        let l = layout(&d).await;
        assert_eq!(l["problems"], json!([]), "sv {path}");
        screenshot(&d, &format!("sv{}", path.replace('/', "_"))).await;
        swedish.push(l);
    }
    for (code, rtl) in [("ar", true), ("so", false)] {
        choose_by_keyboard(&d, &app, code).await;
        for (path, sv) in pages.iter().zip(&swedish) {
            d.go(&app.url(path)).await;
            d.check_page(&format!("{code} {path}")).await;
            let l = layout(&d).await;
            assert_eq!(l["lang"], json!(code), "{code} {path}");
            assert_eq!(
                l["problems"],
                json!([]),
                "{code} {path}: text cut, overlapping or off the screen"
            );
            assert_eq!(
                l["dir"],
                json!(if rtl { "rtl" } else { "ltr" }),
                "{code} {path}"
            );
            assert_eq!(
                l["brand_right"],
                json!(rtl),
                "{code} {path}: the header reads from the {}",
                if rtl { "right" } else { "left" }
            );
            assert_eq!(
                l["controls"], sv["controls"],
                "{code} {path}: the same controls as in Swedish"
            );
            let (h, sv_h) = (
                l["height"].as_f64().unwrap(),
                sv["height"].as_f64().unwrap(),
            );
            assert!(
                h < sv_h * 1.8 && h > sv_h * 0.6,
                "{code} {path}: {h} px tall against Swedish {sv_h} px"
            );
            screenshot(&d, &format!("{code}{}", path.replace('/', "_"))).await;
        }
    }
    // signed out, the pages before signing in, in Somali (the browser keeps its choice)
    d.click("form[action='/logout'] button[type=submit]").await;
    for path in ["/login", "/password/forgot", "/login/link/not-a-link"] {
        d.go(&app.url(path)).await;
        d.check_page(&format!("so {path}")).await;
        let l = layout(&d).await;
        assert_eq!(l["lang"], json!("so"), "{path}");
        assert_eq!(l["problems"], json!([]), "so {path}");
        screenshot(&d, &format!("so{}", path.replace('/', "_"))).await;
    }
    // and in Arabic, right to left
    choose_by_keyboard(&d, &app, "ar").await;
    for path in ["/login", "/password/forgot", "/login/link/not-a-link"] {
        d.go(&app.url(path)).await;
        d.check_page(&format!("ar {path}")).await;
        let l = layout(&d).await;
        assert_eq!(
            (l["lang"].clone(), l["dir"].clone()),
            (json!("ar"), json!("rtl")),
            "{path}"
        );
        assert_eq!(l["problems"], json!([]), "ar {path}");
        assert_eq!(l["brand_right"], json!(true), "ar {path}");
        screenshot(&d, &format!("ar{}", path.replace('/', "_"))).await;
    }
    // the menu back to Swedish, by keyboard too
    choose_by_keyboard(&d, &app, "sv").await;
    assert_eq!(
        d.script("return document.documentElement.lang;").await,
        json!("sv")
    );
}
