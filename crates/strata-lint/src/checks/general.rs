//! General rules: `ADD` of a URL (`GEN001`), shell-form `ENTRYPOINT` (`GEN003`), `MAINTAINER`
//! (`GEN004`), `RUN cd` (`GEN005`), the whole context copied before installs (`GEN006`),
//! downloads of `latest` releases (`GEN007`), and instructions BuildKit cannot read (`GEN008`).

use strata_dockerfile::Edit;

use crate::finding::Report;
use crate::model::{File, Item};
use crate::tools::{invocation, Tool};

const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

pub(crate) fn check(file: &File<'_>, reports: &mut Vec<Report>) {
    check_instructions(file, reports);
    for stage in &file.stages {
        let mut context_copy: Option<&Item<'_>> = None;
        for item in &stage.items {
            let instruction = item.instruction;
            match instruction.keyword.as_str() {
                "ADD" => check_add(item, reports),
                "ENTRYPOINT" if !instruction.arguments().trim_start().starts_with('[') => {
                    reports.push(Report::new(
                        "GEN003",
                        File::keyword_start(instruction),
                        "shell-form `ENTRYPOINT` runs under `/bin/sh -c`: the program gets no signals and ignores `CMD`",
                    ));
                }
                "MAINTAINER" => {
                    let value = instruction
                        .arguments()
                        .trim()
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"");
                    reports.push(
                        Report::new(
                            "GEN004",
                            File::keyword_start(instruction),
                            "`MAINTAINER` is deprecated",
                        )
                        .with_edits(vec![Edit {
                            span: instruction.span,
                            text: format!("LABEL maintainer=\"{value}\""),
                        }]),
                    );
                }
                "COPY" if context_copy.is_none() && copies_whole_context(item) => {
                    context_copy = Some(item);
                }
                "RUN" => {
                    if let Some(copy) = context_copy.take() {
                        if installs_dependencies(item) {
                            reports.push(Report::new(
                                "GEN006",
                                File::keyword_start(copy.instruction),
                                format!(
                                    "the whole build context is copied before the dependencies are installed on line {}: any edit reinstalls them",
                                    instruction.line
                                ),
                            ));
                        } else {
                            context_copy = Some(copy);
                        }
                    }
                    check_run(item, reports);
                }
                _ => {}
            }
        }
    }
}

fn check_instructions(file: &File<'_>, reports: &mut Vec<Report>) {
    for instruction in &file.dockerfile.instructions {
        if !INSTRUCTIONS.contains(&instruction.keyword.as_str()) {
            reports.push(Report::new(
                "GEN008",
                File::keyword_start(instruction),
                format!("`{}` is not a Dockerfile instruction", instruction.keyword),
            ));
        }
    }
    if let Some(bad) = &file.bad_from {
        let offset = file
            .dockerfile
            .instructions
            .iter()
            .find(|instruction| instruction.line == bad.line)
            .map_or(0, File::keyword_start);
        reports.push(Report::new(
            "GEN008",
            offset,
            format!("this `FROM` cannot be read: {}", bad.reason),
        ));
    }
    if !file.context.fragment {
        let before_from = file
            .dockerfile
            .instructions
            .iter()
            .take_while(|instruction| instruction.keyword != "FROM")
            .find(|instruction| {
                instruction.keyword != "ARG" && INSTRUCTIONS.contains(&instruction.keyword.as_str())
            });
        if let Some(instruction) = before_from {
            reports.push(Report::new(
                "GEN008",
                File::keyword_start(instruction),
                format!(
                    "`{}` before the first `FROM`: only `ARG` may come first",
                    instruction.keyword
                ),
            ));
        }
    }
}

fn is_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

fn check_add(item: &Item<'_>, reports: &mut Vec<Report>) {
    let instruction = item.instruction;
    let checksum = instruction
        .flags()
        .iter()
        .any(|flag| flag.name == "checksum");
    let words = instruction.words_after_flags();
    let Some((_, sources)) = words.split_last() else {
        return;
    };
    for source in sources {
        let value = source.value();
        if is_latest_url(&value) {
            reports.push(Report::new(
                "GEN007",
                source.span.start,
                format!("`{value}` names the latest release, which changes as releases come out"),
            ));
        }
        let git = value.starts_with("git@") || (is_url(&value) && value.ends_with(".git"));
        if (is_url(&value) || git) && !checksum {
            reports.push(Report::new(
                "GEN001",
                source.span.start,
                format!("`ADD {value}` downloads without checking what it got"),
            ));
        }
    }
}

/// A URL whose path names `latest` as a word: `…/releases/latest/download/…`,
/// `…/linux-64/latest`, `Miniforge3-latest-Linux.sh`.
fn is_latest_url(text: &str) -> bool {
    let Some(scheme_end) = text.find("://") else {
        return false;
    };
    let path = &text[scheme_end + 3..];
    let Some(path_start) = path.find('/') else {
        return false;
    };
    let path = path[path_start..].to_ascii_lowercase();
    path.match_indices("latest").any(|(position, _)| {
        let before = path[..position].chars().next_back();
        let after = path[position + "latest".len()..].chars().next();
        before.is_some_and(|character| "/-_.=".contains(character))
            && after.is_none_or(|character| "/-_.?&#".contains(character))
    })
}

fn check_run(item: &Item<'_>, reports: &mut Vec<Report>) {
    let Some(run) = &item.run else { return };
    if let Some(first) = run.commands.first() {
        if first.program() == "cd" {
            reports.push(Report::new(
                "GEN005",
                first.start,
                "a `RUN` that starts with `cd` is working around `WORKDIR`",
            ));
        }
    }
    for command in &run.commands {
        for word in &command.words {
            if is_latest_url(&word.value) {
                reports.push(Report::new(
                    "GEN007",
                    word.start,
                    format!(
                        "`{}` names the latest release, which changes as releases come out",
                        word.value
                    ),
                ));
            }
        }
    }
}

fn copies_whole_context(item: &Item<'_>) -> bool {
    let instruction = item.instruction;
    if instruction.flags().iter().any(|flag| flag.name == "from") {
        return false;
    }
    let words = instruction.words_after_flags();
    let Some((_, sources)) = words.split_last() else {
        return false;
    };
    sources
        .iter()
        .any(|source| matches!(source.value().as_str(), "." | "./" | "*" | "./*"))
}

fn installs_dependencies(item: &Item<'_>) -> bool {
    let Some(run) = &item.run else { return false };
    run.commands.iter().any(|command| {
        if let Some(found) = invocation(command) {
            return match found.tool {
                Tool::Apt | Tool::Pip => found.is("install"),
                Tool::Conda => {
                    found.is("install")
                        || found.is("create")
                        || found.is("env create")
                        || found.is("env update")
                }
            };
        }
        matches!(command.program(), "npm" | "yarn" | "pnpm")
            && command
                .arguments()
                .first()
                .is_some_and(|word| matches!(word.value.as_str(), "install" | "ci" | "i"))
    })
}
