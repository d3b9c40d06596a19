//! Text messages through an SMS gateway over HTTPS: 46elks (46elks.com, Stockholm), by its
//! documented HTTP API. `POST {NARVARO_SMS_URL}/sms` with HTTP Basic authentication (the
//! API username and password) and the form fields `from`, `to` (E.164), `message` and
//! `whendelivered` (where the gateway posts its delivery report); the answer is JSON with
//! the message's `id` and the `parts` (segments) it cost. The delivery report is a form
//! post of `id` and `status` (`delivered` or `failed`). 46elks does not sign its reports,
//! so the report address carries Närvaro's own signature of the outbox row, and the
//! report's `id` must be the one the gateway gave that row.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::DbConn;
use crate::error::AppResult;
use crate::mail::MailError;
use crate::schema::*;
use crate::school::ids::NoticeId;

pub use crate::config::SmsConfig;

/// What the gateway said when it took a message.
#[derive(Debug, Deserialize)]
pub struct Taken {
    pub id: String,
    #[serde(default)]
    pub parts: Option<i32>,
}

/// The characters of the GSM 03.38 basic set, and of its extension (two characters each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED: &str = "^{}\\[~]|€\x0c";

/// How many segments a text costs: up to 160 GSM 7-bit characters in one (153 a segment
/// when split), or 70 UTF-16 units for any other script, such as Arabic (67 when split).
pub fn segments(text: &str) -> u32 {
    let gsm: Option<usize> = text.chars().try_fold(0usize, |n, c| {
        if GSM_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (len, one, each) = match gsm {
        Some(n) => (n, 160, 153),
        None => (text.encode_utf16().count(), 70, 67),
    };
    let n = if len <= one { 1 } else { len.div_ceil(each) };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Sends one text message. A refusal by the gateway (a bad number, no credit, bad
/// credentials: 4xx) is permanent; no answer or a 5xx is temporary and retried.
pub async fn send(
    cfg: &SmsConfig,
    to: &str,
    message: &str,
    report_url: &str,
) -> Result<Taken, MailError> {
    // HTTPS with the web PKI's roots (the gateway's address is https://): awc's own
    // default connector has no TLS with the features Närvaro builds it with
    let client = crate::outbound::client(
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(20),
    );
    let url = format!("{}/sms", cfg.url.trim_end_matches('/'));
    let form = [
        ("from", cfg.from.as_str()),
        ("to", to),
        ("message", message),
        ("whendelivered", report_url),
    ];
    let mut res = client
        .post(&url)
        .basic_auth(&cfg.user, &cfg.password)
        .send_form(&form)
        .await
        .map_err(|e| MailError::Temporary(format!("the SMS gateway did not answer: {e}")))?;
    let status = res.status();
    let body = res
        .body()
        .limit(64 * 1024)
        .await
        .map_err(|e| MailError::Temporary(format!("the SMS gateway's answer: {e}")))?;
    if status.is_server_error() {
        return Err(MailError::Temporary(format!(
            "the SMS gateway answered {status}"
        )));
    }
    if !status.is_success() {
        // the gateway's words about the refusal, without the number
        let said: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        return Err(MailError::Permanent(format!(
            "the SMS gateway refused the message ({status}): {}",
            said.replace(to, "…")
        )));
    }
    serde_json::from_slice::<Taken>(&body)
        .map_err(|e| MailError::Temporary(format!("the SMS gateway's answer was not read: {e}")))
}

/// Where the gateway posts the delivery report of outbox row `row`: signed, so that only
/// the gateway that was given the address can report on the row.
pub fn report_url(base_url: &str, secret: &[u8], row: NoticeId) -> String {
    let sig = crate::auth::secret::mac(secret, "sms-report", &row.to_string());
    format!("{base_url}/sms/reports/{row}?sig={sig}")
}

/// Whether `sig` is the signature of row `row`'s report address.
pub fn report_sig_valid(secret: &[u8], row: NoticeId, sig: &str) -> bool {
    let want = crate::auth::secret::mac(secret, "sms-report", &row.to_string());
    crate::auth::secret::constant_time_eq(&want, sig)
}

/// Records that row `id` went out as a text message (`channel`: sms, or both with the
/// e-mail): the gateway's id for it and the segments it cost.
pub fn texted(
    conn: &mut DbConn,
    id: NoticeId,
    provider: &str,
    segments: i32,
    channel: &str,
) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::provider_id.eq(provider),
            outbox::segments.eq(segments),
            outbox::channel.eq(channel),
        ))
        .execute(conn)?;
    Ok(())
}

/// What a delivery report did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reported {
    Recorded,
    /// the text failed and an e-mail was queued in its place
    FellBack,
    /// no row with that gateway id at that address
    Unknown,
}

/// Records the gateway's delivery report for row `row` (its `id` must be the row's). A
/// text that failed and went alone is followed by an e-mail: a new outbox row on the
/// `email_fallback` channel, written once however often the report comes.
pub fn report(
    conn: &mut DbConn,
    row: NoticeId,
    provider: &str,
    status: &str,
    now: NaiveDateTime,
) -> AppResult<Reported> {
    conn.transaction(|conn| {
        #[allow(clippy::type_complexity)]
        let found: Option<(
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<NaiveDate>,
            String,
            String,
            String,
        )> = outbox::table
            .find(row)
            .filter(outbox::provider_id.eq(provider))
            .select((
                outbox::kind,
                outbox::dedupe_key,
                outbox::recipient_id,
                outbox::recipient_email,
                outbox::pupil_id,
                outbox::notice_date,
                outbox::language,
                outbox::channel,
                outbox::payload,
            ))
            .first(conn)
            .optional()?;
        let Some((kind, key, recipient, email, pupil, date, language, channel, payload)) = found
        else {
            return Ok(Reported::Unknown);
        };
        let delivery = if status == "delivered" {
            "delivered"
        } else {
            "failed"
        };
        diesel::update(outbox::table.find(row))
            .set(outbox::delivery.eq(delivery))
            .execute(conn)?;
        if delivery == "delivered" || channel != "sms" {
            return Ok(Reported::Recorded);
        }
        let made = crate::on_backend!(conn, c => diesel::insert_into(outbox::table)
            .values((
                outbox::kind.eq(&kind),
                outbox::dedupe_key.eq(format!("{key}:fallback")),
                outbox::recipient_id.eq(recipient),
                outbox::recipient_email.eq(&email),
                outbox::pupil_id.eq(pupil),
                outbox::notice_date.eq(date),
                outbox::language.eq(&language),
                outbox::payload.eq(&payload),
                outbox::status.eq(if email.is_some() { "pending" } else { "unreachable" }),
                outbox::due_at.eq(now),
                outbox::created_at.eq(now),
                outbox::channel.eq("email_fallback"),
            ))
            .on_conflict(outbox::dedupe_key)
            .do_nothing()
            .execute(c))?;
        Ok(if made > 0 {
            Reported::FellBack
        } else {
            Reported::Recorded
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_fits_160_and_arabic_70_characters_a_segment() {
        assert_eq!(segments(&"å".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        // the extension characters count twice
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
        assert_eq!(segments(&"ب".repeat(70)), 1);
        assert_eq!(segments(&"ب".repeat(71)), 2);
        assert_eq!(segments(&"ب".repeat(134)), 2);
    }
}
