//! Typed ids: a pupil's id is not a lesson's. Each wraps the database's `BIGINT` and reads
//! and writes as one (diesel), as a JSON number (serde) and as a path segment (`FromStr`,
//! and serde for actix's `Path`), where only a positive whole number is an id: anything
//! else in a path is a 404, as a missing record is.

use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::BigInt;
use serde::{Deserialize, Deserializer, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            Serialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = BigInt)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = NotAnId;

            fn from_str(s: &str) -> Result<Self, NotAnId> {
                positive(s.parse::<i64>().map_err(|_| NotAnId)?).map($name)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = i64::deserialize(d)?;
                positive(n)
                    .map($name)
                    .map_err(|_| serde::de::Error::custom("an id is a positive whole number"))
            }
        }

        impl<DB: Backend> ToSql<BigInt, DB> for $name
        where
            i64: ToSql<BigInt, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.0.to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<BigInt, DB> for $name
        where
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i64::from_sql(bytes).map($name)
            }
        }
    };
}

/// A pupil is a person: what is said of people holds for pupils.
impl From<PupilId> for PersonId {
    fn from(id: PupilId) -> PersonId {
        PersonId(id.0)
    }
}

/// A school is an organisation (its municipality is one too).
impl From<SchoolId> for OrganisationId {
    fn from(id: SchoolId) -> OrganisationId {
        OrganisationId(id.0)
    }
}

/// Not a positive whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnId;

impl fmt::Display for NotAnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id is a positive whole number")
    }
}

impl std::error::Error for NotAnId {}

fn positive(n: i64) -> Result<i64, NotAnId> {
    if n > 0 {
        Ok(n)
    } else {
        Err(NotAnId)
    }
}

id!(
    /// A pupil (a person enrolled at a school).
    PupilId
);
id!(
    /// Any person: a pupil, a guardian or a member of staff.
    PersonId
);
id!(
    /// A lesson (an SS 12000 calendar event).
    LessonId
);
id!(
    /// A group: a class, a teaching group or a mentor group.
    GroupId
);
id!(
    /// A school unit.
    SchoolId
);
id!(
    /// A guardian's (or staff member's) absence report.
    ReportId
);
id!(
    /// An application for leave.
    LeaveId
);
id!(
    /// A notice in the outbox.
    NoticeId
);
id!(
    /// An API client (machine credentials).
    ApiClientId
);
id!(
    /// An absence reason of a school's list.
    ReasonId
);
id!(
    /// A trip (a group away from school over a period).
    TripId
);
id!(
    /// A blocked period of the rules for leave (the national tests, say).
    BlockedPeriodId
);
id!(
    /// A principal's delegation of leave decisions.
    DelegationId
);
id!(
    /// An activity: a group taught a subject, whose lessons these are.
    ActivityId
);
id!(
    /// A member of staff's absence (the school office marks it).
    StaffAbsenceId
);
id!(
    /// A school's or municipality's holiday (a day without school).
    HolidayId
);
id!(
    /// A duty: a person's role at a school (or the municipality) from a date.
    DutyId
);
id!(
    /// A rule that raises early signals of absence.
    SignalRuleId
);
id!(
    /// An early signal of a pupil's absence.
    SignalId
);
id!(
    /// An investigation of a pupil's absence (7 kap. 19 a §).
    CaseId
);
id!(
    /// A step of an investigation.
    CaseStepId
);
id!(
    /// A report of a started investigation to the huvudman.
    HuvudmanReportId
);
id!(
    /// A run of the SS 12000 sync.
    SyncRunId
);
id!(
    /// An organisation above the schools: the municipality (huvudman).
    OrganisationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_positive_whole_number_is_an_id() {
        assert_eq!("42".parse::<PupilId>(), Ok(PupilId(42)));
        for bad in ["0", "-3", "4.0", "abc", "", " 7", "99999999999999999999"] {
            assert_eq!(bad.parse::<PupilId>(), Err(NotAnId), "{bad:?}");
        }
        let id: LessonId = serde_json::from_str("17").unwrap();
        assert_eq!(id, LessonId(17));
        assert!(serde_json::from_str::<LessonId>("0").is_err());
        assert_eq!(serde_json::to_string(&LessonId(17)).unwrap(), "17");
        assert_eq!(LessonId(17).to_string(), "17");
    }
}
