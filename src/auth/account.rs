//! A person's own account: the settings they choose (e-mail, language, whether to get
//! report confirmations) and their stored password hash, for checking the current password
//! before a new one is set.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;

/// What a person sets on "My account".
pub struct Settings {
    /// a valid address (checked by the caller) or none
    pub email: Option<String>,
    /// "sv" or "en"
    pub language: String,
    pub receive_confirmations: bool,
}

/// Saves the settings, audited.
pub fn save_settings(conn: &mut DbConn, id: i64, s: &Settings, addr: &str) -> AppResult<()> {
    conn.transaction(|conn| {
        diesel::update(people::table.find(id))
            .set((
                people::email.eq(&s.email),
                people::language.eq(&s.language),
                people::receive_confirmations.eq(s.receive_confirmations),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            crate::audit::Entry {
                actor: Some(id),
                action: "settings.changed",
                entity: "person",
                entity_id: Some(id),
                detail: serde_json::json!({"email_set": s.email.is_some(), "language": s.language, "receive_confirmations": s.receive_confirmations}),
                client_addr: Some(addr),
            },
        )?;
        Ok(())
    })
}

/// The person's password hash, if they have a password.
pub fn password_hash(conn: &mut DbConn, id: i64) -> AppResult<Option<String>> {
    Ok(people::table
        .find(id)
        .select(people::password_hash)
        .first(conn)?)
}
