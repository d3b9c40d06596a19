//! Administration for the municipality's administrators: invite staff, connect guardians
//! to pupils, assign duties. (Bulk import comes with the SS 12000 / OneRoster import.)
//! Everyone else gets 404 here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::admin_find::{self, Chosen, Picks};
use super::common::html_with_status;
use super::common::{client_addr, see_other};
use super::layout::{self, PageCtx};
use crate::auth::sign_in;
use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::mail::Email;
use crate::school::ids::SchoolId;
use crate::school::states::Role;
use crate::school::Act;
use crate::school::Refusal;
use crate::school_day::staff;
use crate::state::AppState;

fn admin_page(
    ctx: &PageCtx,
    schools: &[(SchoolId, String)],
    c: &Chosen,
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Administration", "Administration");
    let group_school = c.group.as_ref().map(|g| g.school_id).or(c.picks.school());
    let username = c
        .staff
        .as_ref()
        .and_then(|s| s.handle.clone())
        .or(c.picks.username.clone())
        .unwrap_or_default();
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(note) = note { (note) }
            p { a href="/admin/api-clients" { (ctx.t("API-klienter (system som läser Närvaro)", "API clients (systems that read Närvaro)")) } }
            p { a href="/audit" { (ctx.t("Ändringslogg: vem ändrade vad, när och varifrån", "Audit log: who changed what, when and from where")) } }
            p { a href="/admin/sync" { (ctx.t("Synkronisering från det skoladministrativa systemet (SS 12000)", "Sync from the school administration system (SS 12000)")) } }
            (admin_find::search_card(ctx, c))
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
                    (admin_find::school_select(ctx, "s-school", schools, c.picks.school()))
                    p { button type="submit" { (ctx.t("Skicka inbjudan", "Send invitation")) } }
                }
            }
            section.card #guardian {
                h2 { (ctx.t("Koppla vårdnadshavare till elev", "Connect a guardian to a pupil")) }
                form method="post" action="/admin/guardianships" {
                    (ctx.csrf_field())
                    (admin_find::pupil_field(ctx, c))
                    @match &c.guardian {
                        Some(g) => {
                            p.chosen {
                                strong { (ctx.t("Vårdnadshavare: ", "Guardian: ")) }
                                (g.name) " · " (g.handle.as_deref().unwrap_or("")) " "
                                a href="/admin#find" { (ctx.t("Byt", "Change")) }
                            }
                            input type="hidden" name="email" value=(g.handle.as_deref().unwrap_or(""));
                        }
                        None => {
                            label for="g-email" { (ctx.t("Vårdnadshavarens e-post", "The guardian's e-mail")) }
                            input #g-email name="email" type="email" required maxlength="254";
                            p.muted { (ctx.t("Namn behövs bara när vårdnadshavaren är ny i Närvaro; en vårdnadshavare som redan finns kan du söka fram ovan.", "Names are needed only when the guardian is new to Närvaro; one who is already there can be found above.")) }
                            label for="g-given" { (ctx.t("Förnamn", "Given name")) }
                            input #g-given name="given_name" maxlength="100";
                            label for="g-family" { (ctx.t("Efternamn", "Family name")) }
                            input #g-family name="family_name" maxlength="100";
                        }
                    }
                    p { button type="submit" { (ctx.t("Koppla", "Connect")) } }
                }
            }
            section.card #duty {
                h2 { (ctx.t("Ge ett uppdrag", "Assign a duty")) }
                form method="post" action="/admin/duties" {
                    (ctx.csrf_field())
                    label for="d-username" { (ctx.t("Användarnamn", "Username")) }
                    input #d-username name="username" required autocapitalize="none" value=(username);
                    p.muted { (ctx.t("Du kan söka fram personen ovan.", "You can find the person above.")) }
                    label for="d-role" { (ctx.t("Roll", "Role")) }
                    (role_select("d-role", ctx, true))
                    label for="d-school" { (ctx.t("Skola", "School")) }
                    (admin_find::school_select(ctx, "d-school", schools, group_school))
                    (admin_find::group_field(ctx, c))
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
            option value="school_admin" { (ctx.t("Skoladministratör (skolans expedition)", "School administrator (the school office)")) }
            option value="health" { (ctx.t("Elevhälsan (kurator, skolsköterska, skolpsykolog, skolläkare)", "Student health team (counsellor, nurse, psychologist, doctor)")) }
            option value="admin" { (ctx.t("Administratör (hela kommunen)", "Administrator (the whole municipality)")) }
            option value="case_officer" { (ctx.t("Huvudmannens handläggare av frånvaroutredningar (hela kommunen)", "The huvudman's officer for absence investigations (the whole municipality)")) }
        }
    }
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Picks>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let ctx = PageCtx::new(&req);
    let (picks, today) = (q.into_inner(), state.today());
    let done = picks.done.clone();
    let (schools, chosen) = state
        .db(move |conn| {
            let schools = access::admin_schools(conn, &v)?;
            Ok((schools, Chosen::load(conn, &v, picks, today)?))
        })
        .await?;
    let note = done.as_deref().map(|d| {
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
        admin_page(&ctx, &schools, &chosen, note),
    ))
}

/// A form error: the page again, with the message and the form's choices, and nothing
/// stored.
async fn form_error(
    req: &HttpRequest,
    state: &AppState,
    v: Viewer,
    refusal: Refusal,
    picks: Picks,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(req);
    let today = state.today();
    let (schools, chosen) = state
        .db(move |conn| {
            let schools = access::admin_schools(conn, &v)?;
            Ok((schools, Chosen::load(conn, &v, picks, today)?))
        })
        .await?;
    let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
    Ok(html_with_status(
        StatusCode::BAD_REQUEST,
        admin_page(&ctx, &schools, &chosen, Some(note)),
    ))
}

pub(super) fn clean_email(s: &str) -> Option<String> {
    Email::parse(s).map(|e| e.to_string())
}

const BAD_EMAIL: Refusal = Refusal::new("e_mail_address_does_look");
const NO_SCHOOL: Refusal = Refusal::new("choose_school");

#[derive(Deserialize)]
pub struct InviteForm {
    given_name: String,
    family_name: String,
    email: String,
    username: String,
    role: String,
    #[serde(default)]
    school_id: String,
}

impl InviteForm {
    fn parse(&self, language: &'static str) -> Result<staff::NewStaff, Refusal> {
        let (Some(given_name), Some(family_name)) = (
            staff::clean_name(&self.given_name),
            staff::clean_name(&self.family_name),
        ) else {
            return Err(Refusal::new("fill_given_family_name_most"));
        };
        let email = Email::parse(&self.email).ok_or(BAD_EMAIL)?;
        let username =
            staff::clean_username(&self.username).ok_or(Refusal::new("username_must_have_3_64"))?;
        let role = Role::parse(&self.role)
            .filter(|r| *r != Role::Mentor)
            .ok_or(Refusal::new("choose_teacher_principal_administrator"))?;
        let school = self.school_id.trim().parse().map_err(|_| NO_SCHOOL)?;
        Ok(staff::NewStaff {
            given_name,
            family_name,
            email,
            username,
            role,
            school,
            language,
        })
    }
}

pub async fn invite_staff(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<InviteForm>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let picks = Picks {
        school: Some(form.school_id.clone()),
        ..Picks::default()
    };
    let new = match form.parse(Lang::from_request(&req).code()) {
        Ok(new) => new,
        Err(r) => return form_error(&req, &state, v, r, picks).await,
    };
    let (actor, addr, today, now) = (v.clone(), client_addr(&req), state.today(), state.now());
    let tz = state.config.timezone;
    let result = state
        .db_write(move |conn| {
            let act = Act::new(&actor, &addr, (today, now, tz));
            staff::invite(conn, &act, &new)
        })
        .await;
    match result {
        Ok(Ok(_)) => {
            state.wake_outbox();
            Ok(see_other("/admin?done=staff"))
        }
        Ok(Err(r)) => form_error(&req, &state, v, r, picks).await,
        Err(AppError::Conflict {
            code: Code::UsernameTaken,
            ..
        }) => {
            let taken = Refusal::new("username_taken_choose_another");
            form_error(&req, &state, v, taken, picks).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct GuardianForm {
    #[serde(default)]
    pupil_id: String,
    email: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
}

impl GuardianForm {
    fn parse(self) -> Result<staff::NewGuardianship, Refusal> {
        let pupil = self
            .pupil_id
            .trim()
            .parse()
            .map_err(|_| Refusal::new("choose_pupil_find_pupil_name"))?;
        let email = Email::parse(&self.email).ok_or(BAD_EMAIL)?;
        Ok(staff::NewGuardianship {
            pupil,
            email,
            given_name: self.given_name,
            family_name: self.family_name,
        })
    }
}

pub async fn connect_guardian(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<GuardianForm>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let picks = Picks {
        pupil: Some(form.pupil_id.clone()),
        ..Picks::default()
    };
    let new = match form.into_inner().parse() {
        Ok(new) => new,
        Err(r) => return form_error(&req, &state, v, r, picks).await,
    };
    let (actor, addr, today, now) = (v.clone(), client_addr(&req), state.today(), state.now());
    let tz = state.config.timezone;
    let result = state
        .db_write(move |conn| {
            let act = Act::new(&actor, &addr, (today, now, tz));
            staff::connect_guardian(conn, &act, &new)
        })
        .await?;
    match result {
        Ok(()) => Ok(see_other("/admin?done=guardian")),
        Err(r) => form_error(&req, &state, v, r, picks).await,
    }
}

#[derive(Deserialize)]
pub struct DutyForm {
    username: String,
    role: String,
    #[serde(default)]
    school_id: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    start_date: String,
}

impl DutyForm {
    fn parse(&self, today: chrono::NaiveDate) -> Result<staff::NewDuty, Refusal> {
        let role = Role::parse(&self.role).ok_or(Refusal::new(
            "choose_teacher_mentor_principal_administrator",
        ))?;
        let school = self.school_id.trim().parse().map_err(|_| NO_SCHOOL)?;
        let group = staff::duty_group(role, &self.group_id)?;
        let start = staff::duty_start(&self.start_date, today)?;
        Ok(staff::NewDuty {
            username: sign_in::normalise_username(&self.username),
            role,
            school,
            group,
            start,
        })
    }
}

pub async fn assign_duty(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<DutyForm>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let (today, now) = (state.today(), state.now());
    let picks = Picks {
        group: Some(form.group_id.clone()),
        school: Some(form.school_id.clone()),
        username: Some(form.username.clone()),
        ..Picks::default()
    };
    let new = match form.parse(today) {
        Ok(new) => new,
        Err(r) => return form_error(&req, &state, v, r, picks).await,
    };
    let (actor, addr, tz) = (v.clone(), client_addr(&req), state.config.timezone);
    let result = state
        .db_write(move |conn| {
            let act = Act::new(&actor, &addr, (today, now, tz));
            staff::assign_duty(conn, &act, &new)
        })
        .await?;
    match result {
        Ok(_) => Ok(see_other("/admin?done=duty")),
        Err(r) => form_error(&req, &state, v, r, picks).await,
    }
}
