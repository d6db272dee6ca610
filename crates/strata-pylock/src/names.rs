//! The one normalised form of a Python project name strata compares names in.

use std::str::FromStr;

use pep508_rs::PackageName;

/// A project name as PEP 503 normalises it: lower case, each run of `-`, `_` and `.` one `-`.
/// Names PEP 508 accepts go through its `PackageName`; a name it refuses (a dist-info
/// directory's odd spelling, a leading or trailing separator) is normalised by the same rule,
/// separators at its ends dropped, so every part of strata agrees on it.
pub fn normalize_name(name: &str) -> String {
    let name = name.trim();
    if let Ok(package) = PackageName::from_str(name) {
        return package.to_string();
    }
    let mut normalized = String::with_capacity(name.len());
    let mut separator = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !normalized.is_empty() {
                normalized.push('-');
            }
            separator = false;
            normalized.push(character.to_ascii_lowercase());
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::normalize_name;

    #[test]
    fn every_spelling_of_a_name_is_one_name() {
        for spelling in [
            "Jupyter_Server.Terminals",
            "jupyter-server-terminals",
            "JUPYTER__SERVER--terminals",
            " jupyter.server_terminals ",
            "_jupyter-server-terminals.",
        ] {
            assert_eq!(
                normalize_name(spelling),
                "jupyter-server-terminals",
                "{spelling}"
            );
        }
    }

    #[test]
    fn names_pep_508_accepts_match_its_package_name() {
        use std::str::FromStr;
        for name in [
            "NumPy",
            "zope.interface",
            "typing_extensions",
            "a",
            "Django2",
        ] {
            assert_eq!(
                normalize_name(name),
                pep508_rs::PackageName::from_str(name).unwrap().to_string()
            );
        }
    }
}
