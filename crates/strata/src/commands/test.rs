//! `strata test`: run the selected images' tests against the images built on this engine.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use strata_build::{run_image_tests, BuildEvent, TestResult, TestTarget};
use strata_engine::{DockerEngine, Engine};
use strata_plan::Build;

use crate::commands::plan::make_plan;
use crate::exit_status::ExitStatus;
use crate::output::{counted, write_atomically};
use crate::printer::Printer;
use crate::settings::TestSettings;

/// Bumped when a field of `test --json` changes meaning or disappears.
pub const TEST_SCHEMA_VERSION: u32 = 1;

/// Lines of a failed test's output shown on the terminal (all of it is in `--json`).
const FAILED_OUTPUT_LINES: usize = 20;

pub fn test(settings: &TestSettings, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (repository, plan) = make_plan(&settings.select, printer)?;
    let builds: Vec<&Build> = plan
        .builds
        .iter()
        .filter(|build| !build.tests.is_empty())
        .collect();
    if builds.is_empty() {
        printer.info(&format!(
            "no selected image has tests: add executable files to a `{}/` directory beside a Dockerfile, or `[[images.\"<name>\".tests]]` to `strata.toml`",
            strata_repo::TESTS_DIRECTORY
        ));
        return Ok(ExitStatus::Success);
    }
    let runtime = crate::commands::async_runtime()?;
    let results = runtime.block_on(async {
        let engine = Arc::new(DockerEngine::connect(strata_engine::BuilderKind::BuildKit).await?);
        let permits = tokio::sync::Semaphore::new(settings.jobs.max(1));
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let report = async {
            while let Some(event) = receiver.recv().await {
                if let BuildEvent::Tested {
                    build,
                    test,
                    passed,
                    failure,
                    ..
                } = event
                {
                    if !settings.json {
                        printer.info(&if passed {
                            format!("test ok     {build}: {test}")
                        } else {
                            format!(
                                "test FAILED {build}: {test}: {}",
                                failure.as_deref().unwrap_or("failed")
                            )
                        });
                    }
                }
            }
        };
        let runs = async {
            let runs = builds.iter().map(|build| {
                let engine = Arc::clone(&engine);
                let sender = sender.clone();
                let permits = &permits;
                let root = repository.root.clone();
                async move { test_build(&*engine, &root, build, permits, &sender).await }
            });
            let results: Vec<Vec<TestResult>> = futures_util::future::join_all(runs).await;
            drop(sender);
            results
        };
        let (results, ()) = tokio::join!(runs, report);
        anyhow::Ok(results.into_iter().flatten().collect::<Vec<_>>())
    })?;
    if settings.json {
        let value = serde_json::json!({
            "schema_version": TEST_SCHEMA_VERSION,
            "results": results.iter().map(|result| {
                let mut value = serde_json::to_value(result).unwrap_or_default();
                value["output"] = result.output.clone().into();
                value
            }).collect::<Vec<_>>(),
        });
        printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ));
    } else {
        for result in results.iter().filter(|result| !result.passed) {
            let lines: Vec<&str> = result.output.lines().collect();
            let shown = &lines[lines.len().saturating_sub(FAILED_OUTPUT_LINES)..];
            if !shown.is_empty() {
                printer.info(&format!(
                    "--- {}: {} (last {} lines)\n{}",
                    result.build,
                    result.test,
                    shown.len(),
                    shown.join("\n")
                ));
            }
        }
        printer.data(&results_table(&results));
    }
    printer.info(&tests_summary(&results));
    if let Some(path) = &settings.junit {
        write_junit(path, &results)?;
    }
    Ok(if results.iter().all(|result| result.passed) {
        ExitStatus::Success
    } else {
        ExitStatus::Problems
    })
}

/// Test one build's image: the first of its tags this engine has (the build's own, else its
/// moving tag).
async fn test_build<E: Engine>(
    engine: &E,
    root: &Path,
    build: &Build,
    permits: &tokio::sync::Semaphore,
    events: &tokio::sync::mpsc::UnboundedSender<BuildEvent>,
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
                TestResult {
                    build: build.name.clone(),
                    test: test.name.clone(),
                    declared_by: test.declared_by.clone(),
                    kind: test.kind.as_str(),
                    passed: false,
                    exit_code: None,
                    seconds: 0.0,
                    failure: Some(failure.clone()),
                    output: String::new(),
                }
            })
            .collect();
    };
    let target = TestTarget {
        build: &build.name,
        image: &image,
        reference: &reference,
        cache: Some(&strata_inspect::LayerCache::new(
            &crate::settings::cache_root(),
        )),
    };
    run_image_tests(engine, root, &target, &build.tests, permits, events).await
}

fn results_table(results: &[TestResult]) -> String {
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
    crate::table::render(["IMAGE", "TEST", "KIND", "RESULT", "TIME"], &rows)
}

/// `tests: 5 passed, 1 failed (3 images)`.
pub fn tests_summary(results: &[TestResult]) -> String {
    let passed = results.iter().filter(|result| result.passed).count();
    let mut images: Vec<&str> = results.iter().map(|result| result.build.as_str()).collect();
    images.sort_unstable();
    images.dedup();
    format!(
        "tests: {passed} passed, {} failed ({})",
        results.len() - passed,
        counted(images.len(), "image", "images")
    )
}

/// Write the results as `JUnit` XML, atomically.
pub fn write_junit(path: &Path, results: &[TestResult]) -> anyhow::Result<()> {
    let xml = strata_build::junit_report(results).context("cannot write the JUnit report")?;
    write_atomically(path, xml.as_bytes())
}
