//! The audit log: who did what to which record, from where, and when. Written in the same
//! transaction as the change it describes.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;

use crate::db::DbConn;
use crate::schema::audit_log;

pub struct Entry<'a> {
    pub actor: Option<i64>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<i64>,
    pub detail: Value,
    pub client_addr: Option<&'a str>,
}

pub fn record(conn: &mut DbConn, e: Entry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(Utc::now().naive_utc()),
            audit_log::actor_id.eq(e.actor),
            audit_log::action.eq(e.action),
            audit_log::entity.eq(e.entity),
            audit_log::entity_id.eq(e.entity_id),
            audit_log::detail.eq(e.detail.to_string()),
            audit_log::client_addr.eq(e.client_addr),
        ))
        .execute(conn)?;
    Ok(())
}
