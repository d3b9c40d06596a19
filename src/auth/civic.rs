//! Civic numbers (personnummer, samordningsnummer, or a school's temporary number) are
//! kept only as a keyed hash: enough to match a guardian's or an adult pupil's sign-in
//! through an identity provider (BankID, Freja eID) against the person the school
//! administration system sent, and nothing more. The number is never stored, shown or
//! logged, and the hash cannot be read back without the key.
//!
//! The key is derived from the deployment's signing secret (NARVARO_JWT_SECRET, or the
//! secret file beside a SQLite database), which is not in the database: a copy of the
//! database alone does not give the numbers away. A new signing secret leaves the stored
//! hashes unmatched until the next sync writes them anew.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::people;

/// What a stored hash starts with (its scheme), so a plain number stored by an older
/// version is told apart and hashed at start.
const SCHEME: &str = "h1:";

/// The key civic numbers are hashed under.
#[derive(Clone)]
pub struct CivicKey(Vec<u8>);

impl std::fmt::Debug for CivicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CivicKey(***)")
    }
}

impl CivicKey {
    pub fn new(signing_secret: &[u8]) -> CivicKey {
        CivicKey(super::secret::mac(signing_secret, "civic number key", "v1").into_bytes())
    }

    /// The stored form of a civic number, or None when it is not one
    /// ([`normalise`]).
    pub fn hash(&self, raw: &str) -> Option<String> {
        let n = normalise(raw)?;
        Some(format!(
            "{SCHEME}{}",
            super::secret::mac(&self.0, "civic number", &n)
        ))
    }
}

/// A civic number as SS 12000 writes it: twelve characters, the date of birth as eight
/// digits (a samordningsnummer adds 60 to the day) and four digits, or for a school's
/// temporary number two letters and two digits. Separators (`-`, `+`, spaces) are left
/// out and letters compared in capitals, so `20130314-2384` is `201303142384`.
pub fn normalise(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | '+' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = s.as_bytes();
    if b.len() != 12 || !b[..8].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (month, day) = (&s[4..6], &s[6..8]);
    let month: u32 = month.parse().ok()?;
    let day: u32 = day.parse().ok()?;
    if !(1..=12).contains(&month) || !((1..=31).contains(&day) || (61..=91).contains(&day)) {
        return None;
    }
    let tail = &b[8..];
    let digits = tail.iter().all(u8::is_ascii_digit);
    let temporary =
        tail[..2].iter().all(u8::is_ascii_uppercase) && tail[2..].iter().all(u8::is_ascii_digit);
    (digits || temporary).then_some(s)
}

/// Civic numbers an older version stored in plain text, replaced by their hash (one that
/// is no civic number is dropped). Run at start; returns how many were changed.
pub fn hash_stored(conn: &mut DbConn, key: &CivicKey) -> QueryResult<usize> {
    let plain: Vec<(i64, String)> = people::table
        .filter(people::civic_no.is_not_null())
        .filter(people::civic_no.not_like(format!("{SCHEME}%")))
        .select((people::id, people::civic_no.assume_not_null()))
        .load(conn)?;
    if plain.is_empty() {
        return Ok(0);
    }
    conn.write_transaction(|c| {
        for (id, raw) in &plain {
            diesel::update(people::table.find(id))
                .set(people::civic_no.eq(key.hash(raw)))
                .execute(c)?;
        }
        Ok(plain.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civic_numbers_are_twelve_characters_as_the_standard_writes_them() {
        assert_eq!(normalise("201303142384").as_deref(), Some("201303142384"));
        assert_eq!(normalise("20130314-2384").as_deref(), Some("201303142384"));
        // samordningsnummer: the day plus 60
        assert_eq!(normalise("200112840123").as_deref(), Some("200112840123"));
        // a school's temporary number
        assert_eq!(normalise("20130101tf01").as_deref(), Some("20130101TF01"));
        for bad in [
            "",
            "1303142384",
            "2013031423845",
            "20131314238x",
            "201300142384",
            "20130101T101",
            "value",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_hash_depends_on_the_key_and_hides_the_number() {
        let key = CivicKey::new(b"secret-one-secret-one-secret-one");
        let h = key.hash("20130314-2384").unwrap();
        assert!(h.starts_with("h1:") && !h.contains("2384"));
        assert_eq!(Some(h.clone()), key.hash("201303142384"));
        let other = CivicKey::new(b"secret-two-secret-two-secret-two");
        assert_ne!(Some(h), other.hash("201303142384"));
        assert_eq!(key.hash("not a number"), None);
        assert_eq!(format!("{key:?}"), "CivicKey(***)");
    }
}
