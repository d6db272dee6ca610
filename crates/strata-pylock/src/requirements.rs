//! Requirements files as pip reads them: one PEP 508 requirement per line, `\` continuations,
//! `#` comments, `-r`/`--requirement` and `-c`/`--constraint` includes (relative to the including
//! file), `-i`/`--index-url`, `--extra-index-url`, `--no-binary`, `--only-binary`, `--pre`,
//! per-requirement `--hash` options (ignored: the lock computes its own), `${VAR}` expansion, and
//! direct URLs (`name @ https://.../name-1.0-py3-none-any.whl` or a bare wheel URL).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::{Requirement, VerbatimUrl};

use crate::error::LockError;
use crate::wheel::{parse_filename, DistributionFile};

/// PyPI's simple API, the default index.
pub const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// A requirement and where it came from.
#[derive(Debug, Clone)]
pub struct SourcedRequirement {
    pub requirement: Requirement<VerbatimUrl>,
    /// `-r requirements.txt` or `-c constraints.txt`, as pip-compile annotates.
    pub origin: String,
}

/// Everything read from a requirements file and its includes.
#[derive(Debug, Clone, Default)]
pub struct RequirementsFile {
    pub requirements: Vec<SourcedRequirement>,
    pub constraints: Vec<SourcedRequirement>,
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// Packages that may be locked from a source distribution (`:all:` for every one).
    pub no_binary: BTreeSet<String>,
    pub pre: bool,
}

impl RequirementsFile {
    /// Read `path` and everything it includes.
    pub fn read(path: &Path) -> Result<Self, LockError> {
        let mut file = Self::default();
        let mut stack = Vec::new();
        file.read_into(
            path,
            false,
            &mut stack,
            path.parent().unwrap_or(Path::new("")),
        )?;
        Ok(file)
    }

    fn read_into(
        &mut self,
        path: &Path,
        constraint: bool,
        stack: &mut Vec<PathBuf>,
        display_base: &Path,
    ) -> Result<(), LockError> {
        stack.push(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
        let text = strata_fs::read_text(path)?;
        let shown = path
            .strip_prefix(display_base)
            .unwrap_or(path)
            .display()
            .to_string();
        let origin = if constraint {
            format!("-c {shown}")
        } else {
            format!("-r {shown}")
        };
        for (line_number, line) in logical_lines(&text) {
            let error = |message: String| LockError::Requirement {
                path: path.to_path_buf(),
                line: line_number,
                message,
                snippet: crate::error::snippet(&text, line_number),
            };
            let line = expand_environment(&line);
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(first) = words.first() else { continue };
            let option_value = |index: usize| -> Result<String, LockError> {
                if let Some((_, value)) = words[0].split_once('=') {
                    return Ok(value.to_string());
                }
                words
                    .get(index)
                    .map(|value| (*value).to_string())
                    .ok_or_else(|| error(format!("`{first}` needs a value")))
            };
            let option = first.split_once('=').map_or(*first, |(option, _)| option);
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    let include = path
                        .parent()
                        .unwrap_or(Path::new(""))
                        .join(option_value(1)?);
                    let canonical = include.canonicalize().unwrap_or_else(|_| include.clone());
                    if let Some(position) = stack.iter().position(|open| *open == canonical) {
                        let base = if display_base.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            display_base
                        };
                        let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
                        let name = |file: &Path| {
                            file.strip_prefix(&base)
                                .unwrap_or(file)
                                .display()
                                .to_string()
                        };
                        let chain: Vec<String> = stack[position..]
                            .iter()
                            .map(|open| name(open))
                            .chain(std::iter::once(name(&canonical)))
                            .collect();
                        return Err(LockError::IncludeCycle {
                            path: path.to_path_buf(),
                            line: line_number,
                            chain: chain.join(" → "),
                            snippet: crate::error::snippet(&text, line_number),
                        });
                    }
                    self.read_into(
                        &include,
                        constraint || option == "-c" || option == "--constraint",
                        stack,
                        display_base,
                    )?;
                }
                "-i" | "--index-url" => self.index_url = Some(option_value(1)?),
                "--extra-index-url" => self.extra_index_urls.push(option_value(1)?),
                "--no-binary" => {
                    for name in option_value(1)?.split(',') {
                        self.no_binary.insert(normalize(name));
                    }
                }
                "--only-binary" => {
                    for name in option_value(1)?.split(',') {
                        self.no_binary.remove(&normalize(name));
                    }
                }
                "--pre" => self.pre = true,
                "--prefer-binary" | "--require-hashes" | "--trusted-host" | "--no-index" => {}
                "-e" | "--editable" => {
                    return Err(error(
                        "editable requirements cannot be locked; list the package by name"
                            .to_string(),
                    ))
                }
                "-f" | "--find-links" => {
                    return Err(error(
                        "`--find-links` is not supported; use `--extra-index-url`".to_string(),
                    ))
                }
                _ if option.starts_with('-') => {
                    return Err(error(format!("unknown option `{option}`")))
                }
                _ => {
                    let requirement = parse_requirement(&line).map_err(error)?;
                    let sourced = SourcedRequirement {
                        requirement,
                        origin: origin.clone(),
                    };
                    if constraint {
                        self.constraints.push(sourced);
                    } else {
                        self.requirements.push(sourced);
                    }
                }
            }
        }
        stack.pop();
        Ok(())
    }
}

/// `--no-binary` names normalised; `:all:` and `:none:` as they are.
fn normalize(name: &str) -> String {
    let name = name.trim();
    if name.starts_with(':') {
        return name.to_string();
    }
    crate::normalize_name(name)
}

/// Lines with continuations joined and comments removed, numbered from their first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, line) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        let without_comment = strip_comment(line);
        if let Some(continued) = without_comment.trim_end().strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(without_comment);
        let logical = std::mem::take(&mut current);
        if !logical.trim().is_empty() {
            lines.push((start, logical.trim().to_string()));
        }
    }
    if !current.trim().is_empty() {
        lines.push((start, current.trim().to_string()));
    }
    lines
}

/// `#` starts a comment at the start of a line or after whitespace (not inside a URL fragment).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'#' && (index == 0 || bytes[index - 1].is_ascii_whitespace()) {
            return &line[..index];
        }
    }
    line
}

/// `${NAME}` from the environment, as pip expands it.
fn expand_environment(line: &str) -> String {
    let mut output = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        output.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end)
                if after[..end].chars().all(|character| {
                    character.is_ascii_uppercase() || character.is_ascii_digit() || character == '_'
                }) =>
            {
                output.push_str(&std::env::var(&after[..end]).unwrap_or_default());
                rest = &after[end + 1..];
            }
            _ => {
                output.push_str("${");
                rest = after;
            }
        }
    }
    output.push_str(rest);
    output
}

/// Whether a package or extra name is valid: letters, digits, `.`, `_`, `-`, starting and ending
/// with a letter or digit.
fn valid_name(name: &str) -> bool {
    name.chars()
        .all(|character| character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|last| last.is_ascii_alphanumeric())
}

/// Keep the PEP 508 parser's panics (caught below, and turned into errors) off stderr: the
/// default panic hook would print them before `catch_unwind` returns. Other panics still print.
fn quiet_parser_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let from_parser = info
                .location()
                .is_some_and(|location| location.file().contains("pep508"));
            if !from_parser {
                previous(info);
            }
        }));
    });
}

/// The deepest nesting of parentheses a requirement's markers may have.
const MAX_MARKER_DEPTH: usize = 32;

/// How deep parentheses nest in `text`, outside quoted strings.
fn parenthesis_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    for character in text.chars() {
        match (quote, character) {
            (Some(open), _) if character == open => quote = None,
            (None, '\'' | '"') => quote = Some(character),
            (None, '(') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parse a PEP 508 requirement. Names and extras are checked first, because `pep508_rs` panics
/// on some invalid ones (`numpy.`, `requests[socks.]`) instead of returning an error; any other
/// panic of the parser is turned into an error too.
pub(crate) fn parse_pep508(text: &str) -> Result<Requirement<VerbatimUrl>, String> {
    let trimmed = text.trim_start();
    let name: String = trimmed
        .chars()
        .take_while(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-')
        })
        .collect();
    if !name.is_empty() && !valid_name(&name) {
        return Err(format!(
            "`{name}` is not a valid package name: names start and end with a letter or digit"
        ));
    }
    if let Some(extras) = trimmed[name.len()..]
        .trim_start()
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map(|(extras, _)| extras)
    {
        for extra in extras
            .split(',')
            .map(str::trim)
            .filter(|extra| !extra.is_empty())
        {
            if !valid_name(extra) {
                return Err(format!("`{extra}` is not a valid extra name: names start and end with a letter or digit"));
            }
        }
    }
    // The marker parser recurses once per parenthesis, without a limit: 20,000 of them
    // overflow the stack, which no `catch_unwind` survives. No real marker comes near this.
    if parenthesis_depth(text) > MAX_MARKER_DEPTH {
        return Err(format!(
            "its markers nest parentheses more than {MAX_MARKER_DEPTH} deep"
        ));
    }
    quiet_parser_panics();
    std::panic::catch_unwind(|| Requirement::from_str(text))
        .map_err(|_| format!("`{text}` is not a valid requirement"))?
        .map_err(|error| error.message.to_string())
}

/// One requirement line: PEP 508, or a bare wheel URL; trailing `--hash` options dropped.
fn parse_requirement(line: &str) -> Result<Requirement<VerbatimUrl>, String> {
    let requirement_text = match line.find(" --") {
        Some(position) => &line[..position],
        None => line,
    };
    let requirement_text = requirement_text.trim();
    if requirement_text.starts_with("http://")
        || requirement_text.starts_with("https://")
        || requirement_text.starts_with("file:")
    {
        let filename = requirement_text
            .split(['#', '?'])
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let name = match parse_filename(filename) {
            Some(DistributionFile::Wheel(wheel)) => wheel.name,
            Some(DistributionFile::Sdist { name, .. }) => name,
            None => {
                return Err(format!(
                    "`{requirement_text}` is not a wheel or source distribution URL"
                ))
            }
        };
        return parse_pep508(&format!("{name} @ {requirement_text}"));
    }
    parse_pep508(requirement_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_nested_past_the_limit_are_an_error_not_a_stack_overflow() {
        let deep = format!(
            "x; {}python_version > \"3\"{}",
            "(".repeat(20_000),
            ")".repeat(20_000)
        );
        let error = parse_pep508(&deep).unwrap_err();
        assert!(error.contains("more than 32 deep"), "{error}");
        let fine = format!(
            "x; {}python_version > \"3\"{}",
            "(".repeat(8),
            ")".repeat(8)
        );
        assert!(parse_pep508(&fine).is_ok());
        // Parentheses inside a quoted string are text, not nesting.
        assert_eq!(parenthesis_depth("x; platform_version == '((((('"), 0);
        let unterminated = format!("x; {}", "(".repeat(20_000));
        assert!(parse_pep508(&unterminated).is_err());
    }

    #[test]
    fn pip_syntax() {
        let directory = tempfile::tempdir().unwrap();
        fs_err::write(
            directory.path().join("constraints.txt"),
            "urllib3<2  # pinned for reasons\n",
        )
        .unwrap();
        fs_err::write(directory.path().join("base.txt"), "six==1.16.0\n").unwrap();
        fs_err::write(
            directory.path().join("requirements.txt"),
            "# comment\n-r base.txt\n-c constraints.txt\n--index-url https://pypi.org/simple\n--extra-index-url=https://example.org/simple\nrequests[socks] >= 2.31 ; python_version >= \"3.8\" \\\n    --hash=sha256:abc\nnumpy==1.26.4  # trailing comment\n--no-binary numpy\npkg @ https://example.org/pkg-1.0-py3-none-any.whl#sha256=00\nhttps://example.org/other_pkg-2.0-py3-none-any.whl\n",
        )
        .unwrap();
        let file = RequirementsFile::read(&directory.path().join("requirements.txt")).unwrap();
        let names: Vec<String> = file
            .requirements
            .iter()
            .map(|sourced| sourced.requirement.name.to_string())
            .collect();
        assert_eq!(names, ["six", "requests", "numpy", "pkg", "other-pkg"]);
        assert_eq!(file.requirements[0].origin, "-r base.txt");
        assert_eq!(file.requirements[1].origin, "-r requirements.txt");
        assert_eq!(file.requirements[1].requirement.extras.len(), 1);
        assert_eq!(file.constraints[0].requirement.name.as_ref(), "urllib3");
        assert_eq!(file.constraints[0].origin, "-c constraints.txt");
        assert_eq!(file.index_url.as_deref(), Some("https://pypi.org/simple"));
        assert_eq!(file.extra_index_urls, ["https://example.org/simple"]);
        assert!(file.no_binary.contains("numpy"));
    }

    #[test]
    fn names_the_parser_would_panic_on_are_errors() {
        // pep508_rs 0.9 panics on these instead of returning an error.
        assert!(parse_pep508("numpy.")
            .unwrap_err()
            .contains("`numpy.` is not a valid package name"));
        assert!(parse_pep508("requests[socks.]")
            .unwrap_err()
            .contains("`socks.` is not a valid extra name"));
        assert!(parse_pep508("requests[socks] >= 2").is_ok());
    }

    #[test]
    fn errors_name_file_and_line() {
        let directory = tempfile::tempdir().unwrap();
        fs_err::write(
            directory.path().join("requirements.txt"),
            "six\nrequests >=< 2\n",
        )
        .unwrap();
        let error = RequirementsFile::read(&directory.path().join("requirements.txt")).unwrap_err();
        let message = error
            .to_string()
            .replace(&directory.path().display().to_string(), "[DIR]");
        assert!(
            message.starts_with("invalid requirement in `[DIR]/requirements.txt` line 2:"),
            "{message}"
        );
        assert!(message.contains("2 | requests >=< 2"), "{message}");
        fs_err::write(
            directory.path().join("requirements.txt"),
            "-r requirements.txt\n",
        )
        .unwrap();
        assert!(matches!(
            RequirementsFile::read(&directory.path().join("requirements.txt")),
            Err(LockError::IncludeCycle { .. })
        ));
    }
}
