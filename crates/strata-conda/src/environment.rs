//! `environment.yml`: the channels, in priority order, and the match specs to solve.

use std::path::{Path, PathBuf};

use rattler_conda_types::{Channel, ChannelConfig, EnvironmentYaml, MatchSpec};

use crate::error::CondaError;

/// An environment file, read and checked.
#[derive(Debug, Clone)]
pub struct Environment {
    pub path: PathBuf,
    pub name: Option<String>,
    /// Highest priority first.
    pub channels: Vec<Channel>,
    pub specs: Vec<MatchSpec>,
    /// The `pip:` section, as written.
    pub pip: Vec<String>,
    /// `sha256:` of the file's bytes: part of what a lock was made from.
    pub digest: String,
}

/// How deep `{…}` and `[…]` may nest in an environment file: real ones nest two or three deep,
/// and the YAML parser's time grows with the square of the depth.
const MAX_FLOW_DEPTH: usize = 64;

/// What the YAML parser is not asked to read, each with the line: flow collections nested
/// past [`MAX_FLOW_DEPTH`], a second document, and `build_number` values past 2^64 - 1 (which
/// rattler panics on).
fn check_shape(text: &str) -> Result<(), (usize, String)> {
    let mut depth = 0usize;
    let mut seen_content = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            if seen_content {
                return Err((
                    number,
                    "a second YAML document starts here; an environment file is one document"
                        .to_string(),
                ));
            }
            continue;
        }
        let mut quote: Option<char> = None;
        for character in line.chars() {
            match (quote, character) {
                (Some(open), _) if character == open => quote = None,
                (None, '#') => break,
                (None, '\'' | '"') => quote = Some(character),
                (None, '{' | '[') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err((
                            number,
                            format!("`{{` and `[` nest more than {MAX_FLOW_DEPTH} deep"),
                        ));
                    }
                }
                (None, '}' | ']') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if !trimmed.trim_start().is_empty() && !trimmed.trim_start().starts_with('#') {
            seen_content = true;
        }
        let mut rest = line;
        while let Some(position) = rest.find("build_number") {
            rest = &rest[position + "build_number".len()..];
            let digits: String = rest
                .trim_start_matches(|character: char| {
                    !character.is_ascii_digit() && character != ',' && character != ']'
                })
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if !digits.is_empty() && digits.parse::<u64>().is_err() {
                return Err((
                    number,
                    format!(
                        "build number `{digits}` is larger than any build number can be (2^64 - 1)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Keep rattler's panic messages (turned into errors above) off the user's terminal.
fn quiet_rattler_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let from_rattler = info
                .location()
                .is_some_and(|location| location.file().contains("rattler"));
            if !from_rattler {
                previous(info);
            }
        }));
    });
}

/// Read `path`: a YAML error names its line and column, a channel or spec that does not parse
/// is named.
pub fn read_environment(path: &Path) -> Result<Environment, CondaError> {
    let text = strata_fs::read_text(path)?;
    let invalid = |message: String| CondaError::Environment {
        path: path.to_path_buf(),
        message,
    };
    check_shape(&text).map_err(|(line, message)| CondaError::EnvironmentLine {
        path: path.to_path_buf(),
        line,
        message,
    })?;
    // rattler panics on some specs instead of refusing them (a build number past 2^64 - 1):
    // a panic here is an error naming the file, never a crash.
    quiet_rattler_panics();
    let yaml = std::panic::catch_unwind(|| EnvironmentYaml::from_yaml_str(&text))
        .map_err(|_| {
            invalid(
                "rattler could not read it (a spec it does not handle; this is rattler's bug, \
                 reported upstream): check each dependency's spec"
                    .to_string(),
            )
        })?
        .map_err(|error| invalid(error.to_string()))?;
    let config = ChannelConfig::default_with_root_dir(
        path.parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    );
    let channels = yaml
        .channels
        .iter()
        .map(|channel| {
            channel
                .clone()
                .into_channel(&config)
                .map_err(|error| invalid(format!("channel `{channel}`: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if channels.is_empty() {
        return Err(invalid(
            "it names no channel: add `channels:` (strata does not assume defaults or conda-forge)"
                .to_string(),
        ));
    }
    let specs: Vec<MatchSpec> = yaml.match_specs().cloned().collect();
    if specs.is_empty() {
        return Err(invalid(
            "`dependencies:` lists no conda package".to_string(),
        ));
    }
    Ok(Environment {
        path: path.to_path_buf(),
        name: yaml.name.clone(),
        channels,
        specs,
        pip: yaml.pip_specs().map(<[String]>::to_vec).unwrap_or_default(),
        digest: strata_digest::Digest::sha256(text.as_bytes()).to_string(),
    })
}
