//! Keeping the data safe and lawful over time: backups and retention.

pub mod backup;
pub mod retention;
