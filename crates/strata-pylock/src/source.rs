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

    pub fn client(&self) -> &IndexClient {
        &self.client
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

/// Recorded index responses: pages by project and metadata by file name.
#[derive(Debug, Clone, Default)]
pub struct RecordedSource {
    pub pages: HashMap<PackageName, ProjectPage>,
    pub metadata: HashMap<String, Vec<u8>>,
}

impl PackageSource for RecordedSource {
    fn project(&self, name: &PackageName) -> Result<Option<Arc<ProjectPage>>, LockError> {
        Ok(self.pages.get(name).cloned().map(Arc::new))
    }

    fn metadata(&self, file: &IndexFile) -> Result<Arc<CoreMetadata>, LockError> {
        let bytes = self
            .metadata
            .get(&file.filename)
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
