//! The signed-in person (`Viewer`) and their roles, resolved once per request from the
//! session cookie (HTML) or the bearer token (API, which never reads the cookie, so a
//! cross-site request cannot use it).

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;

use super::session::{self, Audience, Claims};
use crate::auth::Sessions;
use crate::db::DbConn;
use crate::error::Refusal;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::{GroupId, OrganisationId, PersonId, PupilId, SchoolId};
use crate::school::states::Role;
pub use crate::school::viewer::{Roles, Viewer};

/// The signed-in person's name, left in the request for the page header, and whether
/// they work at a school (staff pages are in Swedish and English only).
#[derive(Clone)]
pub struct SignedInAs(pub String, pub bool);

/// A slid session cookie to send with the response.
#[derive(Clone)]
struct RenewedSession(String);

/// The school-local date today.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(session::COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

pub fn cleared_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure);
    c.make_removal();
    c
}

#[derive(Queryable)]
struct PersonRow {
    id: PersonId,
    given_name: String,
    family_name: String,
    username: Option<String>,
    email: Option<String>,
    language: String,
    password_hash: Option<String>,
    receive_confirmations: bool,
    token_version: i32,
    active: bool,
    school_id: Option<SchoolId>,
    birth_date: Option<NaiveDate>,
}

/// The person and roles behind valid claims, or None when the person is gone, inactive,
/// or has signed out (or changed password) since the token was made.
pub fn load(conn: &mut DbConn, claims: Claims, today: NaiveDate) -> AppResult<Option<Viewer>> {
    let Some(id) = claims.person_id() else {
        return Ok(None);
    };
    // (on the backend's own connection: through the two-backend one, diesel writes the
    // statement's SQL anew on every call)
    let query = || {
        people::table.find(id).select((
            people::id,
            people::given_name,
            people::family_name,
            people::username,
            people::email,
            people::language,
            people::password_hash,
            people::receive_confirmations,
            people::token_version,
            people::active,
            people::school_id,
            people::birth_date,
        ))
    };
    let person: Option<PersonRow> = crate::on_backend!(conn, c => query().first(c).optional())?;
    let Some(p) = person.filter(|p| p.active && p.token_version == claims.ver) else {
        return Ok(None);
    };
    let roles = roles_of(conn, &p, today)?;
    Ok(Some(Viewer {
        id: p.id,
        given_name: p.given_name,
        family_name: p.family_name,
        username: p.username,
        email: p.email,
        language: p.language,
        has_password: p.password_hash.is_some(),
        receive_confirmations: p.receive_confirmations,
        roles,
        client: None,
    }))
}

/// The API client behind valid client claims, for a call of `method` on `route` (its
/// pattern), audited; `Ok(None)` when the client is revoked or gone, a 403 when the
/// token's scopes do not cover the path.
pub fn load_client(
    conn: &mut DbConn,
    claims: Claims,
    path: &str,
    (method, route, addr): (&str, &str, &str),
) -> AppResult<Option<Viewer>> {
    let Some(id) = claims.client() else {
        return Ok(None);
    };
    let Some(client) = super::clients::load(conn, id)? else {
        return Ok(None);
    };
    // what the token was given, of what the client still holds
    let granted = claims.scope.as_deref().unwrap_or_default();
    let covered = granted
        .split(' ')
        .filter(|s| client.scopes.iter().any(|c| c == s))
        .any(|s| super::clients::scope_covers(s, path));
    super::clients::audit_call(conn, id, method, route, addr)?;
    if !covered {
        return Err(AppError::Forbidden(
            Refusal::new("client_token_does_not_cover").into(),
        ));
    }
    Ok(Some(Viewer {
        id: PersonId(0),
        given_name: client.name.clone(),
        family_name: String::new(),
        username: None,
        email: None,
        language: "sv".into(),
        has_password: false,
        receive_confirmations: false,
        roles: Roles {
            principal_of: client.schools.clone(),
            ..Roles::default()
        },
        client: Some(id),
    }))
}

/// What a guardianship row of the roles query says in its role column (no duty's role),
/// as a value and as SQL.
const CHILD: (&str, &str) = ("(child)", "'(child)'");

/// A person's roles today: their duties and the children they are guardian of, in one
/// statement (a round trip on every signed-in request), and for an adult pupil whether
/// their school lets them report for themselves.
fn roles_of(conn: &mut DbConn, p: &PersonRow, today: NaiveDate) -> AppResult<Roles> {
    use crate::db::fixed::fixed;
    use diesel::sql_types::{BigInt, Nullable, Text};
    // (a union is built for each backend: diesel's two-backend connection has none)
    let query = || {
        duties::table
            .filter(duties::person_id.eq(p.id))
            .filter(crate::school::duty::on(today))
            .select((duties::role, duties::organisation_id, duties::group_id))
            .union_all(
                guardianships::table
                    .inner_join(people::table.on(people::id.eq(guardianships::pupil_id)))
                    .filter(guardianships::guardian_id.eq(p.id))
                    .filter(people::active.eq(true))
                    .select((
                        fixed::<Text>(CHILD.1),
                        guardianships::pupil_id,
                        fixed::<Nullable<BigInt>>("NULL"),
                    )),
            )
    };
    let rows: Vec<(String, i64, Option<i64>)> = crate::on_backend!(conn, c => query().load(c))?;
    let mut roles = Roles::default();
    for (role, org, group) in rows {
        // an administrator's organisation is the municipality, everyone else's a school
        let school = SchoolId(org);
        match Role::parse(&role) {
            Some(Role::Admin) => push_unique(&mut roles.admin_of, OrganisationId(org)),
            Some(Role::Principal) => push_unique(&mut roles.principal_of, school),
            Some(Role::SchoolAdmin) => push_unique(&mut roles.office_of, school),
            Some(Role::Health) => push_unique(&mut roles.health_of, school),
            Some(Role::CaseOfficer) => push_unique(&mut roles.officer_of, OrganisationId(org)),
            Some(Role::Teacher) => push_unique(&mut roles.teacher_at, school),
            Some(Role::Mentor) => {
                if let Some(g) = group.map(GroupId) {
                    push_unique(&mut roles.mentor_of, g);
                }
                push_unique(&mut roles.teacher_at, school)
            }
            None if role == CHILD.0 => roles.children.push(PupilId(org)),
            None => continue,
        }
    }
    roles.children.sort_unstable();
    if let (Some(school), Some(birth)) = (p.school_id, p.birth_date) {
        let adult = birth
            .with_year(birth.year() + 18)
            .or_else(|| NaiveDate::from_ymd_opt(birth.year() + 18, 3, 1))
            .is_some_and(|d| d <= today);
        if adult {
            let allowed: bool = organisations::table
                .find(school)
                .select(organisations::allow_adult_self_report)
                .first(conn)?;
            if allowed {
                roles.pupil_self_at = Some(school);
            }
        }
    }
    Ok(roles)
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, id: T) {
    if !list.contains(&id) {
        list.push(id);
    }
}

/// The bearer token of an API request.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// How far a request's viewer is known before the database is asked.
enum Begun {
    /// Known: nobody signed in, or already resolved for this request.
    Done(Option<Box<Viewer>>),
    /// A valid token whose person (or API client) is still to be looked up.
    Claims(Pending),
}

/// A valid token, not yet looked up.
#[derive(Clone)]
pub struct Pending {
    claims: Claims,
    audience: Audience,
    today: NaiveDate,
    sessions: web::Data<Sessions>,
}

impl Pending {
    fn is_api(&self) -> bool {
        self.audience == Audience::Api
    }
}

/// The token of the request, checked, without the database.
fn begin(req: &HttpRequest) -> AppResult<Begun> {
    if let Some(v) = req.extensions().get::<Option<Viewer>>() {
        return Ok(Begun::Done(v.clone().map(Box::new)));
    }
    let sessions = req
        .app_data::<web::Data<Sessions>>()
        .ok_or_else(|| AppError::internal("session settings missing"))?
        .clone();
    let is_api = req.path().starts_with("/api/");
    let (audience, token) = if is_api {
        (Audience::Api, bearer(req))
    } else {
        (
            Audience::Web,
            req.cookie(session::COOKIE).map(|c| c.value().to_string()),
        )
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        req.extensions_mut().insert(None::<Viewer>);
        return Ok(Begun::Done(None));
    };
    let Some(claims) = session::verify(&sessions.secret, audience, &token) else {
        if is_api {
            return Err(invalid_token());
        }
        req.extensions_mut().insert(None::<Viewer>);
        return Ok(Begun::Done(None));
    };
    Ok(Begun::Claims(Pending {
        claims,
        audience,
        today: sessions.today(),
        sessions,
    }))
}

/// What the request keeps of a looked-up viewer: the viewer itself, the name for the page
/// header, and a slid session cookie when the old one was due for renewal. An API request
/// whose token names nobody (any more) is refused.
fn finish(req: &HttpRequest, p: &Pending, viewer: Option<Viewer>) -> AppResult<Option<Viewer>> {
    if viewer.is_none() && p.is_api() {
        return Err(invalid_token());
    }
    if let Some(v) = &viewer {
        let now = crate::school::clock::Clock::System.now().timestamp();
        if p.audience == Audience::Web && p.claims.wants_renewal(now) {
            let (token, _) = session::issue(
                &p.sessions.secret,
                Audience::Web,
                v.id,
                p.claims.ver,
                Some(p.claims.auth),
            )
            .map_err(AppError::caused)?;
            req.extensions_mut().insert(RenewedSession(token));
        }
        req.extensions_mut()
            .insert(SignedInAs(v.name(), v.roles.is_staff()));
    }
    req.extensions_mut().insert(viewer.clone());
    Ok(viewer)
}

/// The viewer of this request, if any. Resolved once and kept in the request.
pub async fn resolve(req: &HttpRequest) -> AppResult<Option<Viewer>> {
    let p = match begin(req)? {
        Begun::Done(v) => return Ok(v.map(|v| *v)),
        Begun::Claims(p) => p,
    };
    let viewer = if p.claims.client().is_some() {
        let path = req.path().to_string();
        let route = req.match_pattern().unwrap_or_else(|| "(no route)".into());
        let method = req.method().to_string();
        // the peer's address (a proxy's, behind one); never a header a client can set
        let addr = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let claims = p.claims.clone();
        p.sessions
            .db
            .write(move |conn| load_client(conn, claims, &path, (&method, &route, &addr)))
            .await?
    } else {
        let (claims, today) = (p.claims.clone(), p.today);
        p.sessions
            .db
            .read(move |conn| load(conn, claims, today))
            .await?
    };
    finish(req, &p, viewer)
}

/// The signed-in person of a request whose handler looks them up on the connection its
/// own work uses: one connection and one checkout for the whole request (the roll call).
/// An API client's token is looked up before the handler runs, as for [`Viewer`].
pub struct SignedIn {
    req: HttpRequest,
    who: Who,
}

enum Who {
    Known(Box<Viewer>),
    Pending(Pending),
}

/// The part of [`SignedIn`] that goes into the database work.
#[derive(Clone)]
pub enum Lookup {
    Known(Box<Viewer>),
    Claims {
        claims: Claims,
        today: NaiveDate,
        api: bool,
    },
}

impl SignedIn {
    /// What the database work needs to look the viewer up.
    pub fn lookup(&self) -> Lookup {
        match &self.who {
            Who::Known(v) => Lookup::Known(v.clone()),
            Who::Pending(p) => Lookup::Claims {
                claims: p.claims.clone(),
                today: p.today,
                api: p.is_api(),
            },
        }
    }

    /// Keeps the viewer the database work found in the request (see [`finish`]).
    pub fn found(&self, v: &Viewer) -> AppResult<()> {
        if let Who::Pending(p) = &self.who {
            finish(&self.req, p, Some(v.clone()))?;
        }
        Ok(())
    }
}

impl Lookup {
    /// The viewer, on the work's own connection: a 401 when the token names nobody now.
    pub fn viewer(self, conn: &mut DbConn) -> AppResult<Viewer> {
        match self {
            Lookup::Known(v) => Ok(*v),
            Lookup::Claims { claims, today, api } => load(conn, claims, today)?.ok_or_else(|| {
                if api {
                    invalid_token()
                } else {
                    sign_in_required()
                }
            }),
        }
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let who = match begin(&req)? {
                Begun::Done(v) => Who::Known(v.ok_or_else(sign_in_required)?),
                Begun::Claims(p) if p.claims.client().is_none() => Who::Pending(p),
                Begun::Claims(_) => {
                    Who::Known(Box::new(resolve(&req).await?.ok_or_else(sign_in_required)?))
                }
            };
            Ok(SignedIn { req, who })
        })
    }
}

fn invalid_token() -> AppError {
    AppError::Unauthorized(Refusal::new("token_invalid_or_expired").into())
}

pub fn sign_in_required() -> AppError {
    AppError::Unauthorized(Refusal::new("sign_in_first").into())
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(&req).await?.ok_or_else(sign_in_required) })
    }
}

/// The viewer when someone is signed in; an error only when the database fails.
pub struct MaybeViewer(pub Option<Viewer>);

impl FromRequest for MaybeViewer {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(&req).await.map(MaybeViewer) })
    }
}

/// Middleware: sends the slid session cookie when the viewer's was due for renewal.
pub async fn renew_session(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let renewed = res.request().extensions().get::<RenewedSession>().cloned();
    let signed_out = res
        .response()
        .cookies()
        .any(|c| c.name() == session::COOKIE);
    if let (Some(RenewedSession(token)), false) = (renewed, signed_out) {
        let secure = res
            .request()
            .app_data::<web::Data<Sessions>>()
            .is_some_and(|s| s.secure_cookies);
        res.response_mut()
            .add_cookie(&session_cookie(token, secure))
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    Ok(res)
}
