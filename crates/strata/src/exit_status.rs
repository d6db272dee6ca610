//! Exit codes, documented in the README.

use std::process::ExitCode;

/// How strata exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked.
    Success,
    /// 2: bad usage or bad input (files, names, references); clap also exits 2 on usage errors.
    InputError,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::InputError => Self::from(2),
        }
    }
}
