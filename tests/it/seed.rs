//! The generator: deterministic, the same on both backends, and realistic.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Weekday};
use diesel::prelude::*;
use narvaro::db;
use narvaro::schema::*;
use narvaro::seed::{self, SeedParams};

use crate::helpers::{backends, TestDb};

fn params(seed: u64) -> SeedParams {
    SeedParams {
        municipality: "Testkommun".into(),
        schools: 3,
        pupils: 360,
        weeks: 8,
        seed,
        start: NaiveDate::from_ymd_opt(2026, 9, 7).unwrap(),
        today: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
    }
}

/// Everything that should be identical between two runs with the same parameters.
fn fingerprint(conn: &mut db::DbConn) -> Vec<i64> {
    let count = |q: i64| q;
    vec![
        count(people::table.count().get_result(conn).unwrap()),
        count(guardianships::table.count().get_result(conn).unwrap()),
        count(group_memberships::table.count().get_result(conn).unwrap()),
        count(lessons::table.count().get_result(conn).unwrap()),
        count(lesson_reports::table.count().get_result(conn).unwrap()),
        count(attendance_marks::table.count().get_result(conn).unwrap()),
        count(absence_reports::table.count().get_result(conn).unwrap()),
        count(leave_applications::table.count().get_result(conn).unwrap()),
        attendance_marks::table
            .select(diesel::dsl::sum(attendance_marks::minutes))
            .first::<Option<i64>>(conn)
            .unwrap()
            .unwrap_or(0),
        marks_digest(conn),
        lessons::table
            .filter(lessons::cancelled.eq(true))
            .count()
            .get_result(conn)
            .unwrap(),
    ]
}

/// Every mark, in order, folded into one number.
fn marks_digest(conn: &mut db::DbConn) -> i64 {
    let marks: Vec<(i64, i64, String, i32, Option<i64>)> = attendance_marks::table
        .select((
            attendance_marks::lesson_id,
            attendance_marks::pupil_id,
            attendance_marks::status,
            attendance_marks::minutes,
            attendance_marks::reason_id,
        ))
        .order((attendance_marks::lesson_id, attendance_marks::pupil_id))
        .load(conn)
        .unwrap();
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    marks.hash(&mut h);
    h.finish() as i64
}

#[test]
fn the_same_seed_gives_the_same_municipality_on_every_backend() {
    let mut prints = Vec::new();
    for kind in backends() {
        for _ in 0..2 {
            let db = TestDb::new(kind);
            let pool = db::connect(&db.url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            seed::generate(&mut conn, &params(42), chrono_tz::Europe::Stockholm).unwrap();
            prints.push((kind, fingerprint(&mut conn)));
        }
    }
    let first = &prints[0].1;
    assert!(first[5] > 0, "marks were generated");
    for (kind, p) in &prints {
        assert_eq!(p, first, "{kind:?}");
    }
    // And another seed gives other data.
    let db = TestDb::new(crate::helpers::Kind::Sqlite);
    let pool = db::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    seed::generate(&mut conn, &params(43), chrono_tz::Europe::Stockholm).unwrap();
    assert_ne!(&fingerprint(&mut conn), first);
}

#[test]
fn seeding_twice_appends_a_second_municipality_and_new_rows_get_fresh_ids() {
    for kind in backends() {
        let db = TestDb::new(kind);
        let pool = db::connect(&db.url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let a = seed::generate(&mut conn, &params(1), chrono_tz::Europe::Stockholm).unwrap();
        let b = seed::generate(&mut conn, &params(2), chrono_tz::Europe::Stockholm).unwrap();
        assert_ne!(a.municipality_id, b.municipality_id);
        let munis: i64 = organisations::table
            .filter(organisations::org_type.eq("municipality"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(munis, 2);
        // The database's own id allocation continues after the generated ids.
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::at.eq(chrono::Utc::now().naive_utc()),
                audit_log::action.eq("test"),
                audit_log::entity.eq("x"),
            ))
            .execute(&mut conn)
            .unwrap();
        diesel::insert_into(holidays::table)
            .values((
                holidays::organisation_id.eq(a.municipality_id),
                holidays::holiday_date.eq(NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()),
                holidays::name.eq("x"),
            ))
            .execute(&mut conn)
            .unwrap();
    }
}

#[test]
fn the_absence_looks_like_a_real_school() {
    let db = TestDb::new(crate::helpers::Kind::Sqlite);
    let pool = db::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let mut p = params(9);
    p.pupils = 900;
    p.weeks = 10;
    p.today = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let seeded = seed::generate(&mut conn, &p, chrono_tz::Europe::Stockholm).unwrap();
    assert_eq!(seeded.counts.pupils, 900);
    assert!(
        seeded.counts.guardians as f64 > 900.0 * 1.3,
        "most pupils have two guardians"
    );

    // Scheduled minutes per pupil on reported lessons, through dated memberships.
    let members: Vec<(i64, i64, NaiveDate, Option<NaiveDate>)> = group_memberships::table
        .select((
            group_memberships::group_id,
            group_memberships::pupil_id,
            group_memberships::start_date,
            group_memberships::end_date,
        ))
        .load(&mut conn)
        .unwrap();
    let mut by_group: HashMap<i64, Vec<(i64, NaiveDate, Option<NaiveDate>)>> = HashMap::new();
    for (g, p, s, e) in members {
        by_group.entry(g).or_default().push((p, s, e));
    }
    let reported: Vec<(i64, NaiveDate, i32, i64)> = lessons::table
        .inner_join(lesson_reports::table)
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .select((
            lessons::id,
            lessons::lesson_date,
            lessons::teaching_minutes,
            activity_groups::group_id,
        ))
        .load(&mut conn)
        .unwrap();
    let mut scheduled: HashMap<i64, i64> = HashMap::new();
    let mut weekday_scheduled: HashMap<bool, i64> = HashMap::new();
    for (_, date, minutes, group) in &reported {
        for (pupil, s, e) in by_group.get(group).map(Vec::as_slice).unwrap_or(&[]) {
            if date >= s && e.is_none_or(|e| *date <= e) {
                *scheduled.entry(*pupil).or_default() += *minutes as i64;
                *weekday_scheduled.entry(is_mon_fri(*date)).or_default() += *minutes as i64;
            }
        }
    }
    let marks: Vec<(i64, i32, NaiveDate)> = attendance_marks::table
        .inner_join(lessons::table)
        .select((
            attendance_marks::pupil_id,
            attendance_marks::minutes,
            lessons::lesson_date,
        ))
        .load(&mut conn)
        .unwrap();
    let mut absent: HashMap<i64, i64> = HashMap::new();
    let mut weekday_absent: HashMap<bool, i64> = HashMap::new();
    for (pupil, minutes, date) in marks {
        *absent.entry(pupil).or_default() += minutes as i64;
        *weekday_absent.entry(is_mon_fri(date)).or_default() += minutes as i64;
    }
    let mut shares: Vec<f64> = scheduled
        .iter()
        .filter(|(_, s)| **s > 0)
        .map(|(p, s)| *absent.get(p).unwrap_or(&0) as f64 / *s as f64)
        .collect();
    shares.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = shares[shares.len() / 2];
    let over_15 = shares.iter().filter(|s| **s > 0.15).count() as f64 / shares.len() as f64;
    assert!(
        (0.02..=0.07).contains(&median),
        "median absence {median:.3}"
    );
    assert!(
        (0.02..=0.12).contains(&over_15),
        "share of pupils over 15 %: {over_15:.3}"
    );
    let rate = |mf: bool| weekday_absent[&mf] as f64 / weekday_scheduled[&mf] as f64;
    assert!(
        rate(true) > rate(false) * 1.2,
        "more absence on Mondays and Fridays: {:.3} vs {:.3}",
        rate(true),
        rate(false)
    );

    // Guardian reports cover the sick days; some pupils have granted leave.
    assert!(seeded.counts.absence_reports > 0 && seeded.counts.leave_applications > 0);
    // Unreported lessons exist, and none is dated today or later.
    let future_reports: i64 = lessons::table
        .inner_join(lesson_reports::table)
        .filter(lessons::lesson_date.ge(p.today))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(future_reports, 0);
    assert!(seeded.counts.reported_lessons < seeded.counts.lessons);
}

fn is_mon_fri(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Mon | Weekday::Fri)
}

#[test]
fn a_seeded_sqlite_database_keeps_plan_statistics_without_stat4_samples() {
    // STAT4 samples make SQLite re-prepare statements whenever a parameter is bound anew
    // (src/db/mod.rs, forget_stat4): `narvaro seed` analyses and keeps sqlite_stat1 only,
    // and a server that opens a database with samples clears them
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |c: &mut diesel::SqliteConnection, table: &str| -> i64 {
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<N>(c)
            .unwrap()
            .n
    };
    let db = crate::helpers::TestDb::new(crate::helpers::Kind::Sqlite);
    let url = db.url_string();
    let out = crate::helpers::run_binary(
        &[
            "seed",
            "--schools",
            "1",
            "--pupils",
            "60",
            "--weeks",
            "1",
            "--start",
            "2026-11-16",
        ],
        &[
            ("DATABASE_URL", url.as_str()),
            ("NARVARO_JWT_SECRET", crate::helpers::TEST_SECRET),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = diesel::SqliteConnection::establish(&url).unwrap();
    assert!(
        count(&mut c, "sqlite_stat1") > 0,
        "the planner's statistics are there"
    );
    assert_eq!(count(&mut c, "sqlite_stat4"), 0, "no samples");
    // samples left by an ANALYZE outside Närvaro go when a server opens the database
    c.batch_execute("ANALYZE").unwrap();
    assert!(count(&mut c, "sqlite_stat4") > 0);
    drop(c);
    let _pool = narvaro::db::connect(&db.url, 1).unwrap();
    let mut c = diesel::SqliteConnection::establish(&url).unwrap();
    assert_eq!(count(&mut c, "sqlite_stat4"), 0);
    assert!(count(&mut c, "sqlite_stat1") > 0);
}

/// A generated municipality before the ten-year compulsory school has years 1–9; one that
/// starts in the autumn of 2028 has years 1–10 (issue 38).
#[test]
fn a_municipality_generated_after_the_change_has_year_ten() {
    for (start, last) in [
        (NaiveDate::from_ymd_opt(2027, 8, 23).unwrap(), 9),
        (NaiveDate::from_ymd_opt(2028, 8, 21).unwrap(), 10),
    ] {
        let db = TestDb::new(crate::helpers::Kind::Sqlite);
        let pool = db::connect(&db.url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let mut p = params(3);
        p.schools = 1;
        p.pupils = 300;
        p.weeks = 1;
        p.start = start;
        p.today = start;
        seed::generate(&mut conn, &p, chrono_tz::Europe::Stockholm).unwrap();
        let highest: Option<i32> = groups::table
            .filter(groups::group_type.eq("class"))
            .select(diesel::dsl::max(groups::school_year))
            .first(&mut conn)
            .unwrap();
        assert_eq!(highest, Some(last), "from {start}");
    }
}
