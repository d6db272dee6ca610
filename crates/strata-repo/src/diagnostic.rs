//! Pointing at a place in a file the user wrote: path, line, column and the offending line, in
//! the shape rustc and miette use, readable without colour.

use std::fmt;
use std::path::{Path, PathBuf};

/// A location in a user's file, with the text of its line for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpan {
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
    pub line_text: String,
}

impl SourceSpan {
    /// A whole line of `text` (1-based `line`).
    pub fn line(path: &Path, text: &str, line: usize) -> Self {
        Self::at(path, text, line, None)
    }

    /// A 1-based line and column of `text`.
    pub fn at(path: &Path, text: &str, line: usize, column: Option<usize>) -> Self {
        let line_text = text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or_default()
            .trim_end()
            .to_string();
        Self {
            path: path.to_path_buf(),
            line,
            column,
            line_text,
        }
    }
}

impl fmt::Display for SourceSpan {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        match self.column {
            Some(column) => writeln!(
                formatter,
                "{gutter}--> {}:{}:{column}",
                self.path.display(),
                self.line
            )?,
            None => writeln!(
                formatter,
                "{gutter}--> {}:{}",
                self.path.display(),
                self.line
            )?,
        }
        writeln!(formatter, "{gutter} |")?;
        write!(formatter, "{number} | {}", self.line_text)?;
        if let Some(column) = self.column {
            // Columns count characters; tabs keep their width by being copied into the padding.
            let padding: String = self
                .line_text
                .chars()
                .take(column.saturating_sub(1))
                .map(|character| if character == '\t' { '\t' } else { ' ' })
                .collect();
            write!(formatter, "\n{gutter} | {padding}^")?;
        }
        Ok(())
    }
}

/// Render an error and its sources, one `caused by` line each (what tests snapshot).
pub fn render_chain(error: &dyn std::error::Error) -> String {
    join_chain(error, "\ncaused by: ")
}

/// An error and its sources joined by `separator` (`": "` for one line, as build events carry).
pub fn join_chain(error: &dyn std::error::Error, separator: &str) -> String {
    let mut rendered = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        rendered.push_str(separator);
        rendered.push_str(&cause.to_string());
        source = cause.source();
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_and_caret() {
        let span = SourceSpan::at(Path::new("a.json"), "{\n  \"x\": ,\n}\n", 2, Some(8));
        insta::assert_snapshot!(span.to_string(), @r#"
         --> a.json:2:8
          |
        2 |   "x": ,
          |        ^
        "#);
    }
}
