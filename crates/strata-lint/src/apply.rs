//! Linting files as a command does: the rules `[lint]` in `strata.toml` and the command line
//! select, targets linted (and fixed first, when asked), findings as text.

use std::collections::BTreeSet;
use std::path::PathBuf;

use strata_repo::{Config, Repository, SourceSpan};

use crate::{repository_targets, Finding, LintError, LintOptions, Linter, Severity, Target};

/// The command line's choice of rules, over `[lint]`'s.
#[derive(Debug, Clone, Default)]
pub struct RuleChoice {
    /// Rules to run instead of `[lint] select` (empty: `[lint]`'s).
    pub select: Vec<String>,
    /// Rules not to run, beside `[lint] ignore`.
    pub ignore: Vec<String>,
    pub strict: bool,
    /// The least severity that fails, over `[lint] fail-level`.
    pub fail_level: Option<Severity>,
}

/// The linter `[lint]` and `choice` make, and the severity that fails.
pub fn configured_linter(
    choice: &RuleChoice,
    config: &Config,
) -> Result<(Linter, Severity), LintError> {
    let lint = &config.lint;
    let select = if choice.select.is_empty() {
        lint.select.clone()
    } else {
        choice.select.clone()
    };
    let mut ignore = lint.ignore.clone();
    ignore.extend(choice.ignore.iter().cloned());
    let options = LintOptions {
        select,
        ignore,
        severities: lint.severity.clone(),
        strict: choice.strict || lint.strict,
    };
    let linter = Linter::new(&options).map_err(|source| LintError::Settings {
        config: config.display_path(),
        source: Box::new(source),
    })?;
    let fail_level = match (choice.fail_level, &lint.fail_level) {
        (Some(level), _) => level,
        (None, Some(configured)) => {
            Severity::parse(configured).ok_or_else(|| LintError::FailLevel {
                config: config.display_path(),
                value: configured.clone(),
            })?
        }
        (None, None) => Severity::Warning,
    };
    Ok((linter, fail_level))
}

/// Lint targets (fixing each first with `fix`, written atomically); the findings and how many
/// were fixed.
pub fn lint_targets(
    linter: &Linter,
    targets: &[Target],
    fix: bool,
) -> Result<(Vec<Finding>, usize), LintError> {
    let mut findings = Vec::new();
    let mut fixed = 0;
    for target in targets {
        let mut text = strata_fs::read_text(&target.path)?;
        if fix {
            let (rewritten, count) =
                linter.fix(&target.display, &text, &target.context, &target.ignore)?;
            if rewritten != text {
                strata_fs::write_atomically(&target.path, rewritten.as_bytes())?;
                text = rewritten;
            }
            fixed += count;
        }
        findings.extend(linter.lint(&target.display, &text, &target.context, &target.ignore)?);
    }
    Ok((findings, fixed))
}

/// `build --lint`: the errors among the findings in the Dockerfiles a plan builds.
#[derive(Debug)]
pub struct PlannedLint {
    /// How many Dockerfiles (and compat fragments) were linted.
    pub files: usize,
    /// Every finding, errors and others.
    pub findings: Vec<Finding>,
}

impl PlannedLint {
    /// The findings that stop a build.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
    }
}

/// Lint the repository's Dockerfiles a plan builds (`dockerfiles`, root-relative), and with
/// `compat` the compat fragments they are assembled from, with the repository's `[lint]`
/// settings and errors as the failing level.
pub fn lint_planned(
    repository: &Repository,
    dockerfiles: &BTreeSet<&str>,
    compat: bool,
) -> Result<PlannedLint, LintError> {
    let choice = RuleChoice {
        fail_level: Some(Severity::Error),
        ..RuleChoice::default()
    };
    let (linter, _) = configured_linter(&choice, &repository.config)?;
    let targets: Vec<Target> = repository_targets(repository)
        .into_iter()
        .filter(|target| {
            dockerfiles.contains(target.display.to_string_lossy().as_ref())
                || (compat && target.context.fragment)
        })
        .collect();
    let (findings, _) = lint_targets(&linter, &targets, false)?;
    Ok(PlannedLint {
        files: targets.len(),
        findings,
    })
}

/// A finding as text: the rule and message, the place with the line shown, what to do.
pub fn render_finding(finding: &Finding) -> String {
    let location = SourceSpan {
        path: PathBuf::from(&finding.file),
        line: finding.line,
        column: Some(finding.column),
        line_text: finding.source_line.clone(),
        cut: finding.source_cut,
    };
    let gutter = " ".repeat(finding.line.to_string().len());
    let fixable = if finding.fixable { " (--fix)" } else { "" };
    format!(
        "{}[{}]: {}\n{location}\n{gutter} = fix{fixable}: {}\n",
        finding.severity, finding.rule, finding.message, finding.fix
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fail_level_that_is_no_severity_names_the_settings_file() {
        let mut config = Config::default();
        config.lint.fail_level = Some("loud".to_string());
        let error = configured_linter(&RuleChoice::default(), &config).expect_err("refused");
        assert!(matches!(error, LintError::FailLevel { ref value, .. } if value == "loud"));
        assert!(error.to_string().contains("is not a severity"), "{error}");
        let choice = RuleChoice {
            fail_level: Some(Severity::Error),
            ..RuleChoice::default()
        };
        let (_, level) = configured_linter(&choice, &config).expect("the command line wins");
        assert_eq!(level, Severity::Error);
    }

    #[test]
    fn an_unknown_rule_is_an_error_of_the_settings() {
        let choice = RuleChoice {
            select: vec!["NOPE999".to_string()],
            ..RuleChoice::default()
        };
        let error = configured_linter(&choice, &Config::default()).expect_err("refused");
        assert!(
            error.to_string().contains("in the lint settings of"),
            "{error}"
        );
    }
}
