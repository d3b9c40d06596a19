//! Sending: the channel a built notice goes out on, behind one trait. E-mail is the one
//! channel today; a second (SMS, say) is a new file with its own `impl Channel`.

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
