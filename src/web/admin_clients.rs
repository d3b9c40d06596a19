//! The administrator's API clients (`/admin/api-clients`): the list (name, client id,
//! schools, scopes, when it last got a token, revoked or not), a form to register one (its
//! secret is shown once, on the answer to the form, never again), and revoking. Everyone
//! else gets 404 here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::auth::clients::{self, Line, NewClient, Registered};
use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult};
use crate::school::calendar::to_local;
use crate::school::ids::SchoolId;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// What the page shows: the municipality's schools and its clients.
struct View {
    schools: Vec<(SchoolId, String)>,
    clients: Vec<Line>,
}

async fn view(state: &AppState, v: &Viewer) -> AppResult<View> {
    let v = v.clone();
    state
        .db(move |conn| {
            let schools = access::admin_schools(conn, &v)?;
            let clients = clients::list(conn, &v.roles.admin_of)?;
            Ok(View { schools, clients })
        })
        .await
}

fn page(ctx: &PageCtx, tz: chrono_tz::Tz, view: &View, note: Option<Markup>) -> Markup {
    let title = ctx.t("API-klienter", "API clients");
    let when = |t: chrono::NaiveDateTime| {
        let local = to_local(tz, t);
        format!("{} {}", ctx.lang.day(local.date()), local.format("%H:%M"))
    };
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            p { a href="/admin" { (ctx.t("Tillbaka till administrationen", "Back to administration")) } }
            @if let Some(note) = note { (note) }
            p.muted { (ctx.t(
                "Ett system som läser Närvaro (skoladministrativt system, statistiklager) får ett klient-id och en hemlighet. Med dem hämtar det en token från /oauth/token (OAuth 2.0 client credentials) som gäller i tio minuter och bara för de skolor och det innehåll som klienten fått. Varje anrop loggas.",
                "A system that reads Närvaro (a school administration system, a statistics warehouse) gets a client id and a secret. With them it gets a token from /oauth/token (OAuth 2.0 client credentials) that lasts ten minutes and covers only the schools and content the client was given. Every call is logged.")) }
            section.card {
                h2 { (ctx.t("Registrera en klient", "Register a client")) }
                form method="post" action="/admin/api-clients" {
                    (ctx.csrf_field())
                    label for="c-name" { (ctx.t("Namn", "Name")) }
                    input #c-name name="name" required maxlength="100" autocomplete="off";
                    fieldset {
                        legend { (ctx.t("Skolor den får läsa", "Schools it may read")) }
                        @for (id, name) in &view.schools {
                            label { input type="checkbox" name="school_id" value=(id); " " (name) }
                        }
                    }
                    fieldset {
                        legend { (ctx.t("Vad den får läsa", "What it may read")) }
                        @for (scope, sv, en) in clients::SCOPES {
                            label { input type="checkbox" name="scope" value=(scope); " " code { (scope) } ": " (ctx.t(sv, en)) }
                        }
                    }
                    p { button type="submit" { (ctx.t("Registrera", "Register")) } }
                }
            }
            section.card {
                h2 { (ctx.t("Klienter", "Clients")) }
                @if view.clients.is_empty() {
                    p { (ctx.t("Inga klienter ännu.", "No clients yet.")) }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { (ctx.t("Namn", "Name")) }
                            th scope="col" { (ctx.t("Klient-id", "Client id")) }
                            th scope="col" { (ctx.t("Skolor", "Schools")) }
                            th scope="col" { (ctx.t("Behörighet", "Scopes")) }
                            th scope="col" { (ctx.t("Senast använd", "Last used")) }
                            th scope="col" { (ctx.t("Status", "Status")) }
                        } }
                        tbody {
                            @for c in &view.clients {
                                tr {
                                    td { (c.name) }
                                    td { code { (c.client_id) } }
                                    td { (c.schools.join(", ")) }
                                    td { (c.scopes.join(" ")) }
                                    td { (c.last_used_at.map(when).unwrap_or_else(|| ctx.t("aldrig", "never").to_string())) }
                                    td {
                                        @if let Some(r) = c.revoked_at {
                                            (ctx.t("Återkallad ", "Revoked ")) (when(r))
                                        } @else {
                                            form method="post" action={ "/admin/api-clients/" (c.id) "/revoke" } {
                                                (ctx.csrf_field())
                                                button type="submit" aria-label={ (ctx.t("Återkalla ", "Revoke ")) (c.name) } { (ctx.t("Återkalla", "Revoke")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// GET /admin/api-clients
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let ctx = PageCtx::new(&req);
    let view = view(&state, &v).await?;
    let note = (q.done.as_deref() == Some("revoked")).then(|| {
        html! { p.notice role="status" { (ctx.t("Klienten är återkallad; dess token slutar gälla nu.", "The client is revoked; its tokens stop working now.")) } }
    });
    Ok(html_with_status(
        StatusCode::OK,
        page(&ctx, state.config.timezone, &view, note),
    ))
}

/// The one time the secret is shown.
fn registered(ctx: &PageCtx, r: &Registered) -> Markup {
    html! {
        div.notice role="status" {
            p { strong { (ctx.t("Klienten är registrerad. Spara hemligheten nu: den visas inte igen.", "The client is registered. Save the secret now: it is not shown again.")) } }
            dl {
                dt { (ctx.t("Klient-id", "Client id")) } dd { code { (r.client_id) } }
                dt { (ctx.t("Hemlighet", "Secret")) } dd { code { (r.secret) } }
            }
        }
    }
}

/// POST /admin/api-clients
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let ctx = PageCtx::new(&req);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let mut new = NewClient::default();
    let mut unreadable = false;
    for (k, val) in &pairs {
        match k.as_str() {
            "name" => new.name = val.clone(),
            "scope" => new.scopes.push(val.clone()),
            "school_id" => match val.parse() {
                Ok(school) => new.schools.push(school),
                Err(_) => unreadable = true,
            },
            _ => {}
        }
    }
    let (now, by) = (state.now(), v.id);
    let municipalities = v.roles.admin_of.clone();
    let outcome = if unreadable {
        // a school that is no id is no school of the municipality
        Err(AppError::refused(
            crate::error::Code::BadForm,
            crate::school::Refusal::new("client_schools_one_municipality"),
        ))
    } else {
        state
            .db_write(move |conn| clients::register(conn, &municipalities, Some(by), &new, now))
            .await
    };
    let view = view(&state, &v).await?;
    let tz = state.config.timezone;
    match outcome {
        Ok(r) => Ok(html_with_status(
            StatusCode::OK,
            page(&ctx, tz, &view, Some(registered(&ctx, &r))),
        )),
        Err(AppError::Invalid { message, .. }) => {
            let note = html! { p.errors role="alert" { (super::words::said(ctx.lang, &message)) } };
            Ok(html_with_status(
                StatusCode::BAD_REQUEST,
                page(&ctx, tz, &view, Some(note)),
            ))
        }
        Err(e) => Err(e),
    }
}

/// POST /admin/api-clients/{id}/revoke
pub async fn revoke(
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<crate::school::ids::ApiClientId>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let (now, id, by) = (state.now(), id.into_inner(), v.id);
    let municipalities = v.roles.admin_of.clone();
    state
        .db_write(move |conn| clients::revoke(conn, &municipalities, id, Some(by), now))
        .await?;
    Ok(see_other("/admin/api-clients?done=revoked"))
}
