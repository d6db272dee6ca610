//! Tag and label rules. SciServer: `<repo>/sci/<target>:<version>-<count>-<hash>` and
//! `<repo>/sci/<target>:<version>`; compat builds the same under `<repo>/rel/<image>`.
//! docker-stacks: `<repo>/<image>:[<variant>-]latest` and `:[<variant>-]<12-char commit>`.

use std::collections::BTreeMap;

use strata_repo::{
    names_commit, render_tag, CommitFacts, CommitInfo, GenericImage, Layer, LayerDetails,
};

/// How many characters of the commit hash docker-stacks puts in a tag.
pub(crate) const STACKS_HASH_LENGTH: usize = 12;

/// Naming inputs shared by every build of a plan.
pub(crate) struct Naming<'a> {
    pub repo: &'a str,
    pub commit: &'a CommitInfo,
    pub source_url: Option<&'a str>,
}

/// `<repo>/<path>`, or `<path>` when `repo` is empty.
fn under(repo: &str, path: &str) -> String {
    if repo.is_empty() {
        path.to_string()
    } else {
        format!("{}/{path}", repo.trim_end_matches('/'))
    }
}

impl Naming<'_> {
    /// `<repo>/<path>`, or `<path>` when no repo is set.
    fn under_repo(&self, path: &str) -> String {
        under(self.repo, path)
    }

    fn commit_facts(&self) -> CommitFacts<'_> {
        CommitFacts {
            hash: &self.commit.hash,
            short_hash: &self.commit.short_hash,
            count: self.commit.count,
        }
    }

    /// A generic image's tags: its templates rendered (those naming a value the image lacks
    /// dropped), the ones naming the commit first; when none does, a unique
    /// `{name}:{version}[-{variant}]-{count}-{short-commit}` (or `{name}:[{variant}-]{commit}`)
    /// leads, so that every build has a tag of its own (see [`GenericImage::unique_template`]).
    fn generic_tags(&self, image: &GenericImage) -> Vec<String> {
        let repo = image.repo.as_deref().unwrap_or(self.repo);
        let facts = self.commit_facts();
        let mut templates: Vec<String> = image
            .tags
            .iter()
            .filter(|template| names_commit(template))
            .cloned()
            .collect();
        if templates.is_empty() {
            templates.push(image.unique_template());
        }
        templates.extend(
            image
                .tags
                .iter()
                .filter(|template| !names_commit(template))
                .cloned(),
        );
        let mut tags: Vec<String> = Vec::new();
        for template in &templates {
            if let Some(tag) = render_tag(template, image, Some(facts)) {
                let tag = under(repo, &tag);
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        tags
    }

    /// The version label of a generic image's build: its unique tag's tag part.
    fn generic_version(&self, image: &GenericImage) -> String {
        let tags = self.generic_tags(image);
        let unique = tags.first().map(String::as_str).unwrap_or_default();
        strata_repo::ImageReference::parse(unique)
            .tag
            .unwrap_or_default()
            .to_string()
    }

    /// `<version>-<count>-<short hash>`: the build version of SciServer builds.
    pub fn build_version(&self, version: &str) -> String {
        format!("{version}-{}-{}", self.commit.count, self.commit.short_hash)
    }

    fn stacks_commit_tag(&self) -> String {
        self.commit.hash.chars().take(STACKS_HASH_LENGTH).collect()
    }

    /// Every tag of a layer's build, the unique one first.
    pub fn layer_tags(&self, layer: &Layer) -> Vec<String> {
        match &layer.details {
            LayerDetails::Science(science) => {
                let repository = self.under_repo(&format!("sci/{}", science.target));
                vec![
                    format!("{repository}:{}", self.build_version(&science.version)),
                    format!("{repository}:{}", science.version),
                ]
            }
            LayerDetails::Stacks(stacks) => {
                let repository = self.under_repo(&stacks.image);
                let prefix = stacks
                    .variant
                    .as_ref()
                    .map(|variant| format!("{variant}-"))
                    .unwrap_or_default();
                vec![
                    format!("{repository}:{prefix}{}", self.stacks_commit_tag()),
                    format!("{repository}:{prefix}latest"),
                ]
            }
            LayerDetails::Generic(image) => self.generic_tags(image),
        }
    }

    /// The moving tag children and compat builds refer to: `sci/<target>:<version>` or `:latest`.
    pub fn stable_tag(&self, layer: &Layer) -> String {
        self.layer_tags(layer).pop().unwrap_or_default()
    }

    /// Tags of the compat build for an image and version.
    pub fn compat_tags(&self, image: &str, version: &str) -> Vec<String> {
        let repository = self.under_repo(&format!("rel/{image}"));
        vec![
            format!("{repository}:{}", self.build_version(version)),
            format!("{repository}:{version}"),
        ]
    }

    /// The labels known before the build: SciServer breadcrumbs and OCI provenance.
    pub fn labels(
        &self,
        title: &str,
        version: &str,
        breadcrumb: Option<(String, String)>,
    ) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        labels.insert(
            "org.opencontainers.image.revision".to_string(),
            self.commit.hash.clone(),
        );
        labels.insert(
            "org.opencontainers.image.title".to_string(),
            title.to_string(),
        );
        labels.insert(
            "org.opencontainers.image.version".to_string(),
            version.to_string(),
        );
        if let Some(url) = self.source_url {
            labels.insert(
                "org.opencontainers.image.source".to_string(),
                url.to_string(),
            );
        }
        if let Some((key, value)) = breadcrumb {
            labels.insert(key, value);
        }
        labels
    }

    /// Labels of a layer's build.
    pub fn layer_labels(&self, layer: &Layer) -> BTreeMap<String, String> {
        match &layer.details {
            LayerDetails::Science(science) => {
                let version = self.build_version(&science.version);
                self.labels(
                    &science.target,
                    &version,
                    Some((
                        format!("org.sciserver.science.{}.version", science.target),
                        version.clone(),
                    )),
                )
            }
            LayerDetails::Stacks(_) => self.labels(&layer.name, &self.stacks_commit_tag(), None),
            LayerDetails::Generic(image) => {
                self.labels(&image.image, &self.generic_version(image), None)
            }
        }
    }

    /// Labels of a compat build.
    pub fn compat_labels(&self, image: &str, version: &str) -> BTreeMap<String, String> {
        let build_version = self.build_version(version);
        self.labels(
            image,
            &build_version,
            Some((
                "org.sciserver.compat.version".to_string(),
                format!("{image}:{build_version}"),
            )),
        )
    }
}
