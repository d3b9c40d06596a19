//! The roll call: who was in a lesson. A teacher's report stores only the exceptions
//! (absent, late, left early, partly absent); everyone else was present. Pupils covered by
//! a guardian's report or granted leave are pre-marked as valid absence, and no bulk
//! action overwrites them. Every change goes to the audit log, in the same transaction;
//! a form based on an older version of the roll call is refused with what changed.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::absence::{self, Cover};
use crate::audit::{self, Entry};
use crate::auth::access::{LessonReach, LessonRef};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::schema::*;
use crate::statistics::facts::Sel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Present,
    Absent,
    Late,
    LeftEarly,
    PartlyAbsent,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Present,
        Status::Absent,
        Status::Late,
        Status::LeftEarly,
        Status::PartlyAbsent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Absent => "absent",
            Status::Late => "late",
            Status::LeftEarly => "left_early",
            Status::PartlyAbsent => "partly_absent",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Status::Present => lang.pick("Närvarande", "Present"),
            Status::Absent => lang.pick("Frånvarande", "Absent"),
            Status::Late => lang.pick("Sen", "Late"),
            Status::LeftEarly => lang.pick("Gick tidigt", "Left early"),
            Status::PartlyAbsent => lang.pick("Delvis frånvarande", "Partly absent"),
        }
    }

    /// Whether the mark is for some minutes of the lesson rather than all of it.
    pub fn takes_minutes(self) -> bool {
        matches!(
            self,
            Status::Late | Status::LeftEarly | Status::PartlyAbsent
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LessonInfo {
    pub id: i64,
    pub date: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub minutes: i32,
    pub subject: String,
    pub groups: Vec<String>,
    pub room: Option<String>,
    pub cancelled: bool,
    pub school_id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    pub id: i64,
    pub name_sv: String,
    pub name_en: String,
    pub is_valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub status: Status,
    pub minutes: i32,
    pub reason_id: Option<i64>,
}

impl Mark {
    pub const PRESENT: Mark = Mark {
        status: Status::Present,
        minutes: 0,
        reason_id: None,
    };
}

#[derive(Debug, Clone)]
pub struct PupilLine {
    pub id: i64,
    pub name: String,
    pub mark: Mark,
    /// A stored mark (false: present by default, or pre-marked from a cover).
    pub stored: bool,
    pub covered_by: Option<Cover>,
}

#[derive(Debug, Clone)]
pub struct ReportInfo {
    pub by: String,
    pub at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone)]
pub struct RollCall {
    pub lesson: LessonInfo,
    pub pupils: Vec<PupilLine>,
    pub report: Option<ReportInfo>,
    pub reasons: Vec<Reason>,
}

impl RollCall {
    pub fn version(&self) -> i32 {
        self.report.as_ref().map_or(0, |r| r.version)
    }

    pub fn reason_name(&self, id: i64, lang: Lang) -> Option<&str> {
        self.reasons
            .iter()
            .find(|r| r.id == id)
            .map(|r| lang.pick(&r.name_sv, &r.name_en))
    }
}

/// The lesson, its activity, and the organisation whose absence reasons apply (the
/// school's municipality), in one query; and the names of its groups.
fn lesson_info(conn: &mut DbConn, lesson_id: i64) -> AppResult<(LessonInfo, i64, i64)> {
    #[allow(clippy::type_complexity)]
    let row: (
        (
            i64,
            NaiveDate,
            NaiveTime,
            NaiveTime,
            i32,
            Option<String>,
            bool,
            i64,
            i64,
        ),
        String,
        Option<i64>,
    ) = lessons::table
        .inner_join(activities::table)
        .inner_join(organisations::table.on(organisations::id.eq(lessons::school_id)))
        .filter(lessons::id.eq(lesson_id))
        .select((
            (
                lessons::id,
                lessons::lesson_date,
                lessons::starts_at,
                lessons::ends_at,
                lessons::teaching_minutes,
                lessons::room,
                lessons::cancelled,
                lessons::activity_id,
                lessons::school_id,
            ),
            activities::subject_name,
            organisations::parent_id,
        ))
        .first(conn)?;
    let (
        (id, date, starts_at, ends_at, minutes, room, cancelled, activity, school_id),
        subject,
        parent,
    ) = row;
    let groups = activity_groups::table
        .inner_join(groups::table)
        .filter(activity_groups::activity_id.eq(activity))
        .select(groups::name)
        .order(groups::name)
        .load(conn)?;
    let info = LessonInfo {
        id,
        date,
        starts_at,
        ends_at,
        minutes,
        room,
        cancelled,
        subject,
        groups,
        school_id,
    };
    Ok((info, activity, parent.unwrap_or(school_id)))
}

/// The reasons staff may choose, and the leave reason ("LEDIG") if the organisation has one.
fn reasons_of(conn: &mut DbConn, org: i64) -> AppResult<(Vec<Reason>, Option<i64>)> {
    let rows: Vec<(i64, String, String, String, bool, bool)> = absence_reasons::table
        .filter(absence_reasons::organisation_id.eq(org))
        .filter(absence_reasons::active.eq(true))
        .select((
            absence_reasons::id,
            absence_reasons::code,
            absence_reasons::name_sv,
            absence_reasons::name_en,
            absence_reasons::is_valid,
            absence_reasons::staff_selectable,
        ))
        .order((absence_reasons::sort_order, absence_reasons::id))
        .load(conn)?;
    let leave = rows.iter().find(|r| r.1 == "LEDIG").map(|r| r.0);
    let staff = rows
        .into_iter()
        .filter(|r| r.5)
        .map(|(id, _, name_sv, name_en, is_valid, _)| Reason {
            id,
            name_sv,
            name_en,
            is_valid,
        })
        .collect();
    Ok((staff, leave))
}

/// The roll call of a lesson the viewer may see (`lesson` comes from `access::lesson`).
pub fn load(conn: &mut DbConn, lesson: &LessonRef, tz: Tz, lang: Lang) -> AppResult<RollCall> {
    let (info, activity, org) = lesson_info(conn, lesson.id)?;
    let (reasons, leave_reason) = reasons_of(conn, org)?;
    let date = info.date;
    let members: Vec<(i64, String, String, String)> = group_memberships::table
        .inner_join(
            activity_groups::table.on(activity_groups::group_id.eq(group_memberships::group_id)),
        )
        .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
        .filter(activity_groups::activity_id.eq(activity))
        .filter(crate::membership::on(date))
        .select((
            people::id,
            people::given_name,
            people::family_name,
            people::security_marking,
        ))
        .distinct()
        .load(conn)?;
    let mut members = members;
    members.sort_by(|a, b| (&a.2, &a.1, a.0).cmp(&(&b.2, &b.1, b.0)));
    let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
    let marks: HashMap<i64, Mark> = attendance_marks::table
        .filter(attendance_marks::lesson_id.eq(lesson.id))
        .select((
            attendance_marks::pupil_id,
            attendance_marks::status,
            attendance_marks::minutes,
            attendance_marks::reason_id,
        ))
        .load::<(i64, String, i32, Option<i64>)>(conn)?
        .into_iter()
        .map(|(p, s, minutes, reason_id)| {
            // a mark this version cannot read is never shown as "present": the page fails
            // and the log says which mark
            let status = Status::parse(&s).ok_or_else(|| {
                AppError::internal(format!(
                    "lesson {}: the stored mark of pupil {p} has the unknown status {s:?}",
                    lesson.id
                ))
            })?;
            Ok((
                p,
                Mark {
                    status,
                    minutes,
                    reason_id,
                },
            ))
        })
        .collect::<AppResult<_>>()?;
    let window = absence::utc_window(tz, date, info.starts_at, info.ends_at);
    let covers = absence::covers_for_lesson(conn, &ids, window, date, leave_reason)?;
    let report: Option<(String, String, NaiveDateTime, i32)> = lesson_reports::table
        .inner_join(people::table.on(people::id.eq(lesson_reports::reported_by)))
        .filter(lesson_reports::lesson_id.eq(lesson.id))
        .select((
            people::given_name,
            people::family_name,
            lesson_reports::reported_at,
            lesson_reports::version,
        ))
        .first(conn)
        .optional()?;
    let hide_protected = lesson.reach == LessonReach::Admin;
    let pupils = members
        .into_iter()
        .map(|(id, given, family, marking)| {
            let covered_by = covers.get(&id).copied();
            let (mark, stored) = match marks.get(&id) {
                Some(m) => (m.clone(), true),
                None => (pre_mark(covered_by, info.minutes), false),
            };
            let name = if hide_protected && marking != "none" {
                format!(
                    "{} (id {id})",
                    lang.pick("Skyddad identitet", "Protected identity")
                )
            } else {
                format!("{given} {family}")
            };
            PupilLine {
                id,
                name,
                mark,
                stored,
                covered_by,
            }
        })
        .collect();
    Ok(RollCall {
        reasons,
        lesson: info,
        pupils,
        report: report.map(|(g, f, at, version)| ReportInfo {
            by: format!("{g} {f}"),
            at,
            version,
        }),
    })
}

/// A covered pupil is absent with the cover's reason until someone says otherwise.
fn pre_mark(cover: Option<Cover>, minutes: i32) -> Mark {
    match cover {
        Some(c) => Mark {
            status: Status::Absent,
            minutes,
            reason_id: c.reason_id,
        },
        None => Mark::PRESENT,
    }
}

/// One pupil's mark as asked for.
#[derive(Debug, Clone)]
pub struct MarkInput {
    pub pupil_id: i64,
    pub status: Status,
    pub minutes: Option<i32>,
    pub reason_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub marks: Vec<MarkInput>,
    /// The roll-call version the form was based on; None: apply on top of whatever is stored.
    pub expected_version: Option<i32>,
    /// Why a reported lesson is changed after its day.
    pub correction_reason: Option<String>,
}

/// A change someone else saved since the form was opened.
#[derive(Debug, Clone)]
pub struct Stale {
    pub current: RollCall,
}

fn invalid(lang: Lang, code: Code, sv: &str, en: &str) -> AppError {
    AppError::invalid(code, lang.pick(sv, en))
}

/// Checks one input against the lesson and the reasons; the mark to store.
fn checked_mark(input: &MarkInput, rc: &RollCall, lang: Lang) -> AppResult<Mark> {
    let lesson_minutes = rc.lesson.minutes;
    let minutes = if input.status.takes_minutes() {
        match input.minutes {
            Some(m) if m >= 1 && m <= lesson_minutes => m,
            Some(_) => {
                return Err(AppError::invalid(Code::BadMinutes, match lang {
                    Lang::Sv => format!("Minuterna ska vara mellan 1 och {lesson_minutes} (lektionens längd)."),
                    Lang::En => format!("Minutes must be between 1 and {lesson_minutes} (the length of the lesson)."),
                }))
            }
            None => return Err(invalid(lang, Code::MinutesRequired, "Skriv hur många minuter för sen ankomst, tidigt gående eller delvis frånvaro.", "Give the minutes for a late arrival, leaving early or partial absence.")),
        }
    } else if input.status == Status::Absent {
        lesson_minutes
    } else {
        0
    };
    let reason_id = match (input.status, input.reason_id) {
        (Status::Present, _) | (_, None) => None,
        (_, Some(r)) if rc.reasons.iter().any(|x| x.id == r) => Some(r),
        (_, Some(r))
            if rc.pupils.iter().any(|p| {
                p.id == input.pupil_id && p.covered_by.and_then(|c| c.reason_id) == Some(r)
            }) =>
        {
            Some(r)
        }
        (_, Some(_)) => {
            return Err(invalid(
                lang,
                Code::UnknownReason,
                "Orsaken finns inte i skolans lista.",
                "That reason is not in the school's list.",
            ))
        }
    };
    Ok(Mark {
        status: input.status,
        minutes,
        reason_id,
    })
}

/// Saves a roll call. `Ok(Err(Stale))` when the form was based on an older version; nothing
/// is stored then. Any invalid value refuses the whole submission.
#[allow(clippy::too_many_arguments)]
pub fn submit(
    conn: &mut DbConn,
    viewer: &Viewer,
    lesson: &LessonRef,
    sub: &Submission,
    policy: &crate::notices::Policy,
    today: NaiveDate,
    now: NaiveDateTime,
    addr: &str,
    lang: Lang,
) -> AppResult<Result<RollCall, Stale>> {
    let tz = policy.tz;
    if !matches!(lesson.reach, LessonReach::Teacher | LessonReach::Substitute) {
        return Err(AppError::Forbidden(
            lang.pick(
                "Bara lektionens lärare och vikarie rapporterar den.",
                "Only the lesson's teachers and substitute report it.",
            )
            .into(),
        ));
    }
    let attempt = conn.transaction(|conn| {
        // Claim the report row first: the write lock orders concurrent submissions.
        let bumped: Option<i32> = match sub.expected_version {
            Some(v) => diesel::update(lesson_reports::table.filter(lesson_reports::lesson_id.eq(lesson.id)).filter(lesson_reports::version.eq(v)))
                .set(lesson_reports::version.eq(lesson_reports::version + 1))
                .returning(lesson_reports::version)
                .get_result(conn)
                .optional()?,
            None => diesel::update(lesson_reports::table.filter(lesson_reports::lesson_id.eq(lesson.id)))
                .set(lesson_reports::version.eq(lesson_reports::version + 1))
                .returning(lesson_reports::version)
                .get_result(conn)
                .optional()?,
        };
        let first_report = bumped.is_none();
        if first_report {
            let exists: i64 = lesson_reports::table.filter(lesson_reports::lesson_id.eq(lesson.id)).count().get_result(conn)?;
            if exists > 0 || sub.expected_version.is_some_and(|v| v != 0) {
                return Err(stale());
            }
            let inserted = diesel::insert_into(lesson_reports::table)
                .values((
                    lesson_reports::lesson_id.eq(lesson.id),
                    lesson_reports::reported_by.eq(viewer.id),
                    lesson_reports::reported_at.eq(now),
                    lesson_reports::version.eq(1),
                ))
                .execute(conn);
            match inserted {
                // another first report won the race
                Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => return Err(stale()),
                other => other?,
            };
        }
        let before = load(conn, lesson, tz, lang)?;
        if before.lesson.cancelled {
            return Err(AppError::Conflict { code: Code::LessonCancelled, message: lang.pick("Lektionen är inställd och rapporteras inte.", "The lesson is cancelled and is not reported.").into() });
        }
        if before.lesson.date > today {
            return Err(invalid(lang, Code::LessonInFuture, "Lektionen är inte i dag ännu; den kan rapporteras från sin dag.", "The lesson is not today yet; it can be reported from its day on."));
        }
        let lines: HashMap<i64, &PupilLine> = before.pupils.iter().map(|p| (p.id, p)).collect();
        let mut wanted: HashMap<i64, Mark> = HashMap::new();
        let mut unknown = Vec::new();
        for input in &sub.marks {
            if !lines.contains_key(&input.pupil_id) {
                unknown.push(input.pupil_id.to_string());
                continue;
            }
            let mark = checked_mark(input, &before, lang)?;
            if wanted.insert(input.pupil_id, mark).is_some() {
                return Err(AppError::invalid(Code::DuplicatePupil, match lang {
                    Lang::Sv => format!("Eleven {} finns två gånger i rapporten.", input.pupil_id),
                    Lang::En => format!("Pupil {} appears twice in the report.", input.pupil_id),
                }));
            }
        }
        if !unknown.is_empty() {
            return Err(AppError::invalid(Code::PupilNotInLesson, match lang {
                Lang::Sv => format!("Dessa elever går inte i lektionens grupper den dagen: {}.", unknown.join(", ")),
                Lang::En => format!("These pupils are not in the lesson's groups that day: {}.", unknown.join(", ")),
            }));
        }
        // Covered pupils nobody spoke of keep their pre-mark, now stored.
        for p in &before.pupils {
            if !p.stored && p.covered_by.is_some() && !wanted.contains_key(&p.id) {
                wanted.insert(p.id, p.mark.clone());
            }
        }
        let changes: Vec<(i64, Mark, Mark)> = before
            .pupils
            .iter()
            .filter_map(|p| {
                let stored = if p.stored { p.mark.clone() } else { Mark::PRESENT };
                let new = wanted.get(&p.id)?.clone();
                (new != stored).then_some((p.id, stored, new))
            })
            .collect();
        let correction = before.lesson.date < today && !first_report && !changes.is_empty();
        let reason = sub.correction_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if correction {
            match reason {
                None => return Err(invalid(lang, Code::CorrectionReasonRequired, "Lektionen var en tidigare dag: skriv kort varför du ändrar.", "The lesson was on an earlier day: say briefly why you change it.")),
                Some(r) if r.chars().count() > 500 => return Err(invalid(lang, Code::CorrectionReasonTooLong, "Skriv orsaken med högst 500 tecken.", "Keep the reason to 500 characters.")),
                Some(_) => {}
            }
        }
        for (pupil, from, to) in &changes {
            if to.status == Status::Present {
                diesel::delete(attendance_marks::table.filter(attendance_marks::lesson_id.eq(lesson.id)).filter(attendance_marks::pupil_id.eq(pupil)))
                    .execute(conn)?;
            } else if from.status == Status::Present {
                diesel::insert_into(attendance_marks::table)
                    .values((
                        attendance_marks::lesson_id.eq(lesson.id),
                        attendance_marks::pupil_id.eq(pupil),
                        attendance_marks::status.eq(to.status.as_str()),
                        attendance_marks::minutes.eq(to.minutes),
                        attendance_marks::reason_id.eq(to.reason_id),
                        attendance_marks::marked_by.eq(viewer.id),
                        attendance_marks::marked_at.eq(now),
                    ))
                    .execute(conn)?;
            } else {
                diesel::update(attendance_marks::table.filter(attendance_marks::lesson_id.eq(lesson.id)).filter(attendance_marks::pupil_id.eq(pupil)))
                    .set((
                        attendance_marks::status.eq(to.status.as_str()),
                        attendance_marks::minutes.eq(to.minutes),
                        attendance_marks::reason_id.eq(to.reason_id),
                        attendance_marks::marked_by.eq(viewer.id),
                        attendance_marks::marked_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            let side = |m: &Mark| json!({"status": m.status.as_str(), "minutes": m.minutes, "reason_id": m.reason_id});
            audit::record(conn, Entry {
                actor: Some(viewer.id),
                action: "attendance.changed",
                entity: "lesson",
                entity_id: Some(lesson.id),
                detail: json!({"pupil_id": pupil, "from": side(from), "to": side(to), "reason": reason.filter(|_| correction)}),
                client_addr: Some(addr),
            })?;
        }
        // The statistics follow in the same transaction: the first report makes every
        // pupil's minutes reported; later, only changed marks move the figures.
        let moved: Vec<i64> = if first_report {
            before.pupils.iter().map(|p| p.id).collect()
        } else {
            changes.iter().map(|c| c.0).collect()
        };
        crate::statistics::store::refresh(conn, tz, &moved, before.lesson.date, before.lesson.date)?;
        // Guardians hear the same day about absence without a valid reason; the mentor and
        // the principal when a pupil crosses the absence threshold.
        let recent = before.lesson.date >= today - Duration::days(NOTICE_DAYS);
        for (pupil, _, to) in &changes {
            if to.status == Status::Present {
                continue;
            }
            let line = lines.get(pupil);
            let covered = line.is_some_and(|l| l.covered_by.is_some());
            let valid = to.reason_id.is_some_and(|r| before.reasons.iter().any(|x| x.id == r && x.is_valid) || line.is_some_and(|l| l.covered_by.and_then(|c| c.reason_id) == Some(r)));
            if recent && !covered && !valid {
                crate::notices::unexplained_absence(conn, policy, *pupil, before.lesson.date, now)?;
            }
            crate::notices::check_threshold(conn, *pupil, today, tz, now)?;
        }
        audit::record(conn, Entry {
            actor: Some(viewer.id),
            action: if first_report { "lesson.reported" } else { "lesson.resubmitted" },
            entity: "lesson",
            entity_id: Some(lesson.id),
            detail: json!({"changes": changes.len(), "correction": correction, "reason": reason.filter(|_| correction)}),
            client_addr: Some(addr),
        })?;
        Ok::<_, AppError>(())
    });
    match attempt {
        Ok(()) => Ok(Ok(load(conn, lesson, tz, lang)?)),
        Err(AppError::Conflict {
            code: Code::StaleRollCall,
            ..
        }) => Ok(Err(Stale {
            current: load(conn, lesson, tz, lang)?,
        })),
        Err(e) => Err(e),
    }
}

/// Absence marked on a lesson older than this many days (a late correction) sends no notice.
const NOTICE_DAYS: i64 = 7;

/// Inside the transaction: the form is stale (rolls back; `submit` answers `Stale`).
fn stale() -> AppError {
    AppError::Conflict {
        code: Code::StaleRollCall,
        message: String::new(),
    }
}

/// A line of a teacher's lesson list.
#[derive(Debug, Clone, Serialize)]
pub struct LessonLine {
    pub id: i64,
    pub date: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub subject: String,
    pub group: String,
    pub room: Option<String>,
    pub cancelled: bool,
    pub reported: bool,
    pub substitute: bool,
}

/// The lessons a teacher teaches or stands in for between two dates, in time order.
pub fn teacher_lessons(
    conn: &mut DbConn,
    viewer: &crate::auth::Viewer,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<LessonLine>> {
    let teacher = viewer.id;
    // the activities of a teacher whose duty has ended are not theirs any more (as the
    // lesson and its roll call answer 404); a substitution given to them still is
    let as_teacher = (!viewer.roles.teacher_at.is_empty()).then_some(teacher);
    let own = activity_teachers::table
        .filter(activity_teachers::teacher_id.nullable().eq(as_teacher))
        .select(activity_teachers::activity_id);
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        NaiveDate,
        NaiveTime,
        NaiveTime,
        String,
        Option<String>,
        bool,
        Option<i64>,
        i64,
        Option<i64>,
    )> = lessons::table
        .inner_join(activities::table)
        .left_join(lesson_reports::table)
        .filter(lessons::lesson_date.between(from, to))
        .filter(
            lessons::activity_id
                .eq_any(own)
                .or(lessons::substitute_teacher_id.eq(teacher)),
        )
        .select((
            lessons::id,
            lessons::lesson_date,
            lessons::starts_at,
            lessons::ends_at,
            activities::subject_name,
            lessons::room,
            lessons::cancelled,
            lessons::substitute_teacher_id,
            lessons::activity_id,
            lesson_reports::lesson_id.nullable(),
        ))
        .order((lessons::lesson_date, lessons::starts_at, lessons::id))
        .load(conn)?;
    let activity_ids: Vec<i64> = rows
        .iter()
        .map(|r| r.8)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut group_names: HashMap<i64, Vec<String>> = HashMap::new();
    for (activity, name) in activity_groups::table
        .inner_join(groups::table)
        .filter(activity_groups::activity_id.eq_any(&activity_ids))
        .select((activity_groups::activity_id, groups::name))
        .order(groups::name)
        .load::<(i64, String)>(conn)?
    {
        group_names.entry(activity).or_default().push(name);
    }
    Ok(rows
        .into_iter()
        .map(|r| LessonLine {
            id: r.0,
            date: r.1,
            starts_at: r.2,
            ends_at: r.3,
            subject: r.4,
            room: r.5,
            cancelled: r.6,
            substitute: r.7 == Some(teacher),
            group: group_names
                .get(&r.8)
                .map(|g| g.join(", "))
                .unwrap_or_default(),
            reported: r.9.is_some(),
        })
        .collect())
}

/// The date `n` school days (Monday to Friday) before `today`.
pub fn school_days_back(today: NaiveDate, n: u32) -> NaiveDate {
    let mut d = today;
    let mut left = n;
    while left > 0 {
        d -= Duration::days(1);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    d
}

/// One pupil's week for the mentor.
#[derive(Debug, Clone, Serialize)]
pub struct WeekRow {
    pub pupil_id: i64,
    pub name: String,
    pub scheduled_minutes: i64,
    pub valid_minutes: i64,
    pub invalid_minutes: i64,
    pub lates: i64,
}

impl WeekRow {
    pub fn absence_pct(&self) -> f64 {
        if self.scheduled_minutes == 0 {
            0.0
        } else {
            100.0 * (self.valid_minutes + self.invalid_minutes) as f64
                / self.scheduled_minutes as f64
        }
    }
}

/// A group's absence from `from` to `to` (inclusive) per pupil: scheduled minutes follow
/// the memberships valid on each lesson's date and skip cancelled lessons.
pub fn group_week(
    conn: &mut DbConn,
    group: i64,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<WeekRow>> {
    let members: Vec<(i64, String, String)> = group_memberships::table
        .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
        .filter(group_memberships::group_id.eq(group))
        .filter(crate::membership::during(from, to))
        .select((people::id, people::given_name, people::family_name))
        .distinct()
        .load(conn)?;
    period_rows(conn, members, from, to, tz)
}

/// Scheduled, valid and invalid minutes per pupil over a period (inclusive dates): the
/// statistics' facts (`crate::statistics::facts`) summed per pupil.
pub fn period_rows(
    conn: &mut DbConn,
    members: Vec<(i64, String, String)>,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<WeekRow>> {
    let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
    let mut rows: HashMap<i64, WeekRow> = members
        .into_iter()
        .map(|(id, g, f)| {
            let row = WeekRow {
                pupil_id: id,
                name: format!("{g} {f}"),
                scheduled_minutes: 0,
                valid_minutes: 0,
                invalid_minutes: 0,
                lates: 0,
            };
            (id, row)
        })
        .collect();
    crate::statistics::facts::each(conn, Sel::Pupils(&ids), from, to, tz, |f| {
        if let Some(row) = rows.get_mut(&f.pupil) {
            row.scheduled_minutes += f.scheduled;
            row.valid_minutes += f.valid;
            row.invalid_minutes += f.invalid;
            if f.status.as_deref() == Some("late") {
                row.lates += 1;
            }
        }
    })?;
    let mut rows: Vec<WeekRow> = rows.into_values().collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.pupil_id.cmp(&b.pupil_id)));
    Ok(rows)
}
