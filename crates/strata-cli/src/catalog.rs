//! `strata catalog`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The image repository.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Registry and namespace the images are published under, e.g. `localhost:5000/compute-images`
    /// (default: `repo` in `strata.toml`, else SciServer's `containers.repo.sciserver.org/compute-images`
    /// for the SciServer layout, bare names otherwise).
    #[arg(long, env = crate::STRATA_REPO, value_name = "REPO")]
    pub repo: Option<String>,
    /// Read each image from its registry (by its tags) instead of the local engine, with its
    /// earlier builds (tags shaped like its unique tag) and what changed between them.
    #[arg(long)]
    pub registry: bool,
    /// Public keys (`strata key generate`'s `.pub`, repeatable) whose signatures the pages name
    /// (with `--registry`); without one, signatures are only counted.
    #[arg(long = "key", value_name = "PUB")]
    pub keys: Vec<PathBuf>,
    /// Show each image's known vulnerabilities, matched against this advisory store (`strata
    /// audit import` writes it; an export is imported once into the cache), on its page and
    /// the front page.
    #[arg(long, env = crate::STRATA_AUDIT_DB, value_name = "DIR")]
    pub audit_db: Option<PathBuf>,
    /// How many builds of each image the release history shows (with `--registry`).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub history: usize,
    /// The directory to write: the web site (`index.html`, `images/<name>.html`), `catalog.json`
    /// and `images/<name>.md`.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// The site's title (default: the repository directory's name and "images").
    #[arg(long)]
    pub title: Option<String>,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}
