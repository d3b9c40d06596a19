//! Early signals of absence, on both databases: the huvudman's administrator adds rules at
//! /admin/signals; an evaluation raises a signal for each pupil a rule catches and stays
//! silent just under it; a signal is raised once until it is dismissed, a dismissal needs a
//! reason and is audited; a principal and the pupil's mentor see it, another mentor does
//! not. On PostgreSQL, evaluations at the same moment raise each signal once.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;

use crate::browser::{audited, conn, pool, Browser};
use crate::build::{Group, Municipality, Person, School};
use crate::helpers::{backends, test_moment, test_today, Kind, TestApp};

const PASSWORD: &str = "signal-test-1";

struct World {
    /// 12 % invalid absence over the last ten days
    over: i64,
    /// 9.9 %: just under a 10 % rule
    under: i64,
    /// three whole days absent in a row
    three: i64,
    /// two whole days, and the third one minute short
    two: i64,
}

/// One day's per-day sum as the statistics store it.
pub(crate) fn day(
    c: &mut DbConn,
    (school, class, pupil): (i64, i64, i64),
    d: NaiveDate,
    m: (i32, i32, i32),
) {
    let (scheduled, valid, invalid) = m;
    diesel::insert_into(absence_days::table)
        .values((
            absence_days::school_id.eq(school),
            absence_days::day.eq(d),
            absence_days::pupil_id.eq(pupil),
            absence_days::class_id.eq(Some(class)),
            absence_days::week.eq(narvaro::insight::statistics::store::iso_week(d)),
            absence_days::weekday.eq(1),
            absence_days::scheduled_minutes.eq(scheduled),
            absence_days::reported_minutes.eq(scheduled),
            absence_days::valid_minutes.eq(valid),
            absence_days::invalid_minutes.eq(invalid),
            absence_days::other_minutes.eq(0),
            absence_days::lates.eq(0),
        ))
        .execute(c)
        .unwrap();
}

/// A municipality with an administrator, a school with its principal, two classes with a
/// mentor each, and four pupils of class A whose last ten days are built for the rules.
fn build(c: &mut DbConn) -> World {
    let today = test_today();
    let muni = Municipality::new("Signalkommun").insert(c);
    let school = School::new("Signalskolan", muni).insert(c);
    let class_a = Group::class("7A", school, 7).insert(c);
    let class_b = Group::class("7B", school, 7).insert(c);
    let staff = |user: &str, org: i64, role: &'static str, group: Option<i64>| {
        Person::new(user, "Testsson")
            .account(user, PASSWORD)
            .duty(org, role, group)
    };
    staff("sig.admin", muni, "admin", None).insert(c);
    staff("sig.principal", school, "principal", None).insert(c);
    staff("sig.mentor", school, "mentor", Some(class_a)).insert(c);
    staff("sig.other", school, "mentor", Some(class_b)).insert(c);
    let pupil = |given: &str| {
        Person::new(given, "Elevsson")
            .pupil_at(school)
            .in_group(class_a)
    };
    let (over, under, three, two) = (
        pupil("Olle").insert(c),
        pupil("Ulla").insert(c),
        pupil("Tore").insert(c),
        pupil("Tuva").insert(c),
    );
    for n in 0..10 {
        let d = today - Duration::days(9 - n);
        // 1,000 scheduled minutes over the ten days
        day(
            c,
            (school, class_a, over),
            d,
            (100, 0, if n < 4 { 30 } else { 0 }),
        );
        day(
            c,
            (school, class_a, under),
            d,
            (100, 0, if n == 0 { 99 } else { 0 }),
        );
        let whole = |last: i64, short: bool| match n {
            7 if short => (300, 299, 0),
            _ if n >= 10 - last => (300, 300, 0),
            _ => (300, 0, 0),
        };
        day(c, (school, class_a, three), d, whole(3, false));
        day(c, (school, class_a, two), d, whole(3, true));
    }
    World {
        over,
        under,
        three,
        two,
    }
}

fn open_signals(c: &mut DbConn) -> Vec<(i64, String)> {
    signals::table
        .select((signals::pupil_id, signals::status))
        .order((signals::pupil_id, signals::id))
        .load(c)
        .unwrap()
}

async fn add_rule(admin: &mut Browser, fields: &[(&str, &str)]) -> u16 {
    admin.post("/admin/signals", fields).await.status.as_u16()
}

fn evaluate(app_pool: &narvaro::db::Pool) -> narvaro::follow_up::signals::Evaluated {
    let mut c = conn(app_pool);
    narvaro::follow_up::signals::evaluate(
        &mut c,
        test_today(),
        chrono_tz::Europe::Stockholm,
        test_moment().naive_utc(),
    )
    .unwrap()
}

#[actix_web::test]
async fn rules_raise_signals_once_and_stay_silent_just_under() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let w = build(&mut conn(&pool));
        let mut admin = Browser::open(&app).await;
        admin.sign_in("sig.admin", PASSWORD).await;
        // a wrong rule names its field, and nothing is stored
        let refused = admin
            .post(
                "/admin/signals",
                &[
                    ("kind", "share"),
                    ("counts", "invalid"),
                    ("window_days", "28"),
                    ("share_pct", "101"),
                ],
            )
            .await;
        assert_eq!(refused.status.as_u16(), 400, "{kind:?}");
        assert!(
            refused
                .body
                .contains("Andelen ska vara ett heltal från 1 till 100 %"),
            "{kind:?}"
        );
        let stored: i64 = signal_rules::table
            .count()
            .get_result(&mut *conn(&pool))
            .unwrap();
        assert_eq!(stored, 0, "{kind:?}");
        for fields in [
            [
                ("kind", "share"),
                ("counts", "invalid"),
                ("window_days", "28"),
                ("share_pct", "10"),
            ],
            [
                ("kind", "days_in_row"),
                ("counts", "all"),
                ("window_days", "14"),
                ("days", "3"),
            ],
        ] {
            let mut f: Vec<(&str, &str)> = fields.to_vec();
            f.extend([("tell_mentor", "1"), ("tell_principal", "1")]);
            assert_eq!(add_rule(&mut admin, &f).await, 303, "{kind:?}");
        }
        assert_eq!(audited(&pool, "signal_rule.added"), 2, "{kind:?}");
        let rules = admin.get("/admin/signals").await;
        assert!(
            rules
                .body
                .contains("minst 10 % ogiltig frånvaro de senaste 28 dagarna"),
            "{kind:?}"
        );
        assert!(
            rules
                .body
                .contains("3 skoldagar i rad med hel dags frånvaro inom 14 dagar"),
            "{kind:?}"
        );

        // the share rule catches 12 % and not 9.9 %; three whole days in a row and not two
        let first = evaluate(&pool);
        assert_eq!(first.raised, 2, "{kind:?}: {first:?}");
        let raised = open_signals(&mut conn(&pool));
        assert_eq!(
            raised,
            vec![(w.over, "new".to_string()), (w.three, "new".to_string())],
            "{kind:?}: not {} nor {}",
            w.under,
            w.two
        );
        // raised once: a second evaluation finds them open
        assert_eq!(evaluate(&pool).raised, 0, "{kind:?}");
        assert_eq!(open_signals(&mut conn(&pool)).len(), 2, "{kind:?}");

        // the principal and the pupils' mentor see them; another mentor does not
        let mut principal = Browser::open(&app).await;
        principal.sign_in("sig.principal", PASSWORD).await;
        let list = principal.get("/signals").await;
        assert_eq!(list.status.as_u16(), 200);
        assert!(
            list.body.contains("Olle Elevsson") && list.body.contains("Tore Elevsson"),
            "{kind:?}"
        );
        assert!(
            !list.body.contains("Ulla") && !list.body.contains("Tuva"),
            "{kind:?}"
        );
        assert!(list.body.contains("3 skoldagar i rad"), "{kind:?}");
        let mut mentor = Browser::open(&app).await;
        mentor.sign_in("sig.mentor", PASSWORD).await;
        assert!(
            mentor.get("/signals").await.body.contains("Olle Elevsson"),
            "{kind:?}"
        );
        let mut other = Browser::open(&app).await;
        other.sign_in("sig.other", PASSWORD).await;
        let theirs = other.get("/signals").await;
        assert_eq!(theirs.status.as_u16(), 200);
        assert!(!theirs.body.contains("Olle"), "{kind:?}");
        // the API lists the same, in the shape its document gives
        let token = crate::browser::api_token(&app, "sig.principal", PASSWORD).await;
        let (status, body) = crate::browser::api_get(&app, Some(&token), "/api/v1/signals").await;
        assert_eq!(status, 200, "{kind:?}");
        let listed: Vec<(i64, &str, &str)> = body["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let kind = s["rule"]["kind"].as_str().unwrap();
                (
                    s["pupil"]["id"].as_i64().unwrap(),
                    kind,
                    s["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(listed.len(), 2, "{kind:?}: {body}");
        assert!(
            listed.contains(&(w.over, "share", "new")),
            "{kind:?}: {body}"
        );
        assert!(
            listed.contains(&(w.three, "days_in_row", "new")),
            "{kind:?}: {body}"
        );
        // per class, on the page and in the API; a school that is not an id is a 400
        let of_b = principal.get("/signals?class=7B").await.body;
        assert!(
            !of_b.contains("Olle Elevsson") && of_b.contains("Inga öppna signaler."),
            "{kind:?}"
        );
        assert!(
            principal
                .get("/signals?class=7A")
                .await
                .body
                .contains("Olle Elevsson"),
            "{kind:?}"
        );
        for (query, count) in [("class=7A", 2), ("class=7B", 0)] {
            let path = format!("/api/v1/signals?{query}");
            let (status, body) = crate::browser::api_get(&app, Some(&token), &path).await;
            assert_eq!(status, 200, "{kind:?}: {path}");
            assert_eq!(
                body["signals"].as_array().unwrap().len(),
                count,
                "{kind:?}: {path}"
            );
        }
        let (status, body) =
            crate::browser::api_get(&app, Some(&token), "/api/v1/signals?school=sju").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_id")),
            "{kind:?}"
        );
        let start = principal.get("/").await;
        assert!(
            start.body.contains("Signaler om frånvaro, nya (2)"),
            "{kind:?}"
        );

        let signal: i64 = signals::table
            .filter(signals::pupil_id.eq(w.over))
            .select(signals::id)
            .first(&mut *conn(&pool))
            .unwrap();
        // another mentor's dismissal is a 404; no reason is refused; nothing changes
        let stranger = other
            .post(&format!("/signals/{signal}/dismiss"), &[("reason", "Känd")])
            .await;
        assert_eq!(stranger.status.as_u16(), 404, "{kind:?}");
        let blank = mentor
            .post(&format!("/signals/{signal}/dismiss"), &[("reason", "  ")])
            .await;
        assert_eq!(blank.status.as_u16(), 400, "{kind:?}");
        assert!(
            blank.body.contains("Skriv varför signalen avfärdas"),
            "{kind:?}"
        );
        assert_eq!(open_signals(&mut conn(&pool))[0].1, "new", "{kind:?}");
        // seen, then dismissed with a reason that is kept and audited
        let seen = mentor.post(&format!("/signals/{signal}/seen"), &[]).await;
        assert_eq!(seen.status.as_u16(), 303, "{kind:?}");
        let reason = "Känd sjukdomsperiod, elevhälsan är med sedan tidigare";
        let done = mentor
            .post(&format!("/signals/{signal}/dismiss"), &[("reason", reason)])
            .await;
        assert_eq!(done.status.as_u16(), 303, "{kind:?}");
        let (status, kept, seen_by): (String, Option<String>, Option<i64>) = signals::table
            .find(signal)
            .select((signals::status, signals::dismissed_reason, signals::seen_by))
            .first(&mut *conn(&pool))
            .unwrap();
        assert_eq!(
            (status.as_str(), kept.as_deref()),
            ("dismissed", Some(reason)),
            "{kind:?}"
        );
        assert!(seen_by.is_some(), "{kind:?}");
        assert_eq!(audited(&pool, "signal.seen"), 1, "{kind:?}");
        assert_eq!(audited(&pool, "signal.dismissed"), 1, "{kind:?}");
        assert!(
            !mentor.get("/signals").await.body.contains("Olle"),
            "{kind:?}"
        );
        // dismissed is resolved: the rule may raise it again
        assert_eq!(evaluate(&pool).raised, 1, "{kind:?}");
        assert_eq!(open_signals(&mut conn(&pool)).len(), 3, "{kind:?}");
    }
}

/// Six evaluations at the same moment on PostgreSQL raise each signal once.
#[actix_web::test]
async fn evaluations_at_the_same_moment_raise_each_signal_once_on_postgresql() {
    if !backends().contains(&Kind::Postgres) {
        return;
    }
    let app = TestApp::spawn(Kind::Postgres).await;
    let pool = pool(&app);
    build(&mut conn(&pool));
    let mut admin = Browser::open(&app).await;
    admin.sign_in("sig.admin", PASSWORD).await;
    let share = [
        ("kind", "share"),
        ("counts", "invalid"),
        ("window_days", "28"),
        ("share_pct", "10"),
    ];
    assert_eq!(add_rule(&mut admin, &share).await, 303);
    // a connection each, held before they start together
    let six = narvaro::db::connect(&app.db.url, 6).unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (pool, barrier) = (six.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = conn(&pool);
                barrier.wait();
                narvaro::follow_up::signals::evaluate(
                    &mut c,
                    test_today(),
                    chrono_tz::Europe::Stockholm,
                    test_moment().naive_utc(),
                )
                .unwrap()
                .raised
            })
        })
        .collect();
    let raised: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(raised, 1);
    assert_eq!(open_signals(&mut conn(&pool)).len(), 1);
}

/// The rules of a term's share, of scattered occasions and of the same weekday, each added
/// through the administrator's form, raise their signal on data built for them and stay
/// silent just under it, on both databases.
#[actix_web::test]
async fn term_occasion_and_weekday_rules_catch_and_stay_silent_just_under() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let today = test_today();
        let (school, class, pupils) = {
            let mut c = conn(&pool);
            let c = &mut *c;
            let muni = Municipality::new("Mönsterkommun").insert(c);
            let school = School::new("Mönsterskolan", muni).insert(c);
            let class = Group::class("8A", school, 8).insert(c);
            Person::new("adm", "Testsson")
                .account("pat.admin", PASSWORD)
                .duty(muni, "admin", None)
                .insert(c);
            let pupils: Vec<i64> = ["Terese", "Tim", "Ossian", "Otto", "Vera", "Viggo"]
                .iter()
                .map(|g| {
                    Person::new(g, "Mönstersson")
                        .pupil_at(school)
                        .in_group(class)
                        .insert(c)
                })
                .collect();
            (school, class, pupils)
        };
        let [term, term_under, occ, occ_under, weekday, weekday_under] = pupils[..] else {
            unreachable!()
        };
        {
            let mut c = conn(&pool);
            let c = &mut *c;
            // twenty school days back from today, 100 minutes each, in this term
            for n in 0..20 {
                let d = today - Duration::days(n);
                let at = |p: i64, m: (i32, i32, i32)| (school, class, p, m);
                let put = |c: &mut DbConn, (s, k, p, m): (i64, i64, i64, (i32, i32, i32))| {
                    day(c, (s, k, p), d, m)
                };
                // a term's share: 10 % of 2,000 minutes, and 199 minutes just under
                put(c, at(term, (100, if n < 2 { 100 } else { 0 }, 0)));
                put(
                    c,
                    at(
                        term_under,
                        (
                            100,
                            if n == 0 {
                                100
                            } else if n == 1 {
                                99
                            } else {
                                0
                            },
                            0,
                        ),
                    ),
                );
                // occasions: absent on days 0, 2 and 4 (three); on days 0, 1 and 3 (two)
                put(
                    c,
                    at(occ, (100, 0, if [0, 2, 4].contains(&n) { 10 } else { 0 })),
                );
                put(
                    c,
                    at(
                        occ_under,
                        (100, 0, if [0, 1, 3].contains(&n) { 10 } else { 0 }),
                    ),
                );
                // the same weekday as today: three of them; two and another day
                put(
                    c,
                    at(
                        weekday,
                        (100, 0, if [0, 7, 14].contains(&n) { 30 } else { 0 }),
                    ),
                );
                put(
                    c,
                    at(
                        weekday_under,
                        (100, 0, if [0, 7, 13].contains(&n) { 30 } else { 0 }),
                    ),
                );
            }
        }
        let mut admin = Browser::open(&app).await;
        admin.sign_in("pat.admin", PASSWORD).await;
        for fields in [
            vec![
                ("kind", "term_share"),
                ("counts", "valid"),
                ("share_pct", "10"),
            ],
            vec![
                ("kind", "occasions"),
                ("counts", "invalid"),
                ("window_days", "28"),
                ("days", "3"),
            ],
            vec![
                ("kind", "weekday"),
                ("counts", "invalid"),
                ("window_days", "28"),
                ("days", "3"),
            ],
        ] {
            let mut f = fields.clone();
            f.push(("tell_principal", "1"));
            assert_eq!(add_rule(&mut admin, &f).await, 303, "{kind:?}: {fields:?}");
        }
        // a pattern of more times than the window has days names its field
        let wrong = admin
            .post(
                "/admin/signals",
                &[
                    ("kind", "weekday"),
                    ("counts", "all"),
                    ("window_days", "7"),
                    ("days", "8"),
                ],
            )
            .await;
        assert_eq!(wrong.status.as_u16(), 400, "{kind:?}");
        let rules = admin.get("/admin/signals").await.body;
        for words in [
            "minst 10 % giltig frånvaro under terminen",
            "3 olika tillfällen med ogiltig frånvaro de senaste 28 dagarna",
            "ogiltig frånvaro samma veckodag 3 gånger de senaste 28 dagarna",
        ] {
            assert!(rules.contains(words), "{kind:?}: {words} in {rules}");
        }
        let done = evaluate(&pool);
        let raised: Vec<(i64, String)> = signals::table
            .inner_join(signal_rules::table)
            .select((signals::pupil_id, signal_rules::kind))
            .order((signals::pupil_id, signal_rules::kind))
            .load(&mut *conn(&pool))
            .unwrap();
        // the weekday pupils' three days of absence are three occasions too
        let want: Vec<(i64, String)> = [
            (term, "term_share"),
            (occ, "occasions"),
            (weekday, "occasions"),
            (weekday, "weekday"),
            (weekday_under, "occasions"),
        ]
        .iter()
        .map(|(p, k)| (*p, k.to_string()))
        .collect();
        assert_eq!(raised, want, "{kind:?}: {done:?}");
    }
}
