//! Fixture builders: a test says what its world holds and gets the ids back, instead of
//! seeding the demo and looking ids up.
//!
//! ```ignore
//! let muni = Municipality::new("Exempelby kommun").insert(c);
//! let school = School::new("Ekskolan", muni).insert(c);
//! let class = Group::class("7A", school, 7).insert(c);
//! let guardian = Person::new("Karin", "Ek").email("karin@example.se").insert(c);
//! let pupil = Person::new("Alva", "Ek").pupil_at(school).in_group(class).with_guardian(guardian).insert(c);
//! ```
//!
//! Everything starts on `START` (the first day of the autumn term 2026) unless told.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use narvaro::db::DbConn;
use narvaro::schema::*;

/// The day memberships and duties start on by default.
pub const START: NaiveDate = match NaiveDate::from_ymd_opt(2026, 8, 17) {
    Some(d) => d,
    None => panic!(),
};

fn created() -> NaiveDateTime {
    START.and_time(NaiveTime::MIN)
}

pub struct Municipality {
    name: String,
}

impl Municipality {
    pub fn new(name: &str) -> Self {
        Municipality { name: name.into() }
    }

    /// The municipality with the default absence reasons.
    pub fn insert(self, c: &mut DbConn) -> i64 {
        let id: i64 = diesel::insert_into(organisations::table)
            .values((
                organisations::org_type.eq("municipality"),
                organisations::name.eq(&self.name),
                organisations::created_at.eq(created()),
            ))
            .returning(organisations::id)
            .get_result(c)
            .unwrap();
        narvaro::attendance::absence_reasons::ensure_default_reasons(
            c,
            narvaro::school::ids::OrganisationId(id),
        )
        .unwrap();
        id
    }
}

pub struct School {
    name: String,
    municipality: i64,
    form: &'static str,
    threshold: i32,
}

impl School {
    pub fn new(name: &str, municipality: i64) -> Self {
        School {
            name: name.into(),
            municipality,
            form: "grundskola",
            threshold: 15,
        }
    }

    /// The school form ("grundskola" unless told).
    pub fn form(mut self, form: &'static str) -> Self {
        self.form = form;
        self
    }

    /// The school's alert threshold, per cent (15 unless told).
    pub fn alert_threshold(mut self, pct: i32) -> Self {
        self.threshold = pct;
        self
    }

    pub fn insert(self, c: &mut DbConn) -> i64 {
        diesel::insert_into(organisations::table)
            .values((
                organisations::parent_id.eq(self.municipality),
                organisations::org_type.eq("school"),
                organisations::name.eq(&self.name),
                organisations::school_form.eq(self.form),
                organisations::alert_threshold_pct.eq(self.threshold),
                organisations::created_at.eq(created()),
            ))
            .returning(organisations::id)
            .get_result(c)
            .unwrap()
    }
}

pub struct Group {
    name: String,
    school: i64,
    kind: &'static str,
    year: Option<i32>,
}

impl Group {
    pub fn class(name: &str, school: i64, year: i32) -> Self {
        Group {
            name: name.into(),
            school,
            kind: "class",
            year: Some(year),
        }
    }

    pub fn insert(self, c: &mut DbConn) -> i64 {
        diesel::insert_into(groups::table)
            .values((
                groups::school_id.eq(self.school),
                groups::name.eq(&self.name),
                groups::group_type.eq(self.kind),
                groups::school_year.eq(self.year),
                groups::created_at.eq(created()),
            ))
            .returning(groups::id)
            .get_result(c)
            .unwrap()
    }
}

/// A person: a pupil (`pupil_at`), a guardian (`with_guardian` on the pupil) or staff
/// (`duty`), signing in with `username` and `password` when given.
pub struct Person {
    given: String,
    family: String,
    school: Option<i64>,
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
    marking: &'static str,
    birth_date: Option<NaiveDate>,
    sex: Option<&'static str>,
    groups: Vec<(i64, NaiveDate, Option<NaiveDate>)>,
    guardians: Vec<i64>,
    duties: Vec<(i64, &'static str, Option<i64>, NaiveDate)>,
}

impl Person {
    pub fn new(given: &str, family: &str) -> Self {
        Person {
            given: given.into(),
            family: family.into(),
            school: None,
            email: None,
            username: None,
            password: None,
            marking: "none",
            birth_date: None,
            sex: None,
            groups: Vec::new(),
            guardians: Vec::new(),
            duties: Vec::new(),
        }
    }

    pub fn pupil_at(mut self, school: i64) -> Self {
        self.school = Some(school);
        self
    }

    pub fn born(mut self, date: NaiveDate) -> Self {
        self.birth_date = Some(date);
        self
    }

    /// A protected identity (skyddad folkbokföring).
    pub fn protected(mut self) -> Self {
        self.marking = "protected";
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Signs in with this username and password.
    pub fn account(mut self, username: &str, password: &str) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// "F", "M" or "X".
    pub fn sex(mut self, sex: &'static str) -> Self {
        self.sex = Some(sex);
        self
    }

    /// A member of the group from `START`, open-ended.
    pub fn in_group(self, group: i64) -> Self {
        self.in_group_during(group, START, None)
    }

    /// A member of the group from `from` up to and including `to`.
    pub fn in_group_during(mut self, group: i64, from: NaiveDate, to: Option<NaiveDate>) -> Self {
        self.groups.push((group, from, to));
        self
    }

    pub fn with_guardian(mut self, guardian: i64) -> Self {
        self.guardians.push(guardian);
        self
    }

    /// A duty from `START`: `role` at `organisation` ("mentor" with its group).
    pub fn duty(self, organisation: i64, role: &'static str, group: Option<i64>) -> Self {
        self.duty_from(organisation, role, group, START)
    }

    /// A duty from `from`, open-ended.
    pub fn duty_from(
        mut self,
        organisation: i64,
        role: &'static str,
        group: Option<i64>,
        from: NaiveDate,
    ) -> Self {
        self.duties.push((organisation, role, group, from));
        self
    }

    pub fn insert(self, c: &mut DbConn) -> i64 {
        let hash = self
            .password
            .as_deref()
            .map(|p| narvaro::auth::password::hash(p).unwrap());
        let id: i64 = diesel::insert_into(people::table)
            .values((
                people::given_name.eq(&self.given),
                people::family_name.eq(&self.family),
                people::school_id.eq(self.school),
                people::email.eq(&self.email),
                people::username.eq(&self.username),
                people::password_hash.eq(hash),
                people::security_marking.eq(self.marking),
                people::birth_date.eq(self.birth_date),
                people::sex.eq(self.sex),
                people::created_at.eq(created()),
            ))
            .returning(people::id)
            .get_result(c)
            .unwrap();
        for (g, from, to) in self.groups {
            diesel::insert_into(group_memberships::table)
                .values((
                    group_memberships::group_id.eq(g),
                    group_memberships::pupil_id.eq(id),
                    group_memberships::start_date.eq(from),
                    group_memberships::end_date.eq(to),
                ))
                .execute(c)
                .unwrap();
        }
        for g in self.guardians {
            diesel::insert_into(guardianships::table)
                .values((
                    guardianships::pupil_id.eq(id),
                    guardianships::guardian_id.eq(g),
                    guardianships::created_at.eq(created()),
                ))
                .execute(c)
                .unwrap();
        }
        for (org, role, group, from) in self.duties {
            diesel::insert_into(duties::table)
                .values((
                    duties::person_id.eq(id),
                    duties::organisation_id.eq(org),
                    duties::role.eq(role),
                    duties::group_id.eq(group),
                    duties::start_date.eq(from),
                ))
                .execute(c)
                .unwrap();
        }
        id
    }
}

/// An activity (a course a group takes with its teachers), for its lessons.
pub struct Activity {
    school: i64,
    subject: (&'static str, &'static str),
    groups: Vec<i64>,
    teachers: Vec<i64>,
}

impl Activity {
    /// An activity of subject (code, name) at the school.
    pub fn new(school: i64, subject: (&'static str, &'static str)) -> Self {
        Activity {
            school,
            subject,
            groups: Vec::new(),
            teachers: Vec::new(),
        }
    }

    pub fn group(mut self, group: i64) -> Self {
        self.groups.push(group);
        self
    }

    pub fn teacher(mut self, teacher: i64) -> Self {
        self.teachers.push(teacher);
        self
    }

    pub fn insert(self, c: &mut DbConn) -> i64 {
        let activity: i64 = diesel::insert_into(activities::table)
            .values((
                activities::school_id.eq(self.school),
                activities::display_name.eq(self.subject.1),
                activities::subject_code.eq(self.subject.0),
                activities::subject_name.eq(self.subject.1),
                activities::created_at.eq(created()),
            ))
            .returning(activities::id)
            .get_result(c)
            .unwrap();
        for g in &self.groups {
            diesel::insert_into(activity_groups::table)
                .values((
                    activity_groups::activity_id.eq(activity),
                    activity_groups::group_id.eq(g),
                ))
                .execute(c)
                .unwrap();
        }
        for t in &self.teachers {
            diesel::insert_into(activity_teachers::table)
                .values((
                    activity_teachers::activity_id.eq(activity),
                    activity_teachers::teacher_id.eq(t),
                ))
                .execute(c)
                .unwrap();
        }
        activity
    }
}

/// A lesson: of an activity made with it (`new`) or of one already made (`of`).
pub struct Lesson {
    activity: Result<i64, Activity>,
    school: i64,
    date: NaiveDate,
    times: (NaiveTime, NaiveTime),
    room: Option<&'static str>,
    cancelled: bool,
}

fn at(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

impl Lesson {
    /// A lesson of a new activity of subject (code, name) at the school, on `date` from
    /// `starts` to `ends` ("08:00").
    pub fn new(
        school: i64,
        subject: (&'static str, &'static str),
        date: NaiveDate,
        starts: &str,
        ends: &str,
    ) -> Self {
        Lesson {
            activity: Err(Activity::new(school, subject)),
            school,
            date,
            times: (at(starts), at(ends)),
            room: None,
            cancelled: false,
        }
    }

    /// A lesson of an activity already made.
    pub fn of(activity: i64, school: i64, date: NaiveDate, starts: &str, ends: &str) -> Self {
        Lesson {
            activity: Ok(activity),
            school,
            date,
            times: (at(starts), at(ends)),
            room: None,
            cancelled: false,
        }
    }

    /// A group of the new activity.
    pub fn group(mut self, group: i64) -> Self {
        if let Err(a) = self.activity {
            self.activity = Err(a.group(group));
        }
        self
    }

    /// A teacher of the new activity.
    pub fn teacher(mut self, teacher: i64) -> Self {
        if let Err(a) = self.activity {
            self.activity = Err(a.teacher(teacher));
        }
        self
    }

    pub fn room(mut self, room: &'static str) -> Self {
        self.room = Some(room);
        self
    }

    pub fn cancelled(mut self) -> Self {
        self.cancelled = true;
        self
    }

    /// (activity, lesson)
    pub fn insert(self, c: &mut DbConn) -> (i64, i64) {
        let activity = match self.activity {
            Ok(id) => id,
            Err(a) => a.insert(c),
        };
        let (starts, ends) = self.times;
        let lesson: i64 = diesel::insert_into(lessons::table)
            .values((
                lessons::activity_id.eq(activity),
                lessons::school_id.eq(self.school),
                lessons::lesson_date.eq(self.date),
                lessons::starts_at.eq(starts),
                lessons::ends_at.eq(ends),
                lessons::teaching_minutes.eq(((ends - starts).num_minutes()) as i32),
                lessons::room.eq(self.room),
                lessons::cancelled.eq(self.cancelled),
            ))
            .returning(lessons::id)
            .get_result(c)
            .unwrap();
        (activity, lesson)
    }
}
