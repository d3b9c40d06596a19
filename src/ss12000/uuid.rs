//! The UUIDs the SS 12000 export names records by. Organisations, people, groups,
//! activities, calendar events (lessons), absence reports and leave carry their own,
//! stored once in the `uuid` column (an import keeps the source's; the database gives
//! everything else a random version 4 one when it is inserted). An attendance record is
//! not a stored row (a pupil marked present has no mark): its id names the lesson and the
//! pupil, in an RFC 9562 version 8 UUID with a fixed marker, so it never changes and
//! `GET /attendances/{id}` can read it back.

/// `raw` as a UUID in the canonical, lower-case form (`8-4-4-4-12` hex digits), if it is one.
pub fn canonical(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        if dash != (*c == b'-') || (!dash && !c.is_ascii_hexdigit()) {
            return None;
        }
    }
    Some(raw.to_ascii_lowercase())
}

/// A random (version 4) UUID.
pub fn random() -> Result<String, String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| format!("no system randomness: {e}"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|c| format!("{c:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// The uuid of a record an import brings: the source's id when it is a UUID (an SS 12000
/// source's always is), a new random one otherwise (a OneRoster `sourcedId` may be any
/// string).
pub fn of_source(ext: &str) -> Result<String, String> {
    canonical(ext).map_or_else(random, Ok)
}

/// The version nibble and 12 bits after it, and the variant with 14 bits: "8a77-8000"
/// marks an attendance id.
const MARK: &str = "8a77-8000";

/// The id of a pupil's attendance record on a lesson.
pub fn attendance(lesson: i64, pupil: i64) -> String {
    let (l, p) = (
        lesson as u64 & 0xffff_ffff_ffff,
        pupil as u64 & 0xffff_ffff_ffff,
    );
    format!("{:08x}-{:04x}-{MARK}-{:012x}", l >> 16, l & 0xffff, p)
}

/// The (lesson, pupil) an attendance id names, when it is one.
pub fn parse_attendance(raw: &str) -> Option<(i64, i64)> {
    let id = canonical(raw)?;
    if id.get(14..23)? != MARK {
        return None;
    }
    let hex = |s: &str| u64::from_str_radix(s, 16).ok();
    let lesson = (hex(id.get(0..8)?)? << 16) | hex(id.get(9..13)?)?;
    let pupil = hex(id.get(24..36)?)?;
    Some((i64::try_from(lesson).ok()?, i64::try_from(pupil).ok()?))
        .filter(|(l, p)| *l > 0 && *p > 0)
}

/// A stand-in for a stored record whose `uuid` was cleared by hand: version 8 with the
/// record's kind and number, so the export stays valid and names it the same each time.
pub fn stand_in(kind: u8, id: i64) -> String {
    let id = id as u64 & 0xffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-8a{kind:02x}-8000-{:012x}",
        id >> 16,
        id & 0xffff,
        0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attendance_id_is_a_uuid_that_reads_back() {
        for (l, p) in [(1, 1), (293, 17), (0xffff_ffff_ffff, 0xffff_ffff_ffff)] {
            let id = attendance(l, p);
            assert_eq!(canonical(&id).as_deref(), Some(id.as_str()), "{id}");
            assert_eq!(id.as_bytes()[14], b'8', "version 8: {id}");
            assert!(
                matches!(id.as_bytes()[19], b'8'..=b'b'),
                "RFC variant: {id}"
            );
            assert_eq!(parse_attendance(&id), Some((l, p)));
        }
        assert_eq!(attendance(1, 293), "00000000-0001-8a77-8000-000000000125");
    }

    #[test]
    fn only_canonical_uuids_are_read() {
        assert_eq!(
            canonical("6F9619FF-8B86-D011-B42D-00C04FC964FF").as_deref(),
            Some("6f9619ff-8b86-d011-b42d-00c04fc964ff")
        );
        for bad in [
            "",
            "1-293",
            "6f9619ff8b86d011b42d00c04fc964ff",
            "6f9619ff-8b86-d011-b42d-00c04fc964f",
            "6f9619ff-8b86-d011-b42d-00c04fc964fg",
            "{6f9619ff-8b86-d011-b42d-00c04fc964ff}",
        ] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
        let r = random().unwrap();
        assert_eq!(canonical(&r).as_deref(), Some(r.as_str()));
        assert_eq!(r.as_bytes()[14], b'4', "version 4: {r}");
        assert!(
            matches!(r.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "RFC variant: {r}"
        );
        assert_ne!(random().unwrap(), r);
        assert_eq!(
            of_source("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap(),
            "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        );
        assert_ne!(
            of_source("pupil-17").unwrap(),
            of_source("pupil-17").unwrap()
        );
        // a UUID that is not an attendance id
        assert_eq!(
            parse_attendance("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
            None
        );
        assert_eq!(parse_attendance(&stand_in(1, 5)), None);
    }
}
