//! `strata lint`: the repository's Dockerfiles (or the files given) against the rules, as text,
//! JSON or SARIF; `--fix` rewrites what is safe; `--list-rules` and `--explain`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use strata_lint::{
    configured_linter, lint_targets, render_finding, repository_targets, Finding, ImageContext,
    LintError, Severity, Target, RULES,
};
use strata_repo::{Config, RepoError};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::{LintOutput, LintSettings};

/// Bumped when a field of `lint --format json` changes meaning or disappears.
pub const LINT_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    findings: &'a [Finding],
    summary: Summary,
}

#[derive(Serialize, Default)]
struct Summary {
    files: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    fixable: usize,
    fixed: usize,
    fail_level: &'static str,
    failed: bool,
}

/// What to lint: the repository's Dockerfiles, each file given, or a directory's `Dockerfile`;
/// and the settings that apply (the first repository's, else `./strata.toml`).
pub(crate) fn collect_targets(
    paths: &[PathBuf],
    warnings: &mut Vec<String>,
) -> anyhow::Result<(Vec<Target>, Config)> {
    let mut targets = Vec::new();
    let mut config: Option<Config> = None;
    for path in paths {
        // A path that is not there is named as such, not as a missing repository.
        fs_err::metadata(path).with_context(|| format!("cannot lint `{}`", path.display()))?;
        if path.is_file() {
            // A Dockerfile of a repository is linted as the repository sees it: its parents'
            // settings, its siblings as images of the repository, the repository's settings.
            if let Some((mut target, repository_config)) = as_part_of_repository(path) {
                target.display.clone_from(path);
                targets.push(target);
                if config.is_none() {
                    config = Some(repository_config);
                }
                continue;
            }
            targets.push(Target {
                path: path.clone(),
                display: path.clone(),
                context: ImageContext {
                    context_directory: path.parent().map(Path::to_path_buf),
                    ..ImageContext::default()
                },
                ignore: Vec::new(),
            });
            continue;
        }
        match strata_repo::open(path) {
            Ok(repository) => {
                warnings.extend(repository.warnings.iter().cloned());
                let mut found = repository_targets(&repository);
                // Findings name files as the user would type them from here.
                for target in &mut found {
                    target.display = path.join(&target.display);
                    if let Ok(relative) = target.display.strip_prefix(".") {
                        target.display = relative.to_path_buf();
                    }
                }
                targets.extend(found);
                if config.is_none() {
                    config = Some(repository.config);
                }
            }
            Err(RepoError::NotFound { .. }) if path.join("Dockerfile").is_file() => {
                let file = path.join("Dockerfile");
                targets.push(Target {
                    display: file
                        .strip_prefix(".")
                        .map_or(file.clone(), Path::to_path_buf),
                    path: file,
                    context: ImageContext {
                        context_directory: Some(path.clone()),
                        ..ImageContext::default()
                    },
                    ignore: Vec::new(),
                });
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!(
                    "cannot read the image repository at `{}`",
                    path.display()
                )))
            }
        }
    }
    let config = match config {
        Some(config) => config,
        None => Config::load(Path::new(".")).context("cannot read `strata.toml`")?,
    };
    Ok((targets, config))
}

/// The file's target in the image repository that holds it, if one does: the nearest directory
/// above it (within its git work tree) with a `strata.toml`, SciServer's `science/` and
/// `compat/`, or docker-stacks' `images/`, whose images include the file.
fn as_part_of_repository(file: &Path) -> Option<(Target, Config)> {
    let file = file.canonicalize().ok()?;
    for directory in file.ancestors().skip(1) {
        let is_repository = directory.join(strata_repo::CONFIG_FILE).is_file()
            || directory.join("science").is_dir() && directory.join("compat").is_dir()
            || directory.join(strata_repo::DEFAULT_IMAGES_DIR).is_dir();
        if is_repository {
            let repository = strata_repo::open(directory).ok()?;
            let config = repository.config.clone();
            let target = repository_targets(&repository)
                .into_iter()
                .find(|target| target.path.canonicalize().ok().as_deref() == Some(&file))?;
            return Some((target, config));
        }
        if directory.join(".git").exists() {
            return None;
        }
    }
    None
}

pub fn lint(settings: &LintSettings, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if settings.list_rules {
        return Ok(list_rules(settings, printer));
    }
    if let Some(key) = &settings.explain {
        let rule =
            strata_lint::rule(key).ok_or_else(|| LintError::UnknownRule { rule: key.clone() })?;
        printer.data(&format!(
            "{} {} ({})\n\n{}\n\n{}\n\nfix: {}{}\n",
            rule.code,
            rule.name,
            rule.severity,
            rule.summary,
            rule.explanation,
            rule.fix,
            if rule.fixable {
                " (`strata lint --fix` does it)"
            } else {
                ""
            }
        ));
        return Ok(ExitStatus::Success);
    }
    let mut warnings = Vec::new();
    let collected = collect_targets(&settings.paths, &mut warnings);
    for warning in &warnings {
        printer.warn(warning);
    }
    let linted = collected.and_then(|(targets, config)| {
        let (linter, fail_level) = configured_linter(&settings.rules(), &config)?;
        let (findings, fixed) = lint_targets(&linter, &targets, settings.fix)?;
        Ok((targets, fail_level, findings, fixed))
    });
    let (targets, fail_level, findings, fixed) = match linted {
        Ok(linted) => linted,
        Err(error) => {
            // A tool reading JSON or SARIF gets the error in the format it asked for too.
            if settings.output != LintOutput::Text {
                printer.data(&format!("{:#}\n", error_document(settings.output, &error)));
            }
            return Err(error);
        }
    };
    let count = |severity: Severity| {
        findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    };
    let failed = findings
        .iter()
        .any(|finding| finding.severity >= fail_level);
    let summary = Summary {
        files: targets.len(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
        fixable: findings.iter().filter(|finding| finding.fixable).count(),
        fixed,
        fail_level: fail_level.as_str(),
        failed,
    };
    match settings.output {
        LintOutput::Json => {
            let report = Report {
                schema_version: LINT_SCHEMA_VERSION,
                findings: &findings,
                summary,
            };
            printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
        }
        LintOutput::Sarif => {
            // File paths are relative to where strata ran; SARIF gets that directory as the base.
            let base = std::env::current_dir()
                .ok()
                .and_then(|current| fs_err::canonicalize(current).ok());
            let log = strata_lint::sarif(
                &findings,
                env!("CARGO_PKG_VERSION"),
                base.as_deref().and_then(Path::to_str),
            );
            printer.data(&format!("{}\n", serde_json::to_string_pretty(&log)?));
        }
        LintOutput::Text => {
            let mut text = String::new();
            for finding in &findings {
                let _ = writeln!(text, "{}", render_finding(finding));
            }
            printer.data(&text);
            let mut line = format!(
                "{} file(s): {} error(s), {} warning(s), {} info",
                summary.files, summary.errors, summary.warnings, summary.infos
            );
            if fixed > 0 {
                let _ = write!(line, "; fixed {fixed}");
            }
            if summary.fixable > 0 {
                let _ = write!(line, "; {} fixable with `--fix`", summary.fixable);
            }
            printer.info(&line);
        }
    }
    Ok(if failed {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

/// An error as `--format json` (`error`: `message`, `causes`, `file`, `line`) or SARIF (a run
/// whose invocation failed, with the error as its notification) reports it.
fn error_document(output: LintOutput, error: &anyhow::Error) -> serde_json::Value {
    let message = error.to_string();
    let causes: Vec<String> = error.chain().skip(1).map(ToString::to_string).collect();
    let input = |error: &strata_fs::InputError| match error {
        strata_fs::InputError::NotText { path, line, .. } => {
            (Some(path.display().to_string()), Some(*line))
        }
        other => (Some(other.path().display().to_string()), None),
    };
    let (file, line) = error
        .chain()
        .find_map(|cause| {
            if let Some(error) = cause.downcast_ref::<strata_fs::InputError>() {
                return Some(input(error));
            }
            match cause.downcast_ref::<LintError>()? {
                LintError::Input(error) => Some(input(error)),
                LintError::Syntax { path, line, .. } => {
                    Some((Some(path.display().to_string()), Some(*line)))
                }
                _ => None,
            }
        })
        .unwrap_or((None, None));
    match output {
        LintOutput::Sarif => {
            let mut notification = serde_json::json!({
                "level": "error",
                "message": { "text": std::iter::once(message).chain(causes).collect::<Vec<_>>().join(": ") },
            });
            if let Some(file) = &file {
                let mut region = serde_json::json!({});
                if let Some(line) = line {
                    region["startLine"] = serde_json::json!(line);
                }
                notification["locations"] = serde_json::json!([{
                    "physicalLocation": { "artifactLocation": { "uri": file }, "region": region }
                }]);
            }
            serde_json::json!({
                "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                "version": "2.1.0",
                "runs": [{
                    "tool": { "driver": { "name": "strata", "version": env!("CARGO_PKG_VERSION") } },
                    "invocations": [{
                        "executionSuccessful": false,
                        "toolExecutionNotifications": [notification],
                    }],
                    "results": [],
                }],
            })
        }
        _ => serde_json::json!({
            "schema_version": LINT_SCHEMA_VERSION,
            "error": { "message": message, "causes": causes, "file": file, "line": line },
        }),
    }
}

fn list_rules(settings: &LintSettings, printer: &Printer) -> ExitStatus {
    if settings.output == LintOutput::Text {
        let mut text = String::new();
        for rule in RULES {
            let _ = writeln!(
                text,
                "{:<9} {:<8} {:<28} {}{}",
                rule.code,
                rule.severity.as_str(),
                rule.name,
                rule.summary,
                if rule.fixable { " [fix]" } else { "" }
            );
        }
        printer.data(&text);
    } else {
        let rules = serde_json::json!({ "schema_version": LINT_SCHEMA_VERSION, "rules": RULES });
        printer.data(&format!("{rules:#}\n"));
    }
    ExitStatus::Success
}
