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
        } else if let Some(error) = cause.downcast_ref::<strata_conda::CondaError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_inspect::InspectError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_lint::LintError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_reproducible::ReproducibleError>() {
            // A registry error carries its own hint further down the chain.
            match error {
                strata_reproducible::ReproducibleError::Push { .. } => None,
                _ => error.hint(),
            }
        } else if let Some(error) = cause.downcast_ref::<strata_engine::EngineError>() {
            error.hint()
        } else if let Some(error) = cause.downcast_ref::<strata_registry::PromoteError>() {
            error.hint()
        } else if let Some(error) = registry_error(cause) {
            error.hint()
        } else {
            None
        };
        hints.extend(hint);
    }
    hints
}

/// The registry error a cause is, directly or through a transparent wrapper.
fn registry_error<'a>(
    cause: &'a (dyn std::error::Error + 'static),
) -> Option<&'a strata_registry::RegistryError> {
    if let Some(error) = cause.downcast_ref::<strata_registry::RegistryError>() {
        return Some(error);
    }
    match cause.downcast_ref::<strata_inspect::InspectError>() {
        Some(strata_inspect::InspectError::Registry(error)) => return Some(error),
        Some(_) => return None,
        None => {}
    }
    match cause.downcast_ref::<strata_registry::PromoteError>() {
        Some(strata_registry::PromoteError::Registry(error)) => Some(error),
        _ => None,
    }
}

pub fn exit_status(error: &anyhow::Error) -> ExitStatus {
    // A refused promotion is a check that found problems; a name that does not exist in its
    // registry, or is not a valid reference, is bad input.
    if error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<strata_registry::PromoteError>(),
            Some(strata_registry::PromoteError::Conflicts { .. })
        )
    }) {
        return ExitStatus::Problems;
    }
    if let Some(registry) = error.chain().find_map(registry_error) {
        return match registry.class() {
            strata_registry::ErrorClass::Input => ExitStatus::InputError,
            strata_registry::ErrorClass::Unavailable => ExitStatus::EngineError,
        };
    }
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
