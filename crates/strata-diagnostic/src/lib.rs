//! What strata says to people: what an error means to the person who ran strata: the exit class it belongs to (the README's
//! table of exit codes) and what to do next. Every library error type implements
//! [`Diagnostic`]; the binary renders the chain in one place and never matches on message text.
//! Also the words and the one table renderer every crate that writes for people uses.

pub mod table;

/// `1 package`, `2 packages`: counts in what strata tells people, from any crate that renders.
pub fn counted(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}

/// The classes of the README's exit-code table, each with one meaning across every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitClass {
    /// 1: a check found problems (lint findings, a stale lock, a refused promotion).
    Problems,
    /// 2: usage or input error: bad arguments, files, names that do not exist, git state.
    Input,
    /// 3: a build, or its tests, failed.
    BuildFailed,
    /// 4: every build succeeded, but a push failed.
    PushFailed,
    /// 5: a service (engine, registry, package index, conda channel) could not be reached, or
    /// refused or failed a request.
    Unavailable,
}

impl ExitClass {
    /// The process exit code of the class.
    pub fn code(self) -> u8 {
        match self {
            Self::Problems => 1,
            Self::Input => 2,
            Self::BuildFailed => 3,
            Self::PushFailed => 4,
            Self::Unavailable => 5,
        }
    }

    /// The class of an HTTP status a service answered: a name it does not have (404, 410) is
    /// the user's input; anything else it refused or failed is the service's.
    pub fn of_http_status(status: u16) -> Self {
        match status {
            404 | 410 => Self::Input,
            _ => Self::Unavailable,
        }
    }
}

/// An error that knows its exit class and what the user can do next.
pub trait Diagnostic: std::error::Error {
    /// The exit class, or `None` to leave it to the errors it wraps (and, failing those,
    /// [`ExitClass::Input`]).
    fn exit_class(&self) -> Option<ExitClass>;

    /// What to do next, as one `hint:` line.
    fn hint(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::ExitClass;

    #[test]
    fn codes_are_the_readmes() {
        let codes = [
            ExitClass::Problems,
            ExitClass::Input,
            ExitClass::BuildFailed,
            ExitClass::PushFailed,
            ExitClass::Unavailable,
        ]
        .map(ExitClass::code);
        assert_eq!(codes, [1, 2, 3, 4, 5]);
        assert_eq!(ExitClass::of_http_status(404), ExitClass::Input);
        assert_eq!(ExitClass::of_http_status(503), ExitClass::Unavailable);
        assert_eq!(ExitClass::of_http_status(401), ExitClass::Unavailable);
    }
}
