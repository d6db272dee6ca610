//! `environment.yml`: the channels, in priority order, and the match specs to solve.

use std::path::{Path, PathBuf};

use rattler_conda_types::{Channel, ChannelConfig, EnvironmentYaml, MatchSpec};
use sha2::{Digest, Sha256};

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

/// Read `path`: a YAML error names its line and column, a channel or spec that does not parse
/// is named.
pub fn read_environment(path: &Path) -> Result<Environment, CondaError> {
    let text = fs_err::read_to_string(path).map_err(|source| CondaError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |message: String| CondaError::Environment {
        path: path.to_path_buf(),
        message,
    };
    let yaml = EnvironmentYaml::from_yaml_str(&text).map_err(|error| invalid(error.to_string()))?;
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
        digest: format!("sha256:{:x}", Sha256::digest(text.as_bytes())),
    })
}
