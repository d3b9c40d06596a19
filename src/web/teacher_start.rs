//! The teacher's part of the start page: today's lessons, the lesson going on with its
//! roll call right there, and lessons of the last school days still unreported; and the
//! box of roll calls waiting on the device.

use chrono::{Datelike, Duration};
use maud::{html, Markup};

use super::layout::PageCtx;
use super::roll_call::{report_state, roll_form};
use crate::attendance::{lesson_list, roll_call};
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::state::AppState;

fn weekday(d: chrono::NaiveDate, lang: Lang) -> &'static str {
    let i = d.weekday().num_days_from_monday() as usize;
    match lang {
        Lang::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i],
        _ => ["mån", "tis", "ons", "tor", "fre", "lör", "sön"][i],
    }
}

/// The teacher's part of the start page: today's lessons (the current or next first and
/// prominent) and lessons of the last 7 school days still unreported.
pub async fn teacher_start(state: &AppState, ctx: &PageCtx, v: &Viewer) -> AppResult<Markup> {
    let today = state.today();
    let now = state
        .config
        .clock
        .now()
        .with_timezone(&state.config.timezone)
        .time();
    let from = lesson_list::school_days_back(today, 7);
    let viewer = v.clone();
    let lessons = state
        .db(move |conn| lesson_list::teacher_lessons(conn, &viewer, from, today))
        .await?;
    let (todays, earlier): (Vec<_>, Vec<_>) = lessons.into_iter().partition(|l| l.date == today);
    let (unreported, reported): (Vec<_>, Vec<_>) = earlier
        .into_iter()
        .filter(|l| !l.cancelled)
        .partition(|l| !l.reported);
    let current = todays
        .iter()
        .position(|l| !l.cancelled && l.ends_at > now)
        .or(if todays.is_empty() {
            None
        } else {
            Some(todays.len() - 1)
        });
    let line = |l: &lesson_list::LessonLine, big: bool| {
        html! {
            a.lesson.big[big] href={"/lessons/" (l.id)} {
                span.time { (l.starts_at.format("%H:%M")) "–" (l.ends_at.format("%H:%M")) }
                @let (subject, group) = super::common::lesson_title(&l.subject, &[l.group.as_str()]);
                " " strong { (subject) } " " span { (group) }
                @if let Some(room) = &l.room { " " span.muted { (room) } }
                " "
                @if l.cancelled { span.badge { (ctx.t("Inställd", "Cancelled")) } }
                @else if l.reported { span.badge.ok { (ctx.t("Rapporterad", "Reported")) } }
                @else { span.badge.todo { (ctx.t("Ej rapporterad", "Not reported")) } }
                @if l.substitute { " " span.badge { (ctx.t("Vikarie", "Substitute")) } }
            }
        }
    };
    // during a lesson (and in the five minutes before it) its roll call is right here
    let now_on = current
        .map(|i| &todays[i])
        .filter(|l| !l.cancelled && l.starts_at <= now + Duration::minutes(5) && now < l.ends_at);
    let on_now = match now_on {
        Some(l) => {
            let (id, viewer, tz, lang) = (l.id, v.clone(), state.config.timezone, ctx.lang);
            Some(
                state
                    .db(move |conn| roll_call::open(conn, &viewer, id, tz))
                    .await
                    .map(|rc| super::common::named(rc, lang))?,
            )
        }
        None => None,
    };
    // the device keeps the start page and the day's lessons (static/sw.js)
    let keep: Vec<String> = std::iter::once("/".to_string())
        .chain(
            todays
                .iter()
                .filter(|l| !l.cancelled)
                .map(|l| format!("/lessons/{}", l.id)),
        )
        .collect();
    Ok(html! {
        (super::offline::queue_box(ctx, v.id, &keep, true))
        @if let Some(rc) = &on_now {
            section.card.now aria-labelledby="now-h" {
                h2 #now-h { (ctx.t("Pågår nu: ", "Now: ")) (rc.lesson.subject) " " span.muted { (rc.lesson.groups.join(", ")) } }
                p.muted {
                    (rc.lesson.starts_at.format("%H:%M")) "–" (rc.lesson.ends_at.format("%H:%M"))
                    @if let Some(room) = &rc.lesson.room { " · " (room) }
                    " · " a href={"/lessons/" (rc.lesson.id)} { (ctx.t("Öppna lektionen", "Open the lesson")) }
                }
                (report_state(state, ctx, rc))
                (roll_form(ctx, rc, false, ""))
            }
        }
        section.card {
            h2 { (ctx.t("Dagens lektioner", "Today's lessons")) }
            @if todays.is_empty() {
                p { (ctx.t("Du har inga lektioner i dag.", "You have no lessons today.")) }
            } @else {
                @if let Some(i) = current { (line(&todays[i], true)) }
                ul.lessons { @for (i, l) in todays.iter().enumerate() { @if Some(i) != current { li { (line(l, false)) } } } }
            }
        }
        @if !unreported.is_empty() {
            section.card {
                h2 { (ctx.t("Ej rapporterade, senaste 7 skoldagarna", "Not reported, the last 7 school days")) }
                ul.lessons { @for l in &unreported { li { span.muted { (weekday(l.date, ctx.lang)) " " (l.date.format("%d/%m")) } " " (line(l, false)) } } }
            }
        }
        // reported lessons stay within reach, to correct one
        @if !reported.is_empty() {
            section.card {
                details {
                    summary { h2.inline { (ctx.t("Rapporterade, senaste 7 skoldagarna", "Reported, the last 7 school days")) " (" (reported.len()) ")" } }
                    ul.lessons { @for l in reported.iter().rev() { li { span.muted { (weekday(l.date, ctx.lang)) " " (l.date.format("%d/%m")) } " " (line(l, false)) } } }
                }
            }
        }
        @if !v.roles.mentor_of.is_empty() {
            p { a href="/mentor" { (ctx.t("Din mentorsgrupp: veckans frånvaro", "Your mentor group: this week's absence")) } }
        }
    })
}
