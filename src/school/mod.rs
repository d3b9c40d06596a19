//! The core of the domain: the words every capability shares, and nothing else. Typed ids,
//! the clock and the school calendar, what is valid on a date, the stored states, who is
//! acting and the context of a write. It imports no capability (an architecture test holds
//! it to that); the capabilities import it.

pub mod absence;
pub mod act;
pub mod calendar;
pub mod clock;
pub mod ids;
pub mod phone;
pub mod refusal;
pub mod states;
pub mod valid;
pub mod viewer;
pub mod year_groups;

pub use act::Act;
pub use refusal::{refuse, Checked, Refusal};
pub use valid::{duty, membership};
pub use viewer::{Roles, Viewer};

/// A person's name as the pages, reports and e-mails write it.
pub fn full_name(given: &str, family: &str) -> String {
    format!("{given} {family}")
}
