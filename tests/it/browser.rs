//! A small browser for tests: keeps cookies, carries the CSRF token into forms, and
//! reads e-mails the application wrote. Also API helpers with bearer tokens.

use std::collections::BTreeMap;

use awc::http::StatusCode;
use narvaro::db::{self, DbConn, Pool};

use crate::helpers::TestApp;

pub const DEMO_PASSWORD: &str = "narvaro-demo";

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub retry_after: Option<String>,
    pub set_cookies: Vec<String>,
}

pub struct Browser {
    base: String,
    client: awc::Client,
    pub cookies: BTreeMap<String, String>,
    pub csrf: String,
}

/// The value of the first hidden `_csrf` field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_string())
}

impl Browser {
    /// A fresh browser that has opened the sign-in page (and so holds a CSRF cookie).
    pub async fn open(app: &TestApp) -> Browser {
        let mut b = Browser {
            base: app.address.clone(),
            // an idle connection is not reused after 2 s: the server closes its own after
            // 5 s (actix's keep-alive), and a request sent on one it is closing that moment
            // meets a closed connection (`Connect(Disconnected)`), as a test that waits for
            // a fresh TOTP step did
            client: awc::Client::builder()
                .connector(awc::Connector::new().conn_keep_alive(std::time::Duration::from_secs(2)))
                .disable_redirects()
                .timeout(std::time::Duration::from_secs(30))
                .finish(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        };
        let page = b.get("/login").await;
        b.csrf = csrf_in(&page.body).expect("the sign-in page has a CSRF field");
        b
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, mut res: awc::ClientResponse) -> Page {
        let mut set_cookies = Vec::new();
        for v in res.headers().get_all("set-cookie") {
            let raw = v.to_str().unwrap().to_string();
            let (pair, attrs) = raw.split_once(';').unwrap_or((&raw, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || attrs.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_string(), value.trim().to_string());
            }
            set_cookies.push(raw);
        }
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let location = header("location");
        let retry_after = header("retry-after");
        let status = res.status();
        let body = String::from_utf8(res.body().limit(4 << 20).await.unwrap().to_vec()).unwrap();
        if let Some(token) = csrf_in(&body) {
            self.csrf = token;
        }
        Page {
            status,
            location,
            body,
            retry_after,
            set_cookies,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()))
            .send()
            .await
            .unwrap();
        self.finish(res).await
    }

    /// A request as it is answered: status, headers and the body's bytes as sent (not
    /// decompressed), with this browser's cookies and the headers given.
    pub async fn raw(
        &mut self,
        method: awc::http::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = req.send().await.unwrap();
        let body = res.body().limit(4 << 20).await.unwrap().to_vec();
        (res.status().as_u16(), res.headers().clone(), body)
    }

    /// Posts a form with this browser's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        all.push(("_csrf", &csrf));
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no CSRF token unless given).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()))
            .send_form(&fields)
            .await
            .unwrap();
        self.finish(res).await
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let page = self
            .post(
                "/login",
                &[
                    ("username", username),
                    ("password", password),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "signing in as {username}: {}", page.body);
        assert!(self.cookies.contains_key("narvaro_session"));
        page
    }
}

/// A bearer token for the API.
pub async fn api_token(app: &TestApp, username: &str, password: &str) -> String {
    let mut res = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .send_json(&serde_json::json!({"username": username, "password": password}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "token for {username}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_string()
}

/// GET under /api with an optional bearer token: status and JSON body.
pub async fn api_get(app: &TestApp, token: Option<&str>, path: &str) -> (u16, serde_json::Value) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body = res.body().limit(16 << 20).await.unwrap();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// A JSON POST to the API: the status and the JSON answer (null when there is none).
pub async fn api_post(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = app.client.post(app.url(path));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut res = req.send_json(body).await.unwrap();
    let status = res.status().as_u16();
    let body = res.body().limit(16 << 20).await.unwrap();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Marks the pupils absent in a lesson through the roll-call API (the rest present),
/// as its teacher (`token`).
pub async fn put_absent(app: &TestApp, token: &str, lesson: i64, pupils: &[i64]) {
    let marks: Vec<_> = pupils
        .iter()
        .map(|p| serde_json::json!({"pupil_id": p, "status": "absent"}))
        .collect();
    let res = app
        .client
        .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&serde_json::json!({ "marks": marks }))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The application's database, for setting up and checking what a test needs.
pub fn pool(app: &TestApp) -> Pool {
    db::connect(&app.db.url, 2).expect("connect to the test database")
}

pub fn conn(pool: &Pool) -> db::PooledConn {
    pool.get().expect("a connection")
}

/// Seeds the demo municipality into the app's database.
pub fn seed_demo(app: &TestApp) -> Pool {
    let pool = pool(app);
    let mut c = conn(&pool);
    let today = app.config.clock.today(chrono_tz::Europe::Stockholm);
    let c: &mut DbConn = &mut c;
    narvaro::demo::prepare(c, chrono_tz::Europe::Stockholm, today).expect("seed the demo");
    pool
}

/// Sends what the outbox holds (sign-in links, invitations and notices go through it),
/// as the server's worker would.
pub async fn deliver(app: &TestApp) {
    let w = app.worker();
    narvaro::notices::worker::drain(&w, "test-delivery", 20)
        .await
        .expect("an outbox pass");
}

/// The decoded text of every e-mail written so far, oldest first.
pub fn mails(app: &TestApp) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(&app.db.mail_dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = dir
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|(_, p)| decode_quoted_printable(&std::fs::read_to_string(p).unwrap()))
        .collect()
}

/// A raw message with its quoted-printable parts decoded.
pub fn decode_mail(s: &str) -> String {
    decode_quoted_printable(s)
}

fn decode_quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The link in the newest e-mail that has one starting with `path` (after the address).
pub fn last_link(app: &TestApp, path: &str) -> String {
    let prefix = format!("{}{path}", app.address);
    mails(app)
        .iter()
        .rev()
        .find_map(|m| link_in(m, &prefix))
        .unwrap_or_else(|| panic!("no e-mail with a {path} link"))
}

/// The first link in a text that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    let at = text.find(prefix)?;
    Some(text[at..].split_whitespace().next()?.to_string())
}

/// The uuids the SS 12000 export names records by, and back: every organisation, person,
/// activity and lesson of the test database (tests build small ones).
pub struct Uuids {
    to: std::collections::HashMap<(char, i64), String>,
    from: std::collections::HashMap<String, i64>,
}

impl Uuids {
    pub fn load(pool: &Pool) -> Uuids {
        use diesel::prelude::*;
        use narvaro::schema::*;
        let mut c = conn(pool);
        let mut rows: Vec<(char, i64, Option<String>)> = Vec::new();
        let tag =
            |t: char, v: Vec<(i64, Option<String>)>| v.into_iter().map(move |(id, u)| (t, id, u));
        rows.extend(tag(
            'o',
            organisations::table
                .select((organisations::id, organisations::uuid))
                .load(&mut *c)
                .unwrap(),
        ));
        rows.extend(tag(
            'p',
            people::table
                .select((people::id, people::uuid))
                .load(&mut *c)
                .unwrap(),
        ));
        rows.extend(tag(
            'a',
            activities::table
                .select((activities::id, activities::uuid))
                .load(&mut *c)
                .unwrap(),
        ));
        rows.extend(tag(
            'l',
            lessons::table
                .select((lessons::id, lessons::uuid))
                .load(&mut *c)
                .unwrap(),
        ));
        let mut out = Uuids {
            to: Default::default(),
            from: Default::default(),
        };
        for (t, id, u) in rows {
            let u = u.expect("every record has a uuid");
            out.from.insert(u.clone(), id);
            out.to.insert((t, id), u);
        }
        out
    }

    pub fn org(&self, id: i64) -> &str {
        &self.to[&('o', id)]
    }

    pub fn person(&self, id: i64) -> &str {
        &self.to[&('p', id)]
    }

    pub fn lesson(&self, id: i64) -> &str {
        &self.to[&('l', id)]
    }

    /// Närvaro's id of a reference `{"id": uuid}`.
    pub fn id(&self, reference: &serde_json::Value) -> Option<i64> {
        reference["id"]
            .as_str()
            .and_then(|u| self.from.get(u))
            .copied()
    }
}

/// How many audit-log entries of this action there are.
pub fn audited(pool: &Pool, action: &str) -> i64 {
    use diesel::prelude::*;
    use narvaro::schema::audit_log;
    let mut c = conn(pool);
    audit_log::table
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(&mut *c)
        .unwrap()
}
