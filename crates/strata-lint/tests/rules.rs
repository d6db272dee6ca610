//! Every rule against its fixtures under `test/lint/rules/`: `<CODE>.bad.Dockerfile` triggers
//! it (the findings are snapshotted), `<CODE>.good.Dockerfile` does not; and `--fix` removes
//! what it says it fixes, keeping every other byte.

use std::path::{Path, PathBuf};

use strata_lint::{Finding, ImageContext, LintOptions, Linter, RULES};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/lint/rules")
}

fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|finding| {
            format!(
                "{}:{} {} {} {}\n    | {}",
                finding.line,
                finding.column,
                finding.severity,
                finding.rule,
                finding.message,
                finding.source_line
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn lint(linter: &Linter, name: &str) -> (String, Vec<Finding>) {
    let path = fixtures().join(name);
    let text = fs_err::read_to_string(&path).unwrap();
    let findings = linter
        .lint(Path::new(name), &text, &ImageContext::default(), &[])
        .unwrap();
    (text, findings)
}

#[test]
fn each_rule_fires_on_its_bad_fixture_and_not_on_its_good_one() {
    let linter = Linter::new(&LintOptions::default()).unwrap();
    for rule in RULES {
        // BASE003 needs a repository: see `repository.rs`.
        if rule.code == "BASE003" {
            continue;
        }
        let (_, bad) = lint(&linter, &format!("{}.bad.Dockerfile", rule.code));
        assert!(
            bad.iter().any(|finding| finding.rule == rule.code),
            "{} does not fire on its bad fixture:\n{}",
            rule.code,
            render(&bad)
        );
        insta::assert_snapshot!(rule.code, render(&bad));
        let (_, good) = lint(&linter, &format!("{}.good.Dockerfile", rule.code));
        let wrong: Vec<Finding> = good
            .into_iter()
            .filter(|finding| finding.rule == rule.code)
            .collect();
        assert!(
            wrong.is_empty(),
            "{} fires on its good fixture:\n{}",
            rule.code,
            render(&wrong)
        );
    }
}

#[test]
fn fixes_remove_their_findings_and_keep_every_other_byte() {
    let linter = Linter::new(&LintOptions::default()).unwrap();
    for rule in RULES.iter().filter(|rule| rule.fixable) {
        let name = format!("{}.bad.Dockerfile", rule.code);
        let (text, before) = lint(&linter, &name);
        let only = Linter::new(&LintOptions {
            select: vec![rule.code.to_string()],
            ..LintOptions::default()
        })
        .unwrap();
        let (fixed, count) = only
            .fix(Path::new(&name), &text, &ImageContext::default(), &[])
            .unwrap();
        let after = only
            .lint(Path::new(&name), &fixed, &ImageContext::default(), &[])
            .unwrap();
        assert!(
            after.iter().all(|finding| !finding.fixable),
            "{} left after --fix:\n{}\n---\n{fixed}",
            rule.code,
            render(&after)
        );
        let fixable = before
            .iter()
            .filter(|finding| finding.rule == rule.code && finding.fixable)
            .count();
        assert!(
            fixable > 0,
            "{}: the bad fixture has a fixable finding",
            rule.code
        );
        assert_eq!(
            count, fixable,
            "{}: every fixable finding fixed once",
            rule.code
        );
        insta::assert_snapshot!(format!("{}-fixed", rule.code), fixed);
    }
}

#[test]
fn findings_silenced_inline_and_by_settings() {
    let text = "FROM debian:12\n# strata-ignore=APT003,apt-install-no-yes\nRUN apt-get update \\\n    && apt-get install git \\\n    # strata-ignore=APT004\n    && echo done\nRUN apt-get install git\n";
    let linter = Linter::new(&LintOptions {
        select: vec!["apt".to_string()],
        ..LintOptions::default()
    })
    .unwrap();
    let findings = linter
        .lint(Path::new("Dockerfile"), text, &ImageContext::default(), &[])
        .unwrap();
    let codes: Vec<(usize, &str)> = findings
        .iter()
        .map(|finding| (finding.line, finding.rule))
        .collect();
    // The comment above the first RUN silences APT002/APT003 on all its lines, but APT004 is
    // reported on the RUN's first line, which the comment inside does not precede.
    assert_eq!(
        codes,
        [(1, "APT006"), (3, "APT004"), (7, "APT002"), (7, "APT003")]
    );
    let findings = linter
        .lint(
            Path::new("Dockerfile"),
            text,
            &ImageContext::default(),
            &["APT004".to_string(), "APT002".to_string()],
        )
        .unwrap();
    let codes: Vec<&str> = findings.iter().map(|finding| finding.rule).collect();
    assert_eq!(codes, ["APT006", "APT003"]);
}

#[test]
fn hadolint_ignore_comments_silence_the_matching_rules() {
    let text = "FROM debian:12\n# hadolint ignore=DL3013,DL3042\nRUN pip install numpy\nRUN pip install scipy\n";
    let linter = Linter::new(&LintOptions {
        select: vec!["pip".to_string()],
        ..LintOptions::default()
    })
    .unwrap();
    let findings = linter
        .lint(Path::new("Dockerfile"), text, &ImageContext::default(), &[])
        .unwrap();
    let codes: Vec<(usize, &str)> = findings
        .iter()
        .map(|finding| (finding.line, finding.rule))
        .collect();
    assert_eq!(codes, [(4, "PIP001"), (4, "PIP002")]);
}

#[test]
fn strict_and_configured_severities() {
    let text = "FROM debian:12\nENV LANG=C.UTF-8\nCMD [\"bash\"]\n";
    let lint = |options: LintOptions| {
        Linter::new(&options)
            .unwrap()
            .lint(Path::new("Dockerfile"), text, &ImageContext::default(), &[])
            .unwrap()
    };
    let default = lint(LintOptions::default());
    assert_eq!(default.len(), 1);
    assert_eq!(default[0].severity, strata_lint::Severity::Info);
    let strict = lint(LintOptions {
        strict: true,
        ..LintOptions::default()
    });
    assert_eq!(strict[0].severity, strata_lint::Severity::Error);
    let configured = lint(LintOptions {
        severities: [("base".to_string(), "warning".to_string())].into(),
        ..LintOptions::default()
    });
    assert_eq!(configured[0].severity, strata_lint::Severity::Warning);
    let error = Linter::new(&LintOptions {
        severities: [("APT001".to_string(), "fatal".to_string())].into(),
        ..LintOptions::default()
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown severity `fatal` for `APT001`: expected `error`, `warning` or `info`"
    );
}
