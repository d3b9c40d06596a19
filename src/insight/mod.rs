//! What principals and administrators learn: statistics, the audit log's search, the
//! register extract, and finding a person.

pub mod admin_find;
pub mod audit_search;
pub mod register_extract;
pub mod statistics;
