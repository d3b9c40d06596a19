//! What principals and administrators learn: statistics, the audit log's search, the
//! register extract, finding a person, and the huvudman's term report with its data-quality
//! check.

pub mod admin_find;
pub mod audit_search;
pub mod register_extract;
pub mod statistics;
pub mod term_quality;
pub mod term_report;
