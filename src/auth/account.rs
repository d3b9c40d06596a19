//! A person's own account: the settings they choose (e-mail, language, whether to get
//! report confirmations) and their stored password hash, for checking the current password
//! before a new one is set.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::PersonId;

/// What a person sets on "My account".
pub struct Settings {
    /// a valid address (checked by the caller) or none
    pub email: Option<String>,
    /// a number in E.164 (checked by the caller) or none
    pub phone: Option<String>,
    /// a language code Närvaro has (`i18n::Lang`)
    pub language: String,
    pub receive_confirmations: bool,
}

/// The addresses the school administration system lists for a person (SS 12000 type,
/// address), in its order: the choices on "My account".
pub fn register_addresses(conn: &mut DbConn, id: PersonId) -> AppResult<Vec<(String, String)>> {
    Ok(person_emails::table
        .filter(person_emails::person_id.eq(id))
        .order(person_emails::id)
        .select((person_emails::kind, person_emails::address))
        .load(conn)?)
}

/// The person's telephone number (E.164), if any.
pub fn phone(conn: &mut DbConn, id: PersonId) -> AppResult<Option<String>> {
    Ok(people::table.find(id).select(people::phone).first(conn)?)
}

/// Saves the settings, audited. An address or a number other than the stored one is the
/// person's choice from then on: later imports leave it alone (`email_chosen`,
/// `phone_chosen`).
pub fn save_settings(
    conn: &mut DbConn,
    id: PersonId,
    s: &Settings,
    (addr, now): (&str, chrono::NaiveDateTime),
) -> AppResult<()> {
    conn.transaction(|conn| {
        let ((stored, chosen), (stored_phone, phone_chosen)): (
            (Option<String>, bool),
            (Option<String>, bool),
        ) = people::table
            .find(id)
            .select((
                (people::email, people::email_chosen),
                (people::phone, people::phone_chosen),
            ))
            .first(conn)?;
        let chosen = chosen || stored != s.email;
        let phone_chosen = phone_chosen || stored_phone != s.phone;
        diesel::update(people::table.find(id))
            .set((
                people::email.eq(&s.email),
                people::email_chosen.eq(chosen),
                people::phone.eq(&s.phone),
                people::phone_chosen.eq(phone_chosen),
                people::language.eq(&s.language),
                people::receive_confirmations.eq(s.receive_confirmations),
            ))
            .execute(conn)?;
        settings_changed(
            conn,
            id,
            serde_json::json!({"email_set": s.email.is_some(), "email_changed": stored != s.email, "phone_set": s.phone.is_some(), "phone_changed": stored_phone != s.phone, "language": s.language, "receive_confirmations": s.receive_confirmations}),
            (addr, now),
        )
    })
}

/// Audits a person's change to their own settings (`detail`: what changed, never an
/// address or a number).
pub fn settings_changed(
    conn: &mut DbConn,
    id: PersonId,
    detail: serde_json::Value,
    (addr, now): (&str, chrono::NaiveDateTime),
) -> AppResult<()> {
    crate::audit::record(
        conn,
        crate::audit::Entry {
            at: now,
            actor: Some(id),
            action: "settings.changed",
            entity: "person",
            entity_id: Some(id.into()),
            detail,
            client_addr: Some(addr),
        },
    )?;
    Ok(())
}

/// The person's stored language when it is not the default (Swedish).
pub fn language(conn: &mut DbConn, id: PersonId) -> AppResult<Option<String>> {
    let l: String = people::table
        .find(id)
        .select(people::language)
        .first(conn)?;
    Ok(Some(l).filter(|l| l != "sv"))
}

/// Stores the language a person chose from the language menu (what their e-mails and text
/// messages are written in), audited when it changes.
pub fn set_language(
    conn: &mut DbConn,
    id: PersonId,
    language: &str,
    (addr, now): (&str, chrono::NaiveDateTime),
) -> AppResult<()> {
    conn.transaction(|conn| {
        let changed = diesel::update(people::table.find(id).filter(people::language.ne(language)))
            .set(people::language.eq(language))
            .execute(conn)?;
        if changed > 0 {
            settings_changed(
                conn,
                id,
                serde_json::json!({ "language": language }),
                (addr, now),
            )?;
        }
        Ok(())
    })
}

/// The person's password hash, if they have a password.
pub fn password_hash(conn: &mut DbConn, id: PersonId) -> AppResult<Option<String>> {
    Ok(people::table
        .find(id)
        .select(people::password_hash)
        .first(conn)?)
}

/// The name an authenticator app shows for the person's account: their username, or their
/// e-mail address, or their id.
pub fn username(conn: &mut DbConn, id: PersonId) -> AppResult<Option<String>> {
    let (username, email): (Option<String>, Option<String>) = people::table
        .find(id)
        .select((people::username, people::email))
        .first(conn)?;
    Ok(username.or(email))
}
