//! The administrator's search: pupils, guardians, staff and classes by name, in a plain
//! GET form that works without JavaScript. A result's "Välj" link carries the choice into
//! the forms below it (`?pupil=`, `?guardian=`, `?staff=`, `?group=`), keeping the earlier
//! choices and the search, so a guardian, a pupil and a class can be chosen one after another.

use maud::{html, Markup};
use serde::Deserialize;

use super::layout::PageCtx;
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::insight::admin_find::{self, Found, FoundGroup, FoundPerson, FoundPupil};
use crate::school::ids::SchoolId;

/// The page's query: the search and the choices so far. Anything that is not a whole
/// number is no choice.
#[derive(Deserialize, Default, Clone)]
pub struct Picks {
    pub done: Option<String>,
    pub q: Option<String>,
    pub pupil: Option<String>,
    pub guardian: Option<String>,
    pub staff: Option<String>,
    pub group: Option<String>,
    /// a refused form's username and school, to show them again
    pub username: Option<String>,
    pub school: Option<String>,
}

fn id<T: std::str::FromStr>(raw: &Option<String>) -> Option<T> {
    raw.as_deref().and_then(|s| s.trim().parse().ok())
}

impl Picks {
    /// The school a refused form named, if any.
    pub fn school(&self) -> Option<SchoolId> {
        id(&self.school)
    }

    /// The query that keeps these choices with one changed (`None` drops it), and the
    /// fragment to land on.
    fn href(&self, key: &str, value: Option<i64>, anchor: &str) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            pairs.push(("q", q.to_string()));
        }
        for (k, v) in [
            ("pupil", id::<i64>(&self.pupil)),
            ("guardian", id(&self.guardian)),
            ("staff", id(&self.staff)),
            ("group", id(&self.group)),
        ] {
            let v = if k == key { value } else { v };
            if let Some(v) = v {
                pairs.push((k, v.to_string()));
            }
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("/admin?{query}#{anchor}")
    }

    /// The hidden fields that carry the choices through a new search.
    fn hidden(&self) -> Markup {
        html! {
            @for (k, v) in [("pupil", id::<i64>(&self.pupil)), ("guardian", id(&self.guardian)), ("staff", id(&self.staff)), ("group", id(&self.group))] {
                @if let Some(v) = v { input type="hidden" name=(k) value=(v); }
            }
        }
    }
}

/// What the page shows of the choices and the search, read within the administrator's
/// reach (a choice outside it is no choice).
#[derive(Default)]
pub struct Chosen {
    pub picks: Picks,
    pub found: Option<Found>,
    pub pupil: Option<FoundPupil>,
    pub guardian: Option<FoundPerson>,
    pub staff: Option<FoundPerson>,
    pub group: Option<FoundGroup>,
}

impl Chosen {
    pub fn load(
        conn: &mut DbConn,
        v: &Viewer,
        picks: Picks,
        today: chrono::NaiveDate,
    ) -> AppResult<Chosen> {
        let found = match picks.q.as_deref().and_then(admin_find::words) {
            Some(words) => Some(admin_find::search(conn, v, &words, today)?),
            None => None,
        };
        let pupil = match id(&picks.pupil) {
            Some(p) => admin_find::pupil(conn, v, p, today)?,
            None => None,
        };
        let guardian = match id(&picks.guardian) {
            Some(p) => admin_find::guardian(conn, v, p, today)?,
            None => None,
        };
        let staff = match id(&picks.staff) {
            Some(p) => admin_find::staff_member(conn, v, p, today)?,
            None => None,
        };
        let group = match id(&picks.group) {
            Some(g) => admin_find::group(conn, v, g)?,
            None => None,
        };
        Ok(Chosen {
            picks,
            found,
            pupil,
            guardian,
            staff,
            group,
        })
    }
}

/// The search card.
pub fn search_card(ctx: &PageCtx, c: &Chosen) -> Markup {
    let q = c.picks.q.clone().unwrap_or_default();
    html! {
        section.card #find aria-labelledby="find-h" {
            h2 #find-h { (ctx.t("Sök elev, vårdnadshavare, personal eller klass", "Find a pupil, guardian, member of staff or class")) }
            form method="get" action="/admin#find" role="search" {
                label for="q" { (ctx.t("Namn (eller klass, skola)", "Name (or class, school)")) }
                div.row-inline {
                    input #q name="q" type="search" value=(q) maxlength="200" autocomplete="off";
                    button type="submit" { (ctx.t("Sök", "Search")) }
                }
                (c.picks.hidden())
            }
            @if let Some(found) = &c.found { (results(ctx, &c.picks, found)) }
        }
    }
}

fn results(ctx: &PageCtx, picks: &Picks, f: &Found) -> Markup {
    let choose = ctx.t("Välj", "Choose");
    html! {
        @if f.is_empty() {
            p role="status" { (ctx.t("Ingen träff. Pröva en del av namnet, till exempel efternamnet.", "No match. Try part of the name, the family name for example.")) }
        }
        @if !f.pupils.is_empty() {
            h3 { (ctx.t("Elever", "Pupils")) }
            ul.found {
                @for p in &f.pupils {
                    li {
                        span { (p.name) " · " @if let Some(c) = &p.class { (c) ", " } (p.school) }
                        (extract_link(ctx, p.id, &p.name))
                        a href=(picks.href("pupil", Some(p.id.into()), "guardian")) aria-label=(format!("{choose}: {}", p.name)) { (choose) }
                    }
                }
            }
        }
        @if !f.guardians.is_empty() {
            h3 { (ctx.t("Vårdnadshavare", "Guardians")) }
            ul.found {
                @for g in &f.guardians {
                    li {
                        span { (g.name) " · " (g.handle.as_deref().unwrap_or("")) @if !g.about.is_empty() { " · " (ctx.t("till ", "of ")) (g.about) } }
                        (extract_link(ctx, g.id, &g.name))
                        a href=(picks.href("guardian", Some(g.id.into()), "guardian")) aria-label=(format!("{choose}: {}", g.name)) { (choose) }
                    }
                }
            }
        }
        @if !f.staff.is_empty() {
            h3 { (ctx.t("Personal", "Staff")) }
            ul.found {
                @for s in &f.staff {
                    li {
                        span { (s.name) @if let Some(u) = &s.handle { " (" (u) ")" } @if !s.about.is_empty() { " · " (s.about) } }
                        (extract_link(ctx, s.id, &s.name))
                        a href=(picks.href("staff", Some(s.id.into()), "duty")) aria-label=(format!("{choose}: {}", s.name)) { (choose) }
                    }
                }
            }
        }
        @if !f.groups.is_empty() {
            h3 { (ctx.t("Klasser och grupper", "Classes and groups")) }
            ul.found {
                @for g in &f.groups {
                    li {
                        span { (g.name) " · " (g.school) }
                        a href=(picks.href("group", Some(g.id.into()), "duty")) aria-label=(format!("{choose}: {} {}", g.name, g.school)) { (choose) }
                    }
                }
            }
        }
    }
}

/// The person's register extract (GDPR art. 15).
fn extract_link(ctx: &PageCtx, id: impl std::fmt::Display, name: &str) -> Markup {
    html! {
        a href={"/admin/people/" (id) "/extract"} aria-label=(format!("{}: {name}", ctx.t("Utdrag", "Extract"))) { (ctx.t("Utdrag", "Extract")) }
    }
}

/// The chosen pupil in the guardian form, or a pointer to the search.
pub fn pupil_field(ctx: &PageCtx, c: &Chosen) -> Markup {
    html! {
        @match &c.pupil {
            Some(p) => {
                p.chosen {
                    strong { (ctx.t("Elev: ", "Pupil: ")) }
                    (p.name) " · " @if let Some(cl) = &p.class { (cl) ", " } (p.school) " "
                    a href=(c.picks.href("pupil", None, "find")) { (ctx.t("Byt elev", "Change pupil")) }
                }
                input type="hidden" name="pupil_id" value=(p.id);
            }
            None => {
                p.chosen {
                    strong { (ctx.t("Elev: ", "Pupil: ")) }
                    a href="#find" { (ctx.t("sök fram eleven ovan och välj", "find the pupil above and choose")) }
                }
            }
        }
    }
}

/// The chosen class or group in the duty form, or a pointer to the search.
pub fn group_field(ctx: &PageCtx, c: &Chosen) -> Markup {
    html! {
        @match &c.group {
            Some(g) => {
                p.chosen {
                    strong { (ctx.t("Klass eller grupp (för mentor): ", "Class or group (for a mentor): ")) }
                    (g.name) " · " (g.school) " "
                    a href=(c.picks.href("group", None, "find")) { (ctx.t("Ta bort", "Remove")) }
                }
                input type="hidden" name="group_id" value=(g.id);
            }
            None => {
                p.chosen {
                    strong { (ctx.t("Klass eller grupp (bara för mentor): ", "Class or group (mentor only): ")) }
                    a href="#find" { (ctx.t("sök fram den ovan och välj", "find it above and choose")) }
                }
            }
        }
    }
}

/// The school select: no school is chosen for the administrator unless there is only one,
/// or a chosen group decides it.
pub fn school_select(
    ctx: &PageCtx,
    id: &str,
    schools: &[(SchoolId, String)],
    chosen: Option<SchoolId>,
) -> Markup {
    let chosen = chosen.or(match schools {
        [(only, _)] => Some(*only),
        _ => None,
    });
    html! {
        select id=(id) name="school_id" required {
            option value="" selected[chosen.is_none()] disabled { (ctx.t("Välj skola", "Choose a school")) }
            @for (sid, name) in schools { option value=(sid) selected[chosen == Some(*sid)] { (name) } }
        }
    }
}
