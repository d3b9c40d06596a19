//! Who is acting: the signed-in person (or an API client reading as a principal would) and
//! what they may act as today. Plain data; `auth::viewer` resolves it from a session.

use super::ids::{ApiClientId, GroupId, OrganisationId, PersonId, PupilId, SchoolId};
/// What a person may act as today, from their duties, guardianships and age.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// Municipalities the person administers.
    pub admin_of: Vec<OrganisationId>,
    /// Schools the person is principal of.
    pub principal_of: Vec<SchoolId>,
    /// Schools whose office the person works in (school administrator): the day's
    /// changes, for that school only.
    pub office_of: Vec<SchoolId>,
    /// Schools the person teaches at (teacher or mentor duty).
    pub teacher_at: Vec<SchoolId>,
    /// Schools whose student health team (elevhälsan) the person is a member of: the
    /// absence investigations of that school, their health notes included.
    pub health_of: Vec<SchoolId>,
    /// Municipalities whose reports of absence investigations the person receives (the
    /// huvudman's officer).
    pub officer_of: Vec<OrganisationId>,
    /// Classes and mentor groups the person mentors.
    pub mentor_of: Vec<GroupId>,
    /// The pupils the person is guardian of.
    pub children: Vec<PupilId>,
    /// For a pupil of 18 or over whose school allows it: that school.
    pub pupil_self_at: Option<SchoolId>,
}

impl Roles {
    pub fn is_staff(&self) -> bool {
        !(self.admin_of.is_empty()
            && self.principal_of.is_empty()
            && self.office_of.is_empty()
            && self.teacher_at.is_empty()
            && self.health_of.is_empty()
            && self.officer_of.is_empty())
    }

    pub fn is_admin(&self) -> bool {
        !self.admin_of.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: PersonId,
    pub given_name: String,
    pub family_name: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub language: String,
    pub has_password: bool,
    pub receive_confirmations: bool,
    pub roles: Roles,
    /// An API client acting (its id), not a person: it reads its schools as their
    /// principal would, within its token's scopes, and writes nothing.
    pub client: Option<ApiClientId>,
}

impl Viewer {
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }

    /// The viewer as a pupil of their own, when they are an adult pupil who may report
    /// their own absence.
    pub fn as_pupil(&self) -> Option<PupilId> {
        self.roles.pupil_self_at.map(|_| PupilId(self.id.0))
    }
}
