//! Staff administration, for the municipality's administrators: invite a member of staff
//! (a person, a duty and an invitation e-mail through the outbox), connect a guardian to a
//! pupil, assign a duty. Each is one transaction that checks and writes under the rows it
//! depends on; a refusal is an answer in both languages, not an error, so the form can say
//! it and nothing is stored. Access is checked here too: only a school the administrator
//! administers, only a pupil of their municipality.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

use crate::audit;
use crate::auth::{access, sign_in, Viewer};
use crate::db::{lower, DbConn};
use crate::error::{AppError, Code};
use crate::mail::Email;
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{DutyId, GroupId, OrganisationId, PersonId, PupilId, SchoolId};
use crate::school::Act;

use crate::school::{refuse, Checked, Refusal};

use crate::school::states::Role;

/// A person's name part: trimmed, 1–100 characters, no control characters.
pub fn clean_name(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control))
        .then(|| s.to_string())
}

/// A username: normalised (trimmed, lower case), 3–64 of a–z, 0–9, dot, underscore, hyphen.
pub fn clean_username(s: &str) -> Option<String> {
    let s = sign_in::normalise_username(s);
    let ok = (3..=64).contains(&s.len())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-'
        });
    ok.then_some(s)
}

/// The group a duty names: a mentor's is required (a whole number), others have none.
pub fn duty_group(role: Role, raw: &str) -> Result<Option<GroupId>, Refusal> {
    match (role, raw.trim()) {
        (Role::Mentor, g) => g
            .parse()
            .map(Some)
            .map_err(|_| Refusal::new("mentor_needs_class_mentor_group")),
        (_, "") => Ok(None),
        _ => Err(Refusal::new("group_given_only_mentors")),
    }
}

/// A duty's first day: today when blank, else a date within a year of today.
pub fn duty_start(raw: &str, today: NaiveDate) -> Result<NaiveDate, Refusal> {
    match raw.trim() {
        "" => Ok(today),
        s => match crate::school::clock::parse_day(s) {
            Some(d) if (d - today).num_days().abs() <= 366 => Ok(d),
            _ => Err(Refusal::new("start_date_written_yyyy_mm")),
        },
    }
}

/// The organisation a duty of `role` at `school` belongs to: the school, or for an admin
/// or the huvudman's case officer its municipality. The school must be one the viewer administers.
fn duty_org(
    conn: &mut DbConn,
    v: &Viewer,
    role: Role,
    school: SchoolId,
) -> Checked<OrganisationId> {
    if !access::admin_schools(conn, v)?
        .iter()
        .any(|(id, _)| *id == school)
    {
        return refuse("choose_one_municipality_s_schools");
    }
    if matches!(role, Role::Admin | Role::CaseOfficer) {
        let parent: Option<OrganisationId> = organisations::table
            .find(school)
            .select(organisations::parent_id)
            .first(conn)?;
        return Ok(parent.ok_or(Refusal::new("school_belongs_no_municipality")));
    }
    Ok(Ok(school.into()))
}

/// A member of staff to invite.
pub struct NewStaff {
    pub given_name: String,
    pub family_name: String,
    pub email: Email,
    pub username: String,
    /// teacher, principal or admin (a mentor is a teacher given a group afterwards)
    pub role: Role,
    pub school: SchoolId,
    /// the language their e-mails are written in ("sv", "en")
    pub language: &'static str,
}

/// Invites a member of staff: the person, their duty from today and the invitation in the
/// outbox (its link is made when it is sent). A taken username is `Code::UsernameTaken`,
/// decided by the unique index.
pub fn invite(conn: &mut DbConn, act: &Act, s: &NewStaff) -> Checked<PersonId> {
    conn.transaction(|conn| {
        let org = match duty_org(conn, act.actor, s.role, s.school)? {
            Ok(org) => org,
            Err(r) => return Ok(Err(r)),
        };
        let email = s.email.to_string();
        let id: PersonId = diesel::insert_into(people::table)
            .values((
                people::given_name.eq(&s.given_name),
                people::family_name.eq(&s.family_name),
                people::email.eq(&email),
                people::username.eq(&s.username),
                people::language.eq(s.language),
                people::created_at.eq(act.now),
            ))
            .returning(people::id)
            .get_result(conn)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => AppError::Conflict {
                    code: Code::UsernameTaken,
                    message: String::new().into(),
                },
                other => other.into(),
            })?;
        diesel::insert_into(duties::table)
            .values((
                duties::person_id.eq(id),
                duties::organisation_id.eq(org),
                duties::role.eq(s.role),
                duties::start_date.eq(act.today),
            ))
            .execute(conn)?;
        crate::notices::invitation(conn, id, &email, s.language, act.now)?;
        audit::acted(
            conn,
            act,
            "staff.invited",
            "person",
            id,
            json!({"username": s.username, "role": s.role.as_str(), "organisation_id": org}),
        )?;
        Ok(Ok(id))
    })
}

/// A guardian to connect: found by e-mail among people who are not pupils, or created with
/// the names given.
pub struct NewGuardianship {
    pub pupil: PupilId,
    pub email: Email,
    pub given_name: String,
    pub family_name: String,
}

/// Connects a guardian to a pupil of the administrator's municipality.
pub fn connect_guardian(conn: &mut DbConn, act: &Act, g: &NewGuardianship) -> Checked<()> {
    conn.transaction(|conn| {
        match access::pupil(conn, act.actor, g.pupil, act.today) {
            Ok(_) => {}
            Err(AppError::NotFound) => return refuse("no_pupil_id_municipality"),
            Err(e) => return Err(e),
        }
        // under the pupil's lock: two identical requests at once create one guardian
        conn.lock_person(g.pupil)?;
        let email = g.email.to_string();
        let existing: Option<PersonId> = people::table
            .filter(lower(people::email).eq(&email))
            .filter(people::school_id.is_null())
            .select(people::id)
            .order(people::id)
            .first(conn)
            .optional()?;
        let (guardian, created) = match existing {
            Some(id) => (id, false),
            None => {
                let (Some(given), Some(family)) =
                    (clean_name(&g.given_name), clean_name(&g.family_name))
                else {
                    return refuse("no_one_has_that_address");
                };
                let id: PersonId = diesel::insert_into(people::table)
                    .values((
                        people::given_name.eq(given),
                        people::family_name.eq(family),
                        people::email.eq(&email),
                        people::created_at.eq(act.now),
                    ))
                    .returning(people::id)
                    .get_result(conn)?;
                (id, true)
            }
        };
        if guardian == PersonId::from(g.pupil) {
            return refuse("pupil_own_guardian");
        }
        // the unique (pupil_id, guardian_id) decides between two identical requests
        let values = (
            guardianships::pupil_id.eq(g.pupil),
            guardianships::guardian_id.eq(guardian),
            guardianships::relation.eq("guardian"),
            guardianships::created_at.eq(act.now),
        );
        let inserted = on_backend!(conn, c => diesel::insert_into(guardianships::table)
            .values(values)
            .on_conflict((guardianships::pupil_id, guardianships::guardian_id))
            .do_nothing()
            .execute(c))?;
        if inserted == 0 {
            return refuse("guardian_already_connected_pupil");
        }
        audit::acted(
            conn,
            act,
            "guardianship.created",
            "person",
            g.pupil,
            json!({"guardian_id": guardian, "guardian_created": created}),
        )?;
        Ok(Ok(()))
    })
}

/// A duty to assign to an active person, by username.
pub struct NewDuty {
    pub username: String,
    pub role: Role,
    pub school: SchoolId,
    /// a mentor's class or mentor group
    pub group: Option<GroupId>,
    pub start: NaiveDate,
}

/// Assigns a duty. The same duty (person, organisation, role, group) still running on the
/// start date is refused; the check runs under a lock on the person, so two identical
/// requests at once store one duty.
pub fn assign_duty(conn: &mut DbConn, act: &Act, d: &NewDuty) -> Checked<DutyId> {
    conn.transaction(|conn| {
        let org = match duty_org(conn, act.actor, d.role, d.school)? {
            Ok(org) => org,
            Err(r) => return Ok(Err(r)),
        };
        let person: Option<PersonId> = people::table
            .filter(people::username.eq(&d.username))
            .filter(people::active.eq(true))
            .select(people::id)
            .first(conn)
            .optional()?;
        let Some(person) = person else {
            return refuse("no_active_person_username");
        };
        conn.lock_person(person)?;
        if let Some(g) = d.group {
            let in_school: i64 = groups::table
                .filter(groups::id.eq(g))
                .filter(groups::school_id.eq(d.school))
                .count()
                .get_result(conn)?;
            if in_school == 0 {
                return refuse("group_not_at_school");
            }
        }
        let mut same = duties::table
            .filter(duties::person_id.eq(person))
            .filter(duties::organisation_id.eq(org))
            .filter(duties::role.eq(d.role))
            .filter(crate::school::duty::not_ended_by(d.start))
            .into_boxed();
        same = match d.group {
            Some(g) => same.filter(duties::group_id.eq(g)),
            None => same.filter(duties::group_id.is_null()),
        };
        let same: i64 = same.count().get_result(conn)?;
        if same > 0 {
            return refuse("person_already_has_duty");
        }
        let id: DutyId = diesel::insert_into(duties::table)
            .values((
                duties::person_id.eq(person),
                duties::organisation_id.eq(org),
                duties::role.eq(d.role),
                duties::group_id.eq(d.group),
                duties::start_date.eq(d.start),
            ))
            .returning(duties::id)
            .get_result(conn)?;
        audit::acted(conn, act, "duty.assigned", "duty", id, json!({"person_id": person, "role": d.role.as_str(), "organisation_id": org, "group_id": d.group, "start_date": d.start}))?;
        Ok(Ok(id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn names_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(clean_name("  Åsa "), Some("Åsa".into()));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name(&"ö".repeat(100)), Some("ö".repeat(100)));
        assert_eq!(clean_name(&"ö".repeat(101)), None);
        assert_eq!(clean_name("An\u{7}na"), None);
    }

    #[test]
    fn usernames_are_lower_case_ascii_of_three_to_sixty_four() {
        assert_eq!(clean_username(" Anna.Berg "), Some("anna.berg".into()));
        assert_eq!(clean_username("ab"), None);
        assert_eq!(clean_username(&"a".repeat(64)), Some("a".repeat(64)));
        assert_eq!(clean_username(&"a".repeat(65)), None);
        assert_eq!(clean_username("åsa"), None);
        assert_eq!(clean_username("a b c"), None);
    }

    #[test]
    fn only_a_mentor_names_a_group_and_a_mentor_must() {
        assert_eq!(duty_group(Role::Mentor, " 12 "), Ok(Some(GroupId(12))));
        assert!(duty_group(Role::Mentor, "").is_err());
        assert!(duty_group(Role::Mentor, "7A").is_err());
        assert_eq!(duty_group(Role::Teacher, " "), Ok(None));
        assert!(duty_group(Role::Principal, "3").is_err());
    }

    #[test]
    fn a_duty_starts_today_or_within_a_year() {
        let today = day("2026-11-29");
        assert_eq!(duty_start("", today), Ok(today));
        assert_eq!(duty_start("2027-08-17", today), Ok(day("2027-08-17")));
        assert_eq!(duty_start("2025-11-28", today), Ok(day("2025-11-28")));
        assert_eq!(duty_start("2025-11-27", today).ok(), None);
        assert_eq!(duty_start("2027-12-01", today).ok(), None);
        assert_eq!(duty_start("17/8 2027", today).ok(), None);
    }

    #[test]
    fn roles_read_back_as_written() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("guardian"), None);
    }
}
