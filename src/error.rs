//! The one error type, as plain data: what went wrong (a stable code, an HTTP status), what
//! a person is told (in Swedish or English), and for a fault the cause, kept for the log.
//! `web::errors` renders it for its reader: `application/problem+json` under `/api/`, a
//! page elsewhere. Codes are stable and documented in api-spec/.

use std::fmt;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Declares the error codes: one variant each, with the stable string the API answers with.
macro_rules! codes {
    ($($variant:ident = $s:literal,)*) => {
        /// Every machine-readable error code Närvaro answers with (`code` in a problem
        /// body). The strings are stable: clients match on them. Each is documented in
        /// api-spec/openapi.yaml (`Problem.code`), and `tests/it/openapi.rs` checks that
        /// the two lists are the same and that every code is used somewhere.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $s,)*
                }
            }
        }
    };
}

codes! {
    AlreadyCancelled = "already_cancelled",
    AlreadyDecided = "already_decided",
    AnswerTooLarge = "answer_too_large",
    BadAnswer = "bad_answer",
    BadBy = "bad_by",
    BadCsv = "bad_csv",
    BadDate = "bad_date",
    BadDatetime = "bad_datetime",
    BadEmail = "bad_email",
    BadForm = "bad_form",
    BadId = "bad_id",
    BadLimit = "bad_limit",
    BadMinutes = "bad_minutes",
    BadMonth = "bad_month",
    BadPageToken = "bad_page_token",
    BadParameter = "bad_parameter",
    BadPeriod = "bad_period",
    BadRequest = "bad_request",
    BadSchool = "bad_school",
    BadScope = "bad_scope",
    BadTerm = "bad_term",
    BadThreshold = "bad_threshold",
    BadWeek = "bad_week",
    BlockedPeriodReasonRequired = "blocked_period_reason_required",
    Busy = "busy",
    CommentTooLong = "comment_too_long",
    ControlCharacter = "control_character",
    CorrectionReasonRequired = "correction_reason_required",
    CorrectionReasonTooLong = "correction_reason_too_long",
    DuplicatePupil = "duplicate_pupil",
    Forbidden = "forbidden",
    HomeReportByHand = "home_report_by_hand",
    IdRequired = "id_required",
    Internal = "internal",
    LeaveAlreadyAnswered = "leave_already_answered",
    LeaveAwaitingGuardian = "leave_awaiting_guardian",
    LeaveNoticeTooShort = "leave_notice_too_short",
    LeaveNotAwaiting = "leave_not_awaiting",
    LeaveTooLong = "leave_too_long",
    LessonCancelled = "lesson_cancelled",
    LessonInFuture = "lesson_in_future",
    MessageTooLong = "message_too_long",
    MethodNotAllowed = "method_not_allowed",
    MinutesRequired = "minutes_required",
    MissingCredentials = "missing_credentials",
    MissingParameter = "missing_parameter",
    NotFound = "not_found",
    OrganisationOrStudentRequired = "organisation_or_student_required",
    OverlappingLeave = "overlapping_leave",
    OverlappingReport = "overlapping_report",
    PageTokenWithFilters = "page_token_with_filters",
    PayloadTooLarge = "payload_too_large",
    PeriodEndsBeforeStart = "period_ends_before_start",
    PeriodInThePast = "period_in_the_past",
    PeriodIncomplete = "period_incomplete",
    PeriodReversed = "period_reversed",
    PeriodTooFarAhead = "period_too_far_ahead",
    PeriodTooLong = "period_too_long",
    PeriodTooOld = "period_too_old",
    PeriodWithoutSchoolDays = "period_without_school_days",
    PupilNotInLesson = "pupil_not_in_lesson",
    QualityProblems = "quality_problems",
    ReasonRequired = "reason_required",
    RepeatedParameter = "repeated_parameter",
    ReportStarted = "report_started",
    ScopeTooWide = "scope_too_wide",
    StaleRollCall = "stale_roll_call",
    TermClosed = "term_closed",
    TermNotClosed = "term_not_closed",
    TermNotEnded = "term_not_ended",
    TermNotStarted = "term_not_started",
    TooManyMarks = "too_many_marks",
    TooManyRequests = "too_many_requests",
    Unauthorized = "unauthorized",
    Unavailable = "unavailable",
    UnknownKind = "unknown_kind",
    UnknownLanguage = "unknown_language",
    UnknownParameter = "unknown_parameter",
    UnknownReason = "unknown_reason",
    UnknownStatus = "unknown_status",
    UnsupportedMediaType = "unsupported_media_type",
    UnsupportedParameter = "unsupported_parameter",
    UsernameTaken = "username_taken",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug)]
pub enum AppError {
    /// Missing, or outside the caller's scope (never 403 for that: ids cannot be probed).
    NotFound,
    /// The request was understood but a value is wrong; `message` says which and why.
    Invalid {
        code: Code,
        message: Said,
    },
    Unauthorized(Said),
    Forbidden(Said),
    Conflict {
        code: Code,
        message: Said,
    },
    PayloadTooLarge,
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// The database or another dependency did not answer in time.
    Unavailable(String),
    /// Too much of one costly kind of work at once (password hashing): come back shortly.
    Busy {
        retry_after_secs: u64,
    },
    /// The answer would be larger than the server gives at once (SS 12000's lookups
    /// answer 503 then); `message` says how to ask for less.
    TooLarge(String),
    /// A bug or an unexpected failure; logged with what was being done and the error that
    /// stopped it, never shown.
    Internal(Failure),
}

/// What went wrong inside: what we were doing, and the error that stopped it, kept whole so
/// the log shows its chain (`std::error::Error::source`).
#[derive(Debug)]
pub struct Failure {
    pub context: String,
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {s}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// A refusal: `code` names the message (`templates/messages/<lang>.txt`), `args` the values
/// it shows (`{name}` in the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Refusal {
    pub const fn new(code: &'static str) -> Refusal {
        Refusal {
            code,
            args: Vec::new(),
        }
    }

    /// The refusal with the value `name` shows.
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Refusal {
        self.args.push((name, value.to_string()));
        self
    }
}

/// The code, for logs and tests (the words are the edge's).
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// What a refused request is told: the domain's refusal, a code worded at the edge in the
/// reader's language (`web::words`), or words the edge already chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    Refusal(Refusal),
    Words(String),
}

impl Said {
    /// The words the edge chose, or the refusal's code (for the log: the edge words it).
    pub fn as_logged(&self) -> String {
        match self {
            Said::Refusal(r) => r.code.to_string(),
            Said::Words(w) => w.clone(),
        }
    }
}

impl From<Refusal> for Said {
    fn from(r: Refusal) -> Said {
        Said::Refusal(r)
    }
}

impl From<String> for Said {
    fn from(w: String) -> Said {
        Said::Words(w)
    }
}

impl From<&str> for Said {
    fn from(w: &str) -> Said {
        Said::Words(w.to_string())
    }
}

impl AppError {
    pub fn invalid(code: Code, message: impl Into<Said>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// An unexpected failure described in words only (no error value to keep).
    pub fn internal(detail: impl fmt::Display) -> Self {
        AppError::Internal(Failure {
            context: detail.to_string(),
            source: None,
        })
    }

    /// An unexpected failure, keeping the error that caused it.
    pub fn caused(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::failed(std::any::type_name_of_val(&source), source)
    }

    /// An unexpected failure while doing `context`, keeping the error that caused it.
    pub fn failed(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        AppError::Internal(Failure {
            context: context.into(),
            source: Some(Box::new(source)),
        })
    }

    /// A refusal with a code: the request was understood, a value is wrong (400).
    pub fn refused(code: Code, why: Refusal) -> Self {
        AppError::Invalid {
            code,
            message: Said::Refusal(why),
        }
    }

    /// A refusal because of the state things are in (409).
    pub fn conflict(code: Code, message: impl Into<Said>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// What a refused request (400, 403 or 409) is told, to be worded at the edge.
    pub fn said(&self) -> Option<&Said> {
        match self {
            AppError::Invalid { message, .. }
            | AppError::Conflict { message, .. }
            | AppError::Forbidden(message)
            | AppError::Unauthorized(message) => Some(message),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Busy { .. } | AppError::TooLarge(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable, machine-readable code.
    pub fn code(&self) -> Code {
        match self {
            AppError::NotFound => Code::NotFound,
            AppError::Invalid { code, .. } | AppError::Conflict { code, .. } => *code,
            AppError::Unauthorized(_) => Code::Unauthorized,
            AppError::Forbidden(_) => Code::Forbidden,
            AppError::PayloadTooLarge => Code::PayloadTooLarge,
            AppError::TooManyRequests { .. } => Code::TooManyRequests,
            AppError::Unavailable(_) => Code::Unavailable,
            AppError::TooLarge(_) => Code::AnswerTooLarge,
            AppError::Busy { .. } => Code::Busy,
            AppError::Internal(_) => Code::Internal,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Internal(d) => write!(f, "{}: {d}", self.code()),
            AppError::Unavailable(d) => write!(f, "{}: {d}", self.code()),
            AppError::TooLarge(m) => write!(f, "{}: {m}", self.code()),
            AppError::TooManyRequests { retry_after_secs }
            | AppError::Busy { retry_after_secs } => {
                write!(f, "{}: retry after {retry_after_secs} s", self.code())
            }
            other => match other.said() {
                Some(said) => write!(f, "{}: {}", other.code(), said.as_logged()),
                None => write!(f, "{}", other.code()),
            },
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Internal(Failure {
                source: Some(s), ..
            }) => Some(s.as_ref()),
            _ => None,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    /// Fallback rendering, without words (they are the edge's): `web::errors::render_errors`
    /// replaces it with the reader's language and format.
    fn error_response(&self) -> HttpResponse {
        let detail = self.said().map(Said::as_logged).unwrap_or_default();
        problem_response(
            self.status(),
            self.code().as_str(),
            self.status().canonical_reason().unwrap_or_default(),
            &detail,
            self,
        )
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            // the database went away (a restart): the pool reconnects, come back shortly
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => AppError::Unavailable(format!("database connection lost: {}", info.message())),
            other => AppError::failed("database", other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(format!("database pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::failed("blocking pool", e)
    }
}

/// RFC 9457 problem details, with our stable `code`.
#[derive(Serialize)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub title: &'a str,
    pub status: u16,
    pub detail: &'a str,
    pub code: &'a str,
}

pub fn problem_response(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: &str,
    err: &AppError,
) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.content_type("application/problem+json");
    if let AppError::TooManyRequests { retry_after_secs } | AppError::Busy { retry_after_secs } =
        err
    {
        res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
    }
    res.json(Problem {
        type_: "about:blank",
        title,
        status: status.as_u16(),
        detail,
        code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_are_stable() {
        assert_eq!(AppError::NotFound.status(), 404);
        assert_eq!(
            AppError::invalid(Code::BadDate, "x").code().as_str(),
            "bad_date"
        );
        assert_eq!(AppError::invalid(Code::BadDate, "x").status(), 400);
        assert_eq!(
            AppError::TooManyRequests {
                retry_after_secs: 1
            }
            .status(),
            429
        );
        assert_eq!(
            AppError::from(diesel::result::Error::NotFound).status(),
            404
        );
    }

    #[test]
    fn an_internal_failure_keeps_the_error_that_caused_it() {
        use std::error::Error as _;
        let e = AppError::from(diesel::result::Error::RollbackTransaction);
        let source = e.source().map(|s| s.to_string());
        assert_eq!(
            source,
            Some(diesel::result::Error::RollbackTransaction.to_string())
        );
        assert!(e.to_string().starts_with("internal: database: "));
        assert!(AppError::NotFound.source().is_none());
    }
}
