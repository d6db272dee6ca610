//! OSV records as osv.dev exports them (one JSON document per advisory), the fields an audit
//! reads: <https://ossf.github.io/osv-schema/>.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Set when the advisory was taken back: such a record matches nothing.
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Affected {
    pub package: Option<PackageName>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PackageName {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT` (commits: not matched against package versions).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One event of a range: exactly one field is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// How bad a finding is, as the record rates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// From a record's rating words: GitHub's `database_specific.severity` (`MODERATE`), Debian's
    /// `urgency` (`unimportant`, `low*`), or a plain level.
    pub fn from_word(word: &str) -> Self {
        let word = word.trim().trim_end_matches('*').to_ascii_lowercase();
        match word.as_str() {
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "medium" | "moderate" => Self::Medium,
            "low" | "unimportant" | "negligible" => Self::Low,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl Record {
    /// The record's rating for `affected`: the affected entry's own (Debian's urgency), else the
    /// record's (GitHub's severity word).
    pub fn severity_for(&self, affected: &Affected) -> Severity {
        let word = |value: &Option<serde_json::Value>, key: &str| {
            value
                .as_ref()
                .and_then(|value| value[key].as_str())
                .map(Severity::from_word)
                .filter(|severity| *severity != Severity::Unknown)
        };
        word(&affected.ecosystem_specific, "urgency")
            .or_else(|| word(&affected.ecosystem_specific, "severity"))
            .or_else(|| word(&affected.database_specific, "severity"))
            .or_else(|| word(&self.database_specific, "severity"))
            .unwrap_or(Severity::Unknown)
    }
}
