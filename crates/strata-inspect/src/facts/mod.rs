//! The facts of an image, computed from its metadata and the merged records of its layers:
//! OS, Debian packages, Python interpreters and environments, conda environments, R libraries,
//! labels and the SciServer breadcrumb trail. Serialized as `strata inspect --json`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::filesystem::MergedView;
use crate::records::{
    CondaPackage, DebPackage, FileFacts, LayerRecord, Node, PythonPackage, RPackage,
};

mod conda;
mod python;

use conda::{audit_activation, conda_environments};
use python::python_facts;

/// Bumped when a field changes meaning or disappears; new fields do not bump it.
pub const FACTS_SCHEMA_VERSION: u32 = 1;

/// The default `PATH` when the image sets none (Docker's).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the engine or registry says about an image, before reading its layers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageMetadata {
    /// The name it was inspected by.
    pub reference: String,
    /// Image (config) id, `sha256:...`.
    pub id: String,
    /// Registry manifest digest or local repo digests.
    pub digests: Vec<String>,
    pub created: Option<String>,
    pub architecture: Option<String>,
    pub os: Option<String>,
    /// Uncompressed bytes: the engine's count for a local image, the layers' as read for a
    /// registry's.
    pub size: u64,
    /// Compressed bytes, as the registry stores and sends the layers (`None` for a local image).
    pub compressed_size: Option<u64>,
    pub env: Vec<String>,
    /// The config's `Entrypoint`, `Cmd` and `Shell`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shell: Vec<String>,
    /// The config's `User` (unset: root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Filled by [`compute`] from the layer records.
    pub layers: Vec<LayerSummary>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerSummary {
    /// Uncompressed digest (`rootfs.diff_ids`).
    pub diff_id: String,
    /// Uncompressed bytes, as read.
    pub size: u64,
    /// Compressed bytes, as the registry stores it (a registry's image only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compressed_size: Option<u64>,
    /// The build step that made it, from the config's history (`RUN pip install ...`; a
    /// registry's image only, when its history has an entry per layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageFacts {
    pub schema_version: u32,
    #[serde(flatten)]
    pub image: ImageMetadata,
    pub os_release: Option<OsRelease>,
    pub deb_packages: Vec<DebPackage>,
    pub python: PythonFacts,
    pub conda: Vec<CondaEnvironment>,
    pub r: Vec<RLibrary>,
    /// SciServer breadcrumbs from the labels, oldest build first.
    pub breadcrumbs: Vec<Breadcrumb>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    pub id: String,
    pub version_id: Option<String>,
    pub name: Option<String>,
    pub pretty_name: Option<String>,
    pub version_codename: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PythonFacts {
    /// The interpreter `python3` (else `python`) finds on the image's `PATH`.
    pub default: Option<Interpreter>,
    /// The site directories the default interpreter puts on `sys.path`, in its order:
    /// `PYTHONPATH`, the user site, a virtual environment's, the installation's (Debian's
    /// `dist-packages` included). Whether or not the image has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub site_path: Vec<String>,
    pub interpreters: Vec<Interpreter>,
    pub environments: Vec<PythonEnvironment>,
}

/// A distribution the default interpreter imports, and the site directory it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Importable<'a> {
    pub directory: &'a str,
    pub package: &'a PythonPackage,
}

impl PythonFacts {
    /// Every distribution the default interpreter imports: the environments on its `sys.path`,
    /// the first on the path winning where two hold the same distribution. Without a default
    /// interpreter, every environment (the first in path order winning).
    pub fn importable(&self) -> Vec<Importable<'_>> {
        let environments: Vec<&PythonEnvironment> = if self.default.is_some() {
            self.site_path
                .iter()
                .filter_map(|directory| {
                    self.environments
                        .iter()
                        .find(|environment| &environment.path == directory)
                })
                .collect()
        } else {
            self.environments.iter().collect()
        };
        let mut seen = BTreeSet::new();
        let mut importable = Vec::new();
        for environment in environments {
            for package in &environment.packages {
                if seen.insert(crate::normalize_python_name(&package.name)) {
                    importable.push(Importable {
                        directory: &environment.path,
                        package,
                    });
                }
            }
        }
        importable
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interpreter {
    pub path: String,
    /// Full version (`3.11.7`) when the image says it, else `3.11`.
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PythonEnvironment {
    /// The `site-packages` (or `dist-packages`) directory.
    pub path: String,
    pub python_version: Option<String>,
    pub packages: Vec<PythonPackage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CondaEnvironment {
    pub prefix: String,
    pub packages: Vec<CondaPackage>,
    /// What `conda activate` would export (from `etc/conda/activate.d/*.sh`), and whether the
    /// image leaves it unset.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub activation: Vec<ActivationCheck>,
}

/// One variable an environment's activation exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivationCheck {
    pub name: String,
    /// The value activation gives it (`$CONDA_PREFIX` expanded).
    pub value: String,
    /// The script that exports it.
    pub script: String,
    /// Neither the image's `ENV` sets it nor its `ENTRYPOINT`/`CMD`/`SHELL` activates the
    /// environment: a process started in the image does not see it.
    pub left_unset: bool,
}

impl CondaEnvironment {
    /// `/opt/conda`, `/opt/conda/envs/heasoft`.
    pub fn path(&self) -> String {
        format!("/{}", self.prefix)
    }

    /// The environment's name as conda gives it: the directory under `envs/`, else `base`.
    pub fn name(&self) -> &str {
        self.prefix
            .rsplit_once("envs/")
            .map_or("base", |(_, name)| name)
    }

    /// The `ENV` lines that make the variables activation sets, and the image leaves unset,
    /// hold for every process.
    pub fn env_fix(&self) -> Vec<String> {
        self.activation
            .iter()
            .filter(|check| check.left_unset)
            .map(|check| format!("ENV {}={}", check.name, quote_env(&check.value)))
            .collect()
    }
}

impl ImageFacts {
    /// One paragraph per conda environment whose activation exports variables the image leaves
    /// unset: what they are, which script sets them, and the `ENV` lines that fix it.
    pub fn activation_problems(&self) -> Vec<String> {
        self.conda
            .iter()
            .filter(|environment| environment.activation.iter().any(|check| check.left_unset))
            .map(|environment| {
                let unset: Vec<String> = environment
                    .activation
                    .iter()
                    .filter(|check| check.left_unset)
                    .map(|check| format!("`{}` (from {})", check.name, check.script))
                    .collect();
                format!(
                    "conda environment `{}` is not activated in this image, so {} {} unset for every process started from it; add to the Dockerfile:\n    {}",
                    environment.path(),
                    unset.join(", "),
                    if unset.len() == 1 { "is" } else { "are" },
                    environment.env_fix().join("\n    ")
                )
            })
            .collect()
    }
}

fn quote_env(value: &str) -> String {
    if value
        .chars()
        .any(|character| character.is_whitespace() || character == '"')
    {
        format!("\"{}\"", value.replace('"', "\\\""))
    } else {
        value.to_string()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RLibrary {
    pub path: String,
    pub packages: Vec<RPackage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breadcrumb {
    /// `science` or `compat`.
    pub kind: &'static str,
    /// The science target; `null` for the compat layer.
    pub target: Option<String>,
    pub version: String,
    pub buildtime: Option<String>,
}

/// Compute the facts of an image from its metadata and its layer records (bottom first).
pub fn compute(mut metadata: ImageMetadata, records: &[LayerRecord]) -> ImageFacts {
    // The layers' own count, not the engine's: the same image has one size, local or remote.
    metadata.size = records.iter().map(|record| record.size).sum();
    metadata.layers = records
        .iter()
        .map(|record| LayerSummary {
            diff_id: record.diff_id.clone(),
            size: record.size,
            compressed_size: None,
            step: None,
        })
        .collect();
    let view = MergedView::merge(records);
    let mut warnings = Vec::new();
    for record in records {
        let short = record.diff_id.get(7..19).unwrap_or(&record.diff_id);
        warnings.extend(
            record
                .warnings
                .iter()
                .map(|warning| format!("layer {short}: {warning}")),
        );
    }
    let deb_packages = deb_packages(&view);
    let mut conda = conda_environments(&view);
    audit_activation(&view, &metadata, &mut conda);
    let python = python_facts(
        &view,
        &metadata.env,
        metadata.user.as_deref(),
        &deb_packages,
        &conda,
    );
    let breadcrumbs = breadcrumbs(&metadata.labels);
    ImageFacts {
        schema_version: FACTS_SCHEMA_VERSION,
        os_release: os_release(&view),
        deb_packages,
        python,
        conda,
        r: r_libraries(&view),
        breadcrumbs,
        warnings,
        image: metadata,
    }
}

fn facts_at<'a>(view: &'a MergedView, path: &str) -> Option<&'a FileFacts> {
    match view.get(path)? {
        Node::Facts { facts } => Some(facts),
        _ => None,
    }
}

fn os_release(view: &MergedView) -> Option<OsRelease> {
    let fields =
        ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .find_map(|path| match facts_at(view, path) {
                Some(FileFacts::OsRelease { fields }) => Some(fields),
                _ => None,
            })?;
    Some(OsRelease {
        id: fields
            .get("ID")
            .cloned()
            .unwrap_or_else(|| "linux".to_string()),
        version_id: fields.get("VERSION_ID").cloned(),
        name: fields.get("NAME").cloned(),
        pretty_name: fields.get("PRETTY_NAME").cloned(),
        version_codename: fields.get("VERSION_CODENAME").cloned(),
    })
}

fn deb_packages(view: &MergedView) -> Vec<DebPackage> {
    let mut packages: BTreeMap<(String, Option<String>), DebPackage> = BTreeMap::new();
    for (path, node) in &view.entries {
        if path != "var/lib/dpkg/status" && !path.starts_with("var/lib/dpkg/status.d/") {
            continue;
        }
        if let Node::Facts {
            facts: FileFacts::Dpkg { packages: found },
        } = node
        {
            for package in found {
                packages.insert(
                    (package.name.clone(), package.architecture.clone()),
                    package.clone(),
                );
            }
        }
    }
    packages
        .into_values()
        .map(|mut package| {
            let copyright = format!("usr/share/doc/{}/copyright", package.name);
            if let Some(Node::Facts {
                facts: FileFacts::Copyright { licenses },
            }) = view.entries.get(&copyright)
            {
                package.licenses.clone_from(licenses);
            }
            package
        })
        .collect()
}

fn r_libraries(view: &MergedView) -> Vec<RLibrary> {
    let mut libraries: BTreeMap<String, Vec<RPackage>> = BTreeMap::new();
    for (path, node) in &view.entries {
        if let Node::Facts {
            facts: FileFacts::R(package),
        } = node
        {
            let library = path.rsplitn(3, '/').nth(2).unwrap_or_default();
            libraries
                .entry(library.to_string())
                .or_default()
                .push(package.clone());
        }
    }
    libraries
        .into_iter()
        .map(|(path, mut packages)| {
            packages.sort();
            RLibrary { path, packages }
        })
        .collect()
}

fn breadcrumbs(labels: &BTreeMap<String, String>) -> Vec<Breadcrumb> {
    let mut crumbs = Vec::new();
    let targets: BTreeSet<&str> = labels
        .keys()
        .filter_map(|key| {
            key.strip_prefix("org.sciserver.science.")?
                .strip_suffix(".version")
        })
        .collect();
    for target in targets {
        crumbs.push(Breadcrumb {
            kind: "science",
            target: Some(target.to_string()),
            version: labels[&format!("org.sciserver.science.{target}.version")].clone(),
            buildtime: labels
                .get(&format!("org.sciserver.science.{target}.buildtime"))
                .cloned(),
        });
    }
    if let Some(version) = labels.get("org.sciserver.compat.version") {
        crumbs.push(Breadcrumb {
            kind: "compat",
            target: None,
            version: version.clone(),
            buildtime: labels.get("org.sciserver.compat.buildtime").cloned(),
        });
    }
    let time = |crumb: &Breadcrumb| {
        crumb
            .buildtime
            .as_deref()
            .and_then(|time| time.parse::<f64>().ok())
            .unwrap_or(f64::MAX)
    };
    crumbs.sort_by(|a, b| time(a).total_cmp(&time(b)));
    crumbs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ActivationVariable;

    /// One layer: a base environment with proj's activation script and a named one with
    /// gdal's.
    fn layer() -> LayerRecord {
        let mut record = LayerRecord::default();
        let conda = |name: &str| Node::Facts {
            facts: FileFacts::Conda(Box::new(CondaPackage {
                name: name.to_string(),
                version: "1".to_string(),
                ..CondaPackage::default()
            })),
        };
        let script = |name: &str, value: &str| Node::Facts {
            facts: FileFacts::CondaActivation {
                variables: vec![ActivationVariable {
                    name: name.to_string(),
                    value: value.to_string(),
                }],
            },
        };
        for (path, node) in [
            ("opt/conda/conda-meta/proj-1-0.json", conda("proj")),
            (
                "opt/conda/etc/conda/activate.d/proj4-activate.sh",
                script("PROJ_LIB", "/opt/conda/share/proj"),
            ),
            ("opt/conda/envs/geo/conda-meta/gdal-1-0.json", conda("gdal")),
            (
                "opt/conda/envs/geo/etc/conda/activate.d/gdal-activate.sh",
                script("GDAL_DATA", "/opt/conda/envs/geo/share/gdal"),
            ),
        ] {
            record.entries.insert(path.to_string(), node);
        }
        record
    }

    fn unset(facts: &ImageFacts) -> Vec<String> {
        facts
            .conda
            .iter()
            .flat_map(CondaEnvironment::env_fix)
            .collect()
    }

    #[test]
    fn activation_left_unset_unless_env_or_the_entrypoint_activates() {
        let facts = compute(ImageMetadata::default(), &[layer()]);
        assert_eq!(
            unset(&facts),
            [
                "ENV PROJ_LIB=/opt/conda/share/proj",
                "ENV GDAL_DATA=/opt/conda/envs/geo/share/gdal"
            ]
        );
        assert_eq!(facts.conda[1].name(), "geo");
        assert_eq!(
            facts.conda[0].activation[0].script,
            "/opt/conda/etc/conda/activate.d/proj4-activate.sh"
        );

        // `ENV PROJ_LIB` fixes the base environment; `conda run -n geo` activates the other.
        let metadata = ImageMetadata {
            env: vec!["PROJ_LIB=/opt/conda/share/proj".to_string()],
            entrypoint: vec![
                "/opt/conda/bin/conda".into(),
                "run".into(),
                "-n".into(),
                "geo".into(),
            ],
            ..ImageMetadata::default()
        };
        assert!(unset(&compute(metadata, &[layer()])).is_empty());

        // micromamba's entrypoint activates base (no `ENV_NAME`).
        let metadata = ImageMetadata {
            entrypoint: vec!["/usr/local/bin/_entrypoint.sh".into()],
            ..ImageMetadata::default()
        };
        assert_eq!(
            unset(&compute(metadata, &[layer()])),
            ["ENV GDAL_DATA=/opt/conda/envs/geo/share/gdal"]
        );
    }

    fn distribution(name: &str, version: &str) -> Node {
        Node::Facts {
            facts: FileFacts::PythonDistribution(PythonPackage {
                name: name.to_string(),
                version: version.to_string(),
                summary: None,
                license: None,
            }),
        }
    }

    /// Debian 12's Python from apt, `pip install --break-system-packages` into
    /// `/usr/local/lib/python3.11/dist-packages`, apt's six in `/usr/lib/python3/dist-packages`.
    fn debian_layer() -> LayerRecord {
        let mut record = LayerRecord::default();
        record.entries.insert(
            "var/lib/dpkg/status".to_string(),
            Node::Facts {
                facts: FileFacts::Dpkg {
                    packages: vec![DebPackage {
                        name: "python3.11-minimal".to_string(),
                        version: "3.11.2-6+deb12u1".to_string(),
                        architecture: Some("amd64".to_string()),
                        source: None,
                        licenses: Vec::new(),
                    }],
                },
            },
        );
        record
            .entries
            .insert("usr/bin/python3.11".to_string(), Node::Executable);
        record.entries.insert(
            "usr/bin/python3".to_string(),
            Node::Symlink {
                target: "python3.11".to_string(),
            },
        );
        for (path, name, version) in [
            (
                "usr/local/lib/python3.11/dist-packages/attrs-23.2.0.dist-info/METADATA",
                "attrs",
                "23.2.0",
            ),
            (
                "usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info/METADATA",
                "six",
                "1.16.0",
            ),
            (
                "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
                "six",
                "1.15.0",
            ),
            (
                "usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA",
                "pip",
                "23.0.1",
            ),
            // Not on Debian's `sys.path`: nothing there is imported.
            (
                "usr/lib/python3.11/site-packages/stray-1.0.dist-info/METADATA",
                "stray",
                "1.0",
            ),
        ] {
            record
                .entries
                .insert(path.to_string(), distribution(name, version));
        }
        record
    }

    fn imported(facts: &ImageFacts) -> Vec<String> {
        facts
            .python
            .importable()
            .iter()
            .map(|found| {
                format!(
                    "{}=={} in {}",
                    found.package.name, found.package.version, found.directory
                )
            })
            .collect()
    }

    #[test]
    fn debian_site_path_puts_local_dist_packages_first() {
        let facts = compute(ImageMetadata::default(), &[debian_layer()]);
        assert_eq!(facts.python.default.as_ref().unwrap().version, "3.11.2");
        assert_eq!(
            facts.python.site_path,
            [
                "/root/.local/lib/python3.11/site-packages",
                "/usr/local/lib/python3.11/dist-packages",
                "/usr/lib/python3/dist-packages",
                "/usr/lib/python3.11/dist-packages",
            ]
        );
        assert_eq!(
            imported(&facts),
            [
                "attrs==23.2.0 in /usr/local/lib/python3.11/dist-packages",
                "six==1.16.0 in /usr/local/lib/python3.11/dist-packages",
                "pip==23.0.1 in /usr/lib/python3/dist-packages",
            ]
        );
    }

    #[test]
    fn venv_site_path_follows_pyvenv_cfg_and_user_site_follows_home() {
        let mut venv = debian_layer();
        venv.entries.insert(
            "opt/venv/bin/python3".to_string(),
            Node::Symlink {
                target: "/usr/bin/python3".to_string(),
            },
        );
        venv.entries.insert(
            "opt/venv/pyvenv.cfg".to_string(),
            Node::Facts {
                facts: FileFacts::Pyvenv {
                    version: Some("3.11.2".to_string()),
                    system_site_packages: false,
                },
            },
        );
        venv.entries.insert(
            "opt/venv/lib/python3.11/site-packages/attrs-24.2.0.dist-info/METADATA".to_string(),
            distribution("attrs", "24.2.0"),
        );
        venv.entries.insert(
            "home/jovyan/.local/lib/python3.11/site-packages/six-1.17.0.dist-info/METADATA"
                .to_string(),
            distribution("six", "1.17.0"),
        );
        let metadata = |system_site: bool| {
            let mut layer = venv.clone();
            if let Some(Node::Facts {
                facts:
                    FileFacts::Pyvenv {
                        system_site_packages,
                        ..
                    },
            }) = layer.entries.get_mut("opt/venv/pyvenv.cfg")
            {
                *system_site_packages = system_site;
            }
            let metadata = ImageMetadata {
                env: vec![
                    "PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin".to_string(),
                    "HOME=/home/jovyan".to_string(),
                ],
                user: Some("jovyan".to_string()),
                ..ImageMetadata::default()
            };
            compute(metadata, &[layer])
        };
        // An isolated venv: its own site-packages only, no user site.
        let isolated = metadata(false);
        assert_eq!(
            imported(&isolated),
            ["attrs==24.2.0 in /opt/venv/lib/python3.11/site-packages"]
        );
        assert!(!isolated
            .python
            .site_path
            .iter()
            .any(|path| path.starts_with("/home")));
        // `--system-site-packages`: the user site first, then the venv, then Debian's (whose
        // `site.py` adds `/usr/lib/python3.11/site-packages` too inside a venv).
        let shared = metadata(true);
        assert_eq!(
            imported(&shared),
            [
                "six==1.17.0 in /home/jovyan/.local/lib/python3.11/site-packages",
                "attrs==24.2.0 in /opt/venv/lib/python3.11/site-packages",
                "stray==1.0 in /usr/lib/python3.11/site-packages",
                "pip==23.0.1 in /usr/lib/python3/dist-packages",
            ]
        );
    }

    #[test]
    fn official_python_images_use_usr_local_site_packages() {
        let mut record = LayerRecord::default();
        record
            .entries
            .insert("usr/local/bin/python3.12".to_string(), Node::Executable);
        record.entries.insert(
            "usr/local/bin/python3".to_string(),
            Node::Symlink {
                target: "python3.12".to_string(),
            },
        );
        record.entries.insert(
            "usr/local/lib/python3.12/site-packages/pip-24.0.dist-info/METADATA".to_string(),
            distribution("pip", "24.0"),
        );
        let metadata = ImageMetadata {
            env: vec![
                "PATH=/usr/local/bin:/usr/bin:/bin".to_string(),
                "PYTHONPATH=/opt/extra".to_string(),
                "PYTHONNOUSERSITE=1".to_string(),
            ],
            ..ImageMetadata::default()
        };
        let facts = compute(metadata, &[record]);
        assert_eq!(
            facts.python.site_path,
            ["/opt/extra", "/usr/local/lib/python3.12/site-packages"]
        );
        assert_eq!(
            imported(&facts),
            ["pip==24.0 in /usr/local/lib/python3.12/site-packages"]
        );
    }
}
