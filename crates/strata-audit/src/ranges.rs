//! Whether a version is affected, as the OSV schema evaluates `affected[]`: the versions it
//! lists, and each `ECOSYSTEM` or `SEMVER` range's events in version order (`introduced` opens,
//! `fixed` and past `last_affected` close).

use std::cmp::Ordering;

use crate::osv::{Event, Range};
use crate::version::Scheme;

/// Whether `version` is affected; with the fixed version of the range that affects it.
pub fn affected(
    scheme: Scheme,
    version: &str,
    ranges: &[Range],
    versions: &[String],
) -> Option<Option<String>> {
    if versions
        .iter()
        .any(|listed| listed == version || scheme.compare(listed, version) == Some(Ordering::Equal))
    {
        return Some(fixed_after(scheme, version, ranges));
    }
    for range in ranges {
        if range.kind == "GIT" {
            continue;
        }
        if in_range(scheme, version, &range.events)? {
            return Some(fixed_after(scheme, version, std::slice::from_ref(range)));
        }
    }
    None
}

/// The range's verdict for `version`: `Some(true)` affected. `None` propagates from a version
/// the scheme cannot read (then the range says nothing).
fn in_range(scheme: Scheme, version: &str, events: &[Event]) -> Option<bool> {
    let mut ordered: Vec<&Event> = events.iter().collect();
    let key = |event: &Event| -> Option<String> {
        event
            .introduced
            .clone()
            .or_else(|| event.fixed.clone())
            .or_else(|| event.last_affected.clone())
            .or_else(|| event.limit.clone())
    };
    ordered.sort_by(|a, b| match (key(a).as_deref(), key(b).as_deref()) {
        (Some("0"), Some("0")) => Ordering::Equal,
        (Some("0"), _) => Ordering::Less,
        (_, Some("0")) => Ordering::Greater,
        (Some(x), Some(y)) => scheme.compare(x, y).unwrap_or(Ordering::Equal),
        _ => Ordering::Equal,
    });
    let mut affected = false;
    for event in ordered {
        if let Some(introduced) = &event.introduced {
            if introduced == "0" || scheme.compare(version, introduced)? != Ordering::Less {
                affected = true;
            }
        } else if let Some(fixed) = &event.fixed {
            if scheme.compare(version, fixed)? != Ordering::Less {
                affected = false;
            }
        } else if let Some(last) = &event.last_affected {
            if scheme.compare(version, last)? == Ordering::Greater {
                affected = false;
            }
        }
    }
    Some(affected)
}

/// The lowest `fixed` version above `version` in `ranges`.
fn fixed_after(scheme: Scheme, version: &str, ranges: &[Range]) -> Option<String> {
    ranges
        .iter()
        .flat_map(|range| &range.events)
        .filter_map(|event| event.fixed.as_deref())
        .filter(|fixed| scheme.compare(fixed, version) == Some(Ordering::Greater))
        .min_by(|a, b| scheme.compare(a, b).unwrap_or(Ordering::Equal))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, version: &str) -> Event {
        let mut event = Event {
            introduced: None,
            fixed: None,
            last_affected: None,
            limit: None,
        };
        let value = Some(version.to_string());
        match kind {
            "introduced" => event.introduced = value,
            "fixed" => event.fixed = value,
            _ => event.last_affected = value,
        }
        event
    }

    fn range(events: &[(&str, &str)]) -> Range {
        Range {
            kind: "ECOSYSTEM".to_string(),
            events: events
                .iter()
                .map(|(kind, version)| event(kind, version))
                .collect(),
        }
    }

    #[test]
    fn ranges_open_and_close_as_osv_says() {
        let dpkg = Scheme::of("Debian:12");
        let fixed = [range(&[("introduced", "0"), ("fixed", "2.36-9+deb12u7")])];
        assert_eq!(
            affected(dpkg, "2.36-9+deb12u4", &fixed, &[]),
            Some(Some("2.36-9+deb12u7".to_string()))
        );
        assert_eq!(
            affected(dpkg, "2.36-9+deb12u7", &fixed, &[]),
            None,
            "at its fixed version"
        );
        assert_eq!(affected(dpkg, "2.36-9+deb12u10", &fixed, &[]), None);
        // Two windows in one range.
        let pypi = Scheme::of("PyPI");
        let windows = [range(&[
            ("introduced", "1.0"),
            ("fixed", "1.2.3"),
            ("introduced", "2.0"),
            ("fixed", "2.0.5"),
        ])];
        assert_eq!(affected(pypi, "0.9", &windows, &[]), None);
        assert_eq!(
            affected(pypi, "1.1", &windows, &[]),
            Some(Some("1.2.3".to_string()))
        );
        assert_eq!(affected(pypi, "1.5", &windows, &[]), None);
        assert_eq!(
            affected(pypi, "2.0.1", &windows, &[]),
            Some(Some("2.0.5".to_string()))
        );
        // `last_affected` includes itself; no fix known.
        let last = [range(&[("introduced", "0"), ("last_affected", "3.1")])];
        assert_eq!(affected(pypi, "3.1", &last, &[]), Some(None));
        assert_eq!(affected(pypi, "3.1.1", &last, &[]), None);
        // Listed versions count even outside any range; GIT ranges never.
        assert_eq!(affected(pypi, "0.5", &[], &["0.5".to_string()]), Some(None));
        let git = [Range {
            kind: "GIT".to_string(),
            events: vec![event("introduced", "0")],
        }];
        assert_eq!(affected(pypi, "1.0", &git, &[]), None);
    }
}
