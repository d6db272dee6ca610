//! Versions the repository no longer has: what protects published SciServer versions from
//! being left without a final layer.

use std::fmt::Write as _;

/// An `image:version` that history defined and the repository no longer has.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrphanedVersion {
    /// `image:version`.
    pub version: String,
    /// The science directory that last defined it (`None`: only the registry has it).
    pub directory: Option<String>,
    /// The last commit that wrote that definition (abbreviated).
    pub defined_in: Option<String>,
    /// The commit that changed or removed it; `None` when the change is not committed yet.
    pub changed_in: Option<String>,
    /// The published tag that holds it, when the registry was asked.
    pub published_as: Option<String>,
}

/// Each orphan on a line of its own, for messages.
pub(crate) fn listing(orphans: &[OrphanedVersion]) -> String {
    let mut text = String::new();
    for orphan in orphans {
        let _ = write!(text, "\n{orphan}");
    }
    text
}

impl std::fmt::Display for OrphanedVersion {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "`{}`", self.version)?;
        match (&self.directory, &self.defined_in) {
            (Some(directory), Some(commit)) => {
                write!(
                    formatter,
                    ": last defined by `{directory}` in commit `{commit}`"
                )?;
                match &self.changed_in {
                    Some(changed) => write!(formatter, ", changed in commit `{changed}`")?,
                    None => write!(formatter, ", changed in the work tree")?,
                }
            }
            _ => write!(formatter, ": defined by no commit of this history")?,
        }
        if let Some(tag) = &self.published_as {
            write!(formatter, "; published as `{tag}`")?;
        }
        Ok(())
    }
}
