//! Writing a checked roster, stage by stage in one transaction (see `run`): organisations
//! (parents first), people (and ending those gone from the source), guardianships (and
//! ending guardians left with no child), groups, memberships, duties, activities with their
//! groups and teachers, lessons, and last the statistics. Every stage matches stored rows
//! by `external_id` and decides with the plain rules at the bottom of this file, which are
//! unit-tested.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::{Known, Mode, Org, Roster, Summary};
use crate::db::DbConn;
use crate::schema::*;

/// Rows per multi-row INSERT: well under either backend's bound-parameter limit.
const BATCH: usize = 500;

/// Inserts `rows` (a Vec of insertable values) a batch per statement; the rows inserted.
macro_rules! insert_batched {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut n = 0usize;
        for batch in $rows.chunks(BATCH) {
            n += crate::on_backend!($conn, c => diesel::insert_into($table).values(batch).execute(c))?;
        }
        n
    }};
}

/// Writes the roster: call inside a transaction (see `store`). `known`: the stored rows a
/// roster of changes refers to.
pub fn apply(
    conn: &mut DbConn,
    r: &Roster,
    mode: Mode,
    known: &Known,
    tz: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
) -> QueryResult<Summary> {
    let mut sum = Summary::default();
    let mut lap = Laps::start();
    let mut orgs = organisations(conn, r, now, &mut sum)?;
    extend(&mut orgs, &known.orgs);
    let mut persons = people(conn, r, &orgs, now, &mut sum)?;
    addresses(conn, r, &persons, &mut sum)?;
    identifiers(conn, r, &persons, &mut sum)?;
    extend(&mut persons, &known.persons);
    lap.lap("organisations and people");
    // records the source holds but that could not be read: nothing of them is ended
    let unread: Vec<String> = r.unread.iter().cloned().collect();
    let kept_people: HashSet<i64> = lookup(conn, unread.clone(), Table::People)?
        .into_values()
        .collect();
    let kept_groups: HashSet<i64> = lookup(conn, unread, Table::Groups)?.into_values().collect();
    // what moves the statistics: people ended, groups, memberships, activities, lessons
    let before = sum.changes();
    let mut school_ids = match mode {
        Mode::Full if r.unread_lists.contains("persons") => {
            sum.notes_of_apply
                .push("nobody was ended, since a person record could not be read".to_string());
            snapshot_schools(r, &orgs)
        }
        Mode::Full => end_departed(conn, r, &orgs, &persons, today, now, &mut sum)?,
        Mode::Changes => {
            // a person the run also brings exists in the source now: the deletion is older
            // than the record (deleted, then created again with the same id) and loses
            let present: HashSet<&str> = r.persons.iter().map(|p| p.ext.as_str()).collect();
            let gone: Vec<String> = r
                .gone
                .persons
                .iter()
                .filter(|ext| !present.contains(ext.as_str()))
                .cloned()
                .collect();
            end_named(conn, &gone, today, now, &mut sum)?
        }
    };
    let mut moved = sum.changes() - before;
    let unlinked = guardianships(conn, r, &persons, &kept_people, now, &mut sum)?;
    end_childless_guardians(conn, unlinked, today, now, &mut sum)?;
    lap.lap("endings and guardianships");
    // a group's type decides the pupil's class on the statistics' rows
    let before = sum.changes();
    let mut groups_by = groups(conn, r, &orgs, now, &mut sum)?;
    moved += sum.changes() - before;
    extend(&mut groups_by, &known.groups);
    let keys = Keys {
        orgs: &orgs,
        persons: &persons,
        groups: &groups_by,
        mode,
        piecemeal: r.piecemeal,
        kept_people: &kept_people,
        kept_groups: &kept_groups,
        keep_duties: r.unread_lists.contains("duties"),
    };
    duties(conn, r, &keys, today, &mut sum)?;
    lap.lap("groups and duties");
    let before = sum.changes();
    memberships(conn, r, &keys, today, &mut sum)?;
    lap.lap("memberships");
    let mut acts = activities(conn, r, &keys, now, &mut sum)?;
    extend(&mut acts, &known.activities);
    lap.lap("activities");
    lessons(conn, r, &orgs, &acts, &mut sum)?;
    if mode == Mode::Full {
        school_ids.extend(cancel_missing(conn, r, &orgs, today, &mut sum)?);
    }
    lap.lap("lessons");
    school_ids.extend(end_gone(conn, r, today, &mut sum)?);
    note_gone_orgs(conn, r, &mut sum)?;
    lap.lap("endings");
    moved += sum.changes() - before;
    // the statistics follow the new timetable and memberships (a new name moves nothing)
    if moved > 0 {
        if mode == Mode::Changes {
            school_ids.extend(touched_schools(conn, r, &keys, &acts)?);
        }
        school_ids.sort_unstable();
        school_ids.dedup();
        refresh_statistics(conn, tz, &school_ids)?;
        lap.lap("statistics");
    }
    Ok(sum)
}

/// How long each stage took, at debug level (`RUST_LOG=narvaro::interop::import=debug`).
struct Laps(std::time::Instant);

impl Laps {
    fn start() -> Self {
        Laps(std::time::Instant::now())
    }

    fn lap(&mut self, stage: &str) {
        let ms = self.0.elapsed().as_millis() as u64;
        tracing::debug!(stage, ms, "import stage");
        self.0 = std::time::Instant::now();
    }
}

/// Närvaro's ids of what the roster names, by the source's ids, and how to read it.
struct Keys<'a> {
    orgs: &'a Ids,
    persons: &'a Ids,
    groups: &'a Ids,
    mode: Mode,
    /// memberships and an activity's links come one by one: only added (see `Roster`)
    piecemeal: bool,
    /// stored people and groups whose record could not be read: nothing of theirs ends
    kept_people: &'a HashSet<i64>,
    kept_groups: &'a HashSet<i64>,
    /// a duty record could not be read: a snapshot ends no duty
    keep_duties: bool,
}

impl Keys<'_> {
    /// Whether what hangs from a record and is missing from it is removed: for a snapshot,
    /// and for changes whose records come whole (SS 12000).
    fn removes_missing(&self) -> bool {
        self.mode == Mode::Full || !self.piecemeal
    }
}

fn extend(ids: &mut Ids, known: &HashMap<String, i64>) {
    for (ext, id) in known {
        ids.entry(ext.clone()).or_insert(*id);
    }
}

/// The stored rows a roster of changes refers to but does not hold, by the source's ids.
pub fn known(conn: &mut DbConn, r: &Roster) -> QueryResult<Known> {
    let own_orgs: HashSet<&str> = r.orgs.iter().map(|o| o.ext.as_str()).collect();
    let own_persons: HashSet<&str> = r.persons.iter().map(|p| p.ext.as_str()).collect();
    let own_groups: HashSet<&str> = r.groups.iter().map(|g| g.ext.as_str()).collect();
    let own_acts: HashSet<&str> = r.activities.iter().map(|a| a.ext.as_str()).collect();
    let wanted = |refs: Vec<&String>, own: &HashSet<&str>| -> Vec<String> {
        let set: HashSet<&String> = refs
            .into_iter()
            .filter(|x| !own.contains(x.as_str()))
            .collect();
        set.into_iter().cloned().collect()
    };
    let org_refs = wanted(
        r.orgs
            .iter()
            .filter_map(|o| o.parent.as_ref())
            .chain(r.persons.iter().filter_map(|p| p.school.as_ref()))
            .chain(r.groups.iter().map(|g| &g.school))
            .chain(r.duties.iter().map(|d| &d.org))
            .chain(r.activities.iter().map(|a| &a.school))
            .collect(),
        &own_orgs,
    );
    let person_refs = wanted(
        r.responsibles
            .iter()
            .flat_map(|(p, g)| [p, g])
            .chain(r.memberships.iter().map(|m| &m.pupil))
            .chain(r.duties.iter().map(|d| &d.person))
            .chain(r.activities.iter().flat_map(|a| &a.teachers))
            .collect(),
        &own_persons,
    );
    let group_refs = wanted(
        r.memberships
            .iter()
            .map(|m| &m.group)
            .chain(r.duties.iter().filter_map(|d| d.group.as_ref()))
            .chain(r.activities.iter().flat_map(|a| &a.groups))
            .collect(),
        &own_groups,
    );
    let act_refs = wanted(r.events.iter().map(|e| &e.activity).collect(), &own_acts);
    Ok(Known {
        orgs: lookup(conn, org_refs, Table::Orgs)?,
        persons: lookup(conn, person_refs, Table::People)?,
        groups: lookup(conn, group_refs, Table::Groups)?,
        activities: lookup(conn, act_refs, Table::Activities)?,
    })
}

enum Table {
    Orgs,
    People,
    Groups,
    Activities,
}

/// Stored rows' ids by external id, for those of `exts` that are stored.
fn lookup(conn: &mut DbConn, exts: Vec<String>, table: Table) -> QueryResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in exts.chunks(crate::db::CHUNK) {
        let rows: Vec<(Option<String>, i64)> = match table {
            Table::Orgs => organisations::table
                .filter(organisations::external_id.eq_any(chunk))
                .select((organisations::external_id, organisations::id))
                .load(conn)?,
            Table::People => people::table
                .filter(people::external_id.eq_any(chunk))
                .select((people::external_id, people::id))
                .load(conn)?,
            Table::Groups => groups::table
                .filter(groups::external_id.eq_any(chunk))
                .select((groups::external_id, groups::id))
                .load(conn)?,
            Table::Activities => activities::table
                .filter(activities::external_id.eq_any(chunk))
                .select((activities::external_id, activities::id))
                .load(conn)?,
        };
        out.extend(rows.into_iter().filter_map(|(e, id)| Some((e?, id))));
    }
    Ok(out)
}

/// Organisations, parents first; a municipality gets the default absence reasons.
fn organisations(
    conn: &mut DbConn,
    r: &Roster,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Ids> {
    type OrgValues = (String, Option<i64>, Option<String>, Option<String>);
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
                crate::seed::ensure_default_reasons(conn, id)?;
            }
        }
    }

    Ok(orgs)
}

/// People: pupils, guardians and staff.
fn people(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Ids> {
    #[allow(clippy::type_complexity)]
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
    );
    let person_rows = existing::<(PersonValues, bool)>(
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
                        ),
                        people::email_chosen,
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
        // an address the person chose on "My account" is theirs to change, not the source's
        let email = match stored {
            Some((_, (have, true))) => have.6.clone(),
            _ => p.email.clone(),
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
                    ))
                    .execute(conn)?;
                sum.updated += n;
            }
            None => new.push(NewPerson {
                given_name: &p.given,
                family_name: &p.family,
                civic_no: p.civic_no.as_deref(),
                birth_date: p.birth_date,
                sex: p.sex,
                security_marking: p.marking,
                email: p.email.as_deref(),
                school_id: school,
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
fn addresses(conn: &mut DbConn, r: &Roster, persons: &Ids, sum: &mut Summary) -> QueryResult<()> {
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
fn identifiers(conn: &mut DbConn, r: &Roster, persons: &Ids, sum: &mut Summary) -> QueryResult<()> {
    type Stored = (Option<String>, String, String, bool);
    let want: HashMap<i64, &[super::Identifier]> = r
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
struct NewIdentifier<'a> {
    person_id: i64,
    kind: &'a str,
    context: Option<&'a str>,
    value: &'a str,
    globally_unique: bool,
}

#[derive(Insertable)]
#[diesel(table_name = person_emails)]
struct NewAddress<'a> {
    person_id: i64,
    address: &'a str,
    kind: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = people, treat_none_as_default_value = false)]
struct NewPerson<'a> {
    given_name: &'a str,
    family_name: &'a str,
    civic_no: Option<&'a str>,
    birth_date: Option<NaiveDate>,
    sex: Option<&'a str>,
    security_marking: &'a str,
    email: Option<&'a str>,
    school_id: Option<i64>,
    external_id: Option<&'a str>,
    uuid: Option<String>,
    created_at: NaiveDateTime,
}

/// The schools a snapshot covers.
fn snapshot_schools(r: &Roster, orgs: &Ids) -> Vec<i64> {
    r.orgs
        .iter()
        .filter(|o| o.kind == "school")
        .filter_map(|o| orgs.get(&o.ext).copied())
        .collect()
}

/// Ends the people an earlier import brought from the same schools who are gone now; the
/// roster's schools.
fn end_departed(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    persons: &Ids,
    today: NaiveDate,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Vec<i64>> {
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
        end_person(conn, id, today, now)?;
        sum.ended += 1;
    }

    Ok(school_ids)
}

/// Ends the people a source of changes names as gone (`deletedEntities`, `tobedeleted`);
/// the schools they were at.
fn end_named(
    conn: &mut DbConn,
    gone: &[String],
    today: NaiveDate,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Vec<i64>> {
    let mut schools = Vec::new();
    for chunk in gone.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, Option<i64>)> = people::table
            .filter(people::external_id.eq_any(chunk))
            .filter(people::active.eq(true))
            .select((people::id, people::school_id))
            .load(conn)?;
        for (id, school) in rows {
            end_person(conn, id, today, now)?;
            schools.extend(school);
            sum.ended += 1;
        }
    }
    Ok(schools)
}

/// A person gone from the source: inactive (their sessions and links stop working), their
/// memberships and duties that run past yesterday (open, or ending later) end yesterday;
/// never deleted, except memberships and duties that had not started yet, which hold no
/// history (they cannot end before they start).
fn end_person(conn: &mut DbConn, id: i64, today: NaiveDate, now: NaiveDateTime) -> QueryResult<()> {
    let yesterday = today - Duration::days(1);
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
    crate::auth::links::revoke_all(conn, id, now)?;
    Ok(())
}

/// Guardianships: added; a responsible who disappears from the source is removed. The
/// guardians removed.
fn guardianships(
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
fn end_childless_guardians(
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
            crate::auth::links::revoke_all(conn, guardian, now)?;
            sum.ended += 1;
        }
    }

    Ok(())
}

/// Classes and other groups.
fn groups(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Ids> {
    type GroupValues = (String, String, Option<i32>, i64);
    let group_rows = existing::<GroupValues>(
        conn,
        r.groups.iter().map(|g| g.ext.clone()).collect(),
        |c, chunk| {
            groups::table
                .filter(groups::external_id.eq_any(chunk))
                .select((
                    groups::external_id,
                    groups::id,
                    (
                        groups::name,
                        groups::group_type,
                        groups::school_year,
                        groups::school_id,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut groups_by = ids(&group_rows);
    for g in &r.groups {
        let school = orgs.get(&g.school).copied().unwrap_or_default();
        let want: GroupValues = (g.name.clone(), g.kind.to_string(), g.school_year, school);
        match group_rows.get(&g.ext) {
            Some((_, have)) if *have == want => {}
            Some(&(id, _)) => {
                sum.updated += diesel::update(groups::table.find(id))
                    .set((
                        groups::name.eq(&g.name),
                        groups::group_type.eq(g.kind),
                        groups::school_year.eq(g.school_year),
                        groups::school_id.eq(school),
                    ))
                    .execute(conn)?;
            }
            None => {
                let id: i64 = diesel::insert_into(groups::table)
                    .values((
                        groups::school_id.eq(school),
                        groups::name.eq(&g.name),
                        groups::group_type.eq(g.kind),
                        groups::school_year.eq(g.school_year),
                        groups::external_id.eq(&g.ext),
                        groups::uuid.eq(source_uuid(&g.ext)?),
                        groups::created_at.eq(now),
                    ))
                    .returning(groups::id)
                    .get_result(conn)?;
                groups_by.insert(g.ext.clone(), id);
                sum.inserted += 1;
            }
        }
    }

    Ok(groups_by)
}

/// Memberships of the imported groups, matched on (group, pupil, start). A group that
/// comes whole (a snapshot's, an SS 12000 group record) loses the memberships it no
/// longer lists; one by one (a OneRoster delta), only those the source names as gone.
fn memberships(
    conn: &mut DbConn,
    r: &Roster,
    keys: &Keys,
    today: NaiveDate,
    sum: &mut Summary,
) -> QueryResult<()> {
    let (groups_by, persons) = (keys.groups, keys.persons);
    let whole: HashSet<i64> = if keys.removes_missing() {
        r.groups
            .iter()
            .filter_map(|g| groups_by.get(&g.ext).copied())
            .collect()
    } else {
        HashSet::new()
    };
    let gone: HashSet<(i64, i64)> = r
        .gone
        .memberships
        .iter()
        .filter_map(|(g, p)| Some((*groups_by.get(g)?, *persons.get(p)?)))
        .collect();
    let mut group_ids: Vec<i64> = whole
        .iter()
        .copied()
        .chain(
            r.memberships
                .iter()
                .filter_map(|m| groups_by.get(&m.group).copied()),
        )
        .chain(gone.iter().map(|(g, _)| *g))
        .collect();
    group_ids.sort_unstable();
    group_ids.dedup();
    let mut current: HashMap<(i64, i64, NaiveDate), (i64, Option<NaiveDate>)> = HashMap::new();
    for chunk in group_ids.chunks(crate::db::CHUNK) {
        for (id, g, p, s, e) in group_memberships::table
            .filter(group_memberships::group_id.eq_any(chunk))
            .select((
                group_memberships::id,
                group_memberships::group_id,
                group_memberships::pupil_id,
                group_memberships::start_date,
                group_memberships::end_date,
            ))
            .load::<(i64, i64, i64, NaiveDate, Option<NaiveDate>)>(conn)?
        {
            current.insert((g, p, s), (id, e));
        }
    }
    let mut keep: HashSet<i64> = HashSet::new();
    // (group, pupil) → the start of a membership new in the source
    let mut restarted: HashMap<(i64, i64), NaiveDate> = HashMap::new();
    let mut new = Vec::new();
    for m in &r.memberships {
        let (Some(&g), Some(&p)) = (groups_by.get(&m.group), persons.get(&m.pupil)) else {
            continue;
        };
        match current.get(&(g, p, m.start)) {
            Some(&(id, end)) => {
                keep.insert(id);
                if end != m.end {
                    diesel::update(group_memberships::table.find(id))
                        .set(group_memberships::end_date.eq(m.end))
                        .execute(conn)?;
                    sum.updated += 1;
                }
            }
            None => {
                restarted
                    .entry((g, p))
                    .and_modify(|d: &mut NaiveDate| *d = (*d).min(m.start))
                    .or_insert(m.start);
                new.push((
                    group_memberships::group_id.eq(g),
                    group_memberships::pupil_id.eq(p),
                    group_memberships::start_date.eq(m.start),
                    group_memberships::end_date.eq(m.end),
                ));
            }
        }
    }
    sum.inserted += insert_batched!(conn, group_memberships::table, new);
    for ((g, p, start), (id, end)) in &current {
        if keep.contains(id)
            || !(whole.contains(g) || gone.contains(&(*g, *p)))
            || keys.kept_people.contains(p)
        {
            continue;
        }
        // gone from the source: ended yesterday, or the day before the same pupil's new
        // membership of the group starts; never deleted
        let ended = gone_membership_end(today, *start, restarted.get(&(*g, *p)).copied());
        if needs_end(*end, ended) {
            diesel::update(group_memberships::table.find(*id))
                .set(group_memberships::end_date.eq(ended))
                .execute(conn)?;
            sum.ended += 1;
        }
    }

    Ok(())
}

/// Duties of the imported people, matched on (person, organisation, role, group, start).
fn duties(
    conn: &mut DbConn,
    r: &Roster,
    keys: &Keys,
    today: NaiveDate,
    sum: &mut Summary,
) -> QueryResult<()> {
    let person_ids: Vec<i64> = keys.persons.values().copied().collect();
    type DutyKey = (i64, i64, String, Option<i64>, NaiveDate);
    type DutyRow = (i64, Option<NaiveDate>, Option<String>);
    let mut duty_rows: HashMap<DutyKey, DutyRow> = HashMap::new();
    for chunk in person_ids.chunks(crate::db::CHUNK) {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i64,
            i64,
            i64,
            String,
            Option<i64>,
            NaiveDate,
            Option<NaiveDate>,
            Option<String>,
        )> = duties::table
            .filter(duties::person_id.eq_any(chunk))
            .select((
                duties::id,
                duties::person_id,
                duties::organisation_id,
                duties::role,
                duties::group_id,
                duties::start_date,
                duties::end_date,
                duties::external_id,
            ))
            .load(conn)?;
        for (id, p, o, role, g, s, e, ext) in rows {
            duty_rows.insert((p, o, role, g, s), (id, e, ext));
        }
    }
    let mut keep: HashSet<i64> = HashSet::new();
    for d in &r.duties {
        let (Some(&p), Some(&o)) = (keys.persons.get(&d.person), keys.orgs.get(&d.org)) else {
            continue;
        };
        let g = d.group.as_ref().and_then(|g| keys.groups.get(g).copied());
        match duty_rows.get(&(p, o, d.role.to_string(), g, d.start)) {
            Some((id, end, ext)) => {
                keep.insert(*id);
                if *end != d.end {
                    diesel::update(duties::table.find(*id))
                        .set(duties::end_date.eq(d.end))
                        .execute(conn)?;
                    sum.updated += 1;
                }
                if d.ext.is_some() && *ext != d.ext {
                    // the source's id, for a later deletedEntities (not a change of the duty)
                    diesel::update(duties::table.find(*id))
                        .set(duties::external_id.eq(d.ext.as_deref()))
                        .execute(conn)?;
                }
            }
            None => {
                diesel::insert_into(duties::table)
                    .values((
                        duties::person_id.eq(p),
                        duties::organisation_id.eq(o),
                        duties::role.eq(d.role),
                        duties::group_id.eq(g),
                        duties::start_date.eq(d.start),
                        duties::end_date.eq(d.end),
                        duties::external_id.eq(d.ext.as_deref()),
                    ))
                    .execute(conn)?;
                sum.inserted += 1;
            }
        }
    }
    // a snapshot ends what it no longer holds in its organisations; changes end what a
    // changed duty record no longer says (its old role or mentor group)
    let in_scope: HashSet<i64> = keys.orgs.values().copied().collect();
    let changed: HashSet<&str> = r.duties.iter().filter_map(|d| d.ext.as_deref()).collect();
    for ((p, o, _, g, start), (id, end, ext)) in &duty_rows {
        // nothing ends for a person or a mentor group whose record could not be read
        let unread =
            keys.kept_people.contains(p) || g.is_some_and(|g| keys.kept_groups.contains(&g));
        if unread {
            continue;
        }
        let gone = match keys.mode {
            Mode::Full => in_scope.contains(o) && !keys.keep_duties,
            Mode::Changes => ext.as_deref().is_some_and(|e| changed.contains(e)),
        };
        if keep.contains(id) || !gone {
            continue;
        }
        let ended = gone_end(today, *start);
        if needs_end(*end, ended) {
            diesel::update(duties::table.find(*id))
                .set(duties::end_date.eq(ended))
                .execute(conn)?;
            sum.ended += 1;
        }
    }

    Ok(())
}

/// Activities, with exactly their groups and teachers.
fn activities(
    conn: &mut DbConn,
    r: &Roster,
    keys: &Keys,
    now: NaiveDateTime,
    sum: &mut Summary,
) -> QueryResult<Ids> {
    type ActivityValues = (String, String, String, String, i64);
    let act_rows = existing::<ActivityValues>(
        conn,
        r.activities.iter().map(|a| a.ext.clone()).collect(),
        |c, chunk| {
            activities::table
                .filter(activities::external_id.eq_any(chunk))
                .select((
                    activities::external_id,
                    activities::id,
                    (
                        activities::display_name,
                        activities::subject_code,
                        activities::subject_name,
                        activities::activity_type,
                        activities::school_id,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut acts = ids(&act_rows);
    let mut new = Vec::new();
    for a in &r.activities {
        let school = keys.orgs.get(&a.school).copied().unwrap_or_default();
        let want: ActivityValues = (
            a.name.clone(),
            a.subject_code.clone(),
            a.subject_name.clone(),
            a.kind.to_string(),
            school,
        );
        match act_rows.get(&a.ext) {
            Some((_, have)) if *have == want => {}
            Some(&(id, _)) => {
                sum.updated += diesel::update(activities::table.find(id))
                    .set((
                        activities::display_name.eq(&a.name),
                        activities::subject_code.eq(&a.subject_code),
                        activities::subject_name.eq(&a.subject_name),
                        activities::activity_type.eq(a.kind),
                        activities::school_id.eq(school),
                    ))
                    .execute(conn)?;
            }
            None => new.push((
                activities::school_id.eq(school),
                activities::display_name.eq(&a.name),
                activities::subject_code.eq(&a.subject_code),
                activities::subject_name.eq(&a.subject_name),
                activities::activity_type.eq(a.kind),
                activities::external_id.eq(&a.ext),
                activities::uuid.eq(source_uuid(&a.ext)?),
                activities::created_at.eq(now),
            )),
        }
    }
    sum.inserted += insert_batched!(conn, activities::table, new);
    let added: Vec<String> = r
        .activities
        .iter()
        .filter(|a| !acts.contains_key(&a.ext))
        .map(|a| a.ext.clone())
        .collect();
    acts.extend(lookup(conn, added, Table::Activities)?);
    let mut groups = Vec::new();
    let mut teachers = Vec::new();
    for a in &r.activities {
        let Some(&id) = acts.get(&a.ext) else {
            continue;
        };
        let of = |refs: &[String], ids: &Ids| -> HashSet<i64> {
            refs.iter().filter_map(|x| ids.get(x).copied()).collect()
        };
        groups.push((id, of(&a.groups, keys.groups)));
        teachers.push((id, of(&a.teachers, keys.persons)));
    }
    let removes = keys.removes_missing();
    sync_links(conn, &groups, false, removes, keys.kept_groups, sum)?;
    sync_links(conn, &teachers, true, removes, keys.kept_people, sum)?;
    Ok(acts)
}

/// Lessons (calendar events) of the imported activities.
fn lessons(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    acts: &Ids,
    sum: &mut Summary,
) -> QueryResult<()> {
    type LessonValues = (i64, NaiveDate, NaiveTime, NaiveTime, i32, bool);
    // the stored values and, for a lesson cancelled or given back by hand on the day page,
    // what the source said then (src/day_changes.rs)
    type Stored = (
        i64,
        NaiveDate,
        NaiveTime,
        NaiveTime,
        i32,
        bool,
        Option<bool>,
    );
    let lesson_rows = existing::<Stored>(
        conn,
        r.events.iter().map(|e| e.ext.clone()).collect(),
        |c, chunk| {
            lessons::table
                .filter(lessons::external_id.eq_any(chunk))
                .select((
                    lessons::external_id,
                    lessons::id,
                    (
                        lessons::activity_id,
                        lessons::lesson_date,
                        lessons::starts_at,
                        lessons::ends_at,
                        lessons::teaching_minutes,
                        lessons::cancelled,
                        lessons::source_cancelled,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut school_of: HashMap<&str, i64> = r
        .activities
        .iter()
        .filter_map(|a| Some((a.ext.as_str(), *orgs.get(&a.school)?)))
        .collect();
    // changes: lessons of activities stored earlier
    let stored: Vec<&str> = r
        .events
        .iter()
        .map(|e| e.activity.as_str())
        .filter(|a| !school_of.contains_key(a))
        .collect::<HashSet<&str>>()
        .into_iter()
        .collect();
    for chunk in stored.chunks(crate::db::CHUNK) {
        let rows: Vec<(Option<String>, i64)> = activities::table
            .filter(activities::external_id.eq_any(chunk))
            .select((activities::external_id, activities::school_id))
            .load(conn)?;
        for (ext, school) in rows {
            if let Some(a) = ext.and_then(|e| stored.iter().find(|s| **s == e).copied()) {
                school_of.insert(a, school);
            }
        }
    }
    let mut new = Vec::new();
    for e in &r.events {
        let Some(&activity) = acts.get(&e.activity) else {
            continue;
        };
        let school = school_of
            .get(e.activity.as_str())
            .copied()
            .unwrap_or_default();
        let (date, starts, ends) = (e.start.date(), e.start.time(), e.end.time());
        let want: LessonValues = (activity, date, starts, ends, e.minutes, e.cancelled);
        // the source's own view of the stored lesson: a change by hand stands while the
        // source says what it said before
        let source_view =
            |h: &Stored| -> LessonValues { (h.0, h.1, h.2, h.3, h.4, h.6.unwrap_or(h.5)) };
        match lesson_rows.get(&e.ext) {
            Some((_, have)) if source_view(have) == want => {}
            Some(&(id, _)) => {
                sum.updated += diesel::update(lessons::table.find(id))
                    .set((
                        lessons::activity_id.eq(activity),
                        lessons::school_id.eq(school),
                        lessons::lesson_date.eq(date),
                        lessons::starts_at.eq(starts),
                        lessons::ends_at.eq(ends),
                        lessons::teaching_minutes.eq(e.minutes),
                        lessons::cancelled.eq(e.cancelled),
                        lessons::source_cancelled.eq(None::<bool>),
                    ))
                    .execute(conn)?;
            }
            None => new.push(NewLesson {
                activity_id: activity,
                school_id: school,
                lesson_date: date,
                starts_at: starts,
                ends_at: ends,
                teaching_minutes: e.minutes,
                cancelled: e.cancelled,
                external_id: Some(&e.ext),
                uuid: Some(source_uuid(&e.ext)?),
            }),
        }
    }
    sum.inserted += match conn {
        // a year's timetable: COPY, in the binary format
        DbConn::Pg(c) => diesel::copy_from(lessons::table)
            .from_insertable(&new)
            .execute(c)?,
        DbConn::Sqlite(_) => insert_batched!(conn, lessons::table, new),
    };
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = lessons, treat_none_as_default_value = false)]
struct NewLesson<'a> {
    activity_id: i64,
    school_id: i64,
    lesson_date: NaiveDate,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    teaching_minutes: i32,
    cancelled: bool,
    external_id: Option<&'a str>,
    uuid: Option<String>,
}

/// A snapshot's missing lessons: an imported lesson of one of its schools, from today on
/// and inside the days its calendar covers, that it no longer holds is cancelled (a roll
/// call made is kept). Nothing is cancelled when an activity or a calendar event could not
/// be read. The schools touched.
fn cancel_missing(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    today: NaiveDate,
    sum: &mut Summary,
) -> QueryResult<Vec<i64>> {
    let Some((first, last)) = r.calendar else {
        return Ok(Vec::new());
    };
    if ["activities", "calendarEvents"]
        .iter()
        .any(|l| r.unread_lists.contains(l))
    {
        sum.notes_of_apply.push(
            "no lesson was cancelled for missing, since an activity or a calendar event could not be read"
                .to_string(),
        );
        return Ok(Vec::new());
    }
    let held: HashSet<&str> = r.events.iter().map(|e| e.ext.as_str()).collect();
    let schools = snapshot_schools(r, orgs);
    let mut missing: Vec<(i64, i64)> = Vec::new();
    for chunk in schools.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64, Option<String>)> = lessons::table
            .filter(lessons::school_id.eq_any(chunk))
            .filter(lessons::lesson_date.ge(first.max(today)))
            .filter(lessons::lesson_date.le(last))
            .filter(lessons::cancelled.eq(false))
            .filter(lessons::external_id.is_not_null())
            .select((lessons::id, lessons::school_id, lessons::external_id))
            .load(conn)?;
        missing.extend(
            rows.into_iter()
                .filter(|(_, _, ext)| ext.as_deref().is_some_and(|e| !held.contains(e)))
                .map(|(id, school, _)| (id, school)),
        );
    }
    let ids: Vec<i64> = missing.iter().map(|m| m.0).collect();
    for chunk in ids.chunks(crate::db::CHUNK) {
        sum.ended += diesel::update(lessons::table.filter(lessons::id.eq_any(chunk)))
            .set(lessons::cancelled.eq(true))
            .execute(conn)?;
    }
    Ok(missing.into_iter().map(|m| m.1).collect())
}

/// What the source names as gone and is not a person: a group's open memberships and
/// mentor duties end; a duty ends; an activity's lessons from today on, and a deleted
/// calendar event, are cancelled (a roll call made is kept). An organisation is never
/// ended by an import: the report says so. The schools touched.
fn end_gone(
    conn: &mut DbConn,
    r: &Roster,
    today: NaiveDate,
    sum: &mut Summary,
) -> QueryResult<Vec<i64>> {
    let yesterday = today - Duration::days(1);
    let mut schools = Vec::new();
    let g = &r.gone;
    for chunk in g.groups.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64)> = groups::table
            .filter(groups::external_id.eq_any(chunk))
            .select((groups::id, groups::school_id))
            .load(conn)?;
        for (group, school) in rows {
            schools.push(school);
            sum.ended += diesel::update(
                group_memberships::table
                    .filter(group_memberships::group_id.eq(group))
                    .filter(
                        group_memberships::end_date
                            .is_null()
                            .or(group_memberships::end_date.gt(yesterday)),
                    )
                    .filter(group_memberships::start_date.le(yesterday)),
            )
            .set(group_memberships::end_date.eq(yesterday))
            .execute(conn)?;
            sum.ended += diesel::update(
                duties::table
                    .filter(duties::group_id.eq(group))
                    .filter(
                        duties::end_date
                            .is_null()
                            .or(duties::end_date.gt(yesterday)),
                    )
                    .filter(duties::start_date.le(yesterday)),
            )
            .set(duties::end_date.eq(yesterday))
            .execute(conn)?;
        }
    }
    for chunk in g.duties.chunks(crate::db::CHUNK) {
        sum.ended += diesel::update(
            duties::table
                .filter(duties::external_id.eq_any(chunk))
                .filter(
                    duties::end_date
                        .is_null()
                        .or(duties::end_date.gt(yesterday)),
                )
                .filter(duties::start_date.le(yesterday)),
        )
        .set(duties::end_date.eq(yesterday))
        .execute(conn)?;
    }
    for chunk in g.activities.chunks(crate::db::CHUNK) {
        let acts: Vec<(i64, i64)> = activities::table
            .filter(activities::external_id.eq_any(chunk))
            .select((activities::id, activities::school_id))
            .load(conn)?;
        for (act, school) in acts {
            schools.push(school);
            sum.ended += diesel::update(
                lessons::table
                    .filter(lessons::activity_id.eq(act))
                    .filter(lessons::lesson_date.ge(today))
                    .filter(lessons::cancelled.eq(false)),
            )
            .set(lessons::cancelled.eq(true))
            .execute(conn)?;
        }
    }
    for chunk in g.events.chunks(crate::db::CHUNK) {
        schools.extend(
            lessons::table
                .filter(lessons::external_id.eq_any(chunk))
                .filter(lessons::cancelled.eq(false))
                .select(lessons::school_id)
                .load::<i64>(conn)?,
        );
        sum.ended += diesel::update(
            lessons::table
                .filter(lessons::external_id.eq_any(chunk))
                .filter(lessons::cancelled.eq(false)),
        )
        .set(lessons::cancelled.eq(true))
        .execute(conn)?;
    }
    Ok(schools)
}

/// Organisations (school units among them) the source deleted are kept with their
/// history: a school's pupils, groups and lessons end by their own deletions. The run's
/// report says which stored ones were named, so that nobody takes the silence for done.
fn note_gone_orgs(conn: &mut DbConn, r: &Roster, sum: &mut Summary) -> QueryResult<()> {
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

/// The schools a roster of changes writes to (for the statistics).
fn touched_schools(
    conn: &mut DbConn,
    r: &Roster,
    keys: &Keys,
    acts: &Ids,
) -> QueryResult<Vec<i64>> {
    let mut schools: Vec<i64> = r
        .groups
        .iter()
        .map(|g| &g.school)
        .chain(r.activities.iter().map(|a| &a.school))
        .filter_map(|ext| keys.orgs.get(ext).copied())
        .collect();
    let mut group_ids: Vec<i64> = r
        .memberships
        .iter()
        .filter_map(|m| keys.groups.get(&m.group).copied())
        .collect();
    group_ids.sort_unstable();
    group_ids.dedup();
    for chunk in group_ids.chunks(crate::db::CHUNK) {
        schools.extend(
            groups::table
                .filter(groups::id.eq_any(chunk))
                .select(groups::school_id)
                .load::<i64>(conn)?,
        );
    }
    let mut act_ids: Vec<i64> = r
        .events
        .iter()
        .filter_map(|e| acts.get(&e.activity).copied())
        .collect();
    act_ids.sort_unstable();
    act_ids.dedup();
    for chunk in act_ids.chunks(crate::db::CHUNK) {
        schools.extend(
            activities::table
                .filter(activities::id.eq_any(chunk))
                .select(activities::school_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(schools)
}

/// Rebuilds the statistics of the roster's schools over all their lessons.
fn refresh_statistics(conn: &mut DbConn, tz: Tz, school_ids: &[i64]) -> QueryResult<()> {
    for &school in school_ids {
        let (lo, hi): (Option<NaiveDate>, Option<NaiveDate>) = lessons::table
            .filter(lessons::school_id.eq(school))
            .select((
                diesel::dsl::min(lessons::lesson_date),
                diesel::dsl::max(lessons::lesson_date),
            ))
            .first(conn)?;
        if let (Some(lo), Some(hi)) = (lo, hi) {
            crate::insight::statistics::store::rebuild(conn, tz, school, lo, hi)?;
        }
    }
    Ok(())
}

type Ids = HashMap<String, i64>;

/// Rows already imported, by external id: (id, the values an import sets).
fn existing<T>(
    conn: &mut DbConn,
    exts: Vec<String>,
    load: impl Fn(&mut DbConn, &[String]) -> QueryResult<Vec<(Option<String>, i64, T)>>,
) -> QueryResult<HashMap<String, (i64, T)>> {
    let mut out = HashMap::new();
    for chunk in exts.chunks(crate::db::CHUNK) {
        for (ext, id, values) in load(conn, chunk)? {
            if let Some(e) = ext {
                out.insert(e, (id, values));
            }
        }
    }
    Ok(out)
}

fn ids(rows: &HashMap<String, (i64, impl Sized)>) -> Ids {
    rows.iter().map(|(k, v)| (k.clone(), v.0)).collect()
}

/// Sets each activity's groups (or teachers) to exactly `want`: adds what is missing;
/// removes what is no longer listed when `removes`, except what `kept` protects.
fn sync_links(
    conn: &mut DbConn,
    want: &[(i64, HashSet<i64>)],
    teachers: bool,
    removes: bool,
    kept: &HashSet<i64>,
    sum: &mut Summary,
) -> QueryResult<()> {
    let ids: Vec<i64> = want.iter().map(|(a, _)| *a).collect();
    let mut have: HashMap<i64, HashSet<i64>> = HashMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64)> = if teachers {
            activity_teachers::table
                .filter(activity_teachers::activity_id.eq_any(chunk))
                .select((
                    activity_teachers::activity_id,
                    activity_teachers::teacher_id,
                ))
                .load(conn)?
        } else {
            activity_groups::table
                .filter(activity_groups::activity_id.eq_any(chunk))
                .select((activity_groups::activity_id, activity_groups::group_id))
                .load(conn)?
        };
        for (a, x) in rows {
            have.entry(a).or_default().insert(x);
        }
    }
    let none = HashSet::new();
    let mut add = Vec::new();
    for (activity, wanted) in want {
        let had = have.get(activity).unwrap_or(&none);
        add.extend(wanted.difference(had).map(|&x| (*activity, x)));
        for &x in had
            .difference(wanted)
            .filter(|x| removes && !kept.contains(x))
        {
            sum.ended += if teachers {
                diesel::delete(
                    activity_teachers::table
                        .filter(activity_teachers::activity_id.eq(activity))
                        .filter(activity_teachers::teacher_id.eq(x)),
                )
                .execute(conn)?
            } else {
                diesel::delete(
                    activity_groups::table
                        .filter(activity_groups::activity_id.eq(activity))
                        .filter(activity_groups::group_id.eq(x)),
                )
                .execute(conn)?
            };
        }
    }
    sum.inserted += if teachers {
        let rows: Vec<_> = add
            .iter()
            .map(|&(a, t)| {
                (
                    activity_teachers::activity_id.eq(a),
                    activity_teachers::teacher_id.eq(t),
                )
            })
            .collect();
        insert_batched!(conn, activity_teachers::table, rows)
    } else {
        let rows: Vec<_> = add
            .iter()
            .map(|&(a, g)| {
                (
                    activity_groups::activity_id.eq(a),
                    activity_groups::group_id.eq(g),
                )
            })
            .collect();
        insert_batched!(conn, activity_groups::table, rows)
    };
    Ok(())
}

/// Organisations with no parent first, so a school's municipality exists before it.
fn parents_first(orgs: &[Org]) -> Vec<&Org> {
    let mut ordered: Vec<&Org> = orgs.iter().filter(|o| o.parent.is_none()).collect();
    ordered.extend(orgs.iter().filter(|o| o.parent.is_some()));
    ordered
}

/// When a membership or duty that started on `start` and is gone from the source ends:
/// yesterday, never before it started.
fn gone_end(today: NaiveDate, start: NaiveDate) -> NaiveDate {
    (today - Duration::days(1)).max(start)
}

/// A membership gone from the source ends yesterday, or the day before the same pupil's
/// new membership of the group starts (`restart`, when later than `start`); never before
/// it started.
fn gone_membership_end(
    today: NaiveDate,
    start: NaiveDate,
    restart: Option<NaiveDate>,
) -> NaiveDate {
    let mut ended = today - Duration::days(1);
    if let Some(new_start) = restart.filter(|d| *d > start) {
        ended = ended.min(new_start - Duration::days(1));
    }
    ended.max(start)
}

/// Whether a row with end date `end` must be ended on `ended`: it runs longer (or open).
fn needs_end(end: Option<NaiveDate>, ended: NaiveDate) -> bool {
    end.is_none_or(|e| e > ended)
}

/// A guardianship: (pupil, guardian).
type Link = (i64, i64);

/// Guardianships to add (in the source, not stored) and to remove (stored, gone from the
/// source), as (pupil, guardian). Only pupils the source speaks of (`in_source`) lose a
/// guardian: a roster about one school leaves other schools' families alone.
fn guardianship_changes(
    wanted: &HashSet<(i64, i64)>,
    linked: &HashSet<(i64, i64)>,
    in_source: &HashSet<i64>,
) -> (Vec<Link>, Vec<Link>) {
    let mut add: Vec<(i64, i64)> = wanted.difference(linked).copied().collect();
    let mut remove: Vec<(i64, i64)> = linked
        .difference(wanted)
        .filter(|(pupil, _)| in_source.contains(pupil))
        .copied()
        .collect();
    add.sort_unstable();
    remove.sort_unstable();
    (add, remove)
}

/// The uuid a record an import brings is stored with (`ss12000::uuid::of_source`).
fn source_uuid(ext: &str) -> QueryResult<String> {
    crate::interop::ss12000::uuid::of_source(ext)
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn org(ext: &str, parent: Option<&str>) -> Org {
        Org {
            ext: ext.into(),
            parent: parent.map(str::to_string),
            kind: if parent.is_some() {
                "school"
            } else {
                "municipality"
            },
            name: ext.into(),
            school_form: None,
            unit_code: None,
        }
    }

    #[test]
    fn municipalities_come_before_their_schools_whatever_the_file_order() {
        let orgs = [org("s1", Some("m")), org("m", None), org("s2", Some("m"))];
        let order: Vec<&str> = parents_first(&orgs)
            .iter()
            .map(|o| o.ext.as_str())
            .collect();
        assert_eq!(order, ["m", "s1", "s2"]);
    }

    #[test]
    fn what_is_gone_ends_yesterday_but_never_before_it_began() {
        let today = day("2026-11-30");
        assert_eq!(gone_end(today, day("2026-08-17")), day("2026-11-29"));
        // a membership that was to start today ends the day it starts: it never ran
        assert_eq!(gone_end(today, day("2026-11-30")), day("2026-11-30"));
        assert_eq!(gone_end(today, day("2027-01-08")), day("2027-01-08"));
    }

    #[test]
    fn a_membership_that_restarts_ends_the_day_before_the_new_one() {
        let today = day("2026-11-30");
        let start = day("2026-08-17");
        assert_eq!(gone_membership_end(today, start, None), day("2026-11-29"));
        // moved to a new membership from 1 November: the old one ended 31 October
        assert_eq!(
            gone_membership_end(today, start, Some(day("2026-11-01"))),
            day("2026-10-31")
        );
        // a new membership starting later than yesterday changes nothing
        assert_eq!(
            gone_membership_end(today, start, Some(day("2027-01-08"))),
            day("2026-11-29")
        );
        // a "restart" before this one's start is not a restart of it
        assert_eq!(
            gone_membership_end(today, start, Some(day("2026-01-10"))),
            day("2026-11-29")
        );
    }

    #[test]
    fn only_rows_running_past_the_end_are_ended() {
        let ended = day("2026-11-29");
        assert!(needs_end(None, ended));
        assert!(needs_end(Some(day("2027-06-15")), ended));
        assert!(!needs_end(Some(ended), ended));
        assert!(
            !needs_end(Some(day("2026-10-01")), ended),
            "already ended earlier"
        );
    }

    #[test]
    fn guardianships_change_only_for_pupils_the_source_speaks_of() {
        let wanted: HashSet<(i64, i64)> = [(1, 10), (1, 11), (2, 20)].into();
        let linked: HashSet<(i64, i64)> = [(1, 10), (1, 12), (3, 30)].into();
        let in_source: HashSet<i64> = [1, 2].into();
        let (add, remove) = guardianship_changes(&wanted, &linked, &in_source);
        assert_eq!(add, vec![(1, 11), (2, 20)]);
        // (3, 30): pupil 3 is not in this roster, so their guardian stays
        assert_eq!(remove, vec![(1, 12)]);
        let same = guardianship_changes(&wanted, &wanted, &in_source);
        assert_eq!(same, (vec![], vec![]));
    }
}
