//! A pupil's page: who they are, their school and groups, for those who may see them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use maud::html;
use serde::Serialize;

use super::layout::{self, PageCtx};
use super::pages::html_with_status;
use crate::auth::viewer::today;
use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::schema::*;
use crate::startup::AppState;

#[derive(Debug, Serialize)]
pub struct GroupSummary {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub group_type: String,
}

#[derive(Debug, Serialize)]
pub struct PupilSummary {
    pub id: i64,
    pub name: String,
    pub school_id: i64,
    pub school_name: String,
    /// True when the name is withheld (a protected identity seen by someone without a duty for the pupil).
    pub name_withheld: bool,
    pub groups: Vec<GroupSummary>,
}

/// The pupil as the viewer may see them; NotFound outside the viewer's scope.
pub fn summary(
    conn: &mut DbConn,
    v: &Viewer,
    pupil_id: i64,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<PupilSummary> {
    let p = access::pupil(conn, v, pupil_id, today)?;
    let school_name: String = organisations::table
        .find(p.school_id)
        .select(organisations::name)
        .first(conn)?;
    let groups = group_memberships::table
        .inner_join(groups::table)
        .filter(group_memberships::pupil_id.eq(p.id))
        .filter(group_memberships::start_date.le(today))
        .filter(
            group_memberships::end_date
                .is_null()
                .or(group_memberships::end_date.ge(today)),
        )
        .select((groups::id, groups::name, groups::group_type))
        .order(groups::name)
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, group_type)| GroupSummary {
            id,
            name,
            group_type,
        })
        .collect();
    Ok(PupilSummary {
        id: p.id,
        name: p.display_name(lang),
        school_id: p.school_id,
        school_name,
        name_withheld: !p.name_visible(),
        groups,
    })
}

pub fn parse_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let id = parse_id(&id)?;
    let today = today(&state);
    let lang = ctx.lang;
    let p = state
        .db(move |conn| summary(conn, &v, id, today, lang))
        .await?;
    let body = html! {
        h1 { (p.name) }
        dl.facts {
            dt { (ctx.t("Skola", "School")) } dd { (p.school_name) }
            dt { (ctx.t("Grupper", "Groups")) }
            dd { (p.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ")) }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, &p.name, body),
    ))
}
