//! `strata.toml`: optional repository settings. Every key is optional; neither layout needs a
//! file. Unknown keys are errors, so a typo is caught rather than ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ConfigError;

/// The file name strata looks for at the repository root.
pub const CONFIG_FILE: &str = "strata.toml";

/// Which directory layout the repository uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// `science/<dir>/sciserver-image.json` and `compat/<dir>/sciserver-image.json`.
    Sciserver,
    /// `images/<name>/Dockerfile`, with optional `images/<name>/<variant>/Dockerfile`.
    DockerStacks,
}

impl LayoutKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sciserver => "sciserver",
            Self::DockerStacks => "docker-stacks",
        }
    }
}

/// The contents of `strata.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// The layout; detected from the directories when absent.
    pub layout: Option<LayoutKind>,
    /// Registry and namespace images are tagged under (`--repo` overrides it).
    pub repo: Option<String>,
    /// docker-stacks layout: the directory holding one directory per image (default `images`).
    pub images_dir: Option<String>,
    /// Build arguments for every image; they also take part in expanding `FROM` lines.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// SciServer `image:version`s that are deprecated: they may lose their final layer without
    /// `plan` and `build` refusing the change.
    #[serde(default)]
    pub retired: Vec<String>,
    /// Per-image settings, keyed by image name (docker-stacks: `name` or `name/variant`;
    /// SciServer: the layer's target).
    #[serde(default)]
    pub images: BTreeMap<String, ImageConfig>,
    /// Where the settings came from, for error messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// Settings for one image.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageConfig {
    /// The image of this repository this one is built on, when its `FROM` line does not say so
    /// in a way strata can match.
    pub parent: Option<String>,
    /// Build arguments for this image, over the repository-wide ones.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Taggers that compute extra tags from the built image; inherited by every image built on
    /// this one.
    #[serde(default)]
    pub taggers: Vec<TaggerConfig>,
    /// The image's Python lock: what `strata lock` resolves for it, without needing the image.
    pub lock: Option<LockConfig>,
}

/// Where an image's Python requirements are and what interpreter and platform they are locked for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LockConfig {
    /// The requirements file, relative to the image's directory.
    pub requirements: String,
    /// The lock file, relative to the image's directory (default: the requirements file with a
    /// `.lock` extension).
    pub output: Option<String>,
    /// The image's CPython version (`3.11` or `3.11.7`).
    pub python: String,
    /// The image's platform (`manylinux_2_36_x86_64`, `musllinux_1_2_aarch64`).
    pub platform: String,
    /// Packages that may be locked from source distributions.
    #[serde(default)]
    pub no_binary: Vec<String>,
    /// Ignore files uploaded after this date.
    pub exclude_newer: Option<String>,
}

/// A rule that computes a tag from an image's inspected facts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TaggerConfig {
    /// The first 12 characters of the commit (`org.opencontainers.image.revision`).
    Commit,
    /// The build date, `YYYY-MM-DD`.
    Date,
    /// The OS and its version: `ubuntu-22.04`, `debian-12`.
    Os,
    /// The default interpreter's version: `python-3.11` and `python-3.11.7`.
    Python,
    /// `<prefix>-<version>` of a pip or conda package (`lab-4.2.1` for `jupyterlab`), local
    /// versions (`+cpu`) stripped.
    Package {
        package: String,
        /// Defaults to the package name.
        prefix: Option<String>,
    },
    /// `<prefix>-<first regex group>` of what a command prints in a throw-away container
    /// (`R --version` with `R version ([0-9.]+)`).
    Command {
        command: Vec<String>,
        regex: String,
        prefix: String,
    },
}

impl Config {
    /// Read `strata.toml` from `root`, or the defaults when there is none.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join(CONFIG_FILE);
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default())
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let mut config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.clone(),
            source: Box::new(source),
        })?;
        config.path = Some(path);
        Ok(config)
    }

    /// The path to name in errors.
    pub fn display_path(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from(CONFIG_FILE))
    }

    /// Build arguments for one image: repository-wide ones, then the image's own.
    pub fn build_args_for(&self, image: &str) -> BTreeMap<String, String> {
        let mut arguments = self.build_args.clone();
        if let Some(image_config) = self.images.get(image) {
            arguments.extend(image_config.build_args.clone());
        }
        arguments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings() {
        let config: Config = toml::from_str(
            "layout = \"docker-stacks\"\nrepo = \"localhost:5000/me\"\n[build-args]\nA = \"1\"\n[images.base]\nparent = \"foundation\"\nbuild-args = { A = \"2\" }\n",
        )
        .unwrap();
        assert_eq!(config.layout, Some(LayoutKind::DockerStacks));
        assert_eq!(config.build_args_for("base")["A"], "2");
        assert_eq!(config.build_args_for("other")["A"], "1");
    }

    #[test]
    fn unknown_keys_are_errors_with_location() {
        let directory = tempfile::tempdir().unwrap();
        fs_err::write(
            directory.path().join(CONFIG_FILE),
            "repo = \"x\"\nrepository = \"y\"\n",
        )
        .unwrap();
        let error = Config::load(directory.path()).unwrap_err();
        let ConfigError::Parse { source, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(source.span(), Some(11..21), "the TOML error keeps its span");
        let message = crate::diagnostic::render_chain(&error)
            .replace(&directory.path().display().to_string(), "[ROOT]");
        insta::assert_snapshot!(message, @r#"
        invalid `[ROOT]/strata.toml`
        caused by: TOML parse error at line 2, column 1
          |
        2 | repository = "y"
          | ^^^^^^^^^^
        unknown field `repository`, expected one of `layout`, `repo`, `images-dir`, `build-args`, `retired`, `images`
        "#);
    }
}
