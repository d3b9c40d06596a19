//! A pupil as the viewer may see them: name (withheld for a protected identity without a
//! duty for the pupil), school and the groups they are in today. The pupil page and the
//! API's pupil both read it.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::{GroupId, PupilId, SchoolId};

#[derive(Debug, Serialize)]
pub struct GroupSummary {
    pub id: GroupId,
    pub name: String,
    #[serde(rename = "type")]
    pub group_type: String,
}

#[derive(Debug, Serialize)]
pub struct PupilSummary {
    pub id: PupilId,
    pub name: String,
    pub school_id: SchoolId,
    pub school_name: String,
    /// True when the name is withheld (a protected identity seen by someone without a duty for the pupil).
    pub name_withheld: bool,
    pub groups: Vec<GroupSummary>,
}

/// The pupil as the viewer may see them; NotFound outside the viewer's scope.
pub fn summary(
    conn: &mut DbConn,
    v: &Viewer,
    pupil_id: PupilId,
    today: NaiveDate,
) -> AppResult<PupilSummary> {
    let p = access::pupil(conn, v, pupil_id, today)?;
    let school_name: String = organisations::table
        .find(p.school_id)
        .select(organisations::name)
        .first(conn)?;
    let groups = group_memberships::table
        .inner_join(groups::table)
        .filter(group_memberships::pupil_id.eq(p.id))
        .filter(crate::school::membership::on(today))
        .select((groups::id, groups::name, groups::group_type))
        .order(groups::name)
        .load::<(GroupId, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, group_type)| GroupSummary {
            id,
            name,
            group_type,
        })
        .collect();
    Ok(PupilSummary {
        id: p.id,
        // a withheld name is worded at the edge (`name_withheld`)
        name: if p.name_visible() {
            format!("{} {}", p.given_name, p.family_name)
        } else {
            String::new()
        },
        school_id: p.school_id,
        school_name,
        name_withheld: !p.name_visible(),
        groups,
    })
}
