//! `strata test`: run the selected images' tests against the images built on this engine.

use strata_build::{test_built_images, tests_summary, write_junit, BuildEvent, TestResult};
use strata_plan::Build;
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::TestSettings;

/// Bumped when a field of `test --json` changes meaning or disappears.
pub const TEST_SCHEMA_VERSION: u32 = 1;

/// Lines of a failed test's output shown on the terminal (all of it is in `--json`).
const FAILED_OUTPUT_LINES: usize = 20;

pub fn test(
    settings: &TestSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (repository, plan) = strata_select::open_and_plan(session, &settings.select)?;
    printer.warn_each(&repository.warnings);
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
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let cache = strata_inspect::LayerCache::new(session.caches().root());
    let results = session.block_on(async {
        let engine = session.engine(strata_engine::BuilderKind::BuildKit).await?;
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
        let runs = test_built_images(
            engine,
            &repository.root,
            &builds,
            settings.jobs,
            Some(&cache),
            sender,
        );
        let (results, ()) = tokio::join!(runs, report);
        anyhow::Ok(results)
    })??;
    if settings.json {
        let value = serde_json::json!({
            "schema_version": TEST_SCHEMA_VERSION,
            "results": results.iter().map(|result| {
                let mut value = serde_json::to_value(result)?;
                value["output"] = result.output.clone().into();
                Ok(value)
            }).collect::<serde_json::Result<Vec<_>>>()?,
        });
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&value)?));
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
