//! `strata lint`: the repository's Dockerfiles (or the files given) against the rules, as text,
//! JSON or SARIF; `--fix` rewrites what is safe; `--list-rules` and `--explain`.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;
use strata_lint::{
    collect_targets, configured_linter, lint_targets, render_finding, Finding, LintError, Severity,
    RULES,
};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use strata_cli::settings::{LintOutput, LintSettings};

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
            let error = anyhow::Error::new(error);
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
