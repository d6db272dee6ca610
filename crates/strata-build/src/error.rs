//! Errors running a plan.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the Dockerfile `{path}` is missing from the build context", path = path.display())]
    MissingDockerfile { path: PathBuf },
    #[error("the Dockerfile `{dockerfile}` is outside the build context `{context}`")]
    DockerfileOutsideContext { dockerfile: String, context: String },
    #[error("`{dockerfile}` line {line} uses a heredoc (`<<EOF`), which {engine}'s built-in Dockerfile frontend cannot read")]
    HeredocsUnsupported {
        dockerfile: String,
        line: usize,
        engine: String,
        /// Whether a `# syntax=` directive would bring a frontend that can.
        syntax_directive: bool,
    },
    #[error("{} of {} {} failed: {}; no tag was moved", failed.len(), results.len(), if results.len() == 1 { "test" } else { "tests" }, failed.join(", "))]
    TestsFailed {
        failed: Vec<String>,
        results: Vec<crate::image_tests::TestResult>,
    },
    #[error("audit failed: {} known {} at or above {threshold}: {}; no tag was moved", findings.len(), if findings.len() == 1 { "vulnerability" } else { "vulnerabilities" }, findings.join(", "))]
    AuditFailed {
        threshold: String,
        findings: Vec<String>,
    },
    #[error(transparent)]
    Audit(#[from] strata_audit::AuditError),
    #[error(transparent)]
    Engine(#[from] strata_engine::EngineError),
    #[error(transparent)]
    Registry(#[from] strata_registry::RegistryError),
    #[error(transparent)]
    Inspect(#[from] strata_inspect::InspectError),
    #[error(transparent)]
    Reproducible(#[from] strata_reproducible::ReproducibleError),
    #[error("cannot write the JUnit report `{}`: {message}", path.display())]
    Junit { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] strata_fs::WriteError),
    #[error("cannot attest `{image}`")]
    Attest {
        image: String,
        #[source]
        source: Box<strata_sign::SignError>,
    },
    #[error("cannot reach the engine for {platform} (`[engines]` in `{}`)", config.display())]
    PlatformEngine {
        platform: String,
        config: PathBuf,
        #[source]
        source: Box<strata_engine::EngineError>,
    },
    #[error("cannot create the log directory `{}`", directory.display())]
    Logs {
        directory: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the build runner stopped unexpectedly: {message}")]
    RunnerStopped { message: String },
    #[error("{what}")]
    NotReproducible { what: String },
    #[error("cannot read the layer `{diff_id}`")]
    Layer {
        diff_id: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Session(#[from] strata_session::SessionError),
    #[error("the parent `{parent}` is not staged in this pipeline (`{reference}` is not in the registry)")]
    NotStaged { parent: String, reference: String },
    #[error("`{name}` is not a build of the plan ({})", if planned.is_empty() { "it builds nothing".to_string() } else { format!("it builds {}", planned.join(", ")) })]
    NotPlanned { name: String, planned: Vec<String> },
    #[error("`{id}` cannot be a pipeline id: use 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or digit (CI systems' pipeline numbers and ids are)")]
    InvalidPipelineId { id: String },
}

impl strata_diagnostic::Diagnostic for BuildError {
    fn exit_class(&self) -> Option<strata_diagnostic::ExitClass> {
        use strata_diagnostic::ExitClass;
        match self {
            Self::Engine(error) => error.exit_class(),
            Self::Registry(error) => error.exit_class(),
            Self::Inspect(error) => error.exit_class(),
            Self::Reproducible(error) => error.exit_class(),
            Self::Write(error) => error.exit_class(),
            Self::Session(error) => error.exit_class(),
            // Boxed, the source is in the chain as its box: asked here.
            Self::PlatformEngine { source, .. } => source.exit_class(),
            Self::Attest { source, .. } => source.exit_class(),
            Self::Audit(error) => error.exit_class(),
            Self::TestsFailed { .. } | Self::NotStaged { .. } | Self::AuditFailed { .. } => {
                Some(ExitClass::BuildFailed)
            }
            Self::Io(_)
            | Self::MissingDockerfile { .. }
            | Self::DockerfileOutsideContext { .. }
            | Self::HeredocsUnsupported { .. }
            | Self::Junit { .. }
            | Self::Logs { .. }
            | Self::RunnerStopped { .. }
            | Self::NotReproducible { .. }
            | Self::Layer { .. }
            | Self::NotPlanned { .. }
            | Self::InvalidPipelineId { .. } => Some(ExitClass::Input),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::Engine(error) => error.hint(),
            Self::PlatformEngine { source, .. } => source.hint(),
            Self::Attest { source, .. } => source.hint(),
            Self::Inspect(error) => error.hint(),
            Self::Reproducible(error) => error.hint(),
            Self::Registry(error) => error.hint(),
            Self::HeredocsUnsupported {
                syntax_directive: true,
                ..
            } => Some(
                "add `# syntax=docker/dockerfile:1.4` as the Dockerfile's first line (BuildKit then fetches that frontend from Docker Hub, so the engine must reach it), use Docker 23 or later, or write the commands with `&&` and `\\` continuations".to_string(),
            ),
            Self::HeredocsUnsupported { .. } => Some(
                "this builder reads no heredocs at all: build with BuildKit (`--builder buildkit`) on Docker 23 or later, or write the commands with `&&` and `\\` continuations".to_string(),
            ),
            Self::NotPlanned { .. } => Some("`strata plan` with the same selection lists the builds; a job of a pipeline must plan as the pipeline did (the same `--since`, on the same commit)".to_string()),
            Self::NotStaged { parent, .. } => Some(format!("run this job after `{parent}`'s job of the same pipeline passed (`strata ci` writes the `needs:` that order them), with the same selection")),
            Self::AuditFailed { .. } => Some("`strata audit IMAGE --db DIR` on the image names each finding's layer and what would fix it; `--audit` at a higher severity, or none, builds with them".to_string()),
            Self::TestsFailed { .. } => Some("each test's output is in the build's log; run `strata test` on the image to try them again, or `--no-test` to build without them".to_string()),
            _ => None,
        }
    }
}
