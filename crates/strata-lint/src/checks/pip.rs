//! pip: installs that keep pip's cache (`PIP001`), unpinned requirements (`PIP002`),
//! `--upgrade` of anything but pip (`PIP003`), and lock files installed without
//! `--require-hashes --no-deps` (`PIP004`).

use std::path::Path;

use crate::finding::Report;
use crate::model::{insert, File, Item};
use crate::tools::{attached_value, invocation, Invocation, Tool};

pub(crate) fn check(file: &File<'_>, reports: &mut Vec<Report>) {
    for (stage_index, stage) in file.stages.iter().enumerate() {
        for (index, item) in stage.items.iter().enumerate() {
            let Some(run) = &item.run else { continue };
            let mut facts = None;
            // `pip cache purge` or removing pip's cache in the same RUN frees it too.
            let purged = run.commands.iter().any(|command| {
                let words: Vec<&str> = command
                    .words
                    .iter()
                    .map(|word| word.value.as_str())
                    .collect();
                words.windows(2).any(|pair| pair == ["cache", "purge"])
                    || (command.program() == "rm"
                        && words
                            .iter()
                            .any(|word| word.contains(".cache/pip") || word.ends_with("/.cache")))
            });
            for command in &run.commands {
                let Some(found) = invocation(command) else {
                    continue;
                };
                if found.tool != Tool::Pip || !found.is("install") {
                    continue;
                }
                let after_install = found.subcommand_word.map_or(found.start, |word| word.end);
                let facts = facts.get_or_insert_with(|| file.facts_until(stage_index, index));
                let cache_off = found.has_option(&["--no-cache-dir"], None)
                    || command
                        .assignments
                        .iter()
                        .any(|(name, _)| name == "PIP_NO_CACHE_DIR")
                    || facts.env.contains("PIP_NO_CACHE_DIR")
                    || run.caches("pip")
                    || run.caches(".cache")
                    || purged;
                if !cache_off {
                    reports.push(
                        Report::new(
                            "PIP001",
                            found.start,
                            format!(
                                "`{} install` keeps its download cache in the layer",
                                found.program
                            ),
                        )
                        .with_edits(vec![insert(after_install, " --no-cache-dir")]),
                    );
                }
                check_pins(&found, reports);
                check_lock(file, &stage.items, &found, after_install, reports);
            }
        }
    }
}

/// The name a requirement specifier installs, when it is a plain name (not a path or URL).
fn requirement_name(specifier: &str) -> Option<&str> {
    if specifier.starts_with(['-', '.', '/', '$', '~'])
        || specifier.contains("://")
        || specifier.contains('/')
        || specifier.contains('@')
        || [".whl", ".tar.gz", ".zip"]
            .iter()
            .any(|suffix| specifier.ends_with(suffix))
    {
        return None;
    }
    let end = specifier
        .find(|character: char| !(character.is_ascii_alphanumeric() || "-_.".contains(character)))
        .unwrap_or(specifier.len());
    let name = &specifier[..end];
    (!name.is_empty()).then_some(name)
}

fn is_pip(name: &str) -> bool {
    name.eq_ignore_ascii_case("pip")
}

fn check_pins(found: &Invocation<'_>, reports: &mut Vec<Report>) {
    let constrained = found.has_option(&["--constraint"], None)
        || found.options.iter().any(|(option, _)| option.value == "-c");
    let upgrade = found
        .options
        .iter()
        .find(|(option, _)| {
            matches!(option.value.as_str(), "--upgrade" | "-U")
                || (option.value.starts_with('-')
                    && !option.value.starts_with("--")
                    && option.value[1..].chars().all(char::is_alphabetic)
                    && option.value.contains('U'))
        })
        .map(|(option, _)| *option);
    let mut upgraded = Vec::new();
    for operand in &found.operands {
        let Some(name) = requirement_name(&operand.value) else {
            continue;
        };
        if is_pip(name) {
            continue;
        }
        upgraded.push(name.to_string());
        let pinned = operand.value.contains("==");
        if !pinned && !constrained {
            reports.push(Report::new(
                "PIP002",
                operand.start,
                format!("`{}` is not pinned to a version", operand.value),
            ));
        }
    }
    let requirement_files = !found.option_values("--requirement", Some("-r")).is_empty();
    if let Some(option) = upgrade {
        if !upgraded.is_empty() || requirement_files {
            let what = if upgraded.is_empty() {
                "the requirement files' packages".to_string()
            } else {
                upgraded
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            reports.push(Report::new(
                "PIP003",
                option.start,
                format!("`{}` upgrades {what} to whatever is newest", option.value),
            ));
        }
    }
}

fn check_lock(
    file: &File<'_>,
    items: &[Item<'_>],
    found: &Invocation<'_>,
    after_install: usize,
    reports: &mut Vec<Report>,
) {
    let require_hashes = found.has_option(&["--require-hashes"], None);
    let no_deps = found.has_option(&["--no-deps"], None);
    if require_hashes && no_deps {
        return;
    }
    for word in found.option_values("--requirement", Some("-r")) {
        let path = attached_value(word, "--requirement", Some("-r"));
        if !is_lock(file, items, path) {
            continue;
        }
        let missing: Vec<&str> = [
            (!require_hashes).then_some("--require-hashes"),
            (!no_deps).then_some("--no-deps"),
        ]
        .into_iter()
        .flatten()
        .collect();
        reports.push(
            Report::new(
                "PIP004",
                found.start,
                format!(
                    "`{path}` is a lock file, installed without `{}`",
                    missing.join(" ")
                ),
            )
            .with_edits(vec![insert(
                after_install,
                &format!(" {}", missing.join(" ")),
            )]),
        );
        return;
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A requirements file is a lock when its name says so, or when the file a `COPY` or `ADD` of
/// the stage put there holds `--hash=` lines.
fn is_lock(file: &File<'_>, items: &[Item<'_>], path: &str) -> bool {
    let name = file_name(path);
    if name.to_ascii_lowercase().contains("lock") {
        return true;
    }
    let Some(context) = &file.context.context_directory else {
        return false;
    };
    for item in items {
        if !matches!(item.instruction.keyword.as_str(), "COPY" | "ADD")
            || item
                .instruction
                .flags()
                .iter()
                .any(|flag| flag.name == "from")
        {
            continue;
        }
        let words = item.instruction.words_after_flags();
        let Some((destination, sources)) = words.split_last() else {
            continue;
        };
        let destination = destination.value();
        for source in sources {
            let source = source.value();
            let lands_here = file_name(&destination) == name
                || (destination.ends_with('/') && file_name(&source) == name);
            if lands_here && has_hashes(&context.join(&source)) {
                return true;
            }
        }
    }
    false
}

fn has_hashes(path: &Path) -> bool {
    fs_err::read_to_string(path).is_ok_and(|text| text.contains("--hash="))
}
