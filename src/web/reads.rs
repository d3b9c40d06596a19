//! Recording a read of a pupil's records in the access log (`crate::access_log`), from the
//! handlers that show them: who (the signed-in person, or the API client), the route
//! pattern, and from where. Recorded once the records were read and the reader may see them.

use actix_web::HttpRequest;

use super::common::client_addr;
use crate::access_log::{self, Read, ReadKind};
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::school::ids::PersonId;
use crate::state::AppState;

/// Who is reading, taken from the request before the viewer moves into a query.
pub(super) struct Reader {
    person: Option<PersonId>,
    client: Option<crate::school::ids::ApiClientId>,
    route: String,
    addr: String,
}

impl Reader {
    pub(super) fn of(req: &HttpRequest, v: &Viewer) -> Reader {
        Reader {
            person: v.client.is_none().then_some(v.id),
            client: v.client,
            route: req.match_pattern().unwrap_or_default(),
            addr: client_addr(req),
        }
    }

    /// Records that this reader read `pupil`'s records.
    pub(super) async fn read(
        self,
        state: &AppState,
        pupil: impl Into<PersonId>,
        kind: ReadKind,
    ) -> AppResult<()> {
        let (pupil, at) = (pupil.into(), state.now());
        state
            .db_write(move |conn| {
                Ok(access_log::record(
                    conn,
                    Read {
                        at,
                        reader: self.person,
                        client: self.client,
                        pupil,
                        kind,
                        route: &self.route,
                        client_addr: &self.addr,
                    },
                )?)
            })
            .await
    }
}
