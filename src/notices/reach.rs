//! Guardians never reached: for the mentors and principals who follow pupils up, the
//! guardians of their pupils whom this term's notices have not reached, and why, as codes
//! (the words are at the edge). A notice a guardian cannot receive or never reads has not
//! told them (Skollagen 7 kap. 17 §: the school must see that the guardian is told).
//!
//! A guardian is listed when they have no working e-mail address (and text messages do not
//! reach them instead), when their latest
//! notice failed or could not be delivered, or when they were sent notices this term and
//! neither confirmed one nor signed in. With each, whether another guardian of the pupil is
//! reached, the first way to try instead.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::Viewer;
use crate::db::{DbConn, CHUNK};
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::{PersonId, PupilId};

/// Why a guardian is not reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gap {
    /// no e-mail address, or one that is not an address
    NoAddress,
    /// the latest notice to them failed (the mail server refused it, or gave up)
    Failed,
    /// sent notices this term, confirmed none, and never signed in this term
    Silent,
}

impl Gap {
    pub fn code(self) -> &'static str {
        match self {
            Gap::NoAddress => "no_address",
            Gap::Failed => "failed",
            Gap::Silent => "silent",
        }
    }
}

/// A guardian not reached, and the pupil they are a guardian of.
#[derive(Debug, Clone, Serialize)]
pub struct Unreached {
    pub guardian: PersonId,
    pub guardian_name: String,
    /// the guardian's protected identity: no address of theirs is ever asked for by mail
    pub protected: bool,
    /// the language the guardian chose
    pub language: String,
    /// the guardian's telephone number (E.164), to call instead; never for a guardian
    /// with protected identity
    pub phone: Option<String>,
    pub pupil: PupilId,
    pub pupil_name: String,
    pub class: Option<String>,
    pub gaps: Vec<Gap>,
    /// another guardian of the pupil who is reached
    pub reached_by: Option<String>,
}

/// (pupil, guardian, given, family, e-mail, language, security marking, phone)
type Link = (
    PupilId,
    PersonId,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
);

/// The pupils the viewer follows up today: every pupil of the schools they lead, and the
/// members of the groups they mentor.
fn pupils_of(conn: &mut DbConn, v: &Viewer, today: NaiveDate) -> AppResult<Vec<PupilId>> {
    let mut out: Vec<PupilId> = Vec::new();
    if !v.roles.principal_of.is_empty() {
        let led: Vec<Option<i64>> = v
            .roles
            .principal_of
            .iter()
            .map(|s| Some(i64::from(*s)))
            .collect();
        out.extend(
            people::table
                .filter(people::school_id.eq_any(led))
                .filter(people::active.eq(true))
                .select(people::id)
                .load::<PupilId>(conn)?,
        );
    }
    if !v.roles.mentor_of.is_empty() {
        out.extend(
            group_memberships::table
                .filter(group_memberships::group_id.eq_any(v.roles.mentor_of.clone()))
                .filter(crate::school::membership::on(today))
                .select(group_memberships::pupil_id)
                .load::<PupilId>(conn)?,
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// What the notices of this term say of each guardian: (the latest failed, sent some
/// absence notice, confirmed some). Only the absence notice carries a link to confirm.
fn notice_record(
    conn: &mut DbConn,
    guardians: &[PersonId],
    since: NaiveDate,
) -> AppResult<HashMap<PersonId, (bool, bool, bool)>> {
    let mut out: HashMap<PersonId, (bool, bool, bool)> = HashMap::new();
    let start = since.and_time(chrono::NaiveTime::MIN);
    for chunk in guardians.chunks(CHUNK) {
        let ids: Vec<Option<i64>> = chunk.iter().map(|g| Some(i64::from(*g))).collect();
        let rows: Vec<(Option<PersonId>, String, String, bool)> = outbox::table
            .filter(outbox::recipient_id.eq_any(ids))
            .filter(outbox::created_at.ge(start))
            .filter(outbox::status.ne("cancelled"))
            .filter(outbox::status.ne("pending"))
            .select((
                outbox::recipient_id,
                outbox::kind,
                outbox::status,
                outbox::confirmed_at.is_not_null(),
            ))
            .order(outbox::id)
            .load(conn)?;
        for (g, kind, status, confirmed) in rows {
            let Some(g) = g else { continue };
            let e = out.entry(g).or_insert((false, false, false));
            // in order: the last one decides whether the latest failed
            e.0 = matches!(status.as_str(), "failed" | "unreachable");
            e.1 |= kind == "unexplained_absence" && status == "sent";
            e.2 |= confirmed;
        }
    }
    Ok(out)
}

/// The guardians who signed in since `since` (the audit log's `sign_in.ok`).
fn signed_in(
    conn: &mut DbConn,
    guardians: &[PersonId],
    since: NaiveDate,
) -> AppResult<HashSet<PersonId>> {
    let start = since.and_time(chrono::NaiveTime::MIN);
    let mut out = HashSet::new();
    for chunk in guardians.chunks(CHUNK) {
        let ids: Vec<Option<i64>> = chunk.iter().map(|g| Some(i64::from(*g))).collect();
        let rows: Vec<Option<i64>> = audit_log::table
            .filter(audit_log::action.eq(crate::auth::throttle::SUCCEEDED))
            .filter(audit_log::entity.eq("person"))
            .filter(audit_log::entity_id.eq_any(ids))
            .filter(audit_log::at.ge(start))
            .select(audit_log::entity_id)
            .distinct()
            .load(conn)?;
        out.extend(rows.into_iter().flatten().map(PersonId));
    }
    Ok(out)
}

/// The guardians whom text messages reach without an e-mail address: with the SMS gateway
/// set (`texts`: the municipality's default channel), a telephone number, and text
/// messages as their choice (or the default) for the notice of unexplained absence.
fn texted(conn: &mut DbConn, links: &[Link], texts: Option<&str>) -> AppResult<HashSet<PersonId>> {
    let Some(default) = texts else {
        return Ok(HashSet::new());
    };
    let with_phone: Vec<PersonId> = links
        .iter()
        .filter(|l| l.7.is_some())
        .map(|l| l.1)
        .collect();
    let mut chosen: HashMap<PersonId, String> = HashMap::new();
    for chunk in with_phone.chunks(CHUNK) {
        chosen.extend(
            person_channels::table
                .filter(person_channels::person_id.eq_any(chunk))
                .filter(person_channels::kind.eq("unexplained_absence"))
                .select((person_channels::person_id, person_channels::channels))
                .load::<(PersonId, String)>(conn)?,
        );
    }
    Ok(with_phone
        .into_iter()
        .filter(|g| {
            let choice = chosen.get(g).map(String::as_str).unwrap_or(default);
            choice == "sms" || choice == "both"
        })
        .collect())
}

/// The guardians of the viewer's pupils whom this term's notices have not reached, by
/// class and pupil. Empty for anyone who follows no pupil up. `texts`: the default channel
/// when text messages are on (a guardian they reach has an address that works).
pub fn for_viewer(
    conn: &mut DbConn,
    v: &Viewer,
    today: NaiveDate,
    texts: Option<&str>,
) -> AppResult<Vec<Unreached>> {
    let pupils = pupils_of(conn, v, today)?;
    let mut links: Vec<Link> = Vec::new();
    for chunk in pupils.chunks(CHUNK) {
        links.extend(
            guardianships::table
                .inner_join(people::table.on(people::id.eq(guardianships::guardian_id)))
                .filter(guardianships::pupil_id.eq_any(chunk))
                .filter(people::active.eq(true))
                .select((
                    guardianships::pupil_id,
                    people::id,
                    people::given_name,
                    people::family_name,
                    people::email,
                    people::language,
                    people::security_marking,
                    people::phone,
                ))
                .load::<Link>(conn)?,
        );
    }
    let mut guardians: Vec<PersonId> = links.iter().map(|l| l.1).collect();
    guardians.sort();
    guardians.dedup();
    let since = crate::school::calendar::term_start(today);
    let record = notice_record(conn, &guardians, since)?;
    let seen = signed_in(conn, &guardians, since)?;
    let texted = texted(conn, &links, texts)?;
    let gaps_of = |l: &Link| -> Vec<Gap> {
        let mut gaps = Vec::new();
        let (failed, sent, confirmed) = record.get(&l.1).copied().unwrap_or_default();
        let address = l.4.as_deref().and_then(crate::mail::Email::parse);
        if address.is_none() && !texted.contains(&l.1) {
            gaps.push(Gap::NoAddress);
        } else if failed {
            gaps.push(Gap::Failed);
        }
        if sent && !confirmed && !seen.contains(&l.1) {
            gaps.push(Gap::Silent);
        }
        gaps
    };
    let gaps: HashMap<(PupilId, PersonId), Vec<Gap>> =
        links.iter().map(|l| ((l.0, l.1), gaps_of(l))).collect();
    let listed: Vec<PupilId> = links
        .iter()
        .filter(|l| gaps.get(&(l.0, l.1)).is_some_and(|g| !g.is_empty()))
        .map(|l| l.0)
        .collect();
    let classes = crate::insight::statistics::overview::classes_on(conn, &listed, today)?;
    let names: HashMap<PupilId, String> = people::table
        .filter(people::id.eq_any(listed.clone()))
        .select((people::id, people::given_name, people::family_name))
        .load::<(PupilId, String, String)>(conn)?
        .into_iter()
        .map(|(id, g, f)| (id, crate::school::full_name(&g, &f)))
        .collect();
    let mut out: Vec<Unreached> = Vec::new();
    for l in &links {
        let Some(g) = gaps.get(&(l.0, l.1)).filter(|g| !g.is_empty()) else {
            continue;
        };
        let reached_by = links
            .iter()
            .find(|o| o.0 == l.0 && o.1 != l.1 && gaps.get(&(o.0, o.1)).is_some_and(Vec::is_empty))
            .map(|o| crate::school::full_name(&o.2, &o.3));
        out.push(Unreached {
            guardian: l.1,
            guardian_name: crate::school::full_name(&l.2, &l.3),
            protected: l.6 != "none",
            language: l.5.clone(),
            phone: l.7.clone().filter(|_| l.6 == "none"),
            pupil: l.0,
            pupil_name: names.get(&l.0).cloned().unwrap_or_default(),
            class: classes.get(&l.0).cloned(),
            gaps: g.clone(),
            reached_by,
        });
    }
    out.sort_by(|a, b| {
        (
            a.class.as_deref(),
            crate::i18n::swedish_order(&a.pupil_name),
            a.guardian,
        )
            .cmp(&(
                b.class.as_deref(),
                crate::i18n::swedish_order(&b.pupil_name),
                b.guardian,
            ))
    });
    Ok(out)
}
