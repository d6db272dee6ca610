//! A `RUN` instruction as the rules see it: its simple commands with byte offsets in the
//! Dockerfile, whichever form it is written in (shell form across continuation lines, a heredoc
//! script, or exec form), and its BuildKit cache mounts.

use strata_dockerfile::Instruction;

use crate::shell::{commands, Command, Connector, ShellWord};

/// One `RUN`.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// Simple commands, offsets in the Dockerfile's text.
    pub commands: Vec<Command>,
    /// `--mount=type=cache` targets.
    pub cache_targets: Vec<String>,
    /// Where text can be appended to the shell-form command (`&& rm -rf …`): the end of the
    /// instruction, when it is in shell form without heredocs.
    pub append_at: Option<usize>,
    /// Every quote, backtick and substitution of the command is closed: `--fix` may write
    /// into it.
    pub complete: bool,
}

impl Run {
    pub fn read(instruction: &Instruction) -> Self {
        let flags = instruction.flags();
        let cache_targets = flags
            .iter()
            .filter(|flag| flag.name == "mount")
            .filter(|flag| {
                flag.option(instruction, "type")
                    .is_some_and(|(kind, _)| kind == "cache")
            })
            .filter_map(|flag| {
                flag.option(instruction, "target")
                    .or_else(|| flag.option(instruction, "dst"))
                    .or_else(|| flag.option(instruction, "destination"))
                    .map(|(target, _)| target)
            })
            .collect();
        let arguments = instruction.arguments();
        // The command starts after the flags.
        let command_start = instruction
            .words_after_flags()
            .first()
            .map_or(arguments.len(), strata_dockerfile::Word::position);
        let command = &arguments[command_start..];
        let map = |position: usize| {
            instruction
                .raw_span(command_start + position, command_start + position + 1)
                .start
        };
        let map_end = |position: usize| {
            if position == 0 {
                map(0)
            } else {
                instruction
                    .raw_span(command_start + position - 1, command_start + position)
                    .end
            }
        };
        let mut found = Vec::new();
        let mut append_at = None;
        let mut complete = true;
        if command.trim_start().starts_with('[') {
            // Exec form: one command, its words the JSON array's strings.
            if let Ok(words) = serde_json::from_str::<Vec<String>>(command.trim()) {
                let start = map(0);
                found.push(Command {
                    assignments: Vec::new(),
                    words: words
                        .into_iter()
                        .map(|value| ShellWord {
                            value,
                            start,
                            end: instruction.span.end,
                        })
                        .collect(),
                    start,
                    connector: Connector::Sequence,
                });
            }
        } else {
            complete = crate::shell::is_complete(command)
                && instruction
                    .heredocs
                    .iter()
                    .all(|heredoc| crate::shell::is_complete(&heredoc.body));
            for mut parsed in commands(command) {
                parsed.start = map(parsed.start);
                for word in &mut parsed.words {
                    word.start = map(word.start);
                    word.end = map_end(word.end);
                }
                found.push(parsed);
            }
            let shell_heredoc = found.iter().all(|parsed| {
                parsed.words.is_empty()
                    || matches!(parsed.program(), "sh" | "bash" | "dash" | "ash" | "zsh")
            });
            for heredoc in &instruction.heredocs {
                if !shell_heredoc {
                    break;
                }
                for mut parsed in commands(&heredoc.body) {
                    parsed.start += heredoc.span.start;
                    for word in &mut parsed.words {
                        word.start += heredoc.span.start;
                        word.end += heredoc.span.start;
                    }
                    found.push(parsed);
                }
            }
            // Text appended after the last command joins it with `&&`: not after a trailing
            // operator, nor where a shell comment (the joined lines are one shell line) would
            // swallow it.
            let trimmed = command.trim_end();
            if complete
                && instruction.heredocs.is_empty()
                && !trimmed.is_empty()
                && !trimmed.ends_with([';', '&', '|'])
                && !trimmed.contains(" #")
            {
                append_at = Some(instruction.span.end);
            }
        }
        // The shell's own commands of a heredoc RUN (`bash <<EOF`) are not the script's.
        if !instruction.heredocs.is_empty() {
            found.retain(|parsed| {
                !matches!(parsed.program(), "sh" | "bash" | "dash" | "ash" | "zsh")
                    || parsed
                        .arguments()
                        .iter()
                        .any(|word| !word.value.starts_with('-'))
            });
        }
        Self {
            commands: found,
            cache_targets,
            append_at,
            complete,
        }
    }

    /// Whether a cache mount's target contains `fragment`.
    pub fn caches(&self, fragment: &str) -> bool {
        self.cache_targets
            .iter()
            .any(|target| target.contains(fragment))
    }
}
