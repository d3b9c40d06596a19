//! People, their addresses and identifiers, ending those gone from the source, and
//! guardianships (ending guardians left with no child).

use crate::db::DbConn;
use crate::interop::import::roster::{Roster, Summary};
use crate::schema::*;
use crate::school::ids::PersonId;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

use super::common::*;
use super::known::{lookup, Table};
use super::touched::Touched;

/// A person's stored values the import compares with the source's: names, civic number,
/// birth date, sex, marking, e-mail, school, active, registered municipality, telephone,
/// sealed civic number.
type PersonValues = (
    String,
    String,
    Option<String>,
    Option<NaiveDate>,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// People: pupils, guardians and staff.
pub(super) fn people(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Ids> {
    let person_rows = existing::<(PersonValues, (bool, bool))>(
        conn,
        r.persons.iter().map(|p| p.ext.clone()).collect(),
        |c, chunk| {
            people::table
                .filter(people::external_id.eq_any(chunk))
                .select((
                    people::external_id,
                    people::id,
                    (
                        (
                            people::given_name,
                            people::family_name,
                            people::civic_no,
                            people::birth_date,
                            people::sex,
                            people::security_marking,
                            people::email,
                            people::school_id,
                            people::active,
                            people::municipality_code,
                            people::phone,
                            people::civic_sealed,
                        ),
                        (people::email_chosen, people::phone_chosen),
                    ),
                ))
                .load(c)
        },
    )?;
    let mut persons = ids(&person_rows);
    let mut new = Vec::new();
    for p in &r.persons {
        let school = p.school.as_ref().and_then(|s| orgs.get(s).copied());
        let stored = person_rows.get(&p.ext);
        // an address or a number the person chose on "My account" is theirs to change, not
        // the source's
        let (email, phone) = match stored {
            Some((_, (have, (e, ph)))) => (
                if *e { have.6.clone() } else { p.email.clone() },
                if *ph {
                    have.10.clone()
                } else {
                    p.phone.clone()
                },
            ),
            None => (p.email.clone(), p.phone.clone()),
        };
        let want: PersonValues = (
            p.given.clone(),
            p.family.clone(),
            p.civic_no.clone(),
            p.birth_date,
            p.sex.map(str::to_string),
            p.marking.to_string(),
            email,
            school,
            true,
            p.municipality_code.clone(),
            phone,
            p.civic_sealed.clone(),
        );
        match stored {
            Some((_, (have, _))) if *have == want => {}
            Some(&(id, _)) => {
                let n = diesel::update(people::table.find(id))
                    .set((
                        people::given_name.eq(&p.given),
                        people::family_name.eq(&p.family),
                        people::civic_no.eq(p.civic_no.as_deref()),
                        people::birth_date.eq(p.birth_date),
                        people::sex.eq(p.sex),
                        people::security_marking.eq(p.marking),
                        people::email.eq(&want.6),
                        people::school_id.eq(school),
                        people::active.eq(true),
                        people::ended_at.eq(None::<NaiveDateTime>),
                        people::municipality_code.eq(p.municipality_code.as_deref()),
                        people::phone.eq(&want.10),
                        people::civic_sealed.eq(p.civic_sealed.as_deref()),
                    ))
                    .execute(conn)?;
                sum.updated += n;
            }
            None => new.push(NewPerson {
                given_name: &p.given,
                family_name: &p.family,
                civic_no: p.civic_no.as_deref(),
                civic_sealed: p.civic_sealed.as_deref(),
                birth_date: p.birth_date,
                sex: p.sex,
                security_marking: p.marking,
                email: p.email.as_deref(),
                school_id: school,
                municipality_code: p.municipality_code.as_deref(),
                phone: p.phone.as_deref(),
                external_id: Some(&p.ext),
                uuid: Some(source_uuid(&p.ext)?),
                created_at: now,
            }),
        }
    }
    sum.inserted += insert_batched!(conn, people::table, new);
    let added: Vec<String> = new
        .iter()
        .filter_map(|n| n.external_id.map(str::to_string))
        .collect();
    persons.extend(lookup(conn, added, Table::People)?);
    Ok(persons)
}

/// Each person's e-mail addresses (`person_emails`) set to exactly those the source lists
/// now, in its order; a person whose earlier list changed counts as updated.
pub(super) fn addresses(
    conn: &mut DbConn,
    r: &Roster,
    persons: &Ids,
    sum: &mut Summary,
) -> QueryResult<()> {
    let want: HashMap<i64, &[(&'static str, String)]> = r
        .persons
        .iter()
        .filter_map(|p| persons.get(&p.ext).map(|&id| (id, p.emails.as_slice())))
        .collect();
    let ids: Vec<i64> = want.keys().copied().collect();
    let mut have: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        for (id, kind, address) in person_emails::table
            .filter(person_emails::person_id.eq_any(chunk))
            .order(person_emails::id)
            .select((
                person_emails::person_id,
                person_emails::kind,
                person_emails::address,
            ))
            .load::<(i64, String, String)>(conn)?
        {
            have.entry(id).or_default().push((kind, address));
        }
    }
    let mut stale = Vec::new();
    let mut new = Vec::new();
    for (&id, list) in &want {
        let same = have.get(&id).map_or(list.is_empty(), |h| {
            h.len() == list.len()
                && h.iter()
                    .zip(list.iter())
                    .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
        });
        if same {
            continue;
        }
        if have.contains_key(&id) {
            stale.push(id);
            sum.updated += 1;
        }
        new.extend(list.iter().map(|(kind, address)| NewAddress {
            person_id: id,
            address,
            kind,
        }));
    }
    for chunk in stale.chunks(crate::db::CHUNK) {
        diesel::delete(person_emails::table.filter(person_emails::person_id.eq_any(chunk)))
            .execute(conn)?;
    }
    insert_batched!(conn, person_emails::table, new);
    Ok(())
}

/// Each person's sign-in identifiers, as the source lists them (a changed list replaces
/// the stored one, and counts as an update).
pub(super) fn identifiers(
    conn: &mut DbConn,
    r: &Roster,
    persons: &Ids,
    sum: &mut Summary,
) -> QueryResult<()> {
    type Stored = (Option<String>, String, String, bool);
    let want: HashMap<i64, &[crate::interop::import::roster::Identifier]> = r
        .persons
        .iter()
        .filter_map(|p| {
            persons
                .get(&p.ext)
                .map(|&id| (id, p.identifiers.as_slice()))
        })
        .collect();
    let ids: Vec<i64> = want.keys().copied().collect();
    let mut have: HashMap<i64, Vec<Stored>> = HashMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        for (id, kind, context, value, unique) in person_identifiers::table
            .filter(person_identifiers::person_id.eq_any(chunk))
            .order(person_identifiers::id)
            .select((
                person_identifiers::person_id,
                person_identifiers::kind,
                person_identifiers::context,
                person_identifiers::value,
                person_identifiers::globally_unique,
            ))
            .load::<(i64, String, Option<String>, String, bool)>(conn)?
        {
            have.entry(id)
                .or_default()
                .push((context, kind, value, unique));
        }
    }
    let mut stale = Vec::new();
    let mut new = Vec::new();
    for (&id, list) in &want {
        let same = have.get(&id).map_or(list.is_empty(), |h| {
            h.len() == list.len()
                && h.iter().zip(list.iter()).all(|(a, b)| {
                    a.0 == b.context && a.1 == b.kind && a.2 == b.value && a.3 == b.globally_unique
                })
        });
        if same {
            continue;
        }
        if have.contains_key(&id) {
            stale.push(id);
            sum.updated += 1;
        }
        new.extend(list.iter().map(|i| NewIdentifier {
            person_id: id,
            kind: i.kind,
            context: i.context.as_deref(),
            value: &i.value,
            globally_unique: i.globally_unique,
        }));
    }
    for chunk in stale.chunks(crate::db::CHUNK) {
        diesel::delete(
            person_identifiers::table.filter(person_identifiers::person_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    insert_batched!(conn, person_identifiers::table, new);
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = person_identifiers)]
pub(super) struct NewIdentifier<'a> {
    person_id: i64,
    kind: &'a str,
    context: Option<&'a str>,
    value: &'a str,
    globally_unique: bool,
}

#[derive(Insertable)]
#[diesel(table_name = person_emails)]
pub(super) struct NewAddress<'a> {
    person_id: i64,
    address: &'a str,
    kind: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = people, treat_none_as_default_value = false)]
pub(super) struct NewPerson<'a> {
    given_name: &'a str,
    family_name: &'a str,
    civic_no: Option<&'a str>,
    civic_sealed: Option<&'a str>,
    birth_date: Option<NaiveDate>,
    sex: Option<&'a str>,
    security_marking: &'a str,
    email: Option<&'a str>,
    school_id: Option<i64>,
    municipality_code: Option<&'a str>,
    phone: Option<&'a str>,
    external_id: Option<&'a str>,
    uuid: Option<String>,
    created_at: NaiveDateTime,
}

/// The schools a snapshot covers.
pub(super) fn snapshot_schools(r: &Roster, orgs: &Ids) -> Vec<i64> {
    r.orgs
        .iter()
        .filter(|o| o.kind == "school")
        .filter_map(|o| orgs.get(&o.ext).copied())
        .collect()
}

/// Ends the people an earlier import brought from the same schools who are gone now.
pub(super) fn end_departed(
    conn: &mut DbConn,
    r: &Roster,
    (orgs, persons): (&Ids, &Ids),
    (today, now): (NaiveDate, NaiveDateTime),
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<()> {
    let school_ids = snapshot_schools(r, orgs);
    let present: HashSet<i64> = persons.values().copied().collect();
    let imported_here: Vec<i64> = people::table
        .left_join(duties::table.on(duties::person_id.eq(people::id)))
        .filter(people::external_id.is_not_null())
        .filter(people::active.eq(true))
        .filter(
            people::school_id
                .eq_any(&school_ids)
                .or(duties::organisation_id.eq_any(&school_ids)),
        )
        .select(people::id)
        .distinct()
        .load(conn)?;
    for id in imported_here.into_iter().filter(|id| !present.contains(id)) {
        end_person(conn, id, today, now, t)?;
        sum.ended += 1;
    }

    Ok(())
}

/// Ends the people a source of changes names as gone (`deletedEntities`, `tobedeleted`).
pub(super) fn end_named(
    conn: &mut DbConn,
    gone: &[String],
    (today, now): (NaiveDate, NaiveDateTime),
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<()> {
    for chunk in gone.chunks(crate::db::CHUNK) {
        let rows: Vec<i64> = people::table
            .filter(people::external_id.eq_any(chunk))
            .filter(people::active.eq(true))
            .select(people::id)
            .load(conn)?;
        for id in rows {
            end_person(conn, id, today, now, t)?;
            sum.ended += 1;
        }
    }
    Ok(())
}

/// A person gone from the source: inactive (their sessions and links stop working), their
/// memberships and duties that run past yesterday (open, or ending later) end yesterday;
/// never deleted, except memberships and duties that had not started yet, which hold no
/// history (they cannot end before they start).
pub(super) fn end_person(
    conn: &mut DbConn,
    id: i64,
    today: NaiveDate,
    now: NaiveDateTime,
    t: &mut Touched,
) -> QueryResult<()> {
    let yesterday = today - Duration::days(1);
    // a pupil's days from today on (what ended yesterday or had not begun)
    t.pupil(id, None, (today, None));
    diesel::update(people::table.find(id))
        .set((
            people::active.eq(false),
            people::ended_at.eq(now),
            people::token_version.eq(people::token_version + 1),
        ))
        .execute(conn)?;
    let memberships = group_memberships::table.filter(group_memberships::pupil_id.eq(id));
    diesel::delete(memberships.filter(group_memberships::start_date.gt(yesterday)))
        .execute(conn)?;
    diesel::update(
        memberships.filter(
            group_memberships::end_date
                .is_null()
                .or(group_memberships::end_date.gt(yesterday)),
        ),
    )
    .set(group_memberships::end_date.eq(yesterday))
    .execute(conn)?;
    let duties = duties::table.filter(duties::person_id.eq(id));
    diesel::delete(duties.filter(duties::start_date.gt(yesterday))).execute(conn)?;
    diesel::update(
        duties.filter(
            duties::end_date
                .is_null()
                .or(duties::end_date.gt(yesterday)),
        ),
    )
    .set(duties::end_date.eq(yesterday))
    .execute(conn)?;
    crate::auth::links::revoke_all(conn, PersonId(id), now)?;
    Ok(())
}

/// Guardianships: added; a responsible who disappears from the source is removed. The
/// guardians removed.
pub(super) fn guardianships(
    conn: &mut DbConn,
    r: &Roster,
    persons: &Ids,
    kept: &HashSet<i64>,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Vec<i64>> {
    let pupils_with: HashSet<i64> = r
        .responsibles
        .iter()
        .filter_map(|(p, _)| persons.get(p).copied())
        .collect();
    let wanted: HashSet<(i64, i64)> = r
        .responsibles
        .iter()
        .filter_map(|(p, g)| Some((*persons.get(p)?, *persons.get(g)?)))
        .collect();
    let pupil_list: Vec<i64> = r
        .persons
        .iter()
        .filter(|p| p.school.is_some())
        .filter_map(|p| persons.get(&p.ext).copied())
        .collect();
    let mut linked: HashSet<(i64, i64)> = HashSet::new();
    for chunk in pupil_list.chunks(crate::db::CHUNK) {
        linked.extend(
            guardianships::table
                .filter(guardianships::pupil_id.eq_any(chunk))
                .select((guardianships::pupil_id, guardianships::guardian_id))
                .load::<(i64, i64)>(conn)?,
        );
    }
    let in_source: HashSet<i64> = pupils_with.iter().chain(&pupil_list).copied().collect();
    let (add, mut remove) = guardianship_changes(&wanted, &linked, &in_source);
    remove.retain(|(p, g)| !kept.contains(p) && !kept.contains(g));
    let add: Vec<_> = add
        .into_iter()
        .map(|(pupil, guardian)| {
            (
                guardianships::pupil_id.eq(pupil),
                guardianships::guardian_id.eq(guardian),
                guardianships::relation.eq("guardian"),
                guardianships::created_at.eq(now),
            )
        })
        .collect();
    sum.inserted += insert_batched!(conn, guardianships::table, add);
    let mut unlinked = Vec::new();
    for (pupil, guardian) in remove {
        diesel::delete(
            guardianships::table
                .filter(guardianships::pupil_id.eq(pupil))
                .filter(guardianships::guardian_id.eq(guardian)),
        )
        .execute(conn)?;
        sum.ended += 1;
        unlinked.push(guardian);
    }
    Ok(unlinked)
}

/// A guardian left with no child, no duty and no school of their own is ended like a
/// teacher who left: not deleted, and every session and link of theirs stops working.
pub(super) fn end_childless_guardians(
    conn: &mut DbConn,
    unlinked: Vec<i64>,
    today: NaiveDate,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<()> {
    for guardian in unlinked {
        let children: i64 = guardianships::table
            .filter(guardianships::guardian_id.eq(guardian))
            .count()
            .get_result(conn)?;
        let duties_left: i64 = duties::table
            .filter(duties::person_id.eq(guardian))
            .filter(crate::school::duty::not_ended_by(today))
            .count()
            .get_result(conn)?;
        if children > 0 || duties_left > 0 {
            continue;
        }
        let ended = diesel::update(
            people::table
                .find(guardian)
                .filter(people::active.eq(true))
                .filter(people::school_id.is_null()),
        )
        .set((
            people::active.eq(false),
            people::ended_at.eq(now),
            people::token_version.eq(people::token_version + 1),
        ))
        .execute(conn)?;
        if ended > 0 {
            // their unused sign-in links die with the account
            crate::auth::links::revoke_all(conn, PersonId(guardian), now)?;
            sum.ended += 1;
        }
    }

    Ok(())
}
