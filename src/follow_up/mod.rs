//! Acting on absence (Skollagen 7 kap. 19 a §): early signals of repeated or long absence
//! for those who follow a pupil up.

pub mod signals;
