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
                .push(CondaPackage::clone(package));
        }
    }
    environments
        .into_iter()
        .map(|(prefix, mut packages)| {
            packages.sort();
            CondaEnvironment {
                prefix,
                packages,
                activation: Vec::new(),
            }
        })
        .collect()
}

/// Whether the image's `ENTRYPOINT`, `CMD` or `SHELL` activates an environment (`conda run`,
/// `conda activate`, micromamba's `_entrypoint.sh`, …): the prefixes it activates.
fn activated_prefixes(metadata: &ImageMetadata, environments: &[CondaEnvironment]) -> Vec<String> {
    let mut prefixes = Vec::new();
    for command in [&metadata.entrypoint, &metadata.cmd, &metadata.shell] {
        let words: Vec<&str> = command
            .iter()
            .flat_map(|argument| argument.split_whitespace())
            .collect();
        let activates = words.windows(2).any(|pair| {
            let tool = pair[0].rsplit('/').next().unwrap_or_default();
            (matches!(tool, "conda" | "mamba" | "micromamba")
                && matches!(pair[1], "run" | "activate"))
                || (matches!(tool, "source" | ".") && pair[1].ends_with("activate"))
        }) || words.iter().any(|word| {
            let name = word.rsplit('/').next().unwrap_or_default();
            name == "_entrypoint.sh" || name == "activate"
        });
        if !activates {
            continue;
        }
        let named = words.windows(2).find_map(|pair| match pair[0] {
            "-n" | "--name" => environments
                .iter()
                .find(|environment| environment.name() == pair[1])
                .map(|environment| environment.prefix.clone()),
            "-p" | "--prefix" => Some(pair[1].trim_matches('/').to_string()),
            _ => None,
        });
        // micromamba's entrypoint activates `$ENV_NAME`, else base.
        let from_env = metadata.env.iter().find_map(|variable| {
            let name = variable.strip_prefix("ENV_NAME=")?;
            environments
                .iter()
                .find(|environment| environment.name() == name)
                .map(|environment| environment.prefix.clone())
        });
        let base = environments
            .iter()
            .find(|environment| environment.name() == "base")
            .map(|environment| environment.prefix.clone());
        prefixes.extend(named.or(from_env).or(base));
    }
    prefixes
}

/// Fill each environment's `activation` from its `etc/conda/activate.d` scripts.
fn audit_activation(
    view: &MergedView,
    metadata: &ImageMetadata,
    environments: &mut [CondaEnvironment],
) {
    let set_by_env: BTreeSet<&str> = metadata
        .env
        .iter()
        .filter_map(|variable| variable.split_once('=').map(|(name, _)| name))
        .collect();
    let activated = activated_prefixes(metadata, environments);
    for environment in environments.iter_mut() {
        let directory = if environment.prefix.is_empty() {
            "etc/conda/activate.d/".to_string()
        } else {
            format!("{}/etc/conda/activate.d/", environment.prefix)
        };
        let is_activated = activated.contains(&environment.prefix);
        for (path, node) in view
            .entries
            .range(directory.clone()..)
            .take_while(|(path, _)| path.starts_with(&directory))
        {
            let Node::Facts {
                facts: FileFacts::CondaActivation { variables },
            } = node
            else {
                continue;
            };
            for variable in variables {
                if environment
                    .activation
                    .iter()
                    .any(|check| check.name == variable.name)
                {
                    continue;
                }
                environment.activation.push(ActivationCheck {
                    name: variable.name.clone(),
                    value: variable.value.clone(),
                    script: format!("/{path}"),
                    left_unset: !is_activated && !set_by_env.contains(variable.name.as_str()),
                });
            }
        }
    }
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
        ..
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
    user: Option<&str>,
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
    let variable = |name: &str| {
        let prefix = format!("{name}=");
        env.iter()
            .find_map(|variable| variable.strip_prefix(prefix.as_str()))
    };
    let search_path = variable("PATH").unwrap_or(DEFAULT_PATH);
    let found = search_path.split(':').find_map(|directory| {
        ["python3", "python"].iter().find_map(|name| {
            let invoked = format!("{}/{name}", directory.trim_matches('/'));
            let resolved = view.resolve(&invoked)?;
            (view.entries.get(&resolved) == Some(&Node::Executable))
                .then(|| interpreter_at(view, &resolved, deb, conda))
                .flatten()
                .map(|interpreter| (invoked, resolved, interpreter))
        })
    });
    let site_path = found
        .as_ref()
        .map(|(invoked, resolved, interpreter)| {
            SiteSearch {
                view,
                deb,
                variable: &variable,
                user,
            }
            .site_path(invoked, resolved, &interpreter.version)
        })
        .unwrap_or_default();
    let default = found.map(|(_, _, interpreter)| interpreter);
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
        site_path,
        interpreters,
        environments,
    }
}

/// How `site.py` builds the default interpreter's `sys.path` site directories, from the image's
/// files and config alone.
struct SiteSearch<'a> {
    view: &'a MergedView,
    deb: &'a [DebPackage],
    variable: &'a dyn Fn(&str) -> Option<&'a str>,
    user: Option<&'a str>,
}

impl SiteSearch<'_> {
    /// `invoked`: where `PATH` finds the interpreter (a venv's `bin/python3`); `resolved`: the
    /// executable it links to. Both relative to the root.
    fn site_path(&self, invoked: &str, resolved: &str, version: &str) -> Vec<String> {
        let minor = resolved.rsplit('/').next().and_then(minor_of).map_or_else(
            || version.split('.').take(2).collect::<Vec<_>>().join("."),
            str::to_string,
        );
        let base = resolved
            .rsplit_once('/')
            .map_or("", |(directory, _)| directory);
        let base = base
            .strip_suffix("/bin")
            .unwrap_or(if base == "bin" { "" } else { base });
        // `site.py` looks for `pyvenv.cfg` beside the executable it was started as, then one up.
        let directory = invoked
            .rsplit_once('/')
            .map_or("", |(directory, _)| directory);
        let venv = [
            directory,
            directory.rsplit_once('/').map_or("", |(up, _)| up),
        ]
        .into_iter()
        .find_map(|candidate| {
            let config = if candidate.is_empty() {
                "pyvenv.cfg".to_string()
            } else {
                format!("{candidate}/pyvenv.cfg")
            };
            match facts_at(self.view, &config) {
                Some(FileFacts::Pyvenv {
                    system_site_packages,
                    ..
                }) => Some((candidate.to_string(), *system_site_packages)),
                _ => None,
            }
        });
        // Debian's and Ubuntu's own Python: `site.py` patched for `dist-packages`.
        let debian = base == "usr"
            && self.deb.iter().any(|package| {
                package.name == format!("python{minor}-minimal")
                    || package.name == format!("libpython{minor}-minimal")
                    || package.name == format!("libpython{minor}-stdlib")
            });
        let prefixes: Vec<&str> = match &venv {
            Some((venv, true)) => vec![venv.as_str(), base],
            Some((venv, false)) => vec![venv.as_str()],
            None => vec![base],
        };
        let mut path: Vec<String> = Vec::new();
        let absolute = |directory: &str| format!("/{}", directory.trim_matches('/'));
        if let Some(python_path) = (self.variable)("PYTHONPATH") {
            path.extend(
                python_path
                    .split(':')
                    .filter(|entry| entry.starts_with('/'))
                    .map(absolute),
            );
        }
        let user_site = (self.variable)("PYTHONNOUSERSITE").is_none_or(str::is_empty)
            && !matches!(venv, Some((_, false)));
        if user_site {
            let home = (self.variable)("HOME").map(str::to_string).or_else(|| {
                // Docker sets `HOME=/root` for root when the image does not set it; another
                // user's home is in `/etc/passwd`, which strata does not read.
                matches!(
                    self.user.map(|user| user.split(':').next().unwrap_or(user)),
                    None | Some("root" | "0")
                )
                .then(|| "/root".to_string())
            });
            let user_base = (self.variable)("PYTHONUSERBASE")
                .filter(|base| base.starts_with('/'))
                .map(str::to_string)
                .or_else(|| home.map(|home| format!("{}/.local", home.trim_end_matches('/'))));
            if let Some(user_base) = user_base {
                path.push(absolute(&format!(
                    "{user_base}/lib/python{minor}/site-packages"
                )));
            }
        }
        for prefix in prefixes {
            let under = |relative: &str| {
                absolute(&if prefix.is_empty() {
                    relative.to_string()
                } else {
                    format!("{prefix}/{relative}")
                })
            };
            if debian {
                if venv.is_some() {
                    path.push(under(&format!("lib/python{minor}/site-packages")));
                }
                path.push(under(&format!("local/lib/python{minor}/dist-packages")));
                path.push(under("lib/python3/dist-packages"));
                path.push(under(&format!("lib/python{minor}/dist-packages")));
            } else {
                path.push(under(&format!("lib/python{minor}/site-packages")));
            }
        }
        // As Python: symlinked directories count once, by where they lead.
        let mut seen = BTreeSet::new();
        path.into_iter()
            .map(|directory| {
                self.view
                    .resolve(directory.trim_start_matches('/'))
                    .map_or(directory, |resolved| absolute(&resolved))
            })
            .filter(|directory| seen.insert(directory.clone()))
            .collect()
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
