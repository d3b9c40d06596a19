//! Telephone numbers as Närvaro stores them: E.164, "+" and 8 to 15 digits
//! ("+46701234567"). A Swedish number written nationally ("070-123 45 67") gets the
//! country code; "00" before a country code is read as "+".

/// The number in E.164, or `None` for what is not a telephone number.
pub fn e164(raw: &str) -> Option<String> {
    let kept: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '/' | '\u{a0}'))
        .collect();
    let digits = if let Some(rest) = kept.strip_prefix('+') {
        rest.to_string()
    } else if let Some(rest) = kept.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = kept.strip_prefix('0') {
        format!("46{rest}")
    } else {
        return None;
    };
    let fits = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    fits.then(|| format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::e164;

    #[test]
    fn numbers_as_people_write_them_become_e164() {
        assert_eq!(e164("070-123 45 67").as_deref(), Some("+46701234567"));
        assert_eq!(e164("+46 70 123 45 67").as_deref(), Some("+46701234567"));
        assert_eq!(e164("0046701234567").as_deref(), Some("+46701234567"));
        assert_eq!(e164("08-123 456 78").as_deref(), Some("+46812345678"));
        assert_eq!(e164("+358 40 123 4567").as_deref(), Some("+358401234567"));
    }

    #[test]
    fn what_is_not_a_number_is_refused() {
        for bad in [
            "",
            "inget",
            "12345",
            "070-12a4567",
            "+0701234567",
            "+1234567890123456",
        ] {
            assert_eq!(e164(bad), None, "{bad}");
        }
    }
}
