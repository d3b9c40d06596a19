//! Text messages beside e-mail: which channels a guardian is told on (their choice for the
//! kind of message, else the municipality's default), and the short text itself, in the
//! guardian's language, built from the same facts as the e-mail. A text names the child
//! (or "your child" for a protected identity), the day or period and the page to read
//! more on; never a reason, a message or a figure.

use diesel::prelude::*;
use serde_json::Value;

use super::queue::{Claimed, Outbox};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::schema::*;
use crate::school::ids::PersonId;

/// The kinds of message a guardian may have as text messages.
pub const KINDS: [&str; 5] = [
    "unexplained_absence",
    "report_confirmation",
    "leave_decision",
    "leave_confirmation",
    "signal_guardian",
];

/// The channels a person may choose for a kind.
pub const CHOICES: [&str; 3] = ["email", "sms", "both"];

/// A text message to send with (or instead of) a notice's e-mail.
#[derive(Debug)]
pub struct Text {
    /// the number, E.164
    pub to: String,
    pub message: String,
    /// whether the e-mail goes too (else only should the text fail)
    pub email_too: bool,
}

/// The person's choice for `kind` (email, sms or both), or None when they made none.
pub fn chosen(conn: &mut DbConn, person: PersonId, kind: &str) -> AppResult<Option<String>> {
    Ok(person_channels::table
        .filter(person_channels::person_id.eq(person))
        .filter(person_channels::kind.eq(kind))
        .select(person_channels::channels)
        .first(conn)
        .optional()?)
}

/// Every choice the person made, by kind.
pub fn choices(conn: &mut DbConn, person: PersonId) -> AppResult<Vec<(String, String)>> {
    Ok(person_channels::table
        .filter(person_channels::person_id.eq(person))
        .select((person_channels::kind, person_channels::channels))
        .load(conn)?)
}

/// Stores the person's choices (a kind left out keeps the municipality's default), all at
/// once and audited.
pub fn set_choices(
    conn: &mut DbConn,
    person: PersonId,
    chosen: &[(&str, &str)],
    (addr, now): (&str, chrono::NaiveDateTime),
) -> AppResult<()> {
    conn.transaction(|conn| {
        diesel::delete(person_channels::table.filter(person_channels::person_id.eq(person)))
            .execute(conn)?;
        for (kind, channels) in chosen {
            diesel::insert_into(person_channels::table)
                .values((
                    person_channels::person_id.eq(person),
                    person_channels::kind.eq(*kind),
                    person_channels::channels.eq(*channels),
                ))
                .execute(conn)?;
        }
        crate::auth::account::settings_changed(
            conn,
            person,
            serde_json::json!({ "channels": chosen }),
            (addr, now),
        )
    })
}

/// The text message for a notice about to be sent, when the guardian is to have one: the
/// gateway is set, the kind may go by text, the guardian chose text (or the default is
/// text) and has a number, and the row has not been texted already (a retry) nor is the
/// e-mail that follows a failed text.
pub(super) fn plan(
    conn: &mut DbConn,
    state: &Outbox,
    row: &Claimed,
    (recipient, lang): (PersonId, Lang),
    ctx: &Value,
) -> AppResult<Option<Text>> {
    if state.sms.is_none() || !KINDS.contains(&row.kind.as_str()) {
        return Ok(None);
    }
    #[allow(clippy::type_complexity)]
    let (phone, texted, channel, pupil): (Option<String>, Option<String>, String, Option<i64>) =
        outbox::table
            .find(row.id)
            .inner_join(people::table.on(people::id.eq(recipient)))
            .select((
                people::phone,
                outbox::provider_id,
                outbox::channel,
                outbox::pupil_id,
            ))
            .first(conn)?;
    let Some(to) = phone else { return Ok(None) };
    if texted.is_some() || channel == "email_fallback" {
        return Ok(None);
    }
    let choice = chosen(conn, recipient, &row.kind)?.unwrap_or_else(|| state.notify_by.clone());
    if choice == "email" {
        return Ok(None);
    }
    let pupil = pupil.map(|p| p.to_string()).unwrap_or_default();
    // a request for an answer links to the answer; everything else to the pupil's page
    let url = match ctx["answer_url"].as_str() {
        Some(answer) => answer.to_string(),
        None => format!("{}/pupils/{pupil}", state.base_url),
    };
    Ok(Some(Text {
        to,
        message: wording(&row.kind, lang, ctx, &url),
        email_too: choice == "both",
    }))
}

/// The text itself: one sentence and the page's address (one segment where the language
/// allows: 160 characters in Latin script, 70 in Arabic).
pub fn wording(kind: &str, lang: Lang, ctx: &Value, url: &str) -> String {
    let protected = ctx["protected"].as_bool().unwrap_or(true);
    let name = ctx["child_name"].as_str().unwrap_or_default();
    let period = ctx["period"].as_str().unwrap_or_default();
    let child = |sv: &'static str, en: &'static str| {
        if protected {
            lang.pick(sv, en).to_string()
        } else {
            name.to_string()
        }
    };
    let sentence = match kind {
        "unexplained_absence" if ctx["refused_leave"].as_bool() == Some(true) => lang.fill(
            "{child} var frånvarande {date} trots avslagen ansökan om ledighet.",
            "{child} was absent on {date} although leave had been refused.",
            &[
                ("child", &child("Ditt barn", "Your child")),
                ("date", ctx["date"].as_str().unwrap_or_default()),
            ],
        ),
        "unexplained_absence" => lang.fill(
            "{child} var frånvarande utan anmäld orsak {date}.",
            "{child} was absent without a reported reason on {date}.",
            &[
                ("child", &child("Ditt barn", "Your child")),
                ("date", ctx["date"].as_str().unwrap_or_default()),
            ],
        ),
        "report_confirmation" if ctx["cancelled"].as_bool() == Some(true) => lang.fill(
            "Anmälan om frånvaro för {child} {period} är borttagen.",
            "The absence report for {child} {period} has been cancelled.",
            &[
                ("child", &child("ditt barn", "your child")),
                ("period", period),
            ],
        ),
        "report_confirmation" => lang.fill(
            "Skolan har tagit emot en anmälan om frånvaro för {child} {period}.",
            "The school has received an absence report for {child} {period}.",
            &[
                ("child", &child("ditt barn", "your child")),
                ("period", period),
            ],
        ),
        "leave_decision" if ctx["declined"].as_bool() == Some(true) => lang.fill(
            "Den andra vårdnadshavaren godkände inte ansökan om ledighet för {child} {period}.",
            "The other guardian did not agree to the leave application for {child} {period}.",
            &[
                ("child", &child("ditt barn", "your child")),
                ("period", period),
            ],
        ),
        "leave_confirmation" => lang.fill(
            "Ansökan om ledighet för {child} {period} väntar på ditt svar.",
            "The leave application for {child} {period} is waiting for your answer.",
            &[
                ("child", &child("ditt barn", "your child")),
                ("period", period),
            ],
        ),
        "leave_decision" if ctx["approved"].as_bool() == Some(true) => lang.fill(
            "Ansökan om ledighet för {child} {period} är beviljad.",
            "The leave application for {child} {period} is approved.",
            &[
                ("child", &child("ditt barn", "your child")),
                ("period", period),
            ],
        ),
        "leave_decision" => lang.fill(
            "Ansökan om ledighet för {child} {period} är avslagen.",
            "The leave application for {child} {period} is rejected.",
            &[
                ("child", &child("ditt barn", "your child")),
                ("period", period),
            ],
        ),
        _ => lang
            .pick("Frånvaro i skolan", "Absence from school")
            .to_string(),
    };
    format!("Närvaro: {sentence} {url}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_notice_fits_one_segment_in_swedish_and_never_names_a_protected_child() {
        let ctx =
            json!({"protected": false, "child_name": "Anna Larsson", "date": "onsdag 25 november"});
        let t = wording(
            "unexplained_absence",
            Lang::Sv,
            &ctx,
            "https://narvaro.kommun.se/pupils/123",
        );
        assert_eq!(
            t,
            "Närvaro: Anna Larsson var frånvarande utan anmäld orsak onsdag 25 november. https://narvaro.kommun.se/pupils/123"
        );
        assert_eq!(super::super::sms::segments(&t), 1);
        let hidden = json!({"protected": true, "child_name": null, "date": "onsdag 25 november"});
        let t = wording(
            "unexplained_absence",
            Lang::Sv,
            &hidden,
            "https://x/pupils/9",
        );
        assert!(t.starts_with("Närvaro: Ditt barn var frånvarande"), "{t}");
    }
}
