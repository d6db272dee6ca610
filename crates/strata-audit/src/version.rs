//! Versions compared as each ecosystem orders them: dpkg's order for Debian and Ubuntu
//! (epochs, `~`, revisions), PEP 440 for PyPI, and numbers by value for the rest (CRAN,
//! `SemVer`'s release part).

use std::cmp::Ordering;
use std::str::FromStr;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Dpkg,
    Pep440,
    Generic,
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`, `PyPI`, `CRAN`).
    pub fn of(ecosystem: &str) -> Self {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        match base {
            "Debian" | "Ubuntu" => Self::Dpkg,
            "PyPI" => Self::Pep440,
            _ => Self::Generic,
        }
    }

    /// `a` against `b`; `None` when either is not a version of this scheme.
    pub fn compare(self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Self::Dpkg => {
                let a = debversion::Version::from_str(a).ok()?;
                let b = debversion::Version::from_str(b).ok()?;
                Some(a.cmp(&b))
            }
            Self::Pep440 => {
                let a = pep440_rs::Version::from_str(a).ok()?;
                let b = pep440_rs::Version::from_str(b).ok()?;
                Some(a.cmp(&b))
            }
            Self::Generic => Some(generic(a, b)),
        }
    }
}

/// Runs of digits by value, other runs by text, separators ignored; a version with more parts
/// is the later one.
fn generic(a: &str, b: &str) -> Ordering {
    let parts = |text: &str| -> Vec<String> {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut digits = false;
        for character in text.chars() {
            if character.is_ascii_alphanumeric() {
                if !current.is_empty() && character.is_ascii_digit() != digits {
                    parts.push(std::mem::take(&mut current));
                }
                digits = character.is_ascii_digit();
                current.push(character);
            } else if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            parts.push(current);
        }
        parts
    };
    let (left, right) = (parts(a), parts(b));
    for (x, y) in left.iter().zip(&right) {
        let order = match (x.parse::<u128>(), y.parse::<u128>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_ecosystem_orders_as_its_tools_do() {
        let dpkg = Scheme::of("Debian:12");
        assert_eq!(dpkg.compare("1.0~rc1", "1.0"), Some(Ordering::Less));
        assert_eq!(dpkg.compare("1:0.1", "2.0"), Some(Ordering::Greater));
        assert_eq!(
            dpkg.compare("2.36-9+deb12u4", "2.36-9+deb12u10"),
            Some(Ordering::Less)
        );
        let pep440 = Scheme::of("PyPI");
        assert_eq!(pep440.compare("2.0.0rc1", "2.0.0"), Some(Ordering::Less));
        assert_eq!(pep440.compare("1.0.post1", "1.0"), Some(Ordering::Greater));
        assert_eq!(pep440.compare("1.0", "1.0.0"), Some(Ordering::Equal));
        assert_eq!(pep440.compare("not a version", "1.0"), None);
        let cran = Scheme::of("CRAN");
        assert_eq!(cran.compare("1.10-2", "1.9-3"), Some(Ordering::Greater));
        assert_eq!(cran.compare("4.3.3", "4.3.3"), Some(Ordering::Equal));
    }

    /// A reference file of `test/audit/pep440`: its lines, comments left out.
    fn reference_lines(name: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../test/audit/pep440")
            .join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn pep440_order_agrees_with_packagings_reference_cases() {
        let pep440 = Scheme::Pep440;
        let versions = reference_lines("order.txt");
        assert!(versions.len() > 80, "the whole reference list is read");
        // Each version is below every later one, and equal to itself: the list is sorted.
        for (index, lower) in versions.iter().enumerate() {
            assert_eq!(
                pep440.compare(lower, lower),
                Some(Ordering::Equal),
                "{lower}"
            );
            for higher in &versions[index + 1..] {
                assert_eq!(
                    pep440.compare(lower, higher),
                    Some(Ordering::Less),
                    "{lower} < {higher}"
                );
            }
        }
        for pair in reference_lines("equal.txt") {
            let (spelled, normal) = pair.split_once(' ').expect("two versions a line");
            assert_eq!(
                pep440.compare(spelled, normal),
                Some(Ordering::Equal),
                "{spelled} is {normal}"
            );
        }
        for invalid in reference_lines("invalid.txt") {
            assert_eq!(
                pep440.compare(&invalid, "1.0"),
                None,
                "{invalid:?} is no version"
            );
        }
    }

    /// `dpkg --compare-versions A lt B`, the reference: Debian's own tool.
    fn dpkg_less(a: &str, b: &str) -> bool {
        std::process::Command::new("dpkg")
            .args(["--compare-versions", a, "lt", b])
            .status()
            .expect("dpkg runs (a Debian machine)")
            .success()
    }

    fn debian_version() -> impl Strategy<Value = String> {
        (
            prop::option::of(0u8..3),
            "[0-9]{1,2}(\\.[0-9a-z]{1,3}){0,2}(~[a-z0-9]{1,3})?(\\+[a-z0-9]{1,3})?",
            prop::option::of("[0-9]{1,2}(\\+deb[0-9]{1,2}u[0-9])?(~[a-z0-9]{1,2})?"),
        )
            .prop_map(|(epoch, upstream, revision)| {
                let mut version = epoch.map(|epoch| format!("{epoch}:")).unwrap_or_default();
                version.push_str(&upstream);
                if let Some(revision) = revision {
                    version.push('-');
                    version.push_str(&revision);
                }
                version
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn dpkg_order_agrees_with_dpkg(a in debian_version(), b in debian_version()) {
            let ours = Scheme::Dpkg.compare(&a, &b).expect("generated versions parse");
            prop_assert_eq!(ours == Ordering::Less, dpkg_less(&a, &b), "{} vs {}", a, b);
        }
    }
}
