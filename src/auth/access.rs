//! Who may see what: the one place for the access rules, used by the HTML pages and the
//! API alike. Anything outside a person's scope is `AppError::NotFound` (404), never 403,
//! so ids cannot be probed.
//!
//! - guardian: their own children;
//! - pupil of 18 or over (where the school allows): themself;
//! - teacher: pupils in groups they teach or mentor, lessons they teach or stand in for;
//! - principal: their schools;
//! - admin: the whole municipality.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;

use super::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::{
    ActivityId, GroupId, LessonId, OrganisationId, PersonId, PupilId, SchoolId,
};

/// How long around a substitute lesson the stand-in sees that lesson's pupils.
const SUBSTITUTE_DAYS: i64 = 14;

/// How the viewer reaches a pupil; the first that applies, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PupilReach {
    Myself,
    Guardian,
    Principal,
    Teacher,
    Admin,
}

#[derive(Debug, Clone)]
pub struct PupilRef {
    pub id: PupilId,
    pub school_id: SchoolId,
    pub given_name: String,
    pub family_name: String,
    pub security_marking: String,
    pub reach: PupilReach,
}

impl PupilRef {
    /// Protected and confidential identities are named only to the pupil, their guardians,
    /// and staff of their school with a duty for them (their principal and teachers).
    pub fn name_visible(&self) -> bool {
        self.security_marking == "none" || self.reach != PupilReach::Admin
    }
}

/// The pupil, when the viewer may see them; `NotFound` otherwise.
pub fn pupil(
    conn: &mut DbConn,
    v: &Viewer,
    pupil_id: PupilId,
    today: NaiveDate,
) -> AppResult<PupilRef> {
    let row: Option<(PupilId, Option<SchoolId>, String, String, String, bool)> = people::table
        .find(pupil_id)
        .select((
            people::id,
            people::school_id,
            people::given_name,
            people::family_name,
            people::security_marking,
            people::active,
        ))
        .first(conn)
        .optional()?;
    let Some((id, Some(school_id), given_name, family_name, security_marking, true)) = row else {
        return Err(AppError::NotFound);
    };
    let reach = pupil_reach(conn, v, id, school_id, today)?.ok_or(AppError::NotFound)?;
    Ok(PupilRef {
        id,
        school_id,
        given_name,
        family_name,
        security_marking,
        reach,
    })
}

fn pupil_reach(
    conn: &mut DbConn,
    v: &Viewer,
    pupil: PupilId,
    school: SchoolId,
    today: NaiveDate,
) -> AppResult<Option<PupilReach>> {
    let r = &v.roles;
    if v.id == PersonId::from(pupil) && r.pupil_self_at.is_some() {
        return Ok(Some(PupilReach::Myself));
    }
    if r.children.contains(&pupil) {
        return Ok(Some(PupilReach::Guardian));
    }
    if r.principal_of.contains(&school) {
        return Ok(Some(PupilReach::Principal));
    }
    if !r.teacher_at.is_empty() && teaches_pupil(conn, v, pupil, today)? {
        return Ok(Some(PupilReach::Teacher));
    }
    if is_admin_of_school(conn, v, school)? {
        return Ok(Some(PupilReach::Admin));
    }
    Ok(None)
}

/// The pupil is, today, in a group the viewer mentors, teaches, or stands in for
/// (a substitute lesson within two weeks either side).
fn teaches_pupil(
    conn: &mut DbConn,
    v: &Viewer,
    pupil: PupilId,
    today: NaiveDate,
) -> AppResult<bool> {
    let groups: Vec<GroupId> = group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .filter(crate::school::membership::on(today))
        .select(group_memberships::group_id)
        .load(conn)?;
    if groups.iter().any(|g| v.roles.mentor_of.contains(g)) {
        return Ok(true);
    }
    if groups.is_empty() {
        return Ok(false);
    }
    let teaches: i64 = activity_groups::table
        .inner_join(
            activity_teachers::table
                .on(activity_teachers::activity_id.eq(activity_groups::activity_id)),
        )
        .filter(activity_groups::group_id.eq_any(&groups))
        .filter(activity_teachers::teacher_id.eq(v.id))
        .count()
        .get_result(conn)?;
    if teaches > 0 {
        return Ok(true);
    }
    let stands_in: i64 = lessons::table
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .filter(lessons::substitute_teacher_id.eq(v.id))
        .filter(lessons::lesson_date.ge(today - Duration::days(SUBSTITUTE_DAYS)))
        .filter(lessons::lesson_date.le(today + Duration::days(SUBSTITUTE_DAYS)))
        .filter(activity_groups::group_id.eq_any(&groups))
        .count()
        .get_result(conn)?;
    Ok(stands_in > 0)
}

fn is_admin_of_school(conn: &mut DbConn, v: &Viewer, school: SchoolId) -> AppResult<bool> {
    if v.roles.admin_of.is_empty() {
        return Ok(false);
    }
    let parent: Option<Option<OrganisationId>> = organisations::table
        .find(school)
        .select(organisations::parent_id)
        .first(conn)
        .optional()?;
    Ok(parent
        .flatten()
        .is_some_and(|m| v.roles.admin_of.contains(&m)))
}

/// How the viewer reaches a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LessonReach {
    Teacher,
    Substitute,
    Principal,
    Admin,
}

#[derive(Debug, Clone)]
pub struct LessonRef {
    pub id: LessonId,
    pub activity_id: ActivityId,
    pub school_id: SchoolId,
    pub reach: LessonReach,
}

/// The lesson, when the viewer teaches it, stands in for it, or runs its school.
/// Of these lessons, the ones whose roll call the viewer may open (as [`lesson`] decides:
/// their teacher, their substitute, the school's principal), so that a page links only
/// what opens.
pub fn openable_lessons(
    conn: &mut DbConn,
    v: &Viewer,
    ids: &[LessonId],
) -> AppResult<std::collections::HashSet<LessonId>> {
    let mut open = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let taught = activity_teachers::table
            .filter(activity_teachers::teacher_id.eq(v.id))
            .select(activity_teachers::activity_id);
        let rows: Vec<LessonId> = lessons::table
            .filter(lessons::id.eq_any(chunk))
            .filter(
                lessons::substitute_teacher_id
                    .eq(v.id)
                    .or(lessons::activity_id.eq_any(taught))
                    .or(lessons::school_id.eq_any(v.roles.principal_of.clone())),
            )
            .select(lessons::id)
            .load(conn)?;
        open.extend(rows);
    }
    Ok(open)
}

pub fn lesson(conn: &mut DbConn, v: &Viewer, lesson_id: LessonId) -> AppResult<LessonRef> {
    // the lesson and whether the viewer teaches it, in one statement
    let teaches = diesel::dsl::exists(
        activity_teachers::table
            .filter(activity_teachers::activity_id.eq(lessons::activity_id))
            .filter(activity_teachers::teacher_id.eq(v.id)),
    );
    let row: Option<(ActivityId, SchoolId, Option<PersonId>, bool)> = lessons::table
        .find(lesson_id)
        .select((
            lessons::activity_id,
            lessons::school_id,
            lessons::substitute_teacher_id,
            teaches,
        ))
        .first(conn)
        .optional()?;
    let Some((activity_id, school_id, substitute, teaches)) = row else {
        return Err(AppError::NotFound);
    };
    let reach = lesson_reach(conn, v, (school_id, substitute), teaches)?;
    Ok(LessonRef {
        id: lesson_id,
        activity_id,
        school_id,
        reach,
    })
}

/// How the viewer reaches a lesson of `school` with this substitute: `teaches` says
/// whether they teach its activity. 404 when they do not reach it.
pub fn lesson_reach(
    conn: &mut DbConn,
    v: &Viewer,
    (school, substitute): (SchoolId, Option<PersonId>),
    teaches: bool,
) -> AppResult<LessonReach> {
    let reach = if substitute == Some(v.id) {
        LessonReach::Substitute
    } else if !v.roles.teacher_at.is_empty() && teaches {
        LessonReach::Teacher
    } else if v.roles.principal_of.contains(&school) {
        LessonReach::Principal
    } else if is_admin_of_school(conn, v, school)? {
        LessonReach::Admin
    } else {
        return Err(AppError::NotFound);
    };
    Ok(reach)
}

/// The school, when the viewer is its principal or administers its municipality.
pub fn school(conn: &mut DbConn, v: &Viewer, school_id: SchoolId) -> AppResult<()> {
    if school_id_visible(conn, v, school_id)? {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The schools the viewer administers (every school of their municipalities).
pub fn admin_schools(conn: &mut DbConn, v: &Viewer) -> AppResult<Vec<(SchoolId, String)>> {
    if v.roles.admin_of.is_empty() {
        return Ok(Vec::new());
    }
    Ok(organisations::table
        .filter(organisations::parent_id.eq_any(&v.roles.admin_of))
        .filter(organisations::org_type.eq("school"))
        .select((organisations::id, organisations::name))
        .order(organisations::name)
        .load(conn)?)
}

/// Admin pages: 404 for everyone else.
pub fn require_admin(v: &Viewer) -> AppResult<()> {
    if v.roles.is_admin() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// A group's statistics: its school's principal, the municipality's administrator, or the
/// group's mentor. Answers the group's school.
pub fn group(conn: &mut DbConn, v: &Viewer, group_id: GroupId) -> AppResult<SchoolId> {
    let school: Option<SchoolId> = groups::table
        .find(group_id)
        .select(groups::school_id)
        .first(conn)
        .optional()?;
    let school = school.ok_or(AppError::NotFound)?;
    if v.roles.mentor_of.contains(&group_id) || school_id_visible(conn, v, school)? {
        Ok(school)
    } else {
        Err(AppError::NotFound)
    }
}

fn school_id_visible(conn: &mut DbConn, v: &Viewer, school: SchoolId) -> AppResult<bool> {
    Ok(v.roles.principal_of.contains(&school) || is_admin_of_school(conn, v, school)?)
}
