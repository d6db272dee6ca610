//! What a run reports: the `--json` event lines (a public, versioned stream) and the tables
//! printed after a run.

use crate::{BuildEvent, BuildResult, IndexPush, Outcome};

/// Bumped when a field of the `--json` event stream changes meaning or disappears.
pub const EVENTS_SCHEMA_VERSION: u32 = 1;

/// One event of `build --json`, a JSON line.
pub fn event_line(event: &BuildEvent) -> String {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    value["schema_version"] = EVENTS_SCHEMA_VERSION.into();
    format!("{value}\n")
}

fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Built => "built",
        Outcome::UpToDate => "up to date",
        Outcome::Failed(_) => "failed",
        Outcome::Skipped(_) => "skipped",
    }
}

/// The last line of `build --json`.
#[derive(serde::Serialize)]
struct FinishedEvent<'a> {
    event: &'static str,
    schema_version: u32,
    results: Vec<ResultReport<'a>>,
    /// Multi-platform indexes written (or not) after every platform of a build was pushed.
    indexes: &'a [IndexPush],
}

/// One build's result in the `finished` event.
#[derive(serde::Serialize)]
struct ResultReport<'a> {
    build: &'a str,
    /// The platform built, for a build asked for one or several.
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<&'a str>,
    /// `built`, `up-to-date`, `failed`, `skipped`.
    result: String,
    error: Option<&'a str>,
    seconds: f64,
    image: Option<&'a str>,
    /// Uncompressed bytes.
    size: u64,
    pushed: Vec<TagDigest<'a>>,
    push_failures: Vec<TagError<'a>>,
    tagger_tags: &'a [String],
    manifest: Option<String>,
    tests: &'a [crate::TestResult],
}

#[derive(serde::Serialize)]
struct TagDigest<'a> {
    tag: &'a str,
    digest: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct TagError<'a> {
    tag: &'a str,
    error: &'a str,
}

/// The last line of `build --json`: every result and index.
pub fn finished_line(results: &[BuildResult], indexes: &[IndexPush]) -> String {
    let event = FinishedEvent {
        event: "finished",
        schema_version: EVENTS_SCHEMA_VERSION,
        indexes,
        results: results
            .iter()
            .map(|result| ResultReport {
                build: &result.name,
                platform: result.platform.as_deref(),
                result: outcome_word(&result.outcome).replace(' ', "-"),
                error: match &result.outcome {
                    Outcome::Failed(failure) => Some(failure.as_str()),
                    Outcome::Skipped(why) => Some(why.as_str()),
                    _ => None,
                },
                seconds: result.seconds,
                image: result.image.as_deref(),
                size: result.size,
                pushed: result
                    .pushed
                    .iter()
                    .map(|(tag, digest)| TagDigest {
                        tag,
                        digest: digest.as_deref(),
                    })
                    .collect(),
                push_failures: result
                    .push_failures
                    .iter()
                    .map(|(tag, error)| TagError { tag, error })
                    .collect(),
                tagger_tags: &result.tagger_tags,
                manifest: result
                    .manifest
                    .as_ref()
                    .map(|path| path.display().to_string()),
                tests: &result.tests,
            })
            .collect(),
    };
    format!("{}\n", serde_json::to_string(&event).unwrap_or_default())
}

/// Build, result, duration, size, and the digest each tag was pushed as (or the image id).
pub fn summary_table(results: &[BuildResult]) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for result in results {
        let size = if result.size > 0 {
            strata_inspect::human_size(result.size)
        } else {
            String::new()
        };
        let duration = if result.seconds > 0.0 {
            format!("{:.1}s", result.seconds)
        } else {
            String::new()
        };
        let mut result_text = outcome_word(&result.outcome).to_string();
        if !result.push_failures.is_empty() {
            result_text.push_str(", push failed");
        }
        let digest = result
            .pushed
            .first()
            .and_then(|(_, digest)| digest.as_ref().map(ToString::to_string))
            .or_else(|| result.image.clone())
            .map(|digest| digest.chars().take(19).collect())
            .unwrap_or_default();
        let name = match &result.platform {
            Some(platform) => format!("{} ({platform})", result.name),
            None => result.name.clone(),
        };
        rows.push([name, result_text, duration, size, digest]);
    }
    strata_diagnostic::table::render(["IMAGE", "RESULT", "TIME", "UNCOMPRESSED", "DIGEST"], &rows)
}

/// Each multi-platform tag and the index it now points at.
pub fn index_table(indexes: &[IndexPush]) -> String {
    let rows: Vec<[String; 3]> = indexes
        .iter()
        .map(|index| {
            [
                index.tag.clone(),
                index.platforms.join(", "),
                match (&index.digest, &index.error) {
                    (Some(digest), _) => digest.chars().take(19).collect(),
                    (None, Some(error)) => format!("failed: {error}"),
                    (None, None) => String::new(),
                },
            ]
        })
        .collect();
    strata_diagnostic::table::render(["INDEX", "PLATFORMS", "DIGEST"], &rows)
}
