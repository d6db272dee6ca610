//! Parsers for the files that carry facts: `os-release`, dpkg's status database, Python
//! distribution metadata, `pyvenv.cfg`, `patchlevel.h`, conda's `conda-meta/*.json` and
//! activation scripts, and R's `DESCRIPTION`. Each takes bytes as found in a layer and never fails: a file it cannot read
//! yields nothing.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::records::{ActivationVariable, CondaPackage, DebPackage, PythonPackage, RPackage};

/// `KEY=value` / `KEY="value"` lines.
pub fn os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (key, value) = line.split_once('=')?;
            let value = strip_quotes(value.trim());
            Some((key.trim().to_string(), value.replace("\\\"", "\"")))
        })
        .collect()
}

/// RFC 822-style paragraphs (dpkg status, R DESCRIPTION): field names to values, continuation
/// lines joined.
fn paragraphs(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut result = Vec::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    let mut last_key: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                result.push(std::mem::take(&mut current));
            }
            last_key = None;
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(key) = &last_key {
                if let Some(value) = current.get_mut(key) {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.insert(key.trim().to_string(), value.trim().to_string());
            last_key = Some(key.trim().to_string());
        }
    }
    if !current.is_empty() {
        result.push(current);
    }
    result
}

/// Installed packages of a dpkg status file. `require_installed` is false for distroless
/// `status.d` files, which have no `Status` field.
pub fn dpkg_status(text: &str, require_installed: bool) -> Vec<DebPackage> {
    paragraphs(text)
        .into_iter()
        .filter(|fields| {
            !require_installed
                || fields
                    .get("Status")
                    .is_some_and(|status| status.split_whitespace().last() == Some("installed"))
        })
        .filter_map(|mut fields| {
            let name = fields.remove("Package")?;
            let version = fields.remove("Version")?;
            let source = fields
                .remove("Source")
                .map(|source| {
                    source
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
                .filter(|source| *source != name);
            Some(DebPackage {
                licenses: Vec::new(),
                name,
                version,
                architecture: fields.remove("Architecture"),
                source,
            })
        })
        .collect()
}

/// The header of a `METADATA` / `PKG-INFO` file (everything before the first blank line), read
/// by strata-pylock's one reader of these headers; a field's first line is what is reported.
pub fn python_metadata(text: &str) -> Option<PythonPackage> {
    let mut name = None;
    let mut version = None;
    let mut summary = None;
    let mut license = None;
    for (key, value) in strata_pylock::metadata_fields(text) {
        let value = value.lines().next().unwrap_or_default().to_string();
        match key.as_str() {
            "name" => name = Some(value),
            "version" => version = Some(value),
            "summary" if !value.is_empty() && value != "UNKNOWN" => summary = Some(value),
            "license-expression" => license = Some(value),
            "license"
                if license.is_none()
                    && !value.is_empty()
                    && value != "UNKNOWN"
                    && value.len() < 200 =>
            {
                license = Some(value);
            }
            _ => {}
        }
    }
    Some(PythonPackage {
        name: name?,
        version: version?,
        summary,
        license,
    })
}

fn pyvenv_fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// `include-system-site-packages = true` in `pyvenv.cfg` (as `site.py` reads it: any case).
pub fn pyvenv_system_site_packages(text: &str) -> bool {
    pyvenv_fields(text)
        .get("include-system-site-packages")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// `version = 3.11.2` (or `version_info = 3.11.2.final.0`) from `pyvenv.cfg`.
pub fn pyvenv_version(text: &str) -> Option<String> {
    let fields = pyvenv_fields(text);
    if let Some(version) = fields.get("version") {
        return Some(version.clone());
    }
    let info = fields.get("version_info")?;
    Some(info.split('.').take(3).collect::<Vec<_>>().join("."))
}

/// `#define PY_VERSION "3.11.7"` from `patchlevel.h`.
pub fn patchlevel_version(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("#define")?
            .trim_start()
            .strip_prefix("PY_VERSION")?;
        let quoted = rest.trim();
        Some(quoted.trim_matches('"').to_string()).filter(|version| !version.is_empty())
    })
}

#[derive(Deserialize)]
struct CondaMeta {
    name: String,
    version: String,
    build: Option<String>,
    channel: Option<String>,
    #[serde(default)]
    license: Option<String>,
    build_number: Option<u64>,
    subdir: Option<String>,
    url: Option<String>,
    #[serde(rename = "fn")]
    filename: Option<String>,
    sha256: Option<String>,
    md5: Option<String>,
    #[serde(default)]
    depends: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
}

/// A value without its surrounding double or single quotes.
fn strip_quotes(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| {
            value
                .strip_prefix('\'')
                .and_then(|rest| rest.strip_suffix('\''))
        })
        .unwrap_or(value)
}

/// A `conda-meta/<name>-<version>-<build>.json` record.
pub fn conda_meta(bytes: &[u8]) -> Option<CondaPackage> {
    let meta: CondaMeta = serde_json::from_slice(bytes).ok()?;
    // Old records have no `url`: the channel (with or without the subdir) and the file name.
    let url = meta.url.filter(|url| !url.is_empty()).or_else(|| {
        let channel = meta.channel.as_deref()?.trim_end_matches('/');
        let filename = meta.filename.as_deref()?;
        if !channel.contains("://") {
            return None;
        }
        let subdir = meta.subdir.as_deref().unwrap_or_default();
        Some(
            if channel.ends_with(&format!("/{subdir}")) || subdir.is_empty() {
                format!("{channel}/{filename}")
            } else {
                format!("{channel}/{subdir}/{filename}")
            },
        )
    });
    let mut python_distributions: Vec<String> = meta
        .files
        .iter()
        .filter_map(|file| {
            let mut components = file.split('/');
            components.find(|component| *component == "site-packages")?;
            let directory = components.next()?;
            (directory.ends_with(".dist-info") || directory.ends_with(".egg-info"))
                .then(|| directory.to_string())
        })
        .collect();
    python_distributions.sort();
    python_distributions.dedup();
    Some(CondaPackage {
        name: meta.name,
        version: meta.version,
        build: meta.build,
        channel: meta.channel.map(|channel| channel_name(&channel)),
        license: meta.license.filter(|license| !license.is_empty()),
        build_number: meta.build_number,
        subdir: meta.subdir,
        url,
        sha256: meta.sha256.filter(|hash| !hash.is_empty()),
        md5: meta.md5.filter(|hash| !hash.is_empty()),
        depends: meta.depends,
        python_distributions,
    })
}

/// What a conda activation script (`etc/conda/activate.d/*.sh`) exports: `export NAME=value`,
/// `export "NAME=value"`, or `NAME=value` then `export NAME`. The first value of each name
/// wins (the branch taken when the environment holds the package); conda's own save-and-restore
/// variables (`_CONDA_SET_*`, `CONDA_BACKUP_*`, anything starting with `_`) are left out.
/// `$CONDA_PREFIX` becomes `/prefix`.
pub fn activation_script(text: &str, prefix: &str) -> Vec<ActivationVariable> {
    let prefix = format!("/{}", prefix.trim_matches('/'));
    let unquote = |value: &str| {
        strip_quotes(value.trim().trim_end_matches(';').trim())
            .replace("${CONDA_PREFIX}", &prefix)
            .replace("$CONDA_PREFIX", &prefix)
    };
    let is_name = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '_')
            && !name.starts_with(|character: char| character.is_ascii_digit())
    };
    let wanted = |name: &str| !name.starts_with('_') && !name.starts_with("CONDA_");
    let mut assigned: BTreeMap<String, String> = BTreeMap::new();
    let mut exported: Vec<ActivationVariable> = Vec::new();
    let export = |name: &str, value: String, exported: &mut Vec<ActivationVariable>| {
        if wanted(name) && !exported.iter().any(|variable| variable.name == name) {
            exported.push(ActivationVariable {
                name: name.to_string(),
                value,
            });
        }
    };
    for line in text.lines() {
        // `if …; then export X=…; fi` and `[ … ] && export X=…`: the statement after the last
        // `then`/`&&`/`;` that starts with export.
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        for statement in line.split(';').flat_map(|part| part.split("&&")) {
            let statement = statement.trim();
            let statement = statement
                .strip_prefix("then ")
                .or_else(|| statement.strip_prefix("else "))
                .unwrap_or(statement)
                .trim();
            if let Some(rest) = statement.strip_prefix("export ") {
                let rest = rest.trim();
                let unquoted = rest
                    .strip_prefix('"')
                    .and_then(|inner| inner.strip_suffix('"'))
                    .unwrap_or(rest);
                if let Some((name, value)) = unquoted.split_once('=') {
                    if is_name(name) {
                        export(name, unquote(value), &mut exported);
                    }
                } else {
                    for name in rest.split_whitespace() {
                        if let Some(value) = assigned.get(name) {
                            export(name, value.clone(), &mut exported);
                        }
                    }
                }
            } else if let Some((name, value)) = statement.split_once('=') {
                if is_name(name) && !value.starts_with('=') {
                    assigned
                        .entry(name.to_string())
                        .or_insert_with(|| unquote(value));
                }
            }
        }
    }
    exported
}

/// `https://conda.anaconda.org/conda-forge/linux-64` → `conda-forge`; `conda-forge` stays.
fn channel_name(channel: &str) -> String {
    let mut parts: Vec<&str> = channel.trim_end_matches('/').split('/').collect();
    let is_subdir = |part: &str| {
        part == "noarch"
            || ["linux-", "osx-", "win-", "emscripten-"]
                .iter()
                .any(|prefix| part.starts_with(prefix))
    };
    if parts.len() > 1 && parts.last().is_some_and(|last| is_subdir(last)) {
        parts.pop();
    }
    parts.last().copied().unwrap_or_default().to_string()
}

/// The licences of a machine-readable (DEP-5) Debian copyright file: every `License:` short
/// name, each once, in order; nothing for a free-form file.
pub fn dep5_licenses(text: &str) -> Vec<String> {
    if !text.trim_start().starts_with("Format:") {
        return Vec::new();
    }
    let mut licenses: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(value) = line.strip_prefix("License:") else {
            continue;
        };
        let name = value.trim();
        if !name.is_empty() && !licenses.iter().any(|known| known == name) {
            licenses.push(name.to_string());
        }
    }
    licenses
}

/// An R package's `DESCRIPTION`.
pub fn r_description(text: &str) -> Option<RPackage> {
    let mut fields = paragraphs(text).into_iter().next()?;
    Some(RPackage {
        name: fields.remove("Package")?,
        version: fields.remove("Version")?,
        license: fields.remove("License"),
    })
}

/// The upstream version of a Debian version: `3.11.2-6+deb12u1` → `3.11.2`, `1:2.3-1` → `2.3`.
pub fn debian_upstream_version(version: &str) -> &str {
    let without_epoch = version.split_once(':').map_or(version, |(_, rest)| rest);
    without_epoch
        .rsplit_once('-')
        .map_or(without_epoch, |(upstream, _)| upstream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep5_licences_are_read_once_each_and_free_form_files_give_none() {
        let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: bash\n\nFiles: *\nCopyright: 1987-2022 FSF\nLicense: GPL-3+\n\nFiles: lib/sh/inet_aton.c\nLicense: BSD-4-clause-UC\n\nLicense: GPL-3+\n This program is free software\n";
        assert_eq!(dep5_licenses(dep5), ["GPL-3+", "BSD-4-clause-UC"]);
        assert!(dep5_licenses("This is the Debian package of zlib.\nLicense: zlib\n").is_empty());
    }

    #[test]
    fn os_release_fields() {
        let fields = os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID='12'\n# c\n",
        );
        assert_eq!(fields["ID"], "debian");
        assert_eq!(fields["VERSION_ID"], "12");
        assert_eq!(fields["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
    }

    #[test]
    fn dpkg_installed_only_with_continuations() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nSource: a-src (1.0-1)\nDescription: x\n more\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n\nPackage: c\nStatus: install ok installed\nVersion: 1:3-2\n";
        let packages = dpkg_status(text, true);
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].source.as_deref(), Some("a-src"));
        assert_eq!(packages[1].version, "1:3-2");
        assert_eq!(dpkg_status("Package: d\nVersion: 1\n", false).len(), 1);
    }

    #[test]
    fn python_metadata_header_only() {
        let package = python_metadata("Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\nSummary: Fundamental\nLicense: BSD\n\nName: not-this\n").unwrap();
        assert_eq!(
            (package.name.as_str(), package.version.as_str()),
            ("numpy", "1.26.4")
        );
        assert_eq!(package.license.as_deref(), Some("BSD"));
        assert!(python_metadata("Name: x\n").is_none());
    }

    #[test]
    fn interpreter_versions() {
        assert_eq!(
            pyvenv_version("home = /usr/bin\nversion = 3.11.2\n").as_deref(),
            Some("3.11.2")
        );
        assert_eq!(
            pyvenv_version("version_info = 3.12.1.final.0\n").as_deref(),
            Some("3.12.1")
        );
        assert!(pyvenv_system_site_packages(
            "home = /usr/bin\ninclude-system-site-packages = True\n"
        ));
        assert!(!pyvenv_system_site_packages(
            "include-system-site-packages = false\n"
        ));
        assert!(!pyvenv_system_site_packages("home = /usr/bin\n"));
        assert_eq!(
            patchlevel_version("#define PY_MINOR_VERSION 11\n#define PY_VERSION      \"3.11.7\"\n")
                .as_deref(),
            Some("3.11.7")
        );
        assert_eq!(debian_upstream_version("3.11.2-6+deb12u1"), "3.11.2");
        assert_eq!(debian_upstream_version("1:2.3-1"), "2.3");
        assert_eq!(debian_upstream_version("5.2"), "5.2");
    }

    #[test]
    fn conda_and_r() {
        let conda = conda_meta(br#"{"name":"python","version":"3.11.7","build":"h955ad1f_0","channel":"https://conda.anaconda.org/conda-forge/linux-64","files":["a"]}"#).unwrap();
        assert_eq!(conda.channel.as_deref(), Some("conda-forge"));
        assert_eq!(channel_name("conda-forge"), "conda-forge");
        assert_eq!(channel_name("pkgs/main"), "main");
        let r = r_description("Package: ggplot2\nVersion: 3.5.0\nLicense: MIT + file LICENSE\n")
            .unwrap();
        assert_eq!((r.name.as_str(), r.version.as_str()), ("ggplot2", "3.5.0"));
    }

    #[test]
    fn conda_meta_keeps_what_a_lock_needs() {
        let record = br#"{"name":"numpy","version":"1.26.4","build":"py311h64a7726_0","channel":"https://conda.anaconda.org/conda-forge/linux-64","subdir":"linux-64","fn":"numpy-1.26.4-py311h64a7726_0.conda","md5":"a502d7aad449a1206efb366d6a12c52d","sha256":"3f4365e11b28e244c95ba8579942b0802761ba7bb31c026f50d1a9ea9c728149","depends":["python >=3.11,<3.12.0a0","libblas >=3.9.0,<4.0a0"],"files":["bin/f2py","lib/python3.11/site-packages/numpy-1.26.4.dist-info/METADATA","lib/python3.11/site-packages/numpy-1.26.4.dist-info/RECORD","lib/python3.11/site-packages/numpy/__init__.py"]}"#;
        let package = conda_meta(record).unwrap();
        // No `url`: rebuilt from the channel, which already ends in the subdir.
        assert_eq!(
            package.url.as_deref(),
            Some("https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h64a7726_0.conda")
        );
        assert_eq!(package.depends.len(), 2);
        assert_eq!(package.python_distributions, ["numpy-1.26.4.dist-info"]);
        assert_eq!(package.sha256.as_deref().map(str::len), Some(64));
        let old = conda_meta(br#"{"name":"six","version":"1.16.0","build":"pyh6c4a22f_0","channel":"https://conda.anaconda.org/conda-forge","subdir":"noarch","fn":"six-1.16.0-pyh6c4a22f_0.tar.bz2","sha256":""}"#).unwrap();
        assert_eq!(
            old.url.as_deref(),
            Some("https://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2")
        );
        assert_eq!(old.sha256, None);
    }

    #[test]
    fn activation_scripts_as_conda_forge_writes_them() {
        // proj's, gdal's and openjdk's scripts, shortened.
        let proj = r#"#!/bin/sh
if [ -n "$PROJ_DATA" ]; then
    export _CONDA_SET_PROJ_DATA=$PROJ_DATA
fi
if [ -d ${CONDA_PREFIX}/share/proj ]; then
  export "PROJ_DATA=${CONDA_PREFIX}/share/proj"
elif [ -d ${CONDA_PREFIX}/Library/share/proj ]; then
  export "PROJ_DATA=${CONDA_PREFIX}/Library/share/proj"
fi
export PROJ_NETWORK=ON
"#;
        let variables = activation_script(proj, "opt/conda/");
        assert_eq!(
            variables,
            [
                ActivationVariable {
                    name: "PROJ_DATA".into(),
                    value: "/opt/conda/share/proj".into()
                },
                ActivationVariable {
                    name: "PROJ_NETWORK".into(),
                    value: "ON".into()
                },
            ]
        );
        let gdal = "[ -n \"$GDAL_DATA\" ] && export CONDA_BACKUP_GDAL_DATA=$GDAL_DATA\nGDAL_DATA=\"$CONDA_PREFIX/share/gdal\"\nexport GDAL_DATA\nif [ -d x ]; then export GDAL_DRIVER_PATH=$CONDA_PREFIX/lib/gdalplugins; fi\n";
        let names: Vec<String> = activation_script(gdal, "opt/conda/envs/geo")
            .into_iter()
            .map(|variable| format!("{}={}", variable.name, variable.value))
            .collect();
        assert_eq!(
            names,
            [
                "GDAL_DATA=/opt/conda/envs/geo/share/gdal",
                "GDAL_DRIVER_PATH=/opt/conda/envs/geo/lib/gdalplugins"
            ]
        );
        assert!(activation_script("# export NOT_THIS=1\necho hi\n", "").is_empty());
    }
}
