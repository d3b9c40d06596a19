//! The SMS gateway's delivery reports: `POST /sms/reports/{row}?sig=…`, the address given
//! with each text message (see `notices::sms`). A report with a bad signature or for a
//! message the row did not send is refused (404) and logged without the number. The
//! gateway is no browser: the answers are plain, without a page.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::AppResult;
use crate::notices::sms::{self, Reported};
use crate::school::ids::NoticeId;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Signed {
    #[serde(default)]
    sig: String,
}

/// 46elks posts `id`, `status` (delivered or failed) and `delivered` (when).
#[derive(Deserialize)]
pub struct Report {
    id: String,
    status: String,
}

pub async fn report(
    state: web::Data<AppState>,
    row: web::Path<NoticeId>,
    signed: web::Query<Signed>,
    form: web::Form<Report>,
) -> AppResult<HttpResponse> {
    let row = row.into_inner();
    if !sms::report_sig_valid(&state.jwt_secret, row, &signed.sig) {
        tracing::warn!(row = %row, "an SMS delivery report with a bad signature was refused");
        return Ok(HttpResponse::NotFound().finish());
    }
    let Report { id, status } = form.into_inner();
    if !matches!(status.as_str(), "delivered" | "failed") {
        return Ok(HttpResponse::BadRequest().body("status is delivered or failed"));
    }
    let now = state.now();
    let done = state
        .db_write(move |conn| sms::report(conn, row, &id, &status, now))
        .await?;
    match done {
        Reported::Unknown => {
            tracing::warn!(row = %row, "an SMS delivery report for a message this row did not send was refused");
            Ok(HttpResponse::NotFound().finish())
        }
        Reported::FellBack => {
            state.outbox.wake();
            Ok(HttpResponse::NoContent().finish())
        }
        Reported::Recorded => Ok(HttpResponse::NoContent().finish()),
    }
}
