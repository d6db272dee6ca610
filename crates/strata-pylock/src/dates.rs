//! Dates as `--exclude-newer` and the index's upload times give them.

use crate::error::LockError;

/// `2024-05-01` or an RFC 3339 time, as RFC 3339.
pub fn normalize_date(text: &str) -> Result<String, LockError> {
    let candidate = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    humantime::parse_rfc3339_weak(candidate.trim_end_matches('Z'))
        .map(|time| humantime::format_rfc3339_seconds(time).to_string())
        .map_err(|_| LockError::InvalidDate {
            date: text.to_string(),
        })
}
