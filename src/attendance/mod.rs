//! Attendance: the roll call, absence and its reasons, guardians' reports and leave, trips,
//! and what a pupil's and a person's start page show of them.

pub mod absence_reasons;
pub mod absence_report;
pub mod home;
pub mod leave_application;
pub mod leave_confirmation;
pub mod leave_delegation;
pub mod leave_rules;
pub mod lesson_list;
pub mod pupil;
pub mod roll_call;
pub mod trips;
pub mod weeks;
