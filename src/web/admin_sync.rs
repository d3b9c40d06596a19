//! The sync from the school administration system, for administrators (`/admin/sync`):
//! where Närvaro reads from and how often, every recent run (when, full or changes, how it
//! ended, what it read and did, what failed or was left out), and a button that starts a
//! run now. Everyone else gets 404 here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::auth::{access, Viewer};
use crate::error::AppResult;
use crate::interop::sync::Run;
use crate::school::calendar::to_local;
use crate::school::states::SyncStatus;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// Runs shown.
const SHOWN: i64 = 50;

/// A line of a run's message as the reader reads it: a connection that could not be made
/// says so in their language, naming the address; the rest is the source's own words.
fn shown_line(ctx: &PageCtx, line: &str) -> String {
    match line.strip_prefix(crate::interop::sync::CANNOT_CONNECT) {
        Some(rest) => {
            let address = rest.split(' ').next().unwrap_or(rest);
            format!(
                "{} {address}. ({})",
                ctx.t(
                    "Kunde inte ansluta till skoladministrativa systemet på",
                    "Could not connect to the school administration system at"
                ),
                rest
            )
        }
        None => line.to_string(),
    }
}

fn page(ctx: &PageCtx, state: &AppState, runs: &[Run], note: Option<Markup>) -> Markup {
    let title = ctx.t("Synkronisering", "Sync");
    let tz = state.config.timezone;
    let when = |t: chrono::NaiveDateTime| {
        let local = to_local(tz, t);
        format!(
            "{} {}",
            ctx.lang.day(local.date()),
            local.format("%H:%M:%S")
        )
    };
    let source = state.config.ss12000_source.as_ref();
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            p { a href="/admin" { (ctx.t("Tillbaka till administrationen", "Back to administration")) } }
            @if let Some(note) = note { (note) }
            section.card {
                h2 { (ctx.t("Källa", "Source")) }
                @match source {
                    None => p { (ctx.t(
                        "Ingen källa är inställd. Ange det skoladministrativa systemets SS 12000-adress i NARVARO_SS12000_URL, med NARVARO_SS12000_CLIENT_ID, _CLIENT_SECRET och _TOKEN_URL eller ett klientcertifikat (se README).",
                        "No source is set. Give the school administration system's SS 12000 address in NARVARO_SS12000_URL, with NARVARO_SS12000_CLIENT_ID, _CLIENT_SECRET and _TOKEN_URL or a client certificate (see the README).")) },
                    Some(s) => dl {
                        dt { (ctx.t("SS 12000-adress", "SS 12000 address")) } dd { code { (s.url) } }
                        dt { (ctx.t("Inloggning", "Credentials")) }
                        dd {
                            @if s.oauth.is_some() { (ctx.t("OAuth 2.0 client credentials", "OAuth 2.0 client credentials")) }
                            @if s.oauth.is_some() && s.client_cert.is_some() { ", " }
                            @if s.client_cert.is_some() { (ctx.t("klientcertifikat (ömsesidig TLS)", "client certificate (mutual TLS)")) }
                        }
                        dt { (ctx.t("Schema", "Schedule")) }
                        dd {
                            @match s.interval_minutes {
                                Some(m) => (ctx.t(&format!("var {m}:e minut"), &format!("every {m} minutes"))),
                                None => (ctx.t("bara när någon startar en körning (narvaro sync eller knappen nedan)", "only when someone starts a run (narvaro sync or the button below)")),
                            }
                        }
                    },
                }
                @if source.is_some() {
                    form method="post" action="/admin/sync" {
                        (ctx.csrf_field())
                        p { button type="submit" { (ctx.t("Synkronisera nu", "Sync now")) } }
                    }
                }
                p.muted { (ctx.t(
                    "Första körningen läser allt; därefter läses bara det som ändrats sedan den senaste lyckade körningen, och det som källan säger är borttaget avslutas. En körning som misslyckas ändrar ingenting.",
                    "The first run reads everything; after that only what changed since the last successful run is read, and what the source says was removed is ended. A run that fails changes nothing.")) }
            }
            section.card {
                h2 { (ctx.t("Körningar", "Runs")) }
                @if runs.is_empty() {
                    p { (ctx.t("Inga körningar än.", "No runs yet.")) }
                } @else {
                    div.table-wrap {
                        table {
                            thead { tr {
                                th scope="col" { (ctx.t("Start", "Started")) }
                                th scope="col" { (ctx.t("Slut", "Finished")) }
                                th scope="col" { (ctx.t("Sort", "Kind")) }
                                th scope="col" { (ctx.t("Utfall", "Outcome")) }
                                th scope="col" { (ctx.t("Lästa", "Read")) }
                                th scope="col" { (ctx.t("Tillagda", "Added")) }
                                th scope="col" { (ctx.t("Ändrade", "Updated")) }
                                th scope="col" { (ctx.t("Avslutade", "Ended")) }
                                th scope="col" { (ctx.t("Meddelande", "Message")) }
                            } }
                            tbody {
                                @for r in runs {
                                    tr {
                                        td { (when(r.started_at)) }
                                        td { @if let Some(f) = r.finished_at { (when(f)) } }
                                        td { @if r.mode == "full" { (ctx.t("allt", "full")) } @else { (ctx.t("ändringar", "changes")) } }
                                        td {
                                            @match r.status {
                                                SyncStatus::Ok => (ctx.t("klar", "done")),
                                                SyncStatus::Running => (ctx.t("pågår", "running")),
                                                SyncStatus::Failed => strong { (ctx.t("misslyckades", "failed")) },
                                            }
                                        }
                                        td.num { (r.records) }
                                        td.num { (r.inserted) }
                                        td.num { (r.updated) }
                                        td.num { (r.ended) }
                                        td { @if let Some(m) = &r.message { @for line in m.lines().take(20) { (shown_line(ctx, line)) br; } } }
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

/// GET /admin/sync
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let ctx = PageCtx::new(&req);
    let runs = state.db(|c| crate::interop::sync::recent(c, SHOWN)).await?;
    let note = match q.done.as_deref() {
        Some("started") => Some(
            html! { p.notice role="status" { (ctx.t("En körning har startat. Ladda om sidan för att se hur den går.", "A run has started. Reload the page to see how it goes.")) } },
        ),
        _ => None,
    };
    Ok(html_with_status(
        StatusCode::OK,
        page(&ctx, &state, &runs, note),
    ))
}

/// POST /admin/sync: starts a run beside the server (a run another instance holds makes
/// this one stop at once, recorded nowhere: the page shows the running one).
pub async fn start(state: web::Data<AppState>, v: Viewer) -> AppResult<HttpResponse> {
    access::require_admin(&v)?;
    let Some(source) = state.config.ss12000_source.clone() else {
        return Ok(see_other("/admin/sync"));
    };
    let (db, tz, clock, civic) = (
        state.database.clone(),
        state.config.timezone,
        state.config.clock,
        state.civic_key(),
    );
    actix_web::rt::spawn(async move {
        if let Err(e) =
            crate::interop::sync::run(&db, &source, false, tz, clock, &civic, &|_, _| {}).await
        {
            tracing::warn!("sync failed: {e}");
        }
    });
    Ok(see_other("/admin/sync?done=started"))
}
