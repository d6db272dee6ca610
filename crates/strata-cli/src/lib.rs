//! strata's command line: what it accepts (clap derive types; doc comments become `--help`)
//! and what it means (`settings`: flags, environment variables and `strata.toml` merged into one
//! settings value per command, the requests the library crates take).

mod audit;
mod build;
mod catalog;
mod ci;
mod environment;
mod freeze;
mod graph;
mod inspect;
mod key;
mod lint;
mod lock;
mod outdated;
mod pin;
mod plan;
mod promote;
mod release;
mod select;
pub mod settings;
mod test;

use clap::{Parser, Subcommand};

pub use audit::{AuditArgs, AuditCommand, AuditDbCommand, AuditImportArgs, AuditSeverity};
pub use build::{BuildArgs, BuilderArg};
pub use catalog::CatalogArgs;
pub use ci::{CiArgs, CiFormatArg};
pub use environment::*;
pub use freeze::FreezeArgs;
pub use graph::{GraphArgs, GraphFormatArg};
pub use inspect::{DiffArgs, InspectArgs, InspectFormat};
pub use key::{AttestationKind, KeyArgs, KeyCommand, KeyGenerateArgs, VerifyArgs};
pub use lint::{FailLevel, LintArgs, LintFormat};
pub use lock::{FetchArgs, LockArgs, LockCommand, LockOptions};
pub use outdated::OutdatedArgs;
pub use pin::PinArgs;
pub use plan::{PlanArgs, PlanFormat};
pub use promote::PromoteArgs;
pub use release::ReleaseArgs;
pub use select::{PlanInputArgs, SelectArgs, SelectionArgs};
pub use test::{InitArgs, TestArgs};

/// Build, tag, inspect and lock families of scientific container images.
#[derive(Debug, Parser)]
#[command(
    name = "strata",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// More diagnostics on stderr (`-v` info, `-vv` debug, `-vvv` trace); `RUST_LOG` also works.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors and warnings on stderr; data still goes to stdout.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show which images a change rebuilds, in build order, with their tags.
    ///
    /// Without options, compares the work tree with `HEAD^` and plans every image whose
    /// directory changed, everything built on it, and the compat builds of final science layers.
    Plan(PlanArgs),
    /// Build the planned images on a Docker-compatible engine, tag them, and push with `--push`.
    ///
    /// Takes the same selection as `plan`. Independent images build in parallel; when one fails,
    /// what depends on it is skipped and nothing of it is tagged.
    Build(BuildArgs),
    /// Write the CI pipeline that builds the plan: a job per image and platform, then a release.
    ///
    /// GitLab CI or GitHub Actions. Each build job is `strata build --pipeline ID --only NAME`
    /// (its image staged by digest, its parent taken from its parent's job), ordered as the
    /// image graph is; the release job (`strata release --pipeline ID`) runs only when every
    /// build job passed, and is the only one that moves tags. Takes the selection of `plan`;
    /// without one, what differs from the registry (`--since registry`).
    Ci(CiArgs),
    /// Show the image hierarchy: a tree, or Graphviz dot, Mermaid or JSON.
    Graph(GraphArgs),
    /// Read what is inside an image, without running it: OS, packages, interpreters, labels.
    ///
    /// Reads the image's layers (from the local engine, or with `--registry` from its registry)
    /// with whiteouts applied; facts are cached per layer.
    Inspect(InspectArgs),
    /// List the packages added, removed and changed between two images.
    Diff(DiffArgs),
    /// Write the explicit, hash-pinned lock of a conda environment as a built image holds it.
    ///
    /// Read from the environment's `conda-meta/*.json` records (URLs, sha256/md5) without
    /// starting a container: `conda list --export`, but installable with `conda create --file`.
    /// What pip installed into the environment is locked beside it with `-o`.
    Freeze(FreezeArgs),
    /// Lock Python requirements into a hash-pinned file for an image's interpreter and platform.
    ///
    /// Writes pip-compile's `--generate-hashes` format, installable with
    /// `pip install --no-deps --require-hashes --only-binary :all: -r requirements.lock`.
    Lock(LockArgs),
    /// Give a published image more tags inside its registry, without pulling it.
    ///
    /// The manifest is copied byte for byte (the digest stays the source's); other
    /// repositories get the layers by cross-repository mounts. A tag that already points at
    /// another image is refused unless `--force`; every target is checked before any is set.
    Promote(PromoteArgs),
    /// Move every tag a CI pipeline's build jobs staged, once all of them passed.
    ///
    /// Each image of the plan (the same selection the jobs had, on the same commit) must be
    /// staged by `strata build --pipeline ID`, each child on the image its parent's job staged;
    /// then every tag is set inside the registry at once (no layer byte sent; nothing moves
    /// when anything is missing), multi-platform tags become indexes, and the staging
    /// references are deleted.
    Release(ReleaseArgs),
    /// Pin every external base image of the Dockerfiles by digest (`name:tag@sha256:…`).
    ///
    /// Rewrites `FROM`, `COPY --from=` and `RUN --mount=from=` references (and the `ARG`
    /// defaults `FROM` expands) in place, keeping every other byte; images the repository builds
    /// itself are never pinned. `--check` reports unpinned references and drifted pins.
    Pin(PinArgs),
    /// List what has moved on since the repository was last released.
    ///
    /// Pinned bases whose tag moved (with the packages that changed between the two images),
    /// locked Python packages with newer compatible releases, published images whose inputs no
    /// longer match the repository, and SciServer versions left without a final layer.
    Outdated(OutdatedArgs),
    /// Run the images' tests against their built images.
    ///
    /// Each image runs its ancestors' tests, then its own: executable files of a `tests/`
    /// directory beside its Dockerfile and `[[images.<name>.tests]]` commands, in throw-away
    /// containers, and host commands given the image in `STRATA_IMAGE`. Takes the same
    /// selection as `plan`; without one, every image with tests.
    Test(TestArgs),
    /// Write a starting `strata.toml` for a repository, and report what it could not decide.
    Init(InitArgs),
    /// Check the Dockerfiles against the seeds' build practices: base images, apt, pip, conda.
    ///
    /// Knows the image hierarchy: images of the repository are not external bases, and final
    /// images are checked with what their parents set up. Exit 1 when a finding at or above
    /// the failure level remains. `# strata-ignore=RULE` on the line above silences a rule.
    Lint(LintArgs),
    /// Write a catalogue of the family as a static web site: the drawn tree, a package search,
    /// a page per image, release histories and comparisons, `catalog.json` and Markdown pages.
    ///
    /// Every image of the repository, read from the local engine or (`--registry`) from its
    /// registry by its tags, with its earlier builds and signatures; facts come from the layer
    /// cache, so writing it again after one image changed reads only that image's new layers.
    /// The pages work from `file://` and any static host: nothing is fetched when they are
    /// viewed.
    Catalog(CatalogArgs),
    /// Make and manage signing keys (cosign's format).
    Key(KeyArgs),
    /// Check images' signatures against public keys: exit 0 when every manifest is signed by
    /// one of them, 1 with what failed.
    ///
    /// Signatures are read as cosign stores them (`sha256-<digest>.sig` beside the image), so
    /// images signed by `strata build --sign` or by `cosign sign --key` verify alike.
    Verify(VerifyArgs),
    /// Known vulnerabilities of images' packages, offline, from OSV advisories imported once
    /// (`strata audit import --db DIR all.zip...`).
    ///
    /// Debian and Ubuntu packages are matched by source package and release (`Debian:12`) in
    /// dpkg's version order, Python packages by PEP 440, R packages as CRAN numbers them, conda
    /// packages that install a Python distribution by its PyPI name (marked approximate). One
    /// finding per vulnerability however many advisories name it. Exit 1 with `--fail-on` when
    /// a finding is at least that severe.
    Audit(AuditArgs),
}
