//! Passwords are stored as argon2id PHC strings (salt and parameters inside).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing a password failed: {e}"))
}

/// False for a wrong password and for a stored value that is not a valid hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = super::hash("narvaro-demo").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("narvaro-demo", &h));
        assert!(!super::verify("narvaro-dem0", &h));
        assert!(!super::verify("narvaro-demo", "not a hash"));
    }
}
