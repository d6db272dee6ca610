//! The simple commands of a `RUN` script, as a POSIX shell would split them: quotes, escapes,
//! `$(…)` and backticks kept inside words; `&&`, `||`, `;`, `|`, `&`, newlines and parentheses
//! between commands; redirections and comments dropped; leading `NAME=value` assignments,
//! compound-command keywords (`if`, `then`, `do`, …) and wrappers (`sudo`, `env`, `xargs`, …)
//! set aside so the first word is the program. Offsets are byte positions in the script.

/// One word of a command: its value with quotes removed, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellWord {
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// How a command is joined to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connector {
    /// The first command, or after `;`, `&`, a newline or a parenthesis.
    Sequence,
    And,
    Or,
    Pipe,
}

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// `NAME=value` words before the program (`DEBIAN_FRONTEND=noninteractive apt-get …`).
    pub assignments: Vec<(String, String)>,
    /// The program and its arguments, wrappers removed.
    pub words: Vec<ShellWord>,
    /// The first word's start, assignments included.
    pub start: usize,
    pub connector: Connector,
}

impl Command {
    /// The program's file name (`/opt/conda/bin/pip` → `pip`).
    pub fn program(&self) -> &str {
        self.words.first().map_or("", |word| {
            word.value.rsplit('/').next().unwrap_or(&word.value)
        })
    }

    pub fn arguments(&self) -> &[ShellWord] {
        self.words.get(1..).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Word,
    Operator(Operator),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    And,
    Or,
    Pipe,
    Separator,
    Redirect,
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
    /// A quote, backtick or `$(…)`/`${…}` the script never closes: what follows it is not
    /// understood, so nothing may be written into it.
    unterminated: bool,
}

impl Lexer<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.position + offset).copied()
    }

    /// Skip a balanced `$(…)`/`${…}`/`$((…))` or backtick span starting at `self.position`,
    /// appending it to `value` as written.
    fn substitution(&mut self, value: &mut String) {
        let start = self.position;
        let (open, close) = match self.peek(1) {
            Some(b'(') => (b'(', b')'),
            Some(b'{') => (b'{', b'}'),
            _ => {
                self.position += 1;
                value.push('$');
                return;
            }
        };
        let mut depth = 0usize;
        let mut quote: Option<u8> = None;
        self.position += 1;
        while let Some(byte) = self.peek(0) {
            match quote {
                Some(open_quote) if byte == open_quote => quote = None,
                Some(b'"') | None if byte == b'\\' => self.position += 1,
                None if byte == b'\'' || byte == b'"' => quote = Some(byte),
                None if byte == open => depth += 1,
                None if byte == close => {
                    depth -= 1;
                    if depth == 0 {
                        self.position += 1;
                        break;
                    }
                }
                Some(_) | None => {}
            }
            self.position += 1;
        }
        if depth > 0 || quote.is_some() {
            self.unterminated = true;
        }
        let end = self.position.min(self.text.len());
        value.push_str(self.text.get(start..end).unwrap_or_default());
    }

    fn backticks(&mut self, value: &mut String) {
        let start = self.position;
        self.position += 1;
        let mut closed = false;
        while let Some(byte) = self.peek(0) {
            self.position += 1;
            if byte == b'\\' {
                self.position += 1;
            } else if byte == b'`' {
                closed = true;
                break;
            }
        }
        if !closed {
            self.unterminated = true;
        }
        let end = self.position.min(self.text.len());
        value.push_str(self.text.get(start..end).unwrap_or_default());
    }

    /// The next token: a word (value, start, end) or an operator.
    fn next(&mut self) -> Option<(Token, ShellWord)> {
        // Blanks, line continuations and comments.
        loop {
            match self.peek(0)? {
                b' ' | b'\t' | b'\r' => self.position += 1,
                b'\\' if self.peek(1) == Some(b'\n') => self.position += 2,
                b'\\' if self.peek(1) == Some(b'\r') && self.peek(2) == Some(b'\n') => {
                    self.position += 3;
                }
                b'#' => {
                    while self.peek(0).is_some_and(|byte| byte != b'\n') {
                        self.position += 1;
                    }
                }
                _ => break,
            }
        }
        let start = self.position;
        let operator = |lexer: &mut Self, length: usize, operator: Operator| {
            lexer.position += length;
            Some((
                Token::Operator(operator),
                ShellWord {
                    value: String::new(),
                    start,
                    end: start + length,
                },
            ))
        };
        match (self.peek(0)?, self.peek(1)) {
            (b'&', Some(b'&')) => return operator(self, 2, Operator::And),
            (b'|', Some(b'|')) => return operator(self, 2, Operator::Or),
            (b'|', _) => return operator(self, 1, Operator::Pipe),
            (b';' | b'&' | b'\n' | b'(' | b')', _) => {
                return operator(self, 1, Operator::Separator)
            }
            (b'>' | b'<', _) => {
                let mut length = 1;
                while matches!(self.peek(length), Some(b'>' | b'<' | b'&' | b'|')) {
                    length += 1;
                }
                return operator(self, length, Operator::Redirect);
            }
            _ => {}
        }
        let mut value = String::new();
        let mut quote: Option<u8> = None;
        while let Some(byte) = self.peek(0) {
            match quote {
                Some(b'\'') if byte == b'\'' => {
                    quote = None;
                    self.position += 1;
                }
                Some(b'"') if byte == b'"' => {
                    quote = None;
                    self.position += 1;
                }
                Some(b'"') if byte == b'\\' => {
                    self.position += 1;
                    self.push_character(&mut value);
                }
                Some(b'"') if byte == b'$' => self.substitution(&mut value),
                Some(b'"') if byte == b'`' => self.backticks(&mut value),
                Some(_) => self.push_character(&mut value),
                None => match byte {
                    b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<'
                    | b'>' => break,
                    b'\'' | b'"' => {
                        quote = Some(byte);
                        self.position += 1;
                    }
                    b'\\' => {
                        self.position += 1;
                        if self.peek(0) == Some(b'\n') {
                            self.position += 1;
                        } else {
                            self.push_character(&mut value);
                        }
                    }
                    b'$' => self.substitution(&mut value),
                    b'`' => self.backticks(&mut value),
                    _ => self.push_character(&mut value),
                },
            }
        }
        if quote.is_some() {
            self.unterminated = true;
        }
        // A redirection's file descriptor (`2>`) is part of the redirection, not a word.
        if matches!(self.peek(0), Some(b'>' | b'<'))
            && !value.is_empty()
            && value.bytes().all(|byte| byte.is_ascii_digit())
        {
            return self.next();
        }
        Some((
            Token::Word,
            ShellWord {
                value,
                start,
                end: self.position.min(self.text.len()),
            },
        ))
    }

    fn push_character(&mut self, value: &mut String) {
        if let Some(character) = self
            .text
            .get(self.position..)
            .and_then(|rest| rest.chars().next())
        {
            value.push(character);
            self.position += character.len_utf8();
        } else {
            self.position += 1;
        }
    }
}

/// Words that open or continue a compound command: the command proper follows them.
const PREFIX_KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{",
];
/// Words that close a compound command, or start one whose words are not a program.
const SKIPPED_KEYWORDS: &[&str] = &["fi", "done", "esac", "}", "for", "case", "function"];
/// Programs that run the rest of their arguments as a command.
const WRAPPERS: &[&str] = &[
    "sudo", "env", "time", "nohup", "exec", "command", "xargs", "nice",
];

fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// The simple commands of a script.
pub(crate) fn commands(script: &str) -> Vec<Command> {
    split(script).0
}

/// Whether every quote, backtick and substitution of a script is closed: only then does
/// `--fix` write into it (appending `&& rm -rf …` inside an open quote would change the
/// quoted text, and again on every run).
pub(crate) fn is_complete(script: &str) -> bool {
    split(script).1
}

/// The simple commands of a script, and whether it is complete.
fn split(script: &str) -> (Vec<Command>, bool) {
    let mut lexer = Lexer {
        text: script,
        bytes: script.as_bytes(),
        position: 0,
        unterminated: false,
    };
    let mut commands = Vec::new();
    let mut words: Vec<ShellWord> = Vec::new();
    let mut connector = Connector::Sequence;
    let mut redirect_target = false;
    let finish = |words: &mut Vec<ShellWord>, connector: Connector, commands: &mut Vec<Command>| {
        if let Some(command) = simple_command(std::mem::take(words), connector) {
            commands.push(command);
        }
    };
    while let Some((token, word)) = lexer.next() {
        match token {
            Token::Word if redirect_target => redirect_target = false,
            Token::Word => words.push(word),
            Token::Operator(Operator::Redirect) => redirect_target = true,
            Token::Operator(operator) => {
                finish(&mut words, connector, &mut commands);
                connector = match operator {
                    Operator::And => Connector::And,
                    Operator::Or => Connector::Or,
                    Operator::Pipe => Connector::Pipe,
                    Operator::Separator | Operator::Redirect => Connector::Sequence,
                };
            }
        }
    }
    finish(&mut words, connector, &mut commands);
    (commands, !lexer.unterminated)
}

fn simple_command(mut words: Vec<ShellWord>, connector: Connector) -> Option<Command> {
    let start = words.first()?.start;
    let mut assignments = Vec::new();
    while let Some(first) = words.first() {
        if PREFIX_KEYWORDS.contains(&first.value.as_str()) {
            words.remove(0);
        } else if SKIPPED_KEYWORDS.contains(&first.value.as_str()) {
            return None;
        } else if is_assignment(&first.value) {
            let word = words.remove(0);
            let (name, value) = word.value.split_once('=').unwrap_or_default();
            assignments.push((name.to_string(), value.to_string()));
        } else if WRAPPERS.contains(&first.value.as_str()) && words.len() > 1 {
            words.remove(0);
            // The wrapper's own options (`sudo -E`, `env -i`, `xargs -r`).
            while words
                .first()
                .is_some_and(|word| word.value.starts_with('-'))
            {
                words.remove(0);
            }
        } else {
            break;
        }
    }
    if words.is_empty() && assignments.is_empty() {
        return None;
    }
    Some(Command {
        assignments,
        words,
        start,
        connector,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(script: &str) -> Vec<Vec<String>> {
        commands(script)
            .into_iter()
            .map(|command| command.words.into_iter().map(|word| word.value).collect())
            .collect()
    }

    #[test]
    fn splits_on_operators_and_keeps_quotes_together() {
        assert_eq!(
            programs("apt-get update && apt-get install -y 'a b' \"c\"d || true; echo $(date +%s) | tee x"),
            [
                vec!["apt-get", "update"],
                vec!["apt-get", "install", "-y", "a b", "cd"],
                vec!["true"],
                vec!["echo", "$(date +%s)"],
                vec!["tee", "x"],
            ]
        );
    }

    #[test]
    fn keywords_wrappers_assignments_redirections_and_comments() {
        let found = commands(
            "if [ -f x ]; then\n  DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y git 2>/dev/null # quiet\nfi\nfor f in a b; do rm $f; done",
        );
        let words: Vec<Vec<&str>> = found
            .iter()
            .map(|command| {
                command
                    .words
                    .iter()
                    .map(|word| word.value.as_str())
                    .collect()
            })
            .collect();
        assert_eq!(
            words,
            [
                vec!["[", "-f", "x", "]"],
                vec!["apt-get", "install", "-y", "git"],
                vec!["rm", "$f"]
            ]
        );
        assert_eq!(
            found[1].assignments,
            [("DEBIAN_FRONTEND".to_string(), "noninteractive".to_string())]
        );
        assert_eq!(found[1].program(), "apt-get");
    }

    #[test]
    fn offsets_point_into_the_script() {
        let script = "set -e;   /opt/conda/bin/pip install x";
        let found = commands(script);
        let pip = &found[1];
        assert_eq!(pip.program(), "pip");
        assert_eq!(&script[pip.start..pip.words[0].end], "/opt/conda/bin/pip");
        assert_eq!(&script[pip.words[2].start..pip.words[2].end], "x");
        assert_eq!(pip.connector, Connector::Sequence);
    }
}
