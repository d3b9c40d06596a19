//! Guardians and pupils read Närvaro in nine languages: every page they can reach (and the
//! refusals on it) has each text translated, the page says its language and direction, and
//! staff pages stay in Swedish and English.

use narvaro::i18n::Lang;

use crate::browser::{Browser, DEMO_PASSWORD};
use crate::fixtures::{self, Role, World};
use crate::helpers::{backends, Kind, TestApp};

/// What a guardian, an adult pupil and a visitor can open, and the refusals they can meet.
async fn family_pages(app: &TestApp, world: &World, lang: Lang) -> Vec<(String, String)> {
    let code = lang.code();
    let mut seen = Vec::new();
    let mut anon = Browser::open(app).await;
    anon.cookies.insert("lang".into(), code.into());
    for path in [
        "/",
        "/login",
        "/password/forgot",
        "/login/link/not-a-link",
        "/password/new/not-a-token",
        "/no-such-page",
    ] {
        let page = anon.get(path).await;
        seen.push((format!("{code} anonymous {path}"), page.body));
    }
    let wrong = anon
        .post(
            "/login",
            &[
                ("username", "demo.guardian"),
                ("password", "wrong"),
                ("next", "/"),
            ],
        )
        .await;
    seen.push((format!("{code} wrong password"), wrong.body));

    let child = world.ids.child;
    let mut g = Browser::open(app).await;
    g.cookies.insert("lang".into(), code.into());
    g.sign_in(world.username(Role::Guardian).unwrap(), DEMO_PASSWORD)
        .await;
    let (asks_me, declined) = both_guardians_leave(world);
    for path in [
        "/".to_string(),
        format!("/pupils/{child}"),
        format!("/pupils/{child}/report"),
        format!("/pupils/{child}/leave"),
        "/account".into(),
        format!("/pupils/{}", world.ids.adult),
        format!("/leave-applications/{asks_me}/answer"),
        format!("/leave-applications/{declined}/answer"),
    ] {
        let page = g.get(&path).await;
        seen.push((format!("{code} guardian {path}"), page.body));
    }
    let refusals: [(String, Vec<(&str, &str)>); 8] = [
        // both guardians: withdrawing what the other guardian declined; answering twice
        (format!("/leave-applications/{declined}/withdraw"), vec![]),
        (
            format!("/leave-applications/{declined}/answer"),
            vec![("answer", "yes")],
        ),
        (
            format!("/pupils/{child}/absence-reports"),
            vec![("mode", "days"), ("from_date", "2026-13-40")],
        ),
        (
            format!("/pupils/{child}/leave-applications"),
            vec![
                ("start_date", "2026-12-10"),
                ("end_date", "2026-12-08"),
                ("reason", "Resa"),
            ],
        ),
        // against the leave rules (where the test sets them): too soon, too long, in the
        // blocked period without its reason
        (
            format!("/pupils/{child}/leave-applications"),
            vec![
                ("start_date", "2026-11-27"),
                ("end_date", "2026-11-27"),
                ("reason", "Resa"),
            ],
        ),
        (
            format!("/pupils/{child}/leave-applications"),
            vec![
                ("start_date", "2027-02-01"),
                ("end_date", "2027-02-12"),
                ("reason", "Resa"),
            ],
        ),
        (
            format!("/pupils/{child}/leave-applications"),
            vec![
                ("start_date", "2027-05-11"),
                ("end_date", "2027-05-11"),
                ("reason", "Resa"),
            ],
        ),
        (
            "/account/settings".into(),
            vec![("email", ""), ("phone", "ring mig"), ("language", code)],
        ),
    ];
    for (path, fields) in refusals {
        let page = g.post(&path, &fields).await;
        seen.push((format!("{code} guardian refused {path}"), page.body));
    }

    let adult = world.ids.adult;
    let mut p = Browser::open(app).await;
    p.cookies.insert("lang".into(), code.into());
    p.sign_in(world.username(Role::AdultPupil).unwrap(), DEMO_PASSWORD)
        .await;
    for path in [
        "/".to_string(),
        format!("/pupils/{adult}"),
        format!("/pupils/{adult}/report"),
        format!("/pupils/{adult}/leave"),
    ] {
        let page = p.get(&path).await;
        seen.push((format!("{code} pupil {path}"), page.body));
    }
    seen
}

/// The municipality's rules for leave and a blocked period, so that the leave form shows
/// every line a guardian can read of them.
fn with_leave_rules(world: &World) {
    use diesel::prelude::*;
    use narvaro::schema::*;
    let c = &mut *crate::browser::conn(&world.pool);
    let municipality: i64 = organisations::table
        .find(world.ids.school1)
        .select(organisations::parent_id.assume_not_null())
        .first(c)
        .unwrap();
    let admin: i64 = people::table
        .filter(people::username.eq("demo.admin"))
        .select(people::id)
        .first(c)
        .unwrap();
    let now = crate::helpers::test_moment().naive_utc();
    diesel::insert_into(leave_rules::table)
        .values((
            leave_rules::organisation_id.eq(municipality),
            leave_rules::notice_days.eq(14),
            leave_rules::longest_days.eq(5),
            leave_rules::principal_above_days.eq(8),
            leave_rules::both_guardians.eq(true),
            leave_rules::changed_by.eq(admin),
            leave_rules::changed_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    diesel::insert_into(leave_blocked_periods::table)
        .values((
            leave_blocked_periods::organisation_id.eq(municipality),
            leave_blocked_periods::name.eq("Nationella prov åk 9"),
            leave_blocked_periods::first_day.eq(day("2027-05-10")),
            leave_blocked_periods::last_day.eq(day("2027-05-12")),
            leave_blocked_periods::created_by.eq(admin),
            leave_blocked_periods::created_at.eq(now),
        ))
        .execute(c)
        .unwrap();
}

/// Both guardians (the rules ask them): an application of a second guardian waiting for
/// demo.guardian's answer, one of demo.guardian's that waits for the second guardian, and
/// one demo.guardian answered with a decline; (the first, the last).
fn both_guardians_leave(world: &World) -> (i64, i64) {
    use diesel::prelude::*;
    use narvaro::schema::*;
    let c = &mut *crate::browser::conn(&world.pool);
    let me: i64 = people::table
        .filter(people::username.eq("demo.guardian"))
        .select(people::id)
        .first(c)
        .unwrap();
    let found: Option<i64> = leave_confirmations::table
        .filter(leave_confirmations::guardian_id.eq(me))
        .filter(leave_confirmations::answer.eq("waiting"))
        .select(leave_confirmations::leave_id)
        .first(c)
        .optional()
        .unwrap();
    // made once, for the first language
    if let Some(asks_me) = found {
        let declined: i64 = leave_confirmations::table
            .filter(leave_confirmations::guardian_id.eq(me))
            .filter(leave_confirmations::answer.eq("declined"))
            .select(leave_confirmations::leave_id)
            .first(c)
            .unwrap();
        return (asks_me, declined);
    }
    let second =
        crate::fixtures::second_guardian(world, "second.guardian", Some("kim@example.com"), None);
    let c = &mut *crate::browser::conn(&world.pool);
    let now = crate::helpers::test_moment().naive_utc();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let mut made = Vec::new();
    for (by, asked, status, answer, from) in [
        (second, me, "awaiting_guardian", "waiting", "2027-03-01"),
        (me, second, "awaiting_guardian", "waiting", "2027-03-08"),
        (second, me, "declined", "declined", "2027-03-15"),
    ] {
        let id: i64 = diesel::insert_into(leave_applications::table)
            .values((
                leave_applications::pupil_id.eq(world.ids.child),
                leave_applications::start_date.eq(day(from)),
                leave_applications::end_date.eq(day(from)),
                leave_applications::reason.eq("Släktbesök"),
                leave_applications::applied_by.eq(by),
                leave_applications::applied_at.eq(now),
                leave_applications::status.eq(status),
            ))
            .returning(leave_applications::id)
            .get_result(c)
            .unwrap();
        diesel::insert_into(leave_confirmations::table)
            .values((
                leave_confirmations::leave_id.eq(id),
                leave_confirmations::guardian_id.eq(asked),
                leave_confirmations::answer.eq(answer),
                leave_confirmations::comment.eq((answer == "declined").then_some("Inte nu")),
            ))
            .execute(c)
            .unwrap();
        made.push(id);
    }
    (made[0], made[2])
}

#[actix_web::test]
async fn every_text_a_guardian_can_meet_is_translated_into_every_language() {
    // with an SMS gateway set, so that My account shows the choice of channels (the pages
    // never call it)
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.sms = Some(narvaro::notices::sms::SmsConfig {
            url: "http://127.0.0.1:9/a1".into(),
            user: "user".into(),
            password: "password".into(),
            from: "Narvaro".into(),
        })
    })
    .await;
    let world = fixtures::build(&app);
    with_leave_rules(&world);
    for lang in Lang::ALL {
        for (what, body) in family_pages(&app, &world, lang).await {
            let tag = format!("<html lang=\"{}\" dir=\"{}\"", lang.code(), lang.dir());
            assert!(body.contains(&tag), "{what}: the page does not say {tag}");
        }
    }
    let missing = narvaro::i18n::catalogue::missing();
    let listed: Vec<String> = missing
        .iter()
        .map(|(lang, msgid)| {
            format!(
                "{lang}: msgid {}",
                serde_json::to_string(msgid).unwrap_or_default()
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} texts lack a translation:\n{}",
        missing.len(),
        listed.join("\n")
    );
}

#[actix_web::test]
async fn staff_pages_stay_in_swedish_and_english() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let world = fixtures::build(&app);
    let mut t = Browser::open(&app).await;
    t.cookies.insert("lang".into(), "ar".into());
    t.sign_in(world.username(Role::Teacher).unwrap(), DEMO_PASSWORD)
        .await;
    let page = t.get(&format!("/lessons/{}", world.ids.lesson)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html lang=\"sv\" dir=\"ltr\""));
    // the menu offers Swedish and English only
    assert!(page.body.contains("In English"));
    assert!(!page.body.contains("العربية"));
}

#[actix_web::test]
async fn a_language_narvaro_lacks_is_swedish_and_a_choice_is_kept_with_the_person() {
    for kind in backends() {
        a_choice_is_kept(kind).await;
    }
}

async fn a_choice_is_kept(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    let mut g = Browser::open(&app).await;
    let page = g.post("/lang", &[("lang", "xx-YY")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(g.cookies.get("lang").map(String::as_str), Some("sv"));

    let mut anon = Browser::open(&app).await;
    let (status, _, body) = anon
        .raw(
            awc::http::Method::GET,
            "/login",
            &[("Accept-Language", "de-DE, so;q=0.9, en;q=0.5")],
        )
        .await;
    assert_eq!(status, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("<html lang=\"so\""),
        "Somali by Accept-Language"
    );

    g.sign_in(world.username(Role::Guardian).unwrap(), DEMO_PASSWORD)
        .await;
    let page = g.post("/lang", &[("lang", "ar")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mut c = crate::browser::conn(&world.pool);
    use diesel::prelude::*;
    use narvaro::schema::people;
    let stored: String = people::table
        .filter(people::username.eq(world.username(Role::Guardian).unwrap()))
        .select(people::language)
        .first(&mut *c)
        .unwrap();
    assert_eq!(stored, "ar");
    let home = g.get("/").await;
    assert!(home.body.contains("<html lang=\"ar\" dir=\"rtl\""));
    // on a new browser, signing in brings the stored choice along
    let mut fresh = Browser::open(&app).await;
    let signed = fresh
        .sign_in(world.username(Role::Guardian).unwrap(), DEMO_PASSWORD)
        .await;
    assert_eq!(signed.status, 303);
    assert_eq!(fresh.cookies.get("lang").map(String::as_str), Some("ar"));
    // a language chosen before signing in becomes the person's
    let mut somali = Browser::open(&app).await;
    somali.cookies.insert("lang".into(), "so".into());
    somali
        .sign_in(world.username(Role::Guardian).unwrap(), DEMO_PASSWORD)
        .await;
    let stored: String = people::table
        .filter(people::username.eq(world.username(Role::Guardian).unwrap()))
        .select(people::language)
        .first(&mut *c)
        .unwrap();
    assert_eq!(stored, "so");
    // the menu names every language in itself, and marks the one in use
    for l in Lang::ALL {
        assert!(home.body.contains(l.own_name()), "{}", l.own_name());
    }
    assert!(home.body.contains("aria-current=\"true\">العربية"));
}

/// A message's text: its base64 and quoted-printable parts decoded, headers as they are.
fn readable(raw: &str) -> String {
    use base64::Engine;
    let mut out = crate::browser::decode_mail(raw);
    let mut rest = raw;
    while let Some(at) = rest.find("Content-Transfer-Encoding: base64") {
        let after = &rest[at..];
        let Some(start) = after.find("\r\n\r\n").or_else(|| after.find("\n\n")) else {
            break;
        };
        let body: String = after[start..]
            .trim_start()
            .lines()
            .take_while(|l| !l.trim().is_empty() && !l.starts_with("--"))
            .collect();
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(body.trim()) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        rest = &after[start..];
    }
    out
}

#[actix_web::test]
async fn a_guardian_who_chose_arabic_gets_the_notice_in_arabic_and_staff_still_read_swedish() {
    use crate::notices::{app_with_smtp, guardian_emails, put_marks, Smtp};
    if !Smtp::available() {
        return;
    }
    for kind in backends() {
        let mut smtp = Smtp::new();
        smtp.start();
        let app = app_with_smtp(kind, &smtp, Some(0)).await;
        let world = fixtures::build(&app);
        let (child, lesson) = (world.ids.child, world.ids.lesson);
        // the guardian chooses Arabic from the menu; the child's other guardian keeps Swedish
        let mut g = Browser::open(&app).await;
        g.sign_in(world.username(Role::Guardian).unwrap(), DEMO_PASSWORD)
            .await;
        assert_eq!(g.post("/lang", &[("lang", "ar")]).await.status, 303);
        let arabic_address: String = {
            use diesel::prelude::*;
            use narvaro::schema::people;
            let mut c = crate::browser::conn(&world.pool);
            people::table
                .filter(people::username.eq(world.username(Role::Guardian).unwrap()))
                .select(people::email.assume_not_null())
                .first(&mut *c)
                .unwrap()
        };
        let teacher = crate::browser::api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        put_marks(
            &app,
            &teacher,
            lesson,
            serde_json::json!([{"pupil_id": child, "status": "absent"}]),
        )
        .await;
        let stats = narvaro::notices::worker::drain(&app.worker(), "test-worker", 10)
            .await
            .unwrap();
        assert_eq!(stats.failed, 0, "{stats:?}");
        let mails: Vec<String> = smtp.messages().iter().map(|m| readable(m)).collect();
        let to = |address: &str| {
            mails
                .iter()
                .find(|m| m.contains(&format!("X-Envelope-To: {address}")))
                .cloned()
                .unwrap_or_else(|| panic!("no e-mail to {address}"))
        };
        let arabic = to(&arabic_address);
        assert!(arabic.contains("غائبًا بدون سبب مُبلَّغ عنه"), "{arabic}");
        assert!(
            arabic.contains("dir=\"rtl\""),
            "the HTML part reads right to left"
        );
        // the test clock's Wednesday 25 November, as Arabic writes it
        assert!(arabic.contains("الأربعاء ٢٥ نوفمبر"), "{arabic}");
        for other in guardian_emails(&world, child)
            .iter()
            .filter(|a| **a != arabic_address)
        {
            assert!(
                to(other).contains("utan anmäld orsak"),
                "Swedish to {other}"
            );
        }
        // the principal's list of the day's notices stays Swedish, also with Arabic chosen
        let mut p = Browser::open(&app).await;
        p.cookies.insert("lang".into(), "ar".into());
        p.sign_in(world.username(Role::Principal).unwrap(), DEMO_PASSWORD)
            .await;
        let list = p.get("/notices").await;
        assert!(list.body.contains("<html lang=\"sv\" dir=\"ltr\""));
        assert!(list.body.contains("Meddelanden om frånvaro"));
    }
}
