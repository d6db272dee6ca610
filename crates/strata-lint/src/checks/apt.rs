//! apt: upgrades (`APT001`), installs without `-y` (`APT002`) or `--no-install-recommends`
//! (`APT003`), lists left in the layer (`APT004`), and `DEBIAN_FRONTEND` set with `ENV`
//! (`APT005`). The locale rule (`APT006`) is an image-level rule, in `image.rs`.

use std::fmt::Write;

use strata_dockerfile::{Edit, Span};

use crate::finding::Report;
use crate::model::{env_pairs, insert, File, Item};
use crate::shell::Command;
use crate::tools::{invocation, Tool};

const LISTS: &str = "/var/lib/apt/lists";

fn removes_lists(command: &Command) -> bool {
    command.program() == "rm"
        && command
            .arguments()
            .iter()
            .any(|word| word.value.starts_with(LISTS))
}

pub(crate) fn check(file: &File<'_>, reports: &mut Vec<Report>) {
    for stage in &file.stages {
        for (index, item) in stage.items.iter().enumerate() {
            match item.instruction.keyword.as_str() {
                "RUN" => check_run(file, &stage.items, index, item, reports),
                "ENV" => check_env(item, reports),
                _ => {}
            }
        }
    }
}

fn check_run(
    file: &File<'_>,
    items: &[Item<'_>],
    index: usize,
    item: &Item<'_>,
    reports: &mut Vec<Report>,
) {
    let Some(run) = &item.run else { return };
    let mut updated = false;
    let mut removed = false;
    for command in &run.commands {
        removed |= removes_lists(command);
        let Some(found) = invocation(command) else {
            continue;
        };
        if found.tool != Tool::Apt {
            continue;
        }
        let subcommand = found.subcommand.as_deref().unwrap_or_default();
        let after_subcommand = found.subcommand_word.map_or(found.start, |word| word.end);
        match subcommand {
            "upgrade" | "dist-upgrade" | "full-upgrade" => reports.push(Report::new(
                "APT001",
                found.start,
                format!(
                    "`{} {subcommand}` makes the image depend on the day it is built",
                    found.program
                ),
            )),
            "update" => updated = true,
            "install" => {
                let quiet_yes = found.options.iter().any(|(option, _)| {
                    matches!(option.value.as_str(), "-qq" | "-q=2" | "--quiet=2")
                });
                if !quiet_yes
                    && !found.has_option(&["--yes", "--assume-yes", "--force-yes"], Some('y'))
                {
                    reports.push(
                        Report::new(
                            "APT002",
                            found.start,
                            format!(
                                "`{} install` without `-y` waits for an answer a build cannot give",
                                found.program
                            ),
                        )
                        .with_edits(vec![insert(after_subcommand, " -y")]),
                    );
                }
                let no_recommends = found.has_option(&["--no-install-recommends"], None)
                    || found.options.iter().any(|(option, value)| {
                        let text =
                            value.map_or(option.value.as_str(), |value| value.value.as_str());
                        text.contains("Install-Recommends=false")
                            || text.contains("Install-Recommends=0")
                    });
                if !no_recommends {
                    reports.push(
                        Report::new(
                            "APT003",
                            found.start,
                            format!("`{} install` without `--no-install-recommends` also installs recommended packages", found.program),
                        )
                        .with_edits(vec![insert(after_subcommand, " --no-install-recommends")]),
                    );
                }
            }
            _ => {}
        }
    }
    if !updated || removed || run.caches("/var/lib/apt") {
        return;
    }
    let mut message =
        "`apt-get update` writes lists this `RUN` does not remove: they stay in its layer"
            .to_string();
    let later = items[index + 1..].iter().find(|later| {
        later
            .run
            .as_ref()
            .is_some_and(|later| later.commands.iter().any(removes_lists))
    });
    if let Some(later) = later {
        let _ = write!(
            message,
            "; the cleanup on line {} runs in a later `RUN` and frees nothing",
            later.instruction.line
        );
    }
    let edits = run
        .append_at
        .map(|end| {
            let escape = file.dockerfile.escape;
            vec![insert(
                end,
                &format!(" {escape}\n    && rm -rf /var/lib/apt/lists/*"),
            )]
        })
        .unwrap_or_default();
    reports.push(
        Report::new("APT004", File::keyword_start(item.instruction), message).with_edits(edits),
    );
}

fn check_env(item: &Item<'_>, reports: &mut Vec<Report>) {
    let pairs = env_pairs(item.instruction);
    let Some(pair) = pairs.iter().find(|pair| pair.key == "DEBIAN_FRONTEND") else {
        return;
    };
    let instruction = item.instruction;
    let edits = if pairs.len() == 1 {
        let value = if pair.value.is_empty() {
            "noninteractive"
        } else {
            pair.value.as_str()
        };
        let modern = instruction
            .words()
            .first()
            .is_some_and(|word| word.text.contains('='));
        if modern {
            vec![Edit {
                span: instruction.keyword_span,
                text: "ARG".to_string(),
            }]
        } else {
            vec![Edit {
                span: Span {
                    start: instruction.span.start,
                    end: instruction.span.end,
                },
                text: format!("ARG DEBIAN_FRONTEND={value}"),
            }]
        }
    } else {
        Vec::new()
    };
    reports.push(
        Report::new(
            "APT005",
            pair.key_start,
            "`ENV DEBIAN_FRONTEND` stays set in the image and every image built on it",
        )
        .with_edits(edits),
    );
}
