//! Python in an image: interpreters on the `PATH`, their versions, and the site directories
//! each searches, in order, with the distributions found there.

use std::collections::{BTreeMap, BTreeSet};

use crate::filesystem::MergedView;
use crate::layer::is_interpreter_name;
use crate::parsers::debian_upstream_version;
use crate::records::{DebPackage, FileFacts, Node, PythonPackage};

use super::{
    facts_at, CondaEnvironment, Interpreter, PythonEnvironment, PythonFacts, DEFAULT_PATH,
};

/// `python3.11` → `3.11`.
pub(super) fn minor_of(name: &str) -> Option<&str> {
    let version = name.strip_prefix("python")?;
    (version.contains('.')).then_some(version)
}

/// The full Python version of an installation prefix (`usr`, `opt/conda`, `opt/venv`).
pub(super) fn prefix_version(
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

pub(super) fn interpreter_at(
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

pub(super) fn python_facts(
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
pub(super) struct SiteSearch<'a> {
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
