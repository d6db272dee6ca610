//! Rendering errors for people: `error: …`, one `Caused by: …` per source, then `hint: …` lines
//! from whichever error in the chain knows what to do next; and the exit code, from the
//! [`Diagnostic`] classes of the errors in the chain — never from message text.

use std::fmt::Write;

use strata_diagnostic::{Diagnostic, ExitClass};

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

/// The library error a cause is, as a [`Diagnostic`]: the one list of strata's error types.
fn diagnostic<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a dyn Diagnostic> {
    macro_rules! first_of {
        ($($error:ty),* $(,)?) => {
            $(if let Some(error) = cause.downcast_ref::<$error>() {
                return Some(error);
            })*
        };
    }
    first_of!(
        strata_repo::RepoError,
        strata_repo::ConfigError,
        strata_repo::DockerfileError,
        strata_repo::GitError,
        strata_dockerfile::SyntaxError,
        strata_plan::PlanError,
        strata_lint::LintError,
        strata_pylock::LockError,
        strata_conda::CondaError,
        strata_engine::EngineError,
        strata_registry::RegistryError,
        strata_registry::PromoteError,
        strata_inspect::InspectError,
        strata_reproducible::ReproducibleError,
        strata_build::BuildError,
        strata_fs::InputError,
        strata_fs::WriteError,
        strata_select::SelectError,
        strata_lock::LockingError,
        strata_release::ReleaseError,
        strata_session::SessionError,
        strata_sign::SignError,
        strata_sign::KeyError,
        strata_audit::AuditError,
    );
    None
}

/// Every hint of the chain, each once (a wrapper and the error it wraps may give the same).
fn hints(error: &anyhow::Error) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    for hint in error
        .chain()
        .filter_map(diagnostic)
        .filter_map(Diagnostic::hint)
    {
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    }
    hints
}

/// The class of the outermost error that states one (a wrapper knows more than what it
/// wraps); with none, bad input.
pub fn exit_status(error: &anyhow::Error) -> ExitStatus {
    let class = error
        .chain()
        .filter_map(diagnostic)
        .find_map(Diagnostic::exit_class)
        .unwrap_or(ExitClass::Input);
    ExitStatus::from(class)
}
