//! The only place that writes to stdout and stderr. stdout carries data; stderr carries
//! progress, warnings and errors.

use std::io::Write;

/// Whether stderr is a terminal: the one place that decides about colour and progress.
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
}

impl Printer {
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    /// Data for stdout. A closed pipe (`strata plan | head`) is not an error.
    pub fn data(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush());
    }

    /// A human message on stderr, hidden by `--quiet`.
    pub fn info(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// Whether progress is shown: stderr is a terminal, and neither `--quiet`, `NO_COLOR` nor
    /// `STRATA_NO_PROGRESS` hides it.
    pub fn shows_progress(&self) -> bool {
        !self.quiet
            && stderr_is_terminal()
            && std::env::var_os(strata_cli::NO_COLOR).is_none()
            && std::env::var_os(strata_cli::STRATA_NO_PROGRESS).is_none()
    }

    /// A spinner on stderr for long work; `None` when progress is hidden.
    pub fn spinner(&self, message: &str) -> Option<indicatif::ProgressBar> {
        if !self.shows_progress() {
            return None;
        }
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(message.to_string());
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(spinner)
    }

    pub fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    /// An already rendered error (`error: …`, causes, hints).
    /// Each of a list of warnings (a repository's, as it was read).
    pub fn warn_each(&self, warnings: &[String]) {
        for warning in warnings {
            self.warn(warning);
        }
    }

    pub fn error(&self, rendered: &str) {
        eprintln!("{rendered}");
    }
}
