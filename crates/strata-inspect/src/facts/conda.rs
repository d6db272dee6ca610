//! Conda environments of an image: their packages from `conda-meta`, which of them the image's
//! environment activates, and whether that activation is complete.

use std::collections::{BTreeMap, BTreeSet};

use crate::filesystem::MergedView;
use crate::records::{CondaPackage, FileFacts, Node};

use super::{ActivationCheck, CondaEnvironment, ImageMetadata};

pub(super) fn conda_environments(view: &MergedView) -> Vec<CondaEnvironment> {
    let mut environments: BTreeMap<String, Vec<CondaPackage>> = BTreeMap::new();
    for (path, node) in &view.entries {
        if let Node::Facts {
            facts: FileFacts::Conda(package),
        } = node
        {
            let prefix = path
                .rsplit_once("/conda-meta/")
                .map_or("", |(prefix, _)| prefix);
            environments
                .entry(prefix.to_string())
                .or_default()
                .push(CondaPackage::clone(package));
        }
    }
    environments
        .into_iter()
        .map(|(prefix, mut packages)| {
            packages.sort();
            CondaEnvironment {
                prefix,
                packages,
                activation: Vec::new(),
            }
        })
        .collect()
}

/// Whether the image's `ENTRYPOINT`, `CMD` or `SHELL` activates an environment (`conda run`,
/// `conda activate`, micromamba's `_entrypoint.sh`, …): the prefixes it activates.
pub(super) fn activated_prefixes(
    metadata: &ImageMetadata,
    environments: &[CondaEnvironment],
) -> Vec<String> {
    let mut prefixes = Vec::new();
    for command in [&metadata.entrypoint, &metadata.cmd, &metadata.shell] {
        let words: Vec<&str> = command
            .iter()
            .flat_map(|argument| argument.split_whitespace())
            .collect();
        let activates = words.windows(2).any(|pair| {
            let tool = pair[0].rsplit('/').next().unwrap_or_default();
            (matches!(tool, "conda" | "mamba" | "micromamba")
                && matches!(pair[1], "run" | "activate"))
                || (matches!(tool, "source" | ".") && pair[1].ends_with("activate"))
        }) || words.iter().any(|word| {
            let name = word.rsplit('/').next().unwrap_or_default();
            name == "_entrypoint.sh" || name == "activate"
        });
        if !activates {
            continue;
        }
        let named = words.windows(2).find_map(|pair| match pair[0] {
            "-n" | "--name" => environments
                .iter()
                .find(|environment| environment.name() == pair[1])
                .map(|environment| environment.prefix.clone()),
            "-p" | "--prefix" => Some(pair[1].trim_matches('/').to_string()),
            _ => None,
        });
        // micromamba's entrypoint activates `$ENV_NAME`, else base.
        let from_env = metadata.env.iter().find_map(|variable| {
            let name = variable.strip_prefix("ENV_NAME=")?;
            environments
                .iter()
                .find(|environment| environment.name() == name)
                .map(|environment| environment.prefix.clone())
        });
        let base = environments
            .iter()
            .find(|environment| environment.name() == "base")
            .map(|environment| environment.prefix.clone());
        prefixes.extend(named.or(from_env).or(base));
    }
    prefixes
}

/// Fill each environment's `activation` from its `etc/conda/activate.d` scripts.
pub(super) fn audit_activation(
    view: &MergedView,
    metadata: &ImageMetadata,
    environments: &mut [CondaEnvironment],
) {
    let set_by_env: BTreeSet<&str> = metadata
        .env
        .iter()
        .filter_map(|variable| variable.split_once('=').map(|(name, _)| name))
        .collect();
    let activated = activated_prefixes(metadata, environments);
    for environment in environments.iter_mut() {
        let directory = if environment.prefix.is_empty() {
            "etc/conda/activate.d/".to_string()
        } else {
            format!("{}/etc/conda/activate.d/", environment.prefix)
        };
        let is_activated = activated.contains(&environment.prefix);
        for (path, node) in view
            .entries
            .range(directory.clone()..)
            .take_while(|(path, _)| path.starts_with(&directory))
        {
            let Node::Facts {
                facts: FileFacts::CondaActivation { variables },
            } = node
            else {
                continue;
            };
            for variable in variables {
                if environment
                    .activation
                    .iter()
                    .any(|check| check.name == variable.name)
                {
                    continue;
                }
                environment.activation.push(ActivationCheck {
                    name: variable.name.clone(),
                    value: variable.value.clone(),
                    script: format!("/{path}"),
                    left_unset: !is_activated && !set_by_env.contains(variable.name.as_str()),
                });
            }
        }
    }
}
