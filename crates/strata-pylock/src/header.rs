//! The one header every strata lock carries, whatever the format below it (pip-compile's
//! `--generate-hashes` requirements, conda's `@EXPLICIT` list): `#` comment lines that
//! installers ignore and strata reads back, each `# strata-<field>: <value>`.
//!
//! - `# strata-target: python=3.11 platform=manylinux_2_28_x86_64` (a conda lock's:
//!   `platform=linux-64 glibc=2.28 cuda=12.2`): what the lock was solved for, `name=value` pairs;
//! - `# strata-exclude-newer: 2024-05-01`: no file uploaded after that date was considered;
//! - `# strata-base-image: IMAGE`: the image whose installed packages the lock is solved on top of;
//! - `# strata-base-lock: ../base/environment.lock`: the lock it is solved on top of;
//! - `# strata-no-binary: name,name`: projects built from source.
//!
//! Formats keep their own fields (a conda lock has no Python, a pip lock no glibc); the
//! spelling, the target pairs and how a line is recognised are decided here, once.

use std::fmt::Write as _;

/// `# strata-target:` — what the lock was solved for.
pub const TARGET: &str = "target";
/// `# strata-exclude-newer:` — the upload date limit.
pub const EXCLUDE_NEWER: &str = "exclude-newer";
/// `# strata-base-image:` — the image the lock is solved on top of.
pub const BASE_IMAGE: &str = "base-image";
/// `# strata-base-lock:` — the lock this one is solved on top of.
pub const BASE_LOCK: &str = "base-lock";
/// `# strata-no-binary:` — projects built from source.
pub const NO_BINARY: &str = "no-binary";

/// Append `# strata-<field>: <value>` to `text`.
pub fn write_field(text: &mut String, field: &str, value: &str) {
    let _ = writeln!(text, "# strata-{field}: {value}");
}

/// Append the target line: `# strata-target: name=value …`, pairs without a value left out.
pub fn write_target(text: &mut String, pairs: &[(&str, Option<&str>)]) {
    let value = pairs
        .iter()
        .filter_map(|(name, value)| value.map(|value| format!("{name}={value}")))
        .collect::<Vec<_>>()
        .join(" ");
    write_field(text, TARGET, &value);
}

/// The field and value of a header line's comment text (what follows `#`): `strata-target:
/// python=3.11` gives `("target", "python=3.11")`. Other comments give `None`, among them the
/// `strata-base (…):` line that opens a pip lock's list of the base image's packages.
pub fn field(comment: &str) -> Option<(&str, &str)> {
    let (field, value) = comment.trim().strip_prefix("strata-")?.split_once(':')?;
    let is_field_name = !field.is_empty()
        && field
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte == b'-');
    is_field_name.then(|| (field, value.trim()))
}

/// The `name=value` pairs of a target line's value; words without `=` are skipped.
pub fn target_pairs(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value
        .split_whitespace()
        .filter_map(|word| word.split_once('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_field_reads_back() {
        let mut text = String::new();
        write_field(&mut text, BASE_LOCK, "../base/environment.lock");
        write_target(
            &mut text,
            &[
                ("platform", Some("linux-64")),
                ("glibc", None),
                ("cuda", Some("12.2")),
            ],
        );
        let lines: Vec<_> = text
            .lines()
            .map(|line| field(line.strip_prefix('#').unwrap()).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                ("base-lock", "../base/environment.lock"),
                ("target", "platform=linux-64 cuda=12.2")
            ]
        );
        assert_eq!(
            target_pairs(lines[1].1).collect::<Vec<_>>(),
            [("platform", "linux-64"), ("cuda", "12.2")]
        );
    }

    #[test]
    fn other_comments_are_not_fields() {
        assert_eq!(
            field(" strata-base (installed in the base image, not locked here):"),
            None
        );
        assert_eq!(field(" platform: linux-64"), None);
        assert_eq!(field(" strata lock requirements.txt"), None);
        assert_eq!(field("strata-:x"), None);
        assert_eq!(
            field(" strata-exclude-newer:  2024-05-01 "),
            Some(("exclude-newer", "2024-05-01"))
        );
    }
}
