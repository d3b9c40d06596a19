//! Text messages through a real HTTP server on loopback that speaks 46elks' SMS API
//! (`POST /a1/sms`, HTTP Basic, form fields `from`, `to`, `message`, `whendelivered`; a
//! JSON answer with the message's `id` and `parts`): the guardian who chose text messages
//! gets one, in their language, and no e-mail; the gateway's delivery report is taken
//! only at its signed address and for the message that row sent; a failed text and a
//! number the gateway refuses are both followed by the e-mail. On both databases.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::prelude::*;
use narvaro::schema::*;

use crate::browser::{api_token, conn, mails, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, Role};
use crate::helpers::{backends, TestApp};
use crate::notices::put_marks;

/// What the gateway was sent: the Authorization header and the form.
type Received = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

/// 46elks' `POST /a1/sms`, as its documentation describes it. A number ending in 99 is
/// refused the way 46elks refuses an invalid `to` (403 and a sentence).
async fn elks(
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    got: web::Data<Received>,
) -> HttpResponse {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let form = form.into_inner();
    let to = form.get("to").cloned().unwrap_or_default();
    let message = form.get("message").cloned().unwrap_or_default();
    let n = {
        let mut g = got.lock().unwrap();
        g.push((auth, form));
        g.len()
    };
    if to.ends_with("99") {
        return HttpResponse::Forbidden().body("Invalid to number");
    }
    let latin = message.chars().all(|c| (c as u32) < 0x250);
    let parts = if latin {
        message.chars().count().div_ceil(153).max(1)
    } else {
        message.encode_utf16().count().div_ceil(67).max(1)
    };
    HttpResponse::Ok().json(serde_json::json!({
        "status": "created", "direction": "outgoing", "from": "Narvaro", "to": to,
        "message": message, "id": format!("s{n:032x}"), "parts": parts, "cost": 3500 * parts,
        "created": "2026-11-25T08:15:00.000000",
    }))
}

/// The gateway on a loopback port: its base address (`…/a1`) and what it was sent.
fn gateway() -> (String, Received) {
    let got: Received = Arc::default();
    let data = web::Data::new(got.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/a1/sms", web::post().to(elks))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    (format!("http://{addr}/a1"), got)
}

fn person(world: &fixtures::World, username: &str) -> i64 {
    let mut c = conn(&world.pool);
    people::table
        .filter(people::username.eq(username))
        .select(people::id)
        .first(&mut *c)
        .unwrap()
}

#[actix_web::test]
async fn a_guardian_who_chose_text_messages_gets_one_and_a_failed_one_is_followed_by_e_mail() {
    for kind in backends() {
        let (url, got) = gateway();
        let app = TestApp::spawn_with(kind, move |c| {
            c.sms = Some(narvaro::notices::sms::SmsConfig {
                url,
                user: "u2c11ef65b429a8e16ccb1f960d02c734".into(),
                password: "C0ACCEEA6AEB0B5E33C0A0B3F5E2C2F2".into(),
                from: "Narvaro".into(),
            });
            // notices go as soon as the lesson is reported
            c.notice_delay_minutes = Some(0);
        })
        .await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let guardian = world.username(Role::Guardian).unwrap().to_string();
        let me = person(&world, &guardian);
        // the guardian reads Arabic, gives a number and wants absence notices by text only
        let mut g = Browser::open(&app).await;
        g.sign_in(&guardian, DEMO_PASSWORD).await;
        assert_eq!(g.post("/lang", &[("lang", "ar")]).await.status, 303);
        let account = g.get("/account").await;
        assert!(
            account.body.contains("/account/channels"),
            "the choice is offered"
        );
        let email: String = {
            let mut c = conn(&world.pool);
            people::table
                .find(me)
                .select(people::email.assume_not_null())
                .first(&mut *c)
                .unwrap()
        };
        let saved = g
            .post(
                "/account/settings",
                &[
                    ("email", &email),
                    ("phone", "070-123 45 67"),
                    ("language", "ar"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let bad = g
            .post("/account/channels", &[("unexplained_absence", "pigeon")])
            .await;
        assert_eq!(bad.status, 400, "an unknown channel is refused");
        let chose = g
            .post(
                "/account/channels",
                &[("unexplained_absence", "sms"), ("leave_decision", "both")],
            )
            .await;
        assert_eq!(chose.status, 303, "{}", chose.body);
        // the other guardian wants text messages too, at a number the gateway refuses
        let other: i64 = {
            let mut c = conn(&world.pool);
            let other = guardianships::table
                .filter(guardianships::pupil_id.eq(child))
                .filter(guardianships::guardian_id.ne(me))
                .select(guardianships::guardian_id)
                .first(&mut *c)
                .unwrap();
            diesel::update(people::table.find(other))
                .set(people::phone.eq("+46701234599"))
                .execute(&mut *c)
                .unwrap();
            diesel::insert_into(person_channels::table)
                .values((
                    person_channels::person_id.eq(other),
                    person_channels::kind.eq("unexplained_absence"),
                    person_channels::channels.eq("sms"),
                ))
                .execute(&mut *c)
                .unwrap();
            other
        };
        let before = mails(&app).len();
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        put_marks(
            &app,
            &teacher,
            world.ids.lesson,
            serde_json::json!([{"pupil_id": child, "status": "absent"}]),
        )
        .await;
        let stats = narvaro::notices::worker::drain(&app.worker(), "test-worker", 10)
            .await
            .unwrap();
        assert_eq!(stats.failed, 0, "{stats:?}");

        // the gateway was asked twice, field by field
        let sent = got.lock().unwrap().clone();
        assert_eq!(sent.len(), 2, "{sent:?}");
        use base64::Engine;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode("u2c11ef65b429a8e16ccb1f960d02c734:C0ACCEEA6AEB0B5E33C0A0B3F5E2C2F2")
        );
        let (auth, form) = sent
            .iter()
            .find(|(_, f)| f["to"] == "+46701234567")
            .unwrap();
        assert_eq!(auth, &basic);
        assert_eq!(form["from"], "Narvaro");
        let text = &form["message"];
        assert!(
            text.starts_with("Närvaro: ") && text.contains("غائبًا"),
            "in Arabic: {text}"
        );
        assert!(text.contains(&format!("/pupils/{child}")), "{text}");
        assert!(
            !text.contains("sjuk") && !text.contains("Sjuk"),
            "no reason in a text"
        );
        let report_url = form["whendelivered"].clone();
        assert!(
            report_url.contains("/sms/reports/") && report_url.contains("sig="),
            "{report_url}"
        );

        // no e-mail to the guardian who chose text only; the refused number got the e-mail
        let new_mails: Vec<String> = mails(&app)[before..].to_vec();
        assert!(
            !new_mails
                .iter()
                .any(|m| m.contains(&format!("To: {email}"))),
            "no e-mail to {email}"
        );
        let other_email: String = {
            let mut c = conn(&world.pool);
            people::table
                .find(other)
                .select(people::email.assume_not_null())
                .first(&mut *c)
                .unwrap()
        };
        assert!(
            new_mails
                .iter()
                .any(|m| m.contains(&format!("To: {other_email}"))),
            "a refused text falls back to e-mail at once"
        );

        // the row: sent by text, the gateway's id, one segment counted or more
        let (row, provider, segments, channel): (i64, String, i32, String) = {
            let mut c = conn(&world.pool);
            outbox::table
                .filter(outbox::recipient_id.eq(me))
                .filter(outbox::kind.eq("unexplained_absence"))
                .select((
                    outbox::id,
                    outbox::provider_id.assume_not_null(),
                    outbox::segments.assume_not_null(),
                    outbox::channel,
                ))
                .first(&mut *c)
                .unwrap()
        };
        assert_eq!(channel, "sms");
        assert!(segments >= 1);
        {
            let mut c = conn(&world.pool);
            let stored =
                narvaro::ops::metrics::read_stored(&mut c, app.config.clock.now_utc()).unwrap();
            assert!(stored.sms_segments >= i64::from(segments), "{stored:?}");
        }

        // delivery reports: a bad signature and an id the row did not send are refused
        let path = report_url.split_once("://").unwrap().1;
        let path = &path[path.find('/').unwrap()..];
        let post = |p: String, id: String, status: &'static str| {
            let client = app.client.clone();
            async move {
                client
                    .post(p)
                    .send_form(&[
                        ("id", id.as_str()),
                        ("status", status),
                        ("delivered", "2026-11-25T15:31:00"),
                    ])
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let forged = app.url(&format!("/sms/reports/{row}?sig=00"));
        assert_eq!(post(forged, provider.clone(), "delivered").await, 404);
        assert_eq!(
            post(app.url(path), "s-not-this-one".into(), "delivered").await,
            404
        );
        assert_eq!(post(app.url(path), provider.clone(), "arrived").await, 400);
        // the text failed after all: its e-mail follows, once however often it is said
        assert_eq!(post(app.url(path), provider.clone(), "failed").await, 204);
        assert_eq!(post(app.url(path), provider.clone(), "failed").await, 204);
        narvaro::notices::worker::drain(&app.worker(), "test-worker", 10)
            .await
            .unwrap();
        let followed: Vec<String> = mails(&app)
            .into_iter()
            .filter(|m| m.contains(&format!("To: {email}")))
            .collect();
        assert_eq!(followed.len(), 1, "one e-mail after the failed text");
        let delivery: Option<String> = {
            let mut c = conn(&world.pool);
            outbox::table
                .find(row)
                .select(outbox::delivery)
                .first(&mut *c)
                .unwrap()
        };
        assert_eq!(delivery.as_deref(), Some("failed"));

        // the day's notices say how each went out, for the mentor who follows up
        let mut mentor = Browser::open(&app).await;
        mentor.sign_in("demo.teacher", DEMO_PASSWORD).await;
        let day = mentor.get("/notices").await;
        assert_eq!(day.status, 200, "{kind:?}");
        for way in [
            "Sms, gick inte fram",
            "E-post, efter sms som inte gick fram",
            "E-post</td>",
        ] {
            assert!(day.body.contains(way), "{kind:?}: {way}");
        }
    }
}

/// Both guardians (issue 39): the second guardian, reached by text message only, is sent
/// one that links to the answer, in their language.
#[actix_web::test]
async fn the_second_guardian_of_a_leave_application_is_texted_the_link_to_answer() {
    for kind in backends() {
        let (url, got) = gateway();
        let app = TestApp::spawn_with(kind, move |c| {
            c.sms = Some(narvaro::notices::sms::SmsConfig {
                url,
                user: "u2c11ef65b429a8e16ccb1f960d02c734".into(),
                password: "C0ACCEEA6AEB0B5E33C0A0B3F5E2C2F2".into(),
                from: "Narvaro".into(),
            });
        })
        .await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let second =
            fixtures::second_guardian(&world, "texted.guardian", None, Some("+46701112233"));
        {
            let mut c = conn(&world.pool);
            diesel::insert_into(person_channels::table)
                .values((
                    person_channels::person_id.eq(second),
                    person_channels::kind.eq("leave_confirmation"),
                    person_channels::channels.eq("sms"),
                ))
                .execute(&mut *c)
                .unwrap();
        }
        let mut admin = Browser::open(&app).await;
        admin.sign_in("demo.admin", DEMO_PASSWORD).await;
        let rule = admin
            .post("/admin/leave-rules", &[("both_guardians", "on")])
            .await;
        assert_eq!(rule.status, 303);
        let mut g = Browser::open(&app).await;
        g.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let sent = g
            .post(
                &format!("/pupils/{child}/leave-applications"),
                &[
                    ("start_date", "2026-12-14"),
                    ("end_date", "2026-12-14"),
                    ("reason", "Släktbesök"),
                ],
            )
            .await;
        assert_eq!(sent.status, 303, "{kind:?}: {}", sent.body);
        let leave: i64 = {
            let mut c = conn(&world.pool);
            leave_applications::table
                .filter(leave_applications::pupil_id.eq(child))
                .select(leave_applications::id)
                .order(leave_applications::id.desc())
                .first(&mut *c)
                .unwrap()
        };
        let before = mails(&app).len();
        let stats = narvaro::notices::worker::drain(&app.worker(), "test-worker", 10)
            .await
            .unwrap();
        assert_eq!(stats.failed, 0, "{stats:?}");
        let texts = got.lock().unwrap().clone();
        let (_, form) = texts
            .iter()
            .find(|(_, f)| f["to"] == "+46701112233")
            .expect("the second guardian is texted");
        let text = &form["message"];
        assert!(
            text.contains("väntar på ditt svar")
                && text.ends_with(&format!("/leave-applications/{leave}/answer")),
            "{kind:?}: {text}"
        );
        assert_eq!(mails(&app).len(), before, "no e-mail: they have no address");
    }
}
