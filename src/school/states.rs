//! States stored as text that several capabilities read: kept apart so that reading one
//! does not tie a module to the capability that writes it.

crate::text_enum!(
    /// Where an application for leave stands (`leave_applications.status`).
    LeaveStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
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
