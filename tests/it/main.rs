//! One integration-test binary. Every test runs against a fresh real database on each
//! backend: SQLite always, PostgreSQL when NARVARO_TEST_POSTGRES_URL is set.
// The tests stop at the first surprise: unwrap and expect are how they say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod build;
mod fixtures;
mod helpers;

mod absence_reasons;
mod access_log;
mod access_matrix;
mod accessibility;
mod accounts;
mod admin_find;
mod api_clients;
mod architecture;
mod audit_search;
mod backup;
mod cases;
mod roll_call;

mod day_changes;
mod demo;
mod e2e;
mod guardians;
mod hardening;
mod health;
mod import;
mod languages;
mod languages_browser;
mod leave_delegation;
mod leave_guardians;
mod leave_rules;
mod metrics;
mod notices;
mod offline;
mod oidc;
mod openapi;
mod pages;
mod refused_leave;
mod register_extract;
mod retention;
mod schema_drift;
mod school_settings;
mod second_factor;
mod seed;
mod sign_in_limits;
mod signal_reach;
mod signals;
mod sms;
mod snapshots;
mod ss12000;
mod ss12000_schema;
mod startup_errors;
mod statistics;
mod sync;
mod term_closing;
mod term_report;
mod trips;
mod unreached;
