//! Retention: personal data is not kept for ever. A pupil's records — marks, absence
//! reports, leave, the notices about them, the audit rows about them, the per-pupil
//! statistics and the person — go once the pupil has left (no longer active, every
//! enrolment ended) and the last enrolment ended more than `years` ago; their guardians go
//! with them when they are guardians of nobody else and hold no duty. The statistics'
//! class sums (`absence_class_days`) stay: they cannot be traced to a pupil. E-mails that
//! were sent keep their content and address for `mail_days`; after that the notice keeps
//! only that it was sent, when, and whether it was confirmed, and a sign-in link request
//! or an invitation goes entirely.
//!
//! `narvaro retention --dry-run` lists what would go; the server runs the same for real
//! once a day. A person's long history (marks, per-day sums, reads of their records, the
//! audit rows about them) goes first in batches of at most `BATCH_ROWS` rows, each its own
//! short transaction, so that a roll call waiting for SQLite's one writer waits for one
//! batch, never for a pupil's school years; then the person and the rest in one
//! transaction. An interrupted run leaves the person (still due to go) for the next run.

use chrono::{Duration, Months, NaiveDate, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::config::Retention;
use crate::db::{Database, DbConn};
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::PersonId;

/// What goes with one person.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub marks: i64,
    pub absence_reports: i64,
    pub leave_applications: i64,
    pub notices: i64,
    pub audit_rows: i64,
    pub statistics_days: i64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.marks += o.marks;
        self.absence_reports += o.absence_reports;
        self.leave_applications += o.leave_applications;
        self.notices += o.notices;
        self.audit_rows += o.audit_rows;
        self.statistics_days += o.statistics_days;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pupil,
    Guardian,
}

/// A person whose records have passed the policy.
#[derive(Debug, Clone)]
pub struct Expired {
    pub id: PersonId,
    pub kind: Kind,
    pub name: String,
    /// a pupil's last enrolment's end
    pub left: Option<NaiveDate>,
    pub counts: Counts,
}

/// What a run takes away (or, dry, would).
#[derive(Debug, Clone)]
pub struct Plan {
    /// enrolments that ended before this day have passed the policy
    pub cutoff: NaiveDate,
    /// sent e-mails older than this lose their content and address
    pub mail_cutoff: NaiveDateTime,
    pub people: Vec<Expired>,
    /// notices whose content and address go
    pub mails_emptied: i64,
    /// sign-in link requests and invitations that go entirely
    pub mails_deleted: i64,
    /// single-use links used or expired before the mail cutoff
    pub links_deleted: i64,
}

impl Plan {
    pub fn totals(&self) -> Counts {
        let mut t = Counts::default();
        for p in &self.people {
            t.add(&p.counts);
        }
        t
    }

    pub fn pupils(&self) -> usize {
        self.people.iter().filter(|p| p.kind == Kind::Pupil).count()
    }

    pub fn guardians(&self) -> usize {
        self.people.len() - self.pupils()
    }
}

/// The first day still kept: today less the policy's years.
pub fn cutoff(policy: &Retention, today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_months(Months::new(policy.years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MIN)
}

/// Pupils who have left more than the policy's years ago: not active, enrolled once, no
/// enrolment open or ending on or after the cutoff, and not ended (by a sync) since.
fn expired_pupils(
    c: &mut DbConn,
    cutoff: NaiveDate,
) -> QueryResult<Vec<(PersonId, String, String)>> {
    let cutoff_at = cutoff.and_hms_opt(0, 0, 0).unwrap_or_default();
    let still = group_memberships::table
        .filter(
            group_memberships::end_date
                .is_null()
                .or(group_memberships::end_date.ge(cutoff)),
        )
        .select(group_memberships::pupil_id);
    people::table
        .filter(people::active.eq(false))
        .filter(exists(
            group_memberships::table.filter(group_memberships::pupil_id.eq(people::id)),
        ))
        .filter(not(people::id.eq_any(still)))
        .filter(
            people::ended_at
                .is_null()
                .or(people::ended_at.lt(cutoff_at)),
        )
        .select((people::id, people::given_name, people::family_name))
        .order(people::id)
        .load(c)
}

fn last_enrolment(c: &mut DbConn, pupil: PersonId) -> QueryResult<Option<NaiveDate>> {
    group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .select(diesel::dsl::max(group_memberships::end_date))
        .first(c)
}

/// The guardians of these pupils who are guardians of nobody else, hold no duty and are
/// not pupils themselves.
fn expired_guardians(
    c: &mut DbConn,
    pupils: &[PersonId],
) -> QueryResult<Vec<(PersonId, String, String)>> {
    let candidates: Vec<PersonId> = guardianships::table
        .filter(guardianships::pupil_id.eq_any(pupils))
        .select(guardianships::guardian_id)
        .distinct()
        .load(c)?;
    let mut out = Vec::new();
    for g in candidates {
        let others: i64 = guardianships::table
            .filter(guardianships::guardian_id.eq(g))
            .filter(not(guardianships::pupil_id.eq_any(pupils)))
            .count()
            .get_result(c)?;
        let duties: i64 = duties::table
            .filter(duties::person_id.eq(g))
            .count()
            .get_result(c)?;
        let enrolled: i64 = group_memberships::table
            .filter(group_memberships::pupil_id.eq(g))
            .count()
            .get_result(c)?;
        if others == 0 && duties == 0 && enrolled == 0 {
            let (given, family): (String, String) = people::table
                .find(g)
                .select((people::given_name, people::family_name))
                .first(c)?;
            out.push((g, given, family));
        }
    }
    Ok(out)
}

fn counts(c: &mut DbConn, person: PersonId) -> QueryResult<Counts> {
    Ok(Counts {
        marks: attendance_marks::table
            .filter(attendance_marks::pupil_id.eq(person))
            .count()
            .get_result(c)?,
        absence_reports: absence_reports::table
            .filter(absence_reports::pupil_id.eq(person))
            .count()
            .get_result(c)?,
        leave_applications: leave_applications::table
            .filter(leave_applications::pupil_id.eq(person))
            .count()
            .get_result(c)?,
        notices: outbox::table
            .filter(
                outbox::pupil_id
                    .eq(person)
                    .or(outbox::recipient_id.eq(person)),
            )
            .count()
            .get_result(c)?,
        audit_rows: audit::about(c, person)?.len() as i64,
        statistics_days: absence_days::table
            .filter(absence_days::pupil_id.eq(person))
            .count()
            .get_result(c)?,
    })
}

/// The finished e-mails older than the mail cutoff: (with content or address to remove,
/// link requests and invitations to delete).
fn old_mail(c: &mut DbConn, before: NaiveDateTime) -> QueryResult<(i64, i64)> {
    let finished = || {
        outbox::table
            .filter(outbox::status.ne("pending"))
            .filter(outbox::created_at.lt(before))
    };
    let emptied = finished()
        .filter(outbox::pupil_id.is_not_null())
        .filter(
            outbox::payload
                .ne("{}")
                .or(outbox::recipient_email.is_not_null()),
        )
        .count()
        .get_result(c)?;
    let deleted = finished()
        .filter(outbox::kind.eq_any(crate::notices::LINK_KINDS))
        .count()
        .get_result(c)?;
    Ok((emptied, deleted))
}

fn old_links(before: NaiveDateTime) -> impl Fn(&mut DbConn) -> QueryResult<i64> {
    move |c| {
        one_time_tokens::table
            .filter(
                one_time_tokens::expires_at
                    .lt(before)
                    .or(one_time_tokens::used_at.lt(before)),
            )
            .count()
            .get_result(c)
    }
}

/// What the policy takes away today.
pub fn plan(
    c: &mut DbConn,
    policy: &Retention,
    today: NaiveDate,
    now: NaiveDateTime,
) -> QueryResult<Plan> {
    let cutoff = cutoff(policy, today);
    let mail_cutoff = now - Duration::days(i64::from(policy.mail_days));
    let pupils = expired_pupils(c, cutoff)?;
    let ids: Vec<PersonId> = pupils.iter().map(|p| p.0).collect();
    let guardians = expired_guardians(c, &ids)?;
    let mut people = Vec::new();
    for (id, given, family) in pupils {
        people.push(Expired {
            id,
            kind: Kind::Pupil,
            name: format!("{given} {family}"),
            left: last_enrolment(c, id)?,
            counts: counts(c, id)?,
        });
    }
    for (id, given, family) in guardians {
        people.push(Expired {
            id,
            kind: Kind::Guardian,
            name: format!("{given} {family}"),
            left: None,
            counts: counts(c, id)?,
        });
    }
    let (mails_emptied, mails_deleted) = old_mail(c, mail_cutoff)?;
    Ok(Plan {
        cutoff,
        mail_cutoff,
        people,
        mails_emptied,
        mails_deleted,
        links_deleted: old_links(mail_cutoff)(c)?,
    })
}

/// The most rows of one person's history one write transaction deletes before the
/// person's own.
pub const BATCH_ROWS: usize = 2000;

/// Deletes one batch of a person's long history: audit rows from `audit` first, then
/// marks, reads and per-day sums; the rows deleted (0: nothing of it is left).
fn shed_batch(c: &mut DbConn, person: PersonId, audit: &[i64]) -> QueryResult<usize> {
    c.write_transaction(|c| {
        if !audit.is_empty() {
            let mut n = 0;
            for chunk in audit.chunks(crate::db::CHUNK) {
                n += diesel::delete(audit_log::table.filter(audit_log::id.eq_any(chunk)))
                    .execute(c)?;
            }
            return Ok(n);
        }
        let limit = BATCH_ROWS as i64;
        let marks: Vec<i64> = attendance_marks::table
            .filter(attendance_marks::pupil_id.eq(person))
            .select(attendance_marks::id)
            .limit(limit)
            .load(c)?;
        if !marks.is_empty() {
            for chunk in marks.chunks(crate::db::CHUNK) {
                diesel::delete(attendance_marks::table.filter(attendance_marks::id.eq_any(chunk)))
                    .execute(c)?;
            }
            return Ok(marks.len());
        }
        let reads: Vec<i64> = access_log::table
            .filter(
                access_log::pupil_id
                    .eq(person)
                    .or(access_log::reader_id.eq(person)),
            )
            .select(access_log::id)
            .limit(limit)
            .load(c)?;
        if !reads.is_empty() {
            for chunk in reads.chunks(crate::db::CHUNK) {
                diesel::delete(access_log::table.filter(access_log::id.eq_any(chunk)))
                    .execute(c)?;
            }
            return Ok(reads.len());
        }
        // the per-day sums up to the day that makes a batch (a day at two schools is two)
        let last: Option<NaiveDate> = absence_days::table
            .filter(absence_days::pupil_id.eq(person))
            .order(absence_days::day)
            .select(absence_days::day)
            .offset(limit - 1)
            .first(c)
            .optional()?;
        let days = absence_days::table.filter(absence_days::pupil_id.eq(person));
        match last {
            Some(last) => diesel::delete(days.filter(absence_days::day.le(last))).execute(c),
            None => diesel::delete(days).execute(c),
        }
    })
}

/// Removes one person and everything about them: the long history in batches (see
/// `BATCH_ROWS`), then the rest in one transaction. The longest write's time.
async fn remove_all(db: &Database, person: PersonId) -> AppResult<std::time::Duration> {
    let mut longest = std::time::Duration::ZERO;
    let mut timed = |took: std::time::Duration| longest = longest.max(took);
    let audit = db.read(move |c| Ok(audit::about(c, person)?)).await?;
    for chunk in audit.chunks(BATCH_ROWS) {
        let chunk = chunk.to_vec();
        let took = db
            .write(move |c| {
                let started = std::time::Instant::now();
                shed_batch(c, person, &chunk)?;
                Ok(started.elapsed())
            })
            .await?;
        timed(took);
    }
    loop {
        let (n, took) = db
            .write(move |c| {
                let started = std::time::Instant::now();
                let n = shed_batch(c, person, &[])?;
                Ok((n, started.elapsed()))
            })
            .await?;
        timed(took);
        if n == 0 {
            break;
        }
    }
    let took = db
        .write(move |c| {
            let started = std::time::Instant::now();
            remove(c, person)?;
            Ok(started.elapsed())
        })
        .await?;
    timed(took);
    Ok(longest)
}

/// Removes one person and everything about them, in one transaction.
fn remove(c: &mut DbConn, person: PersonId) -> QueryResult<()> {
    c.write_transaction(|c| {
        let audit = audit::about(c, person)?;
        for chunk in audit.chunks(500) {
            diesel::delete(audit_log::table.filter(audit_log::id.eq_any(chunk))).execute(c)?;
        }
        diesel::delete(
            outbox::table.filter(
                outbox::pupil_id
                    .eq(person)
                    .or(outbox::recipient_id.eq(person)),
            ),
        )
        .execute(c)?;
        diesel::delete(attendance_marks::table.filter(attendance_marks::pupil_id.eq(person)))
            .execute(c)?;
        // the early signals of their absence and the investigations of it
        // (`follow_up::signals`, `follow_up::cases`), and the reports to the huvudman
        diesel::delete(signals::table.filter(signals::pupil_id.eq(person))).execute(c)?;
        let cases = absence_cases::table
            .filter(absence_cases::pupil_id.eq(person))
            .select(absence_cases::id);
        let reports = huvudman_reports::table
            .filter(huvudman_reports::pupil_id.eq(person))
            .select(huvudman_reports::id);
        diesel::delete(report_updates::table.filter(report_updates::report_id.eq_any(reports)))
            .execute(c)?;
        diesel::delete(huvudman_reports::table.filter(huvudman_reports::case_id.eq_any(cases)))
            .execute(c)?;
        diesel::delete(home_reports::table.filter(home_reports::case_id.eq_any(cases)))
            .execute(c)?;
        diesel::delete(case_steps::table.filter(case_steps::case_id.eq_any(cases))).execute(c)?;
        diesel::delete(case_health_notes::table.filter(case_health_notes::case_id.eq_any(cases)))
            .execute(c)?;
        diesel::delete(case_participants::table.filter(case_participants::case_id.eq_any(cases)))
            .execute(c)?;
        diesel::delete(absence_cases::table.filter(absence_cases::pupil_id.eq(person)))
            .execute(c)?;
        diesel::delete(absence_reports::table.filter(absence_reports::pupil_id.eq(person)))
            .execute(c)?;
        // the guardians' answers to the pupil's applications, and this guardian's answers
        let applications = leave_applications::table
            .filter(leave_applications::pupil_id.eq(person))
            .select(leave_applications::id);
        diesel::delete(
            leave_confirmations::table.filter(
                leave_confirmations::leave_id
                    .eq_any(applications)
                    .or(leave_confirmations::guardian_id.eq(person)),
            ),
        )
        .execute(c)?;
        diesel::delete(leave_applications::table.filter(leave_applications::pupil_id.eq(person)))
            .execute(c)?;
        diesel::delete(absence_days::table.filter(absence_days::pupil_id.eq(person))).execute(c)?;
        diesel::delete(
            guardianships::table.filter(
                guardianships::pupil_id
                    .eq(person)
                    .or(guardianships::guardian_id.eq(person)),
            ),
        )
        .execute(c)?;
        diesel::delete(trip_stays::table.filter(trip_stays::pupil_id.eq(person))).execute(c)?;
        diesel::delete(group_memberships::table.filter(group_memberships::pupil_id.eq(person)))
            .execute(c)?;
        diesel::delete(person_emails::table.filter(person_emails::person_id.eq(person)))
            .execute(c)?;
        diesel::delete(person_identifiers::table.filter(person_identifiers::person_id.eq(person)))
            .execute(c)?;
        diesel::delete(one_time_tokens::table.filter(one_time_tokens::person_id.eq(person)))
            .execute(c)?;
        diesel::delete(person_channels::table.filter(person_channels::person_id.eq(person)))
            .execute(c)?;
        // who read their records, and what they read (a guardian's reads of their children)
        diesel::delete(
            access_log::table.filter(
                access_log::pupil_id
                    .eq(person)
                    .or(access_log::reader_id.eq(person)),
            ),
        )
        .execute(c)?;
        diesel::delete(recovery_codes::table.filter(recovery_codes::person_id.eq(person)))
            .execute(c)?;
        diesel::delete(second_factors::table.filter(second_factors::person_id.eq(person)))
            .execute(c)?;
        diesel::delete(people::table.find(person)).execute(c)?;
        Ok(())
    })
}

/// Empties the old e-mails and deletes old link requests, invitations and links.
fn forget_mail(c: &mut DbConn, before: NaiveDateTime) -> QueryResult<()> {
    c.write_transaction(|c| {
        diesel::update(
            outbox::table
                .filter(outbox::status.ne("pending"))
                .filter(outbox::created_at.lt(before))
                .filter(outbox::pupil_id.is_not_null())
                .filter(
                    outbox::payload
                        .ne("{}")
                        .or(outbox::recipient_email.is_not_null()),
                ),
        )
        .set((
            outbox::payload.eq("{}"),
            outbox::recipient_email.eq(None::<String>),
        ))
        .execute(c)?;
        diesel::delete(
            outbox::table
                .filter(outbox::status.ne("pending"))
                .filter(outbox::created_at.lt(before))
                .filter(outbox::kind.eq_any(crate::notices::LINK_KINDS)),
        )
        .execute(c)?;
        diesel::delete(
            one_time_tokens::table.filter(
                one_time_tokens::expires_at
                    .lt(before)
                    .or(one_time_tokens::used_at.lt(before)),
            ),
        )
        .execute(c)?;
        Ok(())
    })
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Done {
    pub pupils: usize,
    pub guardians: usize,
    /// people who could not go (one line each in the log) and wait for the next run
    pub kept: usize,
    pub totals: Counts,
    pub mails_emptied: i64,
    pub mails_deleted: i64,
    /// the longest a write transaction of the run held the database (a roll call waiting
    /// for SQLite's one writer waits at most that long)
    pub longest_write: std::time::Duration,
}

/// Applies the policy: each person in turn (`remove_all`), then the old e-mails;
/// the run is written to the audit log by its counts (never names).
pub async fn apply(
    db: &Database,
    policy: Retention,
    today: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<Done> {
    let plan = db.read(move |c| Ok(plan(c, &policy, today, now)?)).await?;
    let mut done = Done {
        mails_emptied: plan.mails_emptied,
        mails_deleted: plan.mails_deleted,
        ..Done::default()
    };
    for p in &plan.people {
        match remove_all(db, p.id).await {
            Ok(took) => {
                done.longest_write = done.longest_write.max(took);
                match p.kind {
                    Kind::Pupil => done.pupils += 1,
                    Kind::Guardian => done.guardians += 1,
                }
                done.totals.add(&p.counts);
            }
            Err(e) => {
                tracing::warn!(person = %p.id, error = %e, "retention: a person could not be removed; the next run tries again");
                done.kept += 1;
            }
        }
    }
    let before = plan.mail_cutoff;
    let summary = json!({
        "years": policy.years, "mail_days": policy.mail_days, "cutoff": plan.cutoff,
        "pupils": done.pupils, "guardians": done.guardians, "kept": done.kept,
        "marks": done.totals.marks, "absence_reports": done.totals.absence_reports,
        "leave_applications": done.totals.leave_applications, "notices": done.totals.notices,
        "audit_rows": done.totals.audit_rows, "statistics_days": done.totals.statistics_days,
        "mails_emptied": done.mails_emptied, "mails_deleted": done.mails_deleted,
    });
    let anything = done.pupils + done.guardians > 0 || done.mails_emptied + done.mails_deleted > 0;
    db.write(move |c| {
        forget_mail(c, before)?;
        // who read what, kept for its own time
        crate::access_log::prune(c, now, policy.access_log_days)?;
        // attempts whose limit window is over (system clock, as the limits keep)
        crate::auth::throttle::sweep(c, crate::school::clock::system_now())?;
        if anything {
            audit::record(
                c,
                Entry {
                    at: now,
                    actor: None,
                    action: "retention.applied",
                    entity: "retention",
                    entity_id: None,
                    detail: summary,
                    client_addr: None,
                },
            )?;
        }
        Ok(())
    })
    .await?;
    Ok(done)
}

/// The server's own runs: the first some minutes after start (not in the start's rush),
/// then once a day. Several instances may run it: a person already gone is simply not
/// found again.
pub async fn run_schedule(
    db: Database,
    policy: Retention,
    tz: chrono_tz::Tz,
    clock: crate::school::clock::Clock,
) {
    let mut wait = std::time::Duration::from_secs(10 * 60);
    loop {
        actix_web::rt::time::sleep(wait).await;
        wait = std::time::Duration::from_secs(24 * 3600);
        match apply(&db, policy, clock.today(tz), clock.now_utc()).await {
            Ok(d) => tracing::info!(
                pupils = d.pupils,
                guardians = d.guardians,
                kept = d.kept,
                marks = d.totals.marks,
                mails_emptied = d.mails_emptied,
                "retention: done"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "retention: the run failed; it runs again tomorrow")
            }
        }
    }
}
