//! An engine whose storage strata cannot see: every path that reads overlay2 directories must
//! fall back on exporting the image. Tests compare both paths on the real daemon.

use strata_engine::{
    BuildOutput, BuildRequest, BuiltImage, Engine, EngineError, ImageDetails, PushCredentials,
    Pushed, RunOutput, RunRequest,
};

/// `E` with `layer_directories` removed from every image it describes.
pub struct StorageHidden<E>(pub E);

impl<E: Engine> Engine for StorageHidden<E> {
    async fn build(
        &self,
        request: BuildRequest,
        output: tokio::sync::mpsc::UnboundedSender<BuildOutput>,
    ) -> Result<BuiltImage, EngineError> {
        self.0.build(request, output).await
    }
    async fn tag(&self, image: &str, reference: &str) -> Result<(), EngineError> {
        self.0.tag(image, reference).await
    }
    async fn untag(&self, reference: &str) -> Result<(), EngineError> {
        self.0.untag(reference).await
    }
    async fn push(
        &self,
        reference: &str,
        credentials: Option<PushCredentials>,
    ) -> Result<Pushed, EngineError> {
        self.0.push(reference, credentials).await
    }
    async fn image(&self, reference: &str) -> Result<Option<ImageDetails>, EngineError> {
        Ok(self.0.image(reference).await?.map(|mut details| {
            details.layer_directories.clear();
            details
        }))
    }
    async fn pull(
        &self,
        reference: &str,
        credentials: Option<PushCredentials>,
    ) -> Result<bool, EngineError> {
        self.0.pull(reference, credentials).await
    }
    async fn load(
        &self,
        archive: futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
    ) -> Result<(), EngineError> {
        self.0.load(archive).await
    }
    fn export<'a>(
        &'a self,
        reference: &'a str,
    ) -> futures_util::stream::BoxStream<'a, Result<bytes::Bytes, EngineError>> {
        self.0.export(reference)
    }
    async fn run_request(&self, request: RunRequest) -> Result<RunOutput, EngineError> {
        self.0.run_request(request).await
    }
}
