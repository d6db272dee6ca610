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
    /// The line's text; for a long line, the part around the column (see `cut`).
    pub line_text: String,
    /// Characters of the line left out before `line_text` (0: it starts at the line's start).
    pub cut: usize,
}

/// Around a column, how much of a long line is shown on each side: a one-line Dockerfile of
/// a megabyte is pointed into, not printed.
const SHOWN_AROUND: usize = 60;

impl SourceSpan {
    /// A whole line of `text` (1-based `line`).
    pub fn line(path: &Path, text: &str, line: usize) -> Self {
        Self::at(path, text, line, None)
    }

    /// A 1-based line and column of `text`.
    pub fn at(path: &Path, text: &str, line: usize, column: Option<usize>) -> Self {
        let whole = text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or_default()
            .trim_end();
        let (line_text, cut) = Self::shown(whole, column);
        Self {
            path: path.to_path_buf(),
            line,
            column,
            line_text,
            cut,
        }
    }

    /// What of `line` to show for a 1-based `column`: the whole line when it is short, else
    /// [`SHOWN_AROUND`] characters on each side of the column; and how many characters were
    /// left out before it.
    pub fn shown(line: &str, column: Option<usize>) -> (String, usize) {
        if line.len() <= 2 * SHOWN_AROUND {
            return (line.to_string(), 0);
        }
        let (end, cut) = Self::window_bounds(line.chars().count(), column.unwrap_or(1));
        let shown: String = line.chars().skip(cut).take(end - cut).collect();
        (shown, cut)
    }

    /// For a line of `length` characters and a 1-based `column`: the end and start (in
    /// characters) of what [`SourceSpan::shown`] shows.
    pub fn window_bounds(length: usize, column: usize) -> (usize, usize) {
        if length <= 2 * SHOWN_AROUND {
            return (length, 0);
        }
        let cut = column
            .saturating_sub(1)
            .saturating_sub(SHOWN_AROUND)
            .min(length);
        ((cut + 2 * SHOWN_AROUND).min(length), cut)
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
        let elided = if self.cut > 0 { "…" } else { "" };
        write!(formatter, "{number} | {elided}{}", self.line_text)?;
        if let Some(column) = self.column {
            // Columns count characters; tabs keep their width by being copied into the padding.
            let padding: String = elided
                .chars()
                .chain(self.line_text.chars())
                .take((column + elided.chars().count()).saturating_sub(1 + self.cut))
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
