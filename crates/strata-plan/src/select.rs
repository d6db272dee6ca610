//! Which layers and compat layers a change touches: each changed path belongs to the deepest
//! image directory containing it (a docker-stacks variant directory is not part of its parent
//! image's directory), and `--include` / `--ignore` name directories.

use std::collections::HashMap;

use strata_repo::{LayerId, Repository};

use crate::error::PlanError;
use crate::plan::Reason;

/// A change, as git and the command line describe it. Directories are relative to the root.
pub struct Changes<'a> {
    /// The git reference the paths were diffed against (for the report).
    pub since: &'a str,
    /// Paths changed since `since`, relative to the root.
    pub changed_paths: &'a [String],
    /// Untracked paths, when `--untracked` is given.
    pub untracked_paths: Option<&'a [String]>,
    /// `--include`: only these directories trigger builds.
    pub include: &'a [String],
    /// `--ignore`: these directories never trigger builds.
    pub ignore: &'a [String],
}

/// Something with a directory of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    Layer(LayerId),
    Compat(usize),
}

/// Image directories of a repository, for looking up the owner of a path.
pub(crate) struct Directories<'a> {
    /// Each image directory's owners: several when a directory holds several Dockerfiles
    /// (`Dockerfile`, `Dockerfile.gpu`).
    owners: HashMap<&'a str, Vec<Owner>>,
    /// Files outside image directories that are inputs of images: a generic tree's build JSON.
    shared_files: HashMap<String, Vec<Owner>>,
}

impl<'a> Directories<'a> {
    pub fn new(repository: &'a Repository) -> Self {
        let mut owners: HashMap<&str, Vec<Owner>> =
            HashMap::with_capacity(repository.layers.len() + repository.compat_layers.len());
        for (id, layer) in repository.layers.iter().enumerate() {
            owners
                .entry(layer.directory.as_str())
                .or_default()
                .push(Owner::Layer(id));
        }
        for (index, compat) in repository.compat_layers.iter().enumerate() {
            owners
                .entry(compat.directory.as_str())
                .or_default()
                .push(Owner::Compat(index));
        }
        let mut shared_files: HashMap<String, Vec<Owner>> = HashMap::new();
        for (tree, settings) in &repository.config.generic.trees {
            let Some(file) = &settings.build_json else {
                continue;
            };
            let tree = tree.trim_matches('/');
            let path = if tree.is_empty() {
                file.clone()
            } else {
                format!("{tree}/{file}")
            };
            let members = repository
                .layers
                .iter()
                .enumerate()
                .filter(|(_, layer)| {
                    layer.generic().is_some()
                        && (tree.is_empty()
                            || layer.directory == tree
                            || layer.directory.starts_with(&format!("{tree}/")))
                })
                .map(|(id, _)| Owner::Layer(id));
            shared_files.entry(path).or_default().extend(members);
        }
        Self {
            owners,
            shared_files,
        }
    }

    /// The images whose directory is the deepest image directory containing `path` (the root
    /// image, `.`, contains every path), or which read `path` as a shared file.
    pub fn owners_of_path(&self, path: &str) -> Vec<Owner> {
        if let Some(owners) = self.shared_files.get(path) {
            return owners.clone();
        }
        let mut candidate = path;
        while let Some(slash) = candidate.rfind('/') {
            candidate = &candidate[..slash];
            if let Some(owners) = self.owners.get(candidate) {
                return owners.clone();
            }
        }
        self.owners.get(".").cloned().unwrap_or_default()
    }

    /// The owners of a directory named on the command line (relative to the root).
    pub fn resolve(&self, directory: &str) -> Result<Vec<Owner>, PlanError> {
        let directory = match directory.trim_end_matches('/') {
            "" => ".",
            directory => directory.strip_prefix("./").unwrap_or(directory),
        };
        self.owners.get(directory).cloned().ok_or_else(|| {
            let mut known: Vec<String> = self.owners.keys().map(|key| (*key).to_string()).collect();
            known.sort_unstable();
            PlanError::UnknownDirectory {
                directory: directory.to_string(),
                known,
            }
        })
    }
}

/// What set the plan off: per layer, the reason it is rebuilt on its own account; per compat
/// layer, whether it changed.
pub(crate) struct Triggers {
    pub layers: Vec<Option<Reason>>,
    pub compat: Vec<bool>,
}

/// Apply image-builder's rules: an ignored directory never triggers; when any directory is
/// included, only included directories trigger; otherwise a directory triggers when git shows
/// a change under it, or (with `--untracked`) when its definition file is untracked.
pub(crate) fn triggers(
    repository: &Repository,
    changes: &Changes<'_>,
) -> Result<Triggers, PlanError> {
    let directories = Directories::new(repository);
    let mut triggers = Triggers {
        layers: vec![None; repository.layers.len()],
        compat: vec![false; repository.compat_layers.len()],
    };
    let mark = |owner: Owner, reason: Reason, triggers: &mut Triggers| match owner {
        Owner::Layer(id) => triggers.layers[id] = triggers.layers[id].or(Some(reason)),
        Owner::Compat(index) => triggers.compat[index] = true,
    };
    if changes.include.is_empty() {
        for path in changes.changed_paths {
            for owner in directories.owners_of_path(path) {
                mark(owner, Reason::Changed, &mut triggers);
            }
        }
        if let Some(untracked) = changes.untracked_paths {
            let untracked: std::collections::HashSet<&str> =
                untracked.iter().map(String::as_str).collect();
            for (id, layer) in repository.layers.iter().enumerate() {
                if untracked.contains(layer.definition_file.as_str()) {
                    mark(Owner::Layer(id), Reason::Untracked, &mut triggers);
                }
            }
            for (index, compat) in repository.compat_layers.iter().enumerate() {
                if untracked.contains(
                    format!("{}/{}", compat.directory, strata_repo::DEFINITION_FILE).as_str(),
                ) {
                    mark(Owner::Compat(index), Reason::Untracked, &mut triggers);
                }
            }
        }
    } else {
        for directory in changes.include {
            for owner in directories.resolve(directory)? {
                mark(owner, Reason::Included, &mut triggers);
            }
        }
    }
    for directory in changes.ignore {
        for owner in directories.resolve(directory)? {
            match owner {
                Owner::Layer(id) => triggers.layers[id] = None,
                Owner::Compat(index) => triggers.compat[index] = false,
            }
        }
    }
    Ok(triggers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_directories_own_their_paths() {
        let owners: HashMap<&str, Vec<Owner>> = [
            ("images/a", vec![Owner::Layer(0)]),
            ("images/a/cuda", vec![Owner::Layer(1), Owner::Layer(2)]),
        ]
        .into();
        let directories = Directories {
            owners,
            shared_files: [("tree/build.json".to_string(), vec![Owner::Layer(3)])].into(),
        };
        assert_eq!(
            directories.owners_of_path("images/a/Dockerfile"),
            [Owner::Layer(0)]
        );
        assert_eq!(
            directories.owners_of_path("images/a/cuda/Dockerfile"),
            [Owner::Layer(1), Owner::Layer(2)]
        );
        assert_eq!(
            directories.owners_of_path("images/a/cuda/deep/x"),
            [Owner::Layer(1), Owner::Layer(2)]
        );
        assert_eq!(directories.owners_of_path("images/ab/x"), []);
        assert_eq!(directories.owners_of_path("README.md"), []);
        assert_eq!(
            directories.owners_of_path("tree/build.json"),
            [Owner::Layer(3)]
        );
    }

    #[test]
    fn a_root_image_owns_every_other_path() {
        let owners: HashMap<&str, Vec<Owner>> =
            [(".", vec![Owner::Layer(0)]), ("sub", vec![Owner::Layer(1)])].into();
        let directories = Directories {
            owners,
            shared_files: HashMap::new(),
        };
        assert_eq!(directories.owners_of_path("README.md"), [Owner::Layer(0)]);
        assert_eq!(directories.owners_of_path("sub/x"), [Owner::Layer(1)]);
        assert_eq!(directories.resolve(".").unwrap(), [Owner::Layer(0)]);
    }
}
