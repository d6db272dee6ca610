//! The Dockerfile as BuildKit splits it: parser directives at the top, then instructions, each
//! joined across continuation lines (comment and empty lines inside are skipped) and followed by
//! its heredoc bodies. Every instruction keeps a map from its joined ("logical") text back to
//! byte offsets of the original, so words and flags carry spans an edit can replace.

use crate::error::SyntaxError;
pub use crate::span::Span;
use crate::words::{remove_quotes, split_words, ArgDeclaration, Flag, Word};

/// A parser directive (`# syntax=…`, `# escape=…`, `# check=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lowercase name.
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// A heredoc body (`RUN <<EOF … EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word.
    pub name: String,
    /// `<<-EOF`: leading tabs are stripped from body lines and the terminator.
    pub strip_tabs: bool,
    /// `<<"EOF"` or `<<'EOF'`: no expansion inside.
    pub quoted: bool,
    /// The body's lines as written, without the terminator line.
    pub body: String,
    /// The body and the terminator line.
    pub span: Span,
    /// 1-based line of the terminator.
    pub end_line: usize,
}

/// One instruction.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// The keyword, uppercase (`FROM`, `RUN`).
    pub keyword: String,
    pub keyword_span: Span,
    /// From the keyword to the end of its last line (heredoc bodies included), without the
    /// final line break.
    pub span: Span,
    /// 1-based first and last lines.
    pub line: usize,
    pub end_line: usize,
    pub heredocs: Vec<Heredoc>,
    /// The joined text, keyword included, and each of its bytes' offset in the original.
    logical: String,
    offsets: Vec<usize>,
    /// Where the arguments start in `logical`.
    arguments_start: usize,
}

/// A parsed Dockerfile; `text` is the original, byte for byte.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub text: String,
    pub escape: char,
    pub directives: Vec<Directive>,
    pub instructions: Vec<Instruction>,
}

/// A physical line: where it starts, where its content ends (before `\r\n` or `\n`), and where
/// the next line starts.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
}

fn physical_lines(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let content = piece.strip_suffix('\n').unwrap_or(piece);
        let content = content.strip_suffix('\r').unwrap_or(content);
        lines.push(Line {
            start,
            end: start + content.len(),
        });
        start += piece.len();
    }
    lines
}

/// Parse Dockerfile text. Only unterminated heredocs are errors: everything else BuildKit would
/// refuse is left to the build (or to `strata lint`).
pub fn parse(text: &str) -> Result<Dockerfile, SyntaxError> {
    let lines = physical_lines(text);
    let line_text = |line: &Line| &text[line.start..line.end];
    let (directives, escape) = parse_directives(text, &lines);
    let mut instructions = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let trimmed = line_text(&lines[index]).trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            index += 1;
            continue;
        }
        let first = index;
        let mut logical = String::new();
        let mut offsets = Vec::new();
        let push = |logical: &mut String, offsets: &mut Vec<usize>, start: usize, piece: &str| {
            for (position, character) in piece.char_indices() {
                logical.push(character);
                for byte in 0..character.len_utf8() {
                    offsets.push(start + position + byte);
                }
            }
        };
        let mut last;
        loop {
            let line = lines[index];
            let content = line_text(&line);
            let content_trimmed = content.trim_end();
            last = index;
            index += 1;
            if let Some(without) = content_trimmed.strip_suffix(escape) {
                push(&mut logical, &mut offsets, line.start, without);
                // Comment and empty lines inside a continuation are skipped, as BuildKit does.
                while index < lines.len() {
                    let next = line_text(&lines[index]).trim_start();
                    if next.is_empty() || next.starts_with('#') {
                        index += 1;
                    } else {
                        break;
                    }
                }
                if index >= lines.len() {
                    break;
                }
            } else {
                push(&mut logical, &mut offsets, line.start, content_trimmed);
                break;
            }
        }
        let leading = logical.len() - logical.trim_start().len();
        let keyword_end = logical[leading..]
            .find(char::is_whitespace)
            .map_or(logical.len(), |end| leading + end);
        let keyword = logical[leading..keyword_end].to_ascii_uppercase();
        let arguments_start = logical[keyword_end..]
            .find(|character: char| !character.is_whitespace())
            .map_or(logical.len(), |start| keyword_end + start);
        let raw = |position: usize| offsets.get(position).copied();
        let keyword_span = Span {
            start: raw(leading).unwrap_or(lines[first].start),
            end: raw(keyword_end.saturating_sub(1)).map_or(lines[first].start, |end| end + 1),
        };
        let mut end_line = last + 1;
        let mut span_end = lines[last].end;
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, strip_tabs, quoted) in heredoc_markers(&logical[arguments_start..]) {
                let body_start = lines.get(index).map_or(text.len(), |line| line.start);
                let mut closed = None;
                while index < lines.len() {
                    let content = line_text(&lines[index]);
                    let candidate = if strip_tabs {
                        content.trim_start_matches('\t')
                    } else {
                        content
                    };
                    index += 1;
                    if candidate == name {
                        closed = Some(index - 1);
                        break;
                    }
                }
                let Some(terminator) = closed else {
                    return Err(SyntaxError::UnterminatedHeredoc {
                        name,
                        line: first + 1,
                    });
                };
                let body_end = lines[terminator].start;
                heredocs.push(Heredoc {
                    name,
                    strip_tabs,
                    quoted,
                    body: text[body_start..body_end].to_string(),
                    span: Span {
                        start: body_start,
                        end: lines[terminator].end,
                    },
                    end_line: terminator + 1,
                });
                end_line = terminator + 1;
                span_end = lines[terminator].end;
            }
        }
        instructions.push(Instruction {
            keyword,
            keyword_span,
            span: Span {
                start: keyword_span.start,
                end: span_end,
            },
            line: first + 1,
            end_line,
            heredocs,
            logical,
            offsets,
            arguments_start,
        });
    }
    Ok(Dockerfile {
        text: text.to_string(),
        escape,
        directives,
        instructions,
    })
}

/// Directives come before any instruction, comment or empty line.
fn parse_directives(text: &str, lines: &[Line]) -> (Vec<Directive>, char) {
    let mut directives = Vec::new();
    let mut escape = '\\';
    for (index, line) in lines.iter().enumerate() {
        let Some(comment) = text[line.start..line.end].trim().strip_prefix('#') else {
            break;
        };
        let Some((name, value)) = comment.split_once('=') else {
            break;
        };
        let name = name.trim().to_ascii_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            break;
        }
        let value = value.trim().to_string();
        if name == "escape" {
            if let Some(character) = value.chars().next() {
                escape = character;
            }
        }
        directives.push(Directive {
            name,
            value,
            line: index + 1,
        });
    }
    (directives, escape)
}

/// Heredoc markers in an instruction's arguments: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`.
fn heredoc_markers(arguments: &str) -> Vec<(String, bool, bool)> {
    let mut markers = Vec::new();
    let mut rest = arguments;
    while let Some(position) = rest.find("<<") {
        let mut after = &rest[position + 2..];
        let strip_tabs = after.starts_with('-');
        if strip_tabs {
            after = &after[1..];
        }
        let quote = after
            .chars()
            .next()
            .filter(|character| *character == '"' || *character == '\'');
        if let Some(quote) = quote {
            after = &after[1..];
            if let Some(end) = after.find(quote) {
                markers.push((after[..end].to_string(), strip_tabs, true));
                rest = &after[end + 1..];
                continue;
            }
            break;
        }
        let word: String = after
            .chars()
            .take_while(|character| character.is_ascii_alphanumeric() || *character == '_')
            .collect();
        // `<<` followed by a non-word is a shell here-string or redirection, not a heredoc.
        if !word
            .chars()
            .next()
            .is_some_and(|character| character.is_ascii_alphabetic() || character == '_')
        {
            rest = after;
            continue;
        }
        rest = &after[word.len()..];
        markers.push((word, strip_tabs, false));
    }
    markers
}

impl Instruction {
    /// The arguments as joined across continuation lines.
    pub fn arguments(&self) -> &str {
        &self.logical[self.arguments_start..]
    }

    /// The span in the original text of a range of the joined arguments (what a tool reading
    /// `arguments()` maps its positions back with).
    pub fn raw_span(&self, start: usize, end: usize) -> Span {
        let start = self.arguments_start + start;
        let end = self.arguments_start + end;
        let raw_start = self.offsets.get(start).copied().unwrap_or(self.span.end);
        let raw_end = if end > start {
            self.offsets
                .get(end - 1)
                .map_or(self.span.end, |last| last + 1)
        } else {
            raw_start
        };
        Span {
            start: raw_start,
            end: raw_end,
        }
    }

    /// The arguments split into shell words (quotes keep words together), with spans.
    pub fn words(&self) -> Vec<Word> {
        split_words(self.arguments())
            .into_iter()
            .map(|(start, end)| Word {
                text: self.arguments()[start..end].to_string(),
                span: self.raw_span(start, end),
                start,
            })
            .collect()
    }

    /// The leading `--name[=value]` flags.
    pub fn flags(&self) -> Vec<Flag> {
        self.words()
            .into_iter()
            .take_while(|word| word.text.starts_with("--"))
            .map(|word| Flag::from_word(self, &word))
            .collect()
    }

    /// The words after the leading flags.
    pub fn words_after_flags(&self) -> Vec<Word> {
        self.words()
            .into_iter()
            .skip_while(|word| word.text.starts_with("--"))
            .collect()
    }

    /// `ARG NAME[=default] …` declarations (empty for other instructions).
    pub fn arg_declarations(&self) -> Vec<ArgDeclaration> {
        if self.keyword == "ARG" {
            arg_declarations(self)
        } else {
            Vec::new()
        }
    }
}

/// Flags read with their instruction, which maps the joined text back to the original.
impl Flag {
    pub(crate) fn from_word(instruction: &Instruction, word: &Word) -> Self {
        let body = &word.text[2..];
        match body.split_once('=') {
            Some((name, value)) => {
                let value_start = word.start + 2 + name.len() + 1;
                Self {
                    name: name.to_string(),
                    value: Some(remove_quotes(value)),
                    span: word.span,
                    value_span: Some(
                        instruction.raw_span(value_start, word.start + word.text.len()),
                    ),
                    value_start: Some(value_start),
                }
            }
            None => Self {
                name: body.to_string(),
                value: None,
                span: word.span,
                value_span: None,
                value_start: None,
            },
        }
    }

    /// A `key=value` option inside a comma-separated flag value (`--mount=type=bind,from=x`):
    /// its value and the value's span.
    pub fn option(&self, instruction: &Instruction, key: &str) -> Option<(String, Span)> {
        let value_start = self.value_start?;
        // Options are read from the value as written, so offsets stay right.
        let written = &instruction.arguments()[value_start..];
        let written = &written[..written.find(char::is_whitespace).unwrap_or(written.len())];
        let mut offset = 0;
        for option in written.split(',') {
            if let Some(found) = option
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
            {
                let start = value_start + offset + key.len() + 1;
                return Some((
                    remove_quotes(found),
                    instruction.raw_span(start, start + found.len()),
                ));
            }
            offset += option.len() + 1;
        }
        None
    }
}

/// The `NAME[=default]` declarations of an `ARG` instruction.
pub(crate) fn arg_declarations(instruction: &Instruction) -> Vec<ArgDeclaration> {
    instruction
        .words()
        .into_iter()
        .map(|word| match word.text.split_once('=') {
            Some((name, value)) => {
                let mut start = word.start + name.len() + 1;
                let mut end = word.start + word.text.len();
                let bytes = value.as_bytes();
                if bytes.len() >= 2
                    && (bytes[0] == b'"' || bytes[0] == b'\'')
                    && bytes[bytes.len() - 1] == bytes[0]
                {
                    start += 1;
                    end -= 1;
                }
                ArgDeclaration {
                    name: name.to_string(),
                    default: Some(remove_quotes(value)),
                    default_span: Some(instruction.raw_span(start, end)),
                }
            }
            None => ArgDeclaration {
                name: word.text,
                default: None,
                default_span: None,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, span: Span) -> &str {
        &text[span.start..span.end]
    }

    #[test]
    fn continuations_comments_and_crlf_map_back_to_the_original() {
        let text = "# syntax=docker/dockerfile:1\r\nfrom --platform=$BUILDPLATFORM \\\r\n  # a comment\r\n\r\n  debian:12 as base\r\nRUN echo hi\r\n";
        let dockerfile = parse(text).unwrap();
        assert_eq!(dockerfile.directives[0].name, "syntax");
        let from = &dockerfile.instructions[0];
        assert_eq!(from.keyword, "FROM");
        assert_eq!(at(text, from.keyword_span), "from");
        assert_eq!((from.line, from.end_line), (2, 5));
        let words = from.words_after_flags();
        assert_eq!(words[0].text, "debian:12");
        assert_eq!(at(text, words[0].span), "debian:12");
        let flags = from.flags();
        assert_eq!(flags[0].name, "platform");
        assert_eq!(at(text, flags[0].value_span.unwrap()), "$BUILDPLATFORM");
        assert_eq!(dockerfile.instructions[1].line, 6);
    }

    #[test]
    fn heredocs_belong_to_their_instruction() {
        let text =
            "FROM a:1\nRUN <<EOF\nFROM b:2\nEOF\nCOPY <<-'END' /x\n\tFROM c:3\n\tEND\nLABEL x=1\n";
        let dockerfile = parse(text).unwrap();
        let keywords: Vec<&str> = dockerfile
            .instructions
            .iter()
            .map(|instruction| instruction.keyword.as_str())
            .collect();
        assert_eq!(keywords, ["FROM", "RUN", "COPY", "LABEL"]);
        let run = &dockerfile.instructions[1];
        assert_eq!(run.heredocs[0].body, "FROM b:2\n");
        assert_eq!((run.line, run.end_line), (2, 4));
        assert_eq!(at(text, run.span), "RUN <<EOF\nFROM b:2\nEOF");
        assert!(dockerfile.instructions[2].heredocs[0].quoted);
        assert!(dockerfile.instructions[2].heredocs[0].strip_tabs);
    }

    #[test]
    fn an_unterminated_heredoc_is_an_error_naming_its_line() {
        let error = parse("FROM a:1\nRUN <<EOF\necho hi\nFROM b:2\n").unwrap_err();
        assert_eq!(error.line(), 2);
        assert_eq!(
            error.to_string(),
            "the heredoc `<<EOF` opened on line 2 is never closed: no line is exactly `EOF`"
        );
    }

    #[test]
    fn shell_redirections_are_not_heredocs() {
        let dockerfile = parse("FROM a\nRUN cat <<< 'x' && echo $((1<<2))\nFROM b\n").unwrap();
        assert_eq!(dockerfile.instructions.len(), 3);
    }

    #[test]
    fn escape_directive_changes_the_continuation_character() {
        let dockerfile = parse("# escape=`\nFROM `\n  windows:1\n").unwrap();
        assert_eq!(dockerfile.escape, '`');
        assert_eq!(dockerfile.instructions[0].words()[0].text, "windows:1");
    }
}
