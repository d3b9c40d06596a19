//! Acting on absence (Skollagen 7 kap. 19 a §): early signals of repeated or long absence
//! for those who follow a pupil up, and the principal's investigation and its report to the
//! huvudman, followed up in the huvudman's rounds; and closing a term once its report is
//! checked.

pub mod cases;
pub mod home_report;
pub mod reports;
pub mod rounds;
pub mod signals;
pub mod terms;
