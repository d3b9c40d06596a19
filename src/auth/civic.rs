//! Civic numbers (personnummer, samordningsnummer, or a school's temporary number) are
//! kept as a keyed hash: enough to match a guardian's or an adult pupil's sign-in
//! through an identity provider (BankID, Freja eID) against the person the school
//! administration system sent. A pupil's number is also kept sealed (encrypted, AES-256
//! GCM-SIV), because two documents must carry it: the term report's file for the national
//! delivery and the report to a pupil's home municipality. It is opened for those two and
//! nothing else: never on a page of figures, never logged, never in an e-mail.
//! Guardians' and staff's numbers are only hashed.
//!
//! The keys are derived from the deployment's signing secret (NARVARO_JWT_SECRET, or the
//! secret file beside a SQLite database), which is not in the database: a copy of the
//! database alone does not give the numbers away. A new signing secret leaves the stored
//! hashes unmatched and the seals unopened until the next sync writes them anew.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM_SIV, NONCE_LEN};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::people;

/// What a stored hash starts with (its scheme), so a plain number stored by an older
/// version is told apart and hashed at start.
const SCHEME: &str = "h1:";

/// What a sealed number starts with (its scheme).
const SEALED: &str = "s1:";

/// What a seal is bound to (its additional authenticated data).
const SEAL_AAD: &[u8] = b"narvaro civic number v1";

/// The keys civic numbers are hashed and sealed under.
#[derive(Clone)]
pub struct CivicKey {
    hash: Vec<u8>,
    seal: [u8; 32],
    nonce: [u8; 32],
}

impl std::fmt::Debug for CivicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CivicKey(***)")
    }
}

impl CivicKey {
    pub fn new(signing_secret: &[u8]) -> CivicKey {
        CivicKey {
            hash: super::secret::mac(signing_secret, "civic number key", "v1").into_bytes(),
            seal: super::secret::mac_bytes(signing_secret, "civic number seal key", "v1"),
            nonce: super::secret::mac_bytes(signing_secret, "civic number seal nonce key", "v1"),
        }
    }

    /// The stored form of a civic number, or None when it is not one
    /// ([`normalise`]).
    pub fn hash(&self, raw: &str) -> Option<String> {
        let n = normalise(raw)?;
        Some(format!(
            "{SCHEME}{}",
            super::secret::mac(&self.hash, "civic number", &n)
        ))
    }

    fn cipher(&self) -> Option<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM_SIV, &self.seal)
            .ok()
            .map(LessSafeKey::new)
    }

    /// A pupil's civic number sealed for storing, or None when it is not one. The nonce is
    /// a MAC of the number (a synthetic IV, under GCM-SIV, which stays safe if a nonce
    /// repeats): the same number seals the same way, so a sync that sends it again
    /// changes nothing.
    pub fn seal(&self, raw: &str) -> Option<String> {
        let n = normalise(raw)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(
            &super::secret::mac_bytes(&self.nonce, "civic number seal nonce", &n)[..NONCE_LEN],
        );
        let mut sealed = n.into_bytes();
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(SEAL_AAD),
                &mut sealed,
            )
            .ok()?;
        Some(format!(
            "{SEALED}{}{}",
            super::secret::hex(&nonce),
            super::secret::hex(&sealed)
        ))
    }

    /// The number a seal holds, or None when it was sealed under another key or is not a
    /// seal.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = unhex(sealed.strip_prefix(SEALED)?)?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let mut rest = rest.to_vec();
        let plain = self
            .cipher()?
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).ok()?,
                Aad::from(SEAL_AAD),
                &mut rest,
            )
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
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

/// Civic numbers stored in plain text (by an older version, or by `narvaro seed`),
/// replaced by their hash, and a pupil's (a person with a school) sealed too; one that is
/// no civic number is dropped. Run at start; returns how many were changed.
pub fn hash_stored(conn: &mut DbConn, key: &CivicKey) -> QueryResult<usize> {
    let plain: Vec<(i64, String, Option<i64>)> = people::table
        .filter(people::civic_no.is_not_null())
        .filter(people::civic_no.not_like(format!("{SCHEME}%")))
        .select((
            people::id,
            people::civic_no.assume_not_null(),
            people::school_id,
        ))
        .load(conn)?;
    if plain.is_empty() {
        return Ok(0);
    }
    conn.write_transaction(|c| {
        for (id, raw, school) in &plain {
            let sealed = school.and_then(|_| key.seal(raw));
            diesel::update(people::table.find(id))
                .set((
                    people::civic_no.eq(key.hash(raw)),
                    people::civic_sealed.eq(sealed),
                ))
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

    #[test]
    fn a_seal_opens_under_its_own_key_only_and_hides_the_number() {
        let key = CivicKey::new(b"secret-one-secret-one-secret-one");
        let s = key.seal("20130314-2384").unwrap();
        assert!(s.starts_with("s1:") && !s.contains("2384"), "{s}");
        // the same number seals the same way (a sync sending it again changes nothing)
        assert_eq!(Some(s.clone()), key.seal("201303142384"));
        assert_ne!(key.seal("201303142384"), key.seal("201303142392"));
        assert_eq!(key.open(&s).as_deref(), Some("201303142384"));
        let other = CivicKey::new(b"secret-two-secret-two-secret-two");
        assert_eq!(other.open(&s), None);
        // a changed byte, a cut seal, a hash or garbage open to nothing
        let mut flipped = s.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(key.open(&String::from_utf8(flipped).unwrap()), None);
        assert_eq!(key.open(&s[..30]), None);
        assert_eq!(key.open(&key.hash("201303142384").unwrap()), None);
        assert_eq!(key.open("s1:zz"), None);
        assert_eq!(key.seal("not a number"), None);
    }
}
