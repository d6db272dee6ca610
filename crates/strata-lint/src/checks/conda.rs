//! conda, mamba and micromamba: activation in a `RUN` (`CONDA001`), environments used without
//! being activated (`CONDA002`), unpinned installs (`CONDA003`), installs without a clean in
//! the same `RUN` (`CONDA004`), updates (`CONDA005`), and pip installing into a conda image's
//! base environment (`CONDA006`).

use crate::finding::Report;
use crate::model::{env_pairs, insert, item_facts, File};
use crate::shell::Command;
use crate::tools::{invocation, Invocation, Tool};

/// Programs that run in whatever environment is active (not R: images often build it from
/// source, outside any environment).
const ENVIRONMENT_PROGRAMS: &[&str] = &["python", "python3", "pip", "pip3", "ipython", "jupyter"];

/// `SHELL [...]` that activates an environment: `conda run`, or micromamba's activating shell.
fn activating_shell(arguments: &str) -> bool {
    let Ok(words) = serde_json::from_str::<Vec<String>>(arguments.trim()) else {
        return false;
    };
    let programs = ["conda", "mamba", "micromamba"];
    let runs = words
        .iter()
        .any(|word| programs.contains(&word.rsplit('/').next().unwrap_or(word)))
        && words.iter().any(|word| word == "run");
    runs || words
        .iter()
        .any(|word| word.contains("_dockerfile_shell") || word.contains("_activate_current_env"))
}

fn is_activation(command: &Command) -> bool {
    matches!(command.program(), "source" | ".")
        && command
            .arguments()
            .first()
            .is_some_and(|word| word.value == "activate" || word.value.ends_with("/activate"))
}

/// The environment a `create`/`env create` makes, for messages.
fn created_environment(found: &Invocation<'_>) -> String {
    let named = found
        .options
        .iter()
        .find(|(option, _)| matches!(option.value.as_str(), "-n" | "--name" | "-p" | "--prefix"))
        .and_then(|(_, value)| value.map(|value| value.value.clone()));
    named.unwrap_or_else(|| "the new environment".to_string())
}

fn is_pinned(specifier: &str) -> bool {
    // `name=1.2`, `name==1.2`, `name=1.2=build`, `channel::name=1.2`; `>=` alone is a range.
    let without_ranges = specifier
        .replace(">=", "")
        .replace("<=", "")
        .replace("!=", "");
    without_ranges.contains('=')
}

pub(crate) fn check(file: &File<'_>, reports: &mut Vec<Report>) {
    for (stage_index, stage) in file.stages.iter().enumerate() {
        let inherited = file.inherited(stage_index);
        let mut conda = inherited.conda;
        let mut activated = false;
        let mut created: Option<String> = None;
        let mut reported_unactivated = false;
        for item in &stage.items {
            let instruction = item.instruction;
            match instruction.keyword.as_str() {
                "SHELL" => activated = activating_shell(instruction.arguments()),
                "ENV"
                    if env_pairs(instruction)
                        .iter()
                        .any(|pair| pair.key == "PATH" && pair.value.contains("/envs/")) =>
                {
                    activated = true;
                }
                _ => {}
            }
            conda |= item_facts(item).conda && instruction.keyword != "RUN";
            let Some(run) = &item.run else { continue };
            let mut activated_here = false;
            let mut installs: Option<String> = None;
            let mut cleaned = false;
            for command in &run.commands {
                if is_activation(command) {
                    reports.push(Report::new(
                        "CONDA001",
                        command.start,
                        "`source activate` lasts only until the end of this `RUN`",
                    ));
                    activated_here = true;
                    continue;
                }
                let found = invocation(command);
                if let Some(found) = found.as_ref().filter(|found| found.tool == Tool::Conda) {
                    conda = true;
                    let subcommand = found.subcommand.as_deref().unwrap_or_default();
                    match subcommand {
                        "activate" => {
                            reports.push(Report::new(
                                "CONDA001",
                                found.start,
                                format!(
                                    "`{} activate` lasts only until the end of this `RUN`",
                                    found.program
                                ),
                            ));
                            activated_here = true;
                        }
                        "update" | "upgrade" => reports.push(Report::new(
                            "CONDA005",
                            found.start,
                            format!(
                                "`{} {subcommand}` moves packages to whatever is newest",
                                found.program
                            ),
                        )),
                        "install" | "create" => {
                            installs.get_or_insert_with(|| found.program.clone());
                            if subcommand == "create" {
                                created = Some(created_environment(found));
                            }
                            if !found.has_option(&["--clone"], None) {
                                for operand in &found.operands {
                                    if !is_pinned(&operand.value) && !operand.value.starts_with('$')
                                    {
                                        reports.push(Report::new(
                                            "CONDA003",
                                            operand.start,
                                            format!(
                                                "`{}` is not pinned to a version",
                                                operand.value
                                            ),
                                        ));
                                    }
                                }
                            }
                        }
                        "env create" | "env update" => {
                            installs.get_or_insert_with(|| found.program.clone());
                            if subcommand == "env create" {
                                created = Some(created_environment(found));
                            }
                        }
                        "clean" => {
                            cleaned |= found.has_option(&["--all"], Some('a'));
                        }
                        _ => {}
                    }
                    continue;
                }
                let explicit_path = command
                    .words
                    .first()
                    .is_some_and(|word| word.value.contains("/envs/"));
                let in_environment = activated || activated_here || explicit_path;
                if let Some(environment) = &created {
                    if !in_environment
                        && !reported_unactivated
                        && ENVIRONMENT_PROGRAMS.contains(&command.program())
                        && found
                            .as_ref()
                            .is_none_or(|found| found.environment.is_none())
                    {
                        reported_unactivated = true;
                        reports.push(Report::new(
                            "CONDA002",
                            command.start,
                            format!("`{}` runs outside `{environment}`: nothing activates it for this `RUN`", command.program()),
                        ));
                        continue;
                    }
                }
                if let Some(found) =
                    found.filter(|found| found.tool == Tool::Pip && found.is("install"))
                {
                    let base = found
                        .environment
                        .as_deref()
                        .is_none_or(|environment| environment == "base");
                    if conda && base && !in_environment && created.is_none() {
                        reports.push(Report::new(
                            "CONDA006",
                            found.start,
                            format!("`{} install` installs into the conda base environment, behind conda's back", found.program),
                        ));
                    }
                }
            }
            if let Some(program) = installs {
                if !cleaned && !run.caches("pkgs") {
                    let clean = if program == "micromamba" {
                        "micromamba clean --all --yes".to_string()
                    } else {
                        format!("{program} clean -afy")
                    };
                    let edits = run
                        .append_at
                        .map(|end| {
                            let escape = file.dockerfile.escape;
                            vec![insert(end, &format!(" {escape}\n    && {clean}"))]
                        })
                        .unwrap_or_default();
                    reports.push(
                        Report::new(
                            "CONDA004",
                            File::keyword_start(instruction),
                            format!("`{program}` leaves its package cache in this `RUN`'s layer: no `{clean}`"),
                        )
                        .with_edits(edits),
                    );
                }
            }
        }
    }
}
