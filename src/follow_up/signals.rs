//! Early signals of repeated or long absence (Skollagen 7 kap. 19 a §): the law sets no
//! number, so the huvudman's administrator writes rules, and every evaluation raises a
//! signal for each pupil a rule catches. A signal is raised once per pupil and rule until
//! someone who follows the pupil up dismisses it with a reason (kept and audited); the
//! partial unique index `signals_open` makes two evaluations at once raise it once.
//!
//! The huvudman's rules hold for every school of the municipality; a school may add rules
//! of its own (a rule of the school's organisation), which only add signals: the
//! huvudman's rules hold whatever the school adds. Each school's threshold notice is such
//! a rule of the school, written by nobody and e-mailed (migration 000022).
//!
//! Most rules read the statistics' per-day sums (`absence_days`), so an evaluation of a
//! whole municipality is one read per school: absence's share of the scheduled minutes
//! over the last days or the term, whole school days absent in a row, separate occasions,
//! the same weekday; counting all, valid or invalid absence. The rules of single lessons
//! (the same subject, the same lesson slot, single lessons missed on a day at school) read
//! the statistics' facts, lesson by lesson, of the pupils with absence in their window
//! only.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{CaseId, OrganisationId, PupilId, SchoolId, SignalId, SignalRuleId};
use crate::school::states::{Counting, RuleKind, SignalStatus};
use crate::school::{Act, Checked, Refusal};

/// The statuses of an open signal (the partial unique index `signals_open` holds one per
/// pupil and rule): raised, seen, or turned into a case not yet closed.
pub const OPEN: [SignalStatus; 3] = [SignalStatus::New, SignalStatus::Seen, SignalStatus::Case];

/// The longest window a rule looks back over.
pub const MAX_WINDOW_DAYS: i32 = 366;
/// The longest reason a dismissal keeps.
pub const MAX_REASON: usize = 500;

/// A rule as the huvudman's administrator writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    pub kind: RuleKind,
    pub counts: Counting,
    pub window_days: i32,
    /// `Share`: per cent of the scheduled minutes
    pub share_pct: Option<i32>,
    /// `DaysInRow`: whole school days absent in a row
    pub days: Option<i32>,
    pub tell_mentor: bool,
    pub tell_principal: bool,
    /// elevhälsan of the pupil's school
    pub tell_health: bool,
    /// the pupil's guardians, by e-mail
    pub tell_guardians: bool,
    /// an e-mail to those it is shown to when a signal is raised
    pub send_email: bool,
}

impl NewRule {
    /// The rule, or the refusal that names the field that is wrong.
    pub fn check(&self) -> Result<(), Refusal> {
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(Refusal::new("signal_window_days_range").with("max", MAX_WINDOW_DAYS));
        }
        match self.kind {
            RuleKind::Share | RuleKind::TermShare
                if !self.share_pct.is_some_and(|p| (1..=100).contains(&p)) =>
            {
                Err(Refusal::new("signal_share_range"))
            }
            RuleKind::DaysInRow
            | RuleKind::Occasions
            | RuleKind::Weekday
            | RuleKind::Subject
            | RuleKind::Slot
            | RuleKind::SingleLessons
                if !self
                    .days
                    .is_some_and(|d| (1..=self.window_days).contains(&d)) =>
            {
                Err(Refusal::new("signal_days_range"))
            }
            _ => Ok(()),
        }
    }
}

/// A stored rule (its fields in `RULE_COLUMNS`' order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable)]
pub struct Rule {
    pub id: SignalRuleId,
    pub kind: RuleKind,
    pub counts: Counting,
    pub window_days: i32,
    pub share_pct: Option<i32>,
    pub days: Option<i32>,
    pub tell_mentor: bool,
    pub tell_principal: bool,
    pub active: bool,
    pub tell_health: bool,
    pub tell_guardians: bool,
    pub send_email: bool,
}

const RULE_COLUMNS: (
    signal_rules::id,
    signal_rules::kind,
    signal_rules::counts,
    signal_rules::window_days,
    signal_rules::share_pct,
    signal_rules::days,
    signal_rules::tell_mentor,
    signal_rules::tell_principal,
    signal_rules::active,
    signal_rules::tell_health,
    signal_rules::tell_guardians,
    signal_rules::send_email,
) = (
    signal_rules::id,
    signal_rules::kind,
    signal_rules::counts,
    signal_rules::window_days,
    signal_rules::share_pct,
    signal_rules::days,
    signal_rules::tell_mentor,
    signal_rules::tell_principal,
    signal_rules::active,
    signal_rules::tell_health,
    signal_rules::tell_guardians,
    signal_rules::send_email,
);

/// The rules of a municipality, or the rules a school added, the running ones first,
/// oldest first.
pub fn rules(conn: &mut DbConn, municipality: OrganisationId) -> AppResult<Vec<Rule>> {
    Ok(signal_rules::table
        .filter(signal_rules::organisation_id.eq(municipality))
        .select(RULE_COLUMNS)
        .order((signal_rules::active.desc(), signal_rules::id))
        .load(conn)?)
}

/// The municipality a school belongs to (whose rules hold for it).
pub fn huvudman_of(conn: &mut DbConn, school: SchoolId) -> AppResult<Option<OrganisationId>> {
    Ok(organisations::table
        .find(school)
        .select(organisations::parent_id)
        .first::<Option<OrganisationId>>(conn)
        .optional()?
        .flatten())
}

/// Adds a rule for the municipality's schools, or for one school (`organisation` is then
/// the school).
pub fn add_rule(
    conn: &mut DbConn,
    act: &Act,
    municipality: OrganisationId,
    r: &NewRule,
) -> Checked<SignalRuleId> {
    if let Err(refusal) = r.check() {
        return Ok(Err(refusal));
    }
    conn.transaction(|conn| {
        let id: SignalRuleId = diesel::insert_into(signal_rules::table)
            .values((
                signal_rules::organisation_id.eq(municipality),
                signal_rules::kind.eq(r.kind),
                signal_rules::counts.eq(r.counts),
                signal_rules::window_days.eq(r.window_days),
                signal_rules::share_pct.eq(r.share_pct.filter(|_| r.kind.is_share())),
                signal_rules::days.eq(r.days.filter(|_| !r.kind.is_share())),
                signal_rules::tell_mentor.eq(r.tell_mentor),
                signal_rules::tell_principal.eq(r.tell_principal),
                signal_rules::tell_health.eq(r.tell_health),
                signal_rules::tell_guardians.eq(r.tell_guardians),
                signal_rules::send_email.eq(r.send_email),
                signal_rules::active.eq(true),
                signal_rules::created_by.eq(Some(act.actor.id)),
                signal_rules::created_at.eq(act.now),
            ))
            .returning(signal_rules::id)
            .get_result(conn)?;
        let detail = json!({"organisation_id": municipality, "kind": r.kind, "counts": r.counts,
            "window_days": r.window_days, "share_pct": r.share_pct, "days": r.days,
            "tell_guardians": r.tell_guardians, "send_email": r.send_email});
        audit::acted(conn, act, "signal_rule.added", "signal_rule", id, detail)?;
        Ok(Ok(id))
    })
}

/// Stops a rule of the municipality (its open signals stay), or starts it again.
pub fn set_rule_active(
    conn: &mut DbConn,
    act: &Act,
    municipality: OrganisationId,
    id: SignalRuleId,
    active: bool,
) -> AppResult<()> {
    conn.transaction(|conn| {
        let mine: i64 = signal_rules::table
            .find(id)
            .filter(signal_rules::organisation_id.eq(municipality))
            .count()
            .get_result(conn)?;
        if mine == 0 {
            return Err(crate::error::AppError::NotFound);
        }
        let changed = diesel::update(
            signal_rules::table
                .find(id)
                .filter(signal_rules::active.eq(!active)),
        )
        .set(signal_rules::active.eq(active))
        .execute(conn)?;
        if changed > 0 {
            let action = if active {
                "signal_rule.started"
            } else {
                "signal_rule.stopped"
            };
            audit::acted(conn, act, action, "signal_rule", id, json!({}))?;
        }
        Ok(())
    })
}

/// One pupil's day as the statistics sum it: (day, scheduled, valid, invalid minutes).
type Day = (NaiveDate, i32, i32, i32);

/// What a rule found for one pupil: the days it is of, counted and scheduled minutes, and
/// the count the rule looks at (the longest run of whole days absent; for occasions and
/// weekdays, how many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub absent_minutes: i32,
    pub scheduled_minutes: i32,
    pub days_in_row: i32,
    /// the subject's code, or the slot as "ISO weekday HH:MM" ("2 08:10")
    pub pattern: Option<String>,
}

/// The minutes a rule counts of (valid, invalid) minutes.
fn minutes(counts: Counting, valid: i32, invalid: i32) -> i32 {
    match counts {
        Counting::All => valid + invalid,
        Counting::Valid => valid,
        Counting::Invalid => invalid,
    }
}

fn counted(counts: Counting, d: &Day) -> i32 {
    minutes(counts, d.2, d.3)
}

/// The first day a rule looks at: its window back from `today`, or for a term's share the
/// term's first day.
pub fn first_day(rule: &Rule, today: NaiveDate) -> NaiveDate {
    match rule.kind {
        RuleKind::TermShare => crate::school::calendar::term_start(today),
        _ => today - Duration::days(i64::from(rule.window_days) - 1),
    }
}

/// Separate occasions of absence: runs of school days with counted absence, broken by a
/// school day without any. (count, first day of the first, last day of the last)
fn occasions(counts: Counting, window: &[&Day]) -> (i32, Option<NaiveDate>, Option<NaiveDate>) {
    let (mut n, mut first, mut last, mut inside) = (0, None, None, false);
    for d in window {
        if counted(counts, d) > 0 {
            if !inside {
                n += 1;
                first = first.or(Some(d.0));
            }
            inside = true;
            last = Some(d.0);
        } else {
            inside = false;
        }
    }
    (n, first, last)
}

/// The weekday with the most school days of counted absence: (how many, first, last).
fn same_weekday(counts: Counting, window: &[&Day]) -> (i32, Option<NaiveDate>, Option<NaiveDate>) {
    use chrono::Datelike;
    let mut best = (0, None, None);
    for wd in 0..7 {
        let hit: Vec<NaiveDate> = window
            .iter()
            .filter(|d| d.0.weekday().num_days_from_monday() == wd && counted(counts, d) > 0)
            .map(|d| d.0)
            .collect();
        if hit.len() as i32 > best.0 {
            best = (hit.len() as i32, hit.first().copied(), hit.last().copied());
        }
    }
    best
}

/// Whether the rule catches a pupil with these days (in date order), and what it found.
pub fn finding(rule: &Rule, days: &[Day], today: NaiveDate) -> Option<Finding> {
    let from = first_day(rule, today);
    let window: Vec<&Day> = days
        .iter()
        .filter(|d| d.0 >= from && d.0 <= today && d.1 > 0)
        .collect();
    let scheduled: i32 = window.iter().map(|d| d.1).sum();
    let absent: i32 = window.iter().map(|d| counted(rule.counts, d)).sum();
    // the longest run of school days (days with lessons) wholly absent, and its last day
    let (mut run, mut best, mut best_end, mut start, mut best_start) = (0, 0, from, from, from);
    for d in &window {
        if counted(rule.counts, d) >= d.1 {
            if run == 0 {
                start = d.0;
            }
            run += 1;
            if run > best {
                (best, best_end, best_start) = (run, d.0, start);
            }
        } else {
            run = 0;
        }
    }
    let share = rule.share_pct.is_some_and(|p| {
        scheduled > 0 && i64::from(absent) * 100 >= i64::from(p) * i64::from(scheduled)
    });
    let at_least = |count: i32| rule.days.is_some_and(|n| count >= n);
    // (caught, the period it is of, the count the rule looks at)
    let (caught, (period_from, period_to), count) = match rule.kind {
        RuleKind::Share | RuleKind::TermShare => (share, (from, today), best),
        RuleKind::DaysInRow => (at_least(best), (best_start, best_end), best),
        RuleKind::Occasions | RuleKind::Weekday => {
            let (n, first, last) = if rule.kind == RuleKind::Occasions {
                occasions(rule.counts, &window)
            } else {
                same_weekday(rule.counts, &window)
            };
            (
                at_least(n),
                (first.unwrap_or(from), last.unwrap_or(today)),
                n,
            )
        }
        // read from single lessons (`lesson_finding`)
        RuleKind::Subject | RuleKind::Slot | RuleKind::SingleLessons => (false, (from, today), 0),
    };
    caught.then_some(Finding {
        from: period_from,
        to: period_to,
        absent_minutes: absent,
        scheduled_minutes: scheduled,
        days_in_row: count,
        pattern: None,
    })
}

/// One pupil's lesson as the statistics' facts give it: (day, start, subject, scheduled,
/// valid, invalid minutes).
pub type Lesson = (NaiveDate, NaiveTime, String, i32, i32, i32);

/// The key that comes back most often, with how many times and its first and last day (the
/// first key of a tie).
fn most_often<K: Ord>(
    hits: impl Iterator<Item = (K, NaiveDate)>,
) -> Option<(i32, NaiveDate, NaiveDate, K)> {
    let mut by: BTreeMap<K, (i32, NaiveDate, NaiveDate)> = BTreeMap::new();
    for (key, day) in hits {
        let e = by.entry(key).or_insert((0, day, day));
        (e.0, e.1, e.2) = (e.0 + 1, e.1.min(day), e.2.max(day));
    }
    let mut best: Option<(i32, NaiveDate, NaiveDate, K)> = None;
    for (key, (n, first, last)) in by {
        if best.as_ref().is_none_or(|b| n > b.0) {
            best = Some((n, first, last, key));
        }
    }
    best
}

/// The lessons missed whole (of the counted absence) on a day the pupil was present, with
/// no absence at all, in a lesson before and in a lesson after: the day of each. `window`
/// is in (day, start) order.
fn single_lessons(counts: Counting, window: &[&Lesson]) -> Vec<NaiveDate> {
    let present = |l: &&Lesson| l.4 + l.5 == 0;
    let mut out = Vec::new();
    for day in window.chunk_by(|a, b| a.0 == b.0) {
        for (i, l) in day.iter().enumerate() {
            let missed = minutes(counts, l.4, l.5) >= l.3;
            if missed && day[..i].iter().any(present) && day[i + 1..].iter().any(present) {
                out.push(l.0);
            }
        }
    }
    out
}

/// Whether a rule of single lessons catches a pupil with these lessons (in day and start
/// order), and what it found: absence in the same subject, or in the same lesson slot (the
/// weekday and start), in at least `days` lessons; or at least `days` single lessons missed
/// on days at school.
pub fn lesson_finding(rule: &Rule, lessons: &[Lesson], today: NaiveDate) -> Option<Finding> {
    let from = first_day(rule, today);
    let window: Vec<&Lesson> = lessons
        .iter()
        .filter(|l| l.0 >= from && l.0 <= today && l.3 > 0)
        .collect();
    let absent = |l: &&&Lesson| minutes(rule.counts, l.4, l.5) > 0;
    let found = match rule.kind {
        RuleKind::Subject => most_often(window.iter().filter(absent).map(|l| (l.2.clone(), l.0)))
            .map(|(n, a, b, subject)| (n, a, b, Some(subject))),
        RuleKind::Slot => most_often(
            window
                .iter()
                .filter(absent)
                .map(|l| ((l.0.weekday().number_from_monday(), l.1), l.0)),
        )
        .map(|(n, a, b, (wd, at))| (n, a, b, Some(format!("{wd} {}", at.format("%H:%M"))))),
        RuleKind::SingleLessons => {
            let days = single_lessons(rule.counts, &window);
            days.first()
                .zip(days.last())
                .map(|(a, b)| (days.len() as i32, *a, *b, None))
        }
        _ => None,
    };
    let (n, first, last, pattern) = found?;
    rule.days.is_some_and(|d| n >= d).then(|| Finding {
        from: first,
        to: last,
        absent_minutes: window.iter().map(|l| minutes(rule.counts, l.4, l.5)).sum(),
        scheduled_minutes: window.iter().map(|l| l.3).sum(),
        days_in_row: n,
        pattern,
    })
}

/// What an evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluated {
    pub rules: usize,
    pub schools: usize,
    pub pupils: usize,
    /// signals raised now (a pupil whose signal is open already is not raised again)
    pub raised: usize,
}

/// The open signals (rule, pupil): not raised again. The unique index holds it if one is
/// raised meanwhile; this spares the writes.
type Open = std::collections::HashSet<(SignalRuleId, PupilId)>;

fn open_signals(conn: &mut DbConn, rules: &[SignalRuleId]) -> AppResult<Open> {
    let mut open = Open::new();
    for chunk in rules.chunks(crate::db::CHUNK) {
        open.extend(
            signals::table
                .filter(signals::status.eq_any(OPEN))
                .filter(signals::rule_id.eq_any(chunk))
                .select((signals::rule_id, signals::pupil_id))
                .load::<(SignalRuleId, PupilId)>(conn)?,
        );
    }
    Ok(open)
}

/// Evaluates every running rule for every school it holds for (the huvudman's for each
/// school of the municipality, a school's own for that school), up to `today`.
pub fn evaluate(
    conn: &mut DbConn,
    today: NaiveDate,
    tz: Tz,
    now: NaiveDateTime,
) -> AppResult<Evaluated> {
    let mut by_org: BTreeMap<OrganisationId, Vec<Rule>> = BTreeMap::new();
    for (org, row) in signal_rules::table
        .filter(signal_rules::active.eq(true))
        .select((signal_rules::organisation_id, RULE_COLUMNS))
        .order(signal_rules::id)
        .load::<(OrganisationId, Rule)>(conn)?
    {
        by_org.entry(org).or_default().push(row);
    }
    let ids: Vec<SignalRuleId> = by_org.values().flatten().map(|r| r.id).collect();
    let open = open_signals(conn, &ids)?;
    let orgs: Vec<OrganisationId> = by_org.keys().copied().collect();
    let schools: Vec<(SchoolId, Option<OrganisationId>)> = organisations::table
        .filter(organisations::org_type.eq("school"))
        .filter(
            organisations::id
                .eq_any(orgs.clone())
                .or(organisations::parent_id.eq_any(orgs)),
        )
        .select((organisations::id, organisations::parent_id))
        .order(organisations::id)
        .load(conn)?;
    let mut done = Evaluated {
        rules: ids.len(),
        ..Evaluated::default()
    };
    let none = Vec::new();
    for (school, parent) in schools {
        let huvudman = parent.and_then(|p| by_org.get(&p)).unwrap_or(&none);
        let own = by_org.get(&school.into()).unwrap_or(&none);
        let rules: Vec<&Rule> = huvudman.iter().chain(own).collect();
        if rules.is_empty() {
            continue;
        }
        done.schools += 1;
        let first = rules
            .iter()
            .map(|r| first_day(r, today))
            .min()
            .unwrap_or(today);
        let pupils = days_of(conn, school, None, first, today)?;
        let lessons = lessons_of(conn, school, &rules, &open, &pupils, today, tz)?;
        done.pupils += pupils.len();
        let mut found: Vec<Found<'_>> = Vec::new();
        for (pupil, days) in &pupils {
            for rule in rules.iter().filter(|r| !open.contains(&(r.id, *pupil))) {
                let caught = if rule.kind.is_lesson() {
                    lessons
                        .get(pupil)
                        .and_then(|l| lesson_finding(rule, l, today))
                } else {
                    finding(rule, days, today)
                };
                if let Some(f) = caught {
                    found.push((rule, *pupil, f));
                }
            }
        }
        done.raised += raise_all(conn, school, &found, today, now)?;
    }
    Ok(done)
}

/// The school's per-day sums from `first` to `today`, pupil by pupil in day order (of the
/// pupils given, or all).
fn days_of(
    conn: &mut DbConn,
    school: SchoolId,
    pupils: Option<&[PupilId]>,
    first: NaiveDate,
    today: NaiveDate,
) -> AppResult<BTreeMap<PupilId, Vec<Day>>> {
    let mut q = absence_days::table
        .filter(absence_days::school_id.eq(school))
        .filter(absence_days::day.between(first, today))
        .into_boxed();
    if let Some(p) = pupils {
        q = q.filter(absence_days::pupil_id.eq_any(p.to_vec()));
    }
    let mut out: BTreeMap<PupilId, Vec<Day>> = BTreeMap::new();
    for (pupil, day, scheduled, valid, invalid) in q
        .select((
            absence_days::pupil_id,
            absence_days::day,
            absence_days::scheduled_minutes,
            absence_days::valid_minutes,
            absence_days::invalid_minutes,
        ))
        .order((absence_days::pupil_id, absence_days::day))
        .load::<(PupilId, NaiveDate, i32, i32, i32)>(conn)?
    {
        out.entry(pupil)
            .or_default()
            .push((day, scheduled, valid, invalid));
    }
    Ok(out)
}

/// The lessons at the school of the pupils with absence in the window of a rule of single
/// lessons whose signal is not open (nobody else can be raised by one), in day and start
/// order; nothing when no such rule runs.
fn lessons_of(
    conn: &mut DbConn,
    school: SchoolId,
    rules: &[&Rule],
    open: &Open,
    days: &BTreeMap<PupilId, Vec<Day>>,
    today: NaiveDate,
    tz: Tz,
) -> AppResult<BTreeMap<PupilId, Vec<Lesson>>> {
    let Some(first) = rules
        .iter()
        .filter(|r| r.kind.is_lesson())
        .map(|r| first_day(r, today))
        .min()
    else {
        return Ok(BTreeMap::new());
    };
    let absent: std::collections::HashSet<PupilId> = days
        .iter()
        .filter(|(p, d)| {
            rules
                .iter()
                .any(|r| r.kind.is_lesson() && !open.contains(&(r.id, **p)))
                && d.iter().any(|d| d.0 >= first && d.2 + d.3 > 0)
        })
        .map(|(p, _)| *p)
        .collect();
    if absent.is_empty() {
        return Ok(BTreeMap::new());
    }
    let subjects: std::collections::HashMap<crate::school::ids::ActivityId, String> =
        activities::table
            .filter(activities::school_id.eq(school))
            .select((
                activities::id,
                activities::subject_code,
                activities::subject_name,
            ))
            .load::<(crate::school::ids::ActivityId, String, String)>(conn)?
            .into_iter()
            .map(|(id, code, name)| (id, if code.is_empty() { name } else { code }))
            .collect();
    // the whole school's lessons in one pass (as the statistics are built), kept for the
    // pupils who may be caught
    let mut out: BTreeMap<PupilId, Vec<Lesson>> = BTreeMap::new();
    use crate::insight::statistics::facts;
    facts::each(conn, facts::Sel::School(school), first, today, tz, |f| {
        if absent.contains(&f.pupil) {
            let subject = subjects.get(&f.activity).cloned().unwrap_or_default();
            let clamp = |m: i64| i32::try_from(m).unwrap_or(i32::MAX);
            out.entry(f.pupil).or_default().push((
                f.date,
                f.starts_at,
                subject,
                clamp(f.scheduled),
                clamp(f.valid),
                clamp(f.invalid),
            ));
        }
    })?;
    for l in out.values_mut() {
        l.sort_by_key(|l| (l.0, l.1));
    }
    Ok(out)
}

/// A signal to raise: its rule, the pupil, and what the rule found.
type Found<'a> = (&'a Rule, PupilId, Finding);

/// Rows a batch of signals is written in (11 values each, well under both databases'
/// bound-parameter limits).
const RAISE_BATCH: usize = 500;

/// Raises the signals, a batch per statement, except where one is open for the pupil and
/// rule (the partial unique index decides, so two evaluations at once raise each once),
/// and tells by e-mail whom each raised signal's rule says. How many were raised.
fn raise_all(
    conn: &mut DbConn,
    school: SchoolId,
    found: &[Found<'_>],
    today: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let mut raised = 0;
    for chunk in found.chunks(RAISE_BATCH) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(rule, pupil, f)| {
                (
                    signals::rule_id.eq(rule.id),
                    signals::pupil_id.eq(*pupil),
                    signals::school_id.eq(school),
                    signals::status.eq(SignalStatus::New),
                    signals::raised_at.eq(now),
                    signals::period_from.eq(f.from),
                    signals::period_to.eq(f.to),
                    signals::absent_minutes.eq(f.absent_minutes),
                    signals::scheduled_minutes.eq(f.scheduled_minutes),
                    signals::days_in_row.eq(f.days_in_row),
                    signals::pattern.eq(f.pattern.clone()),
                )
            })
            .collect();
        let written: Vec<(SignalId, SignalRuleId, PupilId)> = on_backend!(conn, c => diesel::insert_into(signals::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .returning((signals::id, signals::rule_id, signals::pupil_id))
                .get_results(c))?;
        raised += written.len();
        let by_key: std::collections::HashMap<(SignalRuleId, PupilId), &Found<'_>> =
            chunk.iter().map(|x| ((x.0.id, x.1), x)).collect();
        for (id, rule, pupil) in written {
            let Some((rule, _, f)) = by_key.get(&(rule, pupil)) else {
                continue;
            };
            if !(rule.send_email || rule.tell_guardians) {
                continue;
            }
            let tell = crate::notices::Tell {
                staff: rule.send_email,
                mentor: rule.tell_mentor,
                principal: rule.tell_principal,
                health: rule.tell_health,
                guardians: rule.tell_guardians,
            };
            let period = (f.from, f.to);
            crate::notices::signal_raised(conn, id, tell, pupil, school, period, today, now)?;
        }
    }
    Ok(raised)
}

/// At a roll call: the running rules that e-mail (the schools' threshold notices among
/// them) and read the day's sums, for the pupils whose marks changed, so that the e-mail
/// goes the moment a pupil is caught; the daily evaluation does the rest.
pub fn at_once(
    conn: &mut DbConn,
    school: SchoolId,
    pupils: &[PupilId],
    today: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<usize> {
    if pupils.is_empty() {
        return Ok(0);
    }
    let huvudman = organisations::table
        .filter(organisations::id.eq(school))
        .select(organisations::parent_id.assume_not_null());
    let rules: Vec<Rule> = signal_rules::table
        .filter(signal_rules::active.eq(true))
        .filter(signal_rules::send_email.eq(true))
        .filter(
            signal_rules::organisation_id
                .eq(OrganisationId::from(school))
                .or(signal_rules::organisation_id.eq_any(huvudman)),
        )
        .select(RULE_COLUMNS)
        .order(signal_rules::id)
        .load::<Rule>(conn)?
        .into_iter()
        .filter(|r| !r.kind.is_lesson())
        .collect();
    let Some(first) = rules.iter().map(|r| first_day(r, today)).min() else {
        return Ok(0);
    };
    let ids: Vec<SignalRuleId> = rules.iter().map(|r| r.id).collect();
    let open: Open = signals::table
        .filter(signals::status.eq_any(OPEN))
        .filter(signals::rule_id.eq_any(ids))
        .filter(signals::pupil_id.eq_any(pupils.to_vec()))
        .select((signals::rule_id, signals::pupil_id))
        .load::<(SignalRuleId, PupilId)>(conn)?
        .into_iter()
        .collect();
    let mut found: Vec<Found<'_>> = Vec::new();
    for (pupil, days) in days_of(conn, school, Some(pupils), first, today)? {
        for rule in rules.iter().filter(|r| !open.contains(&(r.id, pupil))) {
            if let Some(f) = finding(rule, &days, today) {
                found.push((rule, pupil, f));
            }
        }
    }
    raise_all(conn, school, &found, today, now)
}

/// A signal as the list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SignalLine {
    pub id: SignalId,
    pub pupil: PupilId,
    pub name: String,
    /// the pupil's classes today
    pub class: Option<String>,
    pub school: String,
    pub school_id: SchoolId,
    pub status: SignalStatus,
    /// the investigation it was turned into
    pub case: Option<CaseId>,
    pub raised_at: NaiveDateTime,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub absent_minutes: i32,
    pub scheduled_minutes: i32,
    pub days_in_row: i32,
    /// the subject's code, or the slot ("2 08:10"), of a rule of single lessons
    pub pattern: Option<String>,
    pub rule: Rule,
}

type SignalRow = (
    (
        Option<CaseId>,
        SchoolId,
        SignalId,
        PupilId,
        SignalStatus,
        NaiveDateTime,
        NaiveDate,
        NaiveDate,
        i32,
        i32,
        i32,
        Option<String>,
    ),
    Rule,
    (String, String),
    String,
);

impl SignalLine {
    /// Whether the line is of the school and the class asked for (`None`: any).
    pub fn in_view(&self, school: Option<SchoolId>, class: Option<&str>) -> bool {
        school.is_none_or(|s| s == self.school_id)
            && class.is_none_or(|c| self.class.as_deref() == Some(c))
    }
}

/// The signals of the pupils `$v` follows up on `$today`: of the schools they lead or are a
/// member of elevhälsan at, and of the groups they mentor, as far as each signal's rule is
/// for principals, elevhälsan or mentors (a query joined with `signal_rules`).
macro_rules! followed_up_by {
    ($v:expr, $today:expr) => {{
        let mentored = group_memberships::table
            .filter(group_memberships::group_id.eq_any($v.roles.mentor_of.clone()))
            .filter(crate::school::membership::on($today))
            .select(group_memberships::pupil_id);
        signals::school_id
            .eq_any($v.roles.principal_of.clone())
            .and(signal_rules::tell_principal.eq(true))
            .or(signals::pupil_id
                .eq_any(mentored)
                .and(signal_rules::tell_mentor.eq(true)))
            .or(signals::school_id
                .eq_any($v.roles.health_of.clone())
                .and(signal_rules::tell_health.eq(true)))
    }};
}

/// Whether the viewer follows pupils up: a principal, a mentor or a member of elevhälsan.
pub fn follows_up(v: &Viewer) -> bool {
    let r = &v.roles;
    !(r.principal_of.is_empty() && r.mentor_of.is_empty() && r.health_of.is_empty())
}

/// How many new signals the viewer has (the start page's count): one count, no rows.
pub fn new_for(conn: &mut DbConn, v: &Viewer, today: NaiveDate) -> AppResult<i64> {
    if !follows_up(v) {
        return Ok(0);
    }
    Ok(signals::table
        .inner_join(signal_rules::table)
        .filter(signals::status.eq(SignalStatus::New))
        .filter(followed_up_by!(v, today))
        .count()
        .get_result(conn)?)
}

/// The open signals (new and seen) of the pupils the viewer follows up: every pupil of the
/// schools they lead, and the pupils of the groups they mentor today, as far as each
/// signal's rule is for principals or for mentors. New ones first.
pub fn for_viewer(conn: &mut DbConn, v: &Viewer, today: NaiveDate) -> AppResult<Vec<SignalLine>> {
    if !follows_up(v) {
        return Ok(Vec::new());
    }
    let rows: Vec<SignalRow> = signals::table
        .inner_join(signal_rules::table)
        .inner_join(people::table.on(people::id.eq(signals::pupil_id)))
        .inner_join(organisations::table.on(organisations::id.eq(signals::school_id)))
        .filter(signals::status.eq_any(OPEN))
        .filter(followed_up_by!(v, today))
        .select((
            (
                signals::case_id,
                signals::school_id,
                signals::id,
                signals::pupil_id,
                signals::status,
                signals::raised_at,
                signals::period_from,
                signals::period_to,
                signals::absent_minutes,
                signals::scheduled_minutes,
                signals::days_in_row,
                signals::pattern,
            ),
            RULE_COLUMNS,
            (people::given_name, people::family_name),
            organisations::name,
        ))
        .order((signals::raised_at.desc(), signals::id.desc()))
        .limit(500)
        .load(conn)?;
    let pupils: Vec<PupilId> = rows.iter().map(|r| r.0 .3).collect();
    let classes = crate::insight::statistics::overview::classes_on(conn, &pupils, today)?;
    let mut out: Vec<SignalLine> = rows
        .into_iter()
        .map(
            |(
                (
                    case,
                    school_id,
                    id,
                    pupil,
                    status,
                    raised_at,
                    from,
                    to,
                    absent,
                    scheduled,
                    days,
                    pattern,
                ),
                rule,
                (given, family),
                school,
            )| SignalLine {
                id,
                pupil,
                name: crate::school::full_name(&given, &family),
                class: classes.get(&pupil).cloned(),
                school,
                school_id,
                status,
                case,
                raised_at,
                period_from: from,
                period_to: to,
                absent_minutes: absent,
                scheduled_minutes: scheduled,
                days_in_row: days,
                pattern,
                rule,
            },
        )
        .collect();
    // new before seen, each newest first (the sort keeps that order)
    out.sort_by_key(|l| l.status != SignalStatus::New);
    Ok(out)
}

/// The signal, when the viewer follows its pupil up (404 otherwise): its pupil and status.
fn in_reach(
    conn: &mut DbConn,
    v: &Viewer,
    id: SignalId,
    today: NaiveDate,
) -> AppResult<(PupilId, SignalStatus)> {
    let row: Option<(PupilId, SchoolId, SignalStatus)> = signals::table
        .find(id)
        .select((signals::pupil_id, signals::school_id, signals::status))
        .first(conn)
        .optional()?;
    let Some((pupil, school, status)) = row else {
        return Err(crate::error::AppError::NotFound);
    };
    if v.roles.principal_of.contains(&school) || v.roles.health_of.contains(&school) {
        return Ok((pupil, status));
    }
    let mentors: i64 = group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .filter(group_memberships::group_id.eq_any(v.roles.mentor_of.clone()))
        .filter(crate::school::membership::on(today))
        .count()
        .get_result(conn)?;
    if mentors > 0 {
        Ok((pupil, status))
    } else {
        Err(crate::error::AppError::NotFound)
    }
}

/// Someone who follows the pupil up has seen the signal (a new one only; seen again
/// changes nothing).
pub fn mark_seen(conn: &mut DbConn, act: &Act, id: SignalId) -> AppResult<()> {
    conn.transaction(|conn| {
        let (pupil, _) = in_reach(conn, act.actor, id, act.today)?;
        let moved = diesel::update(
            signals::table
                .find(id)
                .filter(signals::status.eq(SignalStatus::New)),
        )
        .set((
            signals::status.eq(SignalStatus::Seen),
            signals::seen_by.eq(act.actor.id),
            signals::seen_at.eq(act.now),
        ))
        .execute(conn)?;
        if moved > 0 {
            audit::acted(
                conn,
                act,
                "signal.seen",
                "signal",
                id,
                json!({"pupil_id": pupil}),
            )?;
        }
        Ok(())
    })
}

/// Dismisses an open signal with the reason the dismissal keeps (1 to 500 characters);
/// the rule may raise it again later. A dismissed signal stays dismissed.
pub fn dismiss(conn: &mut DbConn, act: &Act, id: SignalId, reason: &str) -> Checked<()> {
    let reason = reason.trim();
    conn.transaction(|conn| {
        // out of reach is a 404 whatever the reason says
        let (pupil, _) = in_reach(conn, act.actor, id, act.today)?;
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            let refusal = Refusal::new("signal_dismiss_reason_required").with("max", MAX_REASON);
            return Ok(Err(refusal));
        }
        // a signal turned into a case ends with its case
        let moved = diesel::update(
            signals::table
                .find(id)
                .filter(signals::status.eq_any([SignalStatus::New, SignalStatus::Seen])),
        )
        .set((
            signals::status.eq(SignalStatus::Dismissed),
            signals::dismissed_reason.eq(reason),
            signals::dismissed_by.eq(act.actor.id),
            signals::dismissed_at.eq(act.now),
        ))
        .execute(conn)?;
        if moved > 0 {
            // the reason stays with the signal, not in the log
            let detail = json!({"pupil_id": pupil});
            audit::acted(conn, act, "signal.dismissed", "signal", id, detail)?;
        }
        Ok(Ok(()))
    })
}

/// Evaluates the rules once a day (the first run ten minutes after start), on the
/// service's clock.
pub async fn run_schedule(
    db: crate::db::Database,
    tz: chrono_tz::Tz,
    clock: crate::school::clock::Clock,
) {
    let mut wait = std::time::Duration::from_secs(10 * 60);
    loop {
        actix_web::rt::time::sleep(wait).await;
        wait = std::time::Duration::from_secs(24 * 3600);
        let (today, now) = (clock.today(tz), clock.now_utc());
        match db.write(move |c| evaluate(c, today, tz, now)).await {
            Ok(e) => tracing::info!(
                rules = e.rules,
                schools = e.schools,
                pupils = e.pupils,
                raised = e.raised,
                "signals: evaluated"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "signals: the evaluation failed; it runs again tomorrow")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rule(
        kind: RuleKind,
        counts: Counting,
        window: i32,
        pct: Option<i32>,
        days: Option<i32>,
    ) -> Rule {
        Rule {
            id: SignalRuleId(1),
            kind,
            counts,
            window_days: window,
            share_pct: pct,
            days,
            tell_mentor: true,
            tell_principal: true,
            active: true,
            tell_health: false,
            tell_guardians: false,
            send_email: false,
        }
    }

    #[test]
    fn a_share_rule_catches_at_its_share_and_not_just_under() {
        let today = d("2026-12-04");
        // four days of 100 minutes: 10 % is 40 minutes
        let days = |invalid: i32| -> Vec<Day> {
            vec![
                (d("2026-12-01"), 100, 0, invalid),
                (d("2026-12-02"), 100, 0, 0),
                (d("2026-12-03"), 100, 0, 0),
                (d("2026-12-04"), 100, 0, 0),
            ]
        };
        let r = rule(RuleKind::Share, Counting::Invalid, 28, Some(10), None);
        let f = finding(&r, &days(40), today).unwrap();
        assert_eq!((f.absent_minutes, f.scheduled_minutes), (40, 400));
        assert_eq!((f.from, f.to), (d("2026-11-07"), today));
        assert_eq!(finding(&r, &days(39), today), None);
        // valid absence is not counted by a rule of invalid absence, and is by one of all
        let valid: Vec<Day> = days(0)
            .into_iter()
            .map(|(a, s, _, _)| (a, s, 40, 0))
            .collect();
        assert_eq!(finding(&r, &valid, today), None);
        let all = rule(RuleKind::Share, Counting::All, 28, Some(10), None);
        assert!(finding(&all, &valid, today).is_some());
        // outside the window is not counted
        let short = rule(RuleKind::Share, Counting::Invalid, 3, Some(10), None);
        assert_eq!(finding(&short, &days(400), today), None);
    }

    #[test]
    fn a_days_in_row_rule_counts_whole_school_days_absent() {
        let today = d("2026-12-07");
        // Thu, Fri absent; the weekend has no lessons (no rows); Mon absent: three in a row
        let mut days: Vec<Day> = vec![
            (d("2026-12-02"), 300, 0, 0),
            (d("2026-12-03"), 300, 300, 0),
            (d("2026-12-04"), 240, 200, 40),
            (d("2026-12-07"), 300, 300, 0),
        ];
        let r = rule(RuleKind::DaysInRow, Counting::All, 14, None, Some(3));
        let f = finding(&r, &days, today).unwrap();
        assert_eq!(f.days_in_row, 3);
        assert_eq!((f.from, f.to), (d("2026-12-03"), today));
        // Monday only partly absent: two in a row, just under
        days[3] = (d("2026-12-07"), 300, 299, 0);
        assert_eq!(finding(&r, &days, today), None);
        assert_eq!(
            finding(
                &rule(RuleKind::DaysInRow, Counting::Valid, 14, None, Some(2)),
                &days,
                today
            ),
            None,
            "Friday's invalid minutes are not valid absence"
        );
    }

    #[test]
    fn a_term_share_counts_from_the_term_s_first_day() {
        let today = d("2026-12-04");
        // ten school days this term of 100 minutes, and one before the term began
        let days = |absent: i32| -> Vec<Day> {
            let mut v: Vec<Day> = vec![(d("2026-06-15"), 100, 0, 100)];
            v.extend((0..10).map(|n| {
                let day = d("2026-11-20") + Duration::days(n);
                (day, 100, 0, if n == 0 { absent } else { 0 })
            }));
            v
        };
        let r = rule(RuleKind::TermShare, Counting::Invalid, 366, Some(10), None);
        let f = finding(&r, &days(100), today).unwrap();
        assert_eq!(
            (f.from, f.absent_minutes, f.scheduled_minutes),
            (d("2026-07-01"), 100, 1000)
        );
        assert_eq!(
            finding(&r, &days(99), today),
            None,
            "9.9 %, and June is last term"
        );
    }

    #[test]
    fn occasions_are_runs_of_days_with_absence() {
        let today = d("2026-12-04");
        // absent Mon–Tue, present Wed, absent Thu, present Fri, absent the next Mon (a
        // minute): three occasions
        let mut days: Vec<Day> = vec![
            (d("2026-11-23"), 300, 0, 300),
            (d("2026-11-24"), 300, 0, 20),
            (d("2026-11-25"), 300, 0, 0),
            (d("2026-11-26"), 300, 40, 0),
            (d("2026-11-27"), 300, 0, 0),
            (d("2026-11-30"), 300, 0, 1),
        ];
        let r = rule(RuleKind::Occasions, Counting::All, 14, None, Some(3));
        let f = finding(&r, &days, today).unwrap();
        assert_eq!(
            (f.days_in_row, f.from, f.to),
            (3, d("2026-11-23"), d("2026-11-30"))
        );
        // the last one joined to the one before: two, just under
        days[4] = (d("2026-11-27"), 300, 0, 5);
        assert_eq!(finding(&r, &days, today), None);
    }

    #[test]
    fn the_same_weekday_again_is_a_pattern() {
        let today = d("2026-12-04");
        // four Mondays in the window: absent on three of them (a lesson each)
        let mondays = ["2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"];
        let mut days: Vec<Day> = mondays
            .iter()
            .enumerate()
            .map(|(i, m)| (d(m), 300, 0, if i == 1 { 0 } else { 60 }))
            .collect();
        days.push((d("2026-11-17"), 300, 0, 60));
        days.sort();
        let r = rule(RuleKind::Weekday, Counting::Invalid, 28, None, Some(3));
        let f = finding(&r, &days, today).unwrap();
        assert_eq!(
            (f.days_in_row, f.from, f.to),
            (3, d("2026-11-09"), d("2026-11-30"))
        );
        // two Mondays and a Tuesday: no pattern
        days.retain(|x| x.0 != d("2026-11-30"));
        assert_eq!(finding(&r, &days, today), None);
    }

    fn t(s: &str) -> NaiveTime {
        s.parse().unwrap()
    }

    /// A lesson of 60 minutes with `absent` invalid minutes.
    fn lesson(day: &str, at: &str, subject: &str, absent: i32) -> Lesson {
        (d(day), t(at), subject.to_owned(), 60, 0, absent)
    }

    #[test]
    fn the_same_subject_or_slot_again_is_a_pattern() {
        let today = d("2026-12-04");
        // maths on Tuesdays at 10:00, missed three times; other lessons missed once each
        let mut lessons = vec![
            lesson("2026-11-17", "10:00", "MA", 60),
            lesson("2026-11-17", "08:00", "SV", 0),
            lesson("2026-11-20", "13:00", "MA", 10),
            lesson("2026-11-24", "10:00", "MA", 60),
            lesson("2026-11-24", "13:00", "EN", 60),
            lesson("2026-12-01", "10:00", "MA", 60),
            lesson("2026-12-02", "10:00", "SV", 60),
        ];
        lessons.sort_by_key(|l| (l.0, l.1));
        let subject = rule(RuleKind::Subject, Counting::Invalid, 28, None, Some(4));
        let f = lesson_finding(&subject, &lessons, today).unwrap();
        assert_eq!(
            (f.days_in_row, f.pattern.as_deref(), f.from, f.to),
            (4, Some("MA"), d("2026-11-17"), d("2026-12-01"))
        );
        let slot = rule(RuleKind::Slot, Counting::Invalid, 28, None, Some(3));
        let f = lesson_finding(&slot, &lessons, today).unwrap();
        assert_eq!((f.days_in_row, f.pattern.as_deref()), (3, Some("2 10:00")));
        // just under: the Friday maths was not absence, and one Tuesday is gone
        lessons.retain(|l| l.0 != d("2026-11-20"));
        assert_eq!(lesson_finding(&subject, &lessons, today), None);
        lessons.retain(|l| l.0 != d("2026-12-01"));
        assert_eq!(lesson_finding(&slot, &lessons, today), None);
        // valid absence is not counted by a rule of invalid absence
        assert_eq!(
            lesson_finding(
                &rule(RuleKind::Subject, Counting::Valid, 28, None, Some(1)),
                &lessons,
                today
            ),
            None
        );
    }

    #[test]
    fn a_single_lesson_missed_between_lessons_attended() {
        let today = d("2026-12-04");
        let day = |date: &str, absent: [i32; 3]| -> Vec<Lesson> {
            ["08:00", "10:00", "13:00"]
                .iter()
                .zip(absent)
                .map(|(at, a)| lesson(date, at, "X", a))
                .collect()
        };
        // Monday: the middle lesson missed between two attended; Tuesday the same;
        // Wednesday the last lesson missed (gone home, not a single lesson); Thursday the
        // middle one only partly missed
        let mut lessons = day("2026-11-30", [0, 60, 0]);
        lessons.extend(day("2026-12-01", [0, 60, 0]));
        lessons.extend(day("2026-12-02", [0, 0, 60]));
        lessons.extend(day("2026-12-03", [0, 30, 0]));
        let r = rule(RuleKind::SingleLessons, Counting::All, 14, None, Some(2));
        let f = lesson_finding(&r, &lessons, today).unwrap();
        assert_eq!(
            (f.days_in_row, f.from, f.to),
            (2, d("2026-11-30"), d("2026-12-01"))
        );
        // the Tuesday's first lesson missed too: no lesson attended before the middle one
        lessons[3].5 = 60;
        assert_eq!(lesson_finding(&r, &lessons, today), None);
    }

    #[test]
    fn a_rule_names_what_is_wrong_with_it() {
        let ok = NewRule {
            kind: RuleKind::Share,
            counts: Counting::All,
            window_days: 28,
            share_pct: Some(10),
            days: None,
            tell_mentor: true,
            tell_principal: true,
            tell_health: true,
            tell_guardians: false,
            send_email: false,
        };
        assert_eq!(ok.check(), Ok(()));
        let code = |r: NewRule| r.check().unwrap_err().code;
        assert_eq!(
            code(NewRule {
                window_days: 0,
                ..ok.clone()
            }),
            "signal_window_days_range"
        );
        assert_eq!(
            code(NewRule {
                share_pct: Some(101),
                ..ok.clone()
            }),
            "signal_share_range"
        );
        assert_eq!(
            code(NewRule {
                share_pct: None,
                ..ok.clone()
            }),
            "signal_share_range"
        );
        let row = NewRule {
            kind: RuleKind::DaysInRow,
            days: Some(29),
            ..ok.clone()
        };
        assert_eq!(code(row.clone()), "signal_days_range");
        assert_eq!(
            NewRule {
                days: Some(5),
                ..row
            }
            .check(),
            Ok(())
        );
    }
}
