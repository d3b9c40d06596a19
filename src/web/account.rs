//! The signed-in person's own account: who they are, their roles, and their password.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::client_addr;
use super::common::html_with_status;
use super::layout::{self, PageCtx};
use crate::auth::session::{self, Audience};
use crate::auth::sign_in;
use crate::auth::viewer::session_cookie;
use crate::auth::{password, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::state::AppState;

/// The SS 12000 e-mail type, as a person reads it.
fn kind_label(ctx: &PageCtx, kind: &str) -> &'static str {
    match kind {
        "Skola personal" => ctx.t("skolans adress för personal", "school staff address"),
        "Skola elev" => ctx.t("skolans adress för elever", "school pupil address"),
        "Arbete övrigt" => ctx.t("arbete", "work"),
        _ => ctx.t("privat", "private"),
    }
}

/// Where messages go: a choice among the register's addresses, or one typed in; a plain
/// field when the register lists none.
fn email_choice(ctx: &PageCtx, v: &Viewer, register: &[(String, String)]) -> Markup {
    let current = v.email.as_deref().unwrap_or("");
    let listed = register
        .iter()
        .any(|(_, a)| a.eq_ignore_ascii_case(current));
    if register.is_empty() {
        return html! {
            label for="email" { (ctx.t("E-postadress för meddelanden", "E-mail address for messages")) }
            input #email name="email" type="email" maxlength="254" autocomplete="email" value=(current);
        };
    }
    html! {
        fieldset {
            legend { (ctx.t("E-postadress för meddelanden", "E-mail address for messages")) }
            p.muted { (ctx.t("Adresserna kommer från skolans register.", "The addresses come from the school's register.")) }
            @for (i, (kind, address)) in register.iter().enumerate() {
                label for=(format!("address-{i}")) {
                    input id=(format!("address-{i}")) type="radio" name="choice" value=(address) checked[address.eq_ignore_ascii_case(current)];
                    " " (address) " (" (kind_label(ctx, kind)) ")"
                }
            }
            label for="address-other" {
                input #address-other type="radio" name="choice" value="other" checked[!listed];
                " " (ctx.t("En annan adress:", "Another address:"))
            }
            input #email name="email" type="email" maxlength="254" autocomplete="email" aria-label=(ctx.t("Annan e-postadress", "Other e-mail address")) value=(if listed { "" } else { current });
        }
    }
}

fn account_page(
    ctx: &PageCtx,
    v: &Viewer,
    (register, phone): (&[(String, String)], &str),
    (note, channels): (Option<Markup>, Option<Markup>),
) -> Markup {
    let title = ctx.t("Mitt konto", "My account");
    let r = &v.roles;
    let roles: Vec<&str> = [
        (r.is_admin(), ctx.t("administratör", "administrator")),
        (!r.principal_of.is_empty(), ctx.t("rektor", "principal")),
        (
            !r.office_of.is_empty(),
            ctx.t("skoladministratör", "school administrator"),
        ),
        (!r.teacher_at.is_empty(), ctx.t("lärare", "teacher")),
        (!r.mentor_of.is_empty(), ctx.t("mentor", "mentor")),
        (!r.children.is_empty(), ctx.t("vårdnadshavare", "guardian")),
        (r.pupil_self_at.is_some(), ctx.t("elev", "pupil")),
    ]
    .into_iter()
    .filter_map(|(has, name)| has.then_some(name))
    .collect();
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(note) = note { (note) }
            dl.facts {
                dt { (ctx.t("Namn", "Name")) } dd { (v.name()) }
                @if let Some(u) = &v.username { dt { (ctx.t("Användarnamn", "Username")) } dd { (u) } }
                @if let Some(e) = &v.email { dt { (ctx.t("E-post", "E-mail")) } dd { (e) } }
                dt { (ctx.t("Roller", "Roles")) }
                dd { @if roles.is_empty() { "–" } @else { (roles.join(", ")) } }
            }
            section.card {
            h2 { (ctx.t("Inställningar", "Settings")) }
            form method="post" action="/account/settings" {
                (ctx.csrf_field())
                (email_choice(ctx, v, register))
                label for="phone" { (ctx.t("Mobilnummer, så att skolan kan ringa eller skicka sms (till exempel 070-123 45 67)", "Mobile number, so that the school can call or text you (for example 070-123 45 67)")) }
                input #phone name="phone" type="tel" maxlength="32" autocomplete="tel" value=(phone);
                label for="language" { (ctx.t("Språk i e-post och sms", "Language of e-mails and text messages")) }
                select #language name="language" {
                    @for l in ctx.languages() {
                        option value=(l.code()) lang=(l.code()) dir=(l.dir()) selected[v.language == l.code()] { (l.own_name()) }
                    }
                }
                label { input type="checkbox" name="receive_confirmations" value="1" checked[v.receive_confirmations]; " " (ctx.t("Skicka bekräftelse när frånvaro anmäls eller tas bort", "Send a confirmation when absence is reported or cancelled")) }
                p { button type="submit" { (ctx.t("Spara inställningarna", "Save the settings")) } }
            }
        }
        @if let Some(c) = channels { (c) }
        @if v.has_password {
                section.card {
                    h2 { (ctx.t("Byt lösenord", "Change password")) }
                    p.muted { (ctx.t("När du byter lösenord loggas du ut på alla andra enheter.", "Changing your password signs you out on every other device.")) }
                    form method="post" action="/account/password" {
                        (ctx.csrf_field())
                        label for="current" { (ctx.t("Nuvarande lösenord", "Current password")) }
                        input #current name="current" type="password" autocomplete="current-password" required;
                        label for="password" { (ctx.t("Nytt lösenord (minst 10 tecken)", "New password (at least 10 characters)")) }
                        input #password name="password" type="password" autocomplete="new-password" minlength="10" required;
                        label for="confirm" { (ctx.t("Samma lösenord en gång till", "The same password again")) }
                        input #confirm name="confirm" type="password" autocomplete="new-password" minlength="10" required;
                        p { button type="submit" { (ctx.t("Byt lösenord", "Change password")) } }
                    }
                }
            }
        },
    )
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
) -> AppResult<HttpResponse> {
    let id = v.id;
    let (register, phone) = state.db(move |conn| stored(conn, id)).await?;
    let ctx = PageCtx::new(&req);
    let mut channels = super::channels::card(&state, &ctx, &v).await?;
    if v.has_password && v.client.is_none() {
        let (enrolment, required) = super::second_factor_account::status(&state, id).await?;
        let card = super::second_factor_account::card(&ctx, enrolment, required);
        channels = Some(maud::html! { @if let Some(c) = channels { (c) } (card) });
    }
    Ok(html_with_status(
        StatusCode::OK,
        account_page(&ctx, &v, (&register, &phone), (None, channels)),
    ))
}

/// The register's addresses and the stored number (empty when none), for the form.
fn stored(
    conn: &mut crate::db::DbConn,
    id: crate::school::ids::PersonId,
) -> AppResult<(Vec<(String, String)>, String)> {
    Ok((
        crate::auth::account::register_addresses(conn, id)?,
        crate::auth::account::phone(conn, id)?.unwrap_or_default(),
    ))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    /// one of the register's addresses, or "other" for `email`
    choice: Option<String>,
    language: String,
    receive_confirmations: Option<String>,
}

pub async fn save_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<SettingsForm>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let f = form.into_inner();
    let id = v.id;
    let (register, _) = state.db(move |conn| stored(conn, id)).await?;
    let refuse = |code: &'static str| {
        let note =
            html! { p.errors role="alert" { (ctx.say(&crate::school::Refusal::new(code))) } };
        html_with_status(
            StatusCode::BAD_REQUEST,
            account_page(&ctx, &v, (&register, f.phone.trim()), (Some(note), None)),
        )
    };
    let typed = match f.choice.as_deref() {
        None | Some("other") => f.email.trim(),
        Some(c) => match register.iter().find(|(_, a)| a == c) {
            Some((_, a)) => a.as_str(),
            None => return Ok(refuse("choose_one_addresses_list_type")),
        },
    };
    let email = match typed {
        "" => None,
        raw => match super::admin::clean_email(raw) {
            Some(e) => Some(e),
            None => return Ok(refuse("e_mail_address_does_look")),
        },
    };
    let phone = match f.phone.trim() {
        "" => None,
        raw => match crate::school::phone::e164(raw) {
            Some(n) => Some(n),
            None => return Ok(refuse("phone_number_invalid")),
        },
    };
    let Some(language) = crate::i18n::Lang::parse(&f.language).filter(|l| ctx.staff_may(*l)) else {
        return Err(AppError::invalid(
            Code::UnknownLanguage,
            ctx.t(
                "Välj ett av språken i listan.",
                "Choose one of the languages in the list.",
            ),
        ));
    };
    let (addr, now) = (client_addr(&req), state.now());
    let wants = f.receive_confirmations.is_some();
    let settings = crate::auth::account::Settings {
        email,
        phone,
        language: language.code().to_string(),
        receive_confirmations: wants,
    };
    state
        .db_write(move |conn| {
            crate::auth::account::save_settings(conn, id, &settings, (&addr, now))
        })
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/account"))
        .finish())
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    current: String,
    password: String,
    confirm: String,
}

pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<ChangePasswordForm>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let form = form.into_inner();
    let id = v.id;
    let (register, phone) = state.db(move |conn| stored(conn, id)).await?;
    let error = |status: StatusCode, sv: &str, en: &str| {
        let note = html! { p.errors role="alert" { (ctx.t(sv, en)) } };
        Ok(html_with_status(
            status,
            account_page(&ctx, &v, (&register, &phone), (Some(note), None)),
        ))
    };
    if let Err((sv, en)) =
        sign_in::check_new_password(&form.password, &form.confirm, v.username.as_deref())
    {
        return error(StatusCode::BAD_REQUEST, sv, en);
    }
    let addr = client_addr(&req);
    let now = crate::school::clock::system_now();
    // the hashes are computed before the write, without holding a connection
    let stored = state
        .db(move |conn| crate::auth::account::password_hash(conn, id))
        .await?;
    let current = form.current;
    let right = web::block(move || match stored {
        Some(h) => password::verify(&current, &h),
        None => Ok(false),
    })
    .await??;
    let result = if right {
        let hash = super::sign_in::hash_new_password(form.password).await?;
        state
            .db_write(move |conn| sign_in::change_password(conn, id, &hash, &addr, now).map(Some))
            .await?
    } else {
        None
    };
    let Some(version) = result else {
        return error(
            StatusCode::BAD_REQUEST,
            "Det nuvarande lösenordet stämmer inte.",
            "The current password is not right.",
        );
    };
    // This browser stays signed in with a token of the new version; every other one is out.
    let (token, _) = session::issue(&state.jwt_secret, Audience::Web, id, version, None)
        .map_err(AppError::caused)?;
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(
            token,
            state.config.base_url.starts_with("https://"),
        ))
        .insert_header((header::LOCATION, "/account"))
        .finish())
}
