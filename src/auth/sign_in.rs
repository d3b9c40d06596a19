//! The sign-in services both the HTML pages and the API use: a password attempt (limited
//! and audited), and requests for single-use links (guardian sign-in, password reset).

use std::sync::OnceLock;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::links::{self, Purpose};
use super::{password, second_factor, throttle, totp};
use crate::audit::{self, Entry};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::PersonId;

use crate::db::lower;

/// The right password of an account with a second factor: the sign-in waits for its code.
pub const PASSWORD_OK: &str = "sign_in.password_ok";

pub enum Outcome {
    SignedIn {
        person: PersonId,
        version: i32,
    },
    Refused,
    Throttled {
        wait_secs: u64,
    },
    /// the password was right, but staff sign in through the identity provider here
    /// (NARVARO_STAFF_PASSWORDS=off) and the account is no administrator's
    PasswordsOff,
}

/// Usernames are compared in lower case (phones capitalise the first letter).
pub fn normalise_username(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A hash to verify against when the account does not exist, so that a wrong username
/// takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    // made once; while every hashing slot is busy, wait for one rather than keep a value
    // that would make unknown usernames answer faster
    HASH.get_or_init(|| loop {
        match password::hash("no such account, no such password") {
            Ok(h) => break h,
            Err(password::HashError::Busy) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(password::HashError::Failed(_)) => break String::new(),
        }
    })
}

/// A password attempt in four steps, so that the costly hash is computed without holding
/// a database connection (or, on SQLite, the write turn): [`look_up`] reads the account,
/// [`reserve`] holds the attempt against its limits *before* the hash (atomically, so a
/// burst of parallel attempts cannot walk past a limit), [`Attempt::check`] computes the
/// hash, [`record`] writes the outcome (and gives a successful attempt back).
pub struct Attempt {
    shown_name: String,
    /// id, stored hash, token version, active
    account: Option<(PersonId, Option<String>, i32, bool)>,
    /// the account is an administrator's, which keeps its password whatever the policy
    break_glass: bool,
    /// the limits this attempt counts against
    limits: Vec<throttle::Limit>,
    /// what [`reserve`] took, once it did
    reserved: Option<throttle::Reserved>,
}

/// The result of [`Attempt::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    right: bool,
}

/// Reads the account a password attempt is for and which limits hold it.
/// `trusted_device`: the person whose earlier sign-in on this device the client proved
/// (a signed device cookie). Such an attempt on that account counts on the account's
/// counter for known devices only: neither one address (a school behind one NAT) nor
/// somebody guessing the person's password elsewhere can lock the person out on their own
/// device. Other attempts count per account and per client address.
pub fn look_up(
    conn: &mut DbConn,
    username: &str,
    addr: &str,
    trusted_device: Option<PersonId>,
    today: chrono::NaiveDate,
) -> AppResult<Attempt> {
    let username = normalise_username(username);
    let account: Option<(PersonId, Option<String>, i32, bool)> = people::table
        .filter(people::username.eq(&username))
        .select((
            people::id,
            people::password_hash,
            people::token_version,
            people::active,
        ))
        .first(conn)
        .optional()?;
    let person = account.as_ref().map(|a| a.0);
    let limits = match person {
        Some(id) if trusted_device == Some(id) => vec![throttle::Limit::known_device(id)],
        Some(id) => vec![throttle::Limit::address(addr), throttle::Limit::account(id)],
        None => vec![throttle::Limit::address(addr)],
    };
    // an administrator keeps the password (the break-glass account) whatever the policy
    let break_glass = match person {
        Some(id) => {
            crate::schema::duties::table
                .filter(crate::schema::duties::person_id.eq(id))
                .filter(crate::schema::duties::role.eq(crate::school::states::Role::Admin))
                .filter(crate::school::duty::on(today))
                .count()
                .get_result::<i64>(conn)?
                > 0
        }
        None => false,
    };
    Ok(Attempt {
        shown_name: username.chars().take(64).collect(),
        account,
        break_glass,
        limits,
        reserved: None,
    })
}

/// Holds the attempt against its limits before the hash is computed. When a limit is
/// full, nothing is held, the refusal is audited, and the answer is how long to wait.
/// `now` is the system clock (the limits' windows).
pub fn reserve(
    conn: &mut DbConn,
    attempt: &mut Attempt,
    addr: &str,
    channel: &str,
    now: NaiveDateTime,
) -> AppResult<Option<u64>> {
    let person = attempt.account.as_ref().map(|a| a.0);
    let shown_name = attempt.shown_name.clone();
    let limits = attempt.limits.clone();
    let taken = conn.write_transaction(|conn| -> AppResult<_> {
        let taken = throttle::take(conn, &limits, now)?;
        if let Err(wait_secs) = taken {
            audit::record(
                conn,
                Entry {
                    at: now,
                    actor: None,
                    action: throttle::THROTTLED,
                    entity: "person",
                    entity_id: person.map(Into::into),
                    detail: json!({"username": shown_name, "channel": channel, "wait_secs": wait_secs}),
                    client_addr: Some(addr),
                },
            )?;
        }
        Ok(taken)
    })?;
    match taken {
        Ok(reserved) => {
            attempt.reserved = Some(reserved);
            Ok(None)
        }
        Err(wait_secs) => Ok(Some(wait_secs)),
    }
}

impl Attempt {
    /// Computes the hash (the same work whether or not the account exists). Busy when too
    /// many hashes are under way. An attempt that was not reserved is never checked.
    pub fn check(&self, given_password: &str) -> Result<Checked, password::Busy> {
        if self.reserved.is_none() {
            return Ok(Checked { right: false });
        }
        let right = match &self.account {
            Some((_, Some(hash), _, true)) => password::verify(given_password, hash)?,
            _ => {
                password::verify(given_password, dummy_hash())?;
                false
            }
        };
        Ok(Checked { right })
    }
}

/// Takes back a reserved attempt that was never checked (every hashing slot was busy).
pub fn withdraw(conn: &mut DbConn, attempt: &Attempt) -> diesel::QueryResult<()> {
    match &attempt.reserved {
        Some(reserved) => throttle::give_back(conn, reserved),
        None => Ok(()),
    }
}

/// Writes a reserved attempt's outcome to the audit log and answers it. A success no
/// longer counts against the limits, and clears the account's failures so far.
pub fn record(
    conn: &mut DbConn,
    attempt: &Attempt,
    checked: Checked,
    addr: &str,
    (channel, passwords_allowed): (&str, bool),
) -> AppResult<Outcome> {
    let person = attempt.account.as_ref().map(|a| a.0);
    let shown_name = &attempt.shown_name;
    let (outcome, reason) = match &attempt.account {
        _ if attempt.reserved.is_none() => (Outcome::Refused, "not_reserved"),
        Some((_, Some(_), _, true))
            if checked.right && !passwords_allowed && !attempt.break_glass =>
        {
            (Outcome::PasswordsOff, "passwords_off")
        }
        Some((id, Some(_), version, true)) if checked.right => (
            Outcome::SignedIn {
                person: *id,
                version: *version,
            },
            "ok",
        ),
        Some((_, Some(_), _, true)) => (Outcome::Refused, "wrong_password"),
        Some((_, None, _, _)) => (Outcome::Refused, "no_password"),
        Some((_, _, _, false)) => (Outcome::Refused, "inactive"),
        None => (Outcome::Refused, "unknown_user"),
    };
    conn.transaction(|conn| {
        // the right password (also where passwords are off) is no failure
        if checked.right {
            if let Some(reserved) = &attempt.reserved {
                throttle::give_back(conn, reserved)?;
            }
        }
        // with a second factor the sign-in is not done until its code: the failures so
        // far stand, so that knowing the password does not reset the count of wrong codes
        let second_step = match outcome {
            Outcome::SignedIn { person, .. } => {
                second_factor::enrolment(conn, person)? == second_factor::Enrolment::Confirmed
            }
            _ => false,
        };
        if let Outcome::SignedIn { person, .. } = outcome {
            if !second_step {
                throttle::clear_account(conn, person)?;
            }
        }
        let action = match outcome {
            Outcome::SignedIn { .. } if second_step => PASSWORD_OK,
            Outcome::SignedIn { .. } => throttle::SUCCEEDED,
            _ => throttle::FAILED,
        };
        audit::record(
            conn,
            Entry {
                at: crate::school::clock::system_now(),
                actor: match outcome {
                    Outcome::SignedIn { person, .. } => Some(person),
                    _ => None,
                },
                action,
                entity: "person",
                entity_id: person.map(Into::into),
                detail: json!({"username": shown_name, "channel": channel, "outcome": reason}),
                client_addr: Some(addr),
            },
        )
    })?;
    Ok(outcome)
}

/// The answer to a second-factor code at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Passed(second_factor::Checked),
    Refused(second_factor::Checked),
    Throttled { wait_secs: u64 },
}

/// A second-factor code at sign-in, held against the same limits as a password (reserved
/// before it is checked, in one write transaction with the check): a wrong or reused code
/// counts like a wrong password. A right one clears the account's failures and is the
/// sign-in's success in the audit log. `now` is the system clock (the code's time step
/// and the limits' windows).
pub fn second_step(
    conn: &mut DbConn,
    person: PersonId,
    typed: &str,
    (limits, addr, channel): (&[throttle::Limit], &str, &str),
    now: NaiveDateTime,
) -> AppResult<StepOutcome> {
    use second_factor::Checked;
    let now_step = totp::step_at(now.and_utc().timestamp());
    conn.write_transaction(|conn| {
        let reserved = match throttle::take(conn, limits, now)? {
            Ok(reserved) => reserved,
            Err(wait_secs) => {
                audit::record(
                    conn,
                    Entry {
                        at: now,
                        actor: None,
                        action: throttle::THROTTLED,
                        entity: "person",
                        entity_id: Some(person.into()),
                        detail: json!({"channel": channel, "second_factor": true, "wait_secs": wait_secs}),
                        client_addr: Some(addr),
                    },
                )?;
                return Ok(StepOutcome::Throttled { wait_secs });
            }
        };
        let checked = second_factor::verify(conn, person, typed, (now_step, now))?;
        let passed = matches!(checked, Checked::Code | Checked::Recovery);
        if passed {
            throttle::give_back(conn, &reserved)?;
            throttle::clear_account(conn, person)?;
        }
        audit::record(
            conn,
            Entry {
                at: now,
                actor: passed.then_some(person),
                action: if passed { throttle::SUCCEEDED } else { throttle::FAILED },
                entity: "person",
                entity_id: Some(person.into()),
                detail: json!({"channel": channel, "second_factor": match checked {
                    Checked::Code => "code",
                    Checked::Recovery => "recovery_code",
                    Checked::Reused => "reused_code",
                    Checked::Wrong => "wrong_code",
                }}),
                client_addr: Some(addr),
            },
        )?;
        Ok(if passed {
            StepOutcome::Passed(checked)
        } else {
            StepOutcome::Refused(checked)
        })
    })
}

/// A successful sign-in through a single-use link.
pub fn record_link_sign_in(
    conn: &mut DbConn,
    person: PersonId,
    purpose: Purpose,
    addr: &str,
) -> AppResult<()> {
    audit::record(
        conn,
        Entry {
            at: crate::school::clock::system_now(),
            actor: Some(person),
            action: throttle::SUCCEEDED,
            entity: "person",
            entity_id: Some(person.into()),
            detail: json!({"channel": "link", "purpose": purpose.as_str()}),
            client_addr: Some(addr),
        },
    )?;
    Ok(())
}

/// A link to e-mail: to whom, in which language, and the secret.
pub struct LinkToSend {
    pub email: String,
    pub language: String,
    pub given_name: String,
    pub token: String,
}

/// id, e-mail, language, given name, username, school (a pupil's)
type LinkCandidate = (
    PersonId,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
);

/// For a queued link request: the links to e-mail, made now. Unknown addresses get
/// nothing; a person already sent `LINKS_PER_PERSON` links within the window gets no more.
pub fn links_for_request(
    conn: &mut DbConn,
    email: &str,
    purpose: Purpose,
    now: NaiveDateTime,
) -> AppResult<Vec<LinkToSend>> {
    let mut candidates: Vec<LinkCandidate> = if let Some(email) = crate::mail::Email::parse(email) {
        let email = email.to_string();
        let mut found: Vec<LinkCandidate> = people::table
            .filter(lower(people::email).eq(&email))
            .filter(people::active.eq(true))
            .select((
                people::id,
                people::email.assume_not_null(),
                people::language,
                people::given_name,
                people::username,
                people::school_id,
            ))
            .load(conn)?;
        // any address the school's register lists for the person signs them in too; the
        // link goes to the address asked for
        let listed: Vec<LinkCandidate> = people::table
            .inner_join(person_emails::table)
            .filter(lower(person_emails::address.nullable()).eq(&email))
            .filter(people::active.eq(true))
            .select((
                people::id,
                person_emails::address,
                people::language,
                people::given_name,
                people::username,
                people::school_id,
            ))
            .load(conn)?;
        for c in listed {
            if !found.iter().any(|f| f.0 == c.0) {
                found.push(c);
            }
        }
        found
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    let since = now - Duration::minutes(throttle::WINDOW_MINUTES);
    for (id, address, language, given_name, username, school) in candidates.drain(..) {
        let eligible = match purpose {
            Purpose::Reset => username.is_some(),
            Purpose::SignIn => {
                school.is_some()
                    || guardianships::table
                        .filter(guardianships::guardian_id.eq(id))
                        .count()
                        .get_result::<i64>(conn)?
                        > 0
            }
            Purpose::Invite => false,
        };
        // the person's row is held while their links are counted and made, so that two
        // workers handling two requests for one person cannot both pass the limit
        conn.lock_person(id)?;
        if !eligible || links::recent(conn, id, purpose, since)? >= throttle::LINKS_PER_PERSON {
            continue;
        }
        out.push(new_link(
            conn, id, address, language, given_name, purpose, now,
        )?);
    }
    Ok(out)
}

/// A new single-use link for a person, audited.
pub fn new_link(
    conn: &mut DbConn,
    person: PersonId,
    email: String,
    language: String,
    given_name: String,
    purpose: Purpose,
    now: NaiveDateTime,
) -> AppResult<LinkToSend> {
    let token = links::create(conn, person, purpose, now)?;
    audit::record(
        conn,
        Entry {
            at: now,
            actor: None,
            action: "link.created",
            entity: "person",
            entity_id: Some(person.into()),
            detail: json!({"purpose": purpose.as_str()}),
            client_addr: None,
        },
    )?;
    Ok(LinkToSend {
        email,
        language,
        given_name,
        token,
    })
}

/// Sets a new password, given as its hash (computed before, outside the transaction):
/// every earlier session and unused link of the person ends.
pub fn set_password(
    conn: &mut DbConn,
    person: PersonId,
    hash: &str,
    actor: PersonId,
    addr: &str,
    how: &str,
    now: NaiveDateTime,
) -> AppResult<i32> {
    let version: i32 = diesel::update(people::table.find(person))
        .set((
            people::password_hash.eq(hash),
            people::token_version.eq(people::token_version + 1),
        ))
        .returning(people::token_version)
        .get_result(conn)?;
    links::revoke_all(conn, person, now)?;
    audit::record(
        conn,
        Entry {
            at: now,
            actor: Some(actor),
            action: "password.set",
            entity: "person",
            entity_id: Some(person.into()),
            detail: json!({"how": how}),
            client_addr: Some(addr),
        },
    )?;
    Ok(version)
}

/// Ends every session of the person (sign-out everywhere).
pub fn sign_out(conn: &mut DbConn, person: PersonId, addr: &str) -> AppResult<()> {
    diesel::update(people::table.find(person))
        .set(people::token_version.eq(people::token_version + 1))
        .execute(conn)?;
    audit::record(
        conn,
        Entry {
            at: crate::school::clock::system_now(),
            actor: Some(person),
            action: "sign_out",
            entity: "person",
            entity_id: Some(person.into()),
            detail: json!({}),
            client_addr: Some(addr),
        },
    )?;
    Ok(())
}

/// What makes a password acceptable; the message says what to change.
pub fn check_new_password(
    password: &str,
    confirm: &str,
    username: Option<&str>,
) -> Result<(), (&'static str, &'static str)> {
    let n = password.chars().count();
    if n < 10 {
        return Err((
            "Lösenordet måste ha minst 10 tecken.",
            "The password must have at least 10 characters.",
        ));
    }
    if n > 200 {
        return Err((
            "Lösenordet får ha högst 200 tecken.",
            "The password may have at most 200 characters.",
        ));
    }
    if password != confirm {
        return Err((
            "De två lösenorden är inte lika.",
            "The two passwords do not match.",
        ));
    }
    if username.is_some_and(|u| password.to_lowercase().contains(&u.to_lowercase())) {
        return Err((
            "Lösenordet får inte innehålla användarnamnet.",
            "The password must not contain the username.",
        ));
    }
    Ok(())
}

/// The given name of the person a live sign-in link is for (the link is not used up).
pub fn link_holder(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> AppResult<Option<String>> {
    match links::peek(conn, token, Purpose::SignIn, now)? {
        Some(id) => Ok(Some(
            people::table
                .find(id)
                .select(people::given_name)
                .first::<String>(conn)?,
        )),
        None => Ok(None),
    }
}

/// Uses a sign-in link up: the person and their token version, when the link was live and
/// the person still active; recorded as a sign-in.
pub fn use_link(
    conn: &mut DbConn,
    token: &str,
    addr: &str,
    now: NaiveDateTime,
) -> AppResult<Option<(PersonId, i32)>> {
    conn.transaction(|conn| {
        let Some(id) = links::consume(conn, token, Purpose::SignIn, now)? else {
            return Ok(None);
        };
        let (version, active): (i32, bool) = people::table
            .find(id)
            .select((people::token_version, people::active))
            .first(conn)?;
        if !active {
            return Ok(None);
        }
        record_link_sign_in(conn, id, Purpose::SignIn, addr)?;
        Ok(Some((id, version)))
    })
}

/// The person and purpose of a live invitation or reset link.
pub fn password_link(
    conn: &mut DbConn,
    token: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<Option<(PersonId, Purpose, String)>> {
    for purpose in [Purpose::Invite, Purpose::Reset] {
        if let Some(id) = links::peek(conn, token, purpose, now)? {
            let username: Option<String> = people::table
                .find(id)
                .select(people::username)
                .first(conn)?;
            return Ok(username.map(|u| (id, purpose, u)));
        }
    }
    Ok(None)
}

/// Sets a new password through an invitation or reset link, using the link up; the person
/// and their new token version, or `None` when the link is dead.
pub fn set_password_by_link(
    conn: &mut DbConn,
    token: &str,
    hash: &str,
    addr: &str,
    now: NaiveDateTime,
) -> AppResult<Option<(PersonId, i32)>> {
    conn.transaction(|conn| {
        for purpose in [Purpose::Invite, Purpose::Reset] {
            if let Some(id) = links::consume(conn, token, purpose, now)? {
                let version = set_password(conn, id, hash, id, addr, purpose.as_str(), now)?;
                record_link_sign_in(conn, id, purpose, addr)?;
                return Ok(Some((id, version)));
            }
        }
        Ok(None)
    })
}

/// A signed-in person changes their own password (the current one checked): the new token
/// version, so every other session ends.
pub fn change_password(
    conn: &mut DbConn,
    id: PersonId,
    hash: &str,
    addr: &str,
    now: NaiveDateTime,
) -> AppResult<i32> {
    conn.transaction(|conn| set_password(conn, id, hash, id, addr, "changed", now))
}
