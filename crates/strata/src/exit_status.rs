//! Exit codes, documented in the README.

use std::process::ExitCode;

use strata_diagnostic::ExitClass;

/// How strata exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked.
    Success,
    /// 1: a check found problems (`lock --check` found drift).
    Problems,
    /// 2: bad usage or bad input (files, names, references); clap also exits 2 on usage errors.
    InputError,
    /// 3: at least one build failed (its dependents were skipped).
    BuildFailed,
    /// 4: every build succeeded but a push failed.
    PushFailed,
    /// 5: a service (engine, registry, package index, conda channel) could not be reached, or
    /// refused or failed a request.
    EngineError,
}

impl From<ExitClass> for ExitStatus {
    fn from(class: ExitClass) -> Self {
        match class {
            ExitClass::Problems => Self::Problems,
            ExitClass::Input => Self::InputError,
            ExitClass::BuildFailed => Self::BuildFailed,
            ExitClass::PushFailed => Self::PushFailed,
            ExitClass::Unavailable => Self::EngineError,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Problems => Self::from(1),
            ExitStatus::InputError => Self::from(2),
            ExitStatus::BuildFailed => Self::from(3),
            ExitStatus::PushFailed => Self::from(4),
            ExitStatus::EngineError => Self::from(5),
        }
    }
}
