//! The Python a conda solve chose, and the Python distributions conda installs with it: what a
//! `pip:` section is locked against (held fixed, so pip never replaces a conda package).

use std::collections::BTreeMap;

use rattler_conda_types::PackageRecord;

/// conda-forge packages whose PyPI distribution has another name. The rest share it.
const RENAMED: &[(&str, &str)] = &[
    ("matplotlib-base", "matplotlib"),
    ("pytorch", "torch"),
    ("pytorch-cpu", "torch"),
    ("pytorch-gpu", "torch"),
    ("py-opencv", "opencv-python"),
    ("pyqt", "pyqt5"),
    ("msgpack-python", "msgpack"),
    ("python-kubernetes", "kubernetes"),
];

/// The PyPI name (normalized: lower case, `-`) of a conda package's Python distribution.
pub fn pypi_name(conda_name: &str) -> String {
    let name = RENAMED
        .iter()
        .find(|(conda, _)| *conda == conda_name)
        .map_or(conda_name, |(_, pypi)| *pypi);
    normalize(name)
}

/// PEP 503 normalization: the one strata uses everywhere (strata-pylock's).
pub use strata_pylock::normalize_name as normalize;

/// The Python of a solved environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CondaPython {
    /// `3.11.7`.
    pub version: String,
    /// Normalized PyPI name → version of every package that is a Python distribution (it
    /// depends on `python`, or is `noarch: python`).
    pub distributions: BTreeMap<String, String>,
}

/// Whether a record is a Python distribution.
fn is_python_distribution(record: &PackageRecord) -> bool {
    record.name.as_normalized() != "python"
        && (record.noarch.is_python()
            || record
                .depends
                .iter()
                .any(|spec| spec.split_whitespace().next() == Some("python")))
}

/// The Python of a set of records, if one of them is `python`.
pub fn python_of<'a>(records: impl IntoIterator<Item = &'a PackageRecord>) -> Option<CondaPython> {
    let records: Vec<&PackageRecord> = records.into_iter().collect();
    let python = records
        .iter()
        .find(|record| record.name.as_normalized() == "python")?;
    Some(CondaPython {
        version: python.version.to_string(),
        distributions: records
            .iter()
            .filter(|record| is_python_distribution(record))
            .map(|record| {
                (
                    pypi_name(record.name.as_normalized()),
                    record.version.to_string(),
                )
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conda_names_become_pypi_names() {
        assert_eq!(pypi_name("matplotlib-base"), "matplotlib");
        assert_eq!(pypi_name("typing_extensions"), "typing-extensions");
        assert_eq!(pypi_name("numpy"), "numpy");
        assert_eq!(normalize("Jupyter__Core.x"), "jupyter-core-x");
    }
}
