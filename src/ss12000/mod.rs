//! SS 12000, the Swedish standard for exchanging school data. The export (what Närvaro
//! gives: attendance, absence and aggregated attendance) lives here; the import (what
//! Närvaro takes: organisations, people, groups, activities, calendar events) is read by
//! `import::ss12000` and applied by `import`, shared with OneRoster.

pub mod export;
