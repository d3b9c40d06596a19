//! Absence reasons (issue 21): the municipality's, kept by its administrator, and a
//! school's own, kept by its principal or office where the municipality allows it. Each
//! has a name in Swedish and English, whether it counts as absence, whether it is valid,
//! whether it is health-related (never shown to guardians or in e-mail), who may choose it
//! (staff, guardians, pupils of 18 or over) and whether it sends a notice.
//!
//! - A school offers the municipality's reasons and its own (`owners_at`).
//! - A reason is added, retired or taken back into use; never deleted, so every mark and
//!   report that names it keeps its meaning. A retired reason is no longer offered.
//! - A name or code already offered where the new reason would be is refused: for a
//!   school's reason, the municipality's and the school's; for the municipality's, its own
//!   and every school's. The check and the insert run under the municipality's row lock
//!   (PostgreSQL), so two identical additions at once store one.
//! - Every change is audited.

use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::{OrganisationId, ReasonId, SchoolId};
use crate::school::Act;
use crate::school::{Checked, Refusal};
use crate::school_day::staff::clean_name;

/// One reason as the page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct Reason {
    pub id: ReasonId,
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub counts_as_absence: bool,
    pub is_valid: bool,
    pub is_sick: bool,
    pub staff_selectable: bool,
    pub guardian_selectable: bool,
    pub pupil_selectable: bool,
    pub sends_notice: bool,
    pub active: bool,
}

/// An organisation's own reasons (a municipality's, or a school's) in their order.
pub fn list(conn: &mut DbConn, org: OrganisationId) -> AppResult<Vec<Reason>> {
    Ok(absence_reasons::table
        .filter(absence_reasons::organisation_id.eq(org))
        .select((
            absence_reasons::id,
            absence_reasons::code,
            absence_reasons::name_sv,
            absence_reasons::name_en,
            absence_reasons::counts_as_absence,
            absence_reasons::is_valid,
            absence_reasons::is_sick,
            absence_reasons::staff_selectable,
            absence_reasons::guardian_selectable,
            absence_reasons::pupil_selectable,
            absence_reasons::sends_notice,
            absence_reasons::active,
        ))
        .order((absence_reasons::sort_order, absence_reasons::id))
        .load(conn)?)
}

/// A reason to add, checked.
#[derive(Debug, Clone)]
pub struct NewReason {
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub counts_as_absence: bool,
    pub is_valid: bool,
    pub is_sick: bool,
    pub staff_selectable: bool,
    pub guardian_selectable: bool,
    pub pupil_selectable: bool,
    pub sends_notice: bool,
}

/// The flags of a new reason, as ticked on the form.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub counts_as_absence: bool,
    pub is_valid: bool,
    pub is_sick: bool,
    pub staff: bool,
    pub guardian: bool,
    pub pupil: bool,
    pub sends_notice: bool,
}

impl NewReason {
    /// A code of 2–12 letters A–Z, digits or `_` (upper-cased), names of 1–100
    /// characters, and someone who may choose it.
    pub fn parse(code: &str, name_sv: &str, name_en: &str, f: Flags) -> Result<NewReason, Refusal> {
        let code = code.trim().to_uppercase();
        if !(2..=12).contains(&code.len())
            || !code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Refusal::new("code_must_2_12_characters"));
        }
        let (Some(name_sv), Some(name_en)) = (clean_name(name_sv), clean_name(name_en)) else {
            return Err(Refusal::new("write_name_swedish_english_most"));
        };
        if !(f.staff || f.guardian || f.pupil) {
            return Err(Refusal::new("choose_who_may_give_reason"));
        }
        Ok(NewReason {
            code,
            name_sv,
            name_en,
            counts_as_absence: f.counts_as_absence,
            is_valid: f.is_valid,
            is_sick: f.is_sick,
            staff_selectable: f.staff,
            guardian_selectable: f.guardian,
            pupil_selectable: f.pupil,
            sends_notice: f.sends_notice,
        })
    }
}

/// What a reasons page shows: the owner's own reasons, for a school also the
/// municipality's (read only), and whether schools may add their own.
pub struct ReasonsView {
    pub own: Vec<Reason>,
    pub municipality: Vec<Reason>,
    pub schools_may_add: bool,
}

pub fn view(conn: &mut DbConn, owner: Owner) -> AppResult<ReasonsView> {
    let municipality = match owner {
        Owner::School { municipality, .. } => list(conn, municipality)?,
        Owner::Municipality(_) => Vec::new(),
    };
    Ok(ReasonsView {
        own: list(conn, owner.org())?,
        municipality,
        schools_may_add: schools_may_add(conn, owner.municipality())?,
    })
}

/// Whose reasons: the municipality's, or a school's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Municipality(OrganisationId),
    School {
        school: SchoolId,
        municipality: OrganisationId,
    },
}

impl Owner {
    /// The page that keeps the owner's reasons.
    pub fn page(self) -> String {
        match self {
            Owner::Municipality(_) => "/admin/reasons".into(),
            Owner::School { school, .. } => format!("/schools/{school}/reasons"),
        }
    }

    /// The organisation the reasons are stored under.
    pub fn org(self) -> OrganisationId {
        match self {
            Owner::Municipality(m) => m,
            Owner::School { school, .. } => school.into(),
        }
    }

    pub fn municipality(self) -> OrganisationId {
        match self {
            Owner::Municipality(m)
            | Owner::School {
                municipality: m, ..
            } => m,
        }
    }

    /// A school's own reasons (its municipality from the database).
    pub fn school(conn: &mut DbConn, school: SchoolId) -> AppResult<Owner> {
        let [municipality, _] = owners_at(conn, school)?;
        Ok(Owner::School {
            school,
            municipality,
        })
    }
}

/// The organisations whose reasons a school offers: its municipality and itself.
pub fn owners_at(conn: &mut DbConn, school: SchoolId) -> AppResult<[OrganisationId; 2]> {
    let parent: Option<OrganisationId> = organisations::table
        .find(school)
        .select(organisations::parent_id)
        .first(conn)?;
    Ok([parent.unwrap_or(school.into()), school.into()])
}

/// Whether the municipality lets its schools add reasons of their own.
pub fn schools_may_add(conn: &mut DbConn, municipality: OrganisationId) -> AppResult<bool> {
    Ok(organisations::table
        .find(municipality)
        .select(organisations::schools_add_reasons)
        .first(conn)?)
}

/// Lets the municipality's schools add reasons of their own, or stops it (their reasons
/// stay as they are).
pub fn set_schools_may_add(
    conn: &mut DbConn,
    act: &Act,
    municipality: OrganisationId,
    allowed: bool,
) -> AppResult<()> {
    conn.transaction(|conn| {
        let changed = diesel::update(
            organisations::table
                .find(municipality)
                .filter(organisations::schools_add_reasons.eq(!allowed)),
        )
        .set(organisations::schools_add_reasons.eq(allowed))
        .execute(conn)?;
        if changed > 0 {
            audit::acted(
                conn,
                act,
                "reason.schools_may_add",
                "organisation",
                municipality,
                json!({"allowed": allowed}),
            )?;
        }
        Ok(())
    })
}

/// The organisations a new reason of `owner` must not share a code or name with.
fn neighbours(conn: &mut DbConn, owner: Owner) -> AppResult<Vec<OrganisationId>> {
    Ok(match owner {
        Owner::School {
            school,
            municipality,
        } => vec![municipality, school.into()],
        Owner::Municipality(m) => {
            let mut orgs: Vec<OrganisationId> = organisations::table
                .filter(organisations::parent_id.eq(m))
                .select(organisations::id)
                .load(conn)?;
            orgs.push(m);
            orgs
        }
    })
}

/// Adds a reason to the municipality or to a school (when the municipality allows it).
/// Answers its id.
pub fn add(conn: &mut DbConn, act: &Act, owner: Owner, r: &NewReason) -> Checked<ReasonId> {
    let municipality = owner.municipality();
    conn.transaction(|conn| {
        conn.lock_organisation(municipality)?;
        if matches!(owner, Owner::School { .. }) && !schools_may_add(conn, municipality)? {
            return Ok(Err(Refusal::new("municipality_does_let_schools_add")));
        }
        let orgs = neighbours(conn, owner)?;
        let mine = || absence_reasons::table.filter(absence_reasons::organisation_id.eq_any(&orgs));
        let code_taken: i64 = mine()
            .filter(absence_reasons::code.eq(&r.code))
            .count()
            .get_result(conn)?;
        if code_taken > 0 {
            return Ok(Err(Refusal::new("code_used_another_reason_already")));
        }
        // compared here, not in SQL: SQLite's lower() folds A–Z only, not Å, Ä or Ö
        let names: Vec<(String, String)> = mine()
            .select((absence_reasons::name_sv, absence_reasons::name_en))
            .load(conn)?;
        let (sv, en) = (r.name_sv.to_lowercase(), r.name_en.to_lowercase());
        let name_taken = names
            .iter()
            .any(|(s, e)| s.to_lowercase() == sv || e.to_lowercase() == en);
        if name_taken {
            return Ok(Err(Refusal::new("name_used_another_reason_already")));
        }
        let last: Option<i32> = mine()
            .select(diesel::dsl::max(absence_reasons::sort_order))
            .first(conn)?;
        let id: ReasonId = diesel::insert_into(absence_reasons::table)
            .values((
                absence_reasons::organisation_id.eq(owner.org()),
                absence_reasons::code.eq(&r.code),
                absence_reasons::name_sv.eq(&r.name_sv),
                absence_reasons::name_en.eq(&r.name_en),
                absence_reasons::counts_as_absence.eq(r.counts_as_absence),
                absence_reasons::is_valid.eq(r.is_valid),
                absence_reasons::is_sick.eq(r.is_sick),
                absence_reasons::staff_selectable.eq(r.staff_selectable),
                absence_reasons::guardian_selectable.eq(r.guardian_selectable),
                absence_reasons::pupil_selectable.eq(r.pupil_selectable),
                absence_reasons::sends_notice.eq(r.sends_notice),
                absence_reasons::active.eq(true),
                absence_reasons::sort_order.eq(last.unwrap_or(0) + 1),
            ))
            .returning(absence_reasons::id)
            .get_result(conn)?;
        audit::acted(conn, act, "reason.added", "absence_reason", id, json!({"code": r.code, "name_sv": r.name_sv, "name_en": r.name_en,
                    "counts_as_absence": r.counts_as_absence, "is_valid": r.is_valid, "is_sick": r.is_sick,
                    "staff": r.staff_selectable, "guardian": r.guardian_selectable, "pupil": r.pupil_selectable,
                    "sends_notice": r.sends_notice, "organisation_id": owner.org()}))?;
        Ok(Ok(id))
    })
}

/// Retires one of the owner's reasons (no longer offered) or takes it back into use.
pub fn set_active(
    conn: &mut DbConn,
    act: &Act,
    owner: Owner,
    id: ReasonId,
    active: bool,
) -> AppResult<()> {
    conn.transaction(|conn| {
        let exists: i64 = absence_reasons::table
            .find(id)
            .filter(absence_reasons::organisation_id.eq(owner.org()))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(AppError::NotFound);
        }
        let changed = diesel::update(
            absence_reasons::table
                .find(id)
                .filter(absence_reasons::active.eq(!active)),
        )
        .set(absence_reasons::active.eq(active))
        .execute(conn)?;
        if changed > 0 {
            audit::record(
                conn,
                Entry {
                    at: act.now,
                    actor: Some(act.actor.id),
                    action: if active {
                        "reason.reactivated"
                    } else {
                        "reason.retired"
                    },
                    entity: "absence_reason",
                    entity_id: Some(id.into()),
                    detail: json!({"organisation_id": owner.org()}),
                    client_addr: Some(act.client_addr),
                },
            )?;
        }
        Ok(())
    })
}

/// (code, Swedish, English, counts as absence, valid, sick, staff, guardian, pupil, sends notice)
pub type ReasonDef = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    bool,
    bool,
    bool,
    bool,
    bool,
);

/// The absence reasons every generated or imported municipality starts with
/// (code, sv, en, counts, valid, sick, staff, guardian, pupil, notice).
pub const DEFAULT_REASONS: [ReasonDef; 7] = [
    (
        "SJUK", "Sjukdom", "Illness", true, true, true, true, true, true, false,
    ),
    (
        "LAKARE",
        "Läkar- eller tandläkarbesök",
        "Doctor or dentist",
        true,
        true,
        true,
        true,
        true,
        true,
        false,
    ),
    (
        "ANNAN",
        "Annan anmäld frånvaro",
        "Other reported absence",
        true,
        true,
        false,
        true,
        true,
        false,
        false,
    ),
    (
        "LEDIG",
        "Beviljad ledighet",
        "Granted leave",
        true,
        true,
        false,
        true,
        false,
        false,
        false,
    ),
    (
        "OGILTIG",
        "Ogiltig frånvaro",
        "Unexplained absence",
        true,
        false,
        false,
        true,
        false,
        false,
        true,
    ),
    (
        "DISTANS",
        "Deltar på distans",
        "Taking part remotely",
        false,
        true,
        false,
        true,
        false,
        false,
        false,
    ),
    (
        "SKOLAKT",
        "Annan skolaktivitet",
        "Other school activity",
        false,
        true,
        false,
        true,
        false,
        false,
        false,
    ),
];

/// Gives a municipality the default absence reasons, unless it has reasons already.
pub fn ensure_default_reasons(conn: &mut DbConn, muni: OrganisationId) -> QueryResult<()> {
    let existing: i64 = absence_reasons::table
        .filter(absence_reasons::organisation_id.eq(muni))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Ok(());
    }
    for (i, (code, sv, en, counts, valid, sick, staff, guardian, pupil, notice)) in
        DEFAULT_REASONS.into_iter().enumerate()
    {
        diesel::insert_into(absence_reasons::table)
            .values((
                absence_reasons::organisation_id.eq(muni),
                absence_reasons::code.eq(code),
                absence_reasons::name_sv.eq(sv),
                absence_reasons::name_en.eq(en),
                absence_reasons::counts_as_absence.eq(counts),
                absence_reasons::is_valid.eq(valid),
                absence_reasons::is_sick.eq(sick),
                absence_reasons::staff_selectable.eq(staff),
                absence_reasons::guardian_selectable.eq(guardian),
                absence_reasons::pupil_selectable.eq(pupil),
                absence_reasons::sends_notice.eq(notice),
                absence_reasons::sort_order.eq(i as i32),
            ))
            .execute(conn)?;
    }
    Ok(())
}
