//! Image tests: each image's tests (its ancestors' first, then its own) run against the built
//! image before any tag moves. Scripts of a `tests/` directory and `strata.toml` commands run
//! in throw-away containers of the image; host commands run on this machine at the repository
//! root with the image's reference in `STRATA_IMAGE`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use strata_engine::{Engine, RunOutput, RunRequest, TIMED_OUT_EXIT_CODE};
use strata_repo::{BuiltinCheck, ImageTest, ImageTestKind};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Semaphore;

use crate::events::BuildEvent;

/// Where a script test's directory is copied in the container.
pub const TESTS_MOUNT: &str = "/strata-tests";

/// How one test of one image ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// The build (image) tested.
    pub build: String,
    pub test: String,
    /// The image whose directory or settings declare the test.
    pub declared_by: String,
    /// `script`, `command` or `host`.
    pub kind: &'static str,
    pub passed: bool,
    /// `None` when the test could not be started.
    pub exit_code: Option<i64>,
    pub seconds: f64,
    /// Why it failed.
    pub failure: Option<String>,
    /// What it printed, standard output then standard error.
    #[serde(skip)]
    pub output: String,
}

impl TestResult {
    /// `test` of `build`, not (yet) passed: failed for `failure`, or still to run.
    pub fn not_run(build: &str, test: &ImageTest, failure: Option<String>) -> Self {
        Self {
            build: build.to_string(),
            test: test.name.clone(),
            declared_by: test.declared_by.clone(),
            kind: test.kind.as_str(),
            passed: false,
            exit_code: None,
            seconds: 0.0,
            failure,
            output: String::new(),
        }
    }
}

/// What an image's tests run on.
pub struct TestTarget<'a> {
    /// The build's name, for reports.
    pub build: &'a str,
    /// The image id containers are created from.
    pub image: &'a str,
    /// A reference host tests are given in `STRATA_IMAGE` (a tag pointing at `image`).
    pub reference: &'a str,
    /// Where built-in checks keep what they read of the image's layers.
    pub cache: Option<&'a strata_inspect::LayerCache>,
}

/// Run `tests` on `target`, each holding one of `permits` while it runs, and report each as
/// it ends. Results come back in the tests' order.
pub async fn run_image_tests<E: Engine>(
    engine: &E,
    root: &Path,
    target: &TestTarget<'_>,
    tests: &[ImageTest],
    permits: &Semaphore,
    events: &UnboundedSender<BuildEvent>,
) -> Vec<TestResult> {
    let runs = tests.iter().map(|test| async move {
        let _permit = permits.acquire().await.ok();
        let result = run_one(engine, root, target, test).await;
        for line in result.output.lines() {
            let _ = events.send(BuildEvent::Output {
                build: target.build.to_string(),
                line: format!("[test {}] {line}", result.test),
            });
        }
        let _ = events.send(BuildEvent::Tested {
            build: target.build.to_string(),
            test: result.test.clone(),
            passed: result.passed,
            seconds: result.seconds,
            failure: result.failure.clone(),
        });
        result
    });
    futures_util::future::join_all(runs).await
}

async fn run_one<E: Engine>(
    engine: &E,
    root: &Path,
    target: &TestTarget<'_>,
    test: &ImageTest,
) -> TestResult {
    let started = Instant::now();
    let timeout = Duration::from_secs(test.timeout);
    let outcome = match &test.kind {
        ImageTestKind::Script { directory, file } => {
            let request = script_files(root, directory).map(|files| RunRequest {
                image: target.image.to_string(),
                command: vec![format!("{TESTS_MOUNT}/{directory}/{file}")],
                files: Some(files),
                network: test.network,
                env: vec![format!("STRATA_TESTS={TESTS_MOUNT}/{directory}")],
                working_dir: Some(format!("{TESTS_MOUNT}/{directory}")),
                timeout: Some(timeout),
            });
            match request {
                Ok(request) => engine
                    .run_request(request)
                    .await
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error),
            }
        }
        ImageTestKind::Command { command } => {
            let request = RunRequest {
                image: target.image.to_string(),
                command: command.clone(),
                network: test.network,
                timeout: Some(timeout),
                ..RunRequest::default()
            };
            engine
                .run_request(request)
                .await
                .map_err(|error| error.to_string())
        }
        ImageTestKind::Host { command } => run_on_host(root, command, target, timeout).await,
        ImageTestKind::Check { check } => run_check(engine, target, *check).await,
    };
    let mut result = TestResult::not_run(target.build, test, None);
    match outcome {
        Err(error) => result.failure = Some(format!("cannot run the test: {error}")),
        Ok(output) => {
            result.exit_code = Some(output.exit_code);
            result.output = format!("{}{}", output.stdout, output.stderr);
            result.failure = judge(test, &output, &result.output);
            // A built-in check's output is its finding: say it where the failure is shown.
            if matches!(test.kind, ImageTestKind::Check { .. }) && result.failure.is_some() {
                result.failure = Some(output.stdout.trim_end().to_string());
            }
            result.passed = result.failure.is_none();
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

/// A built-in check: read the image's files (no container) and judge them; exit code 0 when
/// it holds, 1 with the problems as output when not.
async fn run_check<E: Engine>(
    engine: &E,
    target: &TestTarget<'_>,
    check: BuiltinCheck,
) -> Result<RunOutput, String> {
    let scratch;
    let cache = if let Some(cache) = target.cache {
        cache
    } else {
        scratch = tempfile::tempdir().map_err(|error| error.to_string())?;
        &strata_inspect::LayerCache::new(scratch.path())
    };
    let facts = strata_inspect::inspect_local(engine, target.image, cache)
        .await
        .map_err(|error| format!("cannot read the image: {error}"))?;
    let problems = match check {
        BuiltinCheck::CondaActivation => facts.activation_problems(),
    };
    let mut checked = String::new();
    match check {
        BuiltinCheck::CondaActivation => {
            for environment in &facts.conda {
                let _ = writeln!(
                    checked,
                    "{}: {} activation variables, all set",
                    environment.path(),
                    environment.activation.len()
                );
            }
        }
    }
    Ok(RunOutput {
        exit_code: i64::from(!problems.is_empty()),
        stdout: if problems.is_empty() {
            checked
        } else {
            problems.join("\n") + "\n"
        },
        stderr: String::new(),
    })
}

/// Why a finished test failed, if it did.
fn judge(test: &ImageTest, output: &RunOutput, printed: &str) -> Option<String> {
    if output.exit_code == TIMED_OUT_EXIT_CODE && test.exit_code != TIMED_OUT_EXIT_CODE {
        return Some(format!("ran out of time ({} s)", test.timeout));
    }
    if output.exit_code != test.exit_code {
        return Some(format!(
            "exited with {}, expected {}",
            output.exit_code, test.exit_code
        ));
    }
    let pattern = test.output.as_deref()?;
    match regex::Regex::new(pattern) {
        Ok(regex) if regex.is_match(printed) => None,
        Ok(_) => Some(format!("its output does not match `{pattern}`")),
        Err(error) => Some(format!("`{pattern}` is not a regular expression: {error}")),
    }
}

/// A tar archive of `<root>/<directory>` placed at `/strata-tests/<directory>`, modes kept.
fn script_files(root: &Path, directory: &str) -> Result<Vec<u8>, String> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder
        .append_dir_all(
            format!("{}/{directory}", TESTS_MOUNT.trim_start_matches('/')),
            root.join(directory),
        )
        .and_then(|()| builder.into_inner())
        .map_err(|error| format!("cannot pack `{directory}`: {error}"))
}

/// Run `command` on this machine at the repository root; `{image}` in its arguments and
/// `STRATA_IMAGE` name the image.
async fn run_on_host(
    root: &Path,
    command: &[String],
    target: &TestTarget<'_>,
    timeout: Duration,
) -> Result<RunOutput, String> {
    let arguments: Vec<String> = command
        .iter()
        .map(|argument| argument.replace("{image}", target.reference))
        .collect();
    let Some((program, rest)) = arguments.split_first() else {
        return Err("the command is empty".to_string());
    };
    let directory = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let child = tokio::process::Command::new(program)
        .args(rest)
        .current_dir(directory)
        .env("STRATA_IMAGE", target.reference)
        .env("STRATA_IMAGE_ID", target.image)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot start `{program}`: {error}"))?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(RunOutput {
            exit_code: output.status.code().map_or(-1, i64::from),
            stdout: String::from_utf8_lossy(&output.stdout).to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        }),
        Ok(Err(error)) => Err(format!("`{program}` failed: {error}")),
        Err(_) => Ok(RunOutput {
            exit_code: TIMED_OUT_EXIT_CODE,
            stdout: String::new(),
            stderr: format!("strata: stopped after {} s\n", timeout.as_secs()),
        }),
    }
}

/// The results as `JUnit` XML: one test suite per image, one test case per test.
pub fn junit_report(results: &[TestResult]) -> Result<String, quick_junit::SerializeError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("strata");
    let mut suites: Vec<TestSuite> = Vec::new();
    for result in results {
        let existing = suites
            .iter()
            .position(|suite| suite.name.as_str() == result.build);
        let position = existing.unwrap_or_else(|| {
            suites.push(TestSuite::new(result.build.clone()));
            suites.len() - 1
        });
        let status = if result.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(if result.exit_code.is_some() {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            });
            status.set_message(result.failure.clone().unwrap_or_default());
            status
        };
        let mut case = TestCase::new(result.test.clone(), status);
        case.set_classname(format!("{}.{}", result.build, result.declared_by))
            .set_time(Duration::from_secs_f64(result.seconds))
            .set_system_out_lossy(result.output.as_bytes());
        suites[position].add_test_case(case);
    }
    report.add_test_suites(suites);
    report.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(exit_code: i64, output: Option<&str>) -> ImageTest {
        ImageTest {
            name: "t".into(),
            declared_by: "base".into(),
            kind: ImageTestKind::Command {
                command: vec!["true".into()],
            },
            exit_code,
            output: output.map(str::to_string),
            network: false,
            timeout: 5,
        }
    }

    fn ran(exit_code: i64) -> RunOutput {
        RunOutput {
            exit_code,
            stdout: "Python 3.11.2\n".into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn exit_codes_output_and_time_limits_decide() {
        assert_eq!(judge(&test(0, None), &ran(0), "Python 3.11.2\n"), None);
        assert_eq!(
            judge(&test(0, None), &ran(2), "").as_deref(),
            Some("exited with 2, expected 0")
        );
        assert_eq!(judge(&test(2, None), &ran(2), ""), None);
        assert_eq!(
            judge(&test(0, Some(r"3\.11")), &ran(0), "Python 3.11.2\n"),
            None
        );
        assert_eq!(
            judge(&test(0, Some(r"3\.12")), &ran(0), "Python 3.11.2\n").as_deref(),
            Some(r"its output does not match `3\.12`")
        );
        assert_eq!(
            judge(&test(0, None), &ran(TIMED_OUT_EXIT_CODE), "").as_deref(),
            Some("ran out of time (5 s)")
        );
    }
}
