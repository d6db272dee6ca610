//! Image versions as SciServer writes them (`2.4`, `10.0`): compared segment by segment as
//! numbers, so `10.0` is higher than `9.0` (the reference image-builder compares strings).

use std::cmp::Ordering;

/// Compare two dotted numeric versions. Missing or empty segments count as zero, so `2` equals
/// `2.0`; a segment too large for `u64` compares by length then text.
pub fn compare_versions(left: &str, right: &str) -> Ordering {
    let mut left_segments = left.split('.');
    let mut right_segments = right.split('.');
    loop {
        match (left_segments.next(), right_segments.next()) {
            (None, None) => return Ordering::Equal,
            (left_segment, right_segment) => {
                let ordering =
                    compare_segment(left_segment.unwrap_or("0"), right_segment.unwrap_or("0"));
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
        }
    }
}

fn compare_segment(left: &str, right: &str) -> Ordering {
    let left = left.trim_start_matches('0');
    let right = right.trim_start_matches('0');
    left.len().cmp(&right.len()).then_with(|| left.cmp(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_not_lexical() {
        assert_eq!(compare_versions("10.0", "9.0"), Ordering::Greater);
        assert_eq!(compare_versions("2.10", "2.9"), Ordering::Greater);
        assert_eq!(compare_versions("2", "2.0"), Ordering::Equal);
        assert_eq!(compare_versions("2.4", "2.4.1"), Ordering::Less);
        assert_eq!(compare_versions("1.01", "1.1"), Ordering::Equal);
        assert_eq!(compare_versions("", "0"), Ordering::Equal);
    }
}
