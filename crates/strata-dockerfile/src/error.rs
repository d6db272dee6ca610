//! Syntax errors: what is wrong and on which line.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error(
        "the heredoc `<<{name}` opened on line {line} is never closed: no line is exactly `{name}`"
    )]
    UnterminatedHeredoc { name: String, line: usize },
}

impl SyntaxError {
    /// The 1-based line the error points at.
    pub fn line(&self) -> usize {
        match self {
            Self::UnterminatedHeredoc { line, .. } => *line,
        }
    }
}

impl strata_diagnostic::Diagnostic for SyntaxError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        Some(strata_diagnostic::ExitClass::Input)
    }
}
