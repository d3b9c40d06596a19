//! The parts the statistics pages share: the period form, key figures, figures tables and
//! the two charts (server-rendered SVG, each with its figures in words or in a table).

use std::fmt::Write as _;

use chrono::NaiveDate;
use maud::{html, Markup, PreEscaped};

use super::Shown;
use crate::i18n::Lang;
use crate::insight::statistics::{Figures, Key, Row};
use crate::school::ids::SchoolId;
use crate::web::layout::PageCtx;

pub(super) fn pct(lang: Lang, v: f64) -> String {
    lang.percent(v, 1)
}

/// "12 h 30 min"
pub(super) fn hours(lang: Lang, minutes: i64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} {}", lang.pick("tim", "h")),
        (h, m) => format!("{h} {} {m} min", lang.pick("tim", "h")),
    }
}

/// The form that chooses the period (and the school), by GET: works without JavaScript.
pub(super) fn period_form(
    ctx: &PageCtx,
    action: &str,
    shown: &Shown,
    schools: &[(SchoolId, String, Option<String>)],
    school: Option<SchoolId>,
    extra: Markup,
) -> Markup {
    let options = [
        ("week", ctx.t("Den här veckan", "This week")),
        ("month", ctx.t("Den här månaden", "This month")),
        ("term", ctx.t("Terminen", "This term")),
        ("year", ctx.t("Läsåret", "This school year")),
        (
            "custom",
            ctx.t("Egen period (från–till)", "Own period (from–to)"),
        ),
    ];
    html! {
        form.card.filters method="get" action=(action) {
            @if schools.len() > 1 {
                label for="f-school" { (ctx.t("Skola", "School")) }
                select #f-school name="school" {
                    @for (id, name, _) in schools {
                        option value=(id) selected[Some(*id) == school] { (name) }
                    }
                }
            } @else if let Some(s) = school {
                input type="hidden" name="school" value=(s);
            }
            label for="f-period" { (ctx.t("Period", "Period")) }
            select #f-period name="period" {
                @for (value, label) in options {
                    option value=(value) selected[shown.name == value] { (label) }
                }
            }
            div.pair {
                div {
                    label for="f-from" { (ctx.t("Från (egen period)", "From (own period)")) }
                    input #f-from type="date" name="from" value=(shown.period.from);
                }
                div {
                    label for="f-to" { (ctx.t("Till (egen period)", "To (own period)")) }
                    input #f-to type="date" name="to" value=(shown.period.to);
                }
            }
            (extra)
            div.actions { button type="submit" { (ctx.t("Visa", "Show")) } }
        }
    }
}

pub(super) fn period_line(ctx: &PageCtx, shown: &Shown, today: NaiveDate) -> Markup {
    html! {
        p.muted {
            (ctx.lang.days(shown.period.from, shown.period.to))
            @if shown.period.to > today {
                " (" (ctx.t("till och med i dag", "up to today")) ")"
            }
        }
    }
}

pub(super) fn key_figures(ctx: &PageCtx, f: &Figures) -> Markup {
    let lang = ctx.lang;
    html! {
        dl.facts.key {
            dt { (ctx.t("Frånvaro", "Absence")) }
            dd { strong { (pct(lang, f.absence_pct())) } " " span.muted { "(" (hours(lang, f.absent_minutes())) " " (ctx.t("av", "of")) " " (hours(lang, f.scheduled_minutes)) ")" } }
            dt { (ctx.t("Giltig frånvaro", "Valid absence")) }
            dd { (pct(lang, f.valid_pct())) " " span.muted { "(" (hours(lang, f.valid_minutes)) ")" } }
            dt { (ctx.t("Ogiltig frånvaro", "Invalid absence")) }
            dd { (pct(lang, f.invalid_pct())) " " span.muted { "(" (hours(lang, f.invalid_minutes)) ")" } }
            @if f.refused_leave_minutes > 0 {
                dt { (ctx.t("Varav frånvaro trots avslagen ledighet", "Of which absence despite refused leave")) }
                dd { (hours(lang, f.refused_leave_minutes)) }
            }
            dt { (ctx.t("Rapporterat", "Reported")) }
            dd { (pct(lang, f.reporting_rate())) " " span.muted { (ctx.t("av lektionstiden", "of lesson time")) } }
        }
    }
}

/// The columns every figures table has, after its first.
pub(super) fn figure_heads(ctx: &PageCtx) -> Markup {
    html! {
        th scope="col" { (ctx.t("Frånvaro", "Absence")) }
        th scope="col" { (ctx.t("Giltig", "Valid")) }
        th scope="col" { (ctx.t("Ogiltig", "Invalid")) }
        th scope="col" { (ctx.t("Rapporterat", "Reported")) }
        th scope="col" { (ctx.t("Schemalagt", "Scheduled")) }
    }
}

pub(super) fn figure_cells(lang: Lang, f: &Figures) -> Markup {
    html! {
        td { (pct(lang, f.absence_pct())) }
        td { (pct(lang, f.valid_pct())) }
        td { (pct(lang, f.invalid_pct())) }
        td { (pct(lang, f.reporting_rate())) }
        td { (hours(lang, f.scheduled_minutes)) }
    }
}

/// The top of a percentage axis and the step between its gridlines, both round numbers
/// (1, 2, 5, 10, 20, 25 or 50 per cent apart, at most five steps), the top at least 5 %.
pub(super) fn axis_ticks(highest: f64) -> (f64, f64) {
    let highest = highest.clamp(5.0, 100.0);
    for step in [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0] {
        let steps = (highest / step - 1e-9).ceil().max(1.0);
        if steps <= 5.0 {
            return (steps * step, step);
        }
    }
    (100.0, 20.0)
}

/// The weeks from the first row's to the last's, each with its row, or none for a week
/// without lessons (a holiday week keeps its place in the chart instead of closing up).
fn week_slots(rows: &[Row]) -> Vec<(i32, Option<&Row>)> {
    let key = |r: &Row| match r.key {
        Key::Week(w) => Some(w),
        _ => None,
    };
    let monday = |w: i32| {
        chrono::NaiveDate::from_isoywd_opt(w / 100, (w % 100) as u32, chrono::Weekday::Mon)
    };
    let (Some(first), Some(last)) = (
        rows.first().and_then(key).and_then(monday),
        rows.last().and_then(key).and_then(monday),
    ) else {
        return rows
            .iter()
            .map(|r| (key(r).unwrap_or(0), Some(r)))
            .collect();
    };
    let mut out = Vec::new();
    let mut day = first;
    // at most two school years of weeks, whatever the rows say
    while day <= last && out.len() < 110 {
        let iso = chrono::Datelike::iso_week(&day);
        let w = iso.year() * 100 + iso.week() as i32;
        out.push((w, rows.iter().find(|r| key(r) == Some(w))));
        day += chrono::Duration::days(7);
    }
    out
}

/// The weekly trend: valid and invalid absence per week as stacked bars, with the figures
/// in the table that follows it for screen readers. A week without lessons keeps its place.
pub(super) fn trend_svg(ctx: &PageCtx, rows: &[Row]) -> Markup {
    if rows.is_empty() {
        return html! { p.muted { (ctx.t("Inga lektioner under perioden.", "No lessons in the period.")) } };
    }
    let weeks = week_slots(rows);
    let lang = ctx.lang;
    let highest = rows
        .iter()
        .map(|w| w.figures.absence_pct())
        .fold(0.0_f64, f64::max);
    let (top, tick) = axis_ticks(highest);
    let (left, bottom, height) = (36.0, 22.0, 160.0);
    let step = (560.0 / weeks.len() as f64).clamp(8.0, 40.0);
    let width = left + step * weeks.len() as f64 + 8.0;
    let y = |v: f64| 8.0 + height * (1.0 - v / top);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="trend" viewBox="0 0 {width:.0} {total:.0}" role="img" aria-labelledby="trend-title"><title id="trend-title">{title}</title>"##,
        total = height + bottom + 8.0,
        title = html! { (lang.pick("Frånvaro per vecka: giltig och ogiltig, procent av lektionstiden", "Absence per week: valid and invalid, per cent of lesson time")) }.into_string(),
    );
    let lines = (top / tick).round() as i32;
    for i in 0..=lines {
        let v = tick * f64::from(i);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{width:.0}" y1="{yy:.1}" y2="{yy:.1}" class="grid"/><text x="{tx}" y="{ty:.1}" class="axis" text-anchor="end">{v:.0} %</text>"##,
            yy = y(v),
            tx = left - 4.0,
            ty = y(v) + 4.0,
        );
    }
    for (i, (week, row)) in weeks.iter().enumerate() {
        let x = left + step * i as f64 + step * 0.15;
        let bw = step * 0.7;
        if let Some(w) = row {
            let valid = w.figures.valid_pct();
            let invalid = w.figures.invalid_pct();
            let yv = y(valid);
            let yi = y(valid + invalid);
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{yv:.1}" width="{bw:.1}" height="{hv:.1}" class="valid"/><rect x="{x:.1}" y="{yi:.1}" width="{bw:.1}" height="{hi:.1}" class="invalid"/>"##,
                hv = (y(0.0) - yv).max(0.0),
                hi = (yv - yi).max(0.0),
            );
        }
        if weeks.len() <= 20 || i % 2 == 0 {
            let _ = write!(
                svg,
                r##"<text x="{cx:.1}" y="{ly:.1}" class="axis" text-anchor="middle">{n}</text>"##,
                cx = x + bw / 2.0,
                ly = y(0.0) + 16.0,
                n = week % 100,
            );
        }
    }
    svg.push_str("</svg>");
    html! {
        figure.chart {
            (PreEscaped(svg))
            figcaption {
                span.key.valid { } " " (ctx.t("Giltig", "Valid")) " "
                span.key.invalid { } " " (ctx.t("Ogiltig", "Invalid")) " "
                span.muted { (ctx.t("(veckonummer under staplarna; en vecka utan lektioner står tom)", "(week numbers under the bars; a week without lessons stands empty)")) }
            }
        }
    }
}

/// A pupil's weekly absence as a small line, described in words for screen readers.
pub(super) fn sparkline(lang: Lang, weeks: &[(i32, Figures)]) -> Markup {
    if weeks.is_empty() {
        return html! {};
    }
    let top = weeks
        .iter()
        .map(|w| w.1.absence_pct())
        .fold(20.0_f64, f64::max);
    let step = 100.0 / (weeks.len().max(2) - 1) as f64;
    let mut points = String::new();
    for (i, (_, f)) in weeks.iter().enumerate() {
        let _ = write!(
            points,
            "{:.1},{:.1} ",
            step * i as f64,
            22.0 - 20.0 * f.absence_pct() / top
        );
    }
    let words: Vec<String> = weeks
        .iter()
        .map(|(w, f)| {
            format!(
                "{} {}",
                crate::web::statistics::labels::week_label(*w, lang),
                pct(lang, f.absence_pct())
            )
        })
        .collect();
    let label = format!(
        "{}: {}",
        lang.pick("Per vecka", "Per week"),
        words.join(", ")
    );
    html! {
        svg.spark viewBox="0 0 100 24" width="100" height="24" role="img" aria-label=(label) {
            polyline points=(points.trim()) fill="none" stroke="currentColor" stroke-width="2" {}
        }
    }
}

pub(super) fn rows_table(
    ctx: &PageCtx,
    first: &str,
    rows: &[Row],
    link: impl Fn(&Row) -> Option<String>,
    hide_protected: bool,
) -> Markup {
    html! {
        div.scroll tabindex="0" {
            table.figures {
                thead { tr { th scope="col" { (first) } (figure_heads(ctx)) } }
                tbody {
                    @for r in rows {
                        tr {
                            th scope="row" {
                                @match link(r) {
                                    Some(href) => a href=(href) { (crate::web::statistics::labels::row_label(r, ctx.lang, hide_protected)) },
                                    None => (crate::web::statistics::labels::row_label(r, ctx.lang, hide_protected)),
                                }
                            }
                            (figure_cells(ctx.lang, &r.figures))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{axis_ticks, week_slots};
    use crate::insight::statistics::{Figures, Key, Row};

    #[test]
    fn a_week_without_lessons_keeps_its_place() {
        let row = |w: i32| Row {
            key: Key::Week(w),
            name: String::new(),
            protected: false,
            figures: Figures::default(),
        };
        // week 44 of 2026 is the autumn holiday; the new year crosses into 2027
        let rows = [row(202643), row(202645), row(202653), row(202701)];
        let slots: Vec<(i32, bool)> = week_slots(&rows)
            .into_iter()
            .map(|(w, r)| (w, r.is_some()))
            .collect();
        assert_eq!(
            slots,
            vec![
                (202643, true),
                (202644, false),
                (202645, true),
                (202646, false),
                (202647, false),
                (202648, false),
                (202649, false),
                (202650, false),
                (202651, false),
                (202652, false),
                (202653, true),
                (202701, true),
            ]
        );
    }

    #[test]
    fn the_axis_is_labelled_in_round_numbers() {
        assert_eq!(axis_ticks(0.0), (5.0, 1.0));
        assert_eq!(axis_ticks(4.2), (5.0, 1.0));
        assert_eq!(axis_ticks(7.3), (8.0, 2.0));
        assert_eq!(axis_ticks(10.0), (10.0, 2.0));
        assert_eq!(axis_ticks(22.0), (25.0, 5.0));
        assert_eq!(axis_ticks(30.0), (30.0, 10.0));
        assert_eq!(axis_ticks(87.0), (100.0, 20.0));
        assert_eq!(axis_ticks(100.0), (100.0, 20.0));
        for h in 0..=100 {
            let (top, step) = axis_ticks(f64::from(h));
            assert!(
                top >= f64::from(h) && top / step <= 5.0 && top % step == 0.0,
                "{h}"
            );
        }
    }
}
