//! The school day: the office's changes (substitutes, cancellations, staff away), the
//! school's settings and holidays, and the staff and their duties.

pub mod day_changes;
pub mod school_settings;
pub mod staff;
