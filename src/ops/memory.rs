//! The process's memory as Linux reports it (/proc/self/status), for a long command's
//! report and its debug log: a municipality sizes its server by the peak. None elsewhere.

/// A line of /proc/self/status in KiB (`VmHWM`: the peak resident set, `VmRSS`: now).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The peak resident memory so far, in KiB.
pub fn peak_kib() -> Option<u64> {
    status_kib("VmHWM")
}

/// The resident memory now, in KiB.
pub fn resident_kib() -> Option<u64> {
    status_kib("VmRSS")
}

#[cfg(test)]
mod tests {
    #[test]
    fn linux_reports_a_peak_no_lower_than_now() {
        if let (Some(peak), Some(now)) = (super::peak_kib(), super::resident_kib()) {
            assert!(peak >= now && now > 0, "{peak} {now}");
        }
    }
}
