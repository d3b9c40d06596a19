//! `narvaro import` on both databases: an SS 12000 fixture and a OneRoster fixture, written
//! from the standards' field lists (tests/fixtures), import into an empty database;
//! re-importing changes nothing; a changed membership is updated and a person who
//! disappears is ended, not deleted; a bad row stores nothing and is named; and the roll
//! call and the guardian's report work on the imported school.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::browser::{api_get, api_token, conn, pool, Browser};
use crate::helpers::{backends, run_binary, TestApp};

const PASSWORD: &str = "importerad-lärare-1";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn today() -> NaiveDate {
    crate::helpers::test_today()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "narvaro-import-{name}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The SS 12000 fixture with its week of lessons moved to this week, changed by `edit`.
fn ss12000(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("ss12000/importskolan.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let monday = today() - Duration::days(today().weekday().num_days_from_monday() as i64);
    let shift = monday - NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    for e in doc["calendarEvents"].as_array_mut().unwrap() {
        for field in ["startTime", "endTime"] {
            let t =
                chrono::DateTime::parse_from_rfc3339(e[field].as_str().unwrap()).unwrap() + shift;
            e[field] = t.to_rfc3339().into();
        }
    }
    edit(&mut doc);
    let path = dir.join("importskolan.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

fn import(c: &mut DbConn, path: &Path) -> Result<narvaro::interop::import::Summary, String> {
    let tz = chrono_tz::Europe::Stockholm;
    narvaro::interop::import::run(
        c,
        path,
        Some(narvaro::interop::import::Mode::Full),
        tz,
        today(),
        crate::helpers::test_moment().naive_utc(),
        &narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes()),
    )
}

/// The id of the second person of an SS 12000 file.
fn bad_person_ext(path: &Path) -> String {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["persons"][1]["id"].as_str().unwrap().to_string()
}

/// Every table an import writes, counted.
fn counts(c: &mut DbConn) -> Vec<i64> {
    vec![
        organisations::table.count().get_result(c).unwrap(),
        people::table.count().get_result(c).unwrap(),
        guardianships::table.count().get_result(c).unwrap(),
        groups::table.count().get_result(c).unwrap(),
        group_memberships::table.count().get_result(c).unwrap(),
        duties::table.count().get_result(c).unwrap(),
        activities::table.count().get_result(c).unwrap(),
        activity_groups::table.count().get_result(c).unwrap(),
        activity_teachers::table.count().get_result(c).unwrap(),
        lessons::table.count().get_result(c).unwrap(),
        absence_reasons::table.count().get_result(c).unwrap(),
    ]
}

fn person(c: &mut DbConn, ext: &str) -> (i64, bool) {
    people::table
        .filter(people::external_id.eq(ext))
        .select((people::id, people::active))
        .first(c)
        .unwrap()
}

/// The municipality's IT gives an imported member of staff a password (an invitation, in
/// real life).
fn give_password(c: &mut DbConn, id: i64, username: &str) {
    let hash = narvaro::auth::password::hash(PASSWORD).unwrap();
    diesel::update(people::table.find(id))
        .set((
            people::username.eq(username),
            people::password_hash.eq(hash),
        ))
        .execute(c)
        .unwrap();
}

#[actix_web::test]
async fn an_ss12000_school_imports_reimports_as_nothing_and_works() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let dir = scratch("ss12000");
        let file = ss12000(&dir, |_| {});

        // the command line, into the empty database: it does not guess whether the file
        // is a snapshot or changes
        let url = app.db.url_string();
        let env = [
            ("DATABASE_URL", url.as_str()),
            // the server's secret: civic numbers are hashed under a key derived from it
            ("NARVARO_JWT_SECRET", crate::helpers::TEST_SECRET),
        ];
        let unsaid = run_binary(&["import", file.to_str().unwrap()], &env);
        let refusal = String::from_utf8_lossy(&unsaid.stderr).to_string();
        assert!(!unsaid.status.success());
        assert!(
            refusal.contains("--full") && refusal.contains("--changes"),
            "{refusal}"
        );
        let out = run_binary(&["import", "--full", file.to_str().unwrap()], &env);
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{said}");
        assert!(said.contains("added"), "{said}");
        let mut c = conn(&pool);
        let c = &mut *c;
        // 2 organisations, 7 people, 2 guardianships, 1 group, 3 memberships, 3 duties
        // (teacher, mentor, principal), 1 activity with its group and teacher, 7 lessons,
        // and the default absence reasons for the new municipality
        let first = counts(c);
        assert_eq!(first, vec![2, 7, 2, 1, 3, 3, 1, 1, 1, 7, 7]);
        let (cleo, _) = person(c, "5c3e8d10-0000-4000-8000-000000000003");
        let marking: String = people::table
            .find(cleo)
            .select(people::security_marking)
            .first(c)
            .unwrap();
        assert_eq!(marking, "protected");
        // the civic number is kept as a keyed hash only; the sign-in identifiers as sent
        let (alva, _) = person(c, "5c3e8d10-0000-4000-8000-000000000001");
        let civic: Option<String> = people::table
            .find(alva)
            .select(people::civic_no)
            .first(c)
            .unwrap();
        let key = narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes());
        assert_eq!(civic, key.hash("201303142384"), "{kind:?}");
        assert!(!civic.unwrap_or_default().contains("2384"));
        // a pupil's is sealed too, for the term report's file: it opens to the number
        let sealed: Option<String> = people::table
            .find(alva)
            .select(people::civic_sealed)
            .first(c)
            .unwrap();
        let sealed = sealed.expect("the pupil's civic number is sealed");
        assert!(!sealed.contains("2384"), "{sealed}");
        assert_eq!(key.open(&sealed).as_deref(), Some("201303142384"));
        let (lena, _) = person(c, "5c3e8d10-0000-4000-8000-000000000020");
        let ids: Vec<(String, Option<String>, String, bool)> = person_identifiers::table
            .filter(person_identifiers::person_id.eq(lena))
            .select((
                person_identifiers::kind,
                person_identifiers::context,
                person_identifiers::value,
                person_identifiers::globally_unique,
            ))
            .order(person_identifiers::id)
            .load(c)
            .unwrap();
        assert_eq!(
            ids,
            vec![
                (
                    "eppn".to_string(),
                    None,
                    "lena.larare@edu.importskolan.example".to_string(),
                    true
                ),
                (
                    "external".to_string(),
                    Some("http://importskolan.example/AD".to_string()),
                    "S-1-5-21-7-1004".to_string(),
                    false
                ),
            ]
        );

        // the same file again: nothing changes
        let again = import(c, &file).unwrap();
        assert_eq!(again.changes(), 0, "{again}");
        assert_eq!(counts(c), first);

        // Bo leaves 7A (an end date), Cleo is no longer in the source: updated and ended
        let ended = (today() - Duration::days(3)).to_string();
        let file2 = ss12000(&dir, |doc| {
            doc["groups"][0]["groupMemberships"][1]["endDate"] = ended.clone().into();
            let persons = doc["persons"].as_array_mut().unwrap();
            persons.retain(|p| p["id"] != "5c3e8d10-0000-4000-8000-000000000003");
            doc["groups"][0]["groupMemberships"]
                .as_array_mut()
                .unwrap()
                .retain(|m| m["person"]["id"] != "5c3e8d10-0000-4000-8000-000000000003");
        });
        let changed = import(c, &file2).unwrap();
        assert_eq!((changed.updated, changed.ended), (1, 1), "{changed}");
        assert_eq!(counts(c), first, "nothing duplicated, nothing deleted");
        let (bo, _) = person(c, "5c3e8d10-0000-4000-8000-000000000002");
        let bo_end: Option<NaiveDate> = group_memberships::table
            .filter(group_memberships::pupil_id.eq(bo))
            .select(group_memberships::end_date)
            .first(c)
            .unwrap();
        assert_eq!(bo_end.map(|d| d.to_string()), Some(ended.clone()));
        assert!(
            !person(c, "5c3e8d10-0000-4000-8000-000000000003").1,
            "Cleo is ended"
        );
        let cleo_end: Option<NaiveDate> = group_memberships::table
            .filter(group_memberships::pupil_id.eq(cleo))
            .select(group_memberships::end_date)
            .first(c)
            .unwrap();
        assert!(
            cleo_end.is_some(),
            "Cleo's membership is ended, not deleted"
        );

        // a record that cannot be read is left out and named (file, record, field), and
        // what names it with it; the rest is stored, and nobody is ended for it
        let before = counts(c);
        let bad_ext = "5c3e8d10-0000-4000-8000-000000000002";
        let memberships_of = |c: &mut DbConn| -> Vec<(NaiveDate, Option<NaiveDate>)> {
            group_memberships::table
                .filter(group_memberships::pupil_id.eq(person(c, bad_ext).0))
                .order(group_memberships::id)
                .select((group_memberships::start_date, group_memberships::end_date))
                .load(c)
                .unwrap()
        };
        let theirs = memberships_of(c);
        let bad = ss12000(&dir, |doc| {
            doc["persons"][0]["givenName"] = "Alva-Li".into();
            doc["persons"][1]["birthDate"] = "2013-02-30".into();
        });
        let said = import(c, &bad).unwrap();
        let note = said.notes.join("\n");
        assert!(
            note.contains("persons") && note.contains("row 2") && note.contains("birthDate"),
            "{note}"
        );
        assert_eq!(counts(c), before, "nothing added, nothing removed");
        let alva: String = people::table
            .filter(people::external_id.eq("5c3e8d10-0000-4000-8000-000000000001"))
            .select(people::given_name)
            .first(c)
            .unwrap();
        assert_eq!(alva, "Alva-Li", "the good record was stored");
        assert_eq!(bad_person_ext(&bad), bad_ext);
        let (_, active) = person(c, bad_ext);
        assert!(active, "the unreadable person was not ended");
        assert_eq!(memberships_of(c), theirs, "nor their memberships");
        import(c, &file).unwrap();
        let dangling = ss12000(&dir, |doc| {
            doc["activities"][0]["groups"][0]["id"] = "no-such-group".into();
        });
        let err = import(c, &dangling).unwrap_err();
        assert!(err.contains("no-such-group"), "{err}");
        // a civic number that is none is named, and what is stored stays
        let stored: Option<String> = people::table
            .filter(people::external_id.eq("5c3e8d10-0000-4000-8000-000000000001"))
            .select(people::civic_no)
            .first(c)
            .unwrap();
        let bad_civic = ss12000(&dir, |doc| {
            doc["persons"][0]["civicNo"]["value"] = "2013-03-14".into();
        });
        let said = import(c, &bad_civic).unwrap();
        let note = said.notes.join("\n");
        assert!(note.contains("civicNo.value"), "{note}");
        assert!(
            !note.contains("2013-03-14"),
            "the value is not repeated: {note}"
        );
        let now_stored: Option<String> = people::table
            .filter(people::external_id.eq("5c3e8d10-0000-4000-8000-000000000001"))
            .select(people::civic_no)
            .first(c)
            .unwrap();
        assert_eq!(now_stored, stored);
        import(c, &file).unwrap();

        // the roll call on the imported school: the teacher reports today's lesson
        let (lena, _) = person(c, "5c3e8d10-0000-4000-8000-000000000020");
        let (rune, _) = person(c, "5c3e8d10-0000-4000-8000-000000000021");
        give_password(c, lena, "lena.larare");
        give_password(c, rune, "rune.rektor");
        let (alva_id, _) = person(c, "5c3e8d10-0000-4000-8000-000000000001");
        let teacher = api_token(&app, "lena.larare", PASSWORD).await;
        let (status, day) = api_get(&app, Some(&teacher), "/api/v1/lessons").await;
        assert_eq!(status, 200, "{day}");
        let lesson = day["lessons"][0]["id"]
            .as_i64()
            .expect("today's imported lesson");
        let mut res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({"marks": [{"pupil_id": alva_id, "status": "late", "minutes": 10}]}))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{:?}", res.body().await);
        // the principal's statistics see it
        let principal = api_token(&app, "rune.rektor", PASSWORD).await;
        let school: i64 = organisations::table
            .filter(organisations::external_id.eq("9a1f0c2e-0000-4000-8000-000000000002"))
            .select(organisations::id)
            .first(c)
            .unwrap();
        let (status, stats) = api_get(
            &app,
            Some(&principal),
            &format!(
                "/api/v1/statistics/absence?scope=school&id={school}&from={}&to={}",
                today(),
                today()
            ),
        )
        .await;
        assert_eq!(status, 200, "{stats}");
        assert_eq!(stats["total"]["invalid_minutes"], 10, "{stats}");

        // the SS 12000 export names the imported records by the source's ids
        let (status, export) = api_get(
            &app,
            Some(&principal),
            &format!(
                "/api/ss12000/v2/attendances?startTime.onOrAfter={}&startTime.onOrBefore={}",
                today(),
                today()
            ),
        )
        .await;
        assert_eq!(status, 200, "{export}");
        let alva_row = export["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["student"]["id"] == "5c3e8d10-0000-4000-8000-000000000001")
            .cloned()
            .unwrap_or_else(|| panic!("Alva by her UUID in {export}"));
        assert!(
            alva_row["calendarEvent"]["id"]
                .as_str()
                .unwrap()
                .starts_with("e0000000-"),
            "{alva_row}"
        );
        assert_eq!(
            alva_row["reporter"]["id"],
            "5c3e8d10-0000-4000-8000-000000000020"
        );
        assert_eq!(alva_row["invalidAbsenceMinutes"], 10);
        let (_, agg) = api_get(&app, Some(&principal), &format!("/api/ss12000/v2/aggregatedAttendance?organisation=9a1f0c2e-0000-4000-8000-000000000002&startDate={}&endDate={}", today(), today())).await;
        assert!(
            agg["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["activity"]["id"] == "a0000000-0000-4000-8000-000000000001"),
            "{agg}"
        );

        // the guardian signs in with a link to her e-mail and reports Alva sick today
        let mut g = Browser::open(&app).await;
        g.get("/login").await;
        g.post("/login/link", &[("email", "maria.lind@example.com")])
            .await;
        crate::browser::deliver(&app).await;
        let link = crate::browser::last_link(&app, "/login/link/");
        let path = link.trim_start_matches(&app.address).to_string();
        g.get(&path).await;
        let signed_in = g.post(&path, &[]).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
        let done = g
            .post(
                &format!("/pupils/{alva_id}/absence-reports"),
                &[("quick", "sick_today")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let reports: i64 = absence_reports::table
            .filter(absence_reports::pupil_id.eq(alva_id))
            .count()
            .get_result(c)
            .unwrap();
        assert_eq!(reports, 1);

        // Maria disappears from the source (no longer Alva's guardian): she is ended like a
        // teacher who left, and the session she has stops working at once
        let without_maria = ss12000(&dir, |doc| {
            let persons = doc["persons"].as_array_mut().unwrap();
            persons.retain(|p| p["id"] != "5c3e8d10-0000-4000-8000-000000000010");
            for p in persons.iter_mut() {
                if let Some(r) = p.get_mut("responsibles").and_then(|r| r.as_array_mut()) {
                    r.retain(|x| x["person"]["id"] != "5c3e8d10-0000-4000-8000-000000000010");
                }
            }
        });
        let changed = import(c, &without_maria).unwrap();
        assert!(changed.ended >= 1, "{changed}");
        assert!(
            !person(c, "5c3e8d10-0000-4000-8000-000000000010").1,
            "Maria is ended"
        );
        let after = g.get(&format!("/pupils/{alva_id}")).await;
        assert_eq!(after.status, 303, "signed out, not a 404 in a live session");
        assert!(after
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login")));
        // Omar, still Bo's guardian, is not touched
        assert!(person(c, "5c3e8d10-0000-4000-8000-000000000011").1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[actix_web::test]
async fn a_oneroster_school_imports_reimports_as_nothing_and_works() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let mut c = conn(&pool);
        let c = &mut *c;
        let src = fixtures().join("oneroster");
        import(c, &src).unwrap();
        // 2 organisations, 5 users, 1 guardianship, 2 groups, 4 memberships, 3 duties
        // (teacher, mentor of 8B, principal), 1 activity (the scheduled class) with its
        // group and teacher, no lessons (OneRoster has no timetable), 7 reasons
        let first = counts(c);
        assert_eq!(first, vec![2, 5, 1, 2, 4, 3, 1, 1, 1, 0, 7]);
        // what a user signs in with: username and userIds ({type:identifier})
        let (dana_id, _) = person(c, "u-stud-1");
        let ids: Vec<(Option<String>, String)> = person_identifiers::table
            .filter(person_identifiers::person_id.eq(dana_id))
            .select((person_identifiers::context, person_identifiers::value))
            .order(person_identifiers::id)
            .load(c)
            .unwrap();
        assert_eq!(
            ids,
            vec![
                (Some("oneroster:username".into()), "dana.ny".into()),
                (Some("oneroster:Fed".into()), "dana.ny@edu.example".into()),
                (Some("oneroster:LDAP".into()), "1042".into()),
            ],
            "{kind:?}"
        );
        assert_eq!(import(c, &src).unwrap().changes(), 0);
        assert_eq!(counts(c), first);

        // a changed enrollment end date updates the membership; a removed student is ended
        let dir = scratch("oneroster");
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
        }
        let end = today() + Duration::days(30);
        let enrollments = std::fs::read_to_string(dir.join("enrollments.csv")).unwrap()
            .replace("enr-3,active,2026-08-01T00:00:00Z,class-8b-en,org-school,u-stud-1,student,false,2026-08-17,", &format!("enr-3,active,2026-09-01T00:00:00Z,class-8b-en,org-school,u-stud-1,student,false,2026-08-17,{end}"));
        std::fs::write(dir.join("enrollments.csv"), enrollments).unwrap();
        let users = std::fs::read_to_string(dir.join("users.csv"))
            .unwrap()
            .replace("u-stud-2,active,", "u-stud-2,tobedeleted,");
        std::fs::write(dir.join("users.csv"), users).unwrap();
        let enrollments = std::fs::read_to_string(dir.join("enrollments.csv")).unwrap();
        let kept: String = enrollments
            .lines()
            .filter(|l| !l.starts_with("enr-2,"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join("enrollments.csv"), kept).unwrap();
        let changed = import(c, &dir).unwrap();
        assert!(changed.updated >= 1 && changed.ended >= 1, "{changed}");
        let (dana, _) = person(c, "u-stud-1");
        let ends: Vec<Option<NaiveDate>> = group_memberships::table
            .filter(group_memberships::pupil_id.eq(dana))
            .select(group_memberships::end_date)
            .order(group_memberships::id)
            .load(c)
            .unwrap();
        assert_eq!(
            ends,
            vec![None, Some(end)],
            "Dana's English group ends, her class does not"
        );
        assert_eq!(counts(c), first, "nothing duplicated, nothing deleted");
        assert!(!person(c, "u-stud-2").1, "the removed student is ended");

        // a row that cannot be read is left out and named (file, row, field), with what
        // names it; the rest of the file is stored, and nothing of the bad records ends
        let before = counts(c);
        let open_of = |c: &mut DbConn| -> (i64, i64) {
            let memberships = group_memberships::table
                .filter(group_memberships::end_date.is_null())
                .count()
                .get_result(c)
                .unwrap();
            let duties = duties::table
                .filter(duties::end_date.is_null())
                .count()
                .get_result(c)
                .unwrap();
            (memberships, duties)
        };
        let open = open_of(c);
        let classes = std::fs::read_to_string(dir.join("classes.csv"))
            .unwrap()
            .replace(",homeroom,", ",lecture,");
        std::fs::write(dir.join("classes.csv"), classes).unwrap();
        let users = std::fs::read_to_string(dir.join("users.csv"))
            .unwrap()
            .replace("frida.ny@example.com", "frida.ny(at)example.com")
            .replace(",Gustav,Lu,", ",Gustav,Lund,");
        std::fs::write(dir.join("users.csv"), users).unwrap();
        let said = import(c, &dir).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let note = said.notes.join("\n");
        assert!(
            note.contains("classes.csv") && note.contains("row 2") && note.contains("classType"),
            "{kind:?}: {note}"
        );
        assert!(
            note.contains("users.csv") && note.contains("row 4") && note.contains("email"),
            "{kind:?}: {note}"
        );
        assert_eq!(counts(c), before, "nothing added, nothing removed");
        assert_eq!(open_of(c), open, "{kind:?}: no membership or duty ended");
        assert!(person(c, "u-parent-1").1, "Frida is not ended");
        let gustav: String = people::table
            .filter(people::external_id.eq("u-teach-1"))
            .select(people::family_name)
            .first(c)
            .unwrap();
        assert_eq!(gustav, "Lund", "the readable rows are stored");
        // an enrollment that names nothing cannot be left out safely: the import stops
        let enrollments = std::fs::read_to_string(dir.join("enrollments.csv"))
            .unwrap()
            .replace(
                "enr-1,active,2026-08-01T00:00:00Z,class-8b,org-school,u-stud-1,",
                "enr-1,active,2026-08-01T00:00:00Z,,org-school,,",
            );
        std::fs::write(dir.join("enrollments.csv"), enrollments).unwrap();
        let err = import(c, &dir).unwrap_err();
        assert!(err.contains("enrollments.csv"), "{err}");
        assert_eq!(counts(c), before);

        // the timetabling system adds lessons; the imported teacher reports one
        let activity: i64 = activities::table.select(activities::id).first(c).unwrap();
        let school: i64 = activities::table
            .select(activities::school_id)
            .first(c)
            .unwrap();
        let lesson: i64 = diesel::insert_into(lessons::table)
            .values((
                lessons::activity_id.eq(activity),
                lessons::school_id.eq(school),
                lessons::lesson_date.eq(today()),
                lessons::starts_at.eq(NaiveTime::from_hms_opt(0, 0, 0).unwrap()),
                lessons::ends_at.eq(NaiveTime::from_hms_opt(0, 40, 0).unwrap()),
                lessons::teaching_minutes.eq(40),
            ))
            .returning(lessons::id)
            .get_result(c)
            .unwrap();
        let (gustav, _) = person(c, "u-teach-1");
        give_password(c, gustav, "gustav.lu");
        let (dana, _) = person(c, "u-stud-1");
        let teacher = api_token(&app, "gustav.lu", PASSWORD).await;
        let mut res = app
            .client
            .put(app.url(&format!("/api/v1/lessons/{lesson}/roll-call")))
            .insert_header(("Authorization", format!("Bearer {teacher}")))
            .send_json(&json!({"marks": [{"pupil_id": dana, "status": "absent"}]}))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{:?}", res.body().await);
        // the parent signs in by link and sees Dana
        let mut g = Browser::open(&app).await;
        g.get("/login").await;
        g.post("/login/link", &[("email", "frida.ny@example.com")])
            .await;
        crate::browser::deliver(&app).await;
        let link = crate::browser::last_link(&app, "/login/link/");
        let path = link.trim_start_matches(&app.address).to_string();
        g.get(&path).await;
        g.post(&path, &[]).await;
        let page = g.get(&format!("/pupils/{dana}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Dana Ny"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[actix_web::test]
async fn every_official_enum_value_of_ss12000_imports() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let dir = scratch("ss12000-enums");
        let huvudman = "9a1f0c2e-0000-4000-8000-000000000001";
        let school = "9a1f0c2e-0000-4000-8000-000000000002";
        let class = "7b2d4f00-0000-4000-8000-000000000001";
        let file = ss12000(&dir, |doc| {
            // every level of OrganisationTypeEnum between the principal organiser and the
            // school unit; the school hangs under two of them
            let orgs = doc["organisations"].as_array_mut().unwrap();
            let mut parent = huvudman.to_string();
            for (i, level) in [
                "Verksamhetsområde",
                "Förvaltning",
                "Rektorsområde",
                "Varumärke",
                "Bolag",
                "Övrigt",
            ]
            .iter()
            .enumerate()
            {
                let id = format!("9a1f0c2e-0000-4000-8000-00000000010{i}");
                orgs.push(json!({"id": id, "displayName": level, "organisationType": level, "parentOrganisation": {"id": parent}}));
                if i < 2 {
                    parent = id;
                }
            }
            orgs[1]["parentOrganisation"]["id"] = parent.clone().into();
            orgs.push(json!({"id": "9a1f0c2e-0000-4000-8000-000000000003", "displayName": "Skolan", "organisationType": "Skola", "schoolTypes": ["GY"], "parentOrganisation": {"id": parent}}));
            // every GroupTypesEnum value; those without attendance are skipped
            let groups = doc["groups"].as_array_mut().unwrap();
            groups[0]["groupMemberships"][0]
                .as_object_mut()
                .unwrap()
                .remove("startDate");
            for (i, t) in [
                "Provgrupp",
                "Avdelning",
                "Personalgrupp",
                "Övrigt",
                "Schema",
                "Mentor",
            ]
            .iter()
            .enumerate()
            {
                groups.push(json!({"id": format!("7b2d4f00-0000-4000-8000-00000000010{i}"), "displayName": t, "groupType": t,
                    "organisation": {"id": school},
                    "groupMemberships": [{"person": {"id": "5c3e8d10-0000-4000-8000-000000000001"}, "startDate": "2026-08-17"}]}));
            }
            let activity = &mut doc["activities"][0];
            activity["groups"]
                .as_array_mut()
                .unwrap()
                .push(json!({"id": "7b2d4f00-0000-4000-8000-000000000100"}));
            // duty roles: those that teach are teachers and mentors, elevhälsan's members
            // are its members; others give no access
            let duties = doc["duties"].as_array_mut().unwrap();
            duties.push(json!({"id": "d0000000-0000-4000-8000-000000000003", "person": {"id": "5c3e8d10-0000-4000-8000-000000000021"},
                "dutyAt": {"id": "9a1f0c2e-0000-4000-8000-000000000101"}, "dutyRole": "Bibliotekarie", "startDate": "2026-08-01"}));
            duties.push(json!({"id": "d0000000-0000-4000-8000-000000000004", "person": {"id": "5c3e8d10-0000-4000-8000-000000000021"},
                "dutyAt": {"id": "9a1f0c2e-0000-4000-8000-000000000101"}, "dutyRole": "Kurator", "startDate": "2026-08-01"}));
            duties[0]["dutyRole"] = "Förstelärare".into();
            duties[0]["assignmentRole"][0]["group"]["id"] = class.into();
            let persons = doc["persons"].as_array_mut().unwrap();
            let teacher = persons
                .iter_mut()
                .find(|p| p["id"] == "5c3e8d10-0000-4000-8000-000000000020")
                .unwrap();
            teacher["emails"] = json!([{"value": "lena.privat@example.com", "type": "Privat"}, {"value": "lena.larare@importskolan.example", "type": "Skola personal"}]);
            // the registered municipality: the Folkbokföring address's code, a number or
            // a string; an address without a type is one
            teacher["addresses"] = json!([{"municipalityCode": "0180"}]);
            // telephone numbers: the first mobile one that is a number, in E.164; text that
            // is no number is left out
            teacher["phoneNumbers"] = json!([{"value": "08-123 456 78", "type": "Arbete", "mobile": false},
                {"value": "ring växeln", "type": "Arbete"}, {"value": "070-999 88 77", "type": "Hem"}]);
            let alva = persons
                .iter_mut()
                .find(|p| p["id"] == "5c3e8d10-0000-4000-8000-000000000001")
                .unwrap();
            alva["addresses"] = json!([{"type": "Särskildpostadress", "municipalityCode": 1280}, {"type": "Folkbokföring", "municipalityCode": 184}]);
            let orgs = doc["organisations"].as_array_mut().unwrap();
            let top = orgs.iter_mut().find(|o| o["id"] == huvudman).unwrap();
            top["municipalityCode"] = "0180".into();
        });
        let mut c = conn(&pool);
        let c = &mut *c;
        let summary = import(c, &file).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let notes = summary.notes.join("\n");
        for said in [
            "Provgrupp",
            "Avdelning",
            "Personalgrupp",
            "Övrigt has no attendance",
            "6 organisation level(s)",
            "Bibliotekarie gives no access",
        ] {
            assert!(notes.contains(said), "{kind:?}: {said} in {notes}");
        }
        // the school hangs under the principal organiser; no level is stored
        let parent_of = |c: &mut DbConn, ext: &str| -> Option<String> {
            let parent: Option<i64> = organisations::table
                .filter(organisations::external_id.eq(ext))
                .select(organisations::parent_id)
                .first(c)
                .unwrap();
            parent.map(|p| {
                organisations::table
                    .find(p)
                    .select(organisations::external_id.assume_not_null())
                    .first(c)
                    .unwrap()
            })
        };
        assert_eq!(parent_of(c, school).as_deref(), Some(huvudman));
        assert_eq!(
            parent_of(c, "9a1f0c2e-0000-4000-8000-000000000003").as_deref(),
            Some(huvudman)
        );
        let orgs: i64 = organisations::table.count().get_result(c).unwrap();
        assert_eq!(orgs, 3, "{kind:?}: the municipality and two schools");
        // the Förstelärare teaches and mentors 7A; staff are written to at school
        let (teacher, _) = person(c, "5c3e8d10-0000-4000-8000-000000000020");
        let roles: Vec<String> = duties::table
            .filter(duties::person_id.eq(teacher))
            .select(duties::role)
            .order(duties::role)
            .load(c)
            .unwrap();
        assert_eq!(roles, ["mentor", "teacher"], "{kind:?}");
        let email: Option<String> = people::table
            .find(teacher)
            .select(people::email)
            .first(c)
            .unwrap();
        assert_eq!(email.as_deref(), Some("lena.larare@importskolan.example"));
        // the Kurator is a member of elevhälsan; the Bibliotekarie duty gives nothing
        let (kurator, _) = person(c, "5c3e8d10-0000-4000-8000-000000000021");
        let roles: Vec<String> = duties::table
            .filter(duties::person_id.eq(kurator))
            .select(duties::role)
            .load(c)
            .unwrap();
        assert!(roles.contains(&"health".to_string()), "{kind:?}: {roles:?}");
        assert_eq!(roles.iter().filter(|r| *r == "health").count(), 1);
        let codes: Vec<(Option<String>, Option<String>)> = people::table
            .filter(people::external_id.eq_any([
                "5c3e8d10-0000-4000-8000-000000000001",
                "5c3e8d10-0000-4000-8000-000000000020",
            ]))
            .select((people::external_id, people::municipality_code))
            .order(people::external_id)
            .load(c)
            .unwrap();
        assert_eq!(
            codes,
            vec![
                (
                    Some("5c3e8d10-0000-4000-8000-000000000001".into()),
                    Some("0184".into())
                ),
                (
                    Some("5c3e8d10-0000-4000-8000-000000000020".into()),
                    Some("0180".into())
                ),
            ],
            "{kind:?}"
        );
        let phone: Option<String> = people::table
            .filter(people::external_id.eq("5c3e8d10-0000-4000-8000-000000000020"))
            .select(people::phone)
            .first(c)
            .unwrap();
        assert_eq!(phone.as_deref(), Some("+46709998877"), "{kind:?}");
        let own: Option<String> = organisations::table
            .filter(organisations::external_id.eq(huvudman))
            .select(organisations::municipality_code)
            .first(c)
            .unwrap();
        assert_eq!(own.as_deref(), Some("0180"), "{kind:?}");
        // the kept group types, and a membership without a start date is one since always
        let groups: i64 = groups::table.count().get_result(c).unwrap();
        assert_eq!(groups, 3, "{kind:?}: Klass, Schema and Mentor");
        let (alva, _) = person(c, "5c3e8d10-0000-4000-8000-000000000001");
        let start: chrono::NaiveDate = group_memberships::table
            .inner_join(groups::table)
            .filter(groups::external_id.eq(class))
            .filter(group_memberships::pupil_id.eq(alva))
            .select(group_memberships::start_date)
            .first(c)
            .unwrap();
        assert_eq!(start, narvaro::interop::import::ss12000::SINCE_ALWAYS);
        // and the same file again changes nothing
        let again = import(c, &file).unwrap();
        assert_eq!(again.changes(), 0, "{kind:?}: {again}");
    }
}

#[actix_web::test]
async fn a_oneroster_school_without_a_district_and_with_departments_imports() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let mut c = conn(&pool);
        let c = &mut *c;
        let src = fixtures().join("oneroster");
        let dir = scratch("oneroster-no-district");
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
        }
        // no district; a department under the school, which a scheduled class names
        let orgs = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n\
            org-school,active,2026-08-01T00:00:00Z,Rosterskolan,school,87654321,\n\
            org-dept,active,2026-08-01T00:00:00Z,Språkinstitutionen,department,,org-school\n";
        std::fs::write(dir.join("orgs.csv"), orgs).unwrap();
        let classes = std::fs::read_to_string(dir.join("classes.csv"))
            .unwrap()
            .replace("scheduled,B12,org-school,", "scheduled,B12,org-dept,");
        std::fs::write(dir.join("classes.csv"), classes).unwrap();
        let summary = import(c, &dir).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let notes = summary.notes.join("\n");
        assert!(notes.contains("Rosterskolan has no district"), "{notes}");
        assert!(notes.contains("1 organisation level(s)"), "{notes}");
        // the school hangs from the one implicit municipality; the department is no school
        let school: (i64, Option<i64>) = organisations::table
            .filter(organisations::external_id.eq("org-school"))
            .select((organisations::id, organisations::parent_id))
            .first(c)
            .unwrap();
        let above: String = organisations::table
            .find(school.1.unwrap())
            .select(organisations::external_id.assume_not_null())
            .first(c)
            .unwrap();
        assert_eq!(
            above,
            narvaro::interop::import::oneroster::IMPLICIT_DISTRICT
        );
        let orgs: i64 = organisations::table.count().get_result(c).unwrap();
        assert_eq!(orgs, 2, "{kind:?}");
        // the class the department named belongs to the school
        let group_school: i64 = groups::table
            .filter(groups::external_id.eq("class-8b-en"))
            .select(groups::school_id)
            .first(c)
            .unwrap();
        assert_eq!(group_school, school.0);
        assert_eq!(
            import(c, &dir).unwrap().changes(),
            0,
            "{kind:?}: the same again"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The school's register lists several addresses for a guardian (SS 12000 `emails`, each
/// with its Code_EmailType): all are kept, the private one gets messages until the guardian
/// chooses another on "My account", any of them signs in, and a later import changes the
/// list but not the choice. A type the standard does not define leaves the record out.
#[actix_web::test]
async fn a_guardian_chooses_which_of_the_registers_addresses_gets_messages() {
    const OMAR: &str = "5c3e8d10-0000-4000-8000-000000000011";
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let dir = scratch("emails");
        let with = |list: Value| {
            ss12000(&dir, move |doc| {
                let persons = doc["persons"].as_array_mut().unwrap();
                let omar = persons.iter_mut().find(|p| p["id"] == OMAR).unwrap();
                omar["emails"] = list;
            })
        };
        let file = with(json!([
            {"value": "omar.jobb@example.com", "type": "Arbete övrigt"},
            {"value": "Omar.Ek@example.com", "type": "Privat"}
        ]));
        let mut c = conn(&pool);
        let c = &mut *c;
        import(c, &file).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let (omar, _) = person(c, OMAR);
        let stored = |c: &mut DbConn| -> (Option<String>, bool, Vec<(String, String)>) {
            let (email, chosen) = people::table
                .find(omar)
                .select((people::email, people::email_chosen))
                .first(c)
                .unwrap();
            let list = person_emails::table
                .filter(person_emails::person_id.eq(omar))
                .order(person_emails::id)
                .select((person_emails::kind, person_emails::address))
                .load(c)
                .unwrap();
            (email, chosen, list)
        };
        let pair = |k: &str, a: &str| (k.to_string(), a.to_string());
        assert_eq!(
            stored(c),
            (
                Some("omar.ek@example.com".into()),
                false,
                vec![
                    pair("Arbete övrigt", "omar.jobb@example.com"),
                    pair("Privat", "omar.ek@example.com")
                ]
            ),
            "{kind:?}: a guardian is written to privately; every address is kept"
        );

        // the work address, though not where messages go, signs Omar in; the link goes there
        let mut g = Browser::open(&app).await;
        g.get("/login").await;
        g.post("/login/link", &[("email", "omar.jobb@example.com")])
            .await;
        crate::browser::deliver(&app).await;
        let mail = crate::browser::mails(&app).pop().expect("a sign-in e-mail");
        assert!(mail.contains("To: omar.jobb@example.com"), "{mail}");
        let link = crate::browser::last_link(&app, "/login/link/");
        let path = link.trim_start_matches(&app.address).to_string();
        g.get(&path).await;
        assert_eq!(g.post(&path, &[]).await.status, 303);

        // "My account" offers the register's addresses; Omar chooses the work one
        let page = g.get("/account").await;
        assert!(
            page.body.contains(r#"value="omar.jobb@example.com""#)
                && page.body.contains("arbete")
                && page.body.contains(r#"value="other""#),
            "{}",
            page.body
        );
        let refused = g
            .post(
                "/account/settings",
                &[("choice", "someone.else@example.com"), ("language", "sv")],
            )
            .await;
        assert_eq!(refused.status, 400, "an address not in the list");
        assert!(refused.body.contains("Välj en av adresserna"));
        assert!(!stored(c).1, "nothing changed");
        let saved = g
            .post(
                "/account/settings",
                &[
                    ("choice", "omar.jobb@example.com"),
                    ("email", ""),
                    ("language", "sv"),
                    ("receive_confirmations", "1"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert_eq!(
            stored(c).0.as_deref(),
            Some("omar.jobb@example.com"),
            "{kind:?}"
        );
        assert!(stored(c).1, "chosen by Omar");
        // a mobile number: what is not one is refused and nothing stored; one is kept in
        // E.164 as Omar's own
        let phone_of = |c: &mut DbConn| -> (Option<String>, bool) {
            people::table
                .filter(people::external_id.eq("5c3e8d10-0000-4000-8000-000000000011"))
                .select((people::phone, people::phone_chosen))
                .first(c)
                .unwrap()
        };
        let omar = [("choice", "omar.jobb@example.com"), ("language", "sv")];
        let mut wrong = omar.to_vec();
        wrong.push(("phone", "sjuttio"));
        let refused = g.post("/account/settings", &wrong).await;
        assert_eq!(refused.status, 400, "{kind:?}");
        assert!(
            refused
                .body
                .contains("Skriv ett telefonnummer med bara siffror"),
            "{kind:?}"
        );
        assert_eq!(phone_of(c), (None, false), "{kind:?}");
        let mut right = omar.to_vec();
        right.extend([("phone", "070-123 45 67"), ("receive_confirmations", "1")]);
        assert_eq!(g.post("/account/settings", &right).await.status, 303);
        assert_eq!(phone_of(c), (Some("+46701234567".into()), true), "{kind:?}");
        // Omar reads Somali; the register has no language (SS 12000 v2.1 Person carries
        // none), so no import changes it
        assert_eq!(g.post("/lang", &[("lang", "so")]).await.status, 303);

        // the register changes the private address: the list follows, the choice stays
        let moved = with(json!([
            {"value": "omar.jobb@example.com", "type": "Arbete övrigt"},
            {"value": "omar.ny@example.com", "type": "Privat"}
        ]));
        let changed = import(c, &moved).unwrap();
        assert_eq!(changed.updated, 1, "{kind:?}: {changed}");
        let language: String = people::table
            .filter(people::external_id.eq("5c3e8d10-0000-4000-8000-000000000011"))
            .select(people::language)
            .first(c)
            .unwrap();
        assert_eq!(
            language, "so",
            "{kind:?}: the import keeps the person's language"
        );
        let (email, chosen, list) = stored(c);
        assert_eq!(
            (email.as_deref(), chosen),
            (Some("omar.jobb@example.com"), true)
        );
        assert_eq!(list[1], pair("Privat", "omar.ny@example.com"));
        assert_eq!(
            phone_of(c).0.as_deref(),
            Some("+46701234567"),
            "{kind:?}: the number Omar set stays"
        );
        assert_eq!(import(c, &moved).unwrap().changes(), 0, "{kind:?}");

        // and a confirmation of Omar's own report goes to the address he chose
        let (bo, _) = person(c, "5c3e8d10-0000-4000-8000-000000000002");
        let done = g
            .post(
                &format!("/pupils/{bo}/absence-reports"),
                &[("quick", "sick_today")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        crate::browser::deliver(&app).await;
        let confirmation = crate::browser::mails(&app).pop().unwrap();
        assert!(
            confirmation.contains("To: omar.jobb@example.com"),
            "{confirmation}"
        );

        // a type the standard does not define: Omar's record is left out and named, and
        // nothing of him changes
        let before = stored(c);
        let wrong = with(json!([{"value": "omar.ek@example.com", "type": "Hem"}]));
        let said = import(c, &wrong).unwrap();
        let note = said.notes.join("\n");
        assert!(
            note.contains("emails[0].type") && note.contains("'Hem'"),
            "{kind:?}: {note}"
        );
        assert_eq!(stored(c), before);
        assert!(person(c, OMAR).1, "not ended for it");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A snapshot that no longer holds a lesson cancels it, from today on and inside the days
/// its calendar covers, in its own schools; a past lesson, a lesson outside those days and
/// a lesson made by hand stay; and when a calendar event cannot be read nothing is
/// cancelled for missing.
#[actix_web::test]
async fn a_snapshot_cancels_the_lessons_it_no_longer_holds() {
    const PAST: &str = "e0000000-0000-4000-8000-000000000001";
    const FUTURE: &str = "e0000000-0000-4000-8000-000000000005";
    const LAST: &str = "e0000000-0000-4000-8000-000000000007";
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let dir = scratch("cancel");
        let mut c = conn(&pool);
        let c = &mut *c;
        import(c, &ss12000(&dir, |_| {})).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let cancelled = |c: &mut DbConn, ext: &str| -> bool {
            lessons::table
                .filter(lessons::external_id.eq(ext))
                .select(lessons::cancelled)
                .first(c)
                .unwrap()
        };
        // a lesson the school made itself, on a day the snapshot covers
        let (activity, school): (i64, i64) = activities::table
            .select((activities::id, activities::school_id))
            .first(c)
            .unwrap();
        let by_hand: i64 = diesel::insert_into(lessons::table)
            .values((
                lessons::activity_id.eq(activity),
                lessons::school_id.eq(school),
                lessons::lesson_date.eq(today() + Duration::days(1)),
                lessons::starts_at.eq(NaiveTime::from_hms_opt(13, 0, 0).unwrap()),
                lessons::ends_at.eq(NaiveTime::from_hms_opt(13, 40, 0).unwrap()),
                lessons::teaching_minutes.eq(40),
            ))
            .returning(lessons::id)
            .get_result(c)
            .unwrap();
        let without = |doc: &mut Value, gone: &[&str]| {
            doc["calendarEvents"]
                .as_array_mut()
                .unwrap()
                .retain(|e| !gone.contains(&e["id"].as_str().unwrap()));
        };
        // a calendar event cannot be read: nothing is cancelled for missing
        let unreadable = ss12000(&dir, |doc| {
            without(doc, &[FUTURE]);
            doc["calendarEvents"][0]["startTime"] = "Monday morning".into();
        });
        let said = import(c, &unreadable).unwrap();
        assert!(
            said.notes.join("\n").contains("no lesson was cancelled"),
            "{kind:?}: {said}"
        );
        assert!(!cancelled(c, FUTURE), "{kind:?}");

        let gone = ss12000(&dir, |doc| without(doc, &[PAST, FUTURE, LAST]));
        let changed = import(c, &gone).unwrap();
        assert!(
            cancelled(c, FUTURE),
            "{kind:?}: a coming lesson no longer held"
        );
        assert!(!cancelled(c, PAST), "{kind:?}: a lesson that has been");
        assert!(
            !cancelled(c, LAST),
            "{kind:?}: a day the snapshot's calendar no longer covers"
        );
        let hand: bool = lessons::table
            .find(by_hand)
            .select(lessons::cancelled)
            .first(c)
            .unwrap();
        assert!(!hand, "{kind:?}: a lesson made by hand");
        assert_eq!(changed.ended, 1, "{kind:?}: {changed}");
        assert_eq!(import(c, &gone).unwrap().changes(), 0, "{kind:?}");
        // the lesson back in the source is no longer cancelled
        import(c, &ss12000(&dir, |_| {})).unwrap();
        assert!(!cancelled(c, FUTURE), "{kind:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[actix_web::test]
async fn a_guardians_civic_number_is_only_hashed_and_a_pupils_seal_follows_the_source() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let dir = scratch("ss12000-seal");
        let key = narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes());
        let guardian = "5c3e8d10-0000-4000-8000-000000000010";
        let with_guardians_number = ss12000(&dir, |doc| {
            doc["persons"][3]["civicNo"] =
                serde_json::json!({"value": "19800101-2387", "nationality": "SE"});
        });
        let c = &mut *conn(&pool);
        import(c, &with_guardians_number).unwrap();
        let stored = |c: &mut DbConn, ext: &str| -> (Option<String>, Option<String>) {
            people::table
                .filter(people::external_id.eq(ext))
                .select((people::civic_no, people::civic_sealed))
                .first(c)
                .unwrap()
        };
        assert_eq!(
            stored(c, guardian),
            (key.hash("198001012387"), None),
            "{kind:?}: a guardian's number is hashed, never sealed"
        );
        let pupil = "5c3e8d10-0000-4000-8000-000000000001";
        let (_, sealed) = stored(c, pupil);
        assert_eq!(key.open(&sealed.unwrap()).as_deref(), Some("201303142384"));
        // a new number from the source seals anew; none leaves nothing behind
        let renumbered = ss12000(&dir, |doc| {
            doc["persons"][0]["civicNo"]["value"] = "201303142392".into();
        });
        import(c, &renumbered).unwrap();
        let (hash, sealed) = stored(c, pupil);
        assert_eq!(hash, key.hash("201303142392"));
        assert_eq!(key.open(&sealed.unwrap()).as_deref(), Some("201303142392"));
        let unnumbered = ss12000(&dir, |doc| {
            doc["persons"][0].as_object_mut().unwrap().remove("civicNo");
        });
        import(c, &unnumbered).unwrap();
        assert_eq!(stored(c, pupil), (None, None));
    }
}

#[actix_web::test]
async fn a_civic_number_stored_in_plain_text_is_hashed_when_the_server_starts() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = crate::fixtures::build(&app);
        let child = world.ids.child;
        let civic = |c: &mut DbConn| -> Option<String> {
            people::table
                .find(child)
                .select(people::civic_no)
                .first(c)
                .unwrap()
        };
        {
            // as a version before the hash left it
            let mut c = conn(&world.pool);
            diesel::update(people::table.find(child))
                .set(people::civic_no.eq("20140101-2383"))
                .execute(&mut *c)
                .unwrap();
        }
        let _another = narvaro::startup::open_state(app.config.clone()).unwrap();
        let key = narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes());
        let mut c = conn(&world.pool);
        assert_eq!(civic(&mut c), key.hash("201401012383"), "{kind:?}");
        // the child is a pupil (a person with a school): the number is sealed too
        let sealed: Option<String> = people::table
            .find(child)
            .select(people::civic_sealed)
            .first(&mut *c)
            .unwrap();
        assert_eq!(
            sealed.and_then(|s| key.open(&s)).as_deref(),
            Some("201401012383")
        );
    }
}

/// An SS 12000 file of changes: the lists given, and `deletedEntities`.
fn changes_file(dir: &Path, name: &str, doc: Value) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

fn import_as(
    c: &mut DbConn,
    path: &Path,
    mode: narvaro::interop::import::Mode,
) -> Result<narvaro::interop::import::Summary, String> {
    narvaro::interop::import::run(
        c,
        path,
        Some(mode),
        chrono_tz::Europe::Stockholm,
        today(),
        crate::helpers::test_moment().naive_utc(),
        &narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes()),
    )
}

/// (start, end) of every membership of a person, in start order.
fn memberships_of(c: &mut DbConn, pupil: i64) -> Vec<(NaiveDate, Option<NaiveDate>)> {
    group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .select((group_memberships::start_date, group_memberships::end_date))
        .order(group_memberships::start_date)
        .load(c)
        .unwrap()
}

#[actix_web::test]
async fn deletions_from_the_source_end_what_they_name_and_are_reported() {
    use narvaro::interop::import::Mode::{Changes, Full};
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let mut c = conn(&pool);
        let dir = scratch("deletions");
        let yesterday = today() - Duration::days(1);
        // Alva's class membership ends next summer, and she starts a language group later
        let full = ss12000(&dir, |d| {
            d["groups"][0]["groupMemberships"][0]["endDate"] = json!("2027-06-30");
            let later = (today() + Duration::days(20)).to_string();
            d["groups"][0]["groupMemberships"]
                .as_array_mut()
                .unwrap()
                .push(json!({"person": {"id": "5c3e8d10-0000-4000-8000-000000000001"}, "startDate": later}));
        });
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&full).unwrap()).unwrap();
        import_as(&mut c, &full, Full).unwrap();
        let alva_ext = "5c3e8d10-0000-4000-8000-000000000001";
        let (alva, active) = person(&mut c, alva_ext);
        assert!(active);
        assert_eq!(memberships_of(&mut c, alva).len(), 2);

        // (a) the source deletes her: the membership that ran into the future ends
        // yesterday, the one not started yet goes, and she is off every roll call
        let deleted = changes_file(
            &dir,
            "deleted",
            json!({"deletedEntities": {"persons": [alva_ext]}}),
        );
        import_as(&mut c, &deleted, Changes).unwrap();
        assert!(!person(&mut c, alva_ext).1, "{kind:?}: ended");
        assert_eq!(
            memberships_of(&mut c, alva),
            vec![(
                NaiveDate::from_ymd_opt(2026, 8, 17).unwrap(),
                Some(yesterday)
            )],
            "{kind:?}: no membership of hers runs on"
        );

        // (c) a changes run whose class still lists her opens nothing again, and says so
        let class = doc["groups"][0].clone();
        let relisted = changes_file(&dir, "relisted", json!({"groups": [class]}));
        let sum = import_as(&mut c, &relisted, Changes).unwrap();
        assert_eq!(
            memberships_of(&mut c, alva),
            vec![(
                NaiveDate::from_ymd_opt(2026, 8, 17).unwrap(),
                Some(yesterday)
            )],
            "{kind:?}: the deleted person's membership stays ended"
        );
        assert!(
            sum.notes
                .iter()
                .any(|n| n.contains("left out") && n.contains(alva_ext)),
            "{kind:?}: {:?}",
            sum.notes
        );
        // ... and a whole snapshot without her, whose class still lists her, is taken
        let snapshot = ss12000(&dir, |d| {
            d["persons"]
                .as_array_mut()
                .unwrap()
                .retain(|p| p["id"] != alva_ext);
        });
        let sum = import_as(&mut c, &snapshot, Full)
            .unwrap_or_else(|e| panic!("{kind:?}: the snapshot was refused: {e}"));
        assert!(
            sum.notes.iter().any(|n| n.contains("left out")),
            "{kind:?}: {:?}",
            sum.notes
        );
        assert!(!person(&mut c, alva_ext).1);
        assert_eq!(memberships_of(&mut c, alva).len(), 1);

        // (b) created again with the same id: the stale deletion in the same run loses
        let alva_record = doc["persons"][0].clone();
        let back = changes_file(
            &dir,
            "back",
            json!({"persons": [alva_record], "deletedEntities": {"persons": [alva_ext]}}),
        );
        import_as(&mut c, &back, Changes).unwrap();
        assert!(person(&mut c, alva_ext).1, "{kind:?}: she is back");

        // (d) a deleted school unit is named in the report, not silently ignored
        let school = doc["groups"][0]["organisation"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let gone_school = changes_file(
            &dir,
            "school",
            json!({"deletedEntities": {"organisations": [school]}}),
        );
        let sum = import_as(&mut c, &gone_school, Changes).unwrap();
        assert!(
            sum.notes.iter().any(
                |n| n.contains("organisation(s) the source deleted were kept")
                    && n.contains(&school)
            ),
            "{kind:?}: {:?}",
            sum.notes
        );
    }
}

/// Every list of a structure export checked against the published v2.1 components; the
/// errors, by list, record and path.
fn invalid_in(doc: &Value) -> Vec<String> {
    use crate::ss12000_schema as schema;
    let lists = [
        ("organisations", schema::organisation()),
        ("persons", schema::person()),
        ("groups", schema::group()),
        ("duties", schema::duty()),
        ("syllabuses", schema::syllabus()),
        ("activities", schema::activity()),
        ("calendarEvents", schema::calendar_event()),
    ];
    let mut out = Vec::new();
    for (list, s) in lists {
        let records = doc[list].as_array().cloned().unwrap_or_default();
        assert!(!records.is_empty(), "the export holds {list}");
        for (i, r) in records.iter().enumerate() {
            out.extend(
                schema::check(r, &s)
                    .into_iter()
                    .map(|e| format!("{list}[{i}] {e}")),
            );
        }
    }
    out
}

fn export_of(c: &mut DbConn) -> Value {
    narvaro::interop::ss12000::structure::export(
        c,
        chrono_tz::Europe::Stockholm,
        crate::helpers::test_moment().naive_utc(),
    )
    .unwrap()
}

/// What an import keeps, by the records' uuids, for comparing two databases: people with
/// their sign-in identifiers, groups with their school year and members, duties with the
/// source's ids, activities with their groups and teachers, and the lessons.
#[allow(clippy::type_complexity)]
fn kept(c: &mut DbConn) -> Vec<String> {
    let mut out = Vec::new();
    let people: Vec<(i64, Option<String>, String, String, String, Option<i64>)> = people::table
        .filter(people::active.eq(true))
        .select((
            people::id,
            people::uuid,
            people::given_name,
            people::family_name,
            people::security_marking,
            people::school_id,
        ))
        .load(c)
        .unwrap();
    for (id, uuid, given, family, marking, school) in people {
        let mut ids: Vec<(String, Option<String>, String, bool)> = person_identifiers::table
            .filter(person_identifiers::person_id.eq(id))
            .select((
                person_identifiers::kind,
                person_identifiers::context,
                person_identifiers::value,
                person_identifiers::globally_unique,
            ))
            .load(c)
            .unwrap();
        ids.sort();
        out.push(format!(
            "person {uuid:?} {given} {family} {marking} school:{} {ids:?}",
            school.is_some()
        ));
    }
    let groups: Vec<(i64, Option<String>, String, String, Option<i32>)> = groups::table
        .select((
            groups::id,
            groups::uuid,
            groups::name,
            groups::group_type,
            groups::school_year,
        ))
        .load(c)
        .unwrap();
    for (id, uuid, name, kind, year) in groups {
        let members: i64 = group_memberships::table
            .filter(group_memberships::group_id.eq(id))
            .count()
            .get_result(c)
            .unwrap();
        out.push(format!("group {uuid:?} {name} {kind} {year:?} {members}"));
    }
    let duties: Vec<(String, String, NaiveDate, Option<String>)> = duties::table
        .inner_join(people::table.on(people::id.eq(duties::person_id)))
        .select((
            people::given_name,
            duties::role,
            duties::start_date,
            duties::external_id,
        ))
        .load(c)
        .unwrap();
    out.extend(duties.into_iter().map(|d| format!("duty {d:?}")));
    let acts: Vec<(i64, Option<String>, String, String)> = activities::table
        .select((
            activities::id,
            activities::uuid,
            activities::display_name,
            activities::subject_code,
        ))
        .load(c)
        .unwrap();
    for (id, uuid, name, code) in acts {
        let g: i64 = activity_groups::table
            .filter(activity_groups::activity_id.eq(id))
            .count()
            .get_result(c)
            .unwrap();
        let t: i64 = activity_teachers::table
            .filter(activity_teachers::activity_id.eq(id))
            .count()
            .get_result(c)
            .unwrap();
        out.push(format!("activity {uuid:?} {name} {code} {g} {t}"));
    }
    let lessons: i64 = lessons::table.count().get_result(c).unwrap();
    out.push(format!("lessons {lessons}"));
    out.sort();
    out
}

#[actix_web::test]
async fn the_structure_export_is_valid_ss12000_and_reads_back_whole() {
    for kind in backends() {
        // the demo municipality's structure
        let app = TestApp::spawn(kind).await;
        let world = crate::fixtures::build(&app);
        let demo = export_of(&mut conn(&world.pool));
        let errors = invalid_in(&demo);
        assert!(errors.is_empty(), "{kind:?}:\n{}", errors.join("\n"));

        // an imported school: its source's duty ids and sign-in identifiers
        let source = TestApp::spawn(kind).await;
        let source_pool = pool(&source);
        let mut c = conn(&source_pool);
        let dir = scratch("export");
        let path = ss12000(&dir, |_| {});
        import(&mut c, &path).unwrap();
        let doc = export_of(&mut c);
        let errors = invalid_in(&doc);
        assert!(errors.is_empty(), "{kind:?}:\n{}", errors.join("\n"));
        let original: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let source_duties: Vec<&str> = original["duties"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["id"].as_str())
            .collect();
        for d in doc["duties"].as_array().unwrap() {
            assert!(
                source_duties.contains(&d["id"].as_str().unwrap()),
                "{kind:?}: the source's duty id is kept: {d}"
            );
        }
        assert!(
            doc["persons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["eduPersonPrincipalNames"]
                    == json!(["lena.larare@edu.importskolan.example"])),
            "{kind:?}: the sign-in identifiers are written"
        );

        // read back into an empty database, everything is there again
        let exported = dir.join("exported.json");
        std::fs::write(&exported, serde_json::to_string(&doc).unwrap()).unwrap();
        let target = TestApp::spawn(kind).await;
        let target_pool = pool(&target);
        let mut t = conn(&target_pool);
        import(&mut t, &exported).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let (before, after) = (kept(&mut c), kept(&mut t));
        assert_eq!(
            before, after,
            "{kind:?}: export then import keeps everything"
        );
    }
}

/// A municipality code that is none is refused, naming the field, and the person is not
/// stored from that record.
#[actix_web::test]
async fn a_municipality_code_that_is_none_is_named() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let pool = pool(&app);
        let dir = scratch("ss12000-municipality");
        let file = ss12000(&dir, |doc| {
            doc["persons"][0]["addresses"] =
                json!([{"type": "Folkbokföring", "municipalityCode": "Solna"}]);
        });
        let mut c = conn(&pool);
        let summary = import(&mut c, &file).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let notes = summary.notes.join("\n");
        assert!(
            notes.contains("addresses[0].municipalityCode") && notes.contains("0180"),
            "{kind:?}: {notes}"
        );
    }
}

/// The ten-year compulsory school (issue 38): a class in year 10 of grundskola imports; a
/// class in year 12, which grundskola does not have, is left out and named, and the rest
/// (its pupils among it) imports.
#[actix_web::test]
async fn year_ten_imports_and_a_year_group_the_form_lacks_is_left_out_and_named() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let db = pool(&app);
        let dir = scratch("ss12000-year-ten");
        let file = ss12000(&dir, |doc| doc["groups"][0]["schoolYear"] = json!(10));
        let mut c = conn(&db);
        import(&mut c, &file).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let years: Vec<Option<i32>> = groups::table
            .select(groups::school_year)
            .load(&mut c)
            .unwrap();
        assert_eq!(years, [Some(10)], "{kind:?}");

        let app = TestApp::spawn(kind).await;
        let db = pool(&app);
        let dir = scratch("ss12000-year-twelve");
        let file = ss12000(&dir, |doc| doc["groups"][0]["schoolYear"] = json!(12));
        let mut c = conn(&db);
        let summary = import(&mut c, &file).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let notes = summary.notes.join("\n");
        assert!(
            notes.contains("7b2d4f00-0000-4000-8000-000000000001")
                && notes.contains("year group 12")
                && notes.contains("grundskola"),
            "{kind:?}: {notes}"
        );
        let groups: i64 = groups::table.count().get_result(&mut c).unwrap();
        assert_eq!(groups, 0, "the class is left out");
        let (pupil, _) = person(&mut c, "5c3e8d10-0000-4000-8000-000000000001");
        assert!(pupil > 0, "its pupils are imported");
    }
}

/// A specialskola (SS 12000 `SP`) is stored with its school form: year 11 imports, year 12
/// is left out and named; the term report offers and names the form (issue 38).
#[actix_web::test]
async fn a_specialskola_keeps_its_form_and_year_eleven() {
    for kind in backends() {
        for (year, kept) in [(11, true), (12, false)] {
            let app = TestApp::spawn(kind).await;
            let db = pool(&app);
            let dir = scratch("ss12000-specialskola");
            let file = ss12000(&dir, |doc| {
                doc["organisations"][1]["schoolTypes"] = json!(["SP"]);
                doc["groups"][0]["schoolYear"] = json!(year);
            });
            let mut c = conn(&db);
            let summary = import(&mut c, &file).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            let form: Option<String> = organisations::table
                .filter(organisations::school_unit_code.eq("12345678"))
                .select(organisations::school_form)
                .first(&mut c)
                .unwrap();
            assert_eq!(form.as_deref(), Some("specialskola"), "{kind:?}");
            let years: Vec<Option<i32>> = groups::table
                .select(groups::school_year)
                .load(&mut c)
                .unwrap();
            if kept {
                assert_eq!(years, [Some(11)], "{kind:?}");
            } else {
                assert!(years.is_empty(), "{kind:?}");
                let notes = summary.notes.join("\n");
                assert!(
                    notes.contains("year group 12") && notes.contains("specialskola"),
                    "{kind:?}: {notes}"
                );
            }
        }
        // the structure export names the form as the standard does
        let app = TestApp::spawn(kind).await;
        let dir = scratch("ss12000-specialskola-export");
        let file = ss12000(&dir, |doc| {
            doc["organisations"][1]["schoolTypes"] = json!(["SP"]);
        });
        let mut c = conn(&pool(&app));
        import(&mut c, &file).unwrap();
        let doc = narvaro::interop::ss12000::structure::export(
            &mut c,
            chrono_tz::Europe::Stockholm,
            crate::helpers::test_moment().naive_utc(),
        )
        .unwrap();
        let school = doc["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["schoolUnitCode"] == "12345678")
            .cloned()
            .unwrap();
        assert_eq!(school["schoolTypes"], json!(["SP"]), "{kind:?}");
    }
}

/// A sync keeps its hands off a term the huvudman has closed: a lesson of it the source
/// moves or cancels stays as delivered, and the report says how many were left (issue 38);
/// reopened, the next import takes the change.
#[actix_web::test]
async fn an_import_leaves_the_lessons_of_a_closed_term_as_they_were() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let db = pool(&app);
        let dir = scratch("ss12000-closed-term");
        let c = &mut *conn(&db);
        import(c, &ss12000(&dir, |_| {})).unwrap();
        let lesson = |c: &mut DbConn| -> (i64, i32, bool) {
            lessons::table
                .filter(lessons::external_id.eq("e0000000-0000-4000-8000-000000000001"))
                .select((lessons::id, lessons::teaching_minutes, lessons::cancelled))
                .first(c)
                .unwrap()
        };
        let before = lesson(c);
        let school: i64 = lessons::table
            .find(before.0)
            .select(lessons::school_id)
            .first(c)
            .unwrap();
        let (id, _) = person(c, "5c3e8d10-0000-4000-8000-000000000020");
        let term = narvaro::insight::term_report::Term::of(today());
        diesel::insert_into(term_closings::table)
            .values((
                term_closings::school_id.eq(school),
                term_closings::term_start.eq(term.first_day()),
                term_closings::closed_at.eq(crate::helpers::test_moment().naive_utc()),
                term_closings::closed_by.eq(id),
                term_closings::problems.eq(0),
            ))
            .execute(c)
            .unwrap();
        let changed = ss12000(&dir, |doc| {
            doc["calendarEvents"][0]["cancelled"] = true.into();
            doc["calendarEvents"][0]["teachingLengthStudent"] = 45.into();
        });
        let said = import(c, &changed).unwrap();
        assert_eq!(
            lesson(c),
            before,
            "{kind:?}: the closed term's lesson stays"
        );
        let notes = said.notes.join("\n");
        assert!(
            notes.contains("1 lessons in terms the huvudman has closed"),
            "{kind:?}: {notes}"
        );
        diesel::update(term_closings::table)
            .set(term_closings::reopened_at.eq(crate::helpers::test_moment().naive_utc()))
            .execute(c)
            .unwrap();
        import(c, &changed).unwrap();
        assert_eq!(
            lesson(c),
            (before.0, 45, true),
            "{kind:?}: reopened, it changes"
        );
    }
}

/// (id, parent, name, school form, SS 12000 id) of every organisation
type StoredOrg = (i64, Option<i64>, String, Option<String>, Option<String>);

fn stored_orgs(c: &mut DbConn) -> Vec<StoredOrg> {
    organisations::table
        .select((
            organisations::id,
            organisations::parent_id,
            organisations::name,
            organisations::school_form,
            organisations::uuid,
        ))
        .order(organisations::id)
        .load(c)
        .unwrap()
}

/// The migration that lets organisations hold specialskola builds the table again on
/// SQLite: a municipality's schools and everything that refers to them stay, foreign keys
/// are on and whole after it, and the check still refuses a form that is none.
#[test]
fn the_specialskola_migration_keeps_every_school_and_what_refers_to_it() {
    for kind in backends() {
        let db = crate::helpers::TestDb::new(kind);
        let mut c = narvaro::db::Manager::new(db.url.clone()).open().unwrap();
        crate::helpers::migrate_before(&mut c, kind, "20261207000030");
        // the seed writes today's per-day sums, whose last column came later (000033): it
        // is there while the seed runs and gone again before the migration under test
        let sums = ["absence_days", "absence_class_days"];
        for t in sums {
            diesel::sql_query(format!(
                "ALTER TABLE {t} ADD COLUMN refused_leave_minutes INTEGER NOT NULL DEFAULT 0"
            ))
            .execute(&mut c)
            .unwrap();
        }
        let start = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        narvaro::seed::generate(
            &mut c,
            &narvaro::seed::SeedParams {
                municipality: "Gammalkommun".into(),
                schools: 2,
                pupils: 40,
                weeks: 1,
                seed: 5,
                start,
                today: start + Duration::days(4),
            },
            chrono_tz::Europe::Stockholm,
        )
        .unwrap();
        for t in sums {
            diesel::sql_query(format!("ALTER TABLE {t} DROP COLUMN refused_leave_minutes"))
                .execute(&mut c)
                .unwrap();
        }
        let held = |c: &mut DbConn| -> Vec<i64> {
            let mut n = counts(c);
            n.push(attendance_marks::table.count().get_result(c).unwrap());
            n
        };
        let before = held(&mut c);
        let orgs = stored_orgs(&mut c);
        narvaro::db::migrate::run(&mut c).unwrap();
        assert_eq!(held(&mut c), before, "{kind:?}: every row stays");
        let after = stored_orgs(&mut c);
        assert_eq!(after, orgs, "{kind:?}");
        let school = after.iter().find(|o| o.1.is_some()).unwrap().0;
        let muni = after.iter().find(|o| o.1.is_none()).unwrap().0;
        diesel::update(organisations::table.find(school))
            .set(organisations::school_form.eq("specialskola"))
            .execute(&mut c)
            .unwrap();
        assert!(
            diesel::update(organisations::table.find(school))
                .set(organisations::school_form.eq("folkhogskola"))
                .execute(&mut c)
                .is_err(),
            "{kind:?}: the check is kept"
        );
        // foreign keys are on and hold: a municipality with schools cannot go
        assert!(
            diesel::delete(organisations::table.find(muni))
                .execute(&mut c)
                .is_err(),
            "{kind:?}: the references hold"
        );
        // a new organisation still gets its SS 12000 id (the trigger is back)
        diesel::insert_into(organisations::table)
            .values((
                organisations::org_type.eq("school"),
                organisations::name.eq("Nya skolan"),
                organisations::parent_id.eq(muni),
            ))
            .execute(&mut c)
            .unwrap();
        let uuid: Option<String> = organisations::table
            .filter(organisations::name.eq("Nya skolan"))
            .select(organisations::uuid)
            .first(&mut c)
            .unwrap();
        assert!(uuid.is_some_and(|u| u.len() == 36), "{kind:?}");
    }
}

/// OneRoster's `grades` of 10 (the ten-year compulsory school) import as year 10; a grade
/// grundskola lacks is left out and named (issue 38).
#[actix_web::test]
async fn oneroster_grade_ten_imports_and_grade_twelve_is_left_out() {
    for kind in backends() {
        for (grade, kept) in [("10", true), ("12", false)] {
            let app = TestApp::spawn(kind).await;
            let db = pool(&app);
            let dir = scratch(&format!("oneroster-grade-{grade}"));
            for entry in std::fs::read_dir(fixtures().join("oneroster")).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_owned();
                let mut text = std::fs::read_to_string(&path).unwrap();
                if name == "classes.csv" {
                    text = text.replace("8B,08,,8B,homeroom", &format!("8B,{grade},,8B,homeroom"));
                }
                std::fs::write(dir.join(name), text).unwrap();
            }
            let mut c = conn(&db);
            let summary = import(&mut c, &dir).unwrap_or_else(|e| panic!("{kind:?} {grade}: {e}"));
            let year: Option<Option<i32>> = groups::table
                .filter(groups::name.eq("8B"))
                .select(groups::school_year)
                .first(&mut c)
                .optional()
                .unwrap();
            if kept {
                assert_eq!(year, Some(Some(10)), "{kind:?}");
            } else {
                assert_eq!(year, None, "{kind:?}: the class is left out");
                let notes = summary.notes.join("\n");
                assert!(
                    notes.contains("class-8b") && notes.contains("year group 12"),
                    "{kind:?}: {notes}"
                );
            }
        }
    }
}
