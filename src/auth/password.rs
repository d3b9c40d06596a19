//! Passwords are stored as argon2id PHC strings (salt and parameters inside).
//!
//! Each hash needs about 19 MiB of working memory. Computed freely, a burst of parallel
//! sign-ins asks for that many times 19 MiB at once, and the allocator keeps what it got:
//! a probe took the server from 19 MB to over a gigabyte that way. So at most one hash
//! per core is computed at a time, in working memory that is allocated once per slot and
//! reused; the rest wait their turn, and when too many already wait the caller is told
//! to come back later ([`Busy`]) instead of queueing without end.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Callers that may wait for a free slot (a waiting caller holds no working memory, only
/// a blocking thread); one more is refused at once.
pub const MAX_WAITING: usize = 256;
/// The longest a caller waits for a slot before it is refused.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Seconds a refused caller is asked to wait (Retry-After).
pub const RETRY_AFTER_SECS: u64 = 2;

/// Too many hashes are being computed and waited for: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

struct Slots {
    /// working memory of the slots not in use
    free: Vec<Vec<Block>>,
    /// slots handed out so far (at most `limit`)
    made: usize,
    limit: usize,
    waiting: usize,
}

struct Gate {
    slots: Mutex<Slots>,
    freed: Condvar,
}

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate {
        slots: Mutex::new(Slots {
            free: Vec::new(),
            made: 0,
            limit: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
                .clamp(1, 8),
            waiting: 0,
        }),
        freed: Condvar::new(),
    })
}

fn lock(m: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` with `blocks` blocks of working memory from a free slot, waiting for one.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> Result<T, Busy> {
    let gate = gate();
    let mut slots = lock(&gate.slots);
    let mut memory = loop {
        if let Some(m) = slots.free.pop() {
            break m;
        }
        if slots.made < slots.limit {
            slots.made += 1;
            break Vec::new();
        }
        if slots.waiting >= MAX_WAITING {
            return Err(Busy);
        }
        slots.waiting += 1;
        let (again, timeout) = gate
            .freed
            .wait_timeout(slots, MAX_WAIT)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots = again;
        slots.waiting -= 1;
        if timeout.timed_out() && slots.free.is_empty() {
            return Err(Busy);
        }
    };
    drop(slots);
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let out = f(&mut memory[..blocks]);
    // a slot whose stored hash asked for more than the default gives the excess back
    if memory.len() > Params::default().block_count() {
        memory.truncate(Params::default().block_count());
        memory.shrink_to_fit();
    }
    let mut slots = lock(&gate.slots);
    slots.free.push(memory);
    drop(slots);
    gate.freed.notify_one();
    Ok(out)
}

#[derive(Debug)]
pub enum HashError {
    Busy,
    Failed(String),
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Busy => f.write_str("too many password hashes at once"),
            HashError::Failed(m) => write!(f, "hashing a password failed: {m}"),
        }
    }
}

impl std::error::Error for HashError {}

/// A new argon2id hash with the default parameters and a fresh salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| HashError::Failed(e.to_string()))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(params.block_count(), |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, memory)
    })
    .map_err(|Busy| HashError::Busy)?
    .map_err(|e| HashError::Failed(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| HashError::Failed(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| HashError::Failed(e.to_string()))?),
    };
    Ok(phc.to_string())
}

/// Ok(false) for a wrong password and for a stored value that is not a valid hash.
pub fn verify(password: &str, stored: &str) -> Result<bool, Busy> {
    let Some((argon, salt, expected, blocks)) = parse(stored) else {
        return Ok(false);
    };
    let mut out = vec![0u8; expected.len()];
    let computed = with_memory(blocks, |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
    })?;
    Ok(computed.is_ok() && constant_time_eq(&out, &expected))
}

/// The hasher, raw salt, expected output and working-memory size a stored hash names.
fn parse(stored: &str) -> Option<(Argon2<'static>, Vec<u8>, Vec<u8>, usize)> {
    let parsed = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .ok()?
        .unwrap_or_default();
    let expected = parsed.hash?;
    let mut params = Params::try_from(&parsed).ok()?;
    if params.output_len() != Some(expected.len()) {
        params = Params::new(
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            Some(expected.len()),
        )
        .ok()?;
    }
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?.to_vec();
    let blocks = params.block_count();
    Some((
        Argon2::new(algorithm, version, params),
        salt,
        expected.as_bytes().to_vec(),
        blocks,
    ))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// The password gate's answers as the service's errors (a full gate is a 503 with
// Retry-After), here so that the error type stays plain data that knows no capability.
impl From<HashError> for crate::error::AppError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => crate::error::AppError::Busy {
                retry_after_secs: RETRY_AFTER_SECS,
            },
            other => crate::error::AppError::failed("password hash", other),
        }
    }
}

impl From<Busy> for crate::error::AppError {
    fn from(_: Busy) -> Self {
        HashError::Busy.into()
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = super::hash("narvaro-demo").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(super::verify("narvaro-demo", &h), Ok(true));
        assert_eq!(super::verify("narvaro-dem0", &h), Ok(false));
        assert_eq!(super::verify("narvaro-demo", "not a hash"), Ok(false));
    }

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        // what the argon2 crate's own verifier accepts, and what it made, we accept
        let ours = super::hash("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2::Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        use argon2::password_hash::{PasswordHasher, SaltString};
        let other = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(4096, 3, 1, None).unwrap(),
        );
        let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
        let theirs = other.hash_password(b"password", &salt).unwrap().to_string();
        assert_eq!(super::verify("password", &theirs), Ok(true));
        assert_eq!(super::verify("passwort", &theirs), Ok(false));
    }

    #[test]
    fn parallel_hashes_wait_for_a_slot_and_all_finish() {
        let h = super::hash("parallel-pw").unwrap();
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let h = h.clone();
                std::thread::spawn(move || super::verify("parallel-pw", &h))
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), Ok(true));
        }
        let slots = super::lock(&super::gate().slots);
        assert!(slots.made <= slots.limit);
        assert_eq!(slots.waiting, 0);
    }
}
