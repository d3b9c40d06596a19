//! The words for what the audit log records (its action codes), in Swedish and English.

use crate::i18n::Lang;

/// What was done, in words.
pub(super) fn action(lang: Lang, code: &str) -> String {
    let (sv, en) = match code {
        "lesson.reported" => ("Lektionen rapporterad", "Lesson reported"),
        "lesson.resubmitted" => ("Lektionen ändrad", "Lesson changed"),
        "attendance.changed" => ("Markering ändrad", "Mark changed"),
        "leave.applied" => ("Ledighet sökt", "Leave applied for"),
        "leave.recommended" => ("Mentorns rekommendation", "Mentor's recommendation"),
        "leave.decided" => ("Beslut om ledighet", "Leave decided"),
        "leave.confirmed" => (
            "Ledighet godkänd av den andra vårdnadshavaren",
            "Leave agreed to by the other guardian",
        ),
        "leave.declined" => (
            "Ledighet inte godkänd av den andra vårdnadshavaren",
            "Leave not agreed to by the other guardian",
        ),
        "leave.confirmed_by_phone" => (
            "Vårdnadshavares godkännande per telefon registrerat",
            "A guardian's agreement by telephone recorded",
        ),
        "leave.declined_by_phone" => (
            "Vårdnadshavares nej per telefon registrerat",
            "A guardian's refusal by telephone recorded",
        ),
        "leave.withdrawn" => (
            "Ansökan om ledighet återtagen",
            "Leave application withdrawn",
        ),
        "leave.delegated" => ("Beslut om ledighet delegerade", "Leave decisions delegated"),
        "leave.delegation_ended" => ("Delegationen återkallad", "Delegation ended"),
        "guardianship.created" => ("Vårdnadshavare kopplad", "Guardian connected"),
        "lesson.substitute" => ("Vikarie tillsatt", "Substitute assigned"),
        "lesson.substitute_removed" => ("Vikarie borttagen", "Substitute removed"),
        "lesson.cancelled" => ("Lektionen inställd", "Lesson cancelled"),
        "lesson.restored" => ("Lektionen blir av igen", "Lesson takes place again"),
        "school.settings" => ("Skolans inställningar ändrade", "School settings changed"),
        "school.holiday_added" => ("Ledig dag inlagd", "Day off added"),
        "school.holiday_removed" => ("Ledig dag borttagen", "Day off removed"),
        "reason.added" => ("Frånvaroorsak tillagd", "Absence reason added"),
        "reason.retired" => ("Frånvaroorsak tagen ur bruk", "Absence reason retired"),
        "reason.reactivated" => ("Frånvaroorsak i bruk igen", "Absence reason in use again"),
        "reason.schools_may_add" => (
            "Skolornas egna orsaker tillåtna eller stoppade",
            "Schools' own reasons allowed or stopped",
        ),
        "staff.absent" => ("Lärare frånvarande", "Teacher away"),
        "staff.absence_ended" => (
            "Lärarens frånvaro borttagen",
            "Teacher's absence taken back",
        ),
        "trip.created" => ("Utflykt inlagd", "Trip added"),
        "trip.cancelled" => ("Utflykt borttagen", "Trip cancelled"),
        "trip.stays" => (
            "Vilka elever följer med på utflykten ändrat",
            "Who goes on a trip changed",
        ),
        "absence_report.created" => ("Frånvaro anmäld", "Absence reported"),
        "absence_report.cancelled" => ("Frånvaroanmälan ångrad", "Absence report undone"),
        "notice.confirmed" => ("Frånvaromeddelande bekräftat", "Absence notice confirmed"),
        "sign_in.ok" => ("Inloggning", "Signed in"),
        "sign_in.failed" => ("Misslyckad inloggning", "Failed sign-in"),
        "sign_in.password_ok" => (
            "Rätt lösenord, väntar på tvåstegskoden",
            "Right password, waiting for the two-step code",
        ),
        "second_factor.enrolled" => (
            "Tvåstegsverifiering påslagen",
            "Two-step verification turned on",
        ),
        "second_factor.removed" => (
            "Tvåstegsverifiering avstängd",
            "Two-step verification turned off",
        ),
        "second_factor.reset" => (
            "Tvåstegsverifiering nollställd av administratör",
            "Two-step verification reset by an administrator",
        ),
        "sign_in.throttled" => ("Inloggning spärrad en stund", "Sign-in held back a while"),
        "sign_in.oidc_refused" => (
            "Inloggning via kommunens tjänst nekad",
            "Sign-in through the municipality's service refused",
        ),
        "sign_in_link.requested" => ("Länk begärd", "Link requested"),
        "link.created" => ("Länk skickad", "Link sent"),
        "sign_out" => ("Utloggning", "Signed out"),
        "password.set" => ("Lösenord satt", "Password set"),
        "staff.invited" => ("Personal inbjuden", "Staff invited"),
        "duty.assigned" => ("Uppdrag tilldelat", "Duty assigned"),
        "settings.changed" => ("Inställningar ändrade", "Settings changed"),
        "register.extract" => ("Registerutdrag taget", "Register extract taken"),
        "retention.applied" => ("Gallring utförd", "Retention applied"),
        "statistics.read" => ("Statistik läst", "Statistics read"),
        "term.closed" => ("Termin stängd", "Term closed"),
        "term.reopened" => ("Termin öppnad igen", "Term reopened"),
        "term_report.exported" => ("Terminsrapport exporterad", "Term report exported"),
        "leave_rules.set" => ("Regler för ledighet ändrade", "Rules for leave changed"),
        "leave_blocked.added" => ("Spärrad period tillagd", "Blocked period added"),
        "leave_blocked.removed" => ("Spärrad period borttagen", "Blocked period removed"),
        "api_client.registered" => ("API-klient registrerad", "API client registered"),
        "api_client.revoked" => ("API-klient återkallad", "API client revoked"),
        "api_client.token" => ("API-klient fick en token", "API client got a token"),
        "api_client.auth_failed" => (
            "API-klient nekad (fel uppgifter)",
            "API client refused (wrong credentials)",
        ),
        "api_client.call" => ("API-anrop", "API call"),
        _ => match follow_up_action(code) {
            Some(words) => words,
            None => {
                return match lang {
                    Lang::En => format!("Other event ({code})"),
                    _ => format!("Annan händelse ({code})"),
                }
            }
        },
    };
    lang.pick(sv, en).to_string()
}

/// The words of what was done with signals, investigations and reports to the huvudman.
fn follow_up_action(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "signal_rule.added" => (
            "Regel för frånvarosignaler inlagd",
            "Absence signal rule added",
        ),
        "signal_rule.started" => (
            "Regel för frånvarosignaler startad",
            "Absence signal rule started",
        ),
        "signal_rule.stopped" => (
            "Regel för frånvarosignaler stoppad",
            "Absence signal rule stopped",
        ),
        "signal.seen" => ("Frånvarosignal sedd", "Absence signal seen"),
        "followup_round.added" => (
            "Uppföljningsomgång för anmälningar inlagd",
            "Follow-up round of reports added",
        ),
        "report.updated" => (
            "Rektor uppdaterade anmälan till huvudmannen",
            "The principal updated the report to the huvudman",
        ),
        "signal.dismissed" => ("Frånvarosignal avfärdad", "Absence signal dismissed"),
        "signal.case" => (
            "Frånvarosignal blev en utredning",
            "Absence signal turned into an investigation",
        ),
        "case.opened" => ("Frånvaroutredning öppnad", "Absence investigation opened"),
        "home_report.sent" => (
            "Anmälan till hemkommunen skickad",
            "Report to the home municipality sent",
        ),
        "case.deadline_days" => (
            "Tid för frånvaroutredningar ändrad",
            "Time for absence investigations changed",
        ),
        "case.decided" => (
            "Beslut i frånvaroutredning",
            "Absence investigation decided",
        ),
        "case.participant" => (
            "Deltagare i frånvaroutredning tillagd",
            "Participant added to an absence investigation",
        ),
        "case.step" => (
            "Åtgärd i frånvaroutredning",
            "Step in an absence investigation",
        ),
        "case.health_note" => (
            "Hälsoanteckning i frånvaroutredning",
            "Health note in an absence investigation",
        ),
        "case.concluded" => (
            "Slutsats i frånvaroutredning",
            "Absence investigation concluded",
        ),
        "case.closed" => ("Frånvaroutredning avslutad", "Absence investigation closed"),
        "report.made" => (
            "Anmälan till huvudmannen gjord",
            "Report to the huvudman made",
        ),
        "report.status" => (
            "Anmälan till huvudmannen behandlad",
            "Report to the huvudman handled",
        ),
        _ => return None,
    })
}
