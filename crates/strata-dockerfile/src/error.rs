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
