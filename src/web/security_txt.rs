//! `/.well-known/security.txt` (RFC 9116): where to report a vulnerability in this
//! installation. `Contact` is the municipality's (NARVARO_SECURITY_CONTACT, one or more
//! `mailto:`, `https:` or `tel:` URIs; by default `mailto:security@` the service's host),
//! `Expires` half a year ahead (the file is made when asked, so it never goes stale), the
//! languages reports are read in, and the file's own address as `Canonical`.

use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// The file, for a service at `base_url` now.
pub fn text(base_url: &str, contacts: &[String], now: chrono::NaiveDateTime) -> String {
    let expires = (now + chrono::Duration::days(182)).format("%Y-%m-%dT%H:%M:%SZ");
    let mut out = String::from(
        "# Närvaro: how to report a vulnerability in this service (RFC 9116).\n\
         # Please do not test against pupils' data; see SECURITY.md in the source.\n",
    );
    for c in contacts {
        out.push_str(&format!("Contact: {c}\n"));
    }
    out.push_str(&format!("Expires: {expires}\n"));
    out.push_str("Preferred-Languages: sv, en\n");
    out.push_str(&format!("Canonical: {base_url}/.well-known/security.txt\n"));
    out
}

/// GET /.well-known/security.txt
pub async fn security_txt(state: web::Data<AppState>) -> HttpResponse {
    let body = text(
        &state.config.base_url,
        &state.config.security_contacts,
        crate::school::clock::system_now(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_has_the_fields_rfc_9116_requires() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let t = text(
            "https://narvaro.kommun.se",
            &[
                "mailto:security@kommun.se".into(),
                "https://kommun.se/sakerhet".into(),
            ],
            now,
        );
        assert!(
            t.contains("Contact: mailto:security@kommun.se\nContact: https://kommun.se/sakerhet\n")
        );
        // exactly one Expires, RFC 3339, less than a year ahead
        assert_eq!(t.matches("Expires:").count(), 1);
        assert!(t.contains("Expires: 2027-06-06T12:00:00Z\n"), "{t}");
        assert!(t.contains("Canonical: https://narvaro.kommun.se/.well-known/security.txt\n"));
        // every line is a comment, a field or empty
        for line in t.lines() {
            assert!(line.starts_with('#') || line.contains(": "), "{line}");
        }
    }
}
