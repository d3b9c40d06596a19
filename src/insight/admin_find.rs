//! Finding people and groups by name, for the administrator's forms: pupils, guardians,
//! staff and classes of the schools the administrator administers, nobody else. A search is
//! one or more words; each must occur in the name (any case, å ä ö included), so "berg 7"
//! finds Anna Berg in 7A. At most [`LIMIT`] of each kind, by surname.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::{GroupId, OrganisationId, PersonId, PupilId, SchoolId};

/// Rows of each kind a search answers.
pub const LIMIT: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPupil {
    pub id: PupilId,
    pub name: String,
    /// the pupil's classes today, "7A" or "7A, 7A-språk"
    pub class: Option<String>,
    pub school: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPerson {
    pub id: PersonId,
    pub name: String,
    /// a guardian's e-mail address; a member of staff's username
    pub handle: Option<String>,
    /// a guardian's children (given names), a member of staff's schools
    pub about: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundGroup {
    pub id: GroupId,
    pub name: String,
    pub school_id: SchoolId,
    pub school: String,
}

/// What a search found.
#[derive(Debug, Default)]
pub struct Found {
    pub pupils: Vec<FoundPupil>,
    pub guardians: Vec<FoundPerson>,
    pub staff: Vec<FoundPerson>,
    pub groups: Vec<FoundGroup>,
}

impl Found {
    pub fn is_empty(&self) -> bool {
        self.pupils.is_empty()
            && self.guardians.is_empty()
            && self.staff.is_empty()
            && self.groups.is_empty()
    }
}

/// The words of a search: lower case, at most five, each at most 50 characters. `None` for
/// a search with no word in it.
pub fn words(q: &str) -> Option<Vec<String>> {
    let w: Vec<String> = q
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .take(5)
        .map(|w| w.chars().take(50).collect::<String>().to_lowercase())
        .collect();
    (!w.is_empty()).then_some(w)
}

/// Whether every word occurs in one of `texts`, without regard to case.
fn matches(words: &[String], texts: &[&str]) -> bool {
    let hay: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    words
        .iter()
        .all(|w| hay.iter().any(|h| h.contains(w.as_str())))
}

/// LIKE patterns that find a word in the database before the exact test in Rust: the word
/// as typed in lower case, Capitalised and in UPPER case (SQLite's LIKE ignores case for
/// a–z only, PostgreSQL's not at all), with `%` and `_` escaped.
fn patterns(word: &str) -> [String; 3] {
    let escaped: String = word
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let mut cap = String::new();
    let mut chars = escaped.chars();
    if let Some(first) = chars.next() {
        cap.extend(first.to_uppercase());
        cap.push_str(chars.as_str());
    }
    [
        format!("%{escaped}%"),
        format!("%{cap}%"),
        format!("%{}%", escaped.to_uppercase()),
    ]
}

fn schools(conn: &mut DbConn, v: &Viewer) -> AppResult<HashMap<SchoolId, String>> {
    Ok(access::admin_schools(conn, v)?.into_iter().collect())
}

/// Rows of `query(patterns)` for each word's patterns, each row once, in the order of
/// `key`: a word may be a class or a school, so any word may be the one in the name.
fn by_any_word<R, K: Ord>(
    words: &[String],
    mut query: impl FnMut(&[String; 3]) -> AppResult<Vec<R>>,
    key: impl Fn(&R) -> K,
) -> AppResult<Vec<R>> {
    let mut rows: std::collections::BTreeMap<K, R> = std::collections::BTreeMap::new();
    for w in words {
        for r in query(&patterns(w))? {
            rows.entry(key(&r)).or_insert(r);
        }
    }
    Ok(rows.into_values().collect())
}

/// Searches pupils, guardians, staff and groups of the administrator's schools.
pub fn search(
    conn: &mut DbConn,
    v: &Viewer,
    words: &[String],
    today: NaiveDate,
) -> AppResult<Found> {
    let schools = schools(conn, v)?;
    if schools.is_empty() || words.is_empty() {
        return Ok(Found::default());
    }
    let ids: Vec<SchoolId> = schools.keys().copied().collect();
    Ok(Found {
        pupils: pupils(conn, &schools, &ids, words, today)?,
        guardians: guardians(conn, &ids, words)?,
        staff: staff(conn, v, &schools, words, today)?,
        groups: groups(conn, &schools, &ids, words)?,
    })
}

/// People's full names LIKE one of a word's patterns.
macro_rules! name_like {
    ($p:expr) => {{
        let name = people::given_name.concat(" ").concat(people::family_name);
        let [a, b, c]: &[String; 3] = $p;
        name.like(a.clone())
            .escape('\\')
            .or(name.like(b.clone()).escape('\\'))
            .or(name.like(c.clone()).escape('\\'))
    }};
}

/// Pupils: people with a school of the administrator's.
fn pupils(
    conn: &mut DbConn,
    schools: &HashMap<SchoolId, String>,
    ids: &[SchoolId],
    words: &[String],
    today: NaiveDate,
) -> AppResult<Vec<FoundPupil>> {
    let sort = |r: &(PupilId, String, String, SchoolId)| (r.2.clone(), r.1.clone(), r.0);
    let rows = by_any_word(
        words,
        |p| {
            Ok(people::table
                .filter(people::school_id.eq_any(ids))
                .filter(people::active.eq(true))
                .filter(name_like!(p))
                .select((
                    people::id,
                    people::given_name,
                    people::family_name,
                    people::school_id.assume_not_null(),
                ))
                .limit(500)
                .load(conn)?)
        },
        sort,
    )?;
    let pupil_ids: Vec<PupilId> = rows.iter().map(|r| r.0).collect();
    let classes = crate::insight::statistics::overview::classes_on(conn, &pupil_ids, today)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, given, family, school)| {
            let class = classes.get(&id).cloned();
            let school = schools.get(&school).cloned().unwrap_or_default();
            let texts = [
                given.as_str(),
                &family,
                class.as_deref().unwrap_or(""),
                &school,
            ];
            matches(words, &texts).then(|| FoundPupil {
                id,
                name: format!("{given} {family}"),
                class,
                school,
            })
        })
        .take(LIMIT)
        .collect())
}

/// Guardians: people who are guardian to a pupil of those schools.
fn guardians(conn: &mut DbConn, ids: &[SchoolId], words: &[String]) -> AppResult<Vec<FoundPerson>> {
    let rows = by_any_word(
        words,
        |p| {
            let child = diesel::alias!(people as child);
            let of_pupils = child
                .filter(child.field(people::school_id).eq_any(ids.to_vec()))
                .select(child.field(people::id));
            let guardian_ids = guardianships::table
                .filter(guardianships::pupil_id.eq_any(of_pupils))
                .select(guardianships::guardian_id);
            Ok(people::table
                .filter(people::id.eq_any(guardian_ids))
                .filter(name_like!(p))
                .select((
                    people::id,
                    people::given_name,
                    people::family_name,
                    people::email,
                ))
                .limit(500)
                .load::<(PersonId, String, String, Option<String>)>(conn)?)
        },
        |r| (r.2.clone(), r.1.clone(), r.0),
    )?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(_, g, f, _)| matches(words, &[g, f]))
        .take(LIMIT)
        .collect();
    let children = children_of(conn, &rows.iter().map(|r| r.0).collect::<Vec<_>>(), ids)?;
    Ok(rows
        .into_iter()
        .map(|(id, given, family, email)| FoundPerson {
            id,
            name: format!("{given} {family}"),
            handle: email,
            about: children.get(&id).cloned().unwrap_or_default(),
        })
        .collect())
}

/// Staff: people with a running duty at one of those schools or at their municipality,
/// once each with the schools named.
fn staff(
    conn: &mut DbConn,
    v: &Viewer,
    schools: &HashMap<SchoolId, String>,
    words: &[String],
    today: NaiveDate,
) -> AppResult<Vec<FoundPerson>> {
    let places: HashMap<OrganisationId, &String> = schools
        .iter()
        .map(|(s, name)| ((*s).into(), name))
        .collect();
    let mut orgs: Vec<OrganisationId> = places.keys().copied().collect();
    orgs.extend(v.roles.admin_of.iter().copied());
    let rows = by_any_word(
        words,
        |p| {
            Ok(people::table
                .inner_join(duties::table.on(duties::person_id.eq(people::id)))
                .filter(duties::organisation_id.eq_any(&orgs))
                .filter(crate::school::duty::not_ended_by(today))
                .filter(people::active.eq(true))
                .filter(name_like!(p))
                .select((
                    people::id,
                    people::given_name,
                    people::family_name,
                    people::username,
                    duties::organisation_id,
                    duties::id,
                ))
                .limit(500)
                .load::<(
                    PersonId,
                    String,
                    String,
                    Option<String>,
                    OrganisationId,
                    i64,
                )>(conn)?)
        },
        |r| (r.2.clone(), r.1.clone(), r.0, r.5),
    )?;
    let mut staff: Vec<FoundPerson> = Vec::new();
    for (id, given, family, username, org, _) in rows {
        if !matches(words, &[&given, &family, username.as_deref().unwrap_or("")]) {
            continue;
        }
        let place = places.get(&org).map(|s| (*s).clone());
        if let Some(p) = staff.iter_mut().find(|p| p.id == id) {
            if let Some(place) = place.filter(|s| !p.about.split(", ").any(|a| a == s)) {
                if !p.about.is_empty() {
                    p.about.push_str(", ");
                }
                p.about.push_str(&place);
            }
        } else if staff.len() < LIMIT {
            staff.push(FoundPerson {
                id,
                name: format!("{given} {family}"),
                handle: username,
                about: place.unwrap_or_default(),
            });
        }
    }

    Ok(staff)
}

/// Classes and groups: the words may name the group and its school.
fn groups(
    conn: &mut DbConn,
    schools: &HashMap<SchoolId, String>,
    ids: &[SchoolId],
    words: &[String],
) -> AppResult<Vec<FoundGroup>> {
    let rows: Vec<(GroupId, String, SchoolId)> = groups::table
        .filter(groups::school_id.eq_any(ids))
        .select((groups::id, groups::name, groups::school_id))
        .order((groups::name, groups::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, school_id)| {
            let school = schools.get(&school_id).cloned().unwrap_or_default();
            matches(words, &[&name, &school]).then_some(FoundGroup {
                id,
                name,
                school_id,
                school,
            })
        })
        .take(LIMIT)
        .collect())
}

/// Each guardian's children at the given schools, by given name.
fn children_of(
    conn: &mut DbConn,
    guardians: &[PersonId],
    schools: &[SchoolId],
) -> AppResult<HashMap<PersonId, String>> {
    let rows: Vec<(PersonId, String)> = guardianships::table
        .inner_join(people::table.on(people::id.eq(guardianships::pupil_id)))
        .filter(guardianships::guardian_id.eq_any(guardians))
        .filter(people::school_id.eq_any(schools))
        .select((guardianships::guardian_id, people::given_name))
        .order((guardianships::guardian_id, people::given_name))
        .load(conn)?;
    let mut out: HashMap<PersonId, String> = HashMap::new();
    for (g, child) in rows {
        out.entry(g)
            .and_modify(|c| {
                c.push_str(", ");
                c.push_str(&child);
            })
            .or_insert(child);
    }
    Ok(out)
}

/// A pupil of the administrator's schools, by id.
pub fn pupil(
    conn: &mut DbConn,
    v: &Viewer,
    id: PupilId,
    today: NaiveDate,
) -> AppResult<Option<FoundPupil>> {
    let schools = schools(conn, v)?;
    let row: Option<(String, String, Option<SchoolId>)> = people::table
        .find(id)
        .filter(people::active.eq(true))
        .select((people::given_name, people::family_name, people::school_id))
        .first(conn)
        .optional()?;
    let Some((given, family, Some(school))) = row else {
        return Ok(None);
    };
    let Some(school) = schools.get(&school).cloned() else {
        return Ok(None);
    };
    let class = crate::insight::statistics::overview::classes_on(conn, &[id], today)?.remove(&id);
    Ok(Some(FoundPupil {
        id,
        name: format!("{given} {family}"),
        class,
        school,
    }))
}

/// A class or group of the administrator's schools, by id.
pub fn group(conn: &mut DbConn, v: &Viewer, id: GroupId) -> AppResult<Option<FoundGroup>> {
    let schools = schools(conn, v)?;
    let row: Option<(String, SchoolId)> = groups::table
        .find(id)
        .select((groups::name, groups::school_id))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(name, school_id)| {
        schools.get(&school_id).map(|school| FoundGroup {
            id,
            name,
            school_id,
            school: school.clone(),
        })
    }))
}

/// The search for a person's own name, to read a guardian or member of staff chosen
/// earlier within the same reach as the search.
fn by_own_name(conn: &mut DbConn, v: &Viewer, id: PersonId, today: NaiveDate) -> AppResult<Found> {
    let row: Option<(String, String)> = people::table
        .find(id)
        .select((people::given_name, people::family_name))
        .first(conn)
        .optional()?;
    match row.and_then(|(given, family)| words(&format!("{given} {family}"))) {
        Some(words) => search(conn, v, &words, today),
        None => Ok(Found::default()),
    }
}

/// A guardian of a pupil of the administrator's schools, by id.
pub fn guardian(
    conn: &mut DbConn,
    v: &Viewer,
    id: PersonId,
    today: NaiveDate,
) -> AppResult<Option<FoundPerson>> {
    let found = by_own_name(conn, v, id, today)?;
    Ok(found.guardians.into_iter().find(|p| p.id == id))
}

/// A member of staff with a running duty in the administrator's schools, by id.
pub fn staff_member(
    conn: &mut DbConn,
    v: &Viewer,
    id: PersonId,
    today: NaiveDate,
) -> AppResult<Option<FoundPerson>> {
    let found = by_own_name(conn, v, id, today)?;
    Ok(found.staff.into_iter().find(|p| p.id == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_up_to_five_lower_case_words() {
        assert_eq!(
            words("  Åsa  BERG "),
            Some(vec!["åsa".into(), "berg".into()])
        );
        assert_eq!(words("Berg, 7A"), Some(vec!["berg".into(), "7a".into()]));
        assert_eq!(words(" \t "), None);
        assert_eq!(words("a b c d e f g").map(|w| w.len()), Some(5));
        assert_eq!(words(&"x".repeat(80)).map(|w| w[0].len()), Some(50));
    }

    #[test]
    fn every_word_must_occur_in_a_name_whatever_its_case() {
        let w = words("öst an").unwrap_or_default();
        assert!(matches(&w, &["Anna", "Östlund"]));
        assert!(!matches(&w, &["Anna", "Berg"]));
        assert!(matches(&words("ÅSA").unwrap_or_default(), &["åsa", "x"]));
    }

    #[test]
    fn patterns_escape_wildcards_and_try_three_cases() {
        assert_eq!(
            patterns("öst"),
            ["%öst%".to_string(), "%Öst%".into(), "%ÖST%".into()]
        );
        assert_eq!(
            patterns("50%_"),
            [
                "%50\\%\\_%".to_string(),
                "%50\\%\\_%".into(),
                "%50\\%\\_%".into()
            ]
        );
    }
}
