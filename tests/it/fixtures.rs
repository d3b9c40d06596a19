//! The demo municipality with one signed-in person per role, and the ids the access tests
//! name: what each role should and should not reach.

use diesel::prelude::*;
use narvaro::db::Pool;
use narvaro::schema::*;

use crate::browser::{api_token, conn, seed_demo, Browser, DEMO_PASSWORD};
use crate::helpers::TestApp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Anonymous,
    Guardian,
    OtherGuardian,
    AdultPupil,
    Teacher,
    OtherTeacher,
    Principal,
    OtherPrincipal,
    Admin,
    /// the school administrator (the office, Skoladministratör) of school 1: demo.office
    Office,
    /// a member of school 1's student health team (elevhälsan): demo.health
    Health,
    /// the huvudman's officer for absence investigations: demo.officer
    Officer,
}

pub const ROLES: [Role; 12] = [
    Role::Anonymous,
    Role::Guardian,
    Role::OtherGuardian,
    Role::AdultPupil,
    Role::Teacher,
    Role::OtherTeacher,
    Role::Principal,
    Role::OtherPrincipal,
    Role::Admin,
    Role::Office,
    Role::Health,
    Role::Officer,
];

pub struct Ids {
    /// demo.guardian's child in demo.teacher's mentor class (school 1)
    pub child: i64,
    /// an adult pupil of school 2 who may act for themself
    pub adult: i64,
    /// a lesson demo.teacher teaches today, with the mentor class
    pub lesson: i64,
    /// a pupil of school 1 with a protected identity
    pub protected: i64,
    pub school1: i64,
    pub school2: i64,
    /// a cancelled absence report for the child
    pub report: i64,
    /// a decided (approved) leave application for the child
    pub leave: i64,
    /// demo.teacher's mentor class (school 1), the child's class
    pub class: i64,
    /// the uuids the SS 12000 export names school 1, the leave and the cancelled report by
    pub school1_uuid: String,
    pub leave_uuid: String,
    pub report_uuid: String,
    /// the SS 12000 id of the child's attendance on a reported lesson of the class
    pub attendance: String,
    /// an open early signal for the child, and its rule (the municipality's)
    pub signal: i64,
    pub rule: i64,
    /// an open investigation of another school-1 pupil's absence (decided: investigate),
    /// and its report to the huvudman
    pub case: i64,
    pub hv_report: i64,
}

pub struct World {
    pub pool: Pool,
    pub ids: Ids,
    pub usernames: Vec<(Role, String)>,
}

fn id_of(c: &mut narvaro::db::DbConn, username: &str) -> i64 {
    people::table
        .filter(people::username.eq(username))
        .select(people::id)
        .first(c)
        .unwrap()
}

/// The demo password, hashed as the demo stored it for its staff.
fn demo_password_hash(c: &mut narvaro::db::DbConn) -> String {
    people::table
        .filter(people::username.eq("demo.teacher"))
        .select(people::password_hash.assume_not_null())
        .first(c)
        .unwrap()
}

/// Seeds the demo and gives every role a username with the demo password.
pub fn build(app: &TestApp) -> World {
    let pool = seed_demo(app);
    let mut c = conn(&pool);
    let c = &mut *c;
    let hash = demo_password_hash(c);
    let teacher = id_of(c, "demo.teacher");
    let guardian = id_of(c, "demo.guardian");
    let principal = id_of(c, "demo.principal");
    let school1: i64 = duties::table
        .filter(duties::person_id.eq(principal))
        .filter(duties::role.eq("principal"))
        .select(duties::organisation_id)
        .first(c)
        .unwrap();
    let school2: i64 = organisations::table
        .filter(organisations::org_type.eq("school"))
        .filter(organisations::id.ne(school1))
        .select(organisations::id)
        .order(organisations::id)
        .first(c)
        .unwrap();
    let mentor_class: i64 = duties::table
        .filter(duties::person_id.eq(teacher))
        .filter(duties::role.eq("mentor"))
        .select(duties::group_id.assume_not_null())
        .first(c)
        .unwrap();
    let child: i64 = guardianships::table
        .inner_join(
            group_memberships::table.on(group_memberships::pupil_id.eq(guardianships::pupil_id)),
        )
        .filter(guardianships::guardian_id.eq(guardian))
        .filter(group_memberships::group_id.eq(mentor_class))
        .select(guardianships::pupil_id)
        .first(c)
        .unwrap();
    let today = app.config.clock.today(chrono_tz::Europe::Stockholm);
    let lesson: i64 = lessons::table
        .inner_join(
            activity_teachers::table.on(activity_teachers::activity_id.eq(lessons::activity_id)),
        )
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_teachers::teacher_id.eq(teacher))
        .filter(activity_groups::group_id.eq(mentor_class))
        .filter(lessons::lesson_date.eq(today))
        .filter(lessons::cancelled.eq(false))
        .select(lessons::id)
        .order(lessons::starts_at)
        .first(c)
        .unwrap();

    // Another family: a guardian of a school-1 pupil who shares no child with demo.guardian.
    let own: Vec<i64> = guardianships::table
        .filter(guardianships::guardian_id.eq(guardian))
        .select(guardianships::pupil_id)
        .load(c)
        .unwrap();
    let other_guardian: i64 = guardianships::table
        .inner_join(people::table.on(people::id.eq(guardianships::pupil_id)))
        .filter(people::school_id.eq(school1))
        .filter(guardianships::pupil_id.ne_all(&own))
        .filter(guardianships::guardian_id.ne(guardian))
        .select(guardianships::guardian_id)
        .order(guardianships::guardian_id)
        .first(c)
        .unwrap();
    let others_children: Vec<i64> = guardianships::table
        .filter(guardianships::guardian_id.eq(other_guardian))
        .select(guardianships::pupil_id)
        .load(c)
        .unwrap();
    assert!(others_children.iter().all(|p| !own.contains(p)));

    // An adult pupil at school 2, which allows adults to act for themselves.
    let adult: i64 = people::table
        .filter(people::school_id.eq(school2))
        .filter(people::security_marking.eq("none"))
        .select(people::id)
        .order(people::id)
        .first(c)
        .unwrap();
    diesel::update(organisations::table.find(school2))
        .set(organisations::allow_adult_self_report.eq(true))
        .execute(c)
        .unwrap();
    diesel::update(people::table.find(adult))
        .set(people::birth_date.eq(chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()))
        .execute(c)
        .unwrap();
    // A teacher at school 2 who teaches the adult pupil's class.
    let other_teacher: i64 = activity_teachers::table
        .inner_join(
            activity_groups::table
                .on(activity_groups::activity_id.eq(activity_teachers::activity_id)),
        )
        .inner_join(
            group_memberships::table.on(group_memberships::group_id.eq(activity_groups::group_id)),
        )
        .filter(group_memberships::pupil_id.eq(adult))
        .filter(group_memberships::end_date.is_null())
        .select(activity_teachers::teacher_id)
        .first(c)
        .unwrap();
    // other.teacher teaches but mentors no one
    diesel::delete(
        duties::table
            .filter(duties::person_id.eq(other_teacher))
            .filter(duties::role.eq("mentor")),
    )
    .execute(c)
    .unwrap();
    let other_principal: i64 = duties::table
        .filter(duties::organisation_id.eq(school2))
        .filter(duties::role.eq("principal"))
        .select(duties::person_id)
        .first(c)
        .unwrap();
    // A protected identity at school 1 in no group demo.teacher teaches or mentors.
    let teachers_groups: Vec<i64> = activity_groups::table
        .inner_join(
            activity_teachers::table
                .on(activity_teachers::activity_id.eq(activity_groups::activity_id)),
        )
        .filter(activity_teachers::teacher_id.eq(teacher))
        .select(activity_groups::group_id)
        .load(c)
        .unwrap();
    let taught: Vec<i64> = group_memberships::table
        .filter(
            group_memberships::group_id
                .eq_any(&teachers_groups)
                .or(group_memberships::group_id.eq(mentor_class)),
        )
        .select(group_memberships::pupil_id)
        .load(c)
        .unwrap();
    let protected: i64 = people::table
        .filter(people::school_id.eq(school1))
        .filter(people::id.ne_all(&taught))
        .filter(people::id.ne_all(&own))
        .select(people::id)
        .order(people::id)
        .first(c)
        .unwrap();
    diesel::update(people::table.find(protected))
        .set(people::security_marking.eq("protected"))
        .execute(c)
        .unwrap();

    let now = crate::helpers::test_moment().naive_utc();
    let sick: i64 = absence_reasons::table
        .filter(absence_reasons::code.eq("SJUK"))
        .select(absence_reasons::id)
        .first(c)
        .unwrap();
    let report: i64 = diesel::insert_into(absence_reports::table)
        .values((
            absence_reports::pupil_id.eq(child),
            absence_reports::starts_at.eq(now - chrono::Duration::days(3)),
            absence_reports::ends_at.eq(now - chrono::Duration::days(2)),
            absence_reports::reason_id.eq(sick),
            absence_reports::reported_by.eq(guardian),
            absence_reports::created_at.eq(now - chrono::Duration::days(4)),
            absence_reports::cancelled_at.eq(now - chrono::Duration::days(4)),
            absence_reports::cancelled_by.eq(guardian),
        ))
        .returning(absence_reports::id)
        .get_result(c)
        .unwrap();
    let leave: i64 = diesel::insert_into(leave_applications::table)
        .values((
            leave_applications::pupil_id.eq(child),
            leave_applications::start_date.eq(today - chrono::Duration::days(30)),
            leave_applications::end_date.eq(today - chrono::Duration::days(29)),
            leave_applications::reason.eq("Släktkalas"),
            leave_applications::applied_by.eq(guardian),
            leave_applications::applied_at.eq(now - chrono::Duration::days(40)),
            leave_applications::status.eq("approved"),
            leave_applications::decided_by.eq(principal),
            leave_applications::decided_at.eq(now - chrono::Duration::days(35)),
        ))
        .returning(leave_applications::id)
        .get_result(c)
        .unwrap();

    let mut usernames = vec![
        (Role::Guardian, "demo.guardian".to_string()),
        (Role::Teacher, "demo.teacher".to_string()),
        (Role::Principal, "demo.principal".to_string()),
        (Role::Admin, "demo.admin".to_string()),
        (Role::Office, "demo.office".to_string()),
    ];
    for (role, id, name) in [
        (Role::OtherGuardian, other_guardian, "other.guardian"),
        (Role::AdultPupil, adult, "adult.pupil"),
        (Role::OtherTeacher, other_teacher, "other.teacher"),
        (Role::OtherPrincipal, other_principal, "other.principal"),
    ] {
        diesel::update(people::table.find(id))
            .set((people::username.eq(name), people::password_hash.eq(&hash)))
            .execute(c)
            .unwrap();
        usernames.push((role, name.to_string()));
    }
    let uuid_of_school: String = organisations::table
        .find(school1)
        .select(organisations::uuid.assume_not_null())
        .first(c)
        .unwrap();
    let leave_uuid: String = leave_applications::table
        .find(leave)
        .select(leave_applications::uuid.assume_not_null())
        .first(c)
        .unwrap();
    let report_uuid: String = absence_reports::table
        .find(report)
        .select(absence_reports::uuid.assume_not_null())
        .first(c)
        .unwrap();
    let reported: i64 = lessons::table
        .inner_join(lesson_reports::table)
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_groups::group_id.eq(mentor_class))
        .filter(lessons::cancelled.eq(false))
        .filter(lessons::lesson_date.lt(today))
        .select(lessons::id)
        .order(lessons::id.desc())
        .first(c)
        .unwrap();
    // an open early signal for the child, of a rule of the municipality
    let municipality: i64 = organisations::table
        .find(school1)
        .select(organisations::parent_id.assume_not_null())
        .first(c)
        .unwrap();
    let rule: i64 = diesel::insert_into(signal_rules::table)
        .values((
            signal_rules::organisation_id.eq(municipality),
            signal_rules::kind.eq("share"),
            signal_rules::counts.eq("all"),
            signal_rules::window_days.eq(28),
            signal_rules::share_pct.eq(Some(10)),
            signal_rules::tell_mentor.eq(true),
            signal_rules::tell_principal.eq(true),
            signal_rules::active.eq(true),
            signal_rules::created_by.eq(id_of(c, "demo.admin")),
            signal_rules::created_at.eq(now),
        ))
        .returning(signal_rules::id)
        .get_result(c)
        .unwrap();
    let signal: i64 = diesel::insert_into(signals::table)
        .values((
            signals::rule_id.eq(rule),
            signals::pupil_id.eq(child),
            signals::school_id.eq(school1),
            signals::status.eq("new"),
            signals::raised_at.eq(now),
            signals::period_from.eq(today - chrono::Duration::days(27)),
            signals::period_to.eq(today),
            signals::absent_minutes.eq(300),
            signals::scheduled_minutes.eq(1800),
            signals::days_in_row.eq(1),
        ))
        .returning(signals::id)
        .get_result(c)
        .unwrap();
    // school 1's elevhälsa and the huvudman's officer
    for (name, org, role) in [
        ("demo.health", school1, "health"),
        ("demo.officer", municipality, "case_officer"),
    ] {
        let id = crate::build::Person::new("Fixtur", name)
            .duty(org, role, None)
            .insert(c);
        diesel::update(people::table.find(id))
            .set((people::username.eq(name), people::password_hash.eq(&hash)))
            .execute(c)
            .unwrap();
        let r = if role == "health" {
            Role::Health
        } else {
            Role::Officer
        };
        usernames.push((r, name.to_string()));
    }
    // an investigation of a pupil of the mentor class (not the child), decided on today
    let investigated: i64 = group_memberships::table
        .filter(group_memberships::group_id.eq(mentor_class))
        .filter(group_memberships::pupil_id.ne(child))
        .select(group_memberships::pupil_id)
        .order(group_memberships::pupil_id)
        .first(c)
        .unwrap();
    let case: i64 = diesel::insert_into(absence_cases::table)
        .values((
            absence_cases::pupil_id.eq(investigated),
            absence_cases::school_id.eq(school1),
            absence_cases::status.eq("open"),
            absence_cases::opened_by.eq(principal),
            absence_cases::opened_at.eq(now),
            absence_cases::period_from.eq(today - chrono::Duration::days(27)),
            absence_cases::period_to.eq(today),
            absence_cases::absent_minutes.eq(400),
            absence_cases::scheduled_minutes.eq(1800),
            absence_cases::decision.eq(Some("investigate")),
            absence_cases::decided_on.eq(Some(today)),
            absence_cases::decided_by.eq(Some(principal)),
            absence_cases::deadline.eq(Some(today + chrono::Duration::days(21))),
            absence_cases::special_support.eq(false),
        ))
        .returning(absence_cases::id)
        .get_result(c)
        .unwrap();
    let hv_report: i64 = diesel::insert_into(huvudman_reports::table)
        .values((
            huvudman_reports::case_id.eq(case),
            huvudman_reports::organisation_id.eq(municipality),
            huvudman_reports::school_id.eq(school1),
            huvudman_reports::pupil_id.eq(investigated),
            huvudman_reports::started_on.eq(today),
            huvudman_reports::principal_id.eq(principal),
            huvudman_reports::status.eq("open"),
            huvudman_reports::created_at.eq(now),
            huvudman_reports::updated_at.eq(now),
        ))
        .returning(huvudman_reports::id)
        .get_result(c)
        .unwrap();
    World {
        pool: pool.clone(),
        ids: Ids {
            case,
            hv_report,
            signal,
            rule,
            school1_uuid: uuid_of_school,
            leave_uuid,
            report_uuid,
            attendance: narvaro::interop::ss12000::uuid::attendance(
                narvaro::school::ids::LessonId(reported),
                narvaro::school::ids::PupilId(child),
            ),
            child,
            adult,
            lesson,
            protected,
            school1,
            school2,
            report,
            leave,
            class: mentor_class,
        },
        usernames,
    }
}

impl World {
    pub fn username(&self, role: Role) -> Option<&str> {
        self.usernames
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, u)| u.as_str())
    }
}

/// A browser and an API token for a role (none for the anonymous visitor).
pub async fn sign_in_as(app: &TestApp, world: &World, role: Role) -> (Browser, Option<String>) {
    let mut b = Browser::open(app).await;
    let Some(username) = world.username(role) else {
        return (b, None);
    };
    b.sign_in(username, DEMO_PASSWORD).await;
    let token = api_token(app, username, DEMO_PASSWORD).await;
    (b, Some(token))
}

/// The next weekday after `d` that is not one of the demo's holidays.
pub fn next_school_day(world: &World, d: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::{Datelike, Weekday};
    let mut c = conn(&world.pool);
    let holidays: Vec<chrono::NaiveDate> = holidays::table
        .select(holidays::holiday_date)
        .load(&mut *c)
        .unwrap();
    let mut x = d + chrono::Duration::days(1);
    while matches!(x.weekday(), Weekday::Sat | Weekday::Sun) || holidays.contains(&x) {
        x += chrono::Duration::days(1);
    }
    x
}

/// An administrator's invitation of a teacher at a school, as the form sends it.
pub async fn invite_teacher(
    admin: &mut Browser,
    school: i64,
    (given, family): (&str, &str),
    email: &str,
    username: &str,
) -> crate::browser::Page {
    let school = school.to_string();
    admin
        .post(
            "/admin/staff",
            &[
                ("given_name", given),
                ("family_name", family),
                ("email", email),
                ("username", username),
                ("role", "teacher"),
                ("school_id", school.as_str()),
            ],
        )
        .await
}

/// `username` stands in (as substitute) on the lesson; answers their id.
pub fn stand_in(world: &World, lesson: i64, username: &str) -> i64 {
    let mut c = crate::browser::conn(&world.pool);
    let id: i64 = people::table
        .filter(people::username.eq(username))
        .select(people::id)
        .first(&mut *c)
        .unwrap();
    diesel::update(lessons::table.find(lesson))
        .set(lessons::substitute_teacher_id.eq(id))
        .execute(&mut *c)
        .unwrap();
    id
}

/// A new member of staff with the demo password and one duty at the school since a month
/// ago: `role` is a duty role ("teacher", "school_admin", ...).
pub fn staff_member(world: &World, username: &str, role: &str, school: i64) -> i64 {
    let mut c = conn(&world.pool);
    let c = &mut *c;
    let hash = demo_password_hash(c);
    let id: i64 = diesel::insert_into(people::table)
        .values((
            people::given_name.eq("Sara"),
            people::family_name.eq(format!("Expedit {role}")),
            people::security_marking.eq("none"),
            people::language.eq("sv"),
            people::receive_confirmations.eq(false),
            people::username.eq(username),
            people::password_hash.eq(hash),
            people::token_version.eq(0),
            people::active.eq(true),
            people::created_at.eq(chrono::Utc::now().naive_utc()),
            people::email_chosen.eq(false),
        ))
        .returning(people::id)
        .get_result(c)
        .unwrap();
    diesel::insert_into(duties::table)
        .values((
            duties::person_id.eq(id),
            duties::organisation_id.eq(school),
            duties::role.eq(role),
            duties::start_date.eq(crate::helpers::test_today() - chrono::Duration::days(30)),
        ))
        .execute(c)
        .unwrap();
    id
}

/// Makes `username` the child's only other guardian (the demo may have given the child
/// one more, who is taken away), with the demo password and the e-mail address and
/// telephone number given (None: none, so no message reaches them).
pub fn second_guardian(
    world: &World,
    username: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> i64 {
    let mut c = conn(&world.pool);
    let c = &mut *c;
    let hash = demo_password_hash(c);
    let first = id_of(c, "demo.guardian");
    diesel::delete(
        guardianships::table
            .filter(guardianships::pupil_id.eq(world.ids.child))
            .filter(guardianships::guardian_id.ne(first)),
    )
    .execute(c)
    .unwrap();
    let id: i64 = diesel::insert_into(people::table)
        .values((
            people::given_name.eq("Kim"),
            people::family_name.eq("Andersson"),
            people::security_marking.eq("none"),
            people::language.eq("sv"),
            people::receive_confirmations.eq(false),
            people::username.eq(username),
            people::password_hash.eq(hash),
            people::email.eq(email),
            people::phone.eq(phone),
            people::token_version.eq(0),
            people::active.eq(true),
            people::created_at.eq(chrono::Utc::now().naive_utc()),
            people::email_chosen.eq(false),
        ))
        .returning(people::id)
        .get_result(c)
        .unwrap();
    diesel::insert_into(guardianships::table)
        .values((
            guardianships::pupil_id.eq(world.ids.child),
            guardianships::guardian_id.eq(id),
            guardianships::created_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(c)
        .unwrap();
    id
}
