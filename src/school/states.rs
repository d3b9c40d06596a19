//! States stored as text that several capabilities read: kept apart so that reading one
//! does not tie a module to the capability that writes it.

crate::text_enum!(
    /// Where an application for leave stands (`leave_applications.status`). An application
    /// under the both-guardians rule first awaits the other guardians (`awaiting_guardian`),
    /// and one who declines ends it (`declined`, without a decision).
    LeaveStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
        AwaitingGuardian => "awaiting_guardian",
        Declined => "declined",
    }
);

crate::text_enum!(
    /// Where a notice in the outbox stands (`outbox.status`).
    OutboxStatus {
        Pending => "pending",
        Sent => "sent",
        Failed => "failed",
        Cancelled => "cancelled",
        Unreachable => "unreachable",
    }
);

crate::text_enum!(
    /// A mark in a roll call (`attendance_marks.status`); a pupil without one was present.
    MarkStatus {
        Present => "present",
        Absent => "absent",
        Late => "late",
        LeftEarly => "left_early",
        PartlyAbsent => "partly_absent",
    }
);

impl MarkStatus {
    /// Whether the mark is for some minutes of the lesson rather than all of it.
    pub fn takes_minutes(self) -> bool {
        matches!(
            self,
            MarkStatus::Late | MarkStatus::LeftEarly | MarkStatus::PartlyAbsent
        )
    }
}

crate::text_enum!(
    /// A duty's role, as stored in `duties.role`. `health` is a member of the student
    /// health team (elevhälsan) at a school; `case_officer` the huvudman's officer who
    /// receives the reports of absence investigations (a municipality's duty, like an
    /// administrator's).
    Role {
        Teacher => "teacher",
        Mentor => "mentor",
        Principal => "principal",
        Admin => "admin",
        SchoolAdmin => "school_admin",
        Health => "health",
        CaseOfficer => "case_officer",
    }
);

crate::text_enum!(
    /// Where a sync run stands (`sync_runs.status`).
    SyncStatus {
        Running => "running",
        Ok => "ok",
        Failed => "failed",
    }
);

crate::text_enum!(
    /// Where a signal stands (`signals.status`): raised, seen by someone who follows the
    /// pupil up, turned into an investigation, or ended: dismissed with a reason or its
    /// case closed (either lets the rule raise it again later).
    SignalStatus {
        New => "new",
        Seen => "seen",
        Case => "case",
        Dismissed => "dismissed",
        Closed => "closed",
    }
);

crate::text_enum!(
    /// Where an absence investigation stands (`absence_cases.status`). Nothing of a case
    /// is deleted by a person: it is closed.
    CaseStatus {
        Open => "open",
        Closed => "closed",
    }
);

crate::text_enum!(
    /// The principal's decision on a case (`absence_cases.decision`): investigate, or no
    /// investigation is needed (with the reason the law asks for).
    CaseDecision {
        Investigate => "investigate",
        NotNeeded => "not_needed",
    }
);

crate::text_enum!(
    /// How a case ended (`absence_cases.outcome`).
    CaseOutcome {
        Improved => "improved",
        Support => "support",
        Moved => "moved",
        Other => "other",
    }
);

crate::text_enum!(
    /// A step of an investigation (`case_steps.kind`).
    StepKind {
        Meeting => "meeting",
        Talk => "talk",
        Letter => "letter",
        Other => "other",
    }
);

crate::text_enum!(
    /// Who takes part in an investigation (`case_participants.part`).
    CasePart {
        Pupil => "pupil",
        Guardian => "guardian",
        Mentor => "mentor",
        Health => "health",
        Principal => "principal",
    }
);

crate::text_enum!(
    /// How a report to the home municipality was sent (`home_reports.method`).
    SendMethod {
        Post => "post",
        EService => "e_service",
        Hand => "hand",
    }
);

crate::text_enum!(
    /// Where a report to the huvudman stands (`huvudman_reports.status`).
    ReportStatus {
        Open => "open",
        MoreInfo => "more_info",
        FollowedUp => "followed_up",
        Closed => "closed",
    }
);

crate::text_enum!(
    /// What a signal rule looks at (`signal_rules.kind`): absence's share of the
    /// scheduled minutes over the last days or over the term, whole school days absent in
    /// a row within the last days, separate occasions of absence (scattered absence), or
    /// absence on the same weekday again and again (a pattern); and, read from single
    /// lessons, absence in the same subject or the same lesson slot again and again, or
    /// single lessons missed on days the pupil was at school.
    RuleKind {
        Share => "share",
        DaysInRow => "days_in_row",
        TermShare => "term_share",
        Occasions => "occasions",
        Weekday => "weekday",
        Subject => "subject",
        Slot => "slot",
        SingleLessons => "single_lessons",
    }
);

impl RuleKind {
    /// A rule of a share (a per cent), not of a count (`days`).
    pub fn is_share(self) -> bool {
        matches!(self, RuleKind::Share | RuleKind::TermShare)
    }

    /// A rule that reads single lessons, not the day's sums.
    pub fn is_lesson(self) -> bool {
        matches!(
            self,
            RuleKind::Subject | RuleKind::Slot | RuleKind::SingleLessons
        )
    }
}

crate::text_enum!(
    /// Which absence a signal rule counts (`signal_rules.counts`).
    Counting {
        All => "all",
        Valid => "valid",
        Invalid => "invalid",
    }
);
