//! How the export names the records it refers to: `{"id": uuid}`, with `displayName`
//! when the client asks for `expandReferenceNames=true`, and a person's `securityMarking`
//! (the standard's `PersonReference`), so that a client knows whose address and name to
//! protect. `resolve` reads such an id back in a filter.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::{json, Value};

use super::uuid;
use crate::db::DbConn;
use crate::db::CHUNK;
use crate::error::AppResult;
use crate::schema::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ref {
    Person,
    Org,
    Lesson,
    Activity,
}

impl Ref {
    const ALL: [Ref; 4] = [Ref::Person, Ref::Org, Ref::Lesson, Ref::Activity];

    fn tag(self) -> u8 {
        match self {
            Ref::Person => 1,
            Ref::Org => 2,
            Ref::Lesson => 3,
            Ref::Activity => 4,
        }
    }
}

/// A record's uuid, name and (people) security marking.
#[derive(Debug, Clone)]
struct Named {
    uuid: String,
    name: String,
    marking: Option<&'static str>,
}

/// The standard's `securityMarking` for Närvaro's `people.security_marking`.
fn marking(stored: &str) -> &'static str {
    match stored {
        "protected" => "Skyddad folkbokföring",
        "confidential" => "Sekretessmarkering",
        _ => "Ingen",
    }
}

/// A person's SS 12000 id as the export names them: the stored uuid, else the stand-in.
pub fn person_id(id: i64, stored: Option<&str>) -> String {
    stored.map_or_else(|| uuid::stand_in(Ref::Person.tag(), id), str::to_string)
}

/// The references of a page, loaded in one go per kind.
#[derive(Default)]
pub struct Refs {
    named: HashMap<(Ref, i64), Named>,
    names: bool,
}

impl Refs {
    /// Loads these records' uuids (and names, for `expandReferenceNames`).
    pub fn load(conn: &mut DbConn, wanted: &[(Ref, i64)], names: bool) -> AppResult<Refs> {
        let mut out = Refs {
            names,
            ..Refs::default()
        };
        for kind in Ref::ALL {
            let mut ids: Vec<i64> = wanted
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, id)| *id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(CHUNK) {
                for (id, named) in load_chunk(conn, kind, chunk, names)? {
                    out.named.insert((kind, id), named);
                }
            }
        }
        Ok(out)
    }

    /// The uuid of a record.
    pub fn uuid(&self, kind: Ref, id: impl Into<i64>) -> String {
        let id = id.into();
        self.named
            .get(&(kind, id))
            .map(|n| n.uuid.clone())
            .unwrap_or_else(|| uuid::stand_in(kind.tag(), id))
    }

    /// `{"id": …}` for a record, with `displayName` when asked for and a person's
    /// `securityMarking`.
    pub fn of(&self, kind: Ref, id: impl Into<i64>) -> Value {
        let id = id.into();
        let mut out = json!({ "id": self.uuid(kind, id) });
        if let Some(n) = self.named.get(&(kind, id)) {
            if self.names {
                out["displayName"] = n.name.clone().into();
            }
            if let Some(m) = n.marking {
                out["securityMarking"] = m.into();
            }
        }
        out
    }
}

/// A chunk of one kind's records; a lesson's name (its activity's) only when asked for,
/// since naming it takes a join on every page of attendances.
fn load_chunk(
    conn: &mut DbConn,
    kind: Ref,
    chunk: &[i64],
    names: bool,
) -> AppResult<Vec<(i64, Named)>> {
    let plain = |rows: Vec<(i64, Option<String>, String)>| {
        rows.into_iter()
            .map(|(id, u, name)| {
                let uuid = u.unwrap_or_else(|| uuid::stand_in(kind.tag(), id));
                (
                    id,
                    Named {
                        uuid,
                        name,
                        marking: None,
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    Ok(match kind {
        Ref::Person => people::table
            .filter(people::id.eq_any(chunk))
            .select((
                people::id,
                people::uuid,
                people::given_name,
                people::family_name,
                people::security_marking,
            ))
            .load::<(i64, Option<String>, String, String, String)>(conn)?
            .into_iter()
            .map(|(id, u, given, family, m)| {
                let uuid = u.unwrap_or_else(|| uuid::stand_in(kind.tag(), id));
                let name = format!("{given} {family}");
                let marking = Some(marking(&m));
                (
                    id,
                    Named {
                        uuid,
                        name,
                        marking,
                    },
                )
            })
            .collect(),
        Ref::Org => plain(
            organisations::table
                .filter(organisations::id.eq_any(chunk))
                .select((organisations::id, organisations::uuid, organisations::name))
                .load(conn)?,
        ),
        Ref::Lesson if names => plain(
            lessons::table
                .inner_join(activities::table)
                .filter(lessons::id.eq_any(chunk))
                .select((lessons::id, lessons::uuid, activities::display_name))
                .load(conn)?,
        ),
        Ref::Lesson => plain(
            lessons::table
                .filter(lessons::id.eq_any(chunk))
                .select((lessons::id, lessons::uuid))
                .load::<(i64, Option<String>)>(conn)?
                .into_iter()
                .map(|(id, u)| (id, u, String::new()))
                .collect(),
        ),
        Ref::Activity => plain(
            activities::table
                .filter(activities::id.eq_any(chunk))
                .select((activities::id, activities::uuid, activities::display_name))
                .load(conn)?,
        ),
    })
}

/// The record a filter names by its uuid; `None` when there is none.
pub fn resolve(conn: &mut DbConn, kind: Ref, id: &str) -> AppResult<Option<i64>> {
    let id = id.to_string();
    Ok(match kind {
        Ref::Person => people::table
            .filter(people::uuid.eq(id))
            .select(people::id)
            .first(conn)
            .optional()?,
        Ref::Org => organisations::table
            .filter(organisations::uuid.eq(id))
            .select(organisations::id)
            .first(conn)
            .optional()?,
        Ref::Lesson => lessons::table
            .filter(lessons::uuid.eq(id))
            .select(lessons::id)
            .first(conn)
            .optional()?,
        Ref::Activity => activities::table
            .filter(activities::uuid.eq(id))
            .select(activities::id)
            .first(conn)
            .optional()?,
    })
}
