//! The roll call's rules, on a roll call made by hand (no database).

use super::*;
use crate::school::absence::CoveredBy;
use crate::school::ids::ReportId;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn line(id: i64, stored: Option<Mark>, cover: Option<Option<i64>>) -> PupilLine {
    let covered_by = cover.map(|reason_id| Cover {
        by: CoveredBy::AbsenceReport(ReportId(900 + id)),
        reason_id: reason_id.map(ReasonId),
    });
    PupilLine {
        id: PupilId(id),
        name: format!("Elev {id}"),
        name_withheld: false,
        mark: stored.clone().unwrap_or_else(|| pre_mark(covered_by, 60)),
        stored: stored.is_some(),
        covered_by,
    }
}

fn reason(id: i64, is_valid: bool) -> Reason {
    Reason {
        id: ReasonId(id),
        name_sv: format!("Orsak {id}"),
        name_en: format!("Reason {id}"),
        is_valid,
        sends_notice: id != 8,
    }
}

/// A 60-minute lesson on Monday 30 November 2026 with pupils 1 (no mark), 2 (stored
/// late 10 min), 3 (covered by a report with reason 7, valid) and 4 (covered, no reason);
/// reasons 5 (not valid), 6 (valid) and 8 (not valid, sends no notice).
fn roll_call() -> RollCall {
    RollCall {
        lesson: LessonInfo {
            id: LessonId(1),
            date: day("2026-11-30"),
            starts_at: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            ends_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            minutes: 60,
            subject: "Matematik".into(),
            groups: vec!["7A".into()],
            room: None,
            cancelled: false,
            school_id: SchoolId(1),
            substitute: None,
        },
        pupils: vec![
            line(1, None, None),
            line(
                2,
                Some(Mark {
                    status: Status::Late,
                    minutes: 10,
                    reason_id: None,
                }),
                None,
            ),
            line(3, None, Some(Some(7))),
            line(4, None, Some(None)),
        ],
        report: None,
        reasons: vec![reason(5, false), reason(6, true), reason(8, false)],
    }
}

fn input(pupil: i64, status: Status, minutes: Option<i32>, reason: Option<i64>) -> MarkInput {
    MarkInput {
        pupil_id: PupilId(pupil),
        status,
        minutes,
        reason_id: reason.map(ReasonId),
    }
}

fn code(e: AppError) -> &'static str {
    e.code().as_str()
}

#[test]
fn absent_takes_the_whole_lesson_and_late_needs_minutes_within_it() {
    let rc = roll_call();
    let m = checked_mark(&input(1, Status::Absent, Some(5), None), &rc).unwrap();
    assert_eq!((m.status, m.minutes), (Status::Absent, 60));
    let m = checked_mark(&input(1, Status::Late, Some(60), None), &rc).unwrap();
    assert_eq!(m.minutes, 60);
    for bad in [Some(0), Some(61), Some(-3)] {
        let e = checked_mark(&input(1, Status::Late, bad, None), &rc).unwrap_err();
        assert_eq!(code(e), "bad_minutes");
    }
    let e = checked_mark(&input(1, Status::PartlyAbsent, None, None), &rc).unwrap_err();
    assert_eq!(code(e), "minutes_required");
}

#[test]
fn a_reason_comes_from_the_school_list_or_the_pupils_own_cover() {
    let rc = roll_call();
    let m = checked_mark(&input(1, Status::Absent, None, Some(6)), &rc).unwrap();
    assert_eq!(m.reason_id, Some(ReasonId(6)));
    // present never keeps a reason
    let m = checked_mark(&input(1, Status::Present, None, Some(6)), &rc).unwrap();
    assert_eq!(m.reason_id, None);
    // reason 7 is pupil 3's cover, not the school's list: only pupil 3 may use it
    assert!(checked_mark(&input(3, Status::Absent, None, Some(7)), &rc).is_ok());
    let e = checked_mark(&input(1, Status::Absent, None, Some(7)), &rc).unwrap_err();
    assert_eq!(code(e), "unknown_reason");
}

#[test]
fn every_pupil_once_and_in_the_lesson() {
    let rc = roll_call();
    let twice = [
        input(1, Status::Absent, None, None),
        input(1, Status::Present, None, None),
    ];
    assert_eq!(
        code(wanted_marks(&rc, &twice).unwrap_err()),
        "duplicate_pupil"
    );
    let stranger = [
        input(99, Status::Absent, None, None),
        input(98, Status::Late, Some(3), None),
    ];
    let e = wanted_marks(&rc, &stranger).unwrap_err();
    assert_eq!(e.code().as_str(), "pupil_not_in_lesson");
    let Some(crate::error::Said::Refusal(r)) = e.said() else {
        panic!("a refusal with a code: {e}")
    };
    assert_eq!(r.code, "pupils_not_in_lesson");
    assert_eq!(r.args, [("pupils", "99, 98".to_string())]);
}

#[test]
fn covered_pupils_nobody_spoke_of_keep_their_pre_mark() {
    let rc = roll_call();
    let wanted = wanted_marks(&rc, &[input(3, Status::Present, None, None)]).unwrap();
    // pupil 3 was spoken of (present), pupil 4 keeps absent without a reason
    assert_eq!(wanted[&PupilId(3)], Mark::PRESENT);
    assert_eq!(wanted[&PupilId(4)].status, Status::Absent);
    assert_eq!(wanted[&PupilId(4)].minutes, 60);
    assert!(!wanted.contains_key(&PupilId(1)) && !wanted.contains_key(&PupilId(2)));
}

#[test]
fn only_differences_from_what_is_stored_are_changes() {
    let rc = roll_call();
    let inputs = [
        input(1, Status::Present, None, None),
        input(2, Status::Late, Some(10), None),
        input(3, Status::Absent, None, Some(7)),
    ];
    let wanted = wanted_marks(&rc, &inputs).unwrap();
    let ch = changes(&rc, &wanted);
    // 1: present as before; 2: the same late; 3 and 4: pre-marks not yet stored
    let pupils: Vec<PupilId> = ch.iter().map(|c| c.0).collect();
    assert_eq!(pupils, vec![PupilId(3), PupilId(4)]);
    assert!(ch.iter().all(|c| c.1 == Mark::PRESENT));
    let back = wanted_marks(&rc, &[input(2, Status::Present, None, None)]).unwrap();
    let ch = changes(&rc, &back);
    assert_eq!(ch[0].0, PupilId(2));
    assert_eq!(ch[0].1.status, Status::Late);
    assert_eq!(ch[0].2, Mark::PRESENT);
}

#[test]
fn a_correction_needs_a_short_reason_and_nothing_else_does() {
    assert_eq!(correction_reason(false, None).unwrap(), None);
    assert_eq!(
        correction_reason(false, Some(&"x".repeat(900))).unwrap(),
        None
    );
    assert_eq!(
        correction_reason(true, Some("  fel elev  ")).unwrap(),
        Some("fel elev")
    );
    let e = correction_reason(true, Some("   ")).unwrap_err();
    assert_eq!(code(e), "correction_reason_required");
    let e = correction_reason(true, Some(&"å".repeat(501))).unwrap_err();
    assert_eq!(code(e), "correction_reason_too_long");
    assert!(correction_reason(true, Some(&"å".repeat(500))).is_ok());
}

#[test]
fn everyone_present_keeps_the_covered_pupils_marks() {
    let rc = roll_call();
    let marks = everyone_present(&rc);
    let wanted = wanted_marks(&rc, &marks).unwrap();
    assert_eq!(wanted[&PupilId(1)], Mark::PRESENT);
    assert_eq!(
        wanted[&PupilId(2)],
        Mark::PRESENT,
        "the late mark is replaced"
    );
    assert_eq!(wanted[&PupilId(3)].status, Status::Absent);
    assert_eq!(wanted[&PupilId(3)].reason_id, Some(ReasonId(7)));
    assert_eq!(wanted[&PupilId(4)].status, Status::Absent);
    let ch = changes(&rc, &wanted);
    assert_eq!(
        ch.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![PupilId(2), PupilId(3), PupilId(4)]
    );
}

#[test]
fn an_input_reads_as_the_mark_it_would_store() {
    let late = input(1, Status::Late, Some(12), Some(6));
    assert_eq!(
        late.as_mark(60),
        Mark {
            status: Status::Late,
            minutes: 12,
            reason_id: Some(ReasonId(6))
        }
    );
    let absent = input(1, Status::Absent, Some(3), None);
    assert_eq!(absent.as_mark(45).minutes, 45);
    let present = input(1, Status::Present, Some(9), Some(6));
    assert_eq!(present.as_mark(60), Mark::PRESENT);
}

#[test]
fn cancelled_and_future_lessons_are_not_reported() {
    let mut rc = roll_call();
    assert!(reportable(&rc.lesson, day("2026-11-30")).is_ok());
    let e = reportable(&rc.lesson, day("2026-11-29")).unwrap_err();
    assert_eq!(code(e), "lesson_in_future");
    rc.lesson.cancelled = true;
    let e = reportable(&rc.lesson, day("2026-12-01")).unwrap_err();
    assert_eq!(code(e), "lesson_cancelled");
}

#[test]
fn guardians_hear_of_recent_absence_without_a_valid_reason_or_cover() {
    let rc = roll_call();
    let absent = |reason| Mark {
        status: Status::Absent,
        minutes: 60,
        reason_id: reason,
    };
    assert!(unexplained(&rc, PupilId(1), &absent(None), true));
    assert!(
        unexplained(&rc, PupilId(1), &absent(Some(ReasonId(5))), true),
        "reason 5 is not valid"
    );
    assert!(
        !unexplained(&rc, PupilId(1), &absent(Some(ReasonId(6))), true),
        "reason 6 is valid"
    );
    assert!(
        !unexplained(&rc, PupilId(1), &absent(Some(ReasonId(8))), true),
        "reason 8 is not valid, but the principal said it sends no notice"
    );
    assert!(
        !unexplained(&rc, PupilId(1), &absent(None), false),
        "an old lesson"
    );
    assert!(
        !unexplained(&rc, PupilId(4), &absent(None), true),
        "covered by a report"
    );
    assert!(!unexplained(&rc, PupilId(1), &Mark::PRESENT, true));
    let late = Mark {
        status: Status::Late,
        minutes: 5,
        reason_id: None,
    };
    assert!(unexplained(&rc, PupilId(2), &late, true));
}
