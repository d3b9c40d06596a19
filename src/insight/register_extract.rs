//! A register extract (GDPR art. 15): everything Närvaro holds about one person — a pupil,
//! a guardian or a member of staff — for an administrator to hand over. Personal details
//! (the civic number only as "on record", never its digits), e-mail addresses, guardians
//! and children, groups, duties, a pupil's marks, absence reports and leave, the notices
//! about or to them and their confirmations, their sign-ins, and the audit rows about them
//! or by them, and who read their records (`access_log`).
//! Producing one is itself audited.

#![allow(clippy::type_complexity)] // the rows are read as tuples, one query a section

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

use crate::audit::{self, Entry};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::PersonId;

/// The most rows of one kind an extract lists (a pupil's marks over many years stay well
/// below it).
const ROWS: i64 = 20_000;

/// The extract's sections in order: (key, Swedish heading, English heading).
pub const SECTIONS: &[(&str, &str, &str)] = &[
    ("person", "Personuppgifter", "Personal details"),
    ("email_addresses", "E-postadresser", "E-mail addresses"),
    (
        "identifiers",
        "Identiteter för inloggning",
        "Sign-in identifiers",
    ),
    ("guardians", "Vårdnadshavare", "Guardians"),
    ("children", "Barn", "Children"),
    ("groups", "Klasser och grupper", "Classes and groups"),
    ("duties", "Uppdrag", "Duties"),
    ("marks", "Närvaromarkeringar", "Attendance marks"),
    ("absence_reports", "Frånvaroanmälningar", "Absence reports"),
    (
        "leave_applications",
        "Ledighetsansökningar",
        "Leave applications",
    ),
    ("notices", "Meddelanden", "Notices"),
    ("sign_ins", "Inloggningar", "Sign-ins"),
    ("audit", "Ändringslogg", "Audit log"),
    ("reads", "Vem som läst uppgifterna", "Who read the records"),
];

fn rows<T: serde::Serialize>(items: Vec<T>) -> Value {
    Value::Array(items.into_iter().map(|i| json!(i)).collect())
}

/// Builds the extract and audits it (administrators only; 404 for anyone else and for a
/// person who does not exist).
pub fn extract(
    conn: &mut DbConn,
    v: &Viewer,
    person: PersonId,
    (addr, now): (&str, NaiveDateTime),
) -> AppResult<Map<String, Value>> {
    if !v.roles.is_admin() {
        return Err(AppError::NotFound);
    }
    #[allow(clippy::type_complexity)]
    let p: Option<(
        String,
        String,
        Option<String>,
        Option<NaiveDate>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
        bool,
        NaiveDateTime,
    )> = people::table
        .find(person)
        .select((
            people::given_name,
            people::family_name,
            people::civic_no,
            people::birth_date,
            people::school_id,
            people::email,
            people::phone,
            people::username,
            people::security_marking,
            people::language,
            people::active,
            people::created_at,
        ))
        .first(conn)
        .optional()?;
    let Some((
        given,
        family,
        civic,
        born,
        school,
        email,
        phone,
        username,
        marking,
        language,
        active,
        created,
    )) = p
    else {
        return Err(AppError::NotFound);
    };
    let mut out = Map::new();
    out.insert(
        "person".into(),
        json!([{
            "id": person, "given_name": given, "family_name": family,
            "civic_number": if civic.is_some() { "on record" } else { "none" },
            "birth_date": born, "school_id": school, "email": email, "phone": phone, "username": username,
            "protected_identity": marking != "none", "language": language, "active": active,
            "created_at": created,
        }]),
    );
    relations(conn, person, &mut out)?;
    pupil_sections(conn, person, &mut out)?;
    records(conn, person, &mut out)?;
    audit::record(
        conn,
        Entry {
            at: now,
            actor: Some(v.id),
            action: "register.extract",
            entity: "person",
            entity_id: Some(person.into()),
            detail: json!({}),
            client_addr: Some(addr),
        },
    )?;
    Ok(out)
}

/// A pupil's marks, absence reports and leave.
fn pupil_sections(
    conn: &mut DbConn,
    person: PersonId,
    out: &mut Map<String, Value>,
) -> AppResult<()> {
    let marks: Vec<(NaiveDate, NaiveTime, String, String, i32, Option<i64>)> =
        attendance_marks::table
            .inner_join(lessons::table.inner_join(activities::table))
            .filter(attendance_marks::pupil_id.eq(person))
            .select((
                lessons::lesson_date,
                lessons::starts_at,
                activities::display_name,
                attendance_marks::status,
                attendance_marks::minutes,
                attendance_marks::reason_id,
            ))
            .order((lessons::lesson_date, lessons::starts_at))
            .limit(ROWS)
            .load(conn)?;
    out.insert(
        "marks".into(),
        rows(marks.into_iter().map(|(d, t, s, st, m, r)| json!({"date": d, "starts_at": t.format("%H:%M").to_string(), "lesson": s, "status": st, "minutes": m, "reason_id": r})).collect()),
    );
    let reports: Vec<(
        NaiveDateTime,
        NaiveDateTime,
        i64,
        Option<String>,
        bool,
        NaiveDateTime,
        Option<NaiveDateTime>,
    )> = absence_reports::table
        .filter(absence_reports::pupil_id.eq(person))
        .select((
            absence_reports::starts_at,
            absence_reports::ends_at,
            absence_reports::reason_id,
            absence_reports::message,
            absence_reports::registered_by_staff,
            absence_reports::created_at,
            absence_reports::cancelled_at,
        ))
        .order(absence_reports::starts_at)
        .limit(ROWS)
        .load(conn)?;
    out.insert(
        "absence_reports".into(),
        rows(reports.into_iter().map(|(s, e, r, m, staff, c, x)| json!({"from": s, "to": e, "reason_id": r, "message": m, "registered_by_staff": staff, "created_at": c, "cancelled_at": x})).collect()),
    );
    let leave: Vec<(
        NaiveDate,
        NaiveDate,
        String,
        String,
        Option<String>,
        Option<String>,
    )> = leave_applications::table
        .filter(leave_applications::pupil_id.eq(person))
        .select((
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::reason,
            leave_applications::status,
            leave_applications::recommendation,
            leave_applications::decision_comment,
        ))
        .order(leave_applications::start_date)
        .limit(ROWS)
        .load(conn)?;
    out.insert(
        "leave_applications".into(),
        rows(leave.into_iter().map(|(s, e, r, st, rec, c)| json!({"from": s, "to": e, "reason": r, "status": st, "recommendation": rec, "decision_comment": c})).collect()),
    );
    // early signals of the pupil's absence, with what was done with them
    #[allow(clippy::type_complexity)]
    let signals: Vec<(NaiveDateTime, NaiveDate, NaiveDate, String, Option<String>)> =
        signals::table
            .filter(signals::pupil_id.eq(person))
            .select((
                signals::raised_at,
                signals::period_from,
                signals::period_to,
                signals::status,
                signals::dismissed_reason,
            ))
            .order(signals::raised_at)
            .limit(ROWS)
            .load(conn)?;
    out.insert(
        "absence_signals".into(),
        rows(signals.into_iter().map(|(at, f, t, st, why)| json!({"raised_at": at, "from": f, "to": t, "status": st, "dismissed_because": why})).collect()),
    );
    out.insert(
        "absence_investigations".into(),
        investigations(conn, person)?,
    );
    // trips of the pupil's group they stayed at school for (UTC, as stored)
    let stayed: Vec<(String, chrono::NaiveDateTime, chrono::NaiveDateTime)> = trip_stays::table
        .inner_join(trips::table)
        .filter(trip_stays::pupil_id.eq(person))
        .select((trips::title, trips::starts_at, trips::ends_at))
        .order(trips::starts_at)
        .limit(ROWS)
        .load(conn)?;
    out.insert(
        "trips_stayed_at_school".into(),
        rows(
            stayed
                .into_iter()
                .map(|(t, s, e)| json!({"trip": t, "from": s, "to": e}))
                .collect(),
        ),
    );
    Ok(())
}

/// The investigations of the pupil's absence, whole: the person the register is about has
/// a right to all of it (GDPR art. 15), the notes about health included.
fn investigations(conn: &mut DbConn, person: PersonId) -> AppResult<Value> {
    let case_ids: Vec<i64> = absence_cases::table
        .filter(absence_cases::pupil_id.eq(person))
        .select(absence_cases::id)
        .order(absence_cases::id)
        .limit(ROWS)
        .load(conn)?;
    let mut cases = Vec::new();
    for id in case_ids {
        #[allow(clippy::type_complexity)]
        let (
            status,
            opened_at,
            decision,
            decided_on,
            reason,
            deadline,
            conclusion,
            actions,
            follow_up_on,
            special_support,
            outcome,
            closed_at,
        ): (
            String,
            NaiveDateTime,
            Option<String>,
            Option<NaiveDate>,
            Option<String>,
            Option<NaiveDate>,
            Option<String>,
            Option<String>,
            Option<NaiveDate>,
            bool,
            Option<String>,
            Option<NaiveDateTime>,
        ) = absence_cases::table
            .find(id)
            .select((
                absence_cases::status,
                absence_cases::opened_at,
                absence_cases::decision,
                absence_cases::decided_on,
                absence_cases::decision_reason,
                absence_cases::deadline,
                absence_cases::conclusion,
                absence_cases::actions,
                absence_cases::follow_up_on,
                absence_cases::special_support,
                absence_cases::outcome,
                absence_cases::closed_at,
            ))
            .first(conn)?;
        let steps: Vec<(NaiveDate, String, String)> = case_steps::table
            .filter(case_steps::case_id.eq(id))
            .select((case_steps::taken_on, case_steps::kind, case_steps::note))
            .order(case_steps::id)
            .load(conn)?;
        let health: Vec<(NaiveDateTime, String)> = case_health_notes::table
            .filter(case_health_notes::case_id.eq(id))
            .select((case_health_notes::written_at, case_health_notes::note))
            .order(case_health_notes::id)
            .load(conn)?;
        let report: Option<(NaiveDate, String)> = huvudman_reports::table
            .filter(huvudman_reports::case_id.eq(id))
            .select((huvudman_reports::started_on, huvudman_reports::status))
            .first(conn)
            .optional()?;
        // the principal's updates of the report, in the huvudman's rounds or between them
        let updates: Vec<(NaiveDateTime, String)> = report_updates::table
            .inner_join(huvudman_reports::table)
            .filter(huvudman_reports::case_id.eq(id))
            .select((report_updates::written_at, report_updates::body))
            .order(report_updates::id)
            .load(conn)?;
        cases.push(json!({
            "status": status, "opened_at": opened_at, "decision": decision,
            "decided_on": decided_on, "decision_reason": reason, "deadline": deadline,
            "conclusion": conclusion, "actions": actions, "follow_up_on": follow_up_on,
            "special_support_investigated": special_support, "outcome": outcome,
            "closed_at": closed_at,
            "steps": steps.into_iter().map(|(on, kind, note)| json!({"on": on, "kind": kind, "note": note})).collect::<Vec<_>>(),
            "health_notes": health.into_iter().map(|(at, note)| json!({"written_at": at, "note": note})).collect::<Vec<_>>(),
            "report_to_huvudman": report.map(|(on, st)| json!({"started_on": on, "status": st,
                "updates": updates.iter().map(|(at, body)| json!({"written_at": at, "body": body})).collect::<Vec<_>>()})),
        }));
    }
    Ok(rows(cases))
}

/// E-mail addresses, sign-in identifiers, guardians, children, groups and duties.
fn relations(conn: &mut DbConn, person: PersonId, out: &mut Map<String, Value>) -> AppResult<()> {
    let identifiers: Vec<(String, Option<String>, String)> = person_identifiers::table
        .filter(person_identifiers::person_id.eq(person))
        .select((
            person_identifiers::kind,
            person_identifiers::context,
            person_identifiers::value,
        ))
        .order(person_identifiers::id)
        .load(conn)?;
    out.insert(
        "identifiers".into(),
        rows(
            identifiers
                .into_iter()
                .map(|(k, c, v)| json!({"kind": k, "context": c, "value": v}))
                .collect(),
        ),
    );
    let emails: Vec<(String, String)> = person_emails::table
        .filter(person_emails::person_id.eq(person))
        .select((person_emails::address, person_emails::kind))
        .load(conn)?;
    out.insert(
        "email_addresses".into(),
        rows(
            emails
                .into_iter()
                .map(|(a, k)| json!({"address": a, "kind": k}))
                .collect(),
        ),
    );
    let guardian = diesel::alias!(people as guardian);
    let guardians: Vec<(i64, String, String, String)> = guardianships::table
        .inner_join(guardian.on(guardian.field(people::id).eq(guardianships::guardian_id)))
        .filter(guardianships::pupil_id.eq(person))
        .select((
            guardian.field(people::id),
            guardian.field(people::given_name),
            guardian.field(people::family_name),
            guardianships::relation,
        ))
        .load(conn)?;
    out.insert(
        "guardians".into(),
        rows(
            guardians
                .into_iter()
                .map(|(id, g, f, r)| json!({"id": id, "name": format!("{g} {f}"), "relation": r}))
                .collect(),
        ),
    );
    let children: Vec<(i64, String, String)> = guardianships::table
        .inner_join(people::table.on(people::id.eq(guardianships::pupil_id)))
        .filter(guardianships::guardian_id.eq(person))
        .select((people::id, people::given_name, people::family_name))
        .load(conn)?;
    out.insert(
        "children".into(),
        rows(
            children
                .into_iter()
                .map(|(id, g, f)| json!({"id": id, "name": format!("{g} {f}")}))
                .collect(),
        ),
    );
    let groups: Vec<(String, NaiveDate, Option<NaiveDate>)> = group_memberships::table
        .inner_join(groups::table)
        .filter(group_memberships::pupil_id.eq(person))
        .select((
            groups::name,
            group_memberships::start_date,
            group_memberships::end_date,
        ))
        .order(group_memberships::start_date)
        .load(conn)?;
    out.insert(
        "groups".into(),
        rows(
            groups
                .into_iter()
                .map(|(n, s, e)| json!({"group": n, "from": s, "to": e}))
                .collect(),
        ),
    );
    let duties: Vec<(String, i64, Option<i64>, NaiveDate, Option<NaiveDate>)> = duties::table
        .filter(duties::person_id.eq(person))
        .select((
            duties::role,
            duties::organisation_id,
            duties::group_id,
            duties::start_date,
            duties::end_date,
        ))
        .order(duties::start_date)
        .load(conn)?;
    out.insert(
        "duties".into(),
        rows(duties.into_iter().map(|(r, o, g, s, e)| json!({"role": r, "organisation_id": o, "group_id": g, "from": s, "to": e})).collect()),
    );
    Ok(())
}

/// An audit row as the extract reads it: when, who acted, action, entity, its id, detail,
/// from where.
type AuditRow = (
    NaiveDateTime,
    Option<PersonId>,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
);

/// The notices about or to the person, their sign-ins, and the audit rows about them
/// (their marks, reports, leave and notices among them) or by them.
fn records(conn: &mut DbConn, person: PersonId, out: &mut Map<String, Value>) -> AppResult<()> {
    let notices: Vec<(
        String,
        Option<NaiveDate>,
        String,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<PersonId>,
    )> = outbox::table
        .filter(
            outbox::recipient_id
                .eq(person)
                .or(outbox::pupil_id.eq(person)),
        )
        .select((
            outbox::kind,
            outbox::notice_date,
            outbox::status,
            outbox::sent_at,
            outbox::confirmed_at,
            outbox::recipient_id,
        ))
        .order(outbox::created_at)
        .limit(ROWS)
        .load(conn)?;
    out.insert(
        "notices".into(),
        rows(notices.into_iter().map(|(k, d, s, sent, conf, to)| json!({"kind": k, "date": d, "status": s, "sent_at": sent, "confirmed_at": conf, "to_this_person": to == Some(person)})).collect()),
    );
    let ids = audit::about(conn, person)?;
    let mut audit_rows: Vec<AuditRow> = Vec::new();
    for chunk in ids.chunks(1000) {
        audit_rows.extend(
            audit_log::table
                .filter(audit_log::id.eq_any(chunk))
                .select((
                    audit_log::at,
                    audit_log::actor_id,
                    audit_log::action,
                    audit_log::entity,
                    audit_log::entity_id,
                    audit_log::detail,
                    audit_log::client_addr,
                ))
                .load::<AuditRow>(conn)?,
        );
    }
    audit_rows.sort_by_key(|r| r.0);
    audit_rows.truncate(ROWS as usize);
    let (sign_ins, others): (Vec<AuditRow>, Vec<AuditRow>) =
        audit_rows.into_iter().partition(|r| {
            r.2.starts_with("sign_in.") && r.3 == "person" && r.4 == Some(i64::from(person))
        });
    out.insert(
        "sign_ins".into(),
        rows(sign_ins.into_iter().map(|(at, _, a, _, _, d, addr)| {
            let d: Value = serde_json::from_str(&d).unwrap_or(Value::Null);
            json!({"at": at, "outcome": a.trim_start_matches("sign_in."), "channel": d["channel"], "from": addr})
        }).collect()),
    );
    out.insert(
        "audit".into(),
        rows(others.into_iter().map(|(at, actor, a, e, id, d, _)| json!({"at": at, "by_this_person": actor == Some(person), "action": a, "entity": e, "entity_id": id, "detail": d})).collect()),
    );
    reads(conn, person, out)
}

/// Who read the person's records (`access_log`), for as long as it is kept.
fn reads(conn: &mut DbConn, person: PersonId, out: &mut Map<String, Value>) -> AppResult<()> {
    let since = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let until = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
    let reads = crate::access_log::of_pupil(
        conn,
        person,
        (
            since.and_time(NaiveTime::MIN),
            until.and_time(NaiveTime::MIN),
        ),
    )?;
    out.insert(
        "reads".into(),
        rows(
            reads
                .into_iter()
                .take(ROWS as usize)
                .map(|l| json!({"at": l.at, "by": l.reader, "api_client": l.client, "what": l.kind, "from": l.client_addr}))
                .collect(),
        ),
    );
    Ok(())
}
