//! What strata keeps of one layer: the few files that carry facts (parsed, not raw), every
//! symlink, interpreter executables, and the layer's whiteouts. This is what the per-layer cache
//! stores, keyed by the layer's uncompressed digest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped when what a record holds changes; older cache entries are then ignored.
pub const RECORD_VERSION: u32 = 5;

/// The facts of one layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub version: u32,
    /// `sha256:...` of the uncompressed layer tar (`rootfs.diff_ids`).
    pub diff_id: String,
    /// The bytes of the layer's files: regular files' contents, each hard-linked file once
    /// (what the layer holds, the same whether it is read from an archive or the engine's
    /// storage; an archive's own length adds headers and padding).
    pub size: u64,
    /// Recorded paths (relative, `/`-separated, no `..`).
    pub entries: BTreeMap<String, Node>,
    /// Paths this layer deletes from the layers below (`.wh.<name>`).
    pub whiteouts: Vec<String>,
    /// Directories whose lower contents this layer hides (`.wh..wh..opq`).
    pub opaque: Vec<String>,
    /// Things skipped or cut short, for the user.
    pub warnings: Vec<String>,
}

/// A recorded path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Node {
    Symlink {
        target: String,
    },
    /// An interpreter executable (`bin/python3.11`, `bin/R`).
    Executable,
    /// A file with facts in it.
    Facts {
        facts: FileFacts,
    },
}

/// The facts parsed out of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FileFacts {
    OsRelease {
        fields: BTreeMap<String, String>,
    },
    /// `var/lib/dpkg/status` (installed packages only) or one `status.d` file.
    Dpkg {
        packages: Vec<DebPackage>,
    },
    /// A `*.dist-info/METADATA` or `*.egg-info` in a `site-packages` or `dist-packages` directory.
    PythonDistribution(PythonPackage),
    /// A `conda-meta/*.json`.
    Conda(Box<CondaPackage>),
    /// A conda environment's `etc/conda/activate.d/*.sh`: what activation exports.
    CondaActivation {
        variables: Vec<ActivationVariable>,
    },
    /// An R package's `DESCRIPTION`.
    R(RPackage),
    /// `include/python3.X/patchlevel.h`: the interpreter's full version.
    PythonPatchLevel {
        version: String,
    },
    /// A virtual environment's `pyvenv.cfg`.
    Pyvenv {
        version: Option<String>,
        /// `include-system-site-packages = true`: the base interpreter's site directories
        /// stay on `sys.path`.
        #[serde(default)]
        system_site_packages: bool,
    },
    /// A Debian package's machine-readable `usr/share/doc/<package>/copyright`: its licences.
    Copyright {
        licenses: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DebPackage {
    pub name: String,
    pub version: String,
    pub architecture: Option<String>,
    /// The source package, when it differs from the name.
    pub source: Option<String>,
    /// Licences from the package's machine-readable copyright file (Debian short names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PythonPackage {
    pub name: String,
    pub version: String,
    pub summary: Option<String>,
    pub license: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CondaPackage {
    pub name: String,
    pub version: String,
    pub build: Option<String>,
    pub channel: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_number: Option<u64>,
    /// `linux-64`, `noarch`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdir: Option<String>,
    /// Where the package was downloaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Match specs of its dependencies, as the record lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends: Vec<String>,
    /// The Python distributions the package installs (`numpy-1.26.4.dist-info`), so pip's
    /// own installs can be told apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub python_distributions: Vec<String>,
}

/// A variable a conda activation script exports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActivationVariable {
    pub name: String,
    /// The value with `$CONDA_PREFIX` replaced by the environment's path.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RPackage {
    pub name: String,
    pub version: String,
    pub license: Option<String>,
}
