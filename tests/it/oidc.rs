//! Signing in through OpenID Connect, against real providers on loopback (Node.js, from
//! tests/oidc, installed by scripts/install-deps):
//! - oidc-provider (OpenID Certified) with a staff client and a guardian client, the
//!   guardian one releasing a personal identity number: a teacher and a guardian sign in,
//!   and every bad answer that provider can give is refused (a forged, replayed or
//!   foreign callback, a cancelled sign-in, an unknown person, a missing or malformed
//!   claim, an identity two people share), over HTTP on both backends, and in headless
//!   Chromium for the two who get in;
//! - a forger (jose) whose token endpoint returns the ID token a test asks for: another
//!   audience, another issuer, expired, issued in the future, the wrong nonce, `alg: none`,
//!   HS256 with the client secret, an unknown key, a tampered signature, another
//!   authorized party, garbage; a key rotated in after the keys were cached (fetched
//!   again, and accepted); and a provider that is down.
//!
//! Every refusal is a page with a 4xx or 502 status, an audit row, and no session.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use diesel::prelude::*;
use narvaro::config::{OidcProvider, SignInPolicy};
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{audited, conn, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, Kind, TestApp};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Whether the providers' packages are installed; in CI their absence is a failure.
fn available() -> bool {
    let there = dir().join("node_modules/oidc-provider").exists();
    if !there {
        assert!(
            std::env::var("CI").is_err(),
            "CI: tests/oidc/node_modules is missing; scripts/install-deps installs it"
        );
        eprintln!("\n!! oidc-provider is not installed: the OpenID Connect tests were SKIPPED (scripts/install-deps installs it)\n");
    }
    there
}

/// A provider process; ended with the test.
struct Node {
    child: Child,
    issuer: String,
}

impl Node {
    fn start(script: &str, args: &[&str]) -> Node {
        let mut child = Command::new("node")
            .arg(dir().join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node");
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(line.trim()).expect("the provider's first line");
        Node {
            child,
            issuer: v["issuer"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_config(issuer: &str, which: &str, claim: &str, scopes: &str) -> OidcProvider {
    OidcProvider {
        issuer: issuer.to_string(),
        client_id: format!("narvaro-{which}"),
        client_secret: format!("{which}-client-secret-for-tests"),
        claim: claim.to_string(),
        scopes: scopes.split(' ').map(str::to_string).collect(),
    }
}

/// A browser without a screen: cookies per origin, no redirects followed by itself.
struct Jar {
    client: awc::Client,
    cookies: HashMap<String, HashMap<String, String>>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
    set: Vec<String>,
}

fn origin(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or("").to_string()
}

impl Jar {
    fn new() -> Jar {
        Jar {
            client: awc::Client::builder()
                .disable_redirects()
                .timeout(std::time::Duration::from_secs(30))
                .finish(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self, url: &str) -> String {
        self.cookies
            .get(&origin(url))
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.cookies.get(&origin(url))?.get(name).cloned()
    }

    fn set_cookie(&mut self, url: &str, name: &str, value: &str) {
        self.cookies
            .entry(origin(url))
            .or_default()
            .insert(name.to_string(), value.to_string());
    }

    async fn finish(&mut self, url: &str, mut res: awc::ClientResponse) -> Answer {
        let mut set = Vec::new();
        for v in res.headers().get_all("set-cookie") {
            let raw = v.to_str().unwrap().to_string();
            let (pair, attrs) = raw.split_once(';').unwrap_or((&raw, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let jar = self.cookies.entry(origin(url)).or_default();
            if value.is_empty() || attrs.to_ascii_lowercase().contains("max-age=0") {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_string(), value.trim().to_string());
            }
            set.push(raw);
        }
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = res.body().limit(1 << 20).await.unwrap();
        Answer {
            status: res.status().as_u16(),
            location,
            body: String::from_utf8_lossy(&body).to_string(),
            set,
        }
    }

    async fn get(&mut self, url: &str) -> Answer {
        let res = self
            .client
            .get(url)
            .insert_header(("Cookie", self.cookie_header(url)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.finish(url, res).await
    }

    async fn post(&mut self, url: &str, fields: &[(&str, &str)]) -> Answer {
        let res = self
            .client
            .post(url)
            .insert_header(("Cookie", self.cookie_header(url)))
            .send_form(&fields)
            .await
            .unwrap();
        self.finish(url, res).await
    }
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_string()
    } else {
        format!("http://{}{location}", origin(base))
    }
}

fn form_action(html: &str) -> String {
    let at = html.find("action=\"").expect("a form") + "action=\"".len();
    html[at..].split('"').next().unwrap().replace("&amp;", "&")
}

/// Starts a sign-in at Närvaro and goes through oidc-provider's development sign-in form
/// and consent as `login`: the callback address the provider sends the browser to, not
/// yet followed.
async fn through_provider(app: &TestApp, jar: &mut Jar, which: &str, login: &str) -> String {
    let start = jar.get(&app.url(&format!("/login/oidc/{which}"))).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let mut url = start.location.unwrap();
    for _ in 0..12 {
        if url.starts_with(&app.address) {
            return url;
        }
        let a = jar.get(&url).await;
        match (a.status, a.location) {
            (302 | 303, Some(next)) => url = absolute(&url, &next),
            (200, _) if a.body.contains("name=\"prompt\" value=\"login\"") => {
                let action = absolute(&url, &form_action(&a.body));
                let posted = jar
                    .post(
                        &action,
                        &[("prompt", "login"), ("login", login), ("password", "any")],
                    )
                    .await;
                url = absolute(&url, &posted.location.expect("after the sign-in form"));
            }
            (200, _) if a.body.contains("name=\"prompt\" value=\"consent\"") => {
                let action = absolute(&url, &form_action(&a.body));
                let posted = jar.post(&action, &[("prompt", "consent")]).await;
                url = absolute(&url, &posted.location.expect("after consent"));
            }
            (status, _) => panic!("the provider answered {status} at {url}: {}", a.body),
        }
    }
    panic!("the provider never sent the browser back")
}

fn refusals(world: &World, outcome: &str) -> i64 {
    let mut c = conn(&world.pool);
    audit_log::table
        .filter(audit_log::action.eq("sign_in.oidc_refused"))
        .filter(audit_log::detail.like(format!("%\"outcome\":\"{outcome}\"%")))
        .count()
        .get_result(&mut *c)
        .unwrap()
}

fn email_of(world: &World, username: &str) -> String {
    let mut c = conn(&world.pool);
    people::table
        .filter(people::username.eq(username))
        .select(people::email.assume_not_null())
        .first(&mut *c)
        .unwrap()
}

fn id_of(world: &World, username: &str) -> i64 {
    let mut c = conn(&world.pool);
    people::table
        .filter(people::username.eq(username))
        .select(people::id)
        .first(&mut *c)
        .unwrap()
}

/// The guardian's BankID number; demo.guardian's civic number is set to it (as its hash).
const GUARDIAN_PIN: &str = "198001012380";
/// The guardian's child's (under 18: not signed in by it).
const CHILD_PIN: &str = "201401012383";

fn write_accounts(path: &Path, world: &World) {
    let accounts = json!({
        "lena": {"email": email_of(world, "demo.teacher"), "name": "Lena"},
        "anna": {"personal_identity_number": GUARDIAN_PIN, "name": "Anna"},
        "stranger": {"email": "nobody@elsewhere.example"},
        "noclaim": {"name": "No Email"},
        "twin": {"email": "shared@edu.kommun.example"},
        "badpin": {"personal_identity_number": "not-a-number"},
        "kid": {"personal_identity_number": CHILD_PIN},
    });
    std::fs::write(path, accounts.to_string()).unwrap();
}

fn prepare(world: &World) {
    let key = narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes());
    let mut c = conn(&world.pool);
    diesel::update(people::table.filter(people::username.eq("demo.guardian")))
        .set(people::civic_no.eq(key.hash(GUARDIAN_PIN)))
        .execute(&mut *c)
        .unwrap();
    diesel::update(people::table.find(world.ids.child))
        .set(people::civic_no.eq(key.hash(CHILD_PIN)))
        .execute(&mut *c)
        .unwrap();
    // one identity two members of staff share: nobody gets in with it
    for who in ["demo.teacher", "demo.principal"] {
        let id: i64 = people::table
            .filter(people::username.eq(who))
            .select(people::id)
            .first(&mut *c)
            .unwrap();
        diesel::insert_into(person_identifiers::table)
            .values((
                person_identifiers::person_id.eq(id),
                person_identifiers::kind.eq("eppn"),
                person_identifiers::value.eq("shared@edu.kommun.example"),
                person_identifiers::globally_unique.eq(true),
            ))
            .execute(&mut *c)
            .unwrap();
    }
}

/// The app with oidc-provider for staff and guardians, staff passwords off.
async fn app_with_provider(kind: Kind, accounts: &Path) -> (TestApp, Node) {
    let mut node = None;
    let app = TestApp::spawn_with(kind, |c| {
        let n = Node::start("provider.mjs", &[&c.base_url, accounts.to_str().unwrap()]);
        c.oidc_staff = Some(provider_config(
            &n.issuer,
            "staff",
            "email",
            "openid email profile",
        ));
        c.oidc_guardian = Some(provider_config(
            &n.issuer,
            "guardian",
            "personal_identity_number",
            "openid profile",
        ));
        c.sign_in = SignInPolicy {
            staff_passwords: false,
            guardian_links: true,
            second_factor_for: vec![],
        };
        node = Some(n);
    })
    .await;
    (app, node.unwrap())
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "narvaro-oidc-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[actix_web::test]
async fn staff_and_guardians_sign_in_through_the_provider_and_its_bad_answers_are_refused() {
    if !available() {
        return;
    }
    for kind in backends() {
        let d = scratch("provider");
        let accounts = d.join("accounts.json");
        std::fs::write(&accounts, "{}").unwrap();
        let (app, node) = app_with_provider(kind, &accounts).await;
        let world = fixtures::build(&app);
        prepare(&world);
        write_accounts(&accounts, &world);

        // the sign-in page offers both, above the older ways
        let mut jar = Jar::new();
        let login = jar.get(&app.url("/login")).await;
        assert!(
            login.body.contains("Logga in med kommunens konto"),
            "{kind:?}"
        );
        assert!(login.body.contains("Logga in med BankID"));

        // the teacher: in, on her start page, audited
        let back = through_provider(&app, &mut jar, "staff", "lena").await;
        let done = jar.get(&back).await;
        assert_eq!(done.status, 303, "{kind:?}: {}", done.body);
        assert!(jar.cookie(&app.address, "narvaro_session").is_some());
        let home = jar.get(&app.url("/")).await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("Hej"), "{}", home.body);
        {
            let mut c = conn(&world.pool);
            let rows: Vec<(Option<i64>, String)> = audit_log::table
                .filter(audit_log::action.eq("sign_in.ok"))
                .select((audit_log::actor_id, audit_log::detail))
                .load(&mut *c)
                .unwrap();
            assert!(rows
                .iter()
                .any(|(who, d)| *who == Some(id_of(&world, "demo.teacher"))
                    && d.contains("oidc-staff")));
        }

        // the same callback again (a replay, the state cookie put back): refused
        let state = back
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let cookie_state = urlencoding_decode(state);
        jar.set_cookie(&app.address, "narvaro_oidc", &cookie_state);
        jar.cookies
            .get_mut(&origin(&app.address))
            .unwrap()
            .remove("narvaro_session");
        let replay = jar.get(&back).await;
        assert_eq!(replay.status, 400, "{kind:?}: a replayed callback");
        assert!(replay.body.contains("Inloggningen gick inte"));
        assert!(!replay
            .set
            .iter()
            .any(|c| c.starts_with("narvaro_session=") && !c.starts_with("narvaro_session=;")));
        assert_eq!(refusals(&world, "state"), 1);

        // signing out goes to the provider's end-session endpoint
        let mut out = Jar::new();
        let back = through_provider(&app, &mut out, "staff", "lena").await;
        assert_eq!(out.get(&back).await.status, 303);
        let home = out.get(&app.url("/")).await;
        let csrf = crate::browser::csrf_in(&home.body).expect("a CSRF field on the start page");
        let bye = out.post(&app.url("/logout"), &[("_csrf", &csrf)]).await;
        assert_eq!(bye.status, 200, "{}", bye.body);
        assert!(bye
            .set
            .iter()
            .any(|c| c.starts_with("narvaro_session=") && c.contains("Max-Age=0")));
        // the signed-out page names nobody and offers no sign-out
        assert!(!bye.body.contains("action=\"/logout\""), "{}", bye.body);
        assert!(!bye.body.contains("href=\"/account\""), "{}", bye.body);
        let at = bye.body.find("id=\"provider-sign-out\" href=\"").unwrap()
            + "id=\"provider-sign-out\" href=\"".len();
        let to = bye.body[at..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        assert!(
            to.starts_with(&format!("{}/session/end", node.issuer))
                && to.contains("client_id=narvaro-staff")
                && to.contains("post_logout_redirect_uri="),
            "{to}"
        );

        // a callback whose state is not the one this browser started: refused
        let mut other = Jar::new();
        let back = through_provider(&app, &mut other, "staff", "lena").await;
        let forged = back.replace("state=", "state=x");
        assert_eq!(other.get(&forged).await.status, 400);
        // a callback in a browser that started nothing (login CSRF): refused
        let mut victim = Jar::new();
        assert_eq!(victim.get(&back).await.status, 400);
        assert_eq!(refusals(&world, "state"), 3, "{kind:?}");

        // the person cancels at the provider
        let mut cancel = Jar::new();
        let start = cancel.get(&app.url("/login/oidc/staff")).await;
        let auth = start.location.unwrap();
        let state = auth
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let cancelled = cancel
            .get(&app.url(&format!(
                "/login/oidc/staff/callback?error=access_denied&state={state}"
            )))
            .await;
        assert_eq!(cancelled.status, 400);
        assert!(cancelled.body.contains("avbröts"));
        assert_eq!(refusals(&world, "provider_error"), 1);

        // nobody in Närvaro; no claim; two people with the identity; a PIN that is none
        for (which, login, status, outcome) in [
            ("staff", "stranger", 403, "unknown_person"),
            ("staff", "noclaim", 400, "claim"),
            ("staff", "twin", 409, "ambiguous"),
            ("guardian", "badpin", 400, "claim"),
            ("guardian", "stranger", 400, "claim"),
            ("guardian", "kid", 403, "unknown_person"),
        ] {
            let mut j = Jar::new();
            let back = through_provider(&app, &mut j, which, login).await;
            let a = j.get(&back).await;
            assert_eq!(a.status, status, "{kind:?}: {which} {login}: {}", a.body);
            assert!(j.cookie(&app.address, "narvaro_session").is_none());
            assert!(refusals(&world, outcome) >= 1, "{outcome}");
        }
        assert_eq!(refusals(&world, "unknown_person"), 2);
        assert_eq!(refusals(&world, "ambiguous"), 1);

        // the guardian, by BankID number: in, on the guardian's start page
        let mut g = Jar::new();
        let back = through_provider(&app, &mut g, "guardian", "anna").await;
        let done = g.get(&back).await;
        assert_eq!(done.status, 303, "{kind:?}: {}", done.body);
        let home = g.get(&app.url("/")).await;
        assert!(home.body.contains("Hej"), "{}", home.body);

        // staff passwords are off: a teacher's is refused, the administrator's works
        let mut p = crate::browser::Browser::open(&app).await;
        let refused = p
            .post(
                "/login",
                &[("username", "demo.teacher"), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(refused.status, 403, "{kind:?}");
        assert!(refused.body.contains("kommunens konto"));
        let mut admin = crate::browser::Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;

        // nothing secret reached the log: no code, state or token in an audit row
        {
            let mut c = conn(&world.pool);
            let details: Vec<String> = audit_log::table
                .filter(audit_log::action.like("sign_in%"))
                .select(audit_log::detail)
                .load(&mut *c)
                .unwrap();
            for d in details {
                assert!(!d.contains(GUARDIAN_PIN) && !d.contains("code="), "{d}");
            }
        }
        assert!(audited(&world.pool, "sign_in.oidc_refused") >= 9);
        drop(node);
        let _ = std::fs::remove_dir_all(&d);
    }
}

fn urlencoding_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Signs in through the forger with the token `mode` names: the callback's answer.
async fn forged(app: &TestApp, mode: &str, claims: &Value) -> (Jar, Answer) {
    let mut jar = Jar::new();
    let start = jar.get(&app.url("/login/oidc/staff")).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let auth = format!(
        "{}&mode={mode}&claims={}",
        start.location.unwrap(),
        form_urlencoded::byte_serialize(claims.to_string().as_bytes()).collect::<String>()
    );
    let at_provider = jar.get(&auth).await;
    let back = at_provider
        .location
        .expect("the forger sends the browser back");
    let answer = jar.get(&back).await;
    (jar, answer)
}

#[actix_web::test]
async fn every_forged_id_token_is_refused_and_a_provider_that_is_down_is_said_so() {
    if !available() {
        return;
    }
    for kind in backends() {
        let forger = Node::start(
            "forger.mjs",
            &["narvaro-staff", "staff-client-secret-for-tests"],
        );
        let issuer = forger.issuer.clone();
        let app = TestApp::spawn_with(kind, |c| {
            c.oidc_staff = Some(provider_config(
                &issuer,
                "staff",
                "email",
                "openid email profile",
            ));
        })
        .await;
        let world = fixtures::build(&app);
        let claims = json!({"email": email_of(&world, "demo.teacher")});

        // the good token gets in: the forger is a working provider
        let (jar, good) = forged(&app, "good", &claims).await;
        assert_eq!(good.status, 303, "{kind:?}: {}", good.body);
        assert!(jar.cookie(&app.address, "narvaro_session").is_some());

        for mode in [
            "aud",
            "iss",
            "expired",
            "future",
            "nonce",
            "none",
            "hs256",
            "unknown-key",
            "bad-signature",
            "azp",
            "garbage",
        ] {
            let before = refusals(&world, "token");
            let (jar, a) = forged(&app, mode, &claims).await;
            assert_eq!(a.status, 400, "{kind:?}: {mode}: {}", a.body);
            assert!(a.body.contains("kunde inte bekräftas"), "{mode}");
            assert!(
                jar.cookie(&app.address, "narvaro_session").is_none(),
                "{mode}: no session"
            );
            assert_eq!(
                refusals(&world, "token"),
                before + 1,
                "{kind:?}: {mode} audited"
            );
        }
        // the provider rotates in a new key after Närvaro cached its keys: fetched again
        let (jar, rotated) = forged(&app, "rotated", &claims).await;
        assert_eq!(rotated.status, 303, "{kind:?}: {}", rotated.body);
        assert!(jar.cookie(&app.address, "narvaro_session").is_some());

        // a good token without the claim
        let (_, a) = forged(&app, "good", &json!({"name": "x"})).await;
        assert_eq!(a.status, 400);
        assert_eq!(refusals(&world, "claim"), 1);

        // the provider goes down between the person's sign-in there and the way back: the
        // callback cannot redeem the code, and says the provider is not answering
        let mut jar = Jar::new();
        let start = jar.get(&app.url("/login/oidc/staff")).await;
        let auth = format!(
            "{}&mode=good&claims={}",
            start.location.unwrap(),
            form_urlencoded::byte_serialize(claims.to_string().as_bytes()).collect::<String>()
        );
        let back = jar.get(&auth).await.location.expect("sent back");
        drop(forger);
        let unreachable_before = refusals(&world, "provider_unreachable");
        let a = jar.get(&back).await;
        assert_eq!(a.status, 502, "{kind:?}: {}", a.body);
        assert!(a.body.contains("svarar inte"), "{kind:?}: {}", a.body);
        assert!(!a.body.contains("kunde inte bekräftas"));
        assert_eq!(
            refusals(&world, "provider_unreachable"),
            unreachable_before + 1
        );

        // a provider down from the start: a clear page, audited
        let fresh = TestApp::spawn_with(kind, |c| {
            c.oidc_staff = Some(provider_config(
                &issuer,
                "staff",
                "email",
                "openid email profile",
            ));
        })
        .await;
        let mut jar = Jar::new();
        let down = jar.get(&fresh.url("/login/oidc/staff")).await;
        assert_eq!(down.status, 502, "{kind:?}: {}", down.body);
        assert!(down.body.contains("svarar inte"));
        let pool = crate::browser::pool(&fresh);
        let mut c = conn(&pool);
        let n: i64 = audit_log::table
            .filter(audit_log::action.eq("sign_in.oidc_refused"))
            .filter(audit_log::detail.like("%provider_unreachable%"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n, 1);
        // and a provider that is not configured is not there at all
        assert_eq!(
            jar.get(&fresh.url("/login/oidc/guardian")).await.status,
            404
        );
    }
}

#[actix_web::test]
async fn a_teacher_and_a_guardian_sign_in_through_the_provider_in_a_browser() {
    if !available() || !crate::e2e::browser_available() {
        return;
    }
    let d = scratch("browser");
    let accounts = d.join("accounts.json");
    std::fs::write(&accounts, "{}").unwrap();
    let (app, _node) = app_with_provider(Kind::Sqlite, &accounts).await;
    let world = fixtures::build(&app);
    prepare(&world);
    write_accounts(&accounts, &world);
    let driver = crate::e2e::Driver::start_as(crate::e2e::SMALL).await;
    for (button, login, who) in [
        ("staff", "lena", "demo.teacher"),
        ("guardian", "anna", "demo.guardian"),
    ] {
        driver.go(&app.url("/login")).await;
        driver
            .check_page("the sign-in page with the providers")
            .await;
        driver
            .click(&format!("a[href^='/login/oidc/{button}']"))
            .await;
        // oidc-provider's development sign-in form, then its consent
        driver.type_into("input[name=login]", login).await;
        driver.type_into("input[name=password]", "any").await;
        driver.click("button[type=submit]").await;
        driver.wait_text("button[type=submit]", "Continue").await;
        driver.click("button[type=submit]").await;
        let hello = driver.wait_text("h1", "Hej").await;
        let given: String = {
            let mut c = conn(&world.pool);
            people::table
                .filter(people::username.eq(who))
                .select(people::given_name)
                .first(&mut *c)
                .unwrap()
        };
        assert!(hello.contains(&given), "{who}: {hello}");
        // signing out: through the provider's end-session page, back to Närvaro
        driver.click("form[action='/logout'] button").await;
        let started = std::time::Instant::now();
        let at = loop {
            let at = driver.script("return location.href;").await;
            let href = at.as_str().unwrap_or("").to_string();
            if href.contains("/session/end") || href.ends_with("/login") {
                break at;
            }
            assert!(started.elapsed().as_secs() < 20, "still at {href}");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert!(
            at.as_str().unwrap_or("").contains("/session/end")
                || at.as_str().unwrap_or("").ends_with("/login"),
            "{at}"
        );
        if at.as_str().unwrap_or("").contains("/session/end") {
            // oidc-provider asks whether to sign out there too
            driver.click("button[autofocus]").await;
            driver.wait_text("h1", "Logga in").await;
        }
    }
    // a refusal page passes the accessibility check too
    driver
        .go(&app.url("/login/oidc/staff/callback?code=x&state=y"))
        .await;
    driver.wait_text("h1", "Inloggningen gick inte").await;
    driver.check_page("a refused sign-in").await;
    let _ = std::fs::remove_dir_all(&d);
}
