//! The register extract for an administrator (GDPR art. 15): one person's data as a
//! readable page, section by section, and as JSON. Everyone else gets 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde_json::{Map, Value};

use super::common::{client_addr, html_with_status};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::insight::register_extract::{self, SECTIONS};
use crate::school::ids::PersonId;
use crate::state::AppState;

async fn load(
    req: &HttpRequest,
    state: &AppState,
    v: Viewer,
    id: PersonId,
) -> AppResult<Map<String, Value>> {
    let (addr, now) = (client_addr(req), state.now());
    let reader = super::reads::Reader::of(req, &v);
    let data = state
        .db_write(move |conn| register_extract::extract(conn, &v, id, (&addr, now)))
        .await?;
    reader
        .read(state, id, crate::access_log::ReadKind::RegisterExtract)
        .await?;
    Ok(data)
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let data = load(&req, &state, v, id).await?;
    let ctx = PageCtx::new(&req);
    let title = ctx.t("Registerutdrag", "Register extract");
    let body = html! {
        h1 { (title) }
        p { (ctx.t(
            "Allt Närvaro har sparat om personen (dataskyddsförordningen artikel 15). Att ta fram utdraget är loggat.",
            "Everything Närvaro holds about the person (GDPR article 15). Producing the extract is logged."
        )) " " a href={"/admin/people/" (id) "/extract.json"} { (ctx.t("Samma som JSON", "The same as JSON")) } }
        p { a href={"/admin/access-log?pupil=" (id)} { (ctx.t("Vem har läst personens uppgifter", "Who read the person's records")) } }
        form.inline method="post" action={"/admin/people/" (id) "/second-factor/reset"} {
            (ctx.csrf_field())
            button.secondary type="submit" { (ctx.t("Nollställ tvåstegsverifieringen (tappad telefon)", "Reset two-step verification (lost phone)")) }
        }
        @for (key, sv, en) in SECTIONS {
            @let items = data.get(*key).and_then(Value::as_array).cloned().unwrap_or_default();
            h2 { (ctx.t(sv, en)) " (" (items.len()) ")" }
            @if let Some(Value::Object(first)) = items.first() {
                div.scroll tabindex="0" role="region" aria-label=(ctx.t(sv, en)) {
                    table {
                        thead { tr { @for k in first.keys() { th { (k) } } } }
                        tbody { @for item in &items { tr { @for k in first.keys() { td { (cell(&item[k.as_str()])) } } } } }
                    }
                }
            } @else {
                p.muted { (ctx.t("Inget.", "Nothing.")) }
            }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

pub async fn json(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PersonId>,
) -> AppResult<HttpResponse> {
    let data = load(&req, &state, v, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"registerutdrag.json\"",
        ))
        .json(Value::Object(data)))
}
