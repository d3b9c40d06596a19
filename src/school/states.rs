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
