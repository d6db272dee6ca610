//! Generic images' tags: templates checked and rendered with the commit's facts, tags made
//! unique by qualifying them with their tree, shared tags warned about.

use std::collections::BTreeMap;

use strata_dockerfile::ImageReference;

use super::{COMMIT_VARIABLES, TEMPLATE_VARIABLES};
use crate::config::Config;
use crate::error::{ConfigError, RepoError};
use crate::model::{GenericImage, Layer, LayerDetails};

/// Whether a directory name reads as a tag rather than an image name: it starts with a digit
/// (`3.13`, `2022.07.2-576`), is `v` and a digit (`v3`), is `latest`, or has a `-`/`_`
/// separated part starting with a digit (`bioc_3.13`, `ubuntu-22.04`).
pub fn looks_like_tag(name: &str) -> bool {
    let starts_with_digit = |text: &str| text.bytes().next().is_some_and(|b| b.is_ascii_digit());
    let valid_tag = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !name.starts_with(['.', '-']);
    valid_tag
        && (starts_with_digit(name)
            || name.strip_prefix('v').is_some_and(starts_with_digit)
            || name == "latest"
            || name.split(['-', '_']).skip(1).any(starts_with_digit))
}
/// A tag template must be `<name>:<tag>` text naming only known variables.
pub(super) fn check_template(
    config: &Config,
    image: &str,
    template: &str,
) -> Result<(), RepoError> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let variable = &rest[start + 1..start + end];
        if !TEMPLATE_VARIABLES.contains(&variable) {
            return Err(ConfigError::BadTemplate {
                path: config.display_path(),
                name: image.to_string(),
                template: template.to_string(),
                reason: format!(
                    "`{{{variable}}}` is not a variable (known: {})",
                    TEMPLATE_VARIABLES
                        .iter()
                        .map(|v| format!("{{{v}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
            .into());
        }
        rest = &rest[start + end + 1..];
    }
    Ok(())
}
/// The commit facts templates may name.
#[derive(Debug, Clone, Copy)]
pub struct CommitFacts<'a> {
    pub hash: &'a str,
    pub short_hash: &'a str,
    pub count: u64,
}
/// A template rendered for an image: `None` when it names a variable the image lacks (or a
/// commit variable and no commit is given).
pub fn render(
    template: &str,
    image: &GenericImage,
    commit: Option<CommitFacts<'_>>,
) -> Option<String> {
    let mut output = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        output.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let variable = &rest[start + 1..end];
        let hash_prefix = |length: usize| commit.map(|c| c.hash.chars().take(length).collect());
        let value: Option<String> = match variable {
            "name" => Some(image.image.clone()),
            "version" => image.version.clone(),
            "variant" => image.variant.clone(),
            "label" => image.label.clone(),
            "commit" => hash_prefix(12),
            "short-commit" => commit.map(|c| c.short_hash.to_string()),
            "count" => commit.map(|c| c.count.to_string()),
            _ => None,
        };
        output.push_str(&value?);
        rest = &rest[end + 1..];
    }
    output.push_str(rest);
    Some(output)
}
/// Whether a template names a commit variable, so that its tag is unique to a build.
pub fn names_commit(template: &str) -> bool {
    COMMIT_VARIABLES
        .iter()
        .any(|variable| template.contains(&format!("{{{variable}}}")))
}
/// Every `(repository path, tag)` an image is known by before a commit is known.
pub(super) fn known_tags(image: &GenericImage) -> Vec<(String, String)> {
    image
        .tags
        .iter()
        .filter_map(|template| render(template, image, None))
        .map(|tag| {
            let parsed = ImageReference::parse(&tag);
            (
                parsed.repository.to_string(),
                parsed.tag.unwrap_or("latest").to_string(),
            )
        })
        .collect()
}
/// Images of several trees whose build-unique tags would be the same (`sciserver-base:<commit>`
/// in `ubuntu-20.04/` and `ubuntu-22.04/`) get their directory above the name in front of it.
pub(super) fn qualify_unique_tags(layers: &mut [Layer]) {
    let facts = CommitFacts {
        hash: "0",
        short_hash: "0",
        count: 0,
    };
    let mut holders: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, layer) in layers.iter().enumerate() {
        let Some(image) = layer.generic() else {
            continue;
        };
        if image.tags.iter().any(|template| names_commit(template)) {
            continue;
        }
        if let Some(tag) = render(&image.unique_template(), image, Some(facts)) {
            let repo = image.repo.as_deref().unwrap_or_default();
            holders
                .entry(format!("{repo}/{tag}"))
                .or_default()
                .push(index);
        }
    }
    for indices in holders.into_values().filter(|indices| indices.len() > 1) {
        for index in indices {
            let layer = &mut layers[index];
            let above = layer
                .directory
                .rsplit_once('/')
                .map_or("root", |(above, _)| above);
            let qualifier: String = above
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '-'
                    }
                })
                .take(80)
                .collect();
            if let LayerDetails::Generic(image) = &mut layer.details {
                image.qualifier = Some(qualifier.trim_start_matches(['.', '-']).to_string());
            }
        }
    }
}
pub(super) fn warn_shared_tags(layers: &[Layer], warnings: &mut Vec<String>) {
    let mut holders: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for layer in layers {
        let Some(image) = layer.generic() else {
            continue;
        };
        let prefix = image
            .repo
            .as_deref()
            .map(|repo| format!("{}/", repo.trim_end_matches('/')));
        for (path, tag) in known_tags(image) {
            holders
                .entry(format!(
                    "{}{path}:{tag}",
                    prefix.as_deref().unwrap_or_default()
                ))
                .or_default()
                .push(&layer.name);
        }
    }
    let shared: Vec<String> = holders
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(tag, names)| format!("`{tag}` ({})", names.join(", ")))
        .collect();
    if !shared.is_empty() {
        warnings.push(format!(
            "{} {} tagged by several images, so the last of them built moves it: {}; give the trees a `repo` or the images `tags` in `strata.toml`",
            shared.len(),
            if shared.len() == 1 { "tag is" } else { "tags are" },
            shared.join(", ")
        ));
    }
}
