//! What the rules know about a Dockerfile beyond its text: whether it is a final image, which of
//! its references are images of this repository (and what those set up), and which refer to
//! one the wrong way. A single file linted on its own has the default: every base external,
//! the file a final image.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// What an image of this repository sets up for the images built on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// `ENV` keys set by the image or its ancestors.
    pub env: BTreeSet<String>,
    /// The image or an ancestor sets `CMD` or `ENTRYPOINT`.
    pub has_command: bool,
    /// The image has conda (its base is a conda image, or it installs or runs conda).
    pub conda: bool,
}

impl Facts {
    pub(crate) fn merge(&mut self, other: &Self) {
        self.env.extend(other.env.iter().cloned());
        self.has_command |= other.has_command;
        self.conda |= other.conda;
    }

    /// What both set up: an image built on either of two bases can count on this much.
    pub(crate) fn intersect(&mut self, other: &Self) {
        self.env.retain(|key| other.env.contains(key));
        self.has_command &= other.has_command;
        self.conda &= other.conda;
    }
}

/// The context of one Dockerfile.
#[derive(Debug, Clone)]
pub struct ImageContext {
    /// The image's name in the repository, for messages and per-image settings.
    pub image: Option<String>,
    /// No image of the repository is built on this one: image-level rules (default command,
    /// locale) apply.
    pub is_final: bool,
    /// A SciServer compat layer: a fragment without `FROM`, appended to a science image.
    pub fragment: bool,
    /// Build arguments `FROM` lines are expanded with.
    pub build_args: BTreeMap<String, String>,
    /// References (as `FROM`/`--from` expand) that name images of this repository, with what
    /// those images set up.
    pub internal: BTreeMap<String, Facts>,
    /// References that name an image of this repository the wrong way, with the advice.
    pub misreferenced: BTreeMap<String, String>,
    /// The build context, where files `COPY` reads are (lock files are recognised by content).
    pub context_directory: Option<PathBuf>,
    /// What an enclosing image provides to a fragment (the compat chain's other layers).
    pub fragment_facts: Facts,
}

impl Default for ImageContext {
    fn default() -> Self {
        Self {
            image: None,
            is_final: true,
            fragment: false,
            build_args: BTreeMap::new(),
            internal: BTreeMap::new(),
            misreferenced: BTreeMap::new(),
            context_directory: None,
            fragment_facts: Facts::default(),
        }
    }
}

/// Whether an image name looks like a conda distribution's image (`continuumio/miniconda3`,
/// `condaforge/miniforge3`, `mambaorg/micromamba`).
pub(crate) fn is_conda_image(reference: &str) -> bool {
    let name = reference.to_ascii_lowercase();
    let repository = name.split(['@', ':']).next().unwrap_or(&name);
    ["conda", "mamba", "miniforge", "mambaforge"]
        .iter()
        .any(|marker| repository.contains(marker))
}
