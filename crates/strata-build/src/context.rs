//! Build contexts: a directory filtered by its `.dockerignore`, or a SciServer compat context
//! assembled from several compat directories (a later layer's file replacing an earlier one's)
//! with a generated Dockerfile. Read once into memory, then written as a deterministic tar, hashed,
//! or emitted to a directory for review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::dockerignore::DockerIgnore;
use crate::error::BuildError;

/// One entry of a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Directory { mode: u32 },
    File { mode: u32, contents: Vec<u8> },
    Symlink { target: String },
}

/// A build context in memory: entries by `/`-separated relative path, and the Dockerfile's path.
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    pub entries: BTreeMap<String, Entry>,
    pub dockerfile: String,
}

/// Name of the Dockerfile strata writes into generated (compat) contexts.
pub const GENERATED_DOCKERFILE: &str = "Dockerfile";

impl BuildContext {
    /// The context of `directory` with `dockerfile` (relative to `directory`), honouring
    /// `directory/.dockerignore`. The Dockerfile and `.dockerignore` are always sent, as Docker
    /// does.
    pub fn from_directory(directory: &Path, dockerfile: &str) -> Result<Self, BuildError> {
        let ignore = match fs_err::read_to_string(directory.join(".dockerignore")) {
            Ok(text) => DockerIgnore::parse(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => DockerIgnore::default(),
            Err(source) => return Err(BuildError::Io(source)),
        };
        let mut context = Self {
            entries: BTreeMap::new(),
            dockerfile: dockerfile.to_string(),
        };
        context.add_directory(
            directory,
            directory,
            &ignore,
            &[dockerfile, ".dockerignore"],
        )?;
        if !matches!(context.entries.get(dockerfile), Some(Entry::File { .. })) {
            return Err(BuildError::MissingDockerfile {
                path: directory.join(dockerfile),
            });
        }
        Ok(context)
    }

    /// A compat context: the files of each directory in order, later ones replacing earlier
    /// ones, then the generated Dockerfile.
    pub fn assembled(directories: &[PathBuf], dockerfile_text: &str) -> Result<Self, BuildError> {
        let mut context = Self {
            entries: BTreeMap::new(),
            dockerfile: GENERATED_DOCKERFILE.to_string(),
        };
        for directory in directories {
            context.add_directory(directory, directory, &DockerIgnore::default(), &[])?;
        }
        context.entries.insert(
            GENERATED_DOCKERFILE.to_string(),
            Entry::File {
                mode: 0o644,
                contents: dockerfile_text.as_bytes().to_vec(),
            },
        );
        Ok(context)
    }

    fn add_directory(
        &mut self,
        root: &Path,
        directory: &Path,
        ignore: &DockerIgnore,
        always: &[&str],
    ) -> Result<(), BuildError> {
        let mut children: Vec<_> = fs_err::read_dir(directory)?.collect::<Result<_, _>>()?;
        children.sort_by_key(fs_err::DirEntry::file_name);
        for child in children {
            let path = child.path();
            let relative = relative_path(root, &path);
            let excluded = ignore.is_excluded(&relative) && !always.contains(&relative.as_str());
            let metadata = fs_err::symlink_metadata(&path)?;
            let mode = permissions(&metadata);
            if metadata.is_dir() {
                // Walk excluded directories too: an exception may re-include something inside.
                let before = self.entries.len();
                self.add_directory(root, &path, ignore, always)?;
                if !excluded || self.entries.len() > before {
                    self.entries.insert(relative, Entry::Directory { mode });
                }
            } else if excluded {
                // Left out of the context.
            } else if metadata.is_symlink() {
                let target = fs_err::read_link(&path)?.to_string_lossy().into_owned();
                self.entries.insert(relative, Entry::Symlink { target });
            } else if metadata.is_file() {
                let contents = fs_err::read(&path)?;
                self.entries
                    .insert(relative, Entry::File { mode, contents });
            }
        }
        Ok(())
    }

    /// The context as an uncompressed tar: sorted, owned by root, mtime 0, so the same context
    /// gives the same bytes.
    pub fn to_tar(&self) -> Result<Vec<u8>, BuildError> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            match entry {
                Entry::Directory { mode } => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(*mode);
                    header.set_size(0);
                    builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
                }
                Entry::File { mode, contents } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(contents.len() as u64);
                    builder.append_data(&mut header, path, contents.as_slice())?;
                }
                Entry::Symlink { target } => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target)?;
                }
            }
        }
        Ok(builder.into_inner()?)
    }

    /// Canonical lines describing the context for the inputs hash: one per entry, sorted.
    pub fn describe(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|(path, entry)| match entry {
                Entry::Directory { mode } => format!("dir {mode:o} {path}"),
                Entry::File { mode, contents } => {
                    format!("file {mode:o} {:x} {path}", Sha256::digest(contents))
                }
                Entry::Symlink { target } => format!("link {path} -> {target}"),
            })
            .collect()
    }

    /// Write the context into `directory` (which must not exist yet, or be empty): files are
    /// written under a temporary name and the directory renamed into place.
    pub fn write_to(&self, directory: &Path) -> Result<(), BuildError> {
        let parent = directory.parent().unwrap_or(Path::new("."));
        fs_err::create_dir_all(parent)?;
        let staging = tempfile_directory(parent)?;
        for (path, entry) in &self.entries {
            let target = staging.join(path);
            match entry {
                Entry::Directory { .. } => fs_err::create_dir_all(&target)?,
                Entry::File { mode, contents } => {
                    if let Some(parent) = target.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    fs_err::write(&target, contents)?;
                    set_permissions(&target, *mode)?;
                }
                Entry::Symlink { target: link } => {
                    if let Some(parent) = target.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    std::os::unix::fs::symlink(link, &target)?;
                }
            }
        }
        if directory.exists() {
            fs_err::remove_dir_all(directory)?;
        }
        fs_err::rename(&staging, directory)?;
        Ok(())
    }
}

fn tempfile_directory(parent: &Path) -> Result<PathBuf, BuildError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |duration| duration.as_nanos());
    let path = parent.join(format!(".strata-tmp-{}-{nanos:x}", std::process::id()));
    fs_err::create_dir_all(&path)?;
    Ok(path)
}

fn relative_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn permissions(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

fn set_permissions(path: &Path, mode: u32) -> Result<(), BuildError> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_filters_and_dockerfile_is_always_sent() {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        fs_err::write(root.join("Dockerfile"), "FROM x\n").unwrap();
        fs_err::write(root.join(".dockerignore"), "*.log\nDockerfile\nsecret/\n").unwrap();
        fs_err::write(root.join("a.txt"), "a").unwrap();
        fs_err::write(root.join("b.log"), "b").unwrap();
        fs_err::create_dir_all(root.join("secret")).unwrap();
        fs_err::write(root.join("secret/key"), "k").unwrap();
        let context = BuildContext::from_directory(root, "Dockerfile").unwrap();
        let paths: Vec<&str> = context.entries.keys().map(String::as_str).collect();
        assert_eq!(paths, [".dockerignore", "Dockerfile", "a.txt"]);
    }

    #[test]
    fn later_compat_layers_replace_files_and_tar_is_deterministic() {
        let directory = tempfile::tempdir().unwrap();
        let common = directory.path().join("common");
        let jupyter = directory.path().join("jupyter");
        for (dir, text) in [(&common, "common"), (&jupyter, "jupyter")] {
            fs_err::create_dir_all(dir).unwrap();
            fs_err::write(dir.join("startup.sh"), text).unwrap();
            fs_err::write(dir.join("Dockerfile"), "COPY startup.sh /\n").unwrap();
        }
        fs_err::write(common.join("only-common"), "c").unwrap();
        let context =
            BuildContext::assembled(&[common.clone(), jupyter.clone()], "FROM base\n").unwrap();
        assert_eq!(
            context.entries.get("startup.sh"),
            Some(&Entry::File {
                mode: 0o644,
                contents: b"jupyter".to_vec()
            })
        );
        assert!(context.entries.contains_key("only-common"));
        assert_eq!(
            context.entries.get("Dockerfile"),
            Some(&Entry::File {
                mode: 0o644,
                contents: b"FROM base\n".to_vec()
            })
        );
        // Two reads of the same directories give the same archive, byte for byte.
        let again = BuildContext::assembled(&[common, jupyter], "FROM base\n").unwrap();
        assert_eq!(context.to_tar().unwrap(), again.to_tar().unwrap());
    }
}
