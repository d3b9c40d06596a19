//! Signals that reach further, on both databases: the rules of single lessons (the same
//! subject, the same lesson slot, single lessons missed on a day at school) read real roll
//! calls and stay silent just under; a school adds a rule of its own (its principal only),
//! which holds for that school alone and, e-mailing, tells the mentor and the guardians at
//! the roll call itself; the schools' threshold notices become rules of each school when
//! the database is migrated.

use chrono::{Datelike, Duration, NaiveDate};
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;

use crate::browser::{api_token, conn, deliver, mails, pool, put_absent, Browser};
use crate::build::{Activity, Group, Lesson, Municipality, Person, School};
use crate::helpers::{backends, test_moment, test_today, TestApp};

const PASSWORD: &str = "signal-reach-1";

fn raised(c: &mut DbConn) -> Vec<(i64, String, Option<String>)> {
    signals::table
        .inner_join(signal_rules::table)
        .select((signals::pupil_id, signal_rules::kind, signals::pattern))
        .order((signals::pupil_id, signal_rules::kind))
        .load(c)
        .unwrap()
}

fn evaluate(pool: &narvaro::db::Pool) -> usize {
    narvaro::follow_up::signals::evaluate(
        &mut conn(pool),
        test_today(),
        chrono_tz::Europe::Stockholm,
        test_moment().naive_utc(),
    )
    .unwrap()
    .raised
}

#[actix_web::test]
async fn subject_slot_and_single_lesson_rules_read_roll_calls_and_stay_silent_just_under() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let today = test_today();
        // three days on one weekday (A, B, C) and one on another (D)
        let (a, b, c_day, d) = (
            today - Duration::days(21),
            today - Duration::days(14),
            today - Duration::days(7),
            today - Duration::days(1),
        );
        let (pupils, days) = {
            let mut c = conn(&pool);
            let c = &mut *c;
            let muni = Municipality::new("Lektionskommun").insert(c);
            let school = School::new("Lektionsskolan", muni).insert(c);
            let class = Group::class("9A", school, 9).insert(c);
            Person::new("Ada", "Admin")
                .account("les.admin", PASSWORD)
                .duty(muni, "admin", None)
                .insert(c);
            Person::new("Pia", "Rektor")
                .account("les.principal", PASSWORD)
                .duty(school, "principal", None)
                .insert(c);
            let teacher = Person::new("Tor", "Lärare")
                .account("les.teacher", PASSWORD)
                .duty(school, "teacher", None)
                .insert(c);
            let pupils: Vec<i64> = ["Sam", "Saga", "Selma", "Sixten", "Elis", "Ebba"]
                .iter()
                .map(|g| {
                    Person::new(g, "Lektionsson")
                        .pupil_at(school)
                        .in_group(class)
                        .insert(c)
                })
                .collect();
            let mut subject = |s: (&'static str, &'static str)| {
                Activity::new(school, s)
                    .group(class)
                    .teacher(teacher)
                    .insert(c)
            };
            let (sv, ma, en) = (
                subject(("SV", "Svenska")),
                subject(("MA", "Matematik")),
                subject(("EN", "Engelska")),
            );
            // the subjects rotate over the slots 08:00, 10:00 and 13:00
            let order = |day: NaiveDate| match day {
                x if x == b => [ma, en, sv],
                x if x == c_day => [en, sv, ma],
                _ => [sv, ma, en],
            };
            let mut days: Vec<[i64; 3]> = Vec::new();
            for day in [a, b, c_day, d] {
                let [x, y, z] = order(day);
                days.push([
                    Lesson::of(x, school, day, "08:00", "09:00").insert(c).1,
                    Lesson::of(y, school, day, "10:00", "11:00").insert(c).1,
                    Lesson::of(z, school, day, "13:00", "14:00").insert(c).1,
                ]);
            }
            (pupils, days)
        };
        let [slot, slot_under, subj, subj_under, single, single_under] = pupils[..] else {
            unreachable!()
        };
        // (day, slot) → who is absent
        let absent = |day: usize, s: usize| -> Vec<i64> {
            let mut who = Vec::new();
            // the first slot on A, B and C; just under: A, B and D
            if s == 0 && day != 3 {
                who.push(slot);
            }
            if s == 0 && day != 2 {
                who.push(slot_under);
            }
            // MA three times (A 10:00, B 08:00, D 10:00); just under: twice
            if (day, s) == (0, 1) || (day, s) == (1, 0) || (day, s) == (3, 1) {
                who.push(subj);
            }
            if (day, s) == (0, 1) || (day, s) == (1, 0) {
                who.push(subj_under);
            }
            // the middle lesson between two attended on A, B and D; just under, D's last
            // lesson is missed too, so D's middle one is not a single lesson
            if s == 1 && day != 2 {
                who.push(single);
                who.push(single_under);
            }
            if (day, s) == (3, 2) {
                who.push(single_under);
            }
            who
        };
        let teacher = api_token(&app, "les.teacher", PASSWORD).await;
        for (i, lessons) in days.iter().enumerate() {
            for (s, lesson) in lessons.iter().enumerate() {
                put_absent(&app, &teacher, *lesson, &absent(i, s)).await;
            }
        }
        let mut admin = Browser::open(&app).await;
        admin.sign_in("les.admin", PASSWORD).await;
        for k in ["subject", "slot", "single_lessons"] {
            let f = [
                ("kind", k),
                ("counts", "all"),
                ("window_days", "28"),
                ("days", "3"),
                ("tell_principal", "1"),
            ];
            let res = admin.post("/admin/signals", &f).await;
            assert_eq!(res.status.as_u16(), 303, "{kind:?}: {k}");
        }
        // more lessons than the window has days names its field
        let wrong = admin
            .post(
                "/admin/signals",
                &[
                    ("kind", "subject"),
                    ("counts", "all"),
                    ("window_days", "5"),
                    ("days", "6"),
                ],
            )
            .await;
        assert_eq!(wrong.status.as_u16(), 400, "{kind:?}");
        let rules = admin.get("/admin/signals").await.body;
        assert!(
            rules.contains("frånvaro i samma ämne 3 lektioner de senaste 28 dagarna")
                && rules.contains("frånvaro på samma lektionstid 3 gånger de senaste 28 dagarna")
                && rules.contains("3 enstaka lektioner med frånvaro på dagar i skolan"),
            "{kind:?}: {rules}"
        );
        assert_eq!(evaluate(&pool), 3, "{kind:?}");
        let wd = a.weekday().number_from_monday();
        assert_eq!(
            raised(&mut conn(&pool)),
            vec![
                (slot, "slot".to_string(), Some(format!("{wd} 08:00"))),
                (subj, "subject".to_string(), Some("MA".to_string())),
                (single, "single_lessons".to_string(), None),
            ],
            "{kind:?}: silent for {slot_under}, {subj_under} and {single_under}"
        );
        assert_eq!(evaluate(&pool), 0, "{kind:?}: raised once");
        // the list says what the pattern is of
        let mut principal = Browser::open(&app).await;
        principal.sign_in("les.principal", PASSWORD).await;
        let list = principal.get("/signals").await.body;
        let weekday = narvaro::i18n::Lang::Sv.weekdays(wd).unwrap();
        assert!(
            list.contains("3 lektioner (ämne: MA)")
                && list.contains(&format!("3 lektioner ({weekday} 08:00)")),
            "{kind:?}: {list}"
        );
    }
}

#[actix_web::test]
async fn a_school_s_own_rule_holds_there_only_and_tells_the_mentor_and_guardians_at_the_roll_call()
{
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let today = test_today();
        let (school, other_school, here, there, lessons) = {
            let mut c = conn(&pool);
            let c = &mut *c;
            let muni = Municipality::new("Egenkommun").insert(c);
            let school = School::new("Egenskolan", muni).insert(c);
            let other_school = School::new("Andraskolan", muni).insert(c);
            let class = Group::class("6A", school, 6).insert(c);
            let other_class = Group::class("6B", other_school, 6).insert(c);
            Person::new("Rut", "Rektor")
                .account("own.principal", PASSWORD)
                .duty(school, "principal", None)
                .insert(c);
            Person::new("Rolf", "Rektor")
                .account("own.other", PASSWORD)
                .duty(other_school, "principal", None)
                .insert(c);
            Person::new("Maja", "Mentor")
                .email("maja.mentor@example.org")
                .account("own.mentor", PASSWORD)
                .duty(school, "mentor", Some(class))
                .insert(c);
            let teacher = Person::new("Tea", "Lärare")
                .account("own.teacher", PASSWORD)
                .duty(school, "teacher", None)
                .duty(other_school, "teacher", None)
                .insert(c);
            let guardian = Person::new("Gun", "Förälder")
                .email("gun@example.org")
                .insert(c);
            let here = Person::new("Hugo", "Egensson")
                .pupil_at(school)
                .in_group(class)
                .with_guardian(guardian)
                .insert(c);
            let there = Person::new("Tilde", "Andrasson")
                .pupil_at(other_school)
                .in_group(other_class)
                .insert(c);
            let mut lesson = |s: i64, g: i64| {
                Lesson::new(s, ("MA", "Matematik"), today, "08:00", "09:00")
                    .group(g)
                    .teacher(teacher)
                    .insert(c)
                    .1
            };
            let lessons = (lesson(school, class), lesson(other_school, other_class));
            (school, other_school, here, there, lessons)
        };
        // only the school's principal has its rules
        let mut other = Browser::open(&app).await;
        other.sign_in("own.other", PASSWORD).await;
        let path = format!("/schools/{school}/signals");
        assert_eq!(other.get(&path).await.status.as_u16(), 404, "{kind:?}");
        let stranger = other
            .post(
                &path,
                &[
                    ("kind", "share"),
                    ("counts", "all"),
                    ("window_days", "30"),
                    ("share_pct", "10"),
                ],
            )
            .await;
        assert_eq!(stranger.status.as_u16(), 404, "{kind:?}");
        let mut principal = Browser::open(&app).await;
        principal.sign_in("own.principal", PASSWORD).await;
        let wrong = principal
            .post(
                &path,
                &[
                    ("kind", "share"),
                    ("counts", "all"),
                    ("window_days", "0"),
                    ("share_pct", "10"),
                ],
            )
            .await;
        assert_eq!(wrong.status.as_u16(), 400, "{kind:?}");
        assert!(wrong.body.contains("role=\"alert\""), "{kind:?}");
        let rule = [
            ("kind", "share"),
            ("counts", "all"),
            ("window_days", "30"),
            ("share_pct", "10"),
            ("tell_mentor", "1"),
            ("send_email", "1"),
            ("tell_guardians", "1"),
        ];
        assert_eq!(
            principal.post(&path, &rule).await.status.as_u16(),
            303,
            "{kind:?}"
        );
        let page = principal.get(&path).await.body;
        assert!(
            page.contains("minst 10 % frånvaro de senaste 30 dagarna")
                && page.contains("Huvudmannens regler"),
            "{kind:?}: {page}"
        );
        let owner: i64 = signal_rules::table
            .select(signal_rules::organisation_id)
            .first(&mut *conn(&pool))
            .unwrap();
        assert_eq!(owner, school, "{kind:?}");

        // the roll call raises the signal at once, at this school only
        let teacher = api_token(&app, "own.teacher", PASSWORD).await;
        put_absent(&app, &teacher, lessons.0, &[here]).await;
        put_absent(&app, &teacher, lessons.1, &[there]).await;
        let signals_now = raised(&mut conn(&pool));
        assert_eq!(
            signals_now,
            vec![(here, "share".to_string(), None)],
            "{kind:?}"
        );
        assert_eq!(
            evaluate(&pool),
            0,
            "{kind:?}: {other_school} has no such rule"
        );
        deliver(&app).await;
        let sent = mails(&app);
        let to_mentor = sent
            .iter()
            .find(|m| m.contains("To: maja.mentor@example.org"))
            .unwrap_or_else(|| panic!("{kind:?}: {sent:?}"));
        assert!(
            to_mentor.contains("ny signal om frånvaro") && to_mentor.contains("Hugo Egensson"),
            "{kind:?}: {to_mentor}"
        );
        let to_guardian = sent
            .iter()
            .find(|m| m.contains("To: gun@example.org"))
            .unwrap_or_else(|| panic!("{kind:?}: {sent:?}"));
        assert!(to_guardian.contains("Hugo Egensson"), "{kind:?}");
        // neither names the rule's figures
        for m in [to_guardian, to_mentor] {
            assert!(
                !m.contains("10 %") && !m.contains("100 %") && !m.contains("minuter"),
                "{kind:?}: {m}"
            );
        }
        // a second absence the same day raises nothing new and sends nothing more
        let before = mails(&app).len();
        put_absent(&app, &teacher, lessons.0, &[here]).await;
        deliver(&app).await;
        assert_eq!(mails(&app).len(), before, "{kind:?}");
    }
}

/// (organisation, kind, counts, window, share, mentor, principal, e-mail, written by)
type MigratedRule = (
    i64,
    String,
    String,
    i32,
    Option<i32>,
    bool,
    bool,
    bool,
    Option<i64>,
);

/// The migration turns each school's threshold notice into a rule of the school, written
/// by nobody and e-mailed, and drops the old threshold state.
#[test]
fn the_migration_makes_each_school_s_threshold_a_rule_of_the_school() {
    for kind in backends() {
        let db = crate::helpers::TestDb::new(kind);
        let mut c = narvaro::db::Manager::new(db.url.clone()).open().unwrap();
        crate::helpers::migrate_before(&mut c, kind, "20261206000022");
        let muni = Municipality::new("Gammalkommun").insert(&mut c);
        let school = School::new("Gammalskolan", muni)
            .alert_threshold(20)
            .insert(&mut c);
        narvaro::db::migrate::run(&mut c).unwrap();
        let rules: Vec<MigratedRule> = signal_rules::table
            .select((
                signal_rules::organisation_id,
                signal_rules::kind,
                signal_rules::counts,
                signal_rules::window_days,
                signal_rules::share_pct,
                signal_rules::tell_mentor,
                signal_rules::tell_principal,
                signal_rules::send_email,
                signal_rules::created_by,
            ))
            .load(&mut c)
            .unwrap();
        assert_eq!(
            rules,
            vec![(
                school,
                "share".into(),
                "all".into(),
                30,
                Some(20),
                true,
                true,
                true,
                None
            )],
            "{kind:?}"
        );
    }
}
