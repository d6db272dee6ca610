//! Progress for long work: a line per running build with its current step (indicatif), hidden
//! when stderr is not a terminal, under `--quiet`, or with `NO_COLOR` / `STRATA_NO_PROGRESS`; in
//! that case one plain line per finished build instead. `--json` streams the events instead.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use strata_build::BuildEvent;

use crate::printer::Printer;

/// Shows build events to a person.
pub struct BuildReporter {
    printer: Printer,
    bars: Option<(MultiProgress, HashMap<String, ProgressBar>)>,
}

impl BuildReporter {
    pub fn new(printer: &Printer) -> Self {
        let bars = printer.shows_progress().then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                HashMap::new(),
            )
        });
        Self {
            printer: printer.clone(),
            bars,
        }
    }

    pub fn on_event(&mut self, event: &BuildEvent) {
        let line = match event {
            BuildEvent::Started { build } => {
                if let Some((multi, bars)) = &mut self.bars {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(build.clone());
                    bar.set_message("starting");
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bars.insert(build.clone(), bar);
                }
                None
            }
            BuildEvent::Step { build, step } => {
                if let Some((_, bars)) = &self.bars {
                    if let Some(bar) = bars.get(build) {
                        bar.set_message(step.clone());
                    }
                }
                None
            }
            BuildEvent::UpToDate { build, .. } => Some(format!("up to date {build}")),
            BuildEvent::Built { build, .. } => Some(format!("built      {build}")),
            BuildEvent::Failed { build, error, .. } => Some(format!("failed     {build}: {error}")),
            BuildEvent::Skipped { build, because } => {
                Some(format!("skipped    {build}: {because}"))
            }
            BuildEvent::Normalised {
                build,
                digest,
                scrubbed,
                ..
            } => Some(match scrubbed.as_slice() {
                [] => format!("normalised {build}: {digest}"),
                [one] => format!("normalised {build}: {digest}, scrubbed /{one}"),
                [first, rest @ ..] => format!(
                    "normalised {build}: {digest}, scrubbed /{first} and {} more (listed in the log)",
                    rest.len()
                ),
            }),
            BuildEvent::Tagged { build, tags } => {
                Some(format!("tagged     {build}: {}", tags.join(", ")))
            }
            BuildEvent::Tested {
                build,
                test,
                passed,
                failure,
                ..
            } => Some(if *passed {
                format!("test ok    {build}: {test}")
            } else {
                format!(
                    "test FAILED {build}: {test}: {}",
                    failure.as_deref().unwrap_or("failed")
                )
            }),
            BuildEvent::Output { .. } | BuildEvent::Manifest { .. } => None,
            BuildEvent::Warning { build, message } => Some(format!("warning: {build}: {message}")),
            BuildEvent::Pushed { tag, digest, .. } => Some(format!(
                "pushed     {tag} {}",
                digest.as_deref().unwrap_or("")
            )),
            BuildEvent::IndexPushed {
                tag,
                digest,
                platforms,
                ..
            } => Some(format!(
                "pushed     {tag} {digest} (index of {})",
                platforms.join(", ")
            )),
            BuildEvent::PushFailed { tag, error, .. } => {
                Some(format!("push failed {tag}: {error}"))
            }
        };
        let finished = matches!(
            event,
            BuildEvent::UpToDate { .. } | BuildEvent::Built { .. } | BuildEvent::Failed { .. }
        );
        if let Some((multi, bars)) = &mut self.bars {
            if finished {
                if let Some(bar) = bars.remove(event.build()) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
            }
            if let Some(line) = line {
                let _ = multi.println(line);
            }
        } else if let Some(line) = line {
            self.printer.info(&line);
        }
    }

    pub fn finish(&mut self) {
        if let Some((multi, bars)) = &mut self.bars {
            for bar in bars.values() {
                bar.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }
}
