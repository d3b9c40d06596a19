//! The term report's file: its columns (described in CSVW), a row as CSV or JSON, and the
//! stream that writes the rows school by school.

use std::sync::Arc;

use actix_web::web::{self, Bytes};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::error::AppError;
use crate::insight::term_quality::SchoolCheck;
use crate::insight::term_report::{self, hours, ReportSchool, Term, TermRow};
use crate::school::ids::SchoolId;
use crate::state::AppState;

/// Streams the report school by school: `head`, each school's rows, `tail`.
pub(super) fn stream_rows(
    state: web::Data<AppState>,
    term: Term,
    checks: Vec<SchoolCheck>,
    head: String,
    row: fn(&Ctx, &TermRow, bool) -> String,
    tail: &'static str,
) -> impl futures_util::Stream<Item = Result<Bytes, AppError>> {
    let today = state.today();
    let period = term.period();
    let schools: Vec<(ReportSchool, i64)> = checks
        .into_iter()
        .map(|c| {
            let n = c.total();
            (c.school, n)
        })
        .collect();
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let body = stream::iter(schools).then(move |(school, problems)| {
        let state = state.clone();
        let first = first.clone();
        async move {
            let id: SchoolId = school.id;
            let rows = state
                .db(move |conn| term_report::school_rows(conn, id, period, today))
                .await?;
            let ctx = Ctx {
                term,
                school,
                problems,
                civic: state.civic_key(),
            };
            let mut out = String::new();
            for r in &rows {
                let is_first = first.swap(false, std::sync::atomic::Ordering::Relaxed);
                out.push_str(&row(&ctx, r, is_first));
            }
            Ok(Bytes::from(out))
        }
    });
    stream::once(async move { Ok(Bytes::from(head)) })
        .chain(body)
        .chain(stream::once(async move {
            Ok(Bytes::from_static(tail.as_bytes()))
        }))
}

/// What each row of a school is written with.
pub(super) struct Ctx {
    term: Term,
    school: ReportSchool,
    problems: i64,
    civic: crate::auth::civic::CivicKey,
}

impl Ctx {
    /// The row's year group as the how-many-th year of schooling in the term.
    fn school_year_number(&self, r: &TermRow) -> Option<i32> {
        let form = self.school.form.as_deref()?;
        r.year_group
            .map(|y| crate::school::year_groups::school_year_number(form, y, self.term.first_day()))
    }

    /// The pupil's civic number, opened from its seal; None for a pupil the source sent
    /// none for, or whose seal was made under an earlier signing secret.
    fn civic_number(&self, r: &TermRow) -> Option<String> {
        r.civic_sealed.as_deref().and_then(|s| self.civic.open(s))
    }

    fn form_code(&self) -> &'static str {
        self.school
            .form
            .as_deref()
            .and_then(crate::school::year_groups::code_of_form)
            .unwrap_or("")
    }
}

/// The file's columns: (name, datatype, Swedish title, English title, description).
pub(super) const COLUMNS: [(&str, &str, &str, &str, &str); 18] = [
    ("term", "string", "Termin", "Term", "HT (autumn, 1 July - 31 December) or VT (spring, 1 January - 30 June) and the year"),
    ("school_unit_code", "string", "Skolenhetskod", "School unit code", "The school unit's code in Skolverket's register; empty when the school has none (a quality problem)"),
    ("school_form", "string", "Skolform", "School form", "SS 12000 SchoolTypesEnum: FKLASS, GR, GRS, SP, GY or GYS"),
    ("civic_number", "string", "Personnummer", "Civic number", "The pupil's personnummer, samordningsnummer or temporary number in twelve characters without a separator (YYYYMMDDNNNN, or YYYYMMDDTF01), as the school administration system sent it; empty when it sent none. Only in this file, never on a page"),
    ("student", "string", "Elev-id (SS 12000)", "Student id (SS 12000)", "The pupil's SS 12000 Person id (UUID), as the SS 12000 export names the pupil"),
    ("source_id", "string", "Elevens id i elevregistret", "The pupil's id in the school administration system", "The id the pupil was imported with (SS 12000 or OneRoster sourcedId); empty for a pupil not imported"),
    ("protected_identity", "boolean", "Skyddade personuppgifter", "Protected personal details", "true for skyddad folkbokföring or sekretessmarkering: the row is delivered with the marking, and the receiver handles it as protected (see the README)"),
    ("year_group", "integer", "Årskurs", "Year group", "The year group of the pupil's latest class at the school in the term; empty when the pupil had none"),
    ("school_year_number", "integer", "Skolår i ordning", "School year number", "The how-many-th year of schooling the year group is, förskoleklass counted: year 1 is the second before autumn 2028 and the first from then, so a cohort can be followed across the ten-year compulsory school"),
    ("offered_hours", "decimal", "Erbjuden undervisning, timmar", "Teaching offered, hours", "Scheduled, not cancelled lessons, in hours with two decimals"),
    ("valid_absence_hours", "decimal", "Giltig frånvaro, timmar", "Valid absence, hours", "Absence with a valid reason or granted leave"),
    ("invalid_absence_hours", "decimal", "Ogiltig frånvaro, timmar", "Invalid absence, hours", "Absence without a valid reason"),
    ("other_attendance_hours", "decimal", "Annan närvaro, timmar", "Other attendance, hours", "Marked with a reason that counts as neither presence in the lesson nor absence (a trip, say)"),
    ("offered_minutes", "integer", "Erbjuden undervisning, minuter", "Teaching offered, minutes", "The same in whole minutes, exactly as summed"),
    ("valid_absence_minutes", "integer", "Giltig frånvaro, minuter", "Valid absence, minutes", "The same in whole minutes"),
    ("invalid_absence_minutes", "integer", "Ogiltig frånvaro, minuter", "Invalid absence, minutes", "The same in whole minutes"),
    ("other_attendance_minutes", "integer", "Annan närvaro, minuter", "Other attendance, minutes", "The same in whole minutes"),
    ("refused_leave_absence_minutes", "integer", "Frånvaro trots avslagen ledighet, minuter", "Absence despite refused leave, minutes", "Of the invalid absence, the minutes on days for which leave was applied for and refused"),
];

/// The last two columns: not about the pupil.
const TRAILING: [(&str, &str, &str, &str, &str); 2] = [
    ("reported_minutes", "integer", "Rapporterade minuter", "Reported minutes", "Minutes of the offered lessons whose roll call was taken"),
    ("school_problems", "integer", "Kvalitetsproblem på skolan", "Quality problems at the school", "How many problems the data-quality check found at the school when the file was made; above 0 means it was exported anyway"),
];

pub(super) fn all_columns() -> impl Iterator<
    Item = &'static (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
> {
    COLUMNS.iter().chain(TRAILING.iter())
}

/// The pupil's SS 12000 id, as the SS 12000 export names them.
fn student(r: &TermRow) -> String {
    crate::interop::ss12000::refs::person_id(r.pupil.into(), r.uuid.as_deref())
}

fn csv_field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(super) fn csv_row(c: &Ctx, r: &TermRow, _first: bool) -> String {
    let cells = [
        c.term.code(),
        csv_field(c.school.unit_code.as_deref().unwrap_or("")),
        c.form_code().to_string(),
        csv_field(&c.civic_number(r).unwrap_or_default()),
        csv_field(&student(r)),
        csv_field(r.source_id.as_deref().unwrap_or("")),
        r.protected.to_string(),
        r.year_group.map(|y| y.to_string()).unwrap_or_default(),
        c.school_year_number(r)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        hours(r.offered_minutes),
        hours(r.valid_minutes),
        hours(r.invalid_minutes),
        hours(r.other_minutes),
        r.offered_minutes.to_string(),
        r.valid_minutes.to_string(),
        r.invalid_minutes.to_string(),
        r.other_minutes.to_string(),
        r.refused_leave_minutes.to_string(),
        r.reported_minutes.to_string(),
        c.problems.to_string(),
    ];
    let mut line = cells.join(";");
    line.push_str("\r\n");
    line
}

fn json_number(hours: &str) -> Value {
    hours
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

pub(super) fn json_row(c: &Ctx, r: &TermRow, first: bool) -> String {
    let v = json!({
        "term": c.term.code(),
        "school_unit_code": c.school.unit_code,
        "school_form": c.form_code(),
        "civic_number": c.civic_number(r),
        "student": student(r),
        "source_id": r.source_id,
        "protected_identity": r.protected,
        "year_group": r.year_group,
        "school_year_number": c.school_year_number(r),
        "offered_hours": json_number(&hours(r.offered_minutes)),
        "valid_absence_hours": json_number(&hours(r.valid_minutes)),
        "invalid_absence_hours": json_number(&hours(r.invalid_minutes)),
        "other_attendance_hours": json_number(&hours(r.other_minutes)),
        "offered_minutes": r.offered_minutes,
        "valid_absence_minutes": r.valid_minutes,
        "invalid_absence_minutes": r.invalid_minutes,
        "other_attendance_minutes": r.other_minutes,
        "refused_leave_absence_minutes": r.refused_leave_minutes,
        "reported_minutes": r.reported_minutes,
        "school_problems": c.problems,
    });
    format!("{}{v}", if first { "" } else { "," })
}
