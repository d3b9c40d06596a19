//! The roll call without a network, on the server's side: the box on the teacher's pages
//! that lists roll calls saved on the device and not yet sent (filled in by
//! `static/offline.js`), and the service worker's files. What the device keeps, and for how
//! long, is in the README ("The roll call without a network").

use maud::{html, Markup};

use super::layout::PageCtx;

pub const OFFLINE_PATH: &str = concat!("/static/offline.js?v=", env!("CARGO_PKG_VERSION"));
pub const QUEUE_PATH: &str = concat!("/static/queue.js?v=", env!("CARGO_PKG_VERSION"));

/// The list of roll calls waiting on the device (hidden while there are none), and the
/// scripts that send them. On the start page `keep` names the teacher's pages of the day
/// for the device to keep, and a sent roll call reloads the page so that what it says
/// comes from the server.
pub fn queue_box(
    ctx: &PageCtx,
    person: crate::school::ids::PersonId,
    keep: &[String],
    start_page: bool,
) -> Markup {
    let urls = serde_json::to_string(keep).unwrap_or_else(|_| "[]".into());
    html! {
        section #offline .card hidden data-person=(person) data-urls=(urls) data-reload[start_page] aria-labelledby="offline-h" {
            h2 #offline-h { (ctx.t("Väntar på att skickas", "Waiting to be sent")) }
            ul {}
            p.restored hidden { (ctx.t(
                "Listan nedan visar markeringarna som väntar på telefonen.",
                "The list below shows the marks waiting on the device."
            )) }
            p.muted { (ctx.t(
                "Sparade på telefonen utan nät. De skickas av sig själva när nätet är tillbaka; logga inte ut innan dess.",
                "Saved on the device without a network. They are sent by themselves when the network is back; do not sign out before then."
            )) }
        }
        script src=(QUEUE_PATH) defer {}
        script src=(OFFLINE_PATH) defer {}
    }
}
