//! Sign-in through the municipality's identity provider (staff) and an identity broker
//! for BankID or Freja eID (guardians and adult pupils), by OpenID Connect: the
//! authorization code flow with PKCE (S256), state and nonce, against any provider found
//! by discovery. The `openidconnect` crate checks the ID token: its signature against the
//! provider's keys (JWKS, cached with the discovery document and fetched again when a
//! token names a key it does not know), `iss`, `aud`, `azp`, `exp` and the nonce; the
//! signing algorithm must be one of [`ALGORITHMS`] (never `none`, never a shared-secret
//! HS*), and `iat` must be close to now.
//!
//! People are matched, never created: staff by a configured claim against their e-mail
//! addresses, username and the identifiers the school administration system sent
//! (`person_identifiers`); guardians and adult pupils by the civic number claim against
//! the keyed hash of the imported one. A start of sign-in is a row in `oidc_attempts`
//! (state, nonce and PKCE verifier, ten minutes, used once, shared by every instance),
//! bound to the browser by a cookie holding the state.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::OidcProvider;
use crate::db::DbConn;
use crate::schema::{duties, oidc_attempts, people, person_emails, person_identifiers};
use crate::school::ids::PersonId;

/// The signing algorithms an ID token may use: public-key ones only.
pub const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// How long a started sign-in may take at the provider.
pub const ATTEMPT_MINUTES: i64 = 10;
/// How long a discovery document (with its keys) is used before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How far an ID token's `iat` may be from now.
const IAT_SKEW_SECS: i64 = 300;

/// Which provider: staff's, or guardians' (and adult pupils'); in a path as `staff` or
/// `guardian` (anything else is a 404 before a handler runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    Staff,
    Guardian,
}

impl Which {
    pub fn as_str(self) -> &'static str {
        match self {
            Which::Staff => "staff",
            Which::Guardian => "guardian",
        }
    }

    pub fn parse(s: &str) -> Option<Which> {
        match s {
            "staff" => Some(Which::Staff),
            "guardian" => Some(Which::Guardian),
            _ => None,
        }
    }

    /// The audit log's channel for a sign-in through it.
    pub fn channel(self) -> &'static str {
        match self {
            Which::Staff => "oidc-staff",
            Which::Guardian => "oidc-guardian",
        }
    }
}

/// RP-Initiated Logout 1.0: the provider's `end_session_endpoint`, when it has one.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LogoutMetadata {
    pub end_session_endpoint: Option<String>,
}

impl AdditionalProviderMetadata for LogoutMetadata {}

pub type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Why a sign-in through a provider did not end in a session: each has its own page and
/// audit row, and none carries a secret, a code or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// the callback's state is unknown, used, expired or not this browser's
    State,
    /// the provider answered the sign-in with an error (the person cancelled, …)
    Provider(String),
    /// the provider could not be reached or answered something that is not OpenID Connect
    Unreachable(String),
    /// the ID token failed a check (signature, key, algorithm, issuer, audience, time,
    /// nonce)
    Token(String),
    /// the claim people are matched on is missing or malformed
    Claim(String),
    /// nobody in Närvaro has this identity
    Unknown,
    /// more than one person has it
    Ambiguous(usize),
}

impl Refusal {
    /// The audit log's short name.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::State => "state",
            Refusal::Provider(_) => "provider_error",
            Refusal::Unreachable(_) => "provider_unreachable",
            Refusal::Token(_) => "token",
            Refusal::Claim(_) => "claim",
            Refusal::Unknown => "unknown_person",
            Refusal::Ambiguous(_) => "ambiguous",
        }
    }

    /// What went wrong, for the audit row and the log (never a secret or a claim value).
    pub fn detail(&self) -> String {
        match self {
            Refusal::Provider(e)
            | Refusal::Unreachable(e)
            | Refusal::Token(e)
            | Refusal::Claim(e) => e.clone(),
            Refusal::Ambiguous(n) => format!("{n} people share the identity"),
            Refusal::State | Refusal::Unknown => String::new(),
        }
    }
}

/// One configured provider, with its discovery document cached.
pub struct Provider {
    pub which: Which,
    pub config: OidcProvider,
    tls: Arc<rustls::ClientConfig>,
    cached: RwLock<Option<(Instant, Metadata)>>,
}

/// A sign-in started: where to send the browser, and what to keep until it returns.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// What `oidc_attempts` kept of a started sign-in.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub provider: String,
    pub nonce: String,
    pub verifier: String,
    pub next: String,
}

/// An HTTP error of the client the crate is given (awc).
#[derive(Debug)]
pub struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// One request for the crate, over awc (no redirects followed: they would open the door to
/// server-side request forgery; 10 s; at most 1 MiB).
async fn send(
    tls: Arc<rustls::ClientConfig>,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let fail = |e: &dyn std::fmt::Display| HttpError(e.to_string());
    let connector = awc::Connector::new()
        .rustls_0_23(tls)
        .timeout(Duration::from_secs(5));
    let client = awc::Client::builder()
        .connector(connector)
        .timeout(Duration::from_secs(10))
        .disable_redirects()
        .finish();
    let method =
        awc::http::Method::from_bytes(req.method().as_str().as_bytes()).map_err(|e| fail(&e))?;
    let mut builder = client.request(method, req.uri().to_string());
    for (name, value) in req.headers() {
        builder = builder.insert_header((name.as_str(), value.as_bytes()));
    }
    let mut res = builder
        .send_body(req.into_body())
        .await
        .map_err(|e| fail(&e))?;
    let body = res.body().limit(1 << 20).await.map_err(|e| fail(&e))?;
    let mut out = openidconnect::http::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        out = out.header(name.as_str(), value.as_bytes());
    }
    out.body(body.to_vec()).map_err(|e| fail(&e))
}

impl Provider {
    pub fn new(which: Which, config: OidcProvider) -> Provider {
        Provider {
            which,
            config,
            tls: crate::outbound::tls_config(),
            cached: RwLock::new(None),
        }
    }

    fn http(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>>>,
    > + '_ {
        move |req| Box::pin(send(self.tls.clone(), req))
    }

    /// The discovery document and keys: cached for an hour, or fetched now (`fresh`).
    pub async fn metadata(&self, fresh: bool) -> Result<Metadata, Refusal> {
        if !fresh {
            if let Ok(cached) = self.cached.read() {
                if let Some((at, m)) = cached.as_ref() {
                    if at.elapsed() < DISCOVERY_TTL {
                        return Ok(m.clone());
                    }
                }
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| Refusal::Unreachable(format!("the issuer is no URL: {e}")))?;
        let http = self.http();
        let m = Metadata::discover_async(issuer, &http)
            .await
            .map_err(|e| Refusal::Unreachable(format!("discovery: {}", one_line(&e))))?;
        if let Ok(mut cached) = self.cached.write() {
            *cached = Some((Instant::now(), m.clone()));
        }
        Ok(m)
    }

    fn client(&self, m: Metadata, redirect: &str) -> Result<ClientOf, Refusal> {
        let redirect = RedirectUrl::new(redirect.to_string())
            .map_err(|e| Refusal::Unreachable(format!("the redirect address: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            m,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: the provider's authorization address with a new state, nonce and
    /// PKCE challenge.
    pub async fn start(&self, redirect: &str) -> Result<Started, Refusal> {
        let m = self.metadata(false).await?;
        let client = self.client(m, redirect)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// Redeems the code and checks the ID token; its claims when every check holds.
    pub async fn finish(
        &self,
        redirect: &str,
        code: String,
        attempt: &Attempt,
    ) -> Result<Map<String, Value>, Refusal> {
        let m = self.metadata(false).await?;
        let client = self.client(m, redirect)?;
        let http = self.http();
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Refusal::Unreachable(format!("the token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                // the provider answered with an OAuth error (a spent or foreign code, …)
                openidconnect::RequestTokenError::ServerResponse(_)
                | openidconnect::RequestTokenError::Other(_) => {
                    Refusal::Token(format!("the token request: {}", one_line(&e)))
                }
                // no answer, or one that is not a token response: the provider is down or
                // something in front of it answers instead
                openidconnect::RequestTokenError::Request(_)
                | openidconnect::RequestTokenError::Parse(..) => {
                    Refusal::Unreachable(format!("the token endpoint: {}", one_line(&e)))
                }
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| Refusal::Token("the token response holds no ID token".into()))?
            .clone();
        let nonce = Nonce::new(attempt.nonce.clone());
        let checked = {
            let verifier = verifier_of(&client);
            id_token.claims(&verifier, &nonce).map(|_| ())
        };
        match checked {
            Ok(()) => {}
            // a key the cached set does not hold: the provider may have rotated its keys
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let m = self.metadata(true).await?;
                let client = self.client(m, redirect)?;
                let verifier = verifier_of(&client);
                id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| Refusal::Token(one_line(&e)))?;
            }
            Err(e) => return Err(Refusal::Token(one_line(&e))),
        }
        // the signature holds over exactly these bytes: read every claim from them
        payload(&id_token.to_string())
            .ok_or_else(|| Refusal::Token("the ID token's claims are not JSON".into()))
    }

    /// Where to send a person signing out (RP-Initiated Logout 1.0), when the provider has
    /// an end-session endpoint.
    pub async fn end_session_url(&self, after: &str) -> Option<String> {
        let m = self.metadata(false).await.ok()?;
        let endpoint = m.additional_metadata().end_session_endpoint.clone()?;
        let mut url = url::Url::parse(&endpoint).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("post_logout_redirect_uri", after);
        Some(url.to_string())
    }
}

type ClientOf = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn verifier_of(client: &ClientOf) -> openidconnect::core::CoreIdTokenVerifier<'_> {
    client
        .id_token_verifier()
        .set_allowed_algs(ALGORITHMS)
        .set_issue_time_verifier_fn(|iat| {
            let now = crate::school::clock::Clock::System.now();
            let skew = chrono::Duration::seconds(IAT_SKEW_SECS);
            if iat > now + skew {
                Err("it was issued in the future".to_string())
            } else if iat < now - chrono::Duration::minutes(ATTEMPT_MINUTES) - skew {
                Err("it was issued too long ago".to_string())
            } else {
                Ok(())
            }
        })
}

/// An error and its causes on one line.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The claims of a compact JWT (its signature already checked).
fn payload(jwt: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The value of the claim people are matched on: a non-empty string (an eduPersonPrincipalName
/// may come as a one-element list).
pub fn claim_value(claims: &Map<String, Value>, claim: &str) -> Result<String, Refusal> {
    let v = match claims.get(claim) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Array(list)) if list.len() == 1 => list[0]
            .as_str()
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        Some(_) => return Err(Refusal::Claim(format!("the claim {claim} is not a text"))),
        None => return Err(Refusal::Claim(format!("the claim {claim} is missing"))),
    };
    if v.is_empty() || v.len() > 500 {
        return Err(Refusal::Claim(format!(
            "the claim {claim} is empty or too long"
        )));
    }
    Ok(v)
}

/// Who a claim value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    One { person: PersonId, version: i32 },
    Unknown,
    Many(usize),
}

fn one_of(ids: Vec<PersonId>, conn: &mut DbConn) -> QueryResult<Matched> {
    let mut ids = ids;
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Ok(Matched::Unknown),
        [id] => {
            let version: i32 = people::table
                .find(id)
                .select(people::token_version)
                .first(conn)?;
            Ok(Matched::One {
                person: *id,
                version,
            })
        }
        many => Ok(Matched::Many(many.len())),
    }
}

/// Staff: an active person with a duty running today whose e-mail address (the notice
/// address or any the register holds), username or sign-in identifier is the value,
/// compared without regard to case.
pub fn match_staff(conn: &mut DbConn, value: &str, today: NaiveDate) -> QueryResult<Matched> {
    let v = value.to_lowercase();
    let staff = duties::table
        .filter(crate::school::duty::on(today))
        .select(duties::person_id);
    let by_address = person_emails::table
        .filter(crate::db::lower(person_emails::address.nullable()).eq(&v))
        .select(person_emails::person_id);
    let by_identifier = person_identifiers::table
        .filter(crate::db::lower(person_identifiers::value.nullable()).eq(&v))
        .select(person_identifiers::person_id);
    let ids: Vec<PersonId> = people::table
        .filter(people::active.eq(true))
        .filter(people::id.eq_any(staff))
        .filter(
            crate::db::lower(people::email)
                .eq(&v)
                .or(people::username.eq(&v))
                .or(people::id.eq_any(by_address))
                .or(people::id.eq_any(by_identifier)),
        )
        .select(people::id)
        .load(conn)?;
    one_of(ids, conn)
}

/// Guardians and adult pupils: an active person whose civic number, as stored (its keyed
/// hash), is the claim's, and who is a guardian of someone or 18 or over (a younger pupil
/// with an e-ID of their own is not signed in: the school reaches them through their
/// guardians).
pub fn match_civic(conn: &mut DbConn, hash: &str, today: NaiveDate) -> QueryResult<Matched> {
    use crate::schema::guardianships;
    let adult_born_by = today
        .checked_sub_months(chrono::Months::new(18 * 12))
        .unwrap_or(NaiveDate::MIN);
    let guardians = guardianships::table.select(guardianships::guardian_id);
    let ids: Vec<PersonId> = people::table
        .filter(people::active.eq(true))
        .filter(people::civic_no.eq(hash))
        .filter(
            people::id
                .eq_any(guardians)
                .or(people::birth_date.le(adult_born_by)),
        )
        .select(people::id)
        .load(conn)?;
    one_of(ids, conn)
}

fn state_hash(state: &str) -> String {
    super::secret::token_hash(&format!("oidc state {state}"))
}

/// Keeps a started sign-in (and clears attempts older than a day).
pub fn store_attempt(
    conn: &mut DbConn,
    which: Which,
    started: &Started,
    next: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        oidc_attempts::table.filter(oidc_attempts::created_at.lt(now - chrono::Duration::days(1))),
    )
    .execute(conn)?;
    diesel::insert_into(oidc_attempts::table)
        .values((
            oidc_attempts::state_hash.eq(state_hash(&started.state)),
            oidc_attempts::provider.eq(which.as_str()),
            oidc_attempts::nonce.eq(&started.nonce),
            oidc_attempts::verifier.eq(&started.verifier),
            oidc_attempts::next_path.eq(next),
            oidc_attempts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes a started sign-in for its callback, once: a state that is unknown, of another
/// provider, older than [`ATTEMPT_MINUTES`] or used is None. The conditional update makes
/// two callbacks with one state (a replay racing the real one) take it at most once.
pub fn take_attempt(
    conn: &mut DbConn,
    which: Which,
    state: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Attempt>> {
    let key = state_hash(state);
    let taken = diesel::update(
        oidc_attempts::table
            .filter(oidc_attempts::state_hash.eq(&key))
            .filter(oidc_attempts::provider.eq(which.as_str()))
            .filter(oidc_attempts::used_at.is_null())
            .filter(oidc_attempts::created_at.gt(now - chrono::Duration::minutes(ATTEMPT_MINUTES))),
    )
    .set(oidc_attempts::used_at.eq(Some(now)))
    .execute(conn)?;
    if taken != 1 {
        return Ok(None);
    }
    let (provider, nonce, verifier, next): (String, String, String, String) = oidc_attempts::table
        .find(&key)
        .select((
            oidc_attempts::provider,
            oidc_attempts::nonce,
            oidc_attempts::verifier,
            oidc_attempts::next_path,
        ))
        .first(conn)?;
    // the verifier is needed once, now: it is not kept
    diesel::update(oidc_attempts::table.find(&key))
        .set(oidc_attempts::verifier.eq(""))
        .execute(conn)?;
    Ok(Some(Attempt {
        provider,
        nonce,
        verifier,
        next,
    }))
}

/// Writes a sign-in through a provider to the audit log: a success as `sign_in.ok` (as
/// the password and link sign-ins are), a refusal as `sign_in.oidc_refused` with its code
/// and what failed (never a claim value, a code or a token).
pub fn record(
    conn: &mut DbConn,
    which: Which,
    outcome: Result<PersonId, &Refusal>,
    addr: &str,
) -> QueryResult<()> {
    use crate::audit::{self, Entry};
    let (actor, action, detail) = match outcome {
        Ok(person) => (
            Some(person),
            super::throttle::SUCCEEDED,
            serde_json::json!({"channel": which.channel()}),
        ),
        Err(r) => (
            None,
            "sign_in.oidc_refused",
            serde_json::json!({"channel": which.channel(), "outcome": r.code(), "detail": r.detail()}),
        ),
    };
    audit::record(
        conn,
        Entry {
            at: crate::school::clock::system_now(),
            actor,
            action,
            entity: "person",
            entity_id: actor.map(Into::into),
            detail,
            client_addr: Some(addr),
        },
    )
}
