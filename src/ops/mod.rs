//! What operators watch: metrics and the request log.

pub mod memory;
pub mod metrics;
pub mod request_log;
