//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30-second
//! steps, six digits, a 160-bit secret. That is what every authenticator app reads from an
//! `otpauth://` QR code; the other choices of the RFC are not offered, because some apps
//! ignore them and show wrong codes. Also the one-time recovery codes beside it.

use hmac::{KeyInit, Mac};

use super::secret::NoRandomness;

/// Seconds in one time step (RFC 6238's X).
pub const STEP_SECS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are accepted: a phone's clock one step off still works.
pub const SKEW_STEPS: i64 = 1;
/// Bytes in a secret (RFC 4226 recommends 160 bits).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;

/// A new random secret.
pub fn new_secret() -> Result<Vec<u8>, NoRandomness> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(NoRandomness)?;
    Ok(bytes)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base 32 without padding, as `otpauth://` URIs and people typing a key in want it.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads base 32 (case, spaces and padding ignored); None for any other character.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32
            .iter()
            .position(|&b| char::from(b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// HOTP (RFC 4226, section 5.3): the code for one counter value.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = match hmac::Hmac::<sha1::Sha1>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes a key of any length
        Err(e) => unreachable!("hmac: {e}"),
    };
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The time step a moment (seconds since the Unix epoch) falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code for a time step, as six digits.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step.max(0) as u64),
        width = DIGITS as usize
    )
}

/// A code as typed: digits only, spaces dropped (apps show "123 456").
pub fn normalise_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// Which of the steps around `now_step` (one either side) the code is for, if any.
/// Compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now_step: i64) -> Option<i64> {
    // every step is computed and compared, whichever matches
    (now_step - SKEW_STEPS..=now_step + SKEW_STEPS).fold(None, |found, step| {
        if super::secret::constant_time_eq(&code_at(secret, step), code) {
            Some(step)
        } else {
            found
        }
    })
}

/// The `otpauth://` URI an authenticator app reads from the QR code (Google's Key Uri
/// Format, which every app follows): the issuer, the account, and the secret.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = format!("{issuer}:{account}");
    let escape = |s: &str| {
        form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        escape(&label),
        base32(secret),
        escape(issuer)
    )
}

/// The QR code of `text` as an SVG element (dark on light, with the quiet zone), sized by
/// the page's CSS.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

/// Letters and digits that cannot be mistaken for one another when read off paper.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";

/// New recovery codes: ten of ten characters (50 bits each), shown as "xxxxx-xxxxx".
pub fn new_recovery_codes() -> Result<Vec<String>, NoRandomness> {
    let mut bytes = vec![0u8; RECOVERY_CODES * 10];
    getrandom::fill(&mut bytes).map_err(NoRandomness)?;
    Ok(bytes
        .chunks(10)
        .map(|chunk| {
            let letters: String = chunk
                .iter()
                // 31 letters and digits (the alphabet's last place, '-', is never drawn)
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(*b) % 31]))
                .collect();
            format!("{}-{}", &letters[..5], &letters[5..])
        })
        .collect())
}

/// A recovery code as typed: lower case, without spaces or dashes.
pub fn normalise_recovery(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226, appendix D: the secret "12345678901234567890", counters 0 to 9.
    #[test]
    fn hotp_matches_rfc_4226() {
        let secret = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64), code, "counter {counter}");
        }
    }

    /// RFC 6238, appendix B, the SHA-1 rows (eight digits there; the last six here).
    #[test]
    fn totp_matches_rfc_6238() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
            (20000000000, "353130"),
        ] {
            assert_eq!(code_at(secret, step_at(time)), code, "time {time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let secret = b"12345678901234567890";
        let now = step_at(1234567890);
        for off in [-1, 0, 1] {
            let code = code_at(secret, now + off);
            assert_eq!(matching_step(secret, &code, now), Some(now + off));
        }
        for off in [-3, -2, 2, 3] {
            assert_eq!(
                matching_step(secret, &code_at(secret, now + off), now),
                None
            );
        }
    }

    /// RFC 4648, section 10, without the padding.
    #[test]
    fn base32_matches_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), coded);
            assert_eq!(from_base32(coded).unwrap(), plain.as_bytes());
        }
        assert_eq!(from_base32("mzxw 6ytb oi==").unwrap(), b"foobar");
        assert_eq!(from_base32("MZ1W"), None);
        let secret = new_secret().unwrap();
        assert_eq!(from_base32(&base32(&secret)).unwrap(), secret);
    }

    #[test]
    fn codes_as_people_type_them() {
        assert_eq!(normalise_code("123 456").as_deref(), Some("123456"));
        assert_eq!(normalise_code("12345"), None);
        assert_eq!(normalise_code("12345a"), None);
        assert_eq!(normalise_code("١٢٣٤٥٦"), None);
        assert_eq!(normalise_recovery(" AbCdE-fGhJk "), "abcdefghjk");
    }

    #[test]
    fn recovery_codes_are_new_and_readable() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']));
        }
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
    }

    #[test]
    fn the_uri_an_app_reads() {
        let uri = otpauth_uri("Närvaro Exempelkommun", "anna.a", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/N%C3%A4rvaro%20Exempelkommun%3Aanna.a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=N%C3%A4rvaro%20Exempelkommun&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("#000000"));
    }
}
