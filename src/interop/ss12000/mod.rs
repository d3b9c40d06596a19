//! SS 12000, the Swedish standard for exchanging school data (SS 12000:2020, API version
//! 2.1). The export (what Närvaro gives: attendance, absence, aggregated attendance and
//! what was removed) lives here, one file per resource; `web::ss12000` reads the requests
//! and writes the answers. The import (what Närvaro takes: organisations, people, groups,
//! activities, calendar events) is read by `import::ss12000` and applied by `import`,
//! shared with OneRoster.

pub mod absences;
pub mod aggregated;
pub mod attendances;
pub mod deleted;
pub mod query;
pub mod refs;
pub mod structure;
pub mod uuid;
pub mod vocabulary;
