//! Session tokens: HS256 JWTs with the algorithm pinned and issuer, audience and expiry
//! checked. The cookie (audience `narvaro-web`) slides: a teacher active through the school
//! day stays signed in, up to an absolute limit. API tokens (audience `narvaro-api`) last
//! an hour. Every token carries the person's `token_version`; signing out or changing the
//! password bumps it, which ends every earlier token.

use crate::school::ids::{ApiClientId, PersonId};
use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "narvaro";
pub const COOKIE: &str = "narvaro_session";

/// Idle time after which a web session ends.
pub const WEB_IDLE_SECS: i64 = 4 * 3600;
/// A web session never outlives this, however active.
pub const WEB_ABSOLUTE_SECS: i64 = 12 * 3600;
/// A web cookie is reissued (slid) once it is this old.
pub const WEB_RENEW_AFTER_SECS: i64 = 5 * 60;
pub const API_TOKEN_SECS: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Web,
    Api,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Web => "narvaro-web",
            Audience::Api => "narvaro-api",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The person's id.
    pub sub: String,
    /// The person's token version when the token was made.
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
    /// When the person signed in (the start of the session a sliding cookie belongs to).
    pub auth: i64,
    /// An API client's token: the scopes it was given (space-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Claims {
    pub fn person_id(&self) -> Option<PersonId> {
        self.sub.parse().ok()
    }

    /// An API client's token names the client (`client:<id>`), never a person.
    pub fn client(&self) -> Option<ApiClientId> {
        self.sub.strip_prefix("client:")?.parse().ok()
    }

    /// Whether a web cookie should be reissued now; the new token keeps `auth`.
    pub fn wants_renewal(&self, now: i64) -> bool {
        now - self.iat >= WEB_RENEW_AFTER_SECS && now < self.auth + WEB_ABSOLUTE_SECS
    }
}

/// A new token for `person` in `audience`. `auth` is the sign-in time (now for a fresh
/// sign-in, the old value when a web cookie slides).
pub fn issue(
    secret: &[u8],
    audience: Audience,
    person: PersonId,
    version: i32,
    auth: Option<i64>,
) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
    let now = Utc::now().timestamp();
    let auth = auth.unwrap_or(now);
    let exp = match audience {
        Audience::Web => (now + WEB_IDLE_SECS).min(auth + WEB_ABSOLUTE_SECS),
        Audience::Api => now + API_TOKEN_SECS,
    };
    let claims = Claims {
        iss: ISSUER.into(),
        aud: audience.as_str().into(),
        sub: person.to_string(),
        ver: version,
        iat: now,
        exp,
        auth,
        scope: None,
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )?;
    Ok((token, claims))
}

/// An API client's bearer token (audience `narvaro-api`, subject `client:<id>`), for
/// `crate::auth::clients::TOKEN_SECS`, with the scopes it was granted.
pub fn issue_client(
    secret: &[u8],
    client: ApiClientId,
    scope: &str,
) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        iss: ISSUER.into(),
        aud: Audience::Api.as_str().into(),
        sub: format!("client:{client}"),
        ver: 0,
        iat: now,
        exp: now + crate::auth::clients::TOKEN_SECS,
        auth: now,
        scope: Some(scope.to_string()),
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )?;
    Ok((token, claims))
}

/// The claims of a token that is signed by us with HS256, for this audience, and unexpired.
/// Anything else (another algorithm, `alg: none`, a changed byte, another audience) is None.
pub fn verify(secret: &[u8], audience: Audience, token: &str) -> Option<Claims> {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[audience.as_str()]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 5;
    decode::<Claims>(token, &DecodingKey::from_secret(secret), &v)
        .ok()
        .map(|d| d.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn b64(s: &str) -> String {
        // URL-safe base64 without padding, enough for the tests' hand-made tokens
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.iter().fold(0u32, |a, &x| (a << 8) | x as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn a_token_verifies_for_its_own_audience_only() {
        let (t, c) = issue(SECRET, Audience::Web, PersonId(42), 3, None).unwrap();
        let got = verify(SECRET, Audience::Web, &t).unwrap();
        assert_eq!(got, c);
        assert_eq!(got.person_id(), Some(PersonId(42)));
        assert!(verify(SECRET, Audience::Api, &t).is_none());
        assert!(verify(b"another-secret-another-secret-xx", Audience::Web, &t).is_none());
    }

    #[test]
    fn tampered_none_and_expired_tokens_fail() {
        let (t, _) = issue(SECRET, Audience::Api, PersonId(42), 0, None).unwrap();
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        // another subject under the old signature
        let now = Utc::now().timestamp();
        let forged = format!(
            r#"{{"iss":"narvaro","aud":"narvaro-api","sub":"1","ver":0,"iat":{now},"exp":{},"auth":{now}}}"#,
            now + 600
        );
        parts[1] = b64(&forged);
        assert!(verify(SECRET, Audience::Api, &parts.join(".")).is_none());
        // alg: none with an empty signature
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&forged));
        assert!(verify(SECRET, Audience::Api, &none).is_none());
        // expired
        let old = Claims {
            iss: ISSUER.into(),
            aud: "narvaro-api".into(),
            sub: "42".into(),
            ver: 0,
            iat: now - 7200,
            exp: now - 3600,
            auth: now - 7200,
            scope: None,
        };
        let expired = encode(
            &Header::new(Algorithm::HS256),
            &old,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(verify(SECRET, Audience::Api, &expired).is_none());
        assert!(verify(SECRET, Audience::Api, "not.a.token").is_none());
    }

    #[test]
    fn web_sessions_slide_up_to_the_absolute_limit() {
        let now = Utc::now().timestamp();
        let (_, c) = issue(
            SECRET,
            Audience::Web,
            PersonId(1),
            0,
            Some(now - WEB_ABSOLUTE_SECS + 60),
        )
        .unwrap();
        assert!(c.exp <= now + 60, "capped by the sign-in time");
        let fresh = issue(SECRET, Audience::Web, PersonId(1), 0, None)
            .unwrap()
            .1;
        assert!(!fresh.wants_renewal(now));
        assert!(fresh.wants_renewal(now + WEB_RENEW_AFTER_SECS));
        assert!(!fresh.wants_renewal(fresh.auth + WEB_ABSOLUTE_SECS));
    }
}
