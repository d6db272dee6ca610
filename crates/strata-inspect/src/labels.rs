//! The OCI labels (`org.opencontainers.image.*` annotations) strata writes on the images it
//! builds and reads back from any image: named once, for every crate that reads or writes them.

/// The image a build starts from, by name.
pub const BASE_NAME_LABEL: &str = "org.opencontainers.image.base.name";
/// That image's manifest digest.
pub const BASE_DIGEST_LABEL: &str = "org.opencontainers.image.base.digest";
/// The source commit an image was built from.
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";
/// What the image is, in a sentence.
pub const DESCRIPTION_LABEL: &str = "org.opencontainers.image.description";
