//! Guardians never reached, on both databases: a mentor sees the guardians of the class
//! whom this term's notices have not reached (no working address, the latest notice
//! failed, notices sent but none confirmed and no sign-in) with how to reach them instead,
//! and not those who confirmed or signed in; the principal sees the whole school; another
//! mentor only their class; a teacher or a guardian gets 404.

use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;

use crate::browser::{conn, pool, Browser};
use crate::build::{Group, Municipality, Person, School};
use crate::helpers::{backends, test_moment, TestApp};

const PASSWORD: &str = "unreached-1";

/// A notice of this term to a guardian, in the state given (confirmed or not).
fn notice(c: &mut DbConn, guardian: i64, pupil: i64, status: &str, confirmed: bool, n: i64) {
    let now = test_moment().naive_utc();
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq("unexplained_absence"),
            outbox::dedupe_key.eq(format!("absence:{guardian}:{pupil}:{n}")),
            outbox::recipient_id.eq(Some(guardian)),
            outbox::pupil_id.eq(Some(pupil)),
            outbox::payload.eq("{}"),
            outbox::status.eq(status),
            outbox::due_at.eq(now),
            outbox::created_at.eq(now - chrono::Duration::minutes(60 - n)),
            outbox::confirmed_at.eq(confirmed.then_some(now)),
        ))
        .execute(c)
        .unwrap();
}

#[actix_web::test]
async fn mentors_and_principals_see_the_guardians_their_notices_do_not_reach() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        {
            let mut c = conn(&pool);
            let c = &mut *c;
            let muni = Municipality::new("Nåkommun").insert(c);
            let school = School::new("Nåskolan", muni).insert(c);
            let a = Group::class("5A", school, 5).insert(c);
            let b = Group::class("5B", school, 5).insert(c);
            let staff = |user: &str, role: &'static str, group: Option<i64>| {
                Person::new(user, "Personal")
                    .account(user, PASSWORD)
                    .duty(school, role, group)
            };
            staff("na.rektor", "principal", None).insert(c);
            staff("na.mentor", "mentor", Some(a)).insert(c);
            staff("na.annan", "mentor", Some(b)).insert(c);
            staff("na.lärare", "teacher", None).insert(c);
            let guardian = |given: &str, email: Option<&str>| {
                let p = Person::new(given, "Vårdnadshavare");
                match email {
                    Some(e) => p.email(e),
                    None => p,
                }
            };
            let no_address = guardian("Nora", None).insert(c);
            // Nora has a telephone number from the register: the page offers to call it
            diesel::update(people::table.find(no_address))
                .set(people::phone.eq(Some("+46701112233")))
                .execute(c)
                .unwrap();
            let reached = guardian("Rakel", Some("rakel@example.org"))
                .account("na.rakel", PASSWORD)
                .insert(c);
            let failed = guardian("Fadi", Some("fadi@example.org")).insert(c);
            let silent = guardian("Sara", Some("sara@example.org")).insert(c);
            let confirmed = guardian("Kim", Some("kim@example.org")).insert(c);
            let signed = guardian("Sigge", Some("sigge@example.org"))
                .account("na.sigge", PASSWORD)
                .insert(c);
            let other_class = guardian("Otto", None).insert(c);
            let pupil = |given: &str, class: i64, guardians: &[i64]| {
                let mut p = Person::new(given, "Elev").pupil_at(school).in_group(class);
                for g in guardians {
                    p = p.with_guardian(*g);
                }
                p
            };
            pupil("Alma", a, &[no_address, reached]).insert(c);
            let p2 = pupil("Bruno", a, &[failed]).insert(c);
            let p3 = pupil("Cilla", a, &[silent]).insert(c);
            let p4 = pupil("Dante", a, &[confirmed]).insert(c);
            let p5 = pupil("Elsa", a, &[signed]).insert(c);
            pupil("Frej", b, &[other_class]).insert(c);
            // this term's notices: delivered, then one that failed; sent, never confirmed;
            // sent and confirmed; sent and not confirmed to one who signs in
            notice(c, failed, p2, "sent", false, 1);
            notice(c, failed, p2, "failed", false, 2);
            notice(c, silent, p3, "sent", false, 3);
            notice(c, confirmed, p4, "sent", true, 4);
            notice(c, signed, p5, "sent", false, 5);
            notice(c, reached, p5, "sent", true, 6);
        }
        // Sigge signs in this term
        let mut sigge = Browser::open(&app).await;
        sigge.sign_in("na.sigge", PASSWORD).await;
        assert_eq!(
            sigge.get("/guardians/unreached").await.status.as_u16(),
            404,
            "{kind:?}"
        );

        let mut mentor = Browser::open(&app).await;
        mentor.sign_in("na.mentor", PASSWORD).await;
        let page = mentor.get("/guardians/unreached").await;
        assert_eq!(page.status.as_u16(), 200, "{kind:?}");
        let body = page.body;
        for (who, gap) in [
            ("Nora Vårdnadshavare", "no_address"),
            ("Fadi Vårdnadshavare", "failed"),
            ("Sara Vårdnadshavare", "silent"),
        ] {
            let row = body
                .split("<tr>")
                .find(|r| r.contains(who))
                .unwrap_or_else(|| panic!("{kind:?}: {who} in {body}"));
            assert!(
                row.contains(&format!("data-gap=\"{gap}\"")),
                "{kind:?}: {row}"
            );
        }
        // Nora's child's other guardian is reached: the way to try first; then her number
        assert!(
            body.contains("Via Rakel Vårdnadshavare, som nås.")
                && body.contains("href=\"tel:+46701112233\""),
            "{kind:?}: {body}"
        );
        for reached in ["Kim", "Sigge", "Rakel", "Otto"] {
            assert!(
                !body.contains(&format!("{reached} Vårdnadshavare</td>")),
                "{kind:?}: {reached} is reached or not the mentor's"
            );
        }
        let mut other = Browser::open(&app).await;
        other.sign_in("na.annan", PASSWORD).await;
        let theirs = other.get("/guardians/unreached").await.body;
        assert!(
            theirs.contains("Otto Vårdnadshavare") && !theirs.contains("Nora"),
            "{kind:?}: {theirs}"
        );
        let mut principal = Browser::open(&app).await;
        principal.sign_in("na.rektor", PASSWORD).await;
        let all = principal.get("/guardians/unreached").await.body;
        assert!(
            all.contains("Otto Vårdnadshavare") && all.contains("Nora Vårdnadshavare"),
            "{kind:?}"
        );
        let mut teacher = Browser::open(&app).await;
        teacher.sign_in("na.lärare", PASSWORD).await;
        assert_eq!(
            teacher.get("/guardians/unreached").await.status.as_u16(),
            404,
            "{kind:?}"
        );
    }
}

/// With text messages on, a guardian without e-mail whom the notices reach by text message
/// (a number, and texts their choice or the municipality's default) is reached; without a
/// number, or with e-mail as their choice, they are not.
#[actix_web::test]
async fn a_guardian_reached_by_text_message_is_not_listed_for_lack_of_e_mail() {
    for kind in backends() {
        let app = TestApp::spawn_with(kind, |c| {
            c.sms = Some(narvaro::notices::sms::SmsConfig {
                url: "http://127.0.0.1:9/a1".into(),
                user: "user".into(),
                password: "password".into(),
                from: "Narvaro".into(),
            });
            c.notify_by = "sms".into();
        })
        .await;
        let pool = pool(&app);
        let email_choice = {
            let mut c = conn(&pool);
            let c = &mut *c;
            let muni = Municipality::new("Smskommun").insert(c);
            let school = School::new("Smsskolan", muni).insert(c);
            let a = Group::class("6A", school, 6).insert(c);
            Person::new("sms.mentor", "Personal")
                .account("sms.mentor", PASSWORD)
                .duty(school, "mentor", Some(a))
                .insert(c);
            let texted = Person::new("Tove", "Vårdnadshavare").insert(c);
            let no_number = Person::new("Nils", "Vårdnadshavare").insert(c);
            let email_choice = Person::new("Ebba", "Vårdnadshavare").insert(c);
            diesel::update(people::table.filter(people::id.eq_any([texted, email_choice])))
                .set(people::phone.eq(Some("+46701112233")))
                .execute(c)
                .unwrap();
            diesel::insert_into(person_channels::table)
                .values((
                    person_channels::person_id.eq(email_choice),
                    person_channels::kind.eq("unexplained_absence"),
                    person_channels::channels.eq("email"),
                ))
                .execute(c)
                .unwrap();
            for (given, g) in [("Ada", texted), ("Bo", no_number), ("Cy", email_choice)] {
                Person::new(given, "Elev")
                    .pupil_at(school)
                    .in_group(a)
                    .with_guardian(g)
                    .insert(c);
            }
            email_choice
        };
        let mut mentor = Browser::open(&app).await;
        mentor.sign_in("sms.mentor", PASSWORD).await;
        let body = mentor.get("/guardians/unreached").await.body;
        assert!(
            !body.contains("Tove Vårdnadshavare"),
            "{kind:?}: reached by text"
        );
        assert!(body.contains("Nils Vårdnadshavare"), "{kind:?}: no number");
        assert!(
            body.contains("Ebba Vårdnadshavare"),
            "{kind:?}: chose e-mail"
        );
        // Ebba chooses text messages: reached
        diesel::update(person_channels::table.filter(person_channels::person_id.eq(email_choice)))
            .set(person_channels::channels.eq("both"))
            .execute(&mut *conn(&pool))
            .unwrap();
        let body = mentor.get("/guardians/unreached").await.body;
        assert!(!body.contains("Ebba Vårdnadshavare"), "{kind:?}");
    }
}
