//! Running the rules over one Dockerfile: selection, severities (`--strict`, `strata.toml`),
//! inline `# strata-ignore=` comments, and `--fix` (the safe edits applied until none is left,
//! every other byte kept).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use strata_dockerfile::{apply_edits, parse, Edit};

use crate::checks;
use crate::context::ImageContext;
use crate::error::LintError;
use crate::finding::{Finding, Lines, Report};
use crate::model::File;
use crate::rules::{self, matching, Severity};

/// Which rules run and how severe their findings are.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Rules, names or categories to run (all when empty).
    pub select: Vec<String>,
    /// Rules, names or categories never reported.
    pub ignore: Vec<String>,
    /// Severity overrides, by rule, name or category.
    pub severities: BTreeMap<String, String>,
    /// `BASE002` (not pinned by digest) is an error.
    pub strict: bool,
}

/// The rules resolved from options, ready to lint files.
#[derive(Debug, Clone)]
pub struct Linter {
    enabled: BTreeSet<&'static str>,
    severities: BTreeMap<&'static str, Severity>,
}

/// The comment that silences rules for the next line or instruction.
const IGNORE_MARKER: &str = "strata-ignore=";
/// hadolint's equivalent, honoured for the rules that match one of its codes.
const HADOLINT_MARKER: &str = "hadolint ignore=";

impl Linter {
    pub fn new(options: &LintOptions) -> Result<Self, LintError> {
        let enabled = rules::selected(&options.select, &options.ignore)?;
        let mut severities: BTreeMap<&'static str, Severity> = rules::RULES
            .iter()
            .map(|rule| (rule.code, rule.severity))
            .collect();
        if options.strict {
            severities.insert("BASE002", Severity::Error);
        }
        for (selector, severity) in &options.severities {
            let parsed = Severity::parse(severity).ok_or_else(|| LintError::UnknownSeverity {
                rule: selector.clone(),
                severity: severity.clone(),
            })?;
            for rule in matching(selector)? {
                severities.insert(rule.code, parsed);
            }
        }
        Ok(Self {
            enabled,
            severities,
        })
    }

    /// Lint one Dockerfile's text; `display` is the path findings name.
    pub fn lint(
        &self,
        display: &Path,
        text: &str,
        context: &ImageContext,
        ignore: &[String],
    ) -> Result<Vec<Finding>, LintError> {
        let dockerfile = parse(text).map_err(|source| LintError::Syntax {
            path: display.to_path_buf(),
            line: source.line(),
            source,
        })?;
        let mut ignored: BTreeSet<&'static str> = BTreeSet::new();
        for selector in ignore {
            ignored.extend(matching(selector)?.into_iter().map(|rule| rule.code));
        }
        // A Dockerfile without any `FROM` is a fragment appended to an image (a SciServer compat
        // layer's), whatever the caller knew.
        let fragment_context;
        let context = if !context.fragment
            && !dockerfile.instructions.is_empty()
            && dockerfile
                .instructions
                .iter()
                .all(|instruction| instruction.keyword != "FROM")
        {
            fragment_context = ImageContext {
                fragment: true,
                ..context.clone()
            };
            &fragment_context
        } else {
            context
        };
        let file = File::read(&dockerfile, context);
        let mut reports = Vec::new();
        checks::base::check(&file, &mut reports);
        checks::apt::check(&file, &mut reports);
        checks::pip::check(&file, &mut reports);
        checks::conda::check(&file, &mut reports);
        checks::general::check(&file, &mut reports);
        checks::image::check(&file, &mut reports);
        // A fix writes only into a `RUN` whose shell text strata fully understood.
        let spans: Vec<(usize, usize)> = dockerfile
            .instructions
            .iter()
            .map(|instruction| (instruction.span.start, instruction.span.end))
            .collect();
        for report in reports.iter_mut().filter(|report| !report.edits.is_empty()) {
            let holder = spans.partition_point(|(start, _)| *start <= report.offset);
            let instruction = holder
                .checked_sub(1)
                .map(|index| &dockerfile.instructions[index])
                .filter(|instruction| report.offset <= instruction.span.end);
            if let Some(instruction) = instruction {
                if instruction.keyword == "RUN" && !crate::run::Run::read(instruction).complete {
                    report.edits.clear();
                }
            }
        }
        let lines = Lines::new(text);
        let suppressions = Suppressions::read(&lines);
        let instruction_lines: Vec<(usize, usize)> = dockerfile
            .instructions
            .iter()
            .map(|instruction| (instruction.line, instruction.end_line))
            .collect();
        let mut findings: Vec<Finding> = reports
            .into_iter()
            .filter(|report| self.enabled.contains(report.rule) && !ignored.contains(report.rule))
            .filter_map(|report| {
                let (line, column) = lines.position(report.offset);
                // The instruction holding the line: the last one starting at or before it.
                let first_line =
                    match instruction_lines.partition_point(|(first, _)| *first <= line) {
                        0 => line,
                        after => {
                            let (first, last) = instruction_lines[after - 1];
                            if line <= last {
                                first
                            } else {
                                line
                            }
                        }
                    };
                if suppressions.silences(report.rule, line)
                    || suppressions.silences(report.rule, first_line)
                {
                    return None;
                }
                Some(self.finding(display, &lines, report, line, column))
            })
            .collect();
        findings.sort_by(|a, b| (a.line, a.column, a.rule).cmp(&(b.line, b.column, b.rule)));
        findings
            .dedup_by(|a, b| a.rule == b.rule && a.offset == b.offset && a.message == b.message);
        Ok(findings)
    }

    fn finding(
        &self,
        display: &Path,
        lines: &Lines<'_>,
        report: Report,
        line: usize,
        column: usize,
    ) -> Finding {
        let rule = rules::rule(report.rule).expect("checks report known rules");
        let shown = lines.shown(line, column);
        Finding {
            rule: rule.code,
            name: rule.name,
            severity: self.severities[rule.code],
            file: display.display().to_string(),
            line,
            column,
            message: report.message,
            fix: rule.fix,
            fixable: rule.fixable && !report.edits.is_empty(),
            source_line: shown.0,
            source_cut: shown.1,
            edits: report.edits,
            offset: report.offset,
        }
    }

    /// Apply every safe fix, re-linting after each round, until none is left; returns the new
    /// text and how many findings were fixed.
    pub fn fix(
        &self,
        display: &Path,
        text: &str,
        context: &ImageContext,
        ignore: &[String],
    ) -> Result<(String, usize), LintError> {
        let mut current = text.to_string();
        let mut fixed = 0;
        // Each round fixes at least one finding; a fix never creates a finding of its own, so
        // the number of findings bounds the rounds. The cap is a guard against a rule bug.
        for _ in 0..32 {
            let findings = self.lint(display, &current, context, ignore)?;
            let mut edits: Vec<Edit> = Vec::new();
            for finding in findings.iter().filter(|finding| finding.fixable) {
                if finding
                    .edits
                    .iter()
                    .any(|edit| edits.iter().any(|taken| conflict(edit, taken)))
                {
                    continue;
                }
                edits.extend(finding.edits.iter().cloned());
                fixed += 1;
            }
            if edits.is_empty() {
                break;
            }
            current = apply_edits(&current, &edits);
        }
        Ok((current, fixed))
    }
}

/// Two edits that cannot both apply: their spans overlap, or one inserts inside the other's span.
/// Insertions at the same point both apply, in order.
fn conflict(a: &Edit, b: &Edit) -> bool {
    let inside = |point: usize, edit: &Edit| edit.span.start < point && point < edit.span.end;
    (a.span.start < b.span.end && b.span.start < a.span.end)
        || (a.span.start == a.span.end && inside(a.span.start, b))
        || (b.span.start == b.span.end && inside(b.span.start, a))
}

/// `# strata-ignore=RULE[,RULE]` comments: each silences the rules it names on the line below
/// it, and on the whole instruction that starts there. Comments stack: a block of them above an
/// instruction all apply.
struct Suppressions {
    /// For each 1-based line, the codes silenced on it.
    by_line: BTreeMap<usize, BTreeSet<&'static str>>,
}

impl Suppressions {
    fn read(lines: &Lines<'_>) -> Self {
        let mut by_line: BTreeMap<usize, BTreeSet<&'static str>> = BTreeMap::new();
        let mut pending: BTreeSet<&'static str> = BTreeSet::new();
        for number in 1..=lines.count() {
            let text = lines.text(number).trim();
            if text.is_empty() {
                continue;
            }
            if let Some(comment) = text.strip_prefix('#') {
                let list = |marker: &str| {
                    comment.find(marker).map(|position| {
                        let rest = &comment[position + marker.len()..];
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    })
                };
                if let Some(list) = list(IGNORE_MARKER) {
                    for key in list.split(',') {
                        if let Ok(found) = matching(key) {
                            pending.extend(found.into_iter().map(|rule| rule.code));
                        }
                    }
                }
                // hadolint's own comments keep working for the rules both tools have.
                if let Some(list) = list(HADOLINT_MARKER) {
                    for code in list.split(',') {
                        pending.extend(
                            rules::RULES
                                .iter()
                                .filter(|rule| rule.hadolint.contains(&code.trim()))
                                .map(|rule| rule.code),
                        );
                    }
                }
                continue;
            }
            if !pending.is_empty() {
                by_line.insert(number, std::mem::take(&mut pending));
            }
        }
        Self { by_line }
    }

    fn silences(&self, rule: &str, line: usize) -> bool {
        self.by_line
            .get(&line)
            .is_some_and(|codes| codes.contains(rule))
    }
}
