//! Words, flags and `ARG` declarations of an instruction, each with its span in the original.

use crate::syntax::{Instruction, Span};

/// A shell word of an instruction's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// As written (quotes kept), joined across continuation lines.
    pub text: String,
    pub span: Span,
    /// Where the word starts in the joined arguments.
    pub(crate) start: usize,
}

impl Word {
    /// Where the word starts in the instruction's joined arguments.
    pub fn position(&self) -> usize {
        self.start
    }

    /// The word with its quotes removed, as the shell-like lexer reads it.
    pub fn value(&self) -> String {
        remove_quotes(&self.text)
    }
}

/// A `--name[=value]` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    /// Quotes removed.
    pub value: Option<String>,
    pub span: Span,
    pub value_span: Option<Span>,
    /// Where the value starts in the joined arguments.
    value_start: Option<usize>,
}

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

/// One `NAME[=default]` of an `ARG` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDeclaration {
    pub name: String,
    /// The default with quotes removed; `None` for a bare `ARG NAME`.
    pub default: Option<String>,
    /// The default as written, inside its quotes when it is quoted as a whole, so an edit keeps
    /// them.
    pub default_span: Option<Span>,
}

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

/// Word boundaries: whitespace separates words except inside quotes.
pub(crate) fn split_words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    for (position, character) in text.char_indices() {
        match quote {
            Some(open) if character == open => quote = None,
            Some(_) => {}
            None if character == '"' || character == '\'' => {
                quote = Some(character);
                start.get_or_insert(position);
            }
            None if character.is_whitespace() => {
                if let Some(begin) = start.take() {
                    words.push((begin, position));
                }
            }
            None => {
                start.get_or_insert(position);
            }
        }
    }
    if let Some(begin) = start {
        words.push((begin, text.len()));
    }
    words
}

/// `a"b c"d` → `ab cd`.
fn remove_quotes(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    for character in text.chars() {
        match quote {
            Some(open) if character == open => quote = None,
            None if character == '"' || character == '\'' => quote = Some(character),
            _ => output.push(character),
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse;

    #[test]
    fn arg_defaults_keep_their_quotes_outside_the_span() {
        let text = "ARG A=1 B=\"two words\" C\nFROM x\n";
        let dockerfile = parse(text).unwrap();
        let declarations = dockerfile.instructions[0].arg_declarations();
        assert_eq!(declarations.len(), 3);
        assert_eq!(declarations[1].default.as_deref(), Some("two words"));
        let span = declarations[1].default_span.unwrap();
        assert_eq!(&text[span.start..span.end], "two words");
        assert_eq!(declarations[2].default, None);
    }

    #[test]
    fn mount_options_have_spans() {
        let text = "FROM a\nRUN --mount=type=bind,from=tools:2,target=/t true\n";
        let dockerfile = parse(text).unwrap();
        let run = &dockerfile.instructions[1];
        let flag = &run.flags()[0];
        assert_eq!(flag.name, "mount");
        let (value, span) = flag.option(run, "from").unwrap();
        assert_eq!(value, "tools:2");
        assert_eq!(&text[span.start..span.end], "tools:2");
        assert!(flag.option(run, "source").is_none());
    }
}
