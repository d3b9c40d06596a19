//! Närvaro: attendance and absence for Swedish schools.

pub mod absence;
pub mod absence_report;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod i18n;
pub mod import;
pub mod leave_application;
pub mod mail;
pub mod membership;
pub mod notices;
pub mod request_log;
pub mod roll_call;
pub mod schema;
pub mod seed;
pub mod ss12000;
pub mod staff;
pub mod startup;
pub mod state;
pub mod statistics;
pub mod web;
