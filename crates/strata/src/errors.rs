//! Rendering errors for people: `error: …`, one `Caused by: …` per source, then `hint: …` lines
//! from whichever error in the chain knows what to do next.

use std::fmt::Write;

use crate::exit_status::ExitStatus;

pub fn render(error: &anyhow::Error) -> String {
    let mut chain = error.chain();
    let mut rendered = format!(
        "error: {}",
        indent(&chain.next().map(ToString::to_string).unwrap_or_default())
    );
    for cause in chain {
        let _ = write!(rendered, "\n  Caused by: {}", indent(&cause.to_string()));
    }
    for hint in hints(error) {
        let _ = write!(rendered, "\nhint: {hint}");
    }
    rendered
}

/// Continuation lines of a multi-line message (source snippets) are indented under it.
fn indent(message: &str) -> String {
    message.replace('\n', "\n    ")
}

fn hints(error: &anyhow::Error) -> Vec<String> {
    let mut hints = Vec::new();
    for cause in error.chain() {
        let hint = if let Some(error) = cause.downcast_ref::<strata_repo::RepoError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_repo::GitError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_plan::PlanError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_pylock::LockError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_inspect::InspectError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_engine::EngineError>() {
            error.hint()
        } else {
            None
        };
        hints.extend(hint);
    }
    hints
}

pub fn exit_status(error: &anyhow::Error) -> ExitStatus {
    if error.chain().any(|cause| {
        cause.is::<strata_engine::EngineError>()
            || cause.is::<strata_registry::RegistryError>()
            || cause.is::<strata_inspect::InspectError>()
    }) {
        ExitStatus::EngineError
    } else {
        ExitStatus::InputError
    }
}
