//! A deterministic generator of a realistic municipality: schools of several forms,
//! classes and teaching groups, a weekly timetable over the weeks given (with the Swedish
//! breaks and holidays), two guardians for most pupils, and a history of roll calls,
//! guardian reports and granted leave with realistic absence: most pupils 2–6 %, a tail
//! above 15 %, more on Mondays and Fridays. The same parameters give the same data.
//!
//! Rows get explicit ids (from the table's current maximum) and are written in large
//! batches, all in one transaction: a failed run leaves the database as it was.

mod calendar;
mod names;
mod rng;

pub use calendar::school_year_containing;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::{DbConn, DbError};
use crate::schema::*;
use crate::school::ids::{GroupId, OrganisationId, PersonId, SchoolId};
use rng::{hash_unit, Rng};

/// The password every generated staff account gets (demo and benchmark data only).
pub const DEMO_PASSWORD: &str = "narvaro-demo";

#[derive(Debug, Clone)]
pub struct SeedParams {
    pub municipality: String,
    pub schools: u32,
    pub pupils: u32,
    pub weeks: u32,
    pub seed: u64,
    /// First day of the generated timetable (moved back to its Monday).
    pub start: NaiveDate,
    /// Lessons before this day are reported; from this day on they are not.
    pub today: NaiveDate,
}

impl SeedParams {
    pub fn validate(&self) -> Result<(), String> {
        if self.schools == 0 || self.schools > 1000 {
            return Err("--schools must be between 1 and 1000".into());
        }
        if self.pupils < self.schools || self.pupils > 500_000 {
            return Err("--pupils must be at least one per school and at most 500000".into());
        }
        // five school years and a term: the history the retention rules keep
        if self.weeks == 0 || self.weeks > 265 {
            return Err("--weeks must be between 1 and 265 (five years)".into());
        }
        Ok(())
    }
}

/// What was made, for the caller to print and for the demo to pick its accounts from.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub municipality_id: OrganisationId,
    pub admin_id: PersonId,
    pub schools: Vec<SeededSchool>,
    pub counts: Counts,
}

#[derive(Debug, Clone)]
pub struct SeededSchool {
    pub id: SchoolId,
    pub name: String,
    pub principal_id: PersonId,
    /// (class group id, its mentor)
    pub classes: Vec<(GroupId, PersonId)>,
    pub teachers: Vec<PersonId>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub pupils: u64,
    pub guardians: u64,
    pub staff: u64,
    pub groups: u64,
    pub lessons: u64,
    pub reported_lessons: u64,
    pub marks: u64,
    pub absence_reports: u64,
    pub leave_applications: u64,
}

// ---- rows -------------------------------------------------------------------------

#[derive(Insertable)]
#[diesel(table_name = organisations, treat_none_as_default_value = false)]
struct OrgRow {
    id: i64,
    parent_id: Option<i64>,
    org_type: &'static str,
    name: String,
    school_form: Option<&'static str>,
    school_unit_code: Option<String>,
    external_id: Option<String>,
    report_days_ahead: i32,
    allow_adult_self_report: bool,
    alert_threshold_pct: i32,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = people, treat_none_as_default_value = false)]
struct PersonRow {
    id: i64,
    given_name: &'static str,
    family_name: &'static str,
    civic_no: Option<String>,
    birth_date: Option<NaiveDate>,
    sex: Option<&'static str>,
    security_marking: &'static str,
    school_id: Option<i64>,
    email: Option<String>,
    language: &'static str,
    receive_confirmations: bool,
    username: Option<String>,
    password_hash: Option<String>,
    token_version: i32,
    external_id: Option<String>,
    active: bool,
    ended_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = guardianships)]
struct GuardianshipRow {
    id: i64,
    pupil_id: i64,
    guardian_id: i64,
    relation: &'static str,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = groups, treat_none_as_default_value = false)]
struct GroupRow {
    id: i64,
    school_id: i64,
    name: String,
    group_type: &'static str,
    school_year: Option<i32>,
    external_id: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = group_memberships, treat_none_as_default_value = false)]
struct MembershipRow {
    id: i64,
    group_id: i64,
    pupil_id: i64,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

#[derive(Insertable)]
#[diesel(table_name = duties, treat_none_as_default_value = false)]
struct DutyRow {
    id: i64,
    person_id: i64,
    organisation_id: i64,
    role: &'static str,
    group_id: Option<i64>,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
}

#[derive(Insertable)]
#[diesel(table_name = activities, treat_none_as_default_value = false)]
struct ActivityRow {
    id: i64,
    school_id: i64,
    display_name: String,
    subject_code: &'static str,
    subject_name: &'static str,
    activity_type: &'static str,
    external_id: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = activity_groups)]
struct ActivityGroupRow {
    activity_id: i64,
    group_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = activity_teachers)]
struct ActivityTeacherRow {
    activity_id: i64,
    teacher_id: i64,
}

#[derive(Insertable)]
#[diesel(table_name = lessons, treat_none_as_default_value = false)]
struct LessonRow {
    id: i64,
    activity_id: i64,
    school_id: i64,
    lesson_date: NaiveDate,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    teaching_minutes: i32,
    room: Option<String>,
    cancelled: bool,
    substitute_teacher_id: Option<i64>,
    external_id: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = holidays)]
struct HolidayRow {
    id: i64,
    organisation_id: i64,
    holiday_date: NaiveDate,
    name: &'static str,
}

#[derive(Insertable)]
#[diesel(table_name = absence_reasons)]
struct ReasonRow {
    id: i64,
    organisation_id: i64,
    code: &'static str,
    name_sv: &'static str,
    name_en: &'static str,
    counts_as_absence: bool,
    is_valid: bool,
    is_sick: bool,
    staff_selectable: bool,
    guardian_selectable: bool,
    pupil_selectable: bool,
    sends_notice: bool,
    active: bool,
    sort_order: i32,
}

#[derive(Insertable)]
#[diesel(table_name = lesson_reports)]
struct LessonReportRow {
    lesson_id: i64,
    reported_by: i64,
    reported_at: NaiveDateTime,
    modified_at: Option<NaiveDateTime>,
    version: i32,
}

#[derive(Insertable)]
#[diesel(table_name = attendance_marks, treat_none_as_default_value = false)]
struct MarkRow {
    id: i64,
    lesson_id: i64,
    pupil_id: i64,
    status: &'static str,
    minutes: i32,
    reason_id: Option<i64>,
    marked_by: i64,
    marked_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = absence_reports, treat_none_as_default_value = false)]
struct AbsenceReportRow {
    id: i64,
    pupil_id: i64,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    reason_id: i64,
    message: Option<String>,
    reported_by: i64,
    registered_by_staff: bool,
    created_at: NaiveDateTime,
    cancelled_at: Option<NaiveDateTime>,
    cancelled_by: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = leave_applications, treat_none_as_default_value = false)]
struct LeaveRow {
    id: i64,
    pupil_id: i64,
    start_date: NaiveDate,
    end_date: NaiveDate,
    reason: String,
    applied_by: i64,
    applied_at: NaiveDateTime,
    recommendation: Option<&'static str>,
    recommendation_comment: Option<String>,
    recommended_by: Option<i64>,
    recommended_at: Option<NaiveDateTime>,
    status: &'static str,
    decided_by: Option<i64>,
    decided_at: Option<NaiveDateTime>,
    decision_comment: Option<String>,
}

/// Inserts `$rows` in batches that stay under both backends' bind-parameter limits.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $cols:expr) => {{
        for part in $rows.chunks((30_000 / $cols).max(1)) {
            $crate::on_backend!(&mut *$conn, c => diesel::insert_into($table).values(part).execute(c))?;
        }
        $rows.clear();
    }};
}

/// Everything generated but not yet written.
#[derive(Default)]
struct Batch {
    orgs: Vec<OrgRow>,
    people: Vec<PersonRow>,
    guardianships: Vec<GuardianshipRow>,
    groups: Vec<GroupRow>,
    memberships: Vec<MembershipRow>,
    duties: Vec<DutyRow>,
    activities: Vec<ActivityRow>,
    activity_groups: Vec<ActivityGroupRow>,
    activity_teachers: Vec<ActivityTeacherRow>,
    lessons: Vec<LessonRow>,
    holidays: Vec<HolidayRow>,
    reasons: Vec<ReasonRow>,
    reports: Vec<LessonReportRow>,
    marks: Vec<MarkRow>,
    absence_reports: Vec<AbsenceReportRow>,
    leave: Vec<LeaveRow>,
}

impl Batch {
    /// Writes in foreign-key order.
    fn flush(&mut self, conn: &mut DbConn) -> Result<(), diesel::result::Error> {
        insert_all!(conn, organisations::table, self.orgs, 11);
        insert_all!(conn, people::table, self.people, 18);
        insert_all!(conn, guardianships::table, self.guardianships, 5);
        insert_all!(conn, groups::table, self.groups, 7);
        insert_all!(conn, group_memberships::table, self.memberships, 5);
        insert_all!(conn, duties::table, self.duties, 7);
        insert_all!(conn, activities::table, self.activities, 8);
        insert_all!(conn, activity_groups::table, self.activity_groups, 2);
        insert_all!(conn, activity_teachers::table, self.activity_teachers, 2);
        insert_all!(conn, lessons::table, self.lessons, 11);
        insert_all!(conn, holidays::table, self.holidays, 4);
        insert_all!(conn, absence_reasons::table, self.reasons, 14);
        insert_all!(conn, lesson_reports::table, self.reports, 5);
        insert_all!(conn, absence_reports::table, self.absence_reports, 11);
        insert_all!(conn, attendance_marks::table, self.marks, 8);
        insert_all!(conn, leave_applications::table, self.leave, 15);
        Ok(())
    }
}

/// Next free id per table, read once from the database.
struct Ids {
    org: i64,
    person: i64,
    guardianship: i64,
    group: i64,
    membership: i64,
    duty: i64,
    activity: i64,
    lesson: i64,
    holiday: i64,
    reason: i64,
    mark: i64,
    absence_report: i64,
    leave: i64,
}

fn next(counter: &mut i64) -> i64 {
    let id = *counter;
    *counter += 1;
    id
}

macro_rules! next_free_id {
    ($conn:expr, $table:ident) => {{
        let max: Option<i64> = $table::table
            .select(diesel::dsl::max($table::id))
            .first($conn)?;
        max.unwrap_or(0) + 1
    }};
}

impl Ids {
    fn read(conn: &mut DbConn) -> Result<Self, diesel::result::Error> {
        Ok(Ids {
            org: next_free_id!(conn, organisations),
            person: next_free_id!(conn, people),
            guardianship: next_free_id!(conn, guardianships),
            group: next_free_id!(conn, groups),
            membership: next_free_id!(conn, group_memberships),
            duty: next_free_id!(conn, duties),
            activity: next_free_id!(conn, activities),
            lesson: next_free_id!(conn, lessons),
            holiday: next_free_id!(conn, holidays),
            reason: next_free_id!(conn, absence_reasons),
            mark: next_free_id!(conn, attendance_marks),
            absence_report: next_free_id!(conn, absence_reports),
            leave: next_free_id!(conn, leave_applications),
        })
    }
}

/// After explicit ids, PostgreSQL's identity sequences must move past them.
fn advance_pg_sequences(conn: &mut DbConn) -> Result<(), diesel::result::Error> {
    if let DbConn::Pg(c) = conn {
        for table in [
            "organisations",
            "people",
            "guardianships",
            "groups",
            "group_memberships",
            "duties",
            "activities",
            "lessons",
            "holidays",
            "absence_reasons",
            "attendance_marks",
            "absence_reports",
            "leave_applications",
        ] {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ))
            .execute(c)?;
        }
    }
    Ok(())
}

// ---- the timetable ----------------------------------------------------------------

struct Subject {
    code: &'static str,
    name: &'static str,
    per_week: usize,
    /// The subject is taught from this school year on.
    from_year: i32,
}

const COMPULSORY: &[Subject] = &[
    Subject {
        code: "SV",
        name: "Svenska",
        per_week: 3,
        from_year: 1,
    },
    Subject {
        code: "MA",
        name: "Matematik",
        per_week: 3,
        from_year: 1,
    },
    Subject {
        code: "EN",
        name: "Engelska",
        per_week: 2,
        from_year: 1,
    },
    Subject {
        code: "IDH",
        name: "Idrott och hälsa",
        per_week: 2,
        from_year: 1,
    },
    Subject {
        code: "NO",
        name: "Naturorienterande ämnen",
        per_week: 2,
        from_year: 1,
    },
    Subject {
        code: "SO",
        name: "Samhällsorienterande ämnen",
        per_week: 2,
        from_year: 1,
    },
    Subject {
        code: "BL",
        name: "Bild",
        per_week: 1,
        from_year: 1,
    },
    Subject {
        code: "MU",
        name: "Musik",
        per_week: 1,
        from_year: 1,
    },
    Subject {
        code: "SL",
        name: "Slöjd",
        per_week: 1,
        from_year: 3,
    },
    Subject {
        code: "TK",
        name: "Teknik",
        per_week: 1,
        from_year: 1,
    },
    Subject {
        code: "HKK",
        name: "Hem- och konsumentkunskap",
        per_week: 1,
        from_year: 7,
    },
];

const UPPER_SECONDARY: &[Subject] = &[
    Subject {
        code: "SVE",
        name: "Svenska",
        per_week: 2,
        from_year: 1,
    },
    Subject {
        code: "MAT",
        name: "Matematik",
        per_week: 2,
        from_year: 1,
    },
    Subject {
        code: "ENG",
        name: "Engelska",
        per_week: 2,
        from_year: 1,
    },
    Subject {
        code: "IDH",
        name: "Idrott och hälsa",
        per_week: 1,
        from_year: 1,
    },
    Subject {
        code: "HIS",
        name: "Historia",
        per_week: 1,
        from_year: 1,
    },
    Subject {
        code: "SAM",
        name: "Samhällskunskap",
        per_week: 1,
        from_year: 1,
    },
    Subject {
        code: "NAK",
        name: "Naturkunskap",
        per_week: 1,
        from_year: 1,
    },
    Subject {
        code: "PRG",
        name: "Programfördjupning",
        per_week: 3,
        from_year: 1,
    },
];

/// Modern languages from year 6: taught in groups across the year's classes.
const LANGUAGES: &[&str] = &["Spanska", "Tyska", "Franska"];

fn slots(form: &str) -> &'static [(u32, u32, u32, u32, i32)] {
    // (start h, start m, end h, end m, teaching minutes)
    if form == "gymnasieskola" {
        &[
            (8, 15, 9, 35, 80),
            (9, 50, 11, 10, 80),
            (12, 10, 13, 30, 80),
            (13, 45, 15, 5, 80),
        ]
    } else {
        &[
            (8, 10, 9, 10, 60),
            (9, 20, 10, 20, 60),
            (10, 40, 11, 40, 60),
            (12, 30, 13, 30, 60),
            (13, 40, 14, 40, 60),
            (14, 50, 15, 50, 60),
        ]
    }
}

type Slot = (u32, usize); // (weekday 0..5, slot index)

struct PupilPlan {
    id: i64,
    /// Share of school time this pupil tends to be away.
    rate: f64,
    guardians: Vec<i64>,
    leave: Option<(NaiveDate, NaiveDate)>,
}

struct ActivityPlan {
    id: i64,
    teacher: i64,
    groups: Vec<i64>,
    slots: Vec<Slot>,
}

struct Membership {
    pupil: usize,
    start: NaiveDate,
    end: Option<NaiveDate>,
}

#[derive(Clone, Copy)]
struct Reasons {
    sick: i64,
    leave: i64,
}

struct Ctx<'a> {
    p: &'a SeedParams,
    tz: Tz,
    rng: Rng,
    ids: Ids,
    now: NaiveDateTime,
    password_hash: String,
    holidays: HashSet<NaiveDate>,
    reasons: Reasons,
    counts: Counts,
    batch: Batch,
}

impl Ctx<'_> {
    fn utc(&self, date: NaiveDate, time: NaiveTime) -> NaiveDateTime {
        self.tz
            .from_local_datetime(&date.and_time(time))
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or_else(|| date.and_time(time))
    }

    fn school_day(&self, d: NaiveDate) -> bool {
        d.weekday().num_days_from_monday() < 5
            && !self.holidays.contains(&d)
            && calendar::in_term(d)
    }

    fn person(
        &mut self,
        given: &'static str,
        family: &'static str,
        sex: &'static str,
    ) -> PersonRow {
        PersonRow {
            id: next(&mut self.ids.person),
            given_name: given,
            family_name: family,
            civic_no: None,
            birth_date: None,
            sex: Some(sex),
            security_marking: "none",
            school_id: None,
            email: None,
            language: "sv",
            receive_confirmations: true,
            username: None,
            password_hash: None,
            token_version: 0,
            external_id: None,
            active: true,
            ended_at: None,
            created_at: self.now,
        }
    }

    fn staff(&mut self, school: i64, role: &'static str) -> i64 {
        let (given, family, sex) = names::person(&mut self.rng);
        let mut row = self.person(given, family, sex);
        row.username = Some(format!(
            "{}.{}{}",
            names::ascii(given),
            names::ascii(family),
            row.id
        ));
        row.password_hash = Some(self.password_hash.clone());
        row.email = Some(format!(
            "{}.{}{}@skola.example.com",
            names::ascii(given),
            names::ascii(family),
            row.id
        ));
        let id = row.id;
        self.batch.people.push(row);
        self.duty(id, school, role, None);
        self.counts.staff += 1;
        id
    }

    fn duty(&mut self, person: i64, org: i64, role: &'static str, group: Option<i64>) {
        let id = next(&mut self.ids.duty);
        self.batch.duties.push(DutyRow {
            id,
            person_id: person,
            organisation_id: org,
            role,
            group_id: group,
            start_date: self.p.start,
            end_date: None,
        });
    }

    fn group(&mut self, school: i64, name: String, group_type: &'static str, year: i32) -> i64 {
        let id = next(&mut self.ids.group);
        self.batch.groups.push(GroupRow {
            id,
            school_id: school,
            name,
            group_type,
            school_year: Some(year),
            external_id: None,
            created_at: self.now,
        });
        self.counts.groups += 1;
        id
    }
}

/// Generates a municipality into `conn` in one transaction.
pub fn generate(conn: &mut DbConn, p: &SeedParams, tz: Tz) -> Result<Seeded, DbError> {
    p.validate().map_err(DbError::Migrate)?;
    let password_hash =
        crate::auth::password::hash(DEMO_PASSWORD).map_err(|e| DbError::Migrate(e.to_string()))?;
    conn.transaction(|conn| {
        let start = p.start - Duration::days(p.start.weekday().num_days_from_monday() as i64);
        let end = start + Duration::weeks(p.weeks as i64);
        let mut holidays = HashSet::new();
        let mut holiday_list = Vec::new();
        for year in start.year()..=end.year() {
            for (d, name) in calendar::holidays(year) {
                if d >= start && d < end && holidays.insert(d) {
                    holiday_list.push((d, name));
                }
            }
        }
        let mut ctx = Ctx {
            p,
            tz,
            rng: Rng::new(p.seed),
            ids: Ids::read(conn)?,
            now: crate::school::clock::system_now(),
            password_hash,
            holidays,
            reasons: Reasons { sick: 0, leave: 0 },
            counts: Counts::default(),
            batch: Batch::default(),
        };
        let muni = next(&mut ctx.ids.org);
        ctx.batch.orgs.push(OrgRow {
            id: muni,
            parent_id: None,
            org_type: "municipality",
            name: p.municipality.clone(),
            school_form: None,
            school_unit_code: None,
            external_id: None,
            report_days_ahead: 7,
            allow_adult_self_report: false,
            alert_threshold_pct: 15,
            created_at: ctx.now,
        });
        for (d, name) in holiday_list {
            let id = next(&mut ctx.ids.holiday);
            ctx.batch.holidays.push(HolidayRow {
                id,
                organisation_id: muni,
                holiday_date: d,
                name,
            });
        }
        ctx.reasons = add_reasons(&mut ctx, muni);
        let admin_id = ctx.staff(muni, "admin");

        // the generator works in the database's plain numbers; what it hands back is typed
        let mut seeded = Seeded {
            municipality_id: OrganisationId(muni),
            admin_id: PersonId(admin_id),
            schools: Vec::new(),
            counts: Counts::default(),
        };
        let per_school = p.pupils / p.schools;
        for s in 0..p.schools {
            let pupils = if s + 1 == p.schools {
                p.pupils - per_school * (p.schools - 1)
            } else {
                per_school
            };
            let school = generate_school(&mut ctx, muni, s, pupils, start, end)?;
            ctx.batch.flush(conn)?;
            // the statistics' per-day sums, made from what was just written
            crate::insight::statistics::store::rebuild(conn, tz, school.id, start, end)?;
            seeded.schools.push(school);
        }
        ctx.batch.flush(conn)?;
        advance_pg_sequences(conn)?;
        // the huvudman's threshold notice: 15 % absence over 30 days e-mails the mentor
        // and the principal (`follow_up::signals`)
        diesel::insert_into(signal_rules::table)
            .values((
                signal_rules::organisation_id.eq(muni),
                signal_rules::kind.eq(crate::school::states::RuleKind::Share),
                signal_rules::counts.eq(crate::school::states::Counting::All),
                signal_rules::window_days.eq(30),
                signal_rules::share_pct.eq(Some(15)),
                signal_rules::tell_mentor.eq(true),
                signal_rules::tell_principal.eq(true),
                signal_rules::send_email.eq(true),
                signal_rules::active.eq(true),
                signal_rules::created_by.eq(Some(admin_id)),
                signal_rules::created_at.eq(ctx.now),
            ))
            .execute(conn)?;
        seeded.counts = ctx.counts;
        Ok::<_, diesel::result::Error>(seeded)
    })
    .map_err(DbError::Query)
}

fn add_reasons(ctx: &mut Ctx, muni: i64) -> Reasons {
    let defs = crate::attendance::absence_reasons::DEFAULT_REASONS;
    let mut out = Reasons { sick: 0, leave: 0 };
    for (i, (code, sv, en, counts, valid, sick, staff, guardian, pupil, notice)) in
        defs.into_iter().enumerate()
    {
        let id = next(&mut ctx.ids.reason);
        match code {
            "SJUK" => out.sick = id,
            "LEDIG" => out.leave = id,
            _ => {}
        }
        ctx.batch.reasons.push(ReasonRow {
            id,
            organisation_id: muni,
            code,
            name_sv: sv,
            name_en: en,
            counts_as_absence: counts,
            is_valid: valid,
            is_sick: sick,
            staff_selectable: staff,
            guardian_selectable: guardian,
            pupil_selectable: pupil,
            sends_notice: notice,
            active: true,
            sort_order: i as i32,
        });
    }
    out
}

fn school_form(index: u32, schools: u32) -> &'static str {
    if schools >= 4 && index % 4 == 3 {
        "gymnasieskola"
    } else if schools >= 10 && index == 5 {
        "anpassad_grundskola"
    } else if schools == 2 && index == 1 {
        "gymnasieskola"
    } else {
        "grundskola"
    }
}

fn generate_school(
    ctx: &mut Ctx,
    muni: i64,
    index: u32,
    n_pupils: u32,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<SeededSchool, diesel::result::Error> {
    let form = school_form(index, ctx.p.schools);
    let school = next(&mut ctx.ids.org);
    let name = names::school(index, form);
    ctx.batch.orgs.push(OrgRow {
        id: school,
        parent_id: Some(muni),
        org_type: "school",
        name: name.clone(),
        school_form: Some(form),
        school_unit_code: Some(format!(
            "{:08}",
            10_000_000 + ctx.p.seed % 1000 * 10_000 + index as u64
        )),
        external_id: None,
        report_days_ahead: 7,
        allow_adult_self_report: form == "gymnasieskola",
        alert_threshold_pct: 15,
        created_at: ctx.now,
    });
    let principal_id = ctx.staff(school, "principal");
    let day_slots = slots(form);
    let mid = start + Duration::days((end - start).num_days() / 2);

    let (classes, mut pupils) = classes_and_pupils(ctx, school, form, n_pupils, start)?;
    let mut memberships = memberships(ctx, &classes, start, mid);
    let mut activities = timetable(ctx, school, form, &classes, &mut memberships, start)?;
    let teachers = assign_teachers(ctx, school, &mut activities)?;
    let class_mentors = mentors(ctx, school, &classes, &activities, principal_id)?;
    granted_leave(
        ctx,
        &mut pupils,
        &classes,
        &class_mentors,
        principal_id,
        (start, end),
    );
    let reported_sick = lessons(
        ctx,
        school,
        &activities,
        &memberships,
        &pupils,
        day_slots,
        start,
    );
    sick_reports(ctx, &pupils, reported_sick);
    membership_rows(ctx, memberships, &pupils);
    Ok(SeededSchool {
        id: SchoolId(school),
        name,
        principal_id: PersonId(principal_id),
        classes: class_mentors
            .into_iter()
            .map(|(g, m)| (GroupId(g), PersonId(m)))
            .collect(),
        teachers: teachers.iter().map(|t| PersonId(t.0)).collect(),
    })
}

/// A class of the plan: its group, school year and pupils (indexes into the pupils).
struct Class {
    group: i64,
    year: i32,
    pupils: Vec<usize>,
}

/// An activity of the plan: (plan, subject code, subject name, display name).
type PlannedActivity = (ActivityPlan, &'static str, &'static str, String);

/// A teacher of the plan: (id, busy slots, lessons a week).
type PlannedTeacher = (i64, HashSet<Slot>, usize);

type Memberships = HashMap<i64, Vec<Membership>>;

/// Classes of every year and their pupils, each pupil with their guardians.
fn classes_and_pupils(
    ctx: &mut Ctx,
    school: i64,
    form: &'static str,
    n_pupils: u32,
    start: NaiveDate,
) -> Result<(Vec<Class>, Vec<PupilPlan>), diesel::result::Error> {
    // from the autumn of 2028 compulsory school is ten years (förskoleklass its new year 1)
    let last = if start >= crate::school::year_groups::ten_year_school_from() {
        10
    } else {
        9
    };
    let (years, class_size): (std::ops::RangeInclusive<i32>, u32) = match form {
        "gymnasieskola" => (1..=3, 28),
        "anpassad_grundskola" => (1..=last, 8),
        _ => (1..=last, 24),
    };
    let n_years = years.clone().count() as u32;
    let n_classes = (n_pupils / class_size).max(1).max(n_years.min(n_pupils));
    let mut classes: Vec<Class> = Vec::new();
    let mut pupils: Vec<PupilPlan> = Vec::new();
    let mut recent_guardians: Vec<Vec<i64>> = Vec::new();
    let years_vec: Vec<i32> = years.collect();
    let mut per_year_count: HashMap<i32, u32> = HashMap::new();
    for c in 0..n_classes {
        let year = years_vec[c as usize % years_vec.len()];
        let k = per_year_count.entry(year).or_insert(0);
        let letter = (b'A' + (*k % 26) as u8) as char;
        *k += 1;
        let class_name = match form {
            "gymnasieskola" => format!(
                "{}{}{}",
                names::programme(c),
                year,
                letter.to_ascii_lowercase()
            ),
            _ => format!("{year}{letter}"),
        };
        let group = ctx.group(school, class_name, "class", year);
        let size = n_pupils / n_classes + u32::from(c < n_pupils % n_classes);
        let mut members = Vec::new();
        for _ in 0..size {
            let idx = pupils.len();
            let pupil = new_pupil(ctx, school, form, year, start, &mut recent_guardians);
            pupils.push(pupil);
            members.push(idx);
        }
        classes.push(Class {
            group,
            year,
            pupils: members,
        });
    }

    Ok((classes, pupils))
}

/// Memberships: everyone in their class from the start; a few pupils change class
/// half-way through (`mid`).
fn memberships(ctx: &mut Ctx, classes: &[Class], start: NaiveDate, mid: NaiveDate) -> Memberships {
    let mut memberships: HashMap<i64, Vec<Membership>> = HashMap::new();
    for ci in 0..classes.len() {
        let year = classes[ci].year;
        let siblings: Vec<usize> = (0..classes.len())
            .filter(|&j| j != ci && classes[j].year == year)
            .collect();
        for &pi in &classes[ci].pupils.clone() {
            let moves = !siblings.is_empty() && ctx.rng.chance(0.01);
            let group = classes[ci].group;
            let end_date = if moves {
                Some(mid - Duration::days(1))
            } else {
                None
            };
            memberships.entry(group).or_default().push(Membership {
                pupil: pi,
                start,
                end: end_date,
            });
            if moves {
                let to = classes[*ctx.rng.pick(&siblings)].group;
                memberships.entry(to).or_default().push(Membership {
                    pupil: pi,
                    start: mid,
                    end: None,
                });
            }
        }
    }

    memberships
}

/// The timetable: modern-language slots are shared by a whole year, so they come first
/// (and their groups' memberships); then every class's subjects in free slots.
fn timetable(
    ctx: &mut Ctx,
    school: i64,
    form: &'static str,
    classes: &[Class],
    memberships: &mut Memberships,
    start: NaiveDate,
) -> Result<Vec<PlannedActivity>, diesel::result::Error> {
    let day_slots = slots(form);
    let mut busy: HashMap<i64, HashSet<Slot>> = HashMap::new();
    let mut activities: Vec<(ActivityPlan, &'static str, &'static str, String)> = Vec::new();
    let mut all_slots: Vec<Slot> = Vec::new();
    for day in 0..5 {
        for s in 0..day_slots.len() {
            all_slots.push((day, s));
        }
    }
    if form == "grundskola" {
        let mut lang_years: Vec<i32> = classes.iter().map(|c| c.year).filter(|y| *y >= 6).collect();
        lang_years.sort();
        lang_years.dedup();
        for year in lang_years {
            let year_classes: Vec<usize> = (0..classes.len())
                .filter(|&i| classes[i].year == year)
                .collect();
            let chosen = pick_slots(&mut ctx.rng, &all_slots, &HashSet::new(), 2);
            let mut lang_groups = Vec::new();
            for lang in LANGUAGES {
                let g = ctx.group(school, format!("{year} {lang}"), "teaching", year);
                lang_groups.push(g);
                activities.push((
                    ActivityPlan {
                        id: 0,
                        teacher: 0,
                        groups: vec![g],
                        slots: chosen.clone(),
                    },
                    "M2",
                    lang,
                    format!("{lang} åk {year}"),
                ));
            }
            for &ci in &year_classes {
                busy.entry(classes[ci].group)
                    .or_default()
                    .extend(chosen.iter().copied());
                for &pi in &classes[ci].pupils {
                    let g = lang_groups[ctx.rng.below(lang_groups.len() as u64) as usize];
                    memberships.entry(g).or_default().push(Membership {
                        pupil: pi,
                        start,
                        end: None,
                    });
                }
            }
        }
    }
    let subjects = if form == "gymnasieskola" {
        UPPER_SECONDARY
    } else {
        COMPULSORY
    };
    for class in classes {
        let taken = busy.entry(class.group).or_default();
        for subject in subjects.iter().filter(|s| class.year >= s.from_year) {
            let chosen = pick_slots(&mut ctx.rng, &all_slots, taken, subject.per_week);
            taken.extend(chosen.iter().copied());
            activities.push((
                ActivityPlan {
                    id: 0,
                    teacher: 0,
                    groups: vec![class.group],
                    slots: chosen,
                },
                subject.code,
                subject.name,
                String::new(),
            ));
        }
    }

    Ok(activities)
}

/// Teachers: the least-loaded one free at every slot of the activity, or a new one; the
/// activities' rows.
fn assign_teachers(
    ctx: &mut Ctx,
    school: i64,
    activities: &mut [PlannedActivity],
) -> Result<Vec<PlannedTeacher>, diesel::result::Error> {
    let mut teachers: Vec<(i64, HashSet<Slot>, usize)> = Vec::new();
    let class_names: HashMap<i64, String> = ctx
        .batch
        .groups
        .iter()
        .map(|g| (g.id, g.name.clone()))
        .collect();
    for (plan, code, subject_name, display) in activities.iter_mut() {
        let free = teachers
            .iter_mut()
            .filter(|(_, b, load)| {
                *load + plan.slots.len() <= 22 && plan.slots.iter().all(|s| !b.contains(s))
            })
            .min_by_key(|(_, _, load)| *load);
        let teacher = match free {
            Some((id, b, load)) => {
                b.extend(plan.slots.iter().copied());
                *load += plan.slots.len();
                *id
            }
            None => {
                let id = ctx.staff(school, "teacher");
                teachers.push((id, plan.slots.iter().copied().collect(), plan.slots.len()));
                id
            }
        };
        plan.teacher = teacher;
        plan.id = next(&mut ctx.ids.activity);
        if display.is_empty() {
            *display = format!(
                "{} {}",
                subject_name,
                class_names
                    .get(&plan.groups[0])
                    .cloned()
                    .unwrap_or_default()
            );
        }
        ctx.batch.activities.push(ActivityRow {
            id: plan.id,
            school_id: school,
            display_name: display.clone(),
            subject_code: code,
            subject_name,
            activity_type: "teaching",
            external_id: None,
            created_at: ctx.now,
        });
        for g in &plan.groups {
            ctx.batch.activity_groups.push(ActivityGroupRow {
                activity_id: plan.id,
                group_id: *g,
            });
        }
        ctx.batch.activity_teachers.push(ActivityTeacherRow {
            activity_id: plan.id,
            teacher_id: teacher,
        });
    }

    Ok(teachers)
}

/// Mentors: the teacher of the class's first subject (else the principal); (class, mentor).
fn mentors(
    ctx: &mut Ctx,
    school: i64,
    classes: &[Class],
    activities: &[PlannedActivity],
    principal_id: i64,
) -> Result<Vec<(i64, i64)>, diesel::result::Error> {
    let mut class_mentors = Vec::new();
    for class in classes {
        let mentor = activities
            .iter()
            .find(|(a, code, _, _)| a.groups == [class.group] && *code != "M2")
            .map(|(a, _, _, _)| a.teacher)
            .unwrap_or(principal_id);
        ctx.duty(mentor, school, "mentor", Some(class.group));
        class_mentors.push((class.group, mentor));
    }

    Ok(class_mentors)
}

/// Granted leave for a few pupils: a few school days once during the period, applied for
/// by a guardian, recommended by the mentor and approved by the principal.
fn granted_leave(
    ctx: &mut Ctx,
    pupils: &mut [PupilPlan],
    classes: &[Class],
    class_mentors: &[(i64, i64)],
    principal_id: i64,
    (start, end): (NaiveDate, NaiveDate),
) {
    for pupil in pupils.iter_mut() {
        if ctx.rng.chance(0.03) {
            let offset = ctx.rng.below(((end - start).num_days().max(8) - 7) as u64) as i64;
            let first = next_school_day(ctx, start + Duration::days(offset));
            let mut last = first;
            for _ in 0..ctx.rng.range(1, 4) {
                last = next_school_day(ctx, last + Duration::days(1));
            }
            if last < end {
                pupil.leave = Some((first, last));
            }
        }
    }
    let mentor_of: HashMap<usize, i64> = classes
        .iter()
        .zip(class_mentors)
        .flat_map(|(c, (_, m))| c.pupils.iter().map(move |p| (*p, *m)))
        .collect();
    for (pi, pupil) in pupils.iter().enumerate() {
        let Some((first, last)) = pupil.leave else {
            continue;
        };
        let applicant = pupil.guardians.first().copied().unwrap_or(pupil.id);
        // applied three weeks ahead and decided four days later, but never after the
        // seed's today: the history is in the past
        let evening = NaiveTime::from_hms_opt(19, 30, 0).unwrap_or_default();
        let latest = ctx.utc(ctx.p.today - Duration::days(1), evening);
        let applied = ctx
            .utc(first - Duration::days(21), evening)
            .min(latest - Duration::days(4));
        let recommended = (applied + Duration::days(2)).min(latest);
        let decided = (applied + Duration::days(4)).min(latest);
        let id = next(&mut ctx.ids.leave);
        ctx.batch.leave.push(LeaveRow {
            id,
            pupil_id: pupil.id,
            start_date: first,
            end_date: last,
            reason: names::leave_reason(&mut ctx.rng).to_string(),
            applied_by: applicant,
            applied_at: applied,
            recommendation: Some("recommended"),
            recommendation_comment: None,
            recommended_by: mentor_of.get(&pi).copied(),
            recommended_at: Some(recommended),
            status: "approved",
            decided_by: Some(principal_id),
            decided_at: Some(decided),
            decision_comment: None,
        });
        ctx.counts.leave_applications += 1;
    }
}

/// Lessons, roll calls and marks, week by week; the (pupil, day) pairs marked sick.
fn lessons(
    ctx: &mut Ctx,
    school: i64,
    activities: &[PlannedActivity],
    memberships: &Memberships,
    pupils: &[PupilPlan],
    day_slots: &[(u32, u32, u32, u32, i32)],
    start: NaiveDate,
) -> HashSet<(usize, NaiveDate)> {
    let mut reported_sick: HashSet<(usize, NaiveDate)> = HashSet::new();
    for (plan, _, _, _) in activities {
        for week in 0..ctx.p.weeks as i64 {
            for &(day, slot) in &plan.slots {
                let date = start + Duration::weeks(week) + Duration::days(day as i64);
                if !ctx.school_day(date) {
                    continue;
                }
                let (sh, sm, eh, em, minutes) = day_slots[slot];
                let starts = NaiveTime::from_hms_opt(sh, sm, 0).unwrap_or_default();
                let ends = NaiveTime::from_hms_opt(eh, em, 0).unwrap_or_default();
                let cancelled = ctx.rng.chance(0.015);
                let lesson = next(&mut ctx.ids.lesson);
                ctx.batch.lessons.push(LessonRow {
                    id: lesson,
                    activity_id: plan.id,
                    school_id: school,
                    lesson_date: date,
                    starts_at: starts,
                    ends_at: ends,
                    teaching_minutes: minutes,
                    room: Some(format!(
                        "{}{:02}",
                        (b'A' + (plan.id % 4) as u8) as char,
                        1 + plan.id % 30
                    )),
                    cancelled,
                    substitute_teacher_id: None,
                    external_id: None,
                });
                ctx.counts.lessons += 1;
                if cancelled || date >= ctx.p.today || !ctx.rng.chance(0.97) {
                    continue;
                }
                let reported_at = ctx.utc(date, ends) + Duration::minutes(ctx.rng.range(-5, 40));
                ctx.batch.reports.push(LessonReportRow {
                    lesson_id: lesson,
                    reported_by: plan.teacher,
                    reported_at,
                    modified_at: Some(reported_at),
                    version: 1,
                });
                ctx.counts.reported_lessons += 1;
                for g in &plan.groups {
                    let Some(members) = memberships.get(g) else {
                        continue;
                    };
                    for m in members {
                        if date < m.start || m.end.is_some_and(|e| date > e) {
                            continue;
                        }
                        let pupil = &pupils[m.pupil];
                        let Some((status, mins, reason)) = mark_for(ctx, pupil, date, minutes)
                        else {
                            continue;
                        };
                        if reason == Some(ctx.reasons.sick) {
                            reported_sick.insert((m.pupil, date));
                        }
                        let id = next(&mut ctx.ids.mark);
                        ctx.batch.marks.push(MarkRow {
                            id,
                            lesson_id: lesson,
                            pupil_id: pupil.id,
                            status,
                            minutes: mins,
                            reason_id: reason,
                            marked_by: plan.teacher,
                            marked_at: reported_at,
                        });
                        ctx.counts.marks += 1;
                    }
                }
            }
        }
    }
    reported_sick
}

/// One guardian report per sick day, made that morning.
fn sick_reports(ctx: &mut Ctx, pupils: &[PupilPlan], reported_sick: HashSet<(usize, NaiveDate)>) {
    let mut sick_days: Vec<(usize, NaiveDate)> = reported_sick.into_iter().collect();
    sick_days.sort();
    for (pi, date) in sick_days {
        let pupil = &pupils[pi];
        let by = pupil.guardians.first().copied().unwrap_or(pupil.id);
        let midnight = NaiveTime::MIN;
        let made = ctx.utc(date, NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default())
            + Duration::minutes(ctx.rng.range(0, 50));
        let id = next(&mut ctx.ids.absence_report);
        ctx.batch.absence_reports.push(AbsenceReportRow {
            id,
            pupil_id: pupil.id,
            starts_at: ctx.utc(date, midnight),
            ends_at: ctx.utc(date + Duration::days(1), midnight),
            reason_id: ctx.reasons.sick,
            message: None,
            reported_by: by,
            registered_by_staff: false,
            created_at: made,
            cancelled_at: None,
            cancelled_by: None,
        });
        ctx.counts.absence_reports += 1;
    }
}

/// The memberships' rows, with ids in a fixed order whatever order the hash map walks in.
fn membership_rows(ctx: &mut Ctx, memberships: Memberships, pupils: &[PupilPlan]) {
    let mut rows: Vec<(i64, i64, NaiveDate, Option<NaiveDate>)> = memberships
        .into_iter()
        .flat_map(|(group, list)| list.into_iter().map(move |m| (group, m)))
        .map(|(group, m)| (group, pupils[m.pupil].id, m.start, m.end))
        .collect();
    rows.sort();
    for (group_id, pupil_id, start_date, end_date) in rows {
        let id = next(&mut ctx.ids.membership);
        ctx.batch.memberships.push(MembershipRow {
            id,
            group_id,
            pupil_id,
            start_date,
            end_date,
        });
    }
}

fn next_school_day(ctx: &Ctx, mut d: NaiveDate) -> NaiveDate {
    for _ in 0..60 {
        if ctx.school_day(d) {
            return d;
        }
        d += Duration::days(1);
    }
    d
}

/// `n` distinct free slots, spread over the week where possible.
fn pick_slots(rng: &mut Rng, all: &[Slot], taken: &HashSet<Slot>, n: usize) -> Vec<Slot> {
    let mut free: Vec<Slot> = all.iter().copied().filter(|s| !taken.contains(s)).collect();
    let mut out: Vec<Slot> = Vec::new();
    while out.len() < n && !free.is_empty() {
        let other_day: Vec<usize> = (0..free.len())
            .filter(|&i| out.iter().all(|(d, _)| *d != free[i].0))
            .collect();
        let i = if other_day.is_empty() {
            rng.below(free.len() as u64) as usize
        } else {
            *rng.pick(&other_day)
        };
        out.push(free.swap_remove(i));
    }
    out.sort();
    out
}

fn new_pupil(
    ctx: &mut Ctx,
    school: i64,
    form: &str,
    year: i32,
    start: NaiveDate,
    recent_guardians: &mut Vec<Vec<i64>>,
) -> PupilPlan {
    let (given, family, sex) = names::person(&mut ctx.rng);
    let age_at_start = if form == "gymnasieskola" {
        15 + year
    } else {
        6 + year
    };
    let birth_year = start.year() - age_at_start;
    let birth = NaiveDate::from_yo_opt(birth_year, 1 + ctx.rng.below(365) as u32).unwrap_or(start);
    let mut row = ctx.person(given, family, sex);
    row.birth_date = Some(birth);
    row.school_id = Some(school);
    row.civic_no = Some(names::civic_no(birth, &mut ctx.rng, sex));
    row.security_marking = match ctx.rng.below(1000) {
        0..=4 => "protected",
        5..=9 => "confidential",
        _ => "none",
    };
    let id = row.id;
    let adult = birth
        .with_year(birth.year() + 18)
        .is_some_and(|d| d <= ctx.p.today);
    if adult {
        row.email = Some(format!(
            "{}.{}{}@elev.example.com",
            names::ascii(given),
            names::ascii(family),
            id
        ));
    }
    ctx.batch.people.push(row);
    ctx.counts.pupils += 1;

    let u = ctx.rng.unit();
    let rate = if u < 0.80 {
        0.015 + 0.04 * ctx.rng.unit()
    } else if u < 0.94 {
        0.055 + 0.08 * ctx.rng.unit()
    } else {
        0.15 + 0.2 * ctx.rng.unit()
    };

    let guardians = if adult {
        Vec::new()
    } else if !recent_guardians.is_empty() && ctx.rng.chance(0.15) {
        // A sibling: same guardians.
        ctx.rng.pick(recent_guardians).clone()
    } else {
        let n = if ctx.rng.chance(0.88) { 2 } else { 1 };
        let mut set = Vec::new();
        for k in 0..n {
            let (g_given, _, g_sex) =
                names::person_of_sex(&mut ctx.rng, if k == 0 { "F" } else { "M" });
            let g_family = if ctx.rng.chance(0.7) {
                family
            } else {
                names::family(&mut ctx.rng)
            };
            let mut g = ctx.person(g_given, g_family, g_sex);
            g.email = Some(format!(
                "{}.{}{}@example.com",
                names::ascii(g_given),
                names::ascii(g_family),
                g.id
            ));
            g.language = if ctx.rng.chance(0.06) { "en" } else { "sv" };
            set.push(g.id);
            ctx.batch.people.push(g);
            ctx.counts.guardians += 1;
        }
        recent_guardians.push(set.clone());
        if recent_guardians.len() > 50 {
            recent_guardians.remove(0);
        }
        set
    };
    for g in &guardians {
        let gid = next(&mut ctx.ids.guardianship);
        ctx.batch.guardianships.push(GuardianshipRow {
            id: gid,
            pupil_id: id,
            guardian_id: *g,
            relation: "guardian",
            created_at: ctx.now,
        });
    }
    PupilPlan {
        id,
        rate,
        guardians,
        leave: None,
    }
}

/// The mark (status, minutes, reason) a pupil gets on a reported lesson, if any.
fn mark_for(
    ctx: &mut Ctx,
    pupil: &PupilPlan,
    date: NaiveDate,
    minutes: i32,
) -> Option<(&'static str, i32, Option<i64>)> {
    if pupil.leave.is_some_and(|(a, b)| date >= a && date <= b) {
        return Some(("absent", minutes, Some(ctx.reasons.leave)));
    }
    let day = date.num_days_from_ce() as u64;
    let weekday = match date.weekday() {
        Weekday::Mon | Weekday::Fri => 1.3,
        _ => 0.8,
    };
    let seed = ctx.p.seed;
    let whole_day = pupil.rate * weekday * 0.7;
    let sick = hash_unit(&[seed, pupil.id as u64, day, 1]) < whole_day
        || (hash_unit(&[seed, pupil.id as u64, day - 1, 1]) < whole_day
            && hash_unit(&[seed, pupil.id as u64, day, 2]) < 0.45);
    if sick {
        let reported = hash_unit(&[seed, pupil.id as u64, day, 3]) < 0.85;
        return Some(("absent", minutes, reported.then_some(ctx.reasons.sick)));
    }
    let r = &mut ctx.rng;
    if r.chance(pupil.rate * 0.12 * weekday) {
        return Some(("absent", minutes, None));
    }
    if r.chance(0.01 + pupil.rate * 0.1) {
        return Some(("late", r.range(3, 20) as i32, None));
    }
    if r.chance(0.003) {
        return Some((
            "left_early",
            r.range(10, (minutes as i64 - 5).max(11)) as i32,
            None,
        ));
    }
    None
}
