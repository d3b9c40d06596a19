//! Organisations, parents first.

use crate::db::DbConn;
use crate::interop::import::roster::{Roster, Summary};
use crate::schema::*;
use crate::school::ids::OrganisationId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::common::*;

/// Organisations, parents first; a municipality gets the default absence reasons.
pub(super) fn organisations(
    conn: &mut DbConn,
    r: &Roster,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Ids> {
    type OrgValues = (
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let org_rows = existing::<OrgValues>(
        conn,
        r.orgs.iter().map(|o| o.ext.clone()).collect(),
        |c, chunk| {
            organisations::table
                .filter(organisations::external_id.eq_any(chunk))
                .select((
                    organisations::external_id,
                    organisations::id,
                    (
                        organisations::name,
                        organisations::parent_id,
                        organisations::school_form,
                        organisations::school_unit_code,
                        organisations::municipality_code,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut orgs = ids(&org_rows);
    for o in parents_first(&r.orgs) {
        let parent = o.parent.as_ref().and_then(|p| orgs.get(p).copied());
        let want: OrgValues = (
            o.name.clone(),
            parent,
            o.school_form.map(str::to_string),
            o.unit_code.clone(),
            o.municipality_code.clone(),
        );
        match org_rows.get(&o.ext) {
            Some((_, have)) if *have == want => {}
            Some(&(id, _)) => {
                let n = diesel::update(organisations::table.find(id))
                    .set((
                        organisations::name.eq(&o.name),
                        organisations::parent_id.eq(parent),
                        organisations::school_form.eq(o.school_form),
                        organisations::school_unit_code.eq(o.unit_code.as_deref()),
                        organisations::municipality_code.eq(o.municipality_code.as_deref()),
                    ))
                    .execute(conn)?;
                sum.updated += n;
            }
            None => {
                let id: i64 = diesel::insert_into(organisations::table)
                    .values((
                        organisations::parent_id.eq(parent),
                        organisations::org_type.eq(o.kind),
                        organisations::name.eq(&o.name),
                        organisations::school_form.eq(o.school_form),
                        organisations::school_unit_code.eq(o.unit_code.as_deref()),
                        organisations::municipality_code.eq(o.municipality_code.as_deref()),
                        organisations::external_id.eq(&o.ext),
                        organisations::uuid.eq(source_uuid(&o.ext)?),
                        organisations::created_at.eq(now),
                    ))
                    .returning(organisations::id)
                    .get_result(conn)?;
                orgs.insert(o.ext.clone(), id);
                sum.inserted += 1;
            }
        }
        if o.kind == "municipality" {
            if let Some(&id) = orgs.get(&o.ext) {
                crate::attendance::absence_reasons::ensure_default_reasons(
                    conn,
                    OrganisationId(id),
                )?;
            }
        }
    }

    Ok(orgs)
}

/// Organisations (school units among them) the source deleted are kept with their
/// history: a school's pupils, groups and lessons end by their own deletions. The run's
/// report says which stored ones were named, so that nobody takes the silence for done.
pub(super) fn note_gone_orgs(conn: &mut DbConn, r: &Roster, sum: &mut Summary) -> QueryResult<()> {
    if r.gone.orgs.is_empty() {
        return Ok(());
    }
    let mut stored: Vec<(String, String)> = Vec::new();
    for chunk in r.gone.orgs.chunks(crate::db::CHUNK) {
        let rows: Vec<(Option<String>, String)> = organisations::table
            .filter(organisations::external_id.eq_any(chunk))
            .select((organisations::external_id, organisations::name))
            .load(conn)?;
        stored.extend(rows.into_iter().filter_map(|(e, n)| Some((e?, n))));
    }
    let unknown = r.gone.orgs.len().saturating_sub(stored.len());
    if !stored.is_empty() {
        stored.sort();
        let named: Vec<String> = stored.iter().map(|(e, n)| format!("{n} ({e})")).collect();
        sum.notes_of_apply.push(format!(
            "{} organisation(s) the source deleted were kept, with their history: {}; end a school unit's pupils, groups and timetable in the source, or ask the administrator to retire it",
            stored.len(),
            named.join(", ")
        ));
    }
    if unknown > 0 {
        sum.notes_of_apply.push(format!(
            "{unknown} organisation(s) the source deleted were never stored here"
        ));
    }
    Ok(())
}
