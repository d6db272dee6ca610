//! `strata test`: the selected builds' tests run against the images this engine already holds
//! (the same runner `strata build` uses before tags move), their summary and `JUnit` report.

use std::path::Path;
use std::sync::Arc;

use strata_engine::Engine;
use strata_plan::Build;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Semaphore;

use crate::events::BuildEvent;
use crate::image_tests::{junit_report, run_image_tests, TestResult, TestTarget};
use crate::BuildError;

/// Run the tests of `builds` on the images `engine` holds, at most `jobs` at a time, each
/// reported on `events` as it ends. A build whose image this engine lacks fails each of its
/// tests with what to do.
pub async fn test_built_images<E: Engine>(
    engine: Arc<E>,
    root: &Path,
    builds: &[&Build],
    jobs: usize,
    cache: Option<&strata_inspect::LayerCache>,
    events: UnboundedSender<BuildEvent>,
) -> Vec<TestResult> {
    let permits = Semaphore::new(jobs.max(1));
    let runs = builds.iter().map(|build| {
        let engine = Arc::clone(&engine);
        let events = events.clone();
        let permits = &permits;
        async move { test_build(&*engine, root, build, permits, cache, &events).await }
    });
    let results: Vec<Vec<TestResult>> = futures_util::future::join_all(runs).await;
    results.into_iter().flatten().collect()
}

/// Test one build's image: the first of its tags this engine has (the build's own, else its
/// moving tag).
async fn test_build<E: Engine>(
    engine: &E,
    root: &Path,
    build: &Build,
    permits: &Semaphore,
    cache: Option<&strata_inspect::LayerCache>,
    events: &UnboundedSender<BuildEvent>,
) -> Vec<TestResult> {
    let mut found = None;
    let mut lookup_error = None;
    for tag in &build.tags {
        match engine.image(tag).await {
            Ok(Some(image)) => {
                found = Some((tag.clone(), image.id));
                break;
            }
            Ok(None) => {}
            Err(error) => {
                lookup_error = Some(error.to_string());
                break;
            }
        }
    }
    let Some((reference, image)) = found else {
        let failure = lookup_error.unwrap_or_else(|| {
            format!(
                "not built: this engine has none of its tags ({}); run `strata build` first",
                build.tags.join(", ")
            )
        });
        return build
            .tests
            .iter()
            .map(|test| {
                let _ = events.send(BuildEvent::Tested {
                    build: build.name.clone(),
                    test: test.name.clone(),
                    passed: false,
                    seconds: 0.0,
                    failure: Some(failure.clone()),
                });
                TestResult::not_run(&build.name, test, Some(failure.clone()))
            })
            .collect();
    };
    let target = TestTarget {
        build: &build.name,
        image: &image,
        reference: &reference,
        cache,
    };
    run_image_tests(engine, root, &target, &build.tests, permits, events).await
}

/// Bumped when a field of `test --json` changes meaning or disappears.
pub const TEST_SCHEMA_VERSION: u32 = 1;

/// Lines of a failed test's output shown on the terminal (all of it is in `--json`).
const FAILED_OUTPUT_LINES: usize = 20;

/// `strata test --json`: every result with its whole output.
pub fn results_json(results: &[TestResult]) -> serde_json::Result<serde_json::Value> {
    Ok(serde_json::json!({
        "schema_version": TEST_SCHEMA_VERSION,
        "results": results.iter().map(|result| {
            let mut value = serde_json::to_value(result)?;
            value["output"] = result.output.clone().into();
            Ok(value)
        }).collect::<serde_json::Result<Vec<_>>>()?,
    }))
}

/// The end of each failed test's output, headed by the image and test.
pub fn failed_outputs(results: &[TestResult]) -> Vec<String> {
    results
        .iter()
        .filter(|result| !result.passed)
        .filter_map(|result| {
            let lines: Vec<&str> = result.output.lines().collect();
            let shown = &lines[lines.len().saturating_sub(FAILED_OUTPUT_LINES)..];
            (!shown.is_empty()).then(|| {
                format!(
                    "--- {}: {} (last {} lines)\n{}",
                    result.build,
                    result.test,
                    shown.len(),
                    shown.join("\n")
                )
            })
        })
        .collect()
}

/// Image, test, kind, result and time of each test.
pub fn results_table(results: &[TestResult]) -> String {
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|result| {
            [
                result.build.clone(),
                result.test.clone(),
                result.kind.to_string(),
                if result.passed { "passed" } else { "FAILED" }.to_string(),
                format!("{:.1}s", result.seconds),
            ]
        })
        .collect();
    strata_diagnostic::table::render(["IMAGE", "TEST", "KIND", "RESULT", "TIME"], &rows)
}

/// `tests: 5 passed, 1 failed (3 images)`.
pub fn tests_summary(results: &[TestResult]) -> String {
    let passed = results.iter().filter(|result| result.passed).count();
    let mut images: Vec<&str> = results.iter().map(|result| result.build.as_str()).collect();
    images.sort_unstable();
    images.dedup();
    let images = match images.len() {
        1 => "1 image".to_string(),
        count => format!("{count} images"),
    };
    format!(
        "tests: {passed} passed, {} failed ({images})",
        results.len() - passed
    )
}

/// Write the results as `JUnit` XML, atomically.
pub fn write_junit(path: &Path, results: &[TestResult]) -> Result<(), BuildError> {
    let xml = junit_report(results).map_err(|source| BuildError::Junit {
        path: path.to_path_buf(),
        message: source.to_string(),
    })?;
    strata_fs::write_atomically(path, xml.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(build: &str, passed: bool) -> TestResult {
        TestResult {
            build: build.to_string(),
            test: "t".to_string(),
            declared_by: build.to_string(),
            kind: "script",
            passed,
            exit_code: Some(i64::from(!passed)),
            seconds: 0.1,
            failure: None,
            output: String::new(),
        }
    }

    #[test]
    fn the_summary_counts_results_and_images() {
        let results = [result("a", true), result("a", false), result("b", true)];
        assert_eq!(
            tests_summary(&results),
            "tests: 2 passed, 1 failed (2 images)"
        );
        assert_eq!(
            tests_summary(&results[..1]),
            "tests: 1 passed, 0 failed (1 image)"
        );
    }

    #[test]
    fn the_junit_report_is_written_whole() {
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join("reports/junit.xml");
        write_junit(&path, &[result("a", true), result("b", false)]).expect("written");
        let xml = std::fs::read_to_string(&path).expect("read");
        assert!(xml.contains("<testsuite name=\"a\""), "{xml}");
        assert!(xml.contains("<failure"), "{xml}");
    }
}
