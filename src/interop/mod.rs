//! Talking to other systems: importing SS 12000 and OneRoster, syncing from a school
//! administration system, and the SS 12000 export.

pub mod import;
pub mod ss12000;
pub mod sync;
