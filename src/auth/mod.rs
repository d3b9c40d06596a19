//! Accounts, sign-in and access control.
//!
//! - `password`: argon2id hashes.
//! - `secret`: the keyed hashes behind CSRF tokens and single-use links.
//! - `session`: signed session tokens (JWT) for the cookie and the API.
//! - `viewer`: the signed-in person and their roles, as a request extractor.
//! - `access`: who may see which pupil, lesson and school: the one place for those rules.
//! - `csrf`: the middleware that guards every state-changing HTML form.
//! - `oidc`: sign-in through the municipality's identity provider (OpenID Connect).
//! - `links`: single-use links (guardian sign-in, staff invitation, password reset).
//! - `sign_in`: password attempts, link requests, password changes, sign-out.
//! - `throttle`: sign-in attempt limits, reserved before the work they limit.
//! - `totp`, `second_factor`: the second factor of password accounts (RFC 6238 codes,
//!   recovery codes, an administrator's reset).
//! - `civic`: civic numbers, kept only as a keyed hash.
//! - `clients`: API clients (machine credentials) and their OAuth 2.0 token grant.

pub mod access;
pub mod account;
pub mod civic;
pub mod clients;
pub mod csrf;
pub mod links;
pub mod oidc;
pub mod password;
pub mod second_factor;
pub mod secret;
pub mod session;
pub mod sign_in;
pub mod throttle;
pub mod totp;
pub mod viewer;

pub use viewer::{SignedIn, Viewer};

/// What the sign-in extractor and the session and CSRF middlewares need from the
/// application, and nothing more: the signing secret, whether cookies are Secure, the
/// database (to load the signed-in person) and the clock (their roles hold on a date).
pub struct Sessions {
    pub secret: Vec<u8>,
    /// Served over HTTPS: cookies are Secure.
    pub secure_cookies: bool,
    pub db: crate::db::Database,
    pub clock: crate::school::clock::Clock,
    pub timezone: chrono_tz::Tz,
}

impl Sessions {
    /// The school-local date on the service's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today(self.timezone)
    }
}
