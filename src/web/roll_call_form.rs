//! The roll-call form as it arrives: each pupil's status, minutes and reason, the button
//! pressed, and what a device that kept the form without a network adds to it.

use std::collections::HashMap;

use crate::attendance::roll_call::{MarkInput, Status};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::{PupilId, ReasonId};

/// Which button sent the roll-call form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// "Rapportera lektionen" / "Spara ändringarna": the marks as on the page
    Report,
    /// "Alla närvarande": asks first when the page holds marks the teacher made
    AllPresent,
    /// "Ja, alla närvarande" after that question
    AllPresentConfirmed,
}

/// The marks, the version the form was based on, the correction reason, and the button.
pub(super) type ParsedForm = (Vec<MarkInput>, Option<i32>, Option<String>, Action);

/// The form's fields: `s<id>` status, `m<id>` minutes, `r<id>` reason, per pupil.
pub(super) fn parse_form(fields: &[(String, String)], lang: Lang) -> AppResult<ParsedForm> {
    let mut by_pupil: HashMap<PupilId, MarkInput> = HashMap::new();
    let mut minutes: HashMap<PupilId, &str> = HashMap::new();
    let mut reasons: HashMap<PupilId, &str> = HashMap::new();
    let mut version = None;
    let mut correction = None;
    let mut action = Action::Report;
    let bad = |what: &str| {
        AppError::invalid(Code::BadForm, lang.fill(
            "Formuläret innehåller ett felaktigt värde ({what}). Ladda om sidan och försök igen.",
            "The form holds a wrong value ({what}). Reload the page and try again.",
            &[("what", what)],
        ))
    };
    for (k, v) in fields {
        // a number that is no pupil of the lesson is refused by the roll call, naming it
        let pupil = || k[1..].parse::<i64>().map(PupilId).map_err(|_| bad(k));
        match k.as_str() {
            "version" => version = Some(v.parse::<i32>().map_err(|_| bad("version"))?),
            "correction_reason" => correction = Some(v.clone()),
            // a roll call saved on the device without a network: when (ms since 1970)
            "device_saved_at" | "device_submission" => {}
            "action" => {
                action = match v.as_str() {
                    "all_present" => Action::AllPresent,
                    "all_present_confirmed" => Action::AllPresentConfirmed,
                    _ => Action::Report,
                }
            }
            "_csrf" => {}
            _ if k.starts_with('s') => {
                let status = status_from_code(v).ok_or_else(|| bad(k))?;
                let id = pupil()?;
                by_pupil.insert(
                    id,
                    MarkInput {
                        pupil_id: id,
                        status,
                        minutes: None,
                        reason_id: None,
                    },
                );
            }
            _ if k.starts_with('m') => {
                minutes.entry(pupil()?).or_insert(v.trim());
            }
            // "Annat": a number of minutes typed beside the quick choices wins over them
            _ if k.starts_with('o') && !v.trim().is_empty() => {
                minutes.insert(pupil()?, v.trim());
            }
            _ if k.starts_with('r') => {
                reasons.insert(pupil()?, v.trim());
            }
            _ => {}
        }
    }
    let mut marks: Vec<MarkInput> = by_pupil.into_values().collect();
    for m in marks.iter_mut() {
        if let Some(raw) = minutes.get(&m.pupil_id).filter(|r| !r.is_empty()) {
            m.minutes = Some(raw.parse::<i32>().map_err(|_| {
                AppError::invalid(
                    Code::BadMinutes,
                    lang.pick(
                        "Minuter skrivs som ett heltal, till exempel 10.",
                        "Minutes are a whole number, for example 10.",
                    ),
                )
            })?);
        }
        if let Some(raw) = reasons.get(&m.pupil_id).filter(|r| !r.is_empty()) {
            m.reason_id = Some(
                raw.parse::<i64>()
                    .map(ReasonId)
                    .map_err(|_| bad("reason"))?,
            );
        }
    }
    marks.sort_by_key(|m| m.pupil_id);
    Ok((marks, version, correction, action))
}

/// When a roll call sent later was saved on the device (`device_saved_at`, milliseconds
/// since 1970, from `static/offline.js`).
pub(super) fn device_saved_at(
    fields: &[(String, String)],
    lang: Lang,
) -> AppResult<Option<chrono::NaiveDateTime>> {
    let Some((_, raw)) = fields.iter().find(|(k, _)| k == "device_saved_at") else {
        return Ok(None);
    };
    raw.trim()
        .parse::<i64>()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| Some(t.naive_utc()))
        .ok_or_else(|| {
            AppError::invalid(
                Code::BadForm,
                lang.pick(
                    "Formuläret innehåller ett felaktigt värde (device_saved_at).",
                    "The form holds a wrong value (device_saved_at).",
                ),
            )
        })
}

/// The id the device gave a roll call it kept (1–64 of a–z, A–Z, 0–9 and hyphens).
pub(super) fn device_submission(
    fields: &[(String, String)],
    lang: Lang,
) -> AppResult<Option<String>> {
    let Some((_, raw)) = fields.iter().find(|(k, _)| k == "device_submission") else {
        return Ok(None);
    };
    let ok = (1..=64).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(Some(raw.clone()))
    } else {
        Err(AppError::invalid(
            Code::BadForm,
            lang.pick(
                "Formuläret innehåller ett felaktigt värde (device_submission).",
                "The form holds a wrong value (device_submission).",
            ),
        ))
    }
}

/// A status as the form's radio buttons write it.
pub(super) fn status_code(s: Status) -> &'static str {
    match s {
        Status::Present => "p",
        Status::Absent => "a",
        Status::Late => "l",
        Status::LeftEarly => "e",
        Status::PartlyAbsent => "x",
    }
}

fn status_from_code(c: &str) -> Option<Status> {
    Status::ALL.iter().copied().find(|s| status_code(*s) == c)
}
