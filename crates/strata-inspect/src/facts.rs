//! The facts of an image, computed from its metadata and the merged records of its layers:
//! OS, Debian packages, Python interpreters and environments, conda environments, R libraries,
//! labels and the SciServer breadcrumb trail. Serialized as `strata inspect --json`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::filesystem::MergedView;
use crate::layer::is_interpreter_name;
use crate::parsers::debian_upstream_version;
use crate::records::{
    CondaPackage, DebPackage, FileFacts, LayerRecord, Node, PythonPackage, RPackage,
};

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
    pub interpreters: Vec<Interpreter>,
    pub environments: Vec<PythonEnvironment>,
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
    if metadata.size == 0 {
        metadata.size = records.iter().map(|record| record.size).sum();
    }
    metadata.layers = records
        .iter()
        .map(|record| LayerSummary {
            diff_id: record.diff_id.clone(),
            size: record.size,
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
    let conda = conda_environments(&view);
    let python = python_facts(&view, &metadata.env, &deb_packages, &conda);
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

fn conda_environments(view: &MergedView) -> Vec<CondaEnvironment> {
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
                .push(package.clone());
        }
    }
    environments
        .into_iter()
        .map(|(prefix, mut packages)| {
            packages.sort();
            CondaEnvironment { prefix, packages }
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

/// `python3.11` → `3.11`.
fn minor_of(name: &str) -> Option<&str> {
    let version = name.strip_prefix("python")?;
    (version.contains('.')).then_some(version)
}

/// The full Python version of an installation prefix (`usr`, `opt/conda`, `opt/venv`).
fn prefix_version(
    view: &MergedView,
    prefix: &str,
    minor: Option<&str>,
    deb: &[DebPackage],
    conda: &[CondaEnvironment],
) -> Option<String> {
    let under = |relative: &str| {
        if prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{prefix}/{relative}")
        }
    };
    if let Some(FileFacts::Pyvenv {
        version: Some(version),
    }) = facts_at(view, &under("pyvenv.cfg"))
    {
        return Some(version.clone());
    }
    if let Some(environment) = conda
        .iter()
        .find(|environment| environment.prefix == prefix)
    {
        if let Some(python) = environment
            .packages
            .iter()
            .find(|package| package.name == "python")
        {
            return Some(python.version.clone());
        }
    }
    let include = under("include/");
    for (path, node) in view
        .entries
        .range(include.clone()..)
        .take_while(|(path, _)| path.starts_with(&include))
    {
        if let Node::Facts {
            facts: FileFacts::PythonPatchLevel { version },
        } = node
        {
            let directory = path.rsplit('/').nth(1).unwrap_or_default();
            if minor.is_none_or(|minor| directory == format!("python{minor}")) {
                return Some(version.clone());
            }
        }
    }
    if prefix == "usr" {
        let names: Vec<String> = match minor {
            Some(minor) => vec![
                format!("python{minor}"),
                format!("python{minor}-minimal"),
                format!("libpython{minor}-minimal"),
            ],
            None => vec!["python3".to_string(), "python3-minimal".to_string()],
        };
        for name in names {
            if let Some(package) = deb.iter().find(|package| package.name == name) {
                return Some(debian_upstream_version(&package.version).to_string());
            }
        }
    }
    None
}

fn interpreter_at(
    view: &MergedView,
    path: &str,
    deb: &[DebPackage],
    conda: &[CondaEnvironment],
) -> Option<Interpreter> {
    let (directory, name) = path.rsplit_once('/')?;
    let prefix = directory
        .strip_suffix("/bin")
        .or_else(|| (directory == "bin").then_some(""))?;
    let minor = minor_of(name);
    let version =
        prefix_version(view, prefix, minor, deb, conda).or_else(|| minor.map(str::to_string))?;
    Some(Interpreter {
        path: format!("/{path}"),
        version,
    })
}

fn python_facts(
    view: &MergedView,
    env: &[String],
    deb: &[DebPackage],
    conda: &[CondaEnvironment],
) -> PythonFacts {
    let mut interpreters = Vec::new();
    for (path, node) in &view.entries {
        let name = path.rsplit('/').next().unwrap_or_default();
        if *node == Node::Executable
            && name != "R"
            && is_interpreter_name(name)
            && minor_of(name).is_some()
        {
            interpreters.extend(interpreter_at(view, path, deb, conda));
        }
    }
    let search_path = env
        .iter()
        .find_map(|variable| variable.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let default = search_path.split(':').find_map(|directory| {
        ["python3", "python"].iter().find_map(|name| {
            let resolved = view.resolve(&format!("{}/{name}", directory.trim_matches('/')))?;
            (view.entries.get(&resolved) == Some(&Node::Executable))
                .then(|| interpreter_at(view, &resolved, deb, conda))
                .flatten()
        })
    });
    let mut environments: BTreeMap<String, Vec<PythonPackage>> = BTreeMap::new();
    for (path, node) in &view.entries {
        if let Node::Facts {
            facts: FileFacts::PythonDistribution(package),
        } = node
        {
            let components: Vec<&str> = path.split('/').collect();
            if let Some(position) = components.iter().rposition(|component| {
                *component == "site-packages" || *component == "dist-packages"
            }) {
                environments
                    .entry(components[..=position].join("/"))
                    .or_default()
                    .push(package.clone());
            }
        }
    }
    let environments = environments
        .into_iter()
        .map(|(path, mut packages)| {
            packages.sort();
            packages
                .dedup_by(|a, b| a.name.eq_ignore_ascii_case(&b.name) && a.version == b.version);
            let components: Vec<&str> = path.split('/').collect();
            let library = components
                .iter()
                .rposition(|component| *component == "lib" || *component == "lib64");
            let python_version = library.and_then(|position| {
                let prefix = components[..position].join("/");
                let minor = components
                    .get(position + 1)
                    .and_then(|directory| minor_of(directory));
                prefix_version(view, &prefix, minor, deb, conda)
                    .or_else(|| minor.map(str::to_string))
            });
            PythonEnvironment {
                path: format!("/{path}"),
                python_version,
                packages,
            }
        })
        .collect();
    PythonFacts {
        default,
        interpreters,
        environments,
    }
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
