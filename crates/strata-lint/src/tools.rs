//! Recognising the package managers the rules care about in a simple command — `apt-get`/`apt`,
//! `pip` (also `python -m pip` and inside `conda run`), `conda`/`mamba`/`micromamba` — and
//! splitting their arguments into the subcommand, options (with their values) and operands.

use crate::shell::{Command, ShellWord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    Apt,
    Pip,
    Conda,
}

/// A package-manager command, its arguments split.
#[derive(Debug, Clone)]
pub(crate) struct Invocation<'a> {
    pub tool: Tool,
    /// `apt-get`, `pip3`, `mamba`…
    pub program: String,
    /// The first operand (`install`); conda's two-word `env create` joined with a space.
    pub subcommand: Option<String>,
    /// The word the subcommand ends on (fixes insert after it).
    pub subcommand_word: Option<&'a ShellWord>,
    /// Options as written (`-y`, `--no-cache-dir`, `--index-url=x`), with their separate value.
    pub options: Vec<(&'a ShellWord, Option<&'a ShellWord>)>,
    /// Operands after the subcommand.
    pub operands: Vec<&'a ShellWord>,
    /// `conda run -n <env> pip …`: the environment pip runs in.
    pub environment: Option<String>,
    /// The first word of the command (where a finding about the whole command points).
    pub start: usize,
}

const APT_VALUE_OPTIONS: &[&str] = &[
    "-o",
    "-t",
    "-c",
    "--option",
    "--target-release",
    "--config-file",
];
const PIP_VALUE_OPTIONS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--src",
    "--upgrade-strategy",
    "--progress-bar",
    "--cache-dir",
    "--log",
    "--timeout",
    "--retries",
    "--trusted-host",
    "--proxy",
    "--only-binary",
    "--no-binary",
    "--config-settings",
    "-C",
    "--global-option",
    "--report",
    "--python",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--root-user-action",
];
const CONDA_VALUE_OPTIONS: &[&str] = &[
    "-n",
    "--name",
    "-p",
    "--prefix",
    "-c",
    "--channel",
    "--file",
    "-f",
    "--solver",
    "--platform",
    "--subdir",
    "--repodata-fn",
    "-r",
    "--root-prefix",
    "--clone",
];

fn is_pip(program: &str) -> bool {
    program.strip_prefix("pip").is_some_and(|version| {
        version
            .chars()
            .all(|character| character.is_ascii_digit() || character == '.')
    })
}

fn is_python(program: &str) -> bool {
    program.strip_prefix("python").is_some_and(|version| {
        version
            .chars()
            .all(|character| character.is_ascii_digit() || character == '.')
    })
}

/// The package-manager invocation a command is, if any.
pub(crate) fn invocation(command: &Command) -> Option<Invocation<'_>> {
    invocation_of(&command.words, command.start)
}

/// The invocation `words` (a program and its arguments) make; `start` is where the command is
/// written.
fn invocation_of(words: &[ShellWord], start: usize) -> Option<Invocation<'_>> {
    let first = &words.first()?.value;
    let program = first.rsplit('/').next().unwrap_or(first);
    let (tool, arguments): (Tool, &[ShellWord]) = match program {
        "apt-get" | "apt" => (Tool::Apt, words.get(1..)?),
        "conda" | "mamba" | "micromamba"
            if words.get(1).is_some_and(|word| word.value == "run") =>
        {
            // `conda run [-n env] [--no-capture-output] program …`: the program inside.
            let mut index = 2;
            let mut environment = None;
            while let Some(word) = words.get(index) {
                if !word.value.starts_with('-') {
                    break;
                }
                if matches!(word.value.as_str(), "-n" | "--name" | "-p" | "--prefix") {
                    environment = words.get(index + 1).map(|name| name.value.clone());
                    index += 2;
                } else {
                    if let Some(name) = word.value.strip_prefix("--name=") {
                        environment = Some(name.to_string());
                    }
                    index += 1;
                }
            }
            let mut found = invocation_of(words.get(index..)?, start)?;
            found.environment = environment.or(Some("base".to_string()));
            return Some(found);
        }
        "conda" | "mamba" | "micromamba" => (Tool::Conda, words.get(1..)?),
        program if is_pip(program) => (Tool::Pip, words.get(1..)?),
        program
            if is_python(program)
                && words.get(1).is_some_and(|word| word.value == "-m")
                && words.get(2).is_some_and(|word| word.value == "pip") =>
        {
            (Tool::Pip, words.get(3..)?)
        }
        _ => return None,
    };
    let value_options = match tool {
        Tool::Apt => APT_VALUE_OPTIONS,
        Tool::Pip => PIP_VALUE_OPTIONS,
        Tool::Conda => CONDA_VALUE_OPTIONS,
    };
    let mut options = Vec::new();
    let mut operands: Vec<&ShellWord> = Vec::new();
    let mut iterator = arguments.iter();
    while let Some(word) = iterator.next() {
        if word.value == "--" {
            operands.extend(iterator.by_ref());
            break;
        }
        if word.value.starts_with('-') && word.value.len() > 1 {
            let takes_value = value_options.contains(&word.value.as_str());
            let value = if takes_value { iterator.next() } else { None };
            options.push((word, value));
        } else {
            operands.push(word);
        }
    }
    let mut subcommand_word = None;
    let mut subcommand = None;
    if !operands.is_empty() {
        let first = operands.remove(0);
        subcommand = Some(first.value.clone());
        subcommand_word = Some(first);
        if tool == Tool::Conda && first.value == "env" && !operands.is_empty() {
            let second = operands.remove(0);
            subcommand = Some(format!("env {}", second.value));
            subcommand_word = Some(second);
        }
    }
    let program = if tool == Tool::Pip && is_python(program) {
        format!("{program} -m pip")
    } else {
        program.to_string()
    };
    Some(Invocation {
        tool,
        program,
        subcommand,
        subcommand_word,
        options,
        operands,
        environment: None,
        start,
    })
}

impl Invocation<'_> {
    pub fn is(&self, subcommand: &str) -> bool {
        self.subcommand.as_deref() == Some(subcommand)
    }

    /// Whether any option is one of `names`, as `--name`, `--name=…` or a short option
    /// (`-y`, also inside a cluster such as `-qy` when `short` is given).
    pub fn has_option(&self, names: &[&str], short: Option<char>) -> bool {
        self.options.iter().any(|(option, _)| {
            let written = option.value.as_str();
            let name = written.split_once('=').map_or(written, |(name, _)| name);
            names.contains(&name)
                || short.is_some_and(|short| {
                    !written.starts_with("--")
                        && written.len() > 1
                        && written[1..].chars().all(char::is_alphabetic)
                        && written[1..].contains(short)
                })
        })
    }

    /// The values of an option (`-r x`, `-rx`, `--requirement=x`).
    pub fn option_values(&self, long: &str, short: Option<&str>) -> Vec<&ShellWord> {
        let mut values = Vec::new();
        for (option, value) in &self.options {
            let written = option.value.as_str();
            if written == long || Some(written) == short {
                values.extend(*value);
            } else if written
                .strip_prefix(long)
                .is_some_and(|rest| rest.starts_with('='))
                || short.is_some_and(|short| {
                    written.len() > short.len()
                        && written.starts_with(short)
                        && !written.starts_with("--")
                })
            {
                values.push(option);
            }
        }
        values
    }
}

/// The value part of a word that carries its option (`--requirement=x` → `x`, `-rx` → `x`).
pub(crate) fn attached_value<'a>(word: &'a ShellWord, long: &str, short: Option<&str>) -> &'a str {
    let written = word.value.as_str();
    if let Some(rest) = written
        .strip_prefix(long)
        .and_then(|rest| rest.strip_prefix('='))
    {
        return rest;
    }
    if let Some(short) = short {
        if let Some(rest) = written.strip_prefix(short) {
            if !written.starts_with("--") && !rest.is_empty() {
                return rest;
            }
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::commands;

    #[test]
    fn recognises_tools_through_wrappers() {
        let script = "python3 -m pip install -r req.txt x; conda run -n sci pip install y; mamba env create -f e.yml; apt-get -qy install --no-install-recommends git";
        let found = commands(script);
        let pip = invocation(&found[0]).unwrap();
        assert_eq!(
            (pip.tool, pip.subcommand.as_deref()),
            (Tool::Pip, Some("install"))
        );
        assert_eq!(
            pip.option_values("--requirement", Some("-r"))[0].value,
            "req.txt"
        );
        assert_eq!(pip.operands[0].value, "x");
        let inner = invocation(&found[1]).unwrap();
        assert_eq!(
            (inner.tool, inner.environment.as_deref()),
            (Tool::Pip, Some("sci"))
        );
        assert_eq!(inner.operands[0].value, "y");
        let env = invocation(&found[2]).unwrap();
        assert!(env.is("env create"));
        let apt = invocation(&found[3]).unwrap();
        assert!(apt.is("install"));
        assert!(apt.has_option(&["--yes"], Some('y')));
        assert!(apt.has_option(&["--no-install-recommends"], None));
        assert_eq!(apt.operands[0].value, "git");
    }
}
