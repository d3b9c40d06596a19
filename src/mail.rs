//! Outgoing e-mail: SMTP from `NARVARO_SMTP_URL` (STARTTLS when the server offers it,
//! `smtps://` for TLS from the start; pooled), or `.eml` files in `NARVARO_MAIL_DIR` when
//! no server is configured (the demo default, and what tests read).

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::sync::OnceLock;

use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

enum Transport {
    /// The pool is built on first use: it starts a task on the async runtime, which a
    /// command's start-up does not have yet.
    Smtp {
        builder: AsyncSmtpTransportBuilder,
        pool: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    },
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

/// The SMTP pool closes its connections on a task of the async runtime when dropped; where
/// no runtime is left (the very end of a process) they are left to the operating system
/// instead of panicking.
impl Drop for Mailer {
    fn drop(&mut self) {
        if let Transport::Smtp { pool, .. } = &mut self.transport {
            if tokio::runtime::Handle::try_current().is_err() {
                if let Some(p) = pool.take() {
                    std::mem::forget(p);
                }
            }
        }
    }
}

/// An e-mail address as Närvaro takes one, wherever it comes from (a form, an import, a
/// stored row): trimmed and lower-cased, at most 254 characters, a valid address for
/// lettre (so a message to it can be built) with a dot in the domain. One rule, checked by
/// parsing: a value of this type is an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(lettre::Address);

impl Email {
    pub fn parse(raw: &str) -> Option<Email> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() || s.len() > 254 {
            return None;
        }
        let address: lettre::Address = s.parse().ok()?;
        let domain = address.domain();
        let dotted = domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.');
        dotted.then_some(Email(address))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Why a message was not handed over.
#[derive(Debug)]
pub enum MailError {
    /// The address or message is wrong; trying again will not help.
    Permanent(String),
    /// The server is down or said "later".
    Temporary(String),
}

impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailError::Permanent(m) => write!(f, "permanent: {m}"),
            MailError::Temporary(m) => write!(f, "temporary: {m}"),
        }
    }
}

/// `smtp://` URLs get opportunistic STARTTLS unless they say otherwise.
fn smtp_url_with_tls(url: &str) -> String {
    if url.starts_with("smtp://") && !url.contains("tls=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}tls=opportunistic")
    } else {
        url.to_string()
    }
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Mailer, String> {
        let from: Mailbox = config.mail_from.parse().map_err(|e| {
            format!(
                "NARVARO_MAIL_FROM: '{}' is not an address: {e}",
                config.mail_from
            )
        })?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp {
                builder: AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp_url_with_tls(url))
                    .map_err(|e| format!("NARVARO_SMTP_URL: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20))),
                pool: OnceLock::new(),
            },
            None => {
                std::fs::create_dir_all(&config.mail_dir).map_err(|e| {
                    format!(
                        "NARVARO_MAIL_DIR: cannot create '{}': {e}",
                        config.mail_dir.display()
                    )
                })?;
                Transport::Files(AsyncFileTransport::new(&config.mail_dir))
            }
        };
        Ok(Mailer { transport, from })
    }

    /// Sends one message; `local_id` becomes its Message-ID, `<local_id@the sender's
    /// domain>` (RFC 5322 3.6.4), the same each time the same message is sent.
    pub async fn send(&self, mail: Mail, local_id: &str) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| MailError::Permanent(format!("bad recipient address: {e}")))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .message_id(Some(format!("<{local_id}@{}>", self.from.email.domain())))
            .subject(mail.subject);
        // Quoted-printable keeps the text readable in the raw message, whatever its letters.
        let part = |content_type: ContentType, body: String| {
            SinglePart::builder()
                .header(content_type)
                .header(ContentTransferEncoding::QuotedPrintable)
                .body(body)
        };
        let message = match mail.html {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, mail.text))
                    .singlepart(part(ContentType::TEXT_HTML, html)),
            ),
            None => builder.singlepart(part(ContentType::TEXT_PLAIN, mail.text)),
        }
        .map_err(|e| MailError::Permanent(format!("building the message: {e}")))?;
        match &self.transport {
            Transport::Smtp { builder, pool } => pool
                .get_or_init(|| builder.clone().build())
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| {
                    if e.is_permanent() {
                        MailError::Permanent(e.to_string())
                    } else {
                        MailError::Temporary(e.to_string())
                    }
                }),
            Transport::Files(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Temporary(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn an_email_is_one_rule() {
        let ok = |s: &str| Email::parse(s).map(|e| e.to_string());
        assert_eq!(
            ok(" Demo.Guardian@Example.COM "),
            Some("demo.guardian@example.com".into())
        );
        assert_eq!(
            ok("asa.oberg+skola@skola.example.se"),
            Some("asa.oberg+skola@skola.example.se".into())
        );
        for bad in [
            "",
            "no-at-sign",
            "a@b",
            "a@.example.com",
            "a@example.com.",
            "a b@example.com",
            "<a@example.com>",
            "a@example.com, b@example.com",
            "@example.com",
            "a\u{0}@example.com",
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(ok(&long), None);
    }

    #[test]
    fn plain_smtp_asks_for_starttls_when_offered() {
        assert_eq!(
            super::smtp_url_with_tls("smtp://u:p@mail:587"),
            "smtp://u:p@mail:587?tls=opportunistic"
        );
        assert_eq!(
            super::smtp_url_with_tls("smtp://mail?tls=required"),
            "smtp://mail?tls=required"
        );
        assert_eq!(super::smtp_url_with_tls("smtps://mail"), "smtps://mail");
    }
}
