//! `strata init`: a starting `strata.toml` for a repository, written (or shown with
//! `--dry-run`), and what strata could not decide.

use anyhow::Context;
use strata_cli::InitArgs;
use strata_repo::{propose_config, CONFIG_FILE};

use crate::exit_status::ExitStatus;
use crate::printer::Printer;

pub fn init(arguments: &InitArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let root = &arguments.path;
    let path = root.join(CONFIG_FILE);
    if path.exists() && !arguments.force && !arguments.dry_run {
        anyhow::bail!(
            "`{}` exists already: pass `--force` to replace it, or `--dry-run` to see what `init` would write",
            path.display()
        );
    }
    // Only the survey of the tree can fail: a repository that does not read is a note.
    let proposal =
        propose_config(root).with_context(|| format!("cannot survey `{}`", root.display()))?;
    if arguments.dry_run {
        printer.data(&proposal.text);
    } else {
        strata_fs::write_atomically(&path, proposal.text.as_bytes())?;
        printer.info(&format!("wrote `{}`", path.display()));
    }
    for ambiguity in &proposal.ambiguities {
        printer.warn(&format!(
            "undecided: `{}`: `FROM {}` could be any of {}; say which under `[images.\"{}\"]` (`parent = \"…\"`, or `false` for an external image)",
            ambiguity.dockerfile,
            ambiguity.reference,
            ambiguity.candidates.join(", "),
            ambiguity.image
        ));
    }
    for miss in &proposal.links.undecided {
        printer.warn(&format!(
            "undecided: `{}`: `FROM {}` names `{}`, which several images of this repository are called; tag one of them so (see `strata.toml`)",
            miss.dockerfile,
            miss.reference,
            strata_repo::ImageReference::parse(&miss.reference).name(),
        ));
    }
    for note in &proposal.notes {
        printer.warn(note);
    }
    let layer_count = proposal.images.unwrap_or(0);
    printer.info(&format!(
        "init: {} ({}), {} undecided",
        crate::output::counted(layer_count, "image", "images"),
        proposal
            .layouts
            .iter()
            .map(|layout| layout.as_str())
            .collect::<Vec<_>>()
            .join(" + "),
        proposal.ambiguities.len() + proposal.links.undecided.len()
    ));
    Ok(if proposal.is_complete() {
        ExitStatus::Success
    } else {
        ExitStatus::Problems
    })
}
