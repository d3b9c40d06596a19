//! Administration for the municipality's administrators: invite staff, connect guardians
//! to pupils, assign duties. (Bulk import comes with the SS 12000 / OneRoster import.)
//! Everyone else gets 404 here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use super::common::html_with_status;
use super::common::{client_addr, see_other};
use super::layout::{self, PageCtx};
use crate::audit::{self, Entry};
use crate::auth::sign_in;
use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::schema::*;
use crate::state::AppState;

use crate::db::lower;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

fn admin_page(ctx: &PageCtx, schools: &[(i64, String)], note: Option<Markup>) -> Markup {
    let title = ctx.t("Administration", "Administration");
    let school_select = |id: &str| {
        html! {
            select id=(id) name="school_id" required {
                @for (sid, name) in schools { option value=(sid) { (name) } }
            }
        }
    };
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(note) = note { (note) }
            section.card {
                h2 { (ctx.t("Bjud in personal", "Invite staff")) }
                p.muted { (ctx.t("Personen får ett e-postmeddelande med en länk för att välja lösenord (gäller i tre dagar).", "The person gets an e-mail with a link to choose a password (valid for three days).")) }
                form method="post" action="/admin/staff" {
                    (ctx.csrf_field())
                    label for="s-given" { (ctx.t("Förnamn", "Given name")) }
                    input #s-given name="given_name" required maxlength="100" autocomplete="off";
                    label for="s-family" { (ctx.t("Efternamn", "Family name")) }
                    input #s-family name="family_name" required maxlength="100" autocomplete="off";
                    label for="s-email" { (ctx.t("E-post", "E-mail")) }
                    input #s-email name="email" type="email" required maxlength="254" autocomplete="off";
                    label for="s-username" { (ctx.t("Användarnamn (a–z, 0–9, punkt, bindestreck)", "Username (a–z, 0–9, dot, hyphen)")) }
                    input #s-username name="username" required pattern="[a-z0-9._\\-]{3,64}" autocapitalize="none" autocomplete="off";
                    label for="s-role" { (ctx.t("Roll", "Role")) }
                    (role_select("s-role", ctx, false))
                    label for="s-school" { (ctx.t("Skola", "School")) }
                    (school_select("s-school"))
                    p { button type="submit" { (ctx.t("Skicka inbjudan", "Send invitation")) } }
                }
            }
            section.card {
                h2 { (ctx.t("Koppla vårdnadshavare till elev", "Connect a guardian to a pupil")) }
                form method="post" action="/admin/guardianships" {
                    (ctx.csrf_field())
                    label for="g-pupil" { (ctx.t("Elevens id", "The pupil's id")) }
                    input #g-pupil name="pupil_id" inputmode="numeric" required;
                    label for="g-email" { (ctx.t("Vårdnadshavarens e-post", "The guardian's e-mail")) }
                    input #g-email name="email" type="email" required maxlength="254";
                    p.muted { (ctx.t("Namn behövs bara när vårdnadshavaren är ny i Närvaro.", "Names are needed only when the guardian is new to Närvaro.")) }
                    label for="g-given" { (ctx.t("Förnamn", "Given name")) }
                    input #g-given name="given_name" maxlength="100";
                    label for="g-family" { (ctx.t("Efternamn", "Family name")) }
                    input #g-family name="family_name" maxlength="100";
                    p { button type="submit" { (ctx.t("Koppla", "Connect")) } }
                }
            }
            section.card {
                h2 { (ctx.t("Ge ett uppdrag", "Assign a duty")) }
                form method="post" action="/admin/duties" {
                    (ctx.csrf_field())
                    label for="d-username" { (ctx.t("Användarnamn", "Username")) }
                    input #d-username name="username" required autocapitalize="none";
                    label for="d-role" { (ctx.t("Roll", "Role")) }
                    (role_select("d-role", ctx, true))
                    label for="d-school" { (ctx.t("Skola", "School")) }
                    (school_select("d-school"))
                    label for="d-group" { (ctx.t("Klassens eller mentorsgruppens id (bara för mentor)", "The class or mentor group id (mentor only)")) }
                    input #d-group name="group_id" inputmode="numeric";
                    label for="d-start" { (ctx.t("Från och med (ÅÅÅÅ-MM-DD, tomt = i dag)", "From (YYYY-MM-DD, empty = today)")) }
                    input #d-start name="start_date" type="date";
                    p { button type="submit" { (ctx.t("Spara uppdraget", "Save the duty")) } }
                }
            }
        },
    )
}

fn role_select(id: &str, ctx: &PageCtx, with_mentor: bool) -> Markup {
    html! {
        select id=(id) name="role" required {
            option value="teacher" { (ctx.t("Lärare", "Teacher")) }
            @if with_mentor { option value="mentor" { (ctx.t("Mentor", "Mentor")) } }
            option value="principal" { (ctx.t("Rektor", "Principal")) }
            option value="admin" { (ctx.t("Administratör (hela kommunen)", "Administrator (the whole municipality)")) }
        }
    }
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let ctx = PageCtx::new(&req);
    let schools = state
        .db(move |conn| access::admin_schools(conn, &v))
        .await?;
    let note = q.done.as_deref().map(|d| {
        let text = match d {
            "staff" => ctx.t("Inbjudan är skickad.", "The invitation has been sent."),
            "guardian" => ctx.t(
                "Vårdnadshavaren är kopplad till eleven.",
                "The guardian is connected to the pupil.",
            ),
            "duty" => ctx.t("Uppdraget är sparat.", "The duty has been saved."),
            _ => "",
        };
        html! { p.notice role="status" { (text) } }
    });
    Ok(html_with_status(
        StatusCode::OK,
        admin_page(&ctx, &schools, note),
    ))
}

/// A form error: the page again, with the message, and nothing stored.
async fn form_error(
    req: &HttpRequest,
    state: &AppState,
    v: Viewer,
    sv: &str,
    en: &str,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(req);
    let schools = state
        .db(move |conn| access::admin_schools(conn, &v))
        .await?;
    let note = html! { p.errors role="alert" { (ctx.t(sv, en)) } };
    Ok(html_with_status(
        StatusCode::BAD_REQUEST,
        admin_page(&ctx, &schools, Some(note)),
    ))
}

/// Why a form was refused, in both languages.
struct Refusal(&'static str, &'static str);

impl From<(&'static str, &'static str)> for Refusal {
    fn from((sv, en): (&'static str, &'static str)) -> Self {
        Refusal(sv, en)
    }
}

/// A service result: done, refused with a message, or failed.
type Checked<T> = Result<Result<T, Refusal>, AppError>;

fn clean_name(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control))
        .then(|| s.to_string())
}

pub(super) fn clean_email(s: &str) -> Option<String> {
    crate::mail::Email::parse(s).map(|e| e.to_string())
}

fn clean_username(s: &str) -> Option<String> {
    let s = sign_in::normalise_username(s);
    let ok = (3..=64).contains(&s.len())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-'
        });
    ok.then_some(s)
}

/// The organisation a duty of `role` at `school` belongs to: the school, or for an admin
/// its municipality. The school must be one the viewer administers.
fn duty_org(conn: &mut DbConn, v: &Viewer, role: &str, school: i64) -> Checked<i64> {
    if !access::admin_schools(conn, v)?
        .iter()
        .any(|(id, _)| *id == school)
    {
        return Ok(Err((
            "Välj en av kommunens skolor.",
            "Choose one of the municipality's schools.",
        )
            .into()));
    }
    if role == "admin" {
        let parent: Option<i64> = organisations::table
            .find(school)
            .select(organisations::parent_id)
            .first(conn)?;
        return Ok(parent.ok_or(Refusal(
            "Skolan hör inte till någon kommun.",
            "The school belongs to no municipality.",
        )));
    }
    Ok(Ok(school))
}

#[derive(Deserialize)]
pub struct InviteForm {
    given_name: String,
    family_name: String,
    email: String,
    username: String,
    role: String,
    school_id: String,
}

pub async fn invite_staff(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<InviteForm>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let f = form.into_inner();
    let (Some(given), Some(family)) = (clean_name(&f.given_name), clean_name(&f.family_name))
    else {
        return form_error(
            &req,
            &state,
            v,
            "Fyll i för- och efternamn (högst 100 tecken).",
            "Fill in the given and family name (at most 100 characters).",
        )
        .await;
    };
    let Some(email) = clean_email(&f.email) else {
        return form_error(
            &req,
            &state,
            v,
            "E-postadressen ser inte rätt ut.",
            "The e-mail address does not look right.",
        )
        .await;
    };
    let Some(username) = clean_username(&f.username) else {
        return form_error(
            &req,
            &state,
            v,
            "Användarnamnet ska ha 3–64 tecken: a–z, 0–9, punkt, understreck eller bindestreck.",
            "The username must have 3–64 characters: a–z, 0–9, dot, underscore or hyphen.",
        )
        .await;
    };
    if !matches!(f.role.as_str(), "teacher" | "principal" | "admin") {
        return form_error(
            &req,
            &state,
            v,
            "Välj lärare, rektor eller administratör.",
            "Choose teacher, principal or administrator.",
        )
        .await;
    }
    let Ok(school) = f.school_id.trim().parse::<i64>() else {
        return form_error(&req, &state, v, "Välj en skola.", "Choose a school.").await;
    };
    let (actor, addr, today, now) = (v.clone(), client_addr(&req), state.today(), state.now());
    let lang = Lang::from_request(&req).code();
    let result = state
        .db_write(move |conn| {
            conn.transaction(|conn| {
                let org = match duty_org(conn, &actor, &f.role, school)? {
                    Ok(org) => org,
                    Err(r) => return Ok(Err(r)),
                };
                // the unique index decides (two admins choosing one name at the same moment)
                let id: i64 = diesel::insert_into(people::table)
                    .values((
                        people::given_name.eq(&given),
                        people::family_name.eq(&family),
                        people::email.eq(&email),
                        people::username.eq(&username),
                        people::language.eq(lang),
                        people::created_at.eq(now),
                    ))
                    .returning(people::id)
                    .get_result(conn)
                    .map_err(|e| match e {
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _,
                        ) => AppError::Conflict {
                            code: Code::UsernameTaken,
                            message: String::new(),
                        },
                        other => other.into(),
                    })?;
                diesel::insert_into(duties::table)
                    .values((
                        duties::person_id.eq(id),
                        duties::organisation_id.eq(org),
                        duties::role.eq(&f.role),
                        duties::start_date.eq(today),
                    ))
                    .execute(conn)?;
                // the invitation goes through the outbox; its link is made when it is sent
                crate::notices::invitation(conn, id, &email, lang, now)?;
                audit::record(conn, Entry {
                    actor: Some(actor.id),
                    action: "staff.invited",
                    entity: "person",
                    entity_id: Some(id),
                    detail: json!({"username": username, "role": f.role, "organisation_id": org}),
                    client_addr: Some(&addr),
                })?;
                Ok::<_, AppError>(Ok(()))
            })
        })
        .await;
    match result {
        Ok(Ok(())) => {
            state.wake_outbox();
            Ok(see_other("/admin?done=staff"))
        }
        Ok(Err(Refusal(sv, en))) => form_error(&req, &state, v, sv, en).await,
        Err(AppError::Conflict {
            code: Code::UsernameTaken,
            ..
        }) => {
            form_error(
                &req,
                &state,
                v,
                "Användarnamnet är upptaget; välj ett annat.",
                "That username is taken; choose another.",
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct GuardianForm {
    pupil_id: String,
    email: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
}

pub async fn connect_guardian(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<GuardianForm>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let f = form.into_inner();
    let Ok(pupil_id) = f.pupil_id.trim().parse::<i64>() else {
        return form_error(
            &req,
            &state,
            v,
            "Elevens id är ett heltal.",
            "The pupil's id is a whole number.",
        )
        .await;
    };
    let Some(email) = clean_email(&f.email) else {
        return form_error(
            &req,
            &state,
            v,
            "E-postadressen ser inte rätt ut.",
            "The e-mail address does not look right.",
        )
        .await;
    };
    let (actor, addr, today, now) = (v.clone(), client_addr(&req), state.today(), state.now());
    let result: Result<(), Refusal> = state
        .db_write(move |conn| {
            conn.transaction(|conn| {
                match access::pupil(conn, &actor, pupil_id, today) {
                    Ok(_) => {}
                    Err(AppError::NotFound) => return Ok(Err(("Det finns ingen elev med det id:t i kommunen.", "There is no pupil with that id in the municipality.").into())),
                    Err(e) => return Err(e),
                }
                let existing: Option<i64> = people::table
                    .filter(lower(people::email).eq(&email))
                    .filter(people::school_id.is_null())
                    .select(people::id)
                    .order(people::id)
                    .first(conn)
                    .optional()?;
                let (guardian, created) = match existing {
                    Some(id) => (id, false),
                    None => {
                        let (Some(given), Some(family)) = (clean_name(&f.given_name), clean_name(&f.family_name)) else {
                            return Ok(Err(("Ingen i Närvaro har den e-postadressen: fyll i vårdnadshavarens för- och efternamn.", "No one in Närvaro has that e-mail address: fill in the guardian's given and family name.").into()));
                        };
                        let id: i64 = diesel::insert_into(people::table)
                            .values((
                                people::given_name.eq(given),
                                people::family_name.eq(family),
                                people::email.eq(&email),
                                people::created_at.eq(now),
                            ))
                            .returning(people::id)
                            .get_result(conn)?;
                        (id, true)
                    }
                };
                if guardian == pupil_id {
                    return Ok(Err(("En elev kan inte vara sin egen vårdnadshavare.", "A pupil cannot be their own guardian.").into()));
                }
                let already: i64 = guardianships::table
                    .filter(guardianships::pupil_id.eq(pupil_id))
                    .filter(guardianships::guardian_id.eq(guardian))
                    .count()
                    .get_result(conn)?;
                if already > 0 {
                    return Ok(Err(("Vårdnadshavaren är redan kopplad till eleven.", "The guardian is already connected to the pupil.").into()));
                }
                diesel::insert_into(guardianships::table)
                    .values((
                        guardianships::pupil_id.eq(pupil_id),
                        guardianships::guardian_id.eq(guardian),
                        guardianships::relation.eq("guardian"),
                        guardianships::created_at.eq(now),
                    ))
                    .execute(conn)?;
                audit::record(conn, Entry {
                    actor: Some(actor.id),
                    action: "guardianship.created",
                    entity: "person",
                    entity_id: Some(pupil_id),
                    detail: json!({"guardian_id": guardian, "guardian_created": created}),
                    client_addr: Some(&addr),
                })?;
                Ok::<_, AppError>(Ok(()))
            })
        })
        .await?;
    match result {
        Ok(()) => Ok(see_other("/admin?done=guardian")),
        Err(Refusal(sv, en)) => form_error(&req, &state, v, sv, en).await,
    }
}

#[derive(Deserialize)]
pub struct DutyForm {
    username: String,
    role: String,
    school_id: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    start_date: String,
}

pub async fn assign_duty(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<DutyForm>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let f = form.into_inner();
    if !matches!(
        f.role.as_str(),
        "teacher" | "mentor" | "principal" | "admin"
    ) {
        return form_error(
            &req,
            &state,
            v,
            "Välj lärare, mentor, rektor eller administratör.",
            "Choose teacher, mentor, principal or administrator.",
        )
        .await;
    }
    let Ok(school) = f.school_id.trim().parse::<i64>() else {
        return form_error(&req, &state, v, "Välj en skola.", "Choose a school.").await;
    };
    let group: Option<i64> = match (f.role.as_str(), f.group_id.trim()) {
        ("mentor", g) => match g.parse() {
            Ok(g) => Some(g),
            Err(_) => {
                return form_error(
                    &req,
                    &state,
                    v,
                    "En mentor behöver klassens eller mentorsgruppens id (ett heltal).",
                    "A mentor needs the class or mentor group id (a whole number).",
                )
                .await
            }
        },
        (_, "") => None,
        _ => {
            return form_error(
                &req,
                &state,
                v,
                "Grupp anges bara för mentorer.",
                "A group is given only for mentors.",
            )
            .await
        }
    };
    let today = state.today();
    let start = match f.start_date.trim() {
        "" => today,
        s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) if (d - today).num_days().abs() <= 366 => d,
            _ => {
                return form_error(
                    &req,
                    &state,
                    v,
                    "Startdatumet ska skrivas ÅÅÅÅ-MM-DD och ligga inom ett år från i dag.",
                    "The start date is written YYYY-MM-DD and lies within a year of today.",
                )
                .await
            }
        },
    };
    let username = sign_in::normalise_username(&f.username);
    let (actor, addr) = (v.clone(), client_addr(&req));
    let result: Result<(), Refusal> = state
        .db_write(move |conn| {
            conn.transaction(|conn| {
                let org = match duty_org(conn, &actor, &f.role, school)? {
                    Ok(org) => org,
                    Err(r) => return Ok(Err(r)),
                };
                let person: Option<i64> = people::table
                    .filter(people::username.eq(&username))
                    .filter(people::active.eq(true))
                    .select(people::id)
                    .first(conn)
                    .optional()?;
                let Some(person) = person else {
                    return Ok(Err(("Det finns ingen aktiv person med det användarnamnet.", "There is no active person with that username.").into()));
                };
                if let Some(g) = group {
                    let in_school: i64 = groups::table
                        .filter(groups::id.eq(g))
                        .filter(groups::school_id.eq(school))
                        .count()
                        .get_result(conn)?;
                    if in_school == 0 {
                        return Ok(Err(("Gruppen finns inte på den skolan.", "That group is not at that school.").into()));
                    }
                }
                let mut same = duties::table
                    .filter(duties::person_id.eq(person))
                    .filter(duties::organisation_id.eq(org))
                    .filter(duties::role.eq(&f.role))
                    .filter(duties::end_date.is_null().or(duties::end_date.ge(start)))
                    .into_boxed();
                same = match group {
                    Some(g) => same.filter(duties::group_id.eq(g)),
                    None => same.filter(duties::group_id.is_null()),
                };
                let same: i64 = same.count().get_result(conn)?;
                if same > 0 {
                    return Ok(Err(("Personen har redan det uppdraget.", "The person already has that duty.").into()));
                }
                let id: i64 = diesel::insert_into(duties::table)
                    .values((
                        duties::person_id.eq(person),
                        duties::organisation_id.eq(org),
                        duties::role.eq(&f.role),
                        duties::group_id.eq(group),
                        duties::start_date.eq(start),
                    ))
                    .returning(duties::id)
                    .get_result(conn)?;
                audit::record(conn, Entry {
                    actor: Some(actor.id),
                    action: "duty.assigned",
                    entity: "duty",
                    entity_id: Some(id),
                    detail: json!({"person_id": person, "role": f.role, "organisation_id": org, "group_id": group, "start_date": start}),
                    client_addr: Some(&addr),
                })?;
                Ok::<_, AppError>(Ok(()))
            })
        })
        .await?;
    match result {
        Ok(()) => Ok(see_other("/admin?done=duty")),
        Err(Refusal(sv, en)) => form_error(&req, &state, v, sv, en).await,
    }
}
