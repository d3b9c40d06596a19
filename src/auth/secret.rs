//! Keyed hashes. BLAKE2b is not open to length extension, so hashing the key before the
//! message is a sound MAC; the key is the deployment's signing secret.

use blake2::{Blake2b512, Digest};

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A MAC of `message` under `key` for one `purpose`, as 64 hex characters.
pub fn mac(key: &[u8], purpose: &str, message: &str) -> String {
    hex(&mac_bytes(key, purpose, message))
}

/// The same MAC as 32 bytes (a key derived for one purpose).
pub fn mac_bytes(key: &[u8], purpose: &str, message: &str) -> [u8; 32] {
    let mut h = Blake2b512::new();
    h.update((key.len() as u64).to_le_bytes());
    h.update(key);
    h.update((purpose.len() as u64).to_le_bytes());
    h.update(purpose.as_bytes());
    h.update(message.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(&h.finalize()[..32]);
    out
}

/// What the database keeps of a single-use link's secret.
pub fn token_hash(token: &str) -> String {
    let mut h = Blake2b512::new();
    h.update(b"narvaro one-time token\0");
    h.update(token.as_bytes());
    hex(&h.finalize())
}

/// What the database keeps of an API client's secret (a random 256-bit value: a fast hash
/// is enough, and no key is needed, so a new signing secret does not lock clients out).
pub fn client_secret_hash(secret: &str) -> String {
    let mut h = Blake2b512::new();
    h.update(b"narvaro api client secret\0");
    h.update(secret.as_bytes());
    hex(&h.finalize())
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> Result<String, NoRandomness> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(NoRandomness)?;
    Ok(hex(&bytes))
}

/// The system gave no randomness (a secret could not be made).
#[derive(Debug)]
pub struct NoRandomness(pub getrandom::Error);

impl std::fmt::Display for NoRandomness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no system randomness: {}", self.0)
    }
}

impl std::error::Error for NoRandomness {}

/// Compares without stopping at the first difference.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_depend_on_key_purpose_and_message() {
        let a = mac(b"key-one", "csrf", "n1");
        assert_eq!(a.len(), 64);
        assert_eq!(a, mac(b"key-one", "csrf", "n1"));
        assert_ne!(a, mac(b"key-two", "csrf", "n1"));
        assert_ne!(a, mac(b"key-one", "other", "n1"));
        assert_ne!(a, mac(b"key-one", "csrf", "n2"));
        // no ambiguity between where the purpose ends and the message starts
        assert_ne!(mac(b"k", "ab", "c"), mac(b"k", "a", "bc"));
    }

    #[test]
    fn comparison_and_randomness() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        let r = random_hex(16).unwrap();
        assert_eq!(r.len(), 32);
        assert_ne!(r, random_hex(16).unwrap());
        assert_ne!(token_hash("a"), token_hash("b"));
    }
}
