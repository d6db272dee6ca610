//! Test support: a `TestContext` with a temporary git repository made from a fixture, an
//! isolated HOME, deterministic commits, and the strata binary set up to run in it; plus the
//! check that the project's services (Docker daemon, registries) are there when CI needs them.

// Test support panics with a message on purpose: a failed set-up is a failed test.
#![allow(clippy::missing_panics_doc)]

mod conda_channel;
mod context;
mod fake_engine;
mod fake_registry;
mod loopback;
mod services;
mod storage_hidden;

pub use conda_channel::{CondaChannel, CondaPackage};
pub use context::{fixture_path, workspace_root, TestContext};
pub use fake_engine::FakeEngine;
pub use fake_registry::{tags_of, FakeRegistry, Fault, FaultKind, RecordedRequest};
pub use services::{
    engine_is_podman, exclusive, fixture_images, fresh_namespace, inspect_fixture_images,
    require_services, runtime, Services,
};
pub use storage_hidden::StorageHidden;
