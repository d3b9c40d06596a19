//! SS 12000's words for what Närvaro stores as codes: a duty's `dutyRole`, a mentor's
//! `assignmentRoleType` and a group's `groupType`. One table for both ways, so what the
//! export writes the import reads back as the same role.

use crate::school::states::Role;

/// The `assignmentRoleType` of a mentor's group.
pub const MENTOR_ASSIGNMENT: &str = "Mentor";

/// The `dutyRole`s that give a role in Närvaro, and that role; the first of a role is the
/// one the export writes.
const DUTY_ROLES: [(&str, Role); 14] = [
    ("Lärare", Role::Teacher),
    ("Förstelärare", Role::Teacher),
    ("Speciallärare/specialpedagog", Role::Teacher),
    ("Speciallärare", Role::Teacher),
    ("Lärarassistent", Role::Teacher),
    ("Förskollärare", Role::Teacher),
    ("Fritidspedagog", Role::Teacher),
    ("Rektor", Role::Principal),
    ("Skoladministratör", Role::SchoolAdmin),
    ("Administratör", Role::Admin),
    // the student health team (elevhälsan), who take part in absence investigations
    ("Kurator", Role::Health),
    ("Skolsköterska", Role::Health),
    ("Skolpsykolog", Role::Health),
    ("Skolläkare", Role::Health),
];

/// The role a `dutyRole` gives in Närvaro; `None` for one that gives no access (a
/// librarian, a caretaker, …).
pub fn role_of_duty(duty_role: &str) -> Option<Role> {
    DUTY_ROLES
        .iter()
        .find(|(name, _)| *name == duty_role)
        .map(|(_, role)| *role)
}

/// The `dutyRole` the export writes for a role; `None` for the roles that are no duty of
/// their own in SS 12000: a mentor (an `assignmentRole` of a teacher's duty) and Närvaro's
/// administrator and the huvudman's case officer (roles of Närvaro's, assigned at /admin),
/// and a member of elevhälsan, which four `dutyRole`s give and whose own the export could
/// not tell apart.
pub fn duty_role(role: Role) -> Option<&'static str> {
    match role {
        Role::Mentor | Role::Admin | Role::CaseOfficer | Role::Health => None,
        _ => DUTY_ROLES
            .iter()
            .find(|(_, r)| *r == role)
            .map(|(name, _)| *name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_export_writes_the_import_reads_as_the_same_role() {
        for role in [Role::Teacher, Role::Principal, Role::SchoolAdmin] {
            let written = duty_role(role).unwrap();
            assert_eq!(role_of_duty(written), Some(role), "{written}");
        }
        assert_eq!(duty_role(Role::Teacher), Some("Lärare"));
        assert_eq!(duty_role(Role::Mentor), None);
        assert_eq!(duty_role(Role::Admin), None);
        assert_eq!(role_of_duty("Förstelärare"), Some(Role::Teacher));
        assert_eq!(role_of_duty("Skolsköterska"), Some(Role::Health));
        assert_eq!(role_of_duty("Kurator"), Some(Role::Health));
        assert_eq!(duty_role(Role::Health), None);
        assert_eq!(role_of_duty("Bibliotekarie"), None);
    }
}
