//! Where the resolver gets projects and metadata: the package index through the client (with
//! prefetching, so pages and metadata download concurrently while PubGrub works sequentially),
//! or an in-memory set of recorded responses for tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pep508_rs::PackageName;
use tokio::runtime::Handle;
use tokio::sync::OnceCell;

use crate::candidates::Selection;
use crate::client::IndexClient;
use crate::error::LockError;
use crate::metadata::CoreMetadata;
use crate::simple::{IndexFile, ProjectPage};

/// Projects and metadata for the resolver. Calls may block.
pub trait PackageSource: Send + Sync {
    fn project(&self, name: &PackageName) -> Result<Option<Arc<ProjectPage>>, LockError>;
    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, LockError>;
    /// A hint that `name` will be needed soon.
    fn prefetch(&self, _name: &PackageName) {}
}

type PageCell = Arc<OnceCell<Result<Option<Arc<ProjectPage>>, Arc<LockError>>>>;
type MetadataCell = Arc<OnceCell<Result<Arc<CoreMetadata>, Arc<LockError>>>>;

/// The package indexes, through the client. The first index that has a project wins (no
/// mixing across indexes, so a public package cannot shadow a private one).
#[derive(Clone)]
pub struct IndexSource {
    client: IndexClient,
    indexes: Arc<Vec<String>>,
    runtime: Handle,
    selection: Arc<Selection>,
    pages: Arc<Mutex<HashMap<PackageName, PageCell>>>,
    metadata: Arc<Mutex<HashMap<String, MetadataCell>>>,
}

/// An error shared between the waiters on one request.
fn shared(error: &Arc<LockError>) -> LockError {
    LockError::Shared(Arc::clone(error))
}

impl IndexSource {
    pub fn new(
        client: IndexClient,
        indexes: Vec<String>,
        runtime: Handle,
        selection: Selection,
    ) -> Self {
        Self {
            client,
            indexes: Arc::new(indexes),
            runtime,
            selection: Arc::new(selection),
            pages: Arc::default(),
            metadata: Arc::default(),
        }
    }

    fn page_cell(&self, name: &PackageName) -> PageCell {
        let mut pages = self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(pages.entry(name.clone()).or_default())
    }

    fn metadata_cell(&self, file: &IndexFile) -> MetadataCell {
        let mut metadata = self
            .metadata
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(metadata.entry(file.url.clone()).or_default())
    }

    async fn load_page(
        &self,
        name: PackageName,
    ) -> Result<Option<Arc<ProjectPage>>, Arc<LockError>> {
        let cell = self.page_cell(&name);
        let source = self.clone();
        cell.get_or_init(|| async move {
            for index in source.indexes.iter() {
                match source.client.project_page(index, name.as_ref()).await {
                    Ok(Some(page)) => return Ok(Some(Arc::new(page))),
                    Ok(None) => {}
                    Err(error) => return Err(Arc::new(error)),
                }
            }
            Ok(None)
        })
        .await
        .clone()
    }

    async fn load_metadata(&self, file: IndexFile) -> Result<Arc<CoreMetadata>, Arc<LockError>> {
        let cell = self.metadata_cell(&file);
        let source = self.clone();
        cell.get_or_init(|| async move {
            let bytes = if crate::wheel::parse_filename(&file.filename)
                .is_some_and(|parsed| matches!(parsed, crate::wheel::DistributionFile::Wheel(_)))
            {
                source.client.wheel_metadata(&file).await
            } else {
                crate::sdist::sdist_metadata(&source.client, &file).await
            };
            let bytes = bytes.map_err(Arc::new)?;
            CoreMetadata::parse(&bytes)
                .map(Arc::new)
                .map_err(|message| {
                    Arc::new(LockError::Metadata {
                        file: file.filename.clone(),
                        message,
                    })
                })
        })
        .await
        .clone()
    }

    /// Fetch the page, then the metadata of the release the resolver will most likely pick.
    async fn warm(self, name: PackageName) {
        let Ok(Some(page)) = self.load_page(name.clone()).await else {
            return;
        };
        let Ok(releases) = self.selection.releases(&name, &page) else {
            return;
        };
        let likely = releases.into_iter().find(|release| {
            release.install.is_some()
                && !release.yanked
                && (!release.version.any_prerelease() || self.selection.pre)
        });
        if let Some(file) = likely.and_then(|release| release.install) {
            let _ = self.load_metadata(file).await;
        }
    }
}

impl PackageSource for IndexSource {
    fn project(&self, name: &PackageName) -> Result<Option<Arc<ProjectPage>>, LockError> {
        self.runtime
            .block_on(self.load_page(name.clone()))
            .map_err(|error| shared(&error))
    }

    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, LockError> {
        self.runtime
            .block_on(self.load_metadata(file.clone()))
            .map_err(|error| shared(&error))
    }

    fn prefetch(&self, name: &PackageName) {
        let already = self.page_cell(name).initialized();
        if !already {
            self.runtime.spawn(self.clone().warm(name.clone()));
        }
    }
}

/// Recorded index responses: pages by project, and metadata by file name (any file of the same
/// release stands in for another: a release's wheels share their metadata).
#[derive(Debug, Clone, Default)]
pub struct RecordedSource {
    pub pages: HashMap<PackageName, ProjectPage>,
    pub metadata: HashMap<String, Vec<u8>>,
}

impl RecordedSource {
    /// Read `pages/<project>.html` (as served from `https://pypi.org/simple/<project>/`) and
    /// `metadata/<file>.METADATA` under `directory`.
    pub fn from_directory(directory: &std::path::Path) -> Result<Self, LockError> {
        let read_error = |path: &std::path::Path, source| LockError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut source = Self::default();
        let pages = directory.join("pages");
        for entry in fs_err::read_dir(&pages).map_err(|error| read_error(&pages, error))? {
            let path = entry.map_err(|error| read_error(&pages, error))?.path();
            let Some(project) = path.file_stem().and_then(|stem| stem.to_str()) else {
                continue;
            };
            let body = fs_err::read_to_string(&path).map_err(|error| read_error(&path, error))?;
            let url = url::Url::parse(&format!("https://pypi.org/simple/{project}/")).map_err(
                |error| LockError::Metadata {
                    file: project.to_string(),
                    message: error.to_string(),
                },
            )?;
            let page = crate::simple::parse_page(&body, "text/html", &url).map_err(|message| {
                LockError::Metadata {
                    file: project.to_string(),
                    message,
                }
            })?;
            if let Ok(name) = PackageName::new(project.to_string()) {
                source.pages.insert(name, page);
            }
        }
        let metadata = directory.join("metadata");
        for entry in fs_err::read_dir(&metadata).map_err(|error| read_error(&metadata, error))? {
            let path = entry.map_err(|error| read_error(&metadata, error))?.path();
            let Some(file) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".METADATA"))
            else {
                continue;
            };
            let bytes = fs_err::read(&path).map_err(|error| read_error(&path, error))?;
            source.metadata.insert(file.to_string(), bytes);
        }
        Ok(source)
    }
}

fn release_of(filename: &str) -> Option<(PackageName, pep440_rs::Version)> {
    match crate::wheel::parse_filename(filename)? {
        crate::wheel::DistributionFile::Wheel(wheel) => Some((wheel.name, wheel.version)),
        crate::wheel::DistributionFile::Sdist { name, version } => Some((name, version)),
    }
}

impl PackageSource for RecordedSource {
    fn project(&self, name: &PackageName) -> Result<Option<Arc<ProjectPage>>, LockError> {
        Ok(self.pages.get(name).cloned().map(Arc::new))
    }

    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, LockError> {
        let wanted = release_of(&file.filename);
        let bytes = self
            .metadata
            .get(&file.filename)
            .or_else(|| {
                self.metadata
                    .iter()
                    .find(|(recorded, _)| release_of(recorded) == wanted)
                    .map(|(_, bytes)| bytes)
            })
            .ok_or_else(|| LockError::Metadata {
                file: file.filename.clone(),
                message: "not recorded".to_string(),
            })?;
        CoreMetadata::parse(bytes)
            .map(Arc::new)
            .map_err(|message| LockError::Metadata {
                file: file.filename.clone(),
                message,
            })
    }
}
