//! The statistics tables as CSV files.

use actix_web::HttpResponse;

use super::{csv_choice, unknown_table, StatsQuery};
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::insight::statistics::{Figures, Row};

/// A CSV file Excel opens right: UTF-8 with a byte-order mark, semicolons (Excel's list
/// separator where the decimal sign is a comma), values that look like formulas quoted.
pub fn csv(filename: &str, head: &[&str], rows: &[Vec<String>]) -> HttpResponse {
    let mut out = String::from("\u{feff}");
    let field = |s: &str| -> String {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([';', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let line = |cells: Vec<String>| cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(";");
    out.push_str(&line(head.iter().map(|h| h.to_string()).collect()));
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push_str("\r\n");
    }
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(out)
}

fn num(lang: Lang, v: f64) -> String {
    let s = format!("{v:.1}");
    match lang {
        Lang::En => s,
        _ => s.replace('.', ","),
    }
}

pub(super) fn figure_head(lang: Lang) -> Vec<&'static str> {
    vec![
        lang.pick("Frånvaro %", "Absence %"),
        lang.pick("Giltig %", "Valid %"),
        lang.pick("Ogiltig %", "Invalid %"),
        lang.pick("Rapporterat %", "Reported %"),
        lang.pick("Schemalagda minuter", "Scheduled minutes"),
        lang.pick("Rapporterade minuter", "Reported minutes"),
        lang.pick("Giltig frånvaro, minuter", "Valid absence, minutes"),
        lang.pick("Ogiltig frånvaro, minuter", "Invalid absence, minutes"),
        lang.pick(
            "Varav trots avslagen ledighet, minuter",
            "Of which despite refused leave, minutes",
        ),
    ]
}

pub(super) fn figure_csv(lang: Lang, f: &Figures) -> Vec<String> {
    vec![
        num(lang, f.absence_pct()),
        num(lang, f.valid_pct()),
        num(lang, f.invalid_pct()),
        num(lang, f.reporting_rate()),
        f.scheduled_minutes.to_string(),
        f.reported_minutes.to_string(),
        f.valid_minutes.to_string(),
        f.invalid_minutes.to_string(),
        f.refused_leave_minutes.to_string(),
    ]
}

fn rows_csv(
    filename: &str,
    lang: Lang,
    first: &str,
    rows: &[Row],
    hide_protected: bool,
) -> HttpResponse {
    let mut head = vec![first];
    head.extend(figure_head(lang));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![crate::web::statistics::labels::row_label(
                r,
                lang,
                hide_protected,
            )];
            line.extend(figure_csv(lang, &r.figures));
            line
        })
        .collect();
    csv(filename, &head, &body)
}

/// Pupils with their class beside the name (the list of pupils over a threshold).
pub(super) fn pupils_with_class_csv(
    filename: &str,
    lang: Lang,
    rows: &[Row],
    class_of: impl Fn(&Row) -> String,
    hide_protected: bool,
) -> HttpResponse {
    let mut head = vec![lang.pick("Elev", "Pupil"), lang.pick("Klass", "Class")];
    head.extend(figure_head(lang));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![
                crate::web::statistics::labels::row_label(r, lang, hide_protected),
                class_of(r),
            ];
            line.extend(figure_csv(lang, &r.figures));
            line
        })
        .collect();
    csv(filename, &head, &body)
}

/// A figures table a page offers as CSV: (the `csv=` name, the file's name, the first
/// column's heading, the rows).
type CsvTable<'a> = (&'a str, String, &'a str, &'a [Row]);

/// The CSV file `?csv=` asks for among a page's tables; `None` for the page itself.
pub(super) fn csv_of(
    q: &StatsQuery,
    lang: Lang,
    hide: bool,
    tables: &[CsvTable],
) -> Option<AppResult<HttpResponse>> {
    let choice = csv_choice(q)?;
    Some(match tables.iter().find(|t| t.0 == choice) {
        Some((_, file, first, rows)) => Ok(rows_csv(file, lang, first, rows, hide)),
        None => Err(unknown_table(lang)),
    })
}
