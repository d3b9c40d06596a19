//! Both guardians (issue 39): where the rules say so, one guardian's application waits for
//! the other guardian, who gets a message and confirms or declines after signing in; a
//! decline ends it with the reason shown to the first guardian. A guardian no message
//! reaches is shown to the school, which records an answer given by telephone (audited).
//! A second answer, an answer after a withdrawal and bad input change nothing, and a
//! confirmation and a withdrawal at the same moment end in one state.

use diesel::prelude::*;
use narvaro::schema::*;

use serde_json::json;

use crate::browser::{api_post, api_token, audited, conn, deliver, mails, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, Kind, TestApp};

/// The municipality asks both guardians.
async fn both_guardians_rule(app: &TestApp) {
    let mut admin = Browser::open(app).await;
    admin.sign_in("demo.admin", DEMO_PASSWORD).await;
    let saved = admin
        .post("/admin/leave-rules", &[("both_guardians", "on")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
}

/// demo.guardian applies for the child's leave; the new application's id.
async fn apply(g: &mut Browser, world: &World, from: &str, to: &str) -> i64 {
    let child = world.ids.child;
    let sent = g
        .post(
            &format!("/pupils/{child}/leave-applications"),
            &[
                ("start_date", from),
                ("end_date", to),
                ("reason", "Släktbesök"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    leave_applications::table
        .filter(leave_applications::pupil_id.eq(child))
        .select(leave_applications::id)
        .order(leave_applications::id.desc())
        .first(&mut conn(&world.pool))
        .unwrap()
}

fn status(world: &World, leave: i64) -> String {
    leave_applications::table
        .find(leave)
        .select(leave_applications::status)
        .first(&mut conn(&world.pool))
        .unwrap()
}

/// (answer, comment, answered at, recorded by) of a guardian's row.
type Row = (
    String,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    Option<i64>,
);

fn answer_of(world: &World, leave: i64, guardian: i64) -> Row {
    leave_confirmations::table
        .find((leave, guardian))
        .select((
            leave_confirmations::answer,
            leave_confirmations::comment,
            leave_confirmations::answered_at,
            leave_confirmations::by_phone,
        ))
        .first(&mut conn(&world.pool))
        .unwrap()
}

fn outbox_kinds(world: &World, leave: i64) -> Vec<(String, i64, String)> {
    outbox::table
        .filter(outbox::payload.like(format!("%\"leave_id\":{leave}%")))
        .select((
            outbox::kind,
            outbox::recipient_id.assume_not_null(),
            outbox::status,
        ))
        .order(outbox::id)
        .load(&mut conn(&world.pool))
        .unwrap()
}

#[actix_web::test]
async fn the_other_guardian_confirms_or_declines_and_the_first_may_withdraw() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        let first: i64 = people::table
            .filter(people::username.eq("demo.guardian"))
            .select(people::id)
            .first(&mut conn(&world.pool))
            .unwrap();
        let second = fixtures::second_guardian(
            &world,
            "second.guardian",
            Some("kim.andersson@example.com"),
            None,
        );
        both_guardians_rule(&app).await;
        let mut g1 = Browser::open(&app).await;
        g1.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let form = g1.get(&format!("/pupils/{child}/leave")).await;
        assert!(
            form.body
                .contains("Båda vårdnadshavarna ska godkänna ansökan"),
            "{kind:?}: the form says so before sending: {}",
            form.body
        );

        // the application waits for the second guardian, who is sent a message
        let leave = apply(&mut g1, &world, "2026-12-14", "2026-12-15").await;
        assert_eq!(status(&world, leave), "awaiting_guardian", "{kind:?}");
        assert_eq!(answer_of(&world, leave, second).0, "waiting");
        assert_eq!(
            outbox_kinds(&world, leave),
            vec![("leave_confirmation".into(), second, "pending".into())]
        );
        let page = g1.get(&format!("/pupils/{child}")).await;
        assert!(page.body.contains("väntar på den andra vårdnadshavaren"));
        // the school cannot decide it yet, and sees whom it waits for
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let list = principal.get("/leave").await;
        assert!(list.body.contains("Väntar på den andra vårdnadshavaren"));
        let early = principal
            .post(
                &format!("/leave-applications/{leave}/decision"),
                &[("answer", "yes")],
            )
            .await;
        assert_eq!(early.status, 409, "{kind:?}: {}", early.body);
        assert!(early
            .body
            .contains("väntar fortfarande på den andra vårdnadshavarens svar"));
        assert_eq!(status(&world, leave), "awaiting_guardian");
        let school_view = principal.get(&format!("/pupils/{child}")).await;
        assert!(school_view.body.contains("Kim Andersson"));
        assert!(school_view.body.contains("har inte svarat"));

        // the message links to the answer
        deliver(&app).await;
        let link = format!("/leave-applications/{leave}/answer");
        let mail = mails(&app)
            .into_iter()
            .find(|m| m.contains("kim.andersson@example.com"))
            .expect("the second guardian's message");
        assert!(mail.contains(&link), "{mail}");
        assert!(mail.contains("har ansökt om ledighet"), "{mail}");

        // only the guardian it asks may answer
        assert_eq!(g1.get(&link).await.status, 404);
        let mut other = Browser::open(&app).await;
        other.sign_in("other.guardian", DEMO_PASSWORD).await;
        assert_eq!(other.get(&link).await.status, 404);
        let mut g2 = Browser::open(&app).await;
        g2.sign_in("second.guardian", DEMO_PASSWORD).await;
        let home = g2.get("/").await;
        assert!(home.body.contains(&link), "the start page leads to it");
        let to_answer = g2.get(&link).await;
        assert_eq!(to_answer.status, 200);
        assert!(to_answer.body.contains("Jag godkänner ansökan"));

        // bad input changes nothing
        let bad = g2.post(&link, &[("answer", "kanske")]).await;
        assert_eq!(bad.status, 400);
        let long = "x".repeat(501);
        let too_long = g2
            .post(&link, &[("answer", "no"), ("comment", &long)])
            .await;
        assert_eq!(too_long.status, 400);
        assert_eq!(answer_of(&world, leave, second).0, "waiting");

        // one tap confirms, and the application goes to the school
        let yes = g2.post(&link, &[("answer", "yes")]).await;
        assert_eq!(yes.status, 303, "{kind:?}: {}", yes.body);
        assert_eq!(status(&world, leave), "pending");
        let answered = answer_of(&world, leave, second);
        assert_eq!(answered.0, "confirmed");
        // confirming twice: a clear message, nothing changed
        let again = g2.post(&link, &[("answer", "yes")]).await;
        assert_eq!(again.status, 409);
        assert!(again.body.contains("väntar inte längre"), "{}", again.body);
        assert_eq!(answer_of(&world, leave, second), answered);
        let done = g2.get(&link).await;
        assert!(done.body.contains("Du har godkänt ansökan"));

        // a decline ends the next application, with the reason shown to the first guardian
        let declined = apply(&mut g1, &world, "2027-01-11", "2027-01-12").await;
        let no = g2
            .post(
                &format!("/leave-applications/{declined}/answer"),
                &[("answer", "no"), ("comment", "Vi har inte kommit överens")],
            )
            .await;
        assert_eq!(no.status, 303);
        assert_eq!(status(&world, declined), "declined");
        let seen = g1.get(&format!("/pupils/{child}")).await;
        assert!(seen
            .body
            .contains("inte godkänd av den andra vårdnadshavaren"));
        assert!(seen.body.contains("Vi har inte kommit överens"));
        assert!(outbox_kinds(&world, declined).contains(&(
            "leave_decision".into(),
            first,
            "pending".into()
        )));
        deliver(&app).await;
        let told = mails(&app)
            .into_iter()
            .find(|m| m.contains("godkände inte ansökan"))
            .expect("the first guardian is told");
        assert!(told.contains("demo.guardian@example.com"));
        assert!(
            !told.contains("Vi har inte kommit"),
            "the reason stays on the page"
        );

        // withdrawn: the second guardian's answer is refused and nothing changes
        let withdrawn = apply(&mut g1, &world, "2027-02-01", "2027-02-01").await;
        let back = g1
            .post(&format!("/leave-applications/{withdrawn}/withdraw"), &[])
            .await;
        assert_eq!(back.status, 303);
        assert_eq!(status(&world, withdrawn), "withdrawn");
        let late = g2
            .post(
                &format!("/leave-applications/{withdrawn}/answer"),
                &[("answer", "yes")],
            )
            .await;
        assert_eq!(late.status, 409);
        assert_eq!(answer_of(&world, withdrawn, second).0, "waiting");
        // the second guardian cannot withdraw what the first applied for
        let not_theirs = g2
            .post(&format!("/leave-applications/{leave}/withdraw"), &[])
            .await;
        assert_eq!(not_theirs.status, 403);
        assert_eq!(status(&world, leave), "pending");

        // the same through the API: created waiting, answered, withdrawn
        let t1 = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let t2 = api_token(&app, "second.guardian", DEMO_PASSWORD).await;
        let (code, made) = api_post(
            &app,
            Some(&t1),
            "/api/v1/leave-applications",
            &json!({"pupil_id": child, "start_date": "2027-02-08", "end_date": "2027-02-08", "reason": "Resa"}),
        )
        .await;
        assert_eq!(code, 201, "{made}");
        assert_eq!(made["status"], "awaiting_guardian");
        let api_leave = made["id"].as_i64().unwrap();
        let answer = format!("/api/v1/leave-applications/{api_leave}/answer");
        let (code, bad) = api_post(&app, Some(&t2), &answer, &json!({"agree": "ja"})).await;
        assert_eq!(code, 400, "{bad}");
        let (code, not_asked) = api_post(&app, Some(&t1), &answer, &json!({"agree": true})).await;
        assert_eq!(code, 404, "{not_asked}");
        let (code, agreed) = api_post(&app, Some(&t2), &answer, &json!({"agree": true})).await;
        assert_eq!(
            (code, agreed["status"].as_str()),
            (200, Some("pending")),
            "{agreed}"
        );
        let (code, twice) = api_post(&app, Some(&t2), &answer, &json!({"agree": false})).await;
        assert_eq!(
            (code, twice["code"].as_str()),
            (409, Some("leave_not_awaiting"))
        );
        let withdraw = format!("/api/v1/leave-applications/{api_leave}/withdraw");
        let (code, back) = api_post(&app, Some(&t1), &withdraw, &json!({})).await;
        assert_eq!((code, back["status"].as_str()), (200, Some("withdrawn")));
        assert_eq!(status(&world, api_leave), "withdrawn");

        assert_eq!(audited(&world.pool, "leave.confirmed"), 2, "{kind:?}");
        assert_eq!(audited(&world.pool, "leave.declined"), 1);
        assert_eq!(audited(&world.pool, "leave.withdrawn"), 2);
    }
}

#[actix_web::test]
async fn a_guardian_no_message_reaches_is_shown_and_the_school_records_a_phone_answer() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let child = world.ids.child;
        both_guardians_rule(&app).await;
        let mut g1 = Browser::open(&app).await;
        g1.sign_in("demo.guardian", DEMO_PASSWORD).await;
        // a second guardian with neither e-mail nor a number, and a protected identity
        let second = fixtures::second_guardian(&world, "quiet.guardian", None, None);
        diesel::update(people::table.find(second))
            .set(people::security_marking.eq("protected"))
            .execute(&mut conn(&world.pool))
            .unwrap();
        let leave = apply(&mut g1, &world, "2026-12-14", "2026-12-14").await;
        assert_eq!(status(&world, leave), "awaiting_guardian", "{kind:?}");
        assert_eq!(
            outbox_kinds(&world, leave),
            vec![("leave_confirmation".into(), second, "unreachable".into())]
        );
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let page = principal.get(&format!("/pupils/{child}")).await;
        assert!(page.body.contains("kan inte nås med e-post eller sms"));
        assert!(page.body.contains("skyddade personuppgifter"));
        assert!(
            !page.body.contains("Kim Andersson"),
            "a protected guardian is not named"
        );
        // a teacher of another school cannot record it; nor a bad answer
        let path = format!("/leave-applications/{leave}/by-phone");
        let g = second.to_string();
        let mut outsider = Browser::open(&app).await;
        outsider.sign_in("other.teacher", DEMO_PASSWORD).await;
        let refused = outsider
            .post(&path, &[("guardian_id", &g), ("answer", "yes")])
            .await;
        assert_eq!(refused.status, 404);
        let bad = principal
            .post(&path, &[("guardian_id", "x"), ("answer", "yes")])
            .await;
        assert_eq!(bad.status, 400);
        assert_eq!(answer_of(&world, leave, second).0, "waiting");
        let recorded = principal
            .post(
                &path,
                &[
                    ("guardian_id", &g),
                    ("answer", "yes"),
                    ("comment", "Ringt 12/11"),
                ],
            )
            .await;
        assert_eq!(recorded.status, 303, "{kind:?}: {}", recorded.body);
        assert_eq!(status(&world, leave), "pending");
        let principal_id: i64 = people::table
            .filter(people::username.eq("demo.principal"))
            .select(people::id)
            .first(&mut conn(&world.pool))
            .unwrap();
        let row = answer_of(&world, leave, second);
        assert_eq!((row.0.as_str(), row.3), ("confirmed", Some(principal_id)));
        assert_eq!(audited(&world.pool, "leave.confirmed_by_phone"), 1);
        let after = principal.get(&format!("/pupils/{child}")).await;
        assert!(after.body.contains("per telefon, registrerat av skolan"));

        // without the rule's second guardian (the only guardian), nothing waits
        diesel::delete(guardianships::table.filter(guardianships::guardian_id.eq(second)))
            .execute(&mut conn(&world.pool))
            .unwrap();
        let alone = apply(&mut g1, &world, "2027-01-11", "2027-01-11").await;
        assert_eq!(status(&world, alone), "pending");
    }
}

/// On PostgreSQL: the second guardian's confirmation and the first guardian's withdrawal
/// at the same moment, and two confirmations at once, each end in one consistent state.
#[actix_web::test]
async fn answers_and_withdrawals_at_the_same_moment_end_in_one_state() {
    for kind in backends() {
        if kind != Kind::Postgres {
            continue;
        }
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let second = fixtures::second_guardian(
            &world,
            "second.guardian",
            Some("kim.andersson@example.com"),
            None,
        );
        both_guardians_rule(&app).await;
        let mut g1 = Browser::open(&app).await;
        g1.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let mut g2 = Browser::open(&app).await;
        g2.sign_in("second.guardian", DEMO_PASSWORD).await;
        let mut g2b = Browser::open(&app).await;
        g2b.sign_in("second.guardian", DEMO_PASSWORD).await;
        for (round, day) in ["2026-12-14", "2026-12-16", "2026-12-18", "2027-01-12"]
            .into_iter()
            .enumerate()
        {
            let leave = apply(&mut g1, &world, day, day).await;
            let answer = format!("/leave-applications/{leave}/answer");
            let withdraw = format!("/leave-applications/{leave}/withdraw");
            let (confirmed, withdrawn) = tokio::join!(
                g2.post(&answer, &[("answer", "yes")]),
                g1.post(&withdraw, &[])
            );
            assert_eq!(withdrawn.status, 303, "round {round}: {}", withdrawn.body);
            assert_eq!(status(&world, leave), "withdrawn");
            let row = answer_of(&world, leave, second);
            match confirmed.status.as_u16() {
                303 => assert_eq!(row.0, "confirmed", "round {round}"),
                409 => assert_eq!(row.0, "waiting", "round {round}"),
                other => panic!("round {round}: {other} {}", confirmed.body),
            }
        }
        for day in ["2027-01-14", "2027-01-18"] {
            let leave = apply(&mut g1, &world, day, day).await;
            let answer = format!("/leave-applications/{leave}/answer");
            let (a, b) = tokio::join!(
                g2.post(&answer, &[("answer", "yes")]),
                g2b.post(&answer, &[("answer", "no")])
            );
            let mut codes = [a.status.as_u16(), b.status.as_u16()];
            codes.sort_unstable();
            assert_eq!(codes, [303, 409], "one answer of two is kept");
            let row = answer_of(&world, leave, second);
            let expected = if a.status == 303 {
                ("confirmed", "pending")
            } else {
                ("declined", "declined")
            };
            assert_eq!((row.0.as_str(), status(&world, leave).as_str()), expected);
        }
    }
}

/// The second guardian opens the message's link on a small phone, signs in and agrees to
/// the application in at most three taps after signing in (here: one), every page passing
/// axe at 375 px.
#[actix_web::test]
async fn the_second_guardian_agrees_from_the_message_on_a_phone() {
    use crate::e2e::{browser_available, Driver, SMALL};
    if !browser_available() {
        return;
    }
    let kind = backends().pop().unwrap_or(Kind::Sqlite);
    let app = TestApp::spawn(kind).await;
    let world = fixtures::build(&app);
    fixtures::second_guardian(
        &world,
        "second.guardian",
        Some("kim.andersson@example.com"),
        None,
    );
    both_guardians_rule(&app).await;
    let mut g1 = Browser::open(&app).await;
    g1.sign_in("demo.guardian", DEMO_PASSWORD).await;
    let leave = apply(&mut g1, &world, "2026-12-14", "2026-12-15").await;
    deliver(&app).await;
    let link = crate::browser::last_link(&app, &format!("/leave-applications/{leave}/answer"));

    let d = Driver::start_as(SMALL).await;
    d.go(&link).await;
    d.wait_text("h1", "Logga in").await;
    d.type_into("#username", "second.guardian").await;
    d.type_into("#password", DEMO_PASSWORD).await;
    d.click("form[action='/login'] button[type=submit]").await;
    d.wait_text("h1", "Ansökan om ledighet").await;
    d.taps.set(0);
    d.check_page("the application to answer").await;
    d.click("button[name=answer][value=yes]").await;
    d.wait_text(".notice", "ditt svar är sparat").await;
    assert!(d.taps.get() <= 3, "{} taps after signing in", d.taps.get());
    d.check_page("the answer saved").await;
    assert_eq!(status(&world, leave), "pending");
    d.call("DELETE", "", None).await;
}
