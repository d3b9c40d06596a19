//! The principal's absence investigation (Skollagen 7 kap. 19 a §) and its report to the
//! huvudman, on both databases: a case opened from a signal goes through decision →
//! participants → steps → health notes → conclusion → closed, with the audit trail; wrong
//! input names its field and stores nothing; the mentor reads it without the health
//! notes, another mentor and the huvudman's officer get 404; the officer's inbox holds the
//! report of every school and no note of a case, and does not name a pupil with protected
//! identity; an investigation past its deadline shows on the principal's start page. On
//! PostgreSQL, principals opening a case from one signal at the same moment get one case.

use chrono::Duration;
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;

use crate::browser::{api_get, api_token, audited, conn, pool, Browser};
use crate::build::{Group, Municipality, Person, School};
use crate::helpers::{backends, test_moment, test_today, Kind, TestApp};
use crate::signals::day;

const PASSWORD: &str = "case-test-1";
const HEALTH_NOTE: &str = "Magont sedan oktober, remiss till skolläkaren";
const STEP_NOTE: &str = "Samtal med eleven och mamman om morgnarna";

struct World {
    olle: i64,
    pia: i64,
    tore: i64,
    guardian: i64,
    other_mentor: i64,
}

/// A municipality with its officer, a school with principal, elevhälsa member and two
/// mentors, and three pupils of 7A: Olle (with a guardian) and Pia (protected identity)
/// with 30 % invalid absence over ten days, Tore without.
fn build(c: &mut DbConn) -> World {
    let today = test_today();
    let muni = Municipality::new("Utredningskommun").insert(c);
    let school = School::new("Utredningsskolan", muni).insert(c);
    let class_a = Group::class("7A", school, 7).insert(c);
    let class_b = Group::class("7B", school, 7).insert(c);
    let staff = |user: &str, org: i64, role: &'static str, group: Option<i64>| {
        Person::new(user, "Personalsson")
            .account(user, PASSWORD)
            .duty(org, role, group)
    };
    staff("case.admin", muni, "admin", None).insert(c);
    staff("case.officer", muni, "case_officer", None).insert(c);
    staff("case.principal", school, "principal", None).insert(c);
    staff("case.health", school, "health", None).insert(c);
    staff("case.mentor", school, "mentor", Some(class_a)).insert(c);
    let other_mentor = staff("case.other", school, "mentor", Some(class_b)).insert(c);
    let guardian = Person::new("Gun", "Elevsson").insert(c);
    let olle = Person::new("Olle", "Elevsson")
        .pupil_at(school)
        .in_group(class_a)
        .with_guardian(guardian)
        .insert(c);
    let pia = Person::new("Pia", "Skyddad")
        .pupil_at(school)
        .in_group(class_a)
        .protected()
        .insert(c);
    let tore = Person::new("Tore", "Elevsson")
        .pupil_at(school)
        .in_group(class_a)
        .insert(c);
    for n in 0..10 {
        let d = today - Duration::days(9 - n);
        day(c, (school, class_a, olle), d, (100, 0, 30));
        day(c, (school, class_a, pia), d, (100, 0, 30));
        day(c, (school, class_a, tore), d, (100, 0, 0));
    }
    diesel::insert_into(signal_rules::table)
        .values((
            signal_rules::organisation_id.eq(muni),
            signal_rules::kind.eq("share"),
            signal_rules::counts.eq("invalid"),
            signal_rules::window_days.eq(28),
            signal_rules::share_pct.eq(Some(10)),
            signal_rules::tell_mentor.eq(true),
            signal_rules::tell_principal.eq(true),
            signal_rules::tell_health.eq(true),
            signal_rules::active.eq(true),
            signal_rules::created_by.eq(other_mentor),
            signal_rules::created_at.eq(test_moment().naive_utc()),
        ))
        .execute(c)
        .unwrap();
    let raised = narvaro::follow_up::signals::evaluate(
        c,
        today,
        chrono_tz::Europe::Stockholm,
        test_moment().naive_utc(),
    )
    .unwrap();
    assert_eq!(raised.raised, 2);
    World {
        olle,
        pia,
        tore,
        guardian,
        other_mentor,
    }
}

fn signal_of(c: &mut DbConn, pupil: i64) -> (i64, String) {
    signals::table
        .filter(signals::pupil_id.eq(pupil))
        .select((signals::id, signals::status))
        .order(signals::id.desc())
        .first(c)
        .unwrap()
}

fn case_of(c: &mut DbConn, pupil: i64) -> Vec<(i64, String, Option<String>)> {
    absence_cases::table
        .filter(absence_cases::pupil_id.eq(pupil))
        .select((
            absence_cases::id,
            absence_cases::status,
            absence_cases::decision,
        ))
        .load(c)
        .unwrap()
}

async fn signed_in(app: &TestApp, user: &str) -> Browser {
    let mut b = Browser::open(app).await;
    b.sign_in(user, PASSWORD).await;
    b
}

#[actix_web::test]
async fn a_case_goes_from_signal_to_closed_with_its_report_and_audit_trail() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let w = build(&mut conn(&pool));
        let today = test_today();
        let mut principal = signed_in(&app, "case.principal").await;
        let mut mentor = signed_in(&app, "case.mentor").await;
        let mut health = signed_in(&app, "case.health").await;
        let mut other = signed_in(&app, "case.other").await;
        let mut officer = signed_in(&app, "case.officer").await;

        // the principal turns Olle's signal into a case; again, the same case
        let list = principal.get("/signals").await;
        assert!(list.body.contains("Öppna utredning"), "{kind:?}");
        assert!(
            !mentor
                .get("/signals")
                .await
                .body
                .contains("Öppna utredning"),
            "{kind:?}: a mentor does not open cases"
        );
        // the rule tells elevhälsan too
        assert!(
            health.get("/signals").await.body.contains("Olle Elevsson"),
            "{kind:?}"
        );
        assert!(
            !other.get("/signals").await.body.contains("Olle"),
            "{kind:?}"
        );
        let (signal, _) = signal_of(&mut conn(&pool), w.olle);
        let opened = principal
            .post(&format!("/signals/{signal}/case"), &[])
            .await;
        assert_eq!(opened.status.as_u16(), 303, "{kind:?}");
        let cases = case_of(&mut conn(&pool), w.olle);
        assert_eq!(cases.len(), 1, "{kind:?}");
        let case = cases[0].0;
        assert_eq!(opened.location.as_deref(), Some(&*format!("/cases/{case}")));
        let again = principal
            .post(&format!("/signals/{signal}/case"), &[])
            .await;
        assert_eq!(again.location, opened.location, "{kind:?}");
        assert_eq!(case_of(&mut conn(&pool), w.olle).len(), 1, "{kind:?}");
        assert_eq!(signal_of(&mut conn(&pool), w.olle).1, "case", "{kind:?}");
        // a mentor cannot open one, nor dismiss a signal that became a case
        let by_mentor = mentor.post(&format!("/signals/{signal}/case"), &[]).await;
        assert_eq!(by_mentor.status.as_u16(), 404, "{kind:?}");
        let page = format!("/cases/{case}");
        assert_eq!(other.get(&page).await.status.as_u16(), 404, "{kind:?}");
        assert_eq!(officer.get(&page).await.status.as_u16(), 404, "{kind:?}");
        assert_eq!(mentor.get(&page).await.status.as_u16(), 200, "{kind:?}");

        // a deadline before the decision names its field; nothing is stored
        let decision = |deadline: String| {
            vec![
                ("decision", "investigate".to_string()),
                ("decided_on", today.to_string()),
                ("deadline", deadline),
                ("reason", String::new()),
            ]
        };
        let f = decision((today - Duration::days(1)).to_string());
        let bad = principal
            .post(
                &format!("/cases/{case}/decision"),
                &f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(bad.status.as_u16(), 400, "{kind:?}");
        assert!(
            bad.body.contains("kan inte vara före beslutsdatum"),
            "{kind:?}"
        );
        assert_eq!(case_of(&mut conn(&pool), w.olle)[0].2, None, "{kind:?}");
        // only the principal decides
        let f = decision((today + Duration::days(21)).to_string());
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let by_health = health.post(&format!("/cases/{case}/decision"), &f).await;
        assert_eq!(by_health.status.as_u16(), 400, "{kind:?}");
        assert!(by_health.body.contains("Bara rektor"), "{kind:?}");
        let decided = principal.post(&format!("/cases/{case}/decision"), &f).await;
        assert_eq!(decided.status.as_u16(), 303, "{kind:?}");
        assert_eq!(
            case_of(&mut conn(&pool), w.olle)[0].2.as_deref(),
            Some("investigate")
        );
        // deciding makes the report to the huvudman, once
        let twice = principal.post(&format!("/cases/{case}/decision"), &f).await;
        assert_eq!(twice.status.as_u16(), 400, "{kind:?}");
        let reports: i64 = huvudman_reports::table
            .count()
            .get_result(&mut *conn(&pool))
            .unwrap();
        assert_eq!(reports, 1, "{kind:?}");

        // participants: someone not connected to the pupil is refused; the guardian is not
        let stranger = w.other_mentor.to_string();
        let refused = health
            .post(
                &format!("/cases/{case}/participants"),
                &[("person_id", &stranger)],
            )
            .await;
        assert_eq!(refused.status.as_u16(), 400, "{kind:?}");
        assert!(
            refused.body.contains("Välj en person som hör till eleven"),
            "{kind:?}"
        );
        let guardian = w.guardian.to_string();
        let added = health
            .post(
                &format!("/cases/{case}/participants"),
                &[("person_id", &guardian)],
            )
            .await;
        assert_eq!(added.status.as_u16(), 303, "{kind:?}");

        // steps: the mentor writes one; a date in the future is refused
        let tomorrow = (today + Duration::days(1)).to_string();
        let future = mentor
            .post(
                &format!("/cases/{case}/steps"),
                &[
                    ("taken_on", &tomorrow),
                    ("kind", "talk"),
                    ("note", STEP_NOTE),
                ],
            )
            .await;
        assert_eq!(future.status.as_u16(), 400, "{kind:?}");
        let on = today.to_string();
        let step = mentor
            .post(
                &format!("/cases/{case}/steps"),
                &[("taken_on", &on), ("kind", "talk"), ("note", STEP_NOTE)],
            )
            .await;
        assert_eq!(step.status.as_u16(), 303, "{kind:?}");

        // health notes: elevhälsan writes, the mentor may neither write nor read them
        let by_mentor = mentor
            .post(&format!("/cases/{case}/health-notes"), &[("note", "x")])
            .await;
        assert_eq!(by_mentor.status.as_u16(), 400, "{kind:?}");
        let noted = health
            .post(
                &format!("/cases/{case}/health-notes"),
                &[("note", HEALTH_NOTE)],
            )
            .await;
        assert_eq!(noted.status.as_u16(), 303, "{kind:?}");
        let as_mentor = mentor.get(&page).await;
        assert!(as_mentor.body.contains(STEP_NOTE), "{kind:?}");
        assert!(!as_mentor.body.contains(HEALTH_NOTE), "{kind:?}");
        assert!(!as_mentor.body.contains("Hälsa (läses bara"), "{kind:?}");
        let as_principal = principal.get(&page).await;
        assert!(as_principal.body.contains(HEALTH_NOTE), "{kind:?}");
        assert!(as_principal.body.contains("Gun Elevsson"), "{kind:?}");

        // the officer's inbox: every school's reports, no note of a case, and the
        // protected pupil unnamed (Pia's case is opened by hand and decided)
        let pia_case = principal
            .post(&format!("/pupils/{}/case", w.pia), &[])
            .await;
        assert_eq!(pia_case.status.as_u16(), 303, "{kind:?}");
        let pia_page = pia_case.location.unwrap();
        assert_eq!(
            principal
                .post(&format!("{pia_page}/decision"), &f)
                .await
                .status
                .as_u16(),
            303
        );
        let inbox = officer.get("/huvudman/reports").await;
        assert_eq!(inbox.status.as_u16(), 200, "{kind:?}");
        assert!(inbox.body.contains("Olle Elevsson"), "{kind:?}");
        assert!(inbox.body.contains("7A"), "{kind:?}");
        assert!(!inbox.body.contains(HEALTH_NOTE), "{kind:?}");
        assert!(!inbox.body.contains(STEP_NOTE), "{kind:?}");
        assert!(!inbox.body.contains("Pia"), "{kind:?}");
        assert!(
            inbox.body.contains("Elev med skyddade personuppgifter"),
            "{kind:?}"
        );
        assert_eq!(
            principal.get("/huvudman/reports").await.status.as_u16(),
            404
        );
        // asking for more needs a note; the principal reads it on the case
        let report: i64 = huvudman_reports::table
            .filter(huvudman_reports::pupil_id.eq(w.olle))
            .select(huvudman_reports::id)
            .first(&mut *conn(&pool))
            .unwrap();
        let blank = officer
            .post(
                &format!("/huvudman/reports/{report}"),
                &[("status", "more_info"), ("note", " ")],
            )
            .await;
        assert_eq!(blank.status.as_u16(), 400, "{kind:?}");
        assert!(blank.body.contains("Skriv vad som behöver"), "{kind:?}");
        let asked = officer
            .post(
                &format!("/huvudman/reports/{report}"),
                &[
                    ("status", "more_info"),
                    ("note", "Vilka åtgärder planeras?"),
                ],
            )
            .await;
        assert_eq!(asked.status.as_u16(), 303, "{kind:?}");
        assert!(
            principal
                .get(&page)
                .await
                .body
                .contains("Vilka åtgärder planeras?"),
            "{kind:?}"
        );

        // the API: the case's codes and dates, never its texts; 404 out of reach
        let token = api_token(&app, "case.principal", PASSWORD).await;
        let (status, body) = api_get(&app, Some(&token), &format!("/api/v1/cases/{case}")).await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(body["decision"], "investigate");
        assert_eq!(body["steps"][0]["kind"], "talk");
        assert_eq!(body["report_to_huvudman"]["status"], "more_info");
        let text = body.to_string();
        assert!(
            !text.contains(HEALTH_NOTE) && !text.contains(STEP_NOTE),
            "{kind:?}"
        );
        let (status, body) = api_get(&app, Some(&token), "/api/v1/cases").await;
        assert_eq!(status, 200);
        assert_eq!(
            body["cases"].as_array().unwrap().len(),
            2,
            "{kind:?}: {body}"
        );
        let theirs = api_token(&app, "case.other", PASSWORD).await;
        let (status, _) = api_get(&app, Some(&theirs), &format!("/api/v1/cases/{case}")).await;
        assert_eq!(status, 404, "{kind:?}");

        // closing needs the conclusion first, then an outcome
        let early = principal
            .post(&format!("/cases/{case}/close"), &[("outcome", "improved")])
            .await;
        assert_eq!(early.status.as_u16(), 400, "{kind:?}");
        assert!(early.body.contains("Skriv slutsatsen"), "{kind:?}");
        let follow_up = (today + Duration::days(42)).to_string();
        let concluded = principal
            .post(
                &format!("/cases/{case}/conclusion"),
                &[
                    ("conclusion", "Frånvaron hänger ihop med morgnarna."),
                    ("actions", "Anpassad skolstart, veckovis kontakt hem."),
                    ("follow_up_on", &follow_up),
                    ("special_support", "1"),
                ],
            )
            .await;
        assert_eq!(concluded.status.as_u16(), 303, "{kind:?}");
        let no_outcome = principal
            .post(&format!("/cases/{case}/close"), &[("outcome", "")])
            .await;
        assert_eq!(no_outcome.status.as_u16(), 400, "{kind:?}");
        assert!(no_outcome.body.contains("Välj ett utfall"), "{kind:?}");
        let closed = principal
            .post(&format!("/cases/{case}/close"), &[("outcome", "improved")])
            .await;
        assert_eq!(closed.status.as_u16(), 303, "{kind:?}");
        assert_eq!(case_of(&mut conn(&pool), w.olle)[0].1, "closed");
        // its signal is closed: the rule may raise it again
        assert_eq!(signal_of(&mut conn(&pool), w.olle).1, "closed", "{kind:?}");
        let again = narvaro::follow_up::signals::evaluate(
            &mut conn(&pool),
            today,
            chrono_tz::Europe::Stockholm,
            test_moment().naive_utc(),
        )
        .unwrap();
        assert_eq!(again.raised, 1, "{kind:?}: Olle's signal again");
        // a closed case is not changed
        let late = mentor
            .post(
                &format!("/cases/{case}/steps"),
                &[("taken_on", &on), ("kind", "talk"), ("note", "sent")],
            )
            .await;
        assert_eq!(late.status.as_u16(), 400, "{kind:?}");
        // the huvudman's figures per school: three signals (Olle's again), two decisions,
        // the one from a signal taken the same day, Pia's case open, two reports
        let csv = officer.get("/huvudman/figures.csv").await;
        assert_eq!(csv.status.as_u16(), 200, "{kind:?}");
        assert!(
            csv.body.contains("Utredningsskolan;3;2;0,0;1;0;2"),
            "{kind:?}: {}",
            csv.body
        );
        let page = officer.get("/huvudman/figures").await;
        assert!(page.body.contains("Utredningsskolan"), "{kind:?}");
        assert_eq!(
            principal.get("/huvudman/figures").await.status.as_u16(),
            404
        );
        let bad = officer.get("/huvudman/figures?from=2026-13-01").await;
        assert_eq!(bad.status.as_u16(), 400, "{kind:?}");
        for (action, n) in [
            ("case.opened", 2),
            ("signal.case", 1),
            ("case.decided", 2),
            ("report.made", 2),
            ("case.participant", 1),
            ("case.step", 1),
            ("case.health_note", 1),
            ("case.concluded", 1),
            ("case.closed", 1),
            ("report.status", 1),
        ] {
            assert_eq!(audited(&pool, action), n, "{kind:?}: {action}");
        }
        // the health note is in no audit row
        let details: Vec<String> = audit_log::table
            .select(audit_log::detail)
            .load(&mut *conn(&pool))
            .unwrap();
        assert!(
            details
                .iter()
                .all(|d| !d.contains("Magont") && !d.contains("morgnarna")),
            "{kind:?}"
        );
    }
}

#[actix_web::test]
async fn an_overdue_investigation_shows_on_the_principal_s_start_page() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let w = build(&mut conn(&pool));
        let today = test_today();
        // the huvudman's time for an investigation: 30 days, suggested in the decision
        let mut admin = signed_in(&app, "case.admin").await;
        let zero = admin
            .post("/admin/signals/deadline", &[("days", "0")])
            .await;
        assert_eq!(zero.status.as_u16(), 400, "{kind:?}");
        assert!(
            zero.body
                .contains("Tiden för en utredning ska vara ett heltal"),
            "{kind:?}"
        );
        let set = admin
            .post("/admin/signals/deadline", &[("days", "30")])
            .await;
        assert_eq!(set.status.as_u16(), 303, "{kind:?}");
        let mut principal = signed_in(&app, "case.principal").await;
        let opened = principal
            .post(&format!("/pupils/{}/case", w.tore), &[])
            .await;
        assert_eq!(opened.status.as_u16(), 303, "{kind:?}");
        let page = opened.location.unwrap();
        let suggested = format!("value=\"{}\"", today + Duration::days(30));
        assert!(
            principal.get(&page).await.body.contains(&suggested),
            "{kind:?}: {suggested}"
        );
        let on = today.to_string();
        let decided = principal
            .post(
                &format!("{page}/decision"),
                &[
                    ("decision", "investigate"),
                    ("decided_on", &on),
                    ("deadline", &on),
                ],
            )
            .await;
        assert_eq!(decided.status.as_u16(), 303, "{kind:?}");
        let start = principal.get("/").await;
        assert!(!start.body.contains("Försenade utredningar"), "{kind:?}");
        // three weeks on: the deadline has passed without a conclusion (the stored
        // decision moved back, as time is an input)
        diesel::update(absence_cases::table.filter(absence_cases::pupil_id.eq(w.tore)))
            .set((
                absence_cases::decided_on.eq(Some(today - Duration::days(21))),
                absence_cases::deadline.eq(Some(today - Duration::days(1))),
            ))
            .execute(&mut *conn(&pool))
            .unwrap();
        let start = principal.get("/").await;
        assert!(start.body.contains("Försenade utredningar: 1"), "{kind:?}");
        let list = principal.get("/cases").await;
        assert!(
            list.body.contains("Tore Elevsson") && list.body.contains("Försenad"),
            "{kind:?}"
        );
        // "no investigation needed" needs its reason, and ends the case
        let mut health = signed_in(&app, "case.health").await;
        assert!(health.get("/").await.body.contains("/cases"), "{kind:?}");
        let olle = principal
            .post(&format!("/pupils/{}/case", w.olle), &[])
            .await;
        let olle = olle.location.unwrap();
        let no_reason = principal
            .post(
                &format!("{olle}/decision"),
                &[
                    ("decision", "not_needed"),
                    ("decided_on", &on),
                    ("reason", ""),
                ],
            )
            .await;
        assert_eq!(no_reason.status.as_u16(), 400, "{kind:?}");
        assert!(no_reason.body.contains("Skriv skälet"), "{kind:?}");
        let not_needed = principal
            .post(
                &format!("{olle}/decision"),
                &[
                    ("decision", "not_needed"),
                    ("decided_on", &on),
                    (
                        "reason",
                        "Planerad operation, frånvaron är giltig och avgränsad.",
                    ),
                ],
            )
            .await;
        assert_eq!(not_needed.status.as_u16(), 303, "{kind:?}");
        assert_eq!(case_of(&mut conn(&pool), w.olle)[0].1, "closed", "{kind:?}");
        let reports: i64 = huvudman_reports::table
            .filter(huvudman_reports::pupil_id.eq(w.olle))
            .count()
            .get_result(&mut *conn(&pool))
            .unwrap();
        assert_eq!(reports, 0, "{kind:?}: nothing to report");
    }
}

/// Principals opening a case from the same signal at the same moment get one case.
#[actix_web::test]
async fn opening_a_case_from_one_signal_at_the_same_moment_opens_one_on_postgresql() {
    if !backends().contains(&Kind::Postgres) {
        return;
    }
    let app = TestApp::spawn(Kind::Postgres).await;
    let pool = pool(&app);
    let w = build(&mut conn(&pool));
    let (signal, _) = signal_of(&mut conn(&pool), w.olle);
    let principal = signed_in(&app, "case.principal").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let req = app
                .client
                .post(app.url(&format!("/signals/{signal}/case")))
                .insert_header(("Cookie", principal.cookie_header()));
            let fields = vec![("_csrf", principal.csrf.clone())];
            async move {
                let res = req.send_form(&fields).await.unwrap();
                let at = res
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .map(String::from);
                (res.status().as_u16(), at)
            }
        })
        .collect();
    let answers = crate::roll_call::futures_join_all(tasks).await;
    assert!(answers.iter().all(|a| a.0 == 303), "{answers:?}");
    assert!(answers.iter().all(|a| a.1 == answers[0].1), "{answers:?}");
    assert_eq!(case_of(&mut conn(&pool), w.olle).len(), 1);
    assert_eq!(audited(&pool, "case.opened"), 1);
    assert_eq!(audited(&pool, "signal.case"), 1);
}

/// The report to the home municipality (7 kap. 21–22 §§): produced for a pupil registered in
/// another municipality than the huvudman's, as a page for printing and as JSON, with when
/// and how it was sent; for a pupil with protected identity nothing leaves electronically
/// (the JSON is refused and only "by hand" may be recorded); none for a pupil registered
/// in the huvudman's own municipality.
#[actix_web::test]
async fn a_home_municipality_report_is_made_for_a_pupil_registered_elsewhere() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let w = build(&mut conn(&pool));
        let today = test_today().to_string();
        {
            let mut c = conn(&pool);
            let muni: i64 = organisations::table
                .filter(organisations::name.eq("Utredningskommun"))
                .select(organisations::id)
                .first(&mut *c)
                .unwrap();
            diesel::update(organisations::table.find(muni))
                .set(organisations::municipality_code.eq(Some("0180")))
                .execute(&mut *c)
                .unwrap();
            for (pupil, code) in [(w.olle, "0184"), (w.pia, "0184"), (w.tore, "0180")] {
                diesel::update(people::table.find(pupil))
                    .set(people::municipality_code.eq(Some(code)))
                    .execute(&mut *c)
                    .unwrap();
            }
            // Olle's civic number, as a sync stores a pupil's: hashed and sealed
            let key = narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes());
            diesel::update(people::table.find(w.olle))
                .set((
                    people::civic_no.eq(key.hash("201201012385")),
                    people::civic_sealed.eq(key.seal("201201012385")),
                ))
                .execute(&mut *c)
                .unwrap();
        }
        let mut principal = signed_in(&app, "case.principal").await;
        let token = api_token(&app, "case.principal", PASSWORD).await;
        let decide = [
            ("decision", "investigate"),
            ("decided_on", today.as_str()),
            ("deadline", today.as_str()),
        ];
        let mut cases = Vec::new();
        for pupil in [w.olle, w.pia, w.tore] {
            let page = principal
                .post(&format!("/pupils/{pupil}/case"), &[])
                .await
                .location
                .unwrap();
            let decided = principal.post(&format!("{page}/decision"), &decide).await;
            assert_eq!(decided.status.as_u16(), 303, "{kind:?}");
            cases.push(page);
        }
        let (olle, pia, tore) = (cases[0].clone(), cases[1].clone(), cases[2].clone());
        // Olle: the page for printing and the JSON name the home municipality
        let case_page = principal.get(&olle).await;
        assert!(
            case_page.body.contains("Anmälan till hemkommunen"),
            "{kind:?}"
        );
        let print = principal.get(&format!("{olle}/home-report")).await;
        assert_eq!(print.status.as_u16(), 200, "{kind:?}");
        // the home municipality needs the civic number to know the pupil: opened from
        // its seal, never the stored hash
        for said in [
            "Olle Elevsson",
            "0184",
            "Utredningsskolan",
            "7A",
            "201201012385",
        ] {
            assert!(print.body.contains(said), "{kind:?}: {said}");
        }
        assert!(!print.body.contains("h1:"), "{kind:?}");
        assert!(
            !case_page.body.contains("201201012385"),
            "{kind:?}: not on the case's page"
        );
        let (status, body) =
            api_get(&app, Some(&token), &format!("/api/v1{olle}/home-report")).await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(body["pupil"]["civic_no"], "201201012385");
        assert_eq!(body["home_municipality_code"], "0184");
        assert_eq!(body["huvudman_municipality_code"], "0180");
        let sent = principal
            .post(
                &format!("{olle}/home-report/sent"),
                &[("sent_on", today.as_str()), ("method", "e_service")],
            )
            .await;
        assert_eq!(sent.status.as_u16(), 303, "{kind:?}");
        assert!(
            principal.get(&olle).await.body.contains("Skickad"),
            "{kind:?}"
        );
        // Pia: by hand only, and nothing in JSON
        let (status, body) =
            api_get(&app, Some(&token), &format!("/api/v1{pia}/home-report")).await;
        assert_eq!(status, 409, "{kind:?}: {body}");
        assert!(!body.to_string().contains("Pia"), "{kind:?}");
        assert!(
            principal.get(&pia).await.body.contains("för hand"),
            "{kind:?}"
        );
        let electronic = principal
            .post(
                &format!("{pia}/home-report/sent"),
                &[("sent_on", today.as_str()), ("method", "e_service")],
            )
            .await;
        assert_eq!(electronic.status.as_u16(), 400, "{kind:?}");
        let by_hand = principal
            .post(
                &format!("{pia}/home-report/sent"),
                &[("sent_on", today.as_str()), ("method", "hand")],
            )
            .await;
        assert_eq!(by_hand.status.as_u16(), 303, "{kind:?}");
        // Tore lives in the huvudman's municipality: no report
        assert_eq!(
            principal
                .get(&format!("{tore}/home-report"))
                .await
                .status
                .as_u16(),
            404,
            "{kind:?}"
        );
        assert_eq!(audited(&pool, "home_report.sent"), 2, "{kind:?}");
    }
}

/// The huvudman's follow-up round lists every open report for the principal to update;
/// the update is kept on the report and shown in the officer's inbox, and a wrong date or
/// an empty update stores nothing.
#[actix_web::test]
async fn a_follow_up_round_asks_the_principal_to_update_open_reports() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let w = build(&mut conn(&pool));
        let today = test_today();
        let mut principal = signed_in(&app, "case.principal").await;
        let opened = principal
            .post(&format!("/pupils/{}/case", w.tore), &[])
            .await;
        let page = opened.location.unwrap();
        let on = today.to_string();
        let deadline = (today + Duration::days(21)).to_string();
        let decided = principal
            .post(
                &format!("{page}/decision"),
                &[
                    ("decision", "investigate"),
                    ("decided_on", &on),
                    ("deadline", &deadline),
                ],
            )
            .await;
        assert_eq!(decided.status.as_u16(), 303, "{kind:?}");
        // the officer sets a round: not in the past
        let mut officer = signed_in(&app, "case.officer").await;
        let past = (today - Duration::days(1)).to_string();
        let refused = officer.post("/huvudman/rounds", &[("due_on", &past)]).await;
        assert_eq!(refused.status.as_u16(), 400, "{kind:?}");
        assert!(
            refused.body.contains("i dag eller senare"),
            "{kind:?}: {}",
            refused.body
        );
        let rounds: i64 = followup_rounds::table
            .count()
            .get_result(&mut *conn(&pool))
            .unwrap();
        assert_eq!(rounds, 0, "{kind:?}");
        let added = officer.post("/huvudman/rounds", &[("due_on", &on)]).await;
        assert_eq!(added.status.as_u16(), 303, "{kind:?}");
        // the same date again changes nothing
        officer.post("/huvudman/rounds", &[("due_on", &on)]).await;
        assert_eq!(audited(&pool, "followup_round.added"), 1, "{kind:?}");
        let inbox = officer.get("/huvudman/reports").await.body;
        assert!(
            inbox.contains("0 av 1 anmälningar uppdaterade")
                && inbox.contains("Väntar på rektors uppdatering"),
            "{kind:?}: {inbox}"
        );
        // the principal is asked, on the start page and on the case
        let start = principal.get("/").await.body;
        assert!(
            start.contains("Huvudmannens uppföljning väntar på 1 anmälningar"),
            "{kind:?}"
        );
        assert!(
            principal
                .get(&page)
                .await
                .body
                .contains("skriv hur det går"),
            "{kind:?}"
        );
        let list = principal.get("/cases").await.body;
        assert!(list.contains("Uppdatera huvudmannen"), "{kind:?}");
        // another mentor cannot write it; an empty update is refused
        let mut other = signed_in(&app, "case.other").await;
        let stranger = other
            .post(&format!("{page}/report-update"), &[("body", "Bra")])
            .await;
        assert_eq!(stranger.status.as_u16(), 404, "{kind:?}");
        let empty = principal
            .post(&format!("{page}/report-update"), &[("body", "  ")])
            .await;
        assert_eq!(empty.status.as_u16(), 400, "{kind:?}");
        let update = "Närvaron har ökat sedan mötet med vårdnadshavarna";
        let written = principal
            .post(&format!("{page}/report-update"), &[("body", update)])
            .await;
        assert_eq!(written.status.as_u16(), 303, "{kind:?}");
        let stored: Vec<(String, Option<i64>)> = report_updates::table
            .select((report_updates::body, report_updates::round_id))
            .load(&mut *conn(&pool))
            .unwrap();
        assert_eq!(stored.len(), 1, "{kind:?}");
        assert!(stored[0].1.is_some(), "{kind:?}: written in the round");
        assert_eq!(audited(&pool, "report.updated"), 1, "{kind:?}");
        let inbox = officer.get("/huvudman/reports").await.body;
        assert!(
            inbox.contains("1 av 1 anmälningar uppdaterade")
                && inbox.contains("Uppdaterad i omgången")
                && inbox.contains(update),
            "{kind:?}: {inbox}"
        );
        assert!(
            !principal
                .get("/")
                .await
                .body
                .contains("Huvudmannens uppföljning"),
            "{kind:?}"
        );
        let list = principal.get("/cases").await.body;
        assert!(!list.contains("Uppdatera huvudmannen"), "{kind:?}");
    }
}
