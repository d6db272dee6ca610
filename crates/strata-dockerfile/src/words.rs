//! Words, flags and `ARG` declarations of an instruction, each with its span in the original.

use crate::span::Span;

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
    pub(crate) value_start: Option<usize>,
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
pub(crate) fn remove_quotes(text: &str) -> String {
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
