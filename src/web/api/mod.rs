//! The JSON API under /api/v1, one file per area as in the rest of the service: who the
//! caller is and bearer tokens here, then `lessons` (the roll call), `absence` (reports,
//! leave, a pupil's absence) and `statistics`. Errors are problem+json (`web::errors`).

pub mod absence;
pub mod cases;
pub mod lessons;
pub mod signals;
pub mod statistics;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::session::{self, Audience, API_TOKEN_SECS};
use crate::auth::sign_in::{self, Outcome};
use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::PupilId;
use crate::school::ids::{GroupId, SchoolId};
use crate::state::AppState;
use crate::web::common::client_addr;
use crate::web::pupils::summary;

#[derive(Deserialize)]
pub struct TokenRequest {
    username: String,
    password: String,
    /// a code from the authenticator app (or a recovery code), for an account with a
    /// second factor
    #[serde(default)]
    code: Option<String>,
}

#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TokenRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let lang = Lang::from_request(&req);
    if body.username.trim().is_empty()
        || body.password.is_empty()
        || body.username.len() > 200
        || body.password.len() > 1000
    {
        return Err(AppError::invalid(
            Code::MissingCredentials,
            lang.pick(
                "Ange username och password.",
                "Give a username and a password.",
            ),
        ));
    }
    let outcome =
        crate::web::sign_in::password_attempt(&req, &state, body.username, body.password, "api")
            .await?;
    match outcome {
        Outcome::SignedIn { person, version } => {
            second_step(&req, &state, lang, person, body.code).await?;
            let (access_token, _) =
                session::issue(&state.jwt_secret, Audience::Api, person, version, None)
                    .map_err(AppError::caused)?;
            Ok(HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(TokenResponse {
                    access_token,
                    token_type: "Bearer",
                    expires_in: API_TOKEN_SECS,
                }))
        }
        Outcome::Refused => Err(AppError::Unauthorized(
            lang.pick(
                "Fel användarnamn eller lösenord.",
                "Wrong username or password.",
            )
            .into(),
        )),
        Outcome::Throttled { wait_secs } => Err(AppError::TooManyRequests {
            retry_after_secs: wait_secs,
        }),
        Outcome::PasswordsOff => Err(AppError::Forbidden(
            lang.pick(
                "Personal loggar in med kommunens konto här, inte med lösenord.",
                "Staff sign in with the municipality's account here, not with a password.",
            )
            .into(),
        )),
    }
}

/// The second factor of an account that has one, after its right password: the code
/// in the request (held against the sign-in limits like the password), or 401 asking for
/// it. An account whose role requires a second factor but has none enrols on the web first.
async fn second_step(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    person: crate::school::ids::PersonId,
    code: Option<String>,
) -> AppResult<()> {
    use crate::auth::second_factor::{self, SecondStep};
    let (today, roles) = (
        state.today(),
        state.config.sign_in.second_factor_for.clone(),
    );
    let step = state
        .db(move |conn| Ok(second_factor::needed(conn, person, today, &roles)?))
        .await?;
    match (step, code) {
        (SecondStep::None, _) => Ok(()),
        (SecondStep::Enrol, _) => Err(AppError::Forbidden(
            lang.pick(
                "Kontot kräver tvåstegsverifiering. Logga in på webben först och koppla en autentiseringsapp.",
                "The account requires two-step verification. Sign in on the web first and connect an authenticator app.",
            )
            .into(),
        )),
        (SecondStep::Code, None) => Err(AppError::Unauthorized(
            lang.pick(
                "Kontot har tvåstegsverifiering: skicka också koden från appen i code.",
                "The account has two-step verification: send the code from the app in code too.",
            )
            .into(),
        )),
        (SecondStep::Code, Some(code)) => {
            match crate::web::second_factor::code_attempt(req, state, person, code, "api").await? {
                sign_in::StepOutcome::Passed(_) => Ok(()),
                sign_in::StepOutcome::Throttled { wait_secs } => Err(AppError::TooManyRequests {
                    retry_after_secs: wait_secs,
                }),
                sign_in::StepOutcome::Refused(_) => Err(AppError::Unauthorized(
                    lang.pick(
                        "Koden stämmer inte eller har redan använts.",
                        "The code is not right, or has been used already.",
                    )
                    .into(),
                )),
            }
        }
    }
}

/// Ends every token and session of the caller.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
) -> AppResult<HttpResponse> {
    let addr = client_addr(&req);
    state
        .db_write(move |conn| sign_in::sign_out(conn, v.id, &addr))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct RoleOut {
    role: &'static str,
    school_ids: Vec<SchoolId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_ids: Option<Vec<GroupId>>,
}

#[derive(Serialize)]
struct ChildOut {
    id: PupilId,
    name: String,
    school_id: SchoolId,
}

pub async fn me(state: web::Data<AppState>, v: Viewer) -> AppResult<HttpResponse> {
    let out = state
        .db(move |conn| {
            let r = &v.roles;
            let mut roles = Vec::new();
            if r.is_admin() {
                let schools = access::admin_schools(conn, &v)?
                    .into_iter()
                    .map(|s| s.0)
                    .collect();
                roles.push(RoleOut {
                    role: "admin",
                    school_ids: schools,
                    group_ids: None,
                });
            }
            if !r.principal_of.is_empty() {
                roles.push(RoleOut {
                    role: "principal",
                    school_ids: r.principal_of.clone(),
                    group_ids: None,
                });
            }
            if !r.teacher_at.is_empty() {
                roles.push(RoleOut {
                    role: "teacher",
                    school_ids: r.teacher_at.clone(),
                    group_ids: None,
                });
            }
            if !r.mentor_of.is_empty() {
                let schools = crate::attendance::home::schools_of_groups(conn, &r.mentor_of)?;
                roles.push(RoleOut {
                    role: "mentor",
                    school_ids: schools,
                    group_ids: Some(r.mentor_of.clone()),
                });
            }
            let children: Vec<ChildOut> = crate::attendance::home::children(conn, &r.children)?
                .into_iter()
                .map(|(id, g, f, school_id)| ChildOut {
                    id,
                    name: format!("{g} {f}"),
                    school_id,
                })
                .collect();
            if !children.is_empty() {
                let mut schools: Vec<SchoolId> = children.iter().map(|c| c.school_id).collect();
                schools.sort_unstable();
                schools.dedup();
                roles.push(RoleOut {
                    role: "guardian",
                    school_ids: schools,
                    group_ids: None,
                });
            }
            if let Some(school) = r.pupil_self_at {
                roles.push(RoleOut {
                    role: "pupil",
                    school_ids: vec![school],
                    group_ids: None,
                });
            }
            Ok(json!({
                "id": v.id,
                "name": v.name(),
                "username": v.username,
                "email": v.email,
                "language": v.language,
                "roles": roles,
                "children": children,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(out))
}

pub async fn pupil(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let today = state.today();
    let lang = Lang::from_request(&req);
    let reader = crate::web::reads::Reader::of(&req, &v);
    let p = state.db(move |conn| summary(conn, &v, id, today)).await?;
    reader
        .read(&state, id, crate::access_log::ReadKind::ApiPupil)
        .await?;
    let p = super::common::worded(p, lang);
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(p))
}
