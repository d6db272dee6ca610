//! Tags computed from an image's facts, as docker-stacks' taggers compute them by running
//! commands in a container: `python-3.11`, `python-3.11.7`, `ubuntu-22.04`, `lab-4.2.1`, the
//! commit and the build date. A command tagger's output is supplied by the caller (who runs it
//! in a throw-away container).

use std::collections::BTreeMap;

use strata_repo::TaggerConfig;

use crate::facts::ImageFacts;
use crate::sbom::normalize_python_name;

/// Tags computed, and why some taggers gave none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub tags: Vec<String>,
    pub warnings: Vec<String>,
}

/// A valid tag from any text: `[A-Za-z0-9_.-]`, not starting with `.` or `-`, at most 128.
pub fn sanitize_tag(text: &str) -> String {
    let mut tag: String = text
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-') {
                character
            } else {
                '-'
            }
        })
        .collect();
    while tag.starts_with(['.', '-']) {
        tag.remove(0);
    }
    tag.truncate(128);
    tag
}

/// `2.3.0+cpu` → `2.3.0`.
fn public_version(version: &str) -> &str {
    version
        .split_once('+')
        .map_or(version, |(public, _)| public)
}

/// The version of a pip or conda package, preferring the default interpreter's environment.
fn package_version<'a>(facts: &'a ImageFacts, package: &str) -> Option<&'a str> {
    let wanted = normalize_python_name(package);
    let default_version = facts
        .python
        .default
        .as_ref()
        .map(|python| python.version.as_str());
    let mut environments: Vec<_> = facts.python.environments.iter().collect();
    environments
        .sort_by_key(|environment| environment.python_version.as_deref() != default_version);
    environments
        .iter()
        .flat_map(|environment| environment.packages.iter())
        .find(|candidate| normalize_python_name(&candidate.name) == wanted)
        .map(|candidate| candidate.version.as_str())
        .or_else(|| {
            facts
                .conda
                .iter()
                .flat_map(|environment| environment.packages.iter())
                .find(|candidate| normalize_python_name(&candidate.name) == wanted)
                .map(|candidate| candidate.version.as_str())
        })
}

/// Evaluate `taggers` on `facts`. `command_outputs` holds what each command tagger's command
/// printed.
pub fn compute_tags(
    taggers: &[TaggerConfig],
    facts: &ImageFacts,
    command_outputs: &BTreeMap<Vec<String>, String>,
) -> Tags {
    let mut result = Tags::default();
    let add = |tag: String, result: &mut Tags| {
        let tag = sanitize_tag(&tag);
        if !tag.is_empty() && !result.tags.contains(&tag) {
            result.tags.push(tag);
        }
    };
    for tagger in taggers {
        match tagger {
            TaggerConfig::Commit => match facts.image.labels.get(crate::REVISION_LABEL) {
                Some(revision) => add(revision.chars().take(12).collect(), &mut result),
                None => result.warnings.push(
                    "commit tagger: the image has no `org.opencontainers.image.revision` label"
                        .to_string(),
                ),
            },
            TaggerConfig::Date => match facts
                .image
                .created
                .as_deref()
                .and_then(|created| created.get(..10))
            {
                Some(date) => add(date.to_string(), &mut result),
                None => result
                    .warnings
                    .push("date tagger: the image has no creation date".to_string()),
            },
            TaggerConfig::Os => match &facts.os_release {
                Some(os) => add(
                    format!(
                        "{}-{}",
                        os.id,
                        os.version_id.as_deref().unwrap_or("unknown")
                    ),
                    &mut result,
                ),
                None => result
                    .warnings
                    .push("os tagger: the image has no os-release".to_string()),
            },
            TaggerConfig::Python => match &facts.python.default {
                Some(python) => {
                    let parts: Vec<&str> = python.version.split('.').collect();
                    if parts.len() >= 2 {
                        add(format!("python-{}.{}", parts[0], parts[1]), &mut result);
                    }
                    if parts.len() >= 3 {
                        add(format!("python-{}", python.version), &mut result);
                    }
                }
                None => result.warnings.push(
                    "python tagger: no `python3` or `python` on the image's PATH".to_string(),
                ),
            },
            TaggerConfig::Package { package, prefix } => match package_version(facts, package) {
                Some(version) => add(
                    format!(
                        "{}-{}",
                        prefix.as_deref().unwrap_or(package),
                        public_version(version)
                    ),
                    &mut result,
                ),
                None => result
                    .warnings
                    .push(format!("package tagger: `{package}` is not installed")),
            },
            TaggerConfig::Command {
                command,
                regex,
                prefix,
            } => {
                let output = command_outputs.get(command).map_or("", String::as_str);
                let captured = regex::Regex::new(regex).ok().and_then(|pattern| {
                    pattern
                        .captures(output)
                        .and_then(|captures| captures.get(1).or_else(|| captures.get(0)))
                        .map(|found| found.as_str().to_string())
                });
                match captured {
                    Some(value) => add(format!("{prefix}-{value}"), &mut result),
                    None => result.warnings.push(format!(
                        "command tagger: `{}` printed nothing matching `{regex}`",
                        command.join(" ")
                    )),
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{compute, ImageMetadata, Interpreter, PythonEnvironment};
    use crate::records::{CondaPackage, PythonPackage};

    fn facts() -> ImageFacts {
        let mut facts = compute(ImageMetadata::default(), &[]);
        facts.image.created = Some("2024-05-01T10:00:00Z".to_string());
        facts.image.labels.insert(
            "org.opencontainers.image.revision".to_string(),
            "0123456789abcdef".to_string(),
        );
        facts.os_release = Some(crate::facts::OsRelease {
            id: "ubuntu".to_string(),
            version_id: Some("22.04".to_string()),
            name: None,
            pretty_name: None,
            version_codename: None,
        });
        facts.python.default = Some(Interpreter {
            path: "/opt/conda/bin/python3.11".to_string(),
            version: "3.11.7".to_string(),
        });
        facts.python.environments.push(PythonEnvironment {
            path: "/opt/conda/lib/python3.11/site-packages".to_string(),
            python_version: Some("3.11.7".to_string()),
            packages: vec![PythonPackage {
                name: "JupyterLab".to_string(),
                version: "4.2.1".to_string(),
                summary: None,
                license: None,
            }],
        });
        facts.conda.push(crate::facts::CondaEnvironment {
            prefix: "opt/conda".to_string(),
            packages: vec![CondaPackage {
                name: "pytorch".to_string(),
                version: "2.3.0+cpu".to_string(),
                ..CondaPackage::default()
            }],
            activation: Vec::new(),
        });
        facts
    }

    #[test]
    fn docker_stacks_style_tags() {
        let taggers: Vec<TaggerConfig> = toml::from_str::<BTreeMap<String, Vec<TaggerConfig>>>(
            r#"taggers = [
                {kind = "commit"}, {kind = "date"}, {kind = "os"}, {kind = "python"},
                {kind = "package", package = "jupyterlab", prefix = "lab"},
                {kind = "package", package = "pytorch"},
                {kind = "command", command = ["R", "--version"], regex = "R version ([0-9.]+)", prefix = "r"},
                {kind = "package", package = "missing"},
            ]"#,
        )
        .unwrap()
        .remove("taggers")
        .unwrap();
        let mut outputs = BTreeMap::new();
        outputs.insert(
            vec!["R".to_string(), "--version".to_string()],
            "R version 4.4.0 (2024-04-24)\n".to_string(),
        );
        let tags = compute_tags(&taggers, &facts(), &outputs);
        assert_eq!(
            tags.tags,
            [
                "0123456789ab",
                "2024-05-01",
                "ubuntu-22.04",
                "python-3.11",
                "python-3.11.7",
                "lab-4.2.1",
                "pytorch-2.3.0",
                "r-4.4.0"
            ]
        );
        assert_eq!(
            tags.warnings,
            ["package tagger: `missing` is not installed"]
        );
    }

    #[test]
    fn sanitizes() {
        assert_eq!(sanitize_tag("-a b/c:d"), "a-b-c-d");
    }
}
