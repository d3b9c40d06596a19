//! The sign-in page: the identity providers' buttons first (when configured), then the
//! staff password form and the guardians' e-mailed links, as the policy keeps them.

use maud::{html, Markup};

use super::layout::{self, PageCtx};
use crate::state::AppState;

pub(super) fn message(kind: &str, text: &str) -> Markup {
    html! { p class=(kind) role=(if kind == "errors" { "alert" } else { "status" }) { (text) } }
}

/// The ways to sign in this deployment offers (src/config.rs, `SignInPolicy`).
#[derive(Clone, Copy)]
pub(super) struct Ways {
    staff_provider: bool,
    guardian_provider: bool,
    staff_passwords: bool,
    guardian_links: bool,
}

impl Ways {
    pub(super) fn of(state: &AppState) -> Ways {
        Ways {
            staff_provider: state.oidc_staff.is_some(),
            guardian_provider: state.oidc_guardian.is_some(),
            staff_passwords: state.config.sign_in.staff_passwords,
            guardian_links: state.config.sign_in.guardian_links,
        }
    }
}

pub(super) fn login_form(
    ctx: &PageCtx,
    ways: Ways,
    next: &str,
    username: &str,
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Logga in", "Sign in");
    let with_next = |which: &str| {
        let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        format!("/login/oidc/{which}?{q}")
    };
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(note) = note { (note) }
            @if ways.staff_provider || ways.guardian_provider {
                section.card {
                    @if ways.staff_provider {
                        p { a.button href=(with_next("staff")) { (ctx.t("Logga in med kommunens konto", "Sign in with the municipality's account")) } }
                    }
                    @if ways.guardian_provider {
                        p { a.button href=(with_next("guardian")) { (ctx.t("Logga in med BankID", "Sign in with BankID")) } }
                    }
                }
            }
            section.card {
                h2 { (ctx.t("Personal", "Staff")) }
                @if !ways.staff_passwords {
                    p { (ctx.t(
                        "Personal loggar in med kommunens konto. Lösenord gäller bara för kommunens reservkonto för administratörer.",
                        "Staff sign in with the municipality's account. Passwords are kept for the administrators' break-glass account only."
                    )) }
                }
                form method="post" action="/login" {
                    (ctx.csrf_field())
                    input type="hidden" name="next" value=(next);
                    label for="username" { (ctx.t("Användarnamn", "Username")) }
                    input #username name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value=(username);
                    label for="password" { (ctx.t("Lösenord", "Password")) }
                    input #password name="password" type="password" autocomplete="current-password" required;
                    p { button type="submit" { (ctx.t("Logga in", "Sign in")) } }
                }
                @if ways.staff_passwords {
                    p { a href="/password/forgot" { (ctx.t("Glömt lösenordet?", "Forgot your password?")) } }
                }
            }
            @if ways.guardian_links {
                section.card {
                    h2 { (ctx.t("Vårdnadshavare och elever", "Guardians and pupils")) }
                    p { (ctx.t(
                        "Du behöver inget lösenord. Skriv e-postadressen som skolan har, så skickar vi en inloggningslänk som gäller i 15 minuter.",
                        "You need no password. Enter the e-mail address the school has for you and we will send a sign-in link that works for 15 minutes."
                    )) }
                    form method="post" action="/login/link" {
                        (ctx.csrf_field())
                        label for="email" { (ctx.t("E-postadress", "E-mail address")) }
                        input #email name="email" type="email" autocomplete="email" required;
                        p { button type="submit" { (ctx.t("Skicka inloggningslänk", "E-mail me a sign-in link")) } }
                    }
                }
            }
        },
    )
}
