//! Accounts and sign-in, as people use them: passwords, tokens and their tampering, CSRF,
//! sign-in limits, e-mailed sign-in links, invitations, sign-out and password changes,
//! protected identities. On both databases.

use chrono::Utc;
use diesel::prelude::*;
use jsonwebtoken::{encode, EncodingKey, Header};
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_get, api_token, conn, deliver, link_in, mails, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, Role};
use crate::helpers::{backends, TestApp, TEST_SECRET};

fn claims(aud: &str, sub: i64, ver: i32, iat: i64, exp: i64) -> serde_json::Value {
    json!({"iss": "narvaro", "aud": aud, "sub": sub.to_string(), "ver": ver, "iat": iat, "exp": exp, "auth": iat})
}

fn sign(claims: &serde_json::Value, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &x| (a << 8) | x as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn audit_count(world: &fixtures::World, action: &str) -> i64 {
    crate::browser::audited(&world.pool, action)
}

#[actix_web::test]
async fn api_tokens_refuse_wrong_passwords_and_every_kind_of_tampering() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let (status, me) = api_get(&app, Some(&token), "/api/v1/me").await;
        assert_eq!(status, 200);
        assert_eq!(me["username"], "demo.teacher");
        let roles: Vec<&str> = me["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["role"].as_str().unwrap())
            .collect();
        assert!(
            roles.contains(&"teacher") && roles.contains(&"mentor"),
            "{me}"
        );
        assert_eq!(me["roles"][0]["school_ids"], json!([world.ids.school1]));

        // wrong password and unknown user: 401 problem+json, the same message
        for (u, p) in [
            ("demo.teacher", "wrong-password"),
            ("nobody.at.all", DEMO_PASSWORD),
        ] {
            let mut res = app
                .client
                .post(app.url("/api/v1/auth/token"))
                .send_json(&json!({"username": u, "password": p}))
                .await
                .unwrap();
            assert_eq!(res.status(), 401);
            assert_eq!(
                res.headers().get("content-type").unwrap(),
                "application/problem+json"
            );
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["code"], "unauthorized");
        }
        // malformed bodies: 400, not 500
        let res = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .insert_header(("content-type", "application/json"))
            .send_body("{\"username\":")
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .send_json(&json!({"username": 5, "password": []}))
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        // a body too large: 413
        let huge = "x".repeat(200 * 1024);
        let res = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .send_json(&json!({"username": huge, "password": "x"}))
            .await
            .unwrap();
        assert_eq!(res.status(), 413);

        let teacher: i64 = me["id"].as_i64().unwrap();
        let now = Utc::now().timestamp();
        let cases = [
            (
                "expired",
                sign(
                    &claims("narvaro-api", teacher, 0, now - 7200, now - 3600),
                    TEST_SECRET,
                ),
            ),
            (
                "wrong audience",
                sign(
                    &claims("narvaro-web", teacher, 0, now, now + 600),
                    TEST_SECRET,
                ),
            ),
            (
                "wrong secret",
                sign(
                    &claims("narvaro-api", teacher, 0, now, now + 600),
                    "another-secret-another-secret-000",
                ),
            ),
            (
                "alg none",
                format!(
                    "{}.{}.",
                    b64(br#"{"alg":"none","typ":"JWT"}"#),
                    b64(claims("narvaro-api", teacher, 0, now, now + 600)
                        .to_string()
                        .as_bytes())
                ),
            ),
            (
                "HS512",
                encode(
                    &Header::new(jsonwebtoken::Algorithm::HS512),
                    &claims("narvaro-api", teacher, 0, now, now + 600),
                    &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
                )
                .unwrap(),
            ),
            ("garbage", "not-a-token".to_string()),
        ];
        for (what, bad) in &cases {
            let (status, body) = api_get(&app, Some(bad), "/api/v1/me").await;
            assert_eq!(status, 401, "{what}");
            assert_eq!(body["code"], "unauthorized", "{what}");
        }
        // the payload of a real token changed to another person, signature kept
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[1] = b64(claims("narvaro-api", world.ids.child, 0, now, now + 600)
            .to_string()
            .as_bytes());
        let (status, _) = api_get(&app, Some(&parts.join(".")), "/api/v1/me").await;
        assert_eq!(status, 401, "tampered payload");
        // a correctly signed token still works: the checks above are not over-eager
        let good = sign(
            &claims("narvaro-api", teacher, 0, now, now + 600),
            TEST_SECRET,
        );
        assert_eq!(api_get(&app, Some(&good), "/api/v1/me").await.0, 200);

        // signing out ends every token, also ones made earlier
        let res = app
            .client
            .post(app.url("/api/v1/auth/sign-out"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(api_get(&app, Some(&token), "/api/v1/me").await.0, 401);
        assert_eq!(api_get(&app, Some(&good), "/api/v1/me").await.0, 401);
        // the API never reads the session cookie
        let mut b = Browser::open(&app).await;
        b.sign_in("demo.principal", DEMO_PASSWORD).await;
        let res = app
            .client
            .get(app.url("/api/v1/me"))
            .insert_header((
                "Cookie",
                format!("narvaro_session={}", b.cookies["narvaro_session"]),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
}

#[actix_web::test]
async fn forms_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let _world = fixtures::build(&app);
        let mut b = Browser::open(&app).await;
        b.sign_in("demo.admin", DEMO_PASSWORD).await;
        let school = _world.ids.school1.to_string();
        let invite = [
            ("given_name", "Ada"),
            ("family_name", "Lärare"),
            ("email", "ada@skola.example.com"),
            ("username", "ada.larare"),
            ("role", "teacher"),
            ("school_id", &school),
        ];
        // no token, a wrong token, a token from another browser
        let missing = b.post_raw("/admin/staff", &invite).await;
        assert_eq!(missing.status, 403);
        assert!(missing.body.contains("Ladda om sidan"), "{}", missing.body);
        let mut wrong = invite.to_vec();
        wrong.push(("_csrf", "0000"));
        assert_eq!(b.post_raw("/admin/staff", &wrong).await.status, 403);
        let other = Browser::open(&app).await;
        let mut foreign = invite.to_vec();
        foreign.push(("_csrf", &other.csrf));
        assert_eq!(b.post_raw("/admin/staff", &foreign).await.status, 403);
        // a foreign Origin, even with the right token
        let res = awc::Client::new()
            .post(app.url("/lang"))
            .insert_header((
                "Cookie",
                b.cookies
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ))
            .insert_header(("Origin", "https://evil.example"))
            .send_form(&[("lang", "en"), ("_csrf", b.csrf.as_str())])
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let mut c = conn(&_world.pool);
        let n: i64 = people::table
            .filter(people::username.eq("ada.larare"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n, 0, "nothing was stored");
        // with the token it goes through
        let page = b.post("/admin/staff", &invite).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
}

#[actix_web::test]
async fn repeated_wrong_passwords_lock_the_account_for_a_while_and_are_audited() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut b = Browser::open(&app).await;
        for _ in 0..narvaro::auth::throttle::PER_ACCOUNT {
            let page = b
                .post(
                    "/login",
                    &[("username", "demo.teacher"), ("password", "guess")],
                )
                .await;
            assert_eq!(page.status, 401);
            assert!(page.body.contains("Fel användarnamn eller lösenord"));
        }
        // now even the right password waits, and the page says how long
        let page = b
            .post(
                "/login",
                &[("username", "demo.teacher"), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 429);
        assert!(page.body.contains("Vänta 15 minuter"), "{}", page.body);
        assert!(page.retry_after.unwrap().parse::<u64>().unwrap() > 800);
        let mut res = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .send_json(&json!({"username": "demo.teacher", "password": DEMO_PASSWORD}))
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert!(res.headers().get("retry-after").is_some());
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "too_many_requests");
        // another account from the same address is not locked
        b.sign_in("demo.principal", DEMO_PASSWORD).await;

        assert_eq!(audit_count(&world, "sign_in.failed"), 5);
        assert_eq!(audit_count(&world, "sign_in.throttled"), 2);
        assert_eq!(audit_count(&world, "sign_in.ok"), 1);
        let mut c = conn(&world.pool);
        let details: Vec<(Option<String>, String)> = audit_log::table
            .filter(audit_log::action.eq("sign_in.failed"))
            .select((audit_log::client_addr, audit_log::detail))
            .load(&mut *c)
            .unwrap();
        assert!(details
            .iter()
            .all(|(addr, d)| addr.as_deref() == Some("127.0.0.1") && d.contains("wrong_password")));
    }
}

#[actix_web::test]
async fn a_guardian_signs_in_with_an_emailed_link_that_works_once() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut b = Browser::open(&app).await;
        // an unknown address gets the same answer and no mail
        let unknown = b
            .post("/login/link", &[("email", "nobody@example.com")])
            .await;
        assert_eq!(unknown.status, 200);
        deliver(&app).await;
        assert!(mails(&app).is_empty());
        let known = b
            .post("/login/link", &[("email", "Demo.Guardian@example.com")])
            .await;
        assert_eq!(known.status, 200);
        let strip = |s: &str| {
            s.replace("demo.guardian@example.com", "")
                .replace("Demo.Guardian@example.com", "")
                .replace("nobody@example.com", "")
        };
        assert_eq!(
            strip(&known.body),
            strip(&unknown.body),
            "the answer does not tell whether the address is known"
        );
        deliver(&app).await;
        let sent = mails(&app);
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].contains("To: demo.guardian@example.com"),
            "{}",
            sent[0]
        );
        let link =
            link_in(&sent[0], &format!("{}/login/link/", app.address)).expect("a link in the mail");
        let path = link.trim_start_matches(&app.address).to_string();

        // opening the link does not spend it; pressing the button does
        let page = b.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Logga in i Närvaro"));
        let page = b.get(&path).await;
        assert_eq!(page.status, 200);
        let done = b.post(&path, &[]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(b.cookies.contains_key("narvaro_session"));
        let home = b.get("/").await;
        assert!(home.body.contains("Dina barn"), "{}", home.body);
        assert!(home.body.contains(&format!("/pupils/{}", world.ids.child)));
        // used once: dead now, in a fresh browser too
        let mut again = Browser::open(&app).await;
        assert_eq!(again.get(&path).await.status, 404);
        assert_eq!(again.post(&path, &[]).await.status, 404);
        assert!(!again.cookies.contains_key("narvaro_session"));

        // an expired link is dead
        again
            .post("/login/link", &[("email", "demo.guardian@example.com")])
            .await;
        deliver(&app).await;
        let link = link_in(
            mails(&app).last().unwrap(),
            &format!("{}/login/link/", app.address),
        )
        .unwrap();
        {
            let mut c = conn(&world.pool);
            diesel::update(one_time_tokens::table.filter(one_time_tokens::used_at.is_null()))
                .set(
                    one_time_tokens::expires_at
                        .eq(Utc::now().naive_utc() - chrono::Duration::minutes(1)),
                )
                .execute(&mut *c)
                .unwrap();
        }
        assert_eq!(
            again
                .post(link.trim_start_matches(&app.address), &[])
                .await
                .status,
            404
        );

        // a sign-in link is no password link, and the reverse
        assert_eq!(
            again
                .get(&format!(
                    "/password/new/{}",
                    link.rsplit('/').next().unwrap()
                ))
                .await
                .status,
            404
        );
    }
}

#[actix_web::test]
async fn an_admin_invites_a_teacher_who_chooses_a_password_and_signs_in() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let school = world.ids.school2.to_string();
        let invite = [
            ("given_name", "Åsa"),
            ("family_name", "Öberg"),
            ("email", "asa.oberg@skola.example.com"),
            ("username", "Asa.Oberg"),
            ("role", "teacher"),
            ("school_id", school.as_str()),
        ];
        let page = admin.post("/admin/staff", &invite).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location.as_deref(), Some("/admin?done=staff"));
        // the same username again: a clear message, nothing stored
        let page = admin.post("/admin/staff", &invite).await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("Användarnamnet är upptaget"));
        // a school outside the municipality
        let mut bad = invite.to_vec();
        bad[4] = ("username", "someone.else");
        bad[5] = ("school_id", "999999");
        assert_eq!(admin.post("/admin/staff", &bad).await.status, 400);
        {
            let mut c = conn(&world.pool);
            let n: i64 = people::table
                .filter(people::username.eq("someone.else"))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert_eq!(n, 0);
        }

        deliver(&app).await;
        let mail = mails(&app).pop().expect("an invitation");
        assert!(
            mail.contains("Du har bjudits in till Närvaro")
                && mail.contains("To: asa.oberg@skola.example.com"),
            "{mail}"
        );
        let link = link_in(&mail, &format!("{}/password/new/", app.address)).unwrap();
        let path = link.trim_start_matches(&app.address).to_string();
        let mut teacher = Browser::open(&app).await;
        let page = teacher.get(&path).await;
        assert!(page.body.contains("asa.oberg"));
        let short = teacher
            .post(&path, &[("password", "short"), ("confirm", "short")])
            .await;
        assert_eq!(short.status, 400);
        assert!(short.body.contains("minst 10 tecken"));
        let page = teacher
            .post(
                &path,
                &[
                    ("password", "korrekt häst batteri"),
                    ("confirm", "korrekt häst batteri"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let (status, me) = api_get(
            &app,
            Some(&api_token(&app, "asa.oberg", "korrekt häst batteri").await),
            "/api/v1/me",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            me["roles"],
            json!([{"role": "teacher", "school_ids": [world.ids.school2]}])
        );
        assert_eq!(
            teacher
                .post(
                    &path,
                    &[
                        ("password", "korrekt häst batteri"),
                        ("confirm", "korrekt häst batteri")
                    ]
                )
                .await
                .status,
            404
        );
        assert_eq!(audit_count(&world, "staff.invited"), 1);

        // and a duty: demo.teacher becomes mentor of a class at school 2? Not a class there.
        let page = admin
            .post(
                "/admin/duties",
                &[
                    ("username", "asa.oberg"),
                    ("role", "mentor"),
                    ("school_id", &world.ids.school2.to_string()),
                    ("group_id", "999999"),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("Gruppen finns inte på den skolan"));
        let page = admin
            .post(
                "/admin/duties",
                &[
                    ("username", "asa.oberg"),
                    ("role", "principal"),
                    ("school_id", &world.ids.school2.to_string()),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(
            admin
                .post(
                    "/admin/duties",
                    &[
                        ("username", "asa.oberg"),
                        ("role", "principal"),
                        ("school_id", &world.ids.school2.to_string())
                    ]
                )
                .await
                .status,
            400
        );
    }
}

#[actix_web::test]
async fn signing_out_and_changing_the_password_end_earlier_sessions() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let _world = fixtures::build(&app);
        let mut phone = Browser::open(&app).await;
        let mut laptop = Browser::open(&app).await;
        phone.sign_in("demo.teacher", DEMO_PASSWORD).await;
        laptop.sign_in("demo.teacher", DEMO_PASSWORD).await;
        assert_eq!(laptop.get("/account").await.status, 200);

        // a wrong current password changes nothing
        let page = phone
            .post(
                "/account/password",
                &[
                    ("current", "not it"),
                    ("password", "ett nytt lösenord"),
                    ("confirm", "ett nytt lösenord"),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("nuvarande lösenordet stämmer inte"));
        assert_eq!(laptop.get("/account").await.status, 200);

        let page = phone
            .post(
                "/account/password",
                &[
                    ("current", DEMO_PASSWORD),
                    ("password", "ett nytt lösenord"),
                    ("confirm", "ett nytt lösenord"),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(
            phone.get("/account").await.status,
            200,
            "this browser stays signed in"
        );
        let out = laptop.get("/account").await;
        assert_eq!(out.status, 303, "the other browser is signed out");
        assert!(out.location.unwrap().starts_with("/login?next=%2Faccount"));
        let mut fresh = Browser::open(&app).await;
        assert_eq!(
            fresh
                .post(
                    "/login",
                    &[("username", "demo.teacher"), ("password", DEMO_PASSWORD)]
                )
                .await
                .status,
            401
        );
        fresh.sign_in("demo.teacher", "ett nytt lösenord").await;

        let old_cookie = phone.cookies["narvaro_session"].clone();
        let page = phone.post("/logout", &[]).await;
        assert_eq!(page.status, 303);
        assert!(!phone.cookies.contains_key("narvaro_session"));
        // the old cookie, replayed, is worth nothing; the other browser is out as well
        phone.cookies.insert("narvaro_session".into(), old_cookie);
        assert_eq!(phone.get("/account").await.status, 303);
        assert_eq!(fresh.get("/account").await.status, 303);
    }
}

#[actix_web::test]
async fn a_web_session_slides_and_sets_safe_cookies() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let _world = fixtures::build(&app);
        let mut b = Browser::open(&app).await;
        let page = b.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let cookie = page
            .set_cookies
            .iter()
            .find(|c| c.starts_with("narvaro_session="))
            .unwrap();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "http base URL: not Secure");
        // a fresh cookie is not reissued on every request
        assert!(b
            .get("/account")
            .await
            .set_cookies
            .iter()
            .all(|c| !c.starts_with("narvaro_session=")));
        // a cookie 20 minutes old, signed in 3 hours ago, slides to a new one
        let mut c = conn(&_world.pool);
        let teacher: i64 = people::table
            .filter(people::username.eq("demo.teacher"))
            .select(people::id)
            .first(&mut *c)
            .unwrap();
        let now = Utc::now().timestamp();
        let mut old = claims("narvaro-web", teacher, 0, now - 1200, now + 3600);
        old["auth"] = json!(now - 3 * 3600);
        b.cookies
            .insert("narvaro_session".into(), sign(&old, TEST_SECRET));
        let page = b.get("/account").await;
        assert_eq!(page.status, 200);
        assert!(
            page.set_cookies
                .iter()
                .any(|c| c.starts_with("narvaro_session=")),
            "slid"
        );
        // past the absolute limit (12 hours since sign-in) it does not
        let mut ancient = claims("narvaro-web", teacher, 0, now - 1200, now + 600);
        ancient["auth"] = json!(now - 12 * 3600 - 60);
        b.cookies
            .insert("narvaro_session".into(), sign(&ancient, TEST_SECRET));
        let page = b.get("/account").await;
        assert!(page
            .set_cookies
            .iter()
            .all(|c| !c.starts_with("narvaro_session=")));
    }
}

#[actix_web::test]
async fn protected_identities_are_named_only_to_staff_with_a_duty_for_them() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (given, family): (String, String) = {
            let mut c = conn(&world.pool);
            people::table
                .find(world.ids.protected)
                .select((people::given_name, people::family_name))
                .first(&mut *c)
                .unwrap()
        };
        let name = format!("{given} {family}");
        let path = format!("/api/v1/pupils/{}", world.ids.protected);
        let principal = api_token(&app, "demo.principal", DEMO_PASSWORD).await;
        let (_, seen) = api_get(&app, Some(&principal), &path).await;
        assert_eq!(seen["name"], json!(name));
        assert_eq!(seen["name_withheld"], json!(false));
        let admin = api_token(&app, "demo.admin", DEMO_PASSWORD).await;
        let (status, seen) = api_get(&app, Some(&admin), &path).await;
        assert_eq!(status, 200);
        assert_eq!(seen["name_withheld"], json!(true));
        assert!(!seen.to_string().contains(&given), "{seen}");
        // a guardian sees exactly their own children
        let guardian = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let (_, me) = api_get(&app, Some(&guardian), "/api/v1/me").await;
        let children = me["children"].as_array().unwrap();
        assert_eq!(children.len(), 2, "{me}");
        assert!(children.iter().any(
            |c| c["id"] == json!(world.ids.child) && c["school_id"] == json!(world.ids.school1)
        ));
        let _ = Role::Guardian;
    }
}
