//! The image-repository model: SciServer and docker-stacks layouts, `strata.toml`, Dockerfile
//! `FROM`/`ARG` reading and the git facts a plan needs.

mod blob;
mod changes;
mod config;
mod cycles;
mod diagnostic;
mod directories;
mod dockerfile;
mod error;
mod generic;
mod init;
mod layout;
mod model;
mod orphans;
mod parallel;
mod pins;
#[cfg(test)]
mod properties;
mod sciserver;
mod stacks;
mod version;
mod versions;

pub use changes::{CommitInfo, Git, GitError, PendingCommit, PendingPaths, PendingRemote};
pub use config::{
    CiConfig, CondaLockConfig, Config, EnginesConfig, GenericConfig, ImageConfig, ImageLintConfig,
    LayoutKind, LintConfig, LockConfig, ParentSetting, SignConfig, TaggerConfig, TestConfig,
    TestSettings, TreeConfig, CONFIG_FILE,
};
pub use diagnostic::{join_chain, render_chain, SourceSpan};
pub use dockerfile::{Dockerfile, FinalBase, Stage};
pub use error::{ConfigError, DockerfileError, RepoError};
pub use generic::{looks_like_tag, names_commit, render as render_tag, CommitFacts};
pub use init::{propose_config, Ambiguity, Links, Proposal, UndecidedLink};
pub use layout::{
    check_platform, open, open_with_config, survey, DEFAULT_TEST_TIMEOUT, TESTS_DIRECTORY,
};
pub use model::{
    BuiltinCheck, CompatLayer, GenericImage, ImageTest, ImageTestKind, Layer, LayerDetails,
    LayerId, NearMiss, Repository, ScienceLayer, StacksImage,
};
pub use pins::{pin_file, pinned_reference, PinEdit, PinFile, PinSite};
pub use sciserver::{DEFAULT_VERSION, DEFINITION_FILE};
pub use stacks::DEFAULT_IMAGES_DIR;
pub use strata_dockerfile::{is_valid_repository_component, last_component, ImageReference};
pub use version::compare_versions;
pub use versions::{OrphanedVersion, PendingHistory};
