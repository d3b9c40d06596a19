//! Närvaro: attendance and absence for Swedish schools.

pub mod access_log;
pub mod attendance;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod follow_up;
pub mod i18n;
pub mod insight;
pub mod interop;
pub mod mail;
pub mod notices;
pub mod ops;
pub mod outbound;
pub mod schema;
pub mod school;
pub mod school_day;
pub mod seed;
pub mod startup;
pub mod state;
pub mod upkeep;
pub mod web;
