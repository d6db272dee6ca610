//! `strata test`: run the selected images' tests against the images built on this engine.

use strata_build::{
    failed_outputs, results_json, results_table, test_built_images, tests_summary, write_junit,
    BuildEvent,
};
use strata_plan::Build;
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::TestSettings;

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
        let value = results_json(&results)?;
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    } else {
        for output in failed_outputs(&results) {
            printer.info(&output);
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
