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
    /// Any tree of Dockerfiles: every directory holding a `Dockerfile` is an image.
    Generic,
}

impl LayoutKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sciserver => "sciserver",
            Self::DockerStacks => "docker-stacks",
            Self::Generic => "generic",
        }
    }
}

/// The contents of `strata.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// The layouts (image families) of the repository, one or several (`layout = "sciserver"`
    /// or `layout = ["sciserver", "generic"]`); detected from the directories when absent.
    #[serde(default, deserialize_with = "one_or_many_layouts")]
    pub layout: Option<Vec<LayoutKind>>,
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
    /// The generic layout's settings.
    #[serde(default)]
    pub generic: GenericConfig,
    /// Settings for image tests.
    #[serde(default)]
    pub test: TestSettings,
    /// Settings for `strata lint`.
    #[serde(default)]
    pub lint: LintConfig,
    /// Build every image reproducibly (as `strata build --reproducible`).
    #[serde(default)]
    pub reproducible: bool,
    /// Platforms every image is built for (`["linux/amd64", "linux/arm64"]`); an image's own
    /// `platforms` overrides it for the image and those built on it. Empty: the engine's own.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// The engine that builds each platform (`"linux/arm64" = "tcp://arm-builder:2375"`);
    /// platforms not named here build on `DOCKER_HOST`'s engine (emulated where needed), or
    /// on the engines of `pool`.
    #[serde(default)]
    pub engines: EnginesConfig,
    /// Per-image settings, keyed by image name (docker-stacks: `name` or `name/variant`;
    /// SciServer: the layer's target).
    #[serde(default)]
    pub images: BTreeMap<String, ImageConfig>,
    /// How `strata ci` writes the CI pipeline's jobs.
    #[serde(default)]
    pub ci: CiConfig,
    /// How pushed images are signed.
    #[serde(default)]
    pub sign: SignConfig,
    /// The public keys external bases must be signed with, by repository pattern
    /// (`"registry.example/upstream/*" = ["keys/upstream.pub"]`, relative to the repository).
    #[serde(default)]
    pub trust: BTreeMap<String, Vec<PathBuf>>,
    /// Where the settings came from, for error messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// `[engines]`: an engine per platform, and a pool of engines one build spreads over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnginesConfig {
    /// `"linux/arm64" = "ssh://arm-builder"`.
    pub by_platform: BTreeMap<String, String>,
    /// `pool = ["ssh://builder1", "tcp://builder2:2375"]`: each ready build goes to the pool's
    /// least busy engine; images pass between them through the registry only.
    pub pool: Vec<String>,
}

impl<'de> Deserialize<'de> for EnginesConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Entry {
            Host(String),
            Hosts(Vec<String>),
        }
        let mut config = Self::default();
        for (key, entry) in BTreeMap::<String, Entry>::deserialize(deserializer)? {
            match (key.as_str(), entry) {
                ("pool", Entry::Hosts(hosts)) => config.pool = hosts,
                ("pool", Entry::Host(_)) => {
                    return Err(serde::de::Error::custom(
                        "`pool` is a list of engine addresses: `pool = [\"ssh://builder1\", \"tcp://builder2:2375\"]`",
                    ))
                }
                (_, Entry::Host(host)) => {
                    config.by_platform.insert(key, host);
                }
                (platform, Entry::Hosts(_)) => {
                    return Err(serde::de::Error::custom(format!(
                        "`{platform}` names one engine, an address such as `\"ssh://builder\"` (only `pool` is a list)"
                    )))
                }
            }
        }
        Ok(config)
    }
}

/// `[ci]`: the jobs `strata ci` writes. Jobs run where an engine is (shell runners, as
/// SciServer's and docker-stacks' are) unless `image` says otherwise.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CiConfig {
    /// The container image every job runs in (GitLab `image:`, GitHub `container:`).
    pub image: Option<String>,
    /// Commands every job runs before strata (GitLab `before_script:`, GitHub a step).
    #[serde(default)]
    pub before_script: Vec<String>,
    /// Runner tags every job asks for (GitLab `tags:`; GitHub `runs-on` labels, default
    /// `ubuntu-latest`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The runner label per platform (`"linux/arm64" = "ubuntu-24.04-arm"`): a platform's jobs
    /// ask for it instead of `tags`.
    #[serde(default)]
    pub runners: BTreeMap<String, String>,
    /// The command that installs strata on a runner that lacks it, run before each job's
    /// strata command.
    pub install: Option<String>,
    /// How a job runs strata (default `strata`).
    pub strata: Option<String>,
}

/// `[sign]`: `strata build --push` signs what it pushes with this key, as `--sign KEY` does.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SignConfig {
    /// The private key (cosign's format), relative to the repository; its password from
    /// `STRATA_SIGN_PASSWORD`.
    pub key: Option<PathBuf>,
}

/// Settings for one image.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageConfig {
    /// The image of this repository this one is built on, when its `FROM` line does not say so
    /// in a way strata can match; `false` says its base is external.
    #[serde(default, deserialize_with = "parent_setting")]
    pub parent: Option<ParentSetting>,
    /// Generic layout: the image's name (default: from its directory).
    pub name: Option<String>,
    /// Generic layout: the image's version (`{version}` in tag templates).
    pub version: Option<String>,
    /// Generic layout: tag templates (`"{name}:v{version}"`, `"{name}:latest"`).
    pub tags: Option<Vec<String>>,
    /// Tests run on the built image before any tag moves; inherited by every image built on
    /// this one.
    #[serde(default)]
    pub tests: Vec<TestConfig>,
    /// Build arguments for this image, over the repository-wide ones.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Taggers that compute extra tags from the built image; inherited by every image built on
    /// this one.
    #[serde(default)]
    pub taggers: Vec<TaggerConfig>,
    /// The image's Python lock: what `strata lock` resolves for it, without needing the image.
    pub lock: Option<LockConfig>,
    /// The image's conda environment lock: what `strata lock` solves for it.
    pub conda: Option<CondaLockConfig>,
    /// `strata lint` settings for this image's Dockerfile.
    #[serde(default)]
    pub lint: ImageLintConfig,
    /// `--reproducible`: paths dropped from the image's own layers while normalising them
    /// (`/var/log/dpkg.log`, `**/__pycache__`), each reported.
    #[serde(default)]
    pub scrub: Vec<String>,
    /// Platforms this image (and those built on it, unless they say otherwise) is built for;
    /// each must be one its parent is built for.
    pub platforms: Option<Vec<String>>,
}

/// `[lint]`: which rules run, how severe their findings are, and what fails the run. Rule names
/// are checked by `strata lint`, which knows them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LintConfig {
    /// Only these rules (codes like `APT004`, names like `apt-lists-not-removed`, or categories
    /// like `conda`); default: every rule.
    #[serde(default)]
    pub select: Vec<String>,
    /// Rules, names or categories never reported.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Severities overriding the rules' own: `{ APT003 = "error" }`.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    /// The lowest severity that fails the run (`error`, `warning` or `info`; default `warning`).
    pub fail_level: Option<String>,
    /// Base images not pinned by digest are errors.
    #[serde(default)]
    pub strict: bool,
}

/// `[images.<name>.lint]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageLintConfig {
    /// Rules never reported for this image's Dockerfile.
    #[serde(default)]
    pub ignore: Vec<String>,
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

/// `[images.NAME.conda]`: an environment file locked for the image's platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CondaLockConfig {
    /// The environment file, relative to the image's directory.
    pub environment: String,
    /// The lock file, relative to the image's directory (default: the environment file with a
    /// `.lock` extension).
    pub output: Option<String>,
    /// conda's platform (`linux-64`, `linux-aarch64`); default `linux-64`.
    pub platform: Option<String>,
    /// The image's glibc (`2.36`); default 2.28.
    pub glibc: Option<String>,
    /// `__cuda`, when the image provides CUDA.
    pub cuda: Option<String>,
    /// Ignore packages uploaded after this date.
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

/// `parent = "name"` or `parent = false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentSetting {
    /// The image of this repository (its name as `strata graph` shows it).
    Image(String),
    /// The base is external: no image of the repository, whatever the `FROM` line says.
    External,
}

/// The generic layout's settings: `[generic]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GenericConfig {
    /// File names that make a directory an image: `Dockerfile` (the default) and patterns such
    /// as `Dockerfile.*` (`*` matches any text).
    pub dockerfiles: Option<Vec<String>>,
    /// Directories (relative to the root, `/`-separated) that hold no images.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Tag templates for every generic image (default `["{name}:{version}"]`, or
    /// `["{name}:latest"]` for an image without a version).
    pub tags: Option<Vec<String>>,
    /// Settings for the images under one directory, keyed by that directory.
    #[serde(default)]
    pub trees: BTreeMap<String, TreeConfig>,
}

/// Settings for the images under one directory: `[generic.trees."heasarc"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TreeConfig {
    /// A JSON file, relative to the tree, of `{"<image name>": {"version": "…", "<ARG>": "…"}}`
    /// (heasarc's `build.json`): `version` is the image's version and, like every other key,
    /// a build argument; `name` and `label` are read, not passed.
    pub build_json: Option<String>,
    /// Tag templates for the tree's images.
    pub tags: Option<Vec<String>>,
    /// Build arguments for the tree's images.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// Registry and namespace the tree's images are tagged under, over `repo`.
    pub repo: Option<String>,
}

/// Settings for image tests: `[test]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestSettings {
    /// Let test containers use the host's network (default: `--network none`).
    #[serde(default)]
    pub network: bool,
    /// Seconds a test may run before it fails (default 600).
    pub timeout: Option<u64>,
}

/// One test of an image: `[[images.<name>.tests]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestConfig {
    /// The name reports use (default: the command).
    pub name: Option<String>,
    /// A command run in a throw-away container of the image.
    pub command: Option<Vec<String>>,
    /// A command run on the host at the repository root, with the image's reference in
    /// `STRATA_IMAGE` (and `{image}` in its arguments replaced by it).
    pub host: Option<Vec<String>>,
    /// A check strata makes itself by reading the image (`conda-activation`).
    pub check: Option<String>,
    /// The exit code that passes (default 0).
    #[serde(default)]
    pub exit_code: i64,
    /// A regular expression the command's output must match.
    pub output: Option<String>,
    /// Let the test container use the host's network (overrides `[test] network`).
    pub network: Option<bool>,
    /// Seconds before the test fails (overrides `[test] timeout`).
    pub timeout: Option<u64>,
}

fn one_or_many_layouts<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<LayoutKind>>, D::Error> {
    use serde::de::{IntoDeserializer, SeqAccess, Visitor};
    struct Layouts;
    impl<'de> Visitor<'de> for Layouts {
        type Value = Vec<LayoutKind>;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter
                .write_str("a layout (`sciserver`, `docker-stacks`, `generic`) or a list of them")
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(vec![LayoutKind::deserialize(value.into_deserializer())?])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
            let mut layouts = Vec::new();
            while let Some(layout) = sequence.next_element()? {
                layouts.push(layout);
            }
            Ok(layouts)
        }
    }
    deserializer.deserialize_any(Layouts).map(Some)
}

fn parent_setting<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ParentSetting>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "an image name, or `false` for an external base")]
    enum Parent {
        Name(String),
        Flag(bool),
    }
    match Parent::deserialize(deserializer)? {
        Parent::Name(name) => Ok(Some(ParentSetting::Image(name))),
        Parent::Flag(false) => Ok(Some(ParentSetting::External)),
        Parent::Flag(true) => Err(serde::de::Error::custom(
            "`parent = true` says nothing: give the parent image's name, or `false` for an external base",
        )),
    }
}

impl Config {
    /// Read `strata.toml` from `root`, or the defaults when there is none.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join(CONFIG_FILE);
        let text = match strata_fs::read_text(&path) {
            Ok(text) => text,
            Err(error) if error.is_not_found() => return Ok(Self::default()),
            Err(error) => return Err(error.into()),
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
        assert_eq!(config.layout, Some(vec![LayoutKind::DockerStacks]));
        assert_eq!(config.build_args_for("base")["A"], "2");
        assert_eq!(config.build_args_for("other")["A"], "1");
    }

    #[test]
    fn engines_take_one_address_per_platform_and_a_list_for_the_pool() {
        let parse = |text: &str| toml::from_str::<Config>(text);
        let config = parse(
            "[engines]\n\"linux/arm64\" = \"ssh://arm\"\npool = [\"unix:///a.sock\", \"tcp://b:2375\"]\n",
        )
        .unwrap();
        assert_eq!(config.engines.by_platform["linux/arm64"], "ssh://arm");
        assert_eq!(config.engines.pool, ["unix:///a.sock", "tcp://b:2375"]);
        let one = parse("[engines]\npool = \"ssh://only\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            one.contains("`pool` is a list of engine addresses"),
            "{one}"
        );
        let many = parse("[engines]\n\"linux/amd64\" = [\"a\", \"b\"]\n")
            .unwrap_err()
            .to_string();
        assert!(many.contains("`linux/amd64` names one engine"), "{many}");
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
        unknown field `repository`, expected one of `layout`, `repo`, `images-dir`, `build-args`, `retired`, `generic`, `test`, `lint`, `reproducible`, `platforms`, `engines`, `images`, `ci`, `sign`, `trust`
        "#);
    }
}
