//! Running a plan: build contexts (`.dockerignore`, compat assembly), the inputs hash, parallel
//! scheduling with failure propagation, tagging after success, pushing after tagging, and the
//! events and logs that report it.

mod alias;
mod assemble;
mod built_tests;
mod context;
mod dockerignore;
mod error;
mod events;
mod frontend;
mod history;
mod image_tests;
mod index;
mod inputs;
mod logs;
mod manifests;
mod pipeline;
mod platforms;
mod provenance;
mod published;
mod report;
mod runner;
mod session_run;

pub use assemble::{build_context, emit_contexts, inputs_context};
pub use built_tests::{
    failed_outputs, results_json, results_table, test_built_images, tests_summary, write_junit,
    TEST_SCHEMA_VERSION,
};
pub use context::{BuildContext, Entry};
pub use dockerignore::DockerIgnore;
pub use error::BuildError;
pub use events::BuildEvent;
pub use history::{record_promotions, PromotionRecord};
pub use image_tests::{junit_report, run_image_tests, TestResult, TestTarget, TESTS_MOUNT};
pub use index::{push_indexes, IndexPush};
pub use inputs::{inputs_hash, INPUTS_LABEL};
pub use logs::LogWriter;
pub use pipeline::{
    copy_beside, inputs_reference, is_inputs_tag, keep_only, stage_statements, stage_tags,
    staged_statements, staged_tags, statements_reference, tags_reference, Pipeline,
    STAGING_REPOSITORY,
};
pub use platforms::{platform_suffix, with_suffix, Engines};
pub use published::{compare_with_registry, PublishedImage, RegistryComparison};
pub use report::{event_line, finished_line, index_table, summary_table, EVENTS_SCHEMA_VERSION};
pub use runner::{
    run_plan, AuditGate, BuildFailure, BuildResult, Outcome, Reproducible, RunOptions,
};
pub use session_run::{
    check_reproducible, connect_engines, run_and_report, ImageCheck, ReproducibleCheck, RunReporter,
};
