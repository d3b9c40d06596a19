//! Sending: the channels a built notice goes out on, each behind a trait. E-mail over SMTP
//! (`Channel`), and text messages through an SMS gateway (`TextChannel`, 46elks today in
//! `sms.rs`; another provider is another `impl TextChannel`).

use std::future::Future;

use crate::mail::{Mail, MailError, Mailer};
use crate::school::ids::NoticeId;

/// A way to deliver the messages of one outbox row.
pub trait Channel {
    /// Sends the messages of outbox row `row`; the first failure stops it. A temporary
    /// failure is retried later, a permanent one marks the notice failed.
    fn deliver(
        &self,
        row: NoticeId,
        messages: Vec<Mail>,
    ) -> impl Future<Output = Result<(), MailError>>;
}

/// E-mail over SMTP (or to `.eml` files). Each message's Message-ID names the row (and its
/// place among the row's messages), so a message sent again after a crash between the SMTP
/// server's "250" and the row's "sent" carries the same Message-ID, and the receiving side
/// can tell it is the same message.
impl Channel for Mailer {
    async fn deliver(&self, row: NoticeId, messages: Vec<Mail>) -> Result<(), MailError> {
        for (n, mail) in messages.into_iter().enumerate() {
            self.send(mail, &format!("notice.{row}.{n}")).await?;
        }
        Ok(())
    }
}

/// A way to send a text message: the provider's id for it, and the segments it cost when
/// the provider says. Errors as for e-mail: a refusal is permanent, no answer temporary.
pub trait TextChannel {
    fn send_text(
        &self,
        to: &str,
        message: &str,
        report_url: &str,
    ) -> impl Future<Output = Result<super::sms::Taken, MailError>>;
}

/// 46elks, by its HTTP API.
impl TextChannel for super::sms::SmsConfig {
    async fn send_text(
        &self,
        to: &str,
        message: &str,
        report_url: &str,
    ) -> Result<super::sms::Taken, MailError> {
        super::sms::send(self, to, message, report_url).await
    }
}
