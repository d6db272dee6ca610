//! Reading the parts of a Dockerfile that decide an image's place in the hierarchy: parser
//! directives, global `ARG`s with their defaults, and the stages' `FROM` lines, with `ARG`
//! expansion, line continuations, comments and heredocs handled as BuildKit does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::SourceSpan;
use crate::error::DockerfileError;

/// One `FROM` stage of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The base reference with global `ARG`s expanded (`quay.io/jupyter/base-notebook`).
    pub base: String,
    /// The base reference as written (`$BASE_IMAGE`).
    pub base_as_written: String,
    /// The stage name from `FROM x AS name`, lowercased as BuildKit matches it.
    pub name: Option<String>,
    /// 1-based line of the `FROM` instruction.
    pub line: usize,
    /// Image references named by `COPY --from=` / `RUN --mount=from=` in this stage that are not
    /// earlier stages.
    pub copies_from: Vec<String>,
}

/// The hierarchy-relevant content of one Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub path: PathBuf,
    pub stages: Vec<Stage>,
}

/// How the final stage's base was named, followed through stage aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalBase<'a> {
    /// The external (non-stage) reference the final stage is built on.
    pub reference: &'a str,
    /// When that reference was written as exactly `$NAME` or `${NAME}`, the `ARG` name: a build
    /// can redirect it with `--build-arg NAME=...`.
    pub via_arg: Option<String>,
}

impl Dockerfile {
    /// Read and parse a Dockerfile; `build_args` override `ARG` defaults as `--build-arg` does.
    pub fn read(
        path: &Path,
        build_args: &BTreeMap<String, String>,
    ) -> Result<Self, DockerfileError> {
        let text = fs_err::read_to_string(path).map_err(|source| DockerfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text, build_args)
    }

    /// Parse Dockerfile text; `path` is used in errors only.
    pub fn parse(
        path: &Path,
        text: &str,
        build_args: &BTreeMap<String, String>,
    ) -> Result<Self, DockerfileError> {
        let instructions = logical_instructions(text);
        let mut global_args: BTreeMap<String, String> = BTreeMap::new();
        let mut stages: Vec<Stage> = Vec::new();
        for instruction in instructions {
            let keyword = instruction.keyword.to_ascii_uppercase();
            match keyword.as_str() {
                "ARG" if stages.is_empty() => {
                    for (name, default) in parse_arg_declarations(&instruction.arguments) {
                        let value = match build_args.get(&name) {
                            Some(overridden) => Some(overridden.clone()),
                            None => default.map(|default| expand(&default, &global_args)),
                        };
                        // An ARG without a value is declared but empty; BuildKit expands it to "".
                        global_args.insert(name, value.unwrap_or_default());
                    }
                }
                "FROM" => {
                    let stage = parse_from(path, text, &instruction, &global_args)?;
                    stages.push(stage);
                }
                "COPY" | "RUN" | "ADD" => {
                    if let Some(stage) = stages.last_mut() {
                        // `--from=0` names a stage by index; names are filtered once all are known.
                        let references = copy_sources(&instruction.arguments)
                            .into_iter()
                            .filter(|reference| reference.parse::<usize>().is_err());
                        stage.copies_from.extend(references);
                    }
                }
                _ => {}
            }
        }
        // Stage names are only known once every FROM is read: drop copy sources that name stages.
        let names: Vec<String> = stages
            .iter()
            .filter_map(|stage| stage.name.clone())
            .collect();
        for stage in &mut stages {
            stage.copies_from.retain(|reference| {
                !names
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(reference))
            });
        }
        if stages.is_empty() {
            return Err(DockerfileError::NoFrom {
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            stages,
        })
    }

    /// The external base of the final stage, following `FROM <stage>` aliases.
    pub fn final_base(&self) -> FinalBase<'_> {
        let mut index = self.stages.len() - 1;
        // Each hop goes to an earlier stage, so this terminates.
        while let Some(previous) = self.stage_index(&self.stages[index].base, index) {
            index = previous;
        }
        let stage = &self.stages[index];
        FinalBase {
            reference: &stage.base,
            via_arg: whole_arg_reference(&stage.base_as_written),
        }
    }

    /// Every external image the build reads: stage bases that are not earlier stages, and
    /// `COPY --from` images. The final base is included.
    pub fn external_references(&self) -> Vec<&str> {
        let mut references = Vec::new();
        for (index, stage) in self.stages.iter().enumerate() {
            if self.stage_index(&stage.base, index).is_none() {
                references.push(stage.base.as_str());
            }
            references.extend(stage.copies_from.iter().map(String::as_str));
        }
        references.sort_unstable();
        references.dedup();
        references
    }

    fn stage_index(&self, reference: &str, before: usize) -> Option<usize> {
        self.stages[..before].iter().rposition(|stage| {
            stage
                .name
                .as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case(reference))
        })
    }
}

/// `$NAME` or `${NAME}` and nothing else.
fn whole_arg_reference(written: &str) -> Option<String> {
    let name = if let Some(inner) = written
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
    {
        inner
    } else {
        written.strip_prefix('$')?
    };
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    valid.then(|| name.to_string())
}

/// One instruction after joining continuation lines and dropping comments and heredoc bodies.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    arguments: String,
    /// 1-based line where the instruction starts.
    line: usize,
}

/// Split Dockerfile text into instructions the way BuildKit's parser does for our purposes.
fn logical_instructions(text: &str) -> Vec<Instruction> {
    let lines: Vec<&str> = text.lines().collect();
    let escape = escape_directive(&lines);
    let mut instructions = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            index += 1;
            continue;
        }
        let start_line = index + 1;
        let mut joined = String::new();
        let mut current = line;
        loop {
            let content = current.trim_end();
            if let Some(stripped) = content.strip_suffix(escape) {
                joined.push_str(stripped);
                index += 1;
                // Skip comment and empty lines inside a continuation, as BuildKit does.
                while index < lines.len() {
                    let next = lines[index].trim_start();
                    if next.starts_with('#') || next.is_empty() {
                        index += 1;
                    } else {
                        break;
                    }
                }
                if index >= lines.len() {
                    break;
                }
                current = lines[index];
            } else {
                joined.push_str(content);
                index += 1;
                break;
            }
        }
        let joined = joined.trim();
        let (keyword, arguments) = match joined.split_once(char::is_whitespace) {
            Some((keyword, arguments)) => (keyword, arguments.trim()),
            None => (joined, ""),
        };
        // Heredoc bodies (`RUN <<EOF ... EOF`) are data, not instructions.
        for (terminator, strip_tabs) in heredoc_terminators(arguments) {
            while index < lines.len() {
                let body = if strip_tabs {
                    lines[index].trim_start_matches('\t')
                } else {
                    lines[index]
                };
                index += 1;
                if body == terminator {
                    break;
                }
            }
        }
        instructions.push(Instruction {
            keyword: keyword.to_string(),
            arguments: arguments.to_string(),
            line: start_line,
        });
    }
    instructions
}

/// The `# escape=` parser directive, which must come before any instruction or other comment.
fn escape_directive(lines: &[&str]) -> char {
    for line in lines {
        let Some(comment) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = comment.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "escape" {
            if let Some(character) = value.trim().chars().next() {
                return character;
            }
        } else if key != "syntax" && key != "check" {
            break;
        }
    }
    '\\'
}

/// Heredoc markers in an instruction's arguments: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`.
fn heredoc_terminators(arguments: &str) -> Vec<(String, bool)> {
    let mut terminators = Vec::new();
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
                terminators.push((after[..end].to_string(), strip_tabs));
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
        if word.is_empty()
            || !word
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            rest = after;
            continue;
        }
        rest = &after[word.len()..];
        terminators.push((word, strip_tabs));
    }
    terminators
}

/// `ARG A=1 B="two" C` → `[(A, Some(1)), (B, Some(two)), (C, None)]`.
fn parse_arg_declarations(arguments: &str) -> Vec<(String, Option<String>)> {
    split_words(arguments)
        .into_iter()
        .map(|word| match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(unquote(value))),
            None => (word, None),
        })
        .collect()
}

/// Split on whitespace, keeping quoted runs together.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for character in text.chars() {
        match quote {
            Some(open) if character == open => {
                quote = None;
                current.push(character);
            }
            None if character == '"' || character == '\'' => {
                quote = Some(character);
                current.push(character);
            }
            None if character.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            Some(_) | None => current.push(character),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        value[1..value.len() - 1].to_string()
    } else {
        value.to_string()
    }
}

fn parse_from(
    path: &Path,
    text: &str,
    instruction: &Instruction,
    global_args: &BTreeMap<String, String>,
) -> Result<Stage, DockerfileError> {
    let words: Vec<String> = split_words(&instruction.arguments)
        .into_iter()
        .filter(|word| !word.starts_with("--"))
        .collect();
    let (written, name) = match words.as_slice() {
        [image] => (image.clone(), None),
        [image, keyword, name] if keyword.eq_ignore_ascii_case("as") => {
            (image.clone(), Some(name.to_ascii_lowercase()))
        }
        _ => {
            return Err(DockerfileError::BadFrom {
                span: SourceSpan::line(path, text, instruction.line),
                reason: "expected `FROM [--platform=...] IMAGE [AS NAME]`".to_string(),
            })
        }
    };
    let base = expand(&unquote(&written), global_args);
    if base.is_empty() {
        return Err(DockerfileError::BadFrom {
            span: SourceSpan::line(path, text, instruction.line),
            reason: format!(
                "`{written}` expands to an empty image reference; give the ARG a default"
            ),
        });
    }
    Ok(Stage {
        base,
        base_as_written: written,
        name,
        line: instruction.line,
        copies_from: Vec::new(),
    })
}

/// Images named by `--from=` on `COPY`/`ADD` and `from=` inside `RUN --mount=...`.
fn copy_sources(arguments: &str) -> Vec<String> {
    let mut sources = Vec::new();
    for word in split_words(arguments) {
        if !word.starts_with("--") {
            break;
        }
        if let Some(reference) = word.strip_prefix("--from=") {
            sources.push(unquote(reference));
        } else if let Some(mount) = word.strip_prefix("--mount=") {
            for option in mount.split(',') {
                if let Some(reference) = option.strip_prefix("from=") {
                    sources.push(unquote(reference));
                }
            }
        }
    }
    sources
}

/// Expand `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alt}` and
/// `${NAME+alt}` with BuildKit's rules; undefined names expand to the empty string.
pub(crate) fn expand(text: &str, variables: &BTreeMap<String, String>) -> String {
    let mut output = String::with_capacity(text.len());
    let mut characters = text.char_indices().peekable();
    while let Some((position, character)) = characters.next() {
        if character == '\\' {
            if let Some(&(_, '$')) = characters.peek() {
                output.push('$');
                characters.next();
                continue;
            }
            output.push(character);
            continue;
        }
        if character != '$' {
            output.push(character);
            continue;
        }
        let rest = &text[position + 1..];
        if let Some(braced) = rest.strip_prefix('{') {
            let Some(end) = matching_brace(braced) else {
                output.push_str(&text[position..]);
                break;
            };
            let inner = &braced[..end];
            output.push_str(&expand_braced(inner, variables));
            let consumed = 1 + end + 1; // `{` + inner + `}`
            for _ in 0..rest[..consumed].chars().count() {
                characters.next();
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                output.push('$');
                continue;
            }
            output.push_str(variables.get(&name).map_or("", String::as_str));
            for _ in 0..name.len() {
                characters.next();
            }
        }
    }
    output
}

fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, character) in text.char_indices() {
        match character {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(index),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand_braced(inner: &str, variables: &BTreeMap<String, String>) -> String {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, operator) = inner.split_at(name_end);
    let value = variables.get(name);
    let set_and_non_empty = value.is_some_and(|value| !value.is_empty());
    if let Some(word) = operator.strip_prefix(":-") {
        if set_and_non_empty {
            value.cloned().unwrap_or_default()
        } else {
            expand(word, variables)
        }
    } else if let Some(word) = operator.strip_prefix(":+") {
        if set_and_non_empty {
            expand(word, variables)
        } else {
            String::new()
        }
    } else if let Some(word) = operator.strip_prefix('-') {
        value.cloned().unwrap_or_else(|| expand(word, variables))
    } else if let Some(word) = operator.strip_prefix('+') {
        if value.is_some() {
            expand(word, variables)
        } else {
            String::new()
        }
    } else {
        value.cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Dockerfile {
        Dockerfile::parse(Path::new("Dockerfile"), text, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn docker_stacks_style_arg_chain_is_expanded() {
        let dockerfile = parse(
            "ARG REGISTRY=quay.io\nARG OWNER=jupyter\nARG BASE_IMAGE=$REGISTRY/$OWNER/base-notebook\nFROM $BASE_IMAGE\nRUN echo hi\n",
        );
        let base = dockerfile.final_base();
        assert_eq!(base.reference, "quay.io/jupyter/base-notebook");
        assert_eq!(base.via_arg.as_deref(), Some("BASE_IMAGE"));
    }

    #[test]
    fn build_args_override_defaults() {
        let mut args = BTreeMap::new();
        args.insert("OWNER".to_string(), "me".to_string());
        let dockerfile = Dockerfile::parse(
            Path::new("Dockerfile"),
            "ARG OWNER=jupyter\nFROM quay.io/${OWNER}/base:${TAG:-latest}\n",
            &args,
        )
        .unwrap();
        assert_eq!(dockerfile.final_base().reference, "quay.io/me/base:latest");
        assert_eq!(dockerfile.final_base().via_arg, None);
    }

    #[test]
    fn multi_stage_final_base_follows_stage_aliases() {
        let dockerfile = parse(
            "FROM golang:1.22 AS build\nRUN make\nFROM sci/base:1.0 AS Runtime\nFROM runtime\nCOPY --from=build /x /x\nCOPY --from=ghcr.io/tool:1 /t /t\n",
        );
        assert_eq!(dockerfile.final_base().reference, "sci/base:1.0");
        assert_eq!(
            dockerfile.external_references(),
            vec!["ghcr.io/tool:1", "golang:1.22", "sci/base:1.0"]
        );
    }

    #[test]
    fn platform_flag_lowercase_keywords_and_continuations() {
        let dockerfile = parse("# syntax=docker/dockerfile:1\nfrom --platform=$BUILDPLATFORM \\\n  # a comment\n  debian:12 as base\n");
        assert_eq!(dockerfile.stages[0].base, "debian:12");
        assert_eq!(dockerfile.stages[0].name.as_deref(), Some("base"));
        assert_eq!(dockerfile.stages[0].line, 2);
    }

    #[test]
    fn heredoc_bodies_are_not_instructions() {
        let dockerfile =
            parse("FROM a:1\nRUN <<EOF\nFROM b:2\nEOF\nCOPY <<-'END' /x\n\tFROM c:3\n\tEND\n");
        assert_eq!(dockerfile.stages.len(), 1);
    }

    #[test]
    fn escape_directive_changes_continuation_character() {
        let dockerfile = parse("# escape=`\nFROM `\n  windows:1\n");
        assert_eq!(dockerfile.stages[0].base, "windows:1");
    }

    #[test]
    fn run_mount_from_is_a_dependency() {
        let dockerfile = parse("FROM a:1\nRUN --mount=type=bind,from=tools:2,target=/t true\n");
        assert_eq!(dockerfile.external_references(), vec!["a:1", "tools:2"]);
    }

    #[test]
    fn missing_from_is_an_error() {
        let error = Dockerfile::parse(
            Path::new("x/Dockerfile"),
            "ARG A=1\nRUN true\n",
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`x/Dockerfile` has no `FROM` instruction"
        );
    }

    #[test]
    fn empty_expansion_is_an_error_naming_the_line() {
        let error = Dockerfile::parse(
            Path::new("Dockerfile"),
            "ARG BASE\nFROM $BASE\n",
            &BTreeMap::new(),
        )
        .unwrap_err();
        insta::assert_snapshot!(crate::diagnostic::render_chain(&error), @"
        bad `FROM` instruction: `$BASE` expands to an empty image reference; give the ARG a default
         --> Dockerfile:2
          |
        2 | FROM $BASE
        ");
    }

    #[test]
    fn expansion_operators() {
        let mut variables = BTreeMap::new();
        variables.insert("SET".to_string(), "value".to_string());
        variables.insert("EMPTY".to_string(), String::new());
        assert_eq!(
            expand("${SET:-d}/${UNSET:-d}/${EMPTY:-d}", &variables),
            "value/d/d"
        );
        assert_eq!(
            expand("${SET:+a}/${UNSET:+a}/${EMPTY:+a}", &variables),
            "a//"
        );
        assert_eq!(
            expand("${EMPTY-d}/${UNSET-d}/${EMPTY+a}", &variables),
            "/d/a"
        );
        assert_eq!(expand("\\$SET $SET$ $", &variables), "$SET value$ $");
    }
}
