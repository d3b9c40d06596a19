//! Trips (issue 21), on both databases: the principal moves the child's class out for a
//! day; the teacher's roll call marks the class with "Annan skolaktivitet", which counts as
//! neither valid nor invalid absence; a guardian's sick report wins over the trip; a pupil
//! who stayed behind and is marked absent is unexplained absence and the guardians hear of
//! it; a trip in the past, at a wrong time, of another school's group, with a reason that
//! is absence, or overlapping another of the group's trips is refused and nothing stored;
//! identical trips at the same moment store one; the office unticks pupils who stay at
//! school, whom the trip then does not cover, and the same choice made at once is stored
//! once.

use chrono::Duration;
use diesel::prelude::*;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_get, api_post, api_token, audited, conn, Browser, DEMO_PASSWORD};
use crate::fixtures::{self, World};
use crate::helpers::{backends, test_today, TestApp};

fn reason(world: &World, code: &str) -> i64 {
    let mut c = conn(&world.pool);
    absence_reasons::table
        .filter(absence_reasons::code.eq(code))
        .select(absence_reasons::id)
        .first(&mut *c)
        .unwrap()
}

/// The trip added last.
fn latest_trip(world: &World) -> i64 {
    let mut c = conn(&world.pool);
    trips::table
        .select(trips::id)
        .order(trips::id.desc())
        .first(&mut *c)
        .unwrap()
}

/// The same form posted 8 times at once in the browser's session: the statuses.
async fn eight_at_once(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, String)],
) -> Vec<u16> {
    let post = || {
        let req = app
            .client
            .post(app.url(path))
            .insert_header(("Cookie", browser.cookie_header()));
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        async move { req.send_form(&fields).await.unwrap().status().as_u16() }
    };
    crate::roll_call::futures_join_all((0..8).map(|_| post()).collect()).await
}

/// Trips stored besides the one the demo plans for its second class.
fn trips_stored(world: &World) -> i64 {
    let mut c = conn(&world.pool);
    trips::table
        .filter(trips::title.ne("Friluftsdag i Hellasgården"))
        .count()
        .get_result(&mut *c)
        .unwrap()
}

/// (valid, invalid, other) minutes of a pupil today.
fn minutes(world: &World, pupil: i64) -> (i32, i32, i32) {
    let mut c = conn(&world.pool);
    absence_days::table
        .filter(absence_days::pupil_id.eq(pupil))
        .filter(absence_days::day.eq(test_today()))
        .select((
            absence_days::valid_minutes,
            absence_days::invalid_minutes,
            absence_days::other_minutes,
        ))
        .first(&mut *c)
        .unwrap()
}

#[actix_web::test]
async fn a_trip_counts_as_a_school_activity_and_a_pupil_who_stayed_is_absent() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let (s1, s2, class, child) = (
            world.ids.school1,
            world.ids.school2,
            world.ids.class,
            world.ids.child,
        );
        let skolakt = reason(&world, "SKOLAKT");
        let sick = reason(&world, "SJUK");
        let other_group: i64 = {
            let mut c = conn(&world.pool);
            groups::table
                .filter(groups::school_id.eq(s2))
                .select(groups::id)
                .first(&mut *c)
                .unwrap()
        };
        let path = format!("/schools/{s1}/trips");
        let today = test_today().to_string();
        let yesterday = (test_today() - Duration::days(1)).to_string();

        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let page = principal.get(&path).await;
        assert_eq!(page.status.as_u16(), 200, "{}", page.body);
        assert!(page.body.contains("Utflykter och skolaktiviteter"));
        assert!(page.body.contains("Annan skolaktivitet"));

        // refused, with a message on the form, and nothing stored
        let (c, sk, sj, og) = (
            class.to_string(),
            skolakt.to_string(),
            sick.to_string(),
            other_group.to_string(),
        );
        let refusals: [(&str, &str, &str, &str, &str, &str); 5] = [
            (&c, &yesterday, "", "", &sk, "från i dag och framåt"),
            (&c, &today, "25:00", "", &sk, "TT:MM"),
            (
                &c,
                &today,
                "13:00",
                "09:00",
                &sk,
                "sluta efter att den börjar",
            ),
            (&og, &today, "", "", &sk, "skolans grupper"),
            (&c, &today, "", "", &sj, "inte räknas som frånvaro"),
        ];
        for (group, first, from, to, reason, message) in refusals {
            let refused = principal
                .post(
                    &path,
                    &[
                        ("group", group),
                        ("title", "Skansen"),
                        ("first_day", first),
                        ("from_time", from),
                        ("to_time", to),
                        ("reason", reason),
                    ],
                )
                .await;
            assert_eq!(refused.status.as_u16(), 400, "{message}");
            assert!(
                refused.body.contains(message),
                "{message}: {}",
                refused.body
            );
            // the form keeps what was sent
            assert!(refused.body.contains("value=\"Skansen\""));
        }
        assert_eq!(trips_stored(&world), 0);
        assert_eq!(audited(&world.pool, "trip.created"), 0);

        // the class is out all day today
        let added = principal
            .post(
                &path,
                &[
                    ("group", &c),
                    ("title", "Skansen"),
                    ("first_day", &today),
                    ("reason", &sk),
                ],
            )
            .await;
        assert_eq!(added.status.as_u16(), 303, "{}", added.body);
        assert_eq!(trips_stored(&world), 1);
        assert_eq!(audited(&world.pool, "trip.created"), 1);
        let page = principal.get(&path).await;
        assert!(page.body.contains("Skansen"), "{}", page.body);
        assert!(page.body.contains("hela dagen"), "{}", page.body);
        // a second trip for the class at the same time is refused
        let overlapping = principal
            .post(
                &path,
                &[
                    ("group", &c),
                    ("title", "Museum"),
                    ("first_day", &today),
                    ("from_time", "10:00"),
                    ("to_time", "12:00"),
                    ("reason", &sk),
                ],
            )
            .await;
        assert_eq!(overlapping.status.as_u16(), 400);
        assert!(
            overlapping.body.contains("överlappar"),
            "{}",
            overlapping.body
        );
        assert_eq!(trips_stored(&world), 1);

        // the child's guardian reports the child sick today: the report wins over the trip
        let guardian = api_token(&app, "demo.guardian", DEMO_PASSWORD).await;
        let (status, report) = api_post(
            &app,
            Some(&guardian),
            "/api/v1/absence-reports",
            &json!({"pupil_id": child, "from": format!("{today}T07:00"), "to": format!("{today}T18:00"), "kind": "sick"}),
        )
        .await;
        assert_eq!(status, 201, "{report}");

        // the teacher's roll call: the class marked with the trip's reason
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let rc_path = format!("/api/v1/lessons/{}/roll-call", world.ids.lesson);
        let (status, rc) = api_get(&app, Some(&teacher), &rc_path).await;
        assert_eq!(status, 200, "{rc}");
        let pupils = rc["pupils"].as_array().unwrap().clone();
        assert!(pupils.len() >= 3);
        for p in &pupils {
            let expected = if p["id"] == json!(child) {
                "absence_report"
            } else {
                "trip"
            };
            assert_eq!(p["covered_by"]["kind"], json!(expected), "{p}");
            assert_eq!(p["status"], json!("absent"), "{p}");
        }
        // one pupil stayed behind and did not come: absent, no reason
        let stayed = pupils
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .find(|id| *id != child)
            .unwrap();
        let marks: Vec<serde_json::Value> = pupils
            .iter()
            .map(|p| {
                if p["id"] == json!(stayed) {
                    json!({"pupil_id": stayed, "status": "absent"})
                } else {
                    json!({"pupil_id": p["id"], "status": p["status"], "reason_id": p["reason_id"]})
                }
            })
            .collect();
        let mut res = app
            .client
            .put(app.url(&rc_path))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({ "marks": marks }))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{:?}", res.body().await);

        // the statistics: the trip is neither valid nor invalid absence
        for p in &pupils {
            let id = p["id"].as_i64().unwrap();
            let (valid, invalid, other) = minutes(&world, id);
            if id == child {
                assert!(
                    valid > 0 && invalid == 0,
                    "{kind:?} sick child: {valid}/{invalid}"
                );
            } else if id == stayed {
                assert!(
                    invalid > 0 && valid == 0,
                    "{kind:?} stayed: {valid}/{invalid}"
                );
            } else {
                assert_eq!((valid, invalid), (0, 0), "{kind:?} pupil {id} on the trip");
                assert!(
                    other > 0,
                    "{kind:?} pupil {id}: {other} min school activity"
                );
            }
        }
        // the guardians hear of the pupil who stayed, and of nobody on the trip
        let noticed: Vec<Option<i64>> = {
            let mut c = conn(&world.pool);
            outbox::table
                .filter(outbox::kind.eq("unexplained_absence"))
                .select(outbox::pupil_id)
                .distinct()
                .load(&mut *c)
                .unwrap()
        };
        assert_eq!(noticed, vec![Some(stayed)], "{kind:?}");

        // the pupils' pages: the trip's reason is named; the sick child's reason is
        // health data, which reads as reported absence and is never named
        let on_trip = pupils
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .find(|id| *id != child && *id != stayed)
            .unwrap();
        let page = principal.get(&format!("/pupils/{on_trip}")).await;
        assert_eq!(page.status.as_u16(), 200);
        assert!(page.body.contains("Annan skolaktivitet"), "{}", page.body);
        let mut family = Browser::open(&app).await;
        family.sign_in("demo.guardian", DEMO_PASSWORD).await;
        let page = family.get(&format!("/pupils/{child}")).await;
        assert_eq!(page.status.as_u16(), 200);
        assert!(page.body.contains("Anmäld frånvaro"), "{}", page.body);
        assert!(!page.body.contains("Sjukdom"), "{}", page.body);
        let (status, absence) = api_get(
            &app,
            Some(&guardian),
            &format!("/api/v1/pupils/{child}/absences?from={today}&to={today}"),
        )
        .await;
        assert_eq!(status, 200, "{absence}");
        let lessons = absence["lessons"].as_array().unwrap();
        assert!(!lessons.is_empty(), "{absence}");
        assert!(lessons.iter().all(|l| l["reason"].is_null()), "{absence}");
        assert!(!absence.to_string().contains("Sjukdom"), "{absence}");

        // the trip is cancelled: the roll call no longer names it, and it is audited
        let trip = latest_trip(&world);
        let other_office = {
            let mut b = Browser::open(&app).await;
            b.sign_in("demo.teacher", DEMO_PASSWORD).await;
            b.post(&format!("{path}/cancel"), &[("trip", &trip.to_string())])
                .await
        };
        assert_eq!(other_office.status.as_u16(), 404, "a teacher does not");
        let cancelled = principal
            .post(&format!("{path}/cancel"), &[("trip", &trip.to_string())])
            .await;
        assert_eq!(cancelled.status.as_u16(), 303, "{}", cancelled.body);
        assert_eq!(audited(&world.pool, "trip.cancelled"), 1);
        let (_, rc) = api_get(&app, Some(&teacher), &rc_path).await;
        assert!(
            rc["pupils"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["covered_by"]["kind"] != json!("trip")),
            "{rc}"
        );
        // the page lists the demo's trip of another class only
        let page = principal.get(&path).await;
        assert!(
            !page
                .body
                .contains(&format!("name=\"trip\" value=\"{trip}\""))
                && page.body.contains("Friluftsdag i Hellasgården"),
            "{}",
            page.body
        );
        // the principal reads both in the audit log
        {
            let mut c = conn(&world.pool);
            diesel::update(audit_log::table)
                .set(audit_log::at.eq(crate::helpers::test_moment().naive_utc()))
                .execute(&mut *c)
                .unwrap();
        }
        let log = principal.get("/audit").await;
        assert!(log.body.contains("Utflykt inlagd"), "{}", log.body);
        assert!(log.body.contains("Utflykt borttagen"), "{}", log.body);
    }
}

/// Eight identical trips asked for at the same moment store one (the overlap check and
/// the insert under the school's row lock), on both databases.
#[actix_web::test]
async fn identical_trips_and_choices_of_who_goes_at_the_same_moment_store_one() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let s1 = world.ids.school1;
        let mut principal = Browser::open(&app).await;
        principal.sign_in("demo.principal", DEMO_PASSWORD).await;
        let tomorrow = (test_today() + Duration::days(1)).to_string();
        let fields = vec![
            ("group", world.ids.class.to_string()),
            ("title", "Skridsko".to_string()),
            ("first_day", tomorrow),
            ("from_time", "09:00".to_string()),
            ("to_time", "11:30".to_string()),
            ("reason", reason(&world, "SKOLAKT").to_string()),
            ("_csrf", principal.csrf.clone()),
        ];
        let statuses =
            eight_at_once(&app, &principal, &format!("/schools/{s1}/trips"), &fields).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 303).count(),
            1,
            "{kind:?}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 303 || *s == 400),
            "{statuses:?}"
        );
        assert_eq!(trips_stored(&world), 1, "{kind:?}");
        assert_eq!(audited(&world.pool, "trip.created"), 1, "{kind:?}");

        // the same pupils unticked 8 times at once: one change, stored and audited once
        let trip = latest_trip(&world);
        let class: Vec<i64> = {
            let mut c = conn(&world.pool);
            group_memberships::table
                .filter(group_memberships::group_id.eq(world.ids.class))
                .filter(group_memberships::end_date.is_null())
                .select(group_memberships::pupil_id)
                .order(group_memberships::pupil_id)
                .load(&mut *c)
                .unwrap()
        };
        let mut fields = vec![
            ("trip", trip.to_string()),
            ("_csrf", principal.csrf.clone()),
        ];
        fields.extend(class[1..].iter().map(|p| ("goes", p.to_string())));
        let statuses = eight_at_once(
            &app,
            &principal,
            &format!("/schools/{s1}/trips/stays"),
            &fields,
        )
        .await;
        assert!(statuses.iter().all(|s| *s == 303), "{kind:?}: {statuses:?}");
        let stays: Vec<i64> = {
            let mut c = conn(&world.pool);
            trip_stays::table
                .filter(trip_stays::trip_id.eq(trip))
                .select(trip_stays::pupil_id)
                .load(&mut *c)
                .unwrap()
        };
        assert_eq!(stays, [class[0]], "{kind:?}");
        assert_eq!(audited(&world.pool, "trip.stays"), 1, "{kind:?}");
    }
}

/// The office unticks two pupils who stay at school: the trip no longer covers them in the
/// roll call and the rest of the class still is; the same choice again changes nothing;
/// a pupil outside the group is refused and nothing changes; another school's principal
/// gets 404; the change is audited.
#[actix_web::test]
async fn pupils_who_stay_at_school_are_not_covered_by_the_trip() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = fixtures::build(&app);
        let s1 = world.ids.school1;
        let path = format!("/schools/{s1}/trips");
        let mut office = Browser::open(&app).await;
        office.sign_in("demo.office", DEMO_PASSWORD).await;
        let added = office
            .post(
                &path,
                &[
                    ("group", &world.ids.class.to_string()),
                    ("title", "Skansen"),
                    ("first_day", &test_today().to_string()),
                    ("reason", &reason(&world, "SKOLAKT").to_string()),
                ],
            )
            .await;
        assert_eq!(added.status.as_u16(), 303, "{}", added.body);
        let trip = latest_trip(&world);
        let teacher = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
        let rc_path = format!("/api/v1/lessons/{}/roll-call", world.ids.lesson);
        let covered = |rc: &serde_json::Value| -> Vec<(i64, Option<String>)> {
            rc["pupils"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["id"].as_i64().unwrap(),
                        p["covered_by"]["kind"].as_str().map(str::to_string),
                    )
                })
                .collect()
        };
        let (_, rc) = api_get(&app, Some(&teacher), &rc_path).await;
        let before = covered(&rc);
        assert!(before.len() >= 4, "{rc}");
        assert!(
            before.iter().all(|p| p.1.as_deref() == Some("trip")),
            "{rc}"
        );
        // the page names every pupil of the class, all going
        let page = office.get(&path).await;
        let n = before.len();
        assert!(
            page.body
                .contains(&format!("Vilka elever följer med ({n} av {n})")),
            "{}",
            page.body
        );
        let (stay_a, stay_b) = (before[0].0, before[1].0);
        let trip_id = trip.to_string();
        let goers: Vec<String> = before[2..].iter().map(|p| p.0.to_string()).collect();
        let mut fields: Vec<(&str, &str)> = vec![("trip", &trip_id)];
        fields.extend(goers.iter().map(|g| ("goes", g.as_str())));
        let stays_path = format!("{path}/stays");
        let saved = office.post(&stays_path, &fields).await;
        assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
        let (_, rc) = api_get(&app, Some(&teacher), &rc_path).await;
        for (pupil, cover) in covered(&rc) {
            let expected = (pupil != stay_a && pupil != stay_b).then(|| "trip".to_string());
            assert_eq!(cover, expected, "{kind:?} pupil {pupil}: {rc}");
        }
        let page = office.get(&path).await;
        assert!(
            page.body
                .contains(&format!("Vilka elever följer med ({} av {n})", n - 2)),
            "{}",
            page.body
        );
        assert_eq!(audited(&world.pool, "trip.stays"), 1);
        // the same choice again changes nothing and is not audited again
        let again = office.post(&stays_path, &fields).await;
        assert_eq!(again.status.as_u16(), 303);
        assert_eq!(audited(&world.pool, "trip.stays"), 1);
        let stored = || -> Vec<i64> {
            let mut c = conn(&world.pool);
            trip_stays::table
                .filter(trip_stays::trip_id.eq(trip))
                .select(trip_stays::pupil_id)
                .order(trip_stays::pupil_id)
                .load(&mut *c)
                .unwrap()
        };
        let mut expected = vec![stay_a, stay_b];
        expected.sort_unstable();
        assert_eq!(stored(), expected);
        // a pupil of another school among those who go: refused, nothing changes
        let adult = world.ids.adult.to_string();
        let mut wrong = fields.clone();
        wrong.push(("goes", &adult));
        let refused = office.post(&stays_path, &wrong).await;
        assert_eq!(refused.status.as_u16(), 400);
        assert!(refused.body.contains("Välj bland gruppens elever."));
        assert_eq!(stored(), expected);
        // a teaching group that shares pupils with the class: its trip at the same time
        // overlaps, until those pupils stay at school for the class's trip
        let class_pupils: Vec<i64> = before.iter().map(|p| p.0).collect();
        // (a language group of three of the class's pupils)
        let shared: Vec<i64> = class_pupils[2..5].to_vec();
        let group: i64 = {
            let mut c = conn(&world.pool);
            let group = diesel::insert_into(groups::table)
                .values((
                    groups::school_id.eq(s1),
                    groups::name.eq("Spanska"),
                    groups::group_type.eq("teaching"),
                    groups::created_at.eq(chrono::Utc::now().naive_utc()),
                ))
                .returning(groups::id)
                .get_result(&mut *c)
                .unwrap();
            for p in &shared {
                diesel::insert_into(group_memberships::table)
                    .values((
                        group_memberships::group_id.eq(group),
                        group_memberships::pupil_id.eq(p),
                        group_memberships::start_date.eq(test_today() - Duration::days(30)),
                    ))
                    .execute(&mut *c)
                    .unwrap();
            }
            group
        };
        let second = [
            ("group", group.to_string()),
            ("title", "Museum".to_string()),
            ("first_day", test_today().to_string()),
            ("from_time", "10:00".to_string()),
            ("to_time", "12:00".to_string()),
            ("reason", reason(&world, "SKOLAKT").to_string()),
        ];
        let second: Vec<(&str, &str)> = second.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let overlapping = office.post(&path, &second).await;
        assert_eq!(overlapping.status.as_u16(), 400, "{}", overlapping.body);
        assert!(overlapping.body.contains("överlappar"));
        let goers: Vec<String> = class_pupils
            .iter()
            .filter(|p| !shared.contains(p))
            .map(|p| p.to_string())
            .collect();
        let mut fields: Vec<(&str, &str)> = vec![("trip", &trip_id)];
        fields.extend(goers.iter().map(|g| ("goes", g.as_str())));
        let saved = office.post(&stays_path, &fields).await;
        assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
        let added = office.post(&path, &second).await;
        assert_eq!(added.status.as_u16(), 303, "{kind:?}: {}", added.body);
        // and now they cannot go on the class's trip too
        let everyone: Vec<String> = class_pupils.iter().map(|p| p.to_string()).collect();
        let mut fields: Vec<(&str, &str)> = vec![("trip", &trip_id)];
        fields.extend(everyone.iter().map(|g| ("goes", g.as_str())));
        let refused = office.post(&stays_path, &fields).await;
        assert_eq!(refused.status.as_u16(), 400);
        assert!(refused.body.contains("överlappar"));
        let mut expected = shared.clone();
        expected.sort_unstable();
        assert_eq!(stored(), expected);

        // another school's principal does not reach the trip
        let mut other = Browser::open(&app).await;
        other.sign_in("other.principal", DEMO_PASSWORD).await;
        let elsewhere = other.post(&stays_path, &[("trip", &trip_id)]).await;
        assert_eq!(elsewhere.status.as_u16(), 404);
        assert_eq!(stored(), expected);
    }
}
