//! Findings: what a rule reports (a byte offset, a message, the edits that fix it) and what a
//! user sees (file, line, column, severity, the line itself).

use serde::Serialize;
use strata_dockerfile::Edit;

use crate::rules::Severity;

/// What a check reports, before selection, severities and suppressions are applied.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub rule: &'static str,
    /// Byte offset in the Dockerfile.
    pub offset: usize,
    pub message: String,
    /// The automatic fix, when it is safe.
    pub edits: Vec<Edit>,
}

impl Report {
    pub fn new(rule: &'static str, offset: usize, message: impl Into<String>) -> Self {
        Self {
            rule,
            offset,
            message: message.into(),
            edits: Vec::new(),
        }
    }

    pub fn with_edits(mut self, edits: Vec<Edit>) -> Self {
        self.edits = edits;
        self
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The rule's code (`APT004`).
    pub rule: &'static str,
    /// The rule's name (`apt-lists-not-removed`).
    pub name: &'static str,
    pub severity: Severity,
    /// The Dockerfile, as given or relative to the repository root.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    /// What to do about it.
    pub fix: &'static str,
    /// Whether `--fix` rewrites it.
    pub fixable: bool,
    /// The line's text, for display: for a long line, the part around the column.
    #[serde(skip)]
    pub source_line: String,
    /// Characters of the line left out before `source_line`.
    #[serde(skip)]
    pub source_cut: usize,
    #[serde(skip)]
    pub(crate) edits: Vec<Edit>,
    #[serde(skip)]
    pub(crate) offset: usize,
}

/// Line starts of a text, for offset → line and column.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// Whether each line is ASCII, where a column is a byte count (found in constant time,
    /// however long the line and however many findings it has).
    ascii: Vec<bool>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(position, _)| position + 1),
        );
        let ascii = starts
            .iter()
            .enumerate()
            .map(|(index, start)| {
                let end = starts.get(index + 1).copied().unwrap_or(text.len());
                text.as_bytes()[*start..end].is_ascii()
            })
            .collect();
        Self {
            text,
            starts,
            ascii,
        }
    }

    /// 1-based line and column (characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|start| *start <= offset);
        let start = self.starts[line - 1];
        let column = if self.ascii[line - 1] {
            offset - start + 1
        } else {
            self.text
                .get(start..offset)
                .map_or(1, |before| before.chars().count() + 1)
        };
        (line, column)
    }

    /// A 1-based line's text, without its line break.
    pub fn text(&self, line: usize) -> &'a str {
        let Some(start) = self.starts.get(line.wrapping_sub(1)).copied() else {
            return "";
        };
        let end = self
            .starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        self.text[start..end.max(start)].trim_end_matches('\r')
    }

    /// What of a line to show for a finding at `column`, and how many characters are left out
    /// before it (see `SourceSpan::shown`): on an ASCII line by slicing, so a line with
    /// thousands of findings is not walked once for each.
    pub fn shown(&self, line: usize, column: usize) -> (String, usize) {
        let text = self.text(line);
        if !self
            .ascii
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(false)
        {
            return strata_repo::SourceSpan::shown(text, Some(column));
        }
        let (window, cut) = strata_repo::SourceSpan::window_bounds(text.len(), column);
        (text[cut..window].to_string(), cut)
    }

    pub fn count(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let lines = Lines::new("FROM a\nRUN é x\r\nLAST");
        assert_eq!(lines.position(0), (1, 1));
        assert_eq!(lines.position(7), (2, 1));
        assert_eq!(lines.position("FROM a\nRUN é ".len()), (2, 7));
        assert_eq!(lines.text(2), "RUN é x");
        assert_eq!(lines.text(3), "LAST");
        assert_eq!(lines.text(9), "");
    }
}
