//! The UUIDs the SS 12000 export names records by. Organisations, people, groups,
//! activities, calendar events (lessons), absence reports and leave carry their own,
//! stored once in the `uuid` column (an import keeps the source's; the database gives
//! everything else a random version 4 one when it is inserted). An attendance record is
//! not a stored row (a pupil marked present has no mark): its id names the lesson and the
//! pupil, in an RFC 9562 version 8 UUID with a fixed marker, so it never changes and
//! `GET /attendances/{id}` can read it back.

use uuid::{Builder, Uuid};

use crate::school::ids::{LessonId, PupilId};

/// `raw` as a UUID in the canonical, lower-case form (`8-4-4-4-12` hex digits), if it is one.
/// The `uuid` crate also reads the simple, braced and URN forms; SS 12000's ids are only
/// ever the hyphenated one, so anything of another length is refused first.
pub fn canonical(raw: &str) -> Option<String> {
    if raw.len() != 36 {
        return None;
    }
    Uuid::try_parse(raw)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// A random (version 4) UUID. The randomness is asked for here, so that a machine without
/// it fails this request with an error instead of a panic.
pub fn random() -> Result<String, crate::auth::secret::NoRandomness> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(crate::auth::secret::NoRandomness)?;
    Ok(Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// The uuid of a record an import brings: the source's id when it is a UUID (an SS 12000
/// source's always is), a new random one otherwise (a OneRoster `sourcedId` may be any
/// string).
pub fn of_source(ext: &str) -> Result<String, crate::auth::secret::NoRandomness> {
    canonical(ext).map_or_else(random, Ok)
}

/// Version 8 (RFC 9562, custom): 48 bits of `high`, the version nibble 8 with the 12 bits
/// `tag`, the variant with 14 zero bits, and 48 bits of `low`.
fn custom(high: i64, tag: u16, low: i64) -> Uuid {
    let (h, l) = ((high as u64).to_be_bytes(), (low as u64).to_be_bytes());
    let mut b = [0u8; 16];
    b[0..6].copy_from_slice(&h[2..8]);
    b[6..8].copy_from_slice(&(0x8000 | (tag & 0x0fff)).to_be_bytes());
    b[8] = 0x80;
    b[10..16].copy_from_slice(&l[2..8]);
    Builder::from_custom_bytes(b).into_uuid()
}

/// The 12 bits after the version nibble that mark an attendance id ("8a77-8000").
const MARK: u16 = 0xa77;

/// The id of a pupil's attendance record on a lesson.
pub fn attendance(lesson: LessonId, pupil: PupilId) -> String {
    custom(lesson.into(), MARK, pupil.into())
        .hyphenated()
        .to_string()
}

/// The (lesson, pupil) an attendance id names, when it is one.
pub fn parse_attendance(raw: &str) -> Option<(LessonId, PupilId)> {
    if raw.len() != 36 {
        return None;
    }
    let b = *Uuid::try_parse(raw).ok()?.as_bytes();
    if b[6..10] != [0x8a, 0x77, 0x80, 0x00] {
        return None;
    }
    let wide = |s: &[u8]| {
        let mut w = [0u8; 8];
        w[2..8].copy_from_slice(s);
        i64::from_be_bytes(w)
    };
    Some((wide(&b[0..6]), wide(&b[10..16])))
        .filter(|(l, p)| *l > 0 && *p > 0)
        .map(|(l, p)| (LessonId(l), PupilId(p)))
}

/// A stand-in for a stored record whose `uuid` was cleared by hand: version 8 with the
/// record's kind and number, so the export stays valid and names it the same each time.
pub fn stand_in(kind: u8, id: i64) -> String {
    custom(id, 0xa00 | u16::from(kind), 0)
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attendance_id_is_a_uuid_that_reads_back() {
        for (l, p) in [(1, 1), (293, 17), (0xffff_ffff_ffff, 0xffff_ffff_ffff)] {
            let (l, p) = (LessonId(l), PupilId(p));
            let id = attendance(l, p);
            assert_eq!(canonical(&id).as_deref(), Some(id.as_str()), "{id}");
            assert_eq!(id.as_bytes()[14], b'8', "version 8: {id}");
            assert!(
                matches!(id.as_bytes()[19], b'8'..=b'b'),
                "RFC variant: {id}"
            );
            assert_eq!(parse_attendance(&id), Some((l, p)));
        }
        assert_eq!(
            attendance(LessonId(1), PupilId(293)),
            "00000000-0001-8a77-8000-000000000125"
        );
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
        assert_eq!(stand_in(5, 293), "00000000-0125-8a05-8000-000000000000");
    }
}
