//! Build events: what the runner reports. The progress display, the `--json` event stream and
//! the log files all consume the same events.

use serde::Serialize;
use strata_registry::Digest;

/// Something that happened while running a plan. Serialized one per line for `--json`, tagged
/// by `event`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum BuildEvent {
    /// A build started (its dependencies succeeded).
    Started { build: String },
    /// The engine started a step.
    Step { build: String, step: String },
    /// A line of build output.
    Output { build: String, line: String },
    /// An image with the same inputs already has the build's unique tag: nothing to build.
    UpToDate {
        build: String,
        image: String,
        inputs: String,
    },
    /// The build succeeded and every tag points at the new image.
    Built {
        build: String,
        image: String,
        inputs: String,
        seconds: f64,
        size: u64,
    },
    /// The build failed; no tag was created or moved.
    Failed {
        build: String,
        error: String,
        seconds: f64,
    },
    /// Not built because a build it depends on failed or was skipped.
    Skipped { build: String, because: String },
    /// A test of the image ended (tests run after the build and before any tag moves).
    Tested {
        build: String,
        test: String,
        passed: bool,
        seconds: f64,
        failure: Option<String>,
    },
    /// `--reproducible`: the engine's image was normalised into `image` (loaded into the
    /// engine), whose manifest digest is `digest` in any registry.
    Normalised {
        build: String,
        image: String,
        digest: Digest,
        /// Layers rewritten now; the others were normalised before (a parent's).
        rewritten: usize,
        /// Paths dropped by the image's `scrub` list.
        scrubbed: Vec<String>,
    },
    /// Taggers computed these extra tags, now pointing at the image.
    Tagged { build: String, tags: Vec<String> },
    /// The build manifest was written.
    Manifest { build: String, path: String },
    /// Something worth knowing that did not stop the build (a tagger that found nothing).
    Warning { build: String, message: String },
    /// A tag was pushed.
    Pushed {
        build: String,
        tag: String,
        digest: Option<Digest>,
    },
    /// A multi-platform index was written under a tag, once every platform of the build had
    /// built, passed its tests and been pushed.
    IndexPushed {
        build: String,
        tag: String,
        digest: Digest,
        platforms: Vec<String>,
    },
    /// A tag could not be pushed.
    PushFailed {
        build: String,
        tag: String,
        error: String,
    },
}

impl BuildEvent {
    pub fn build(&self) -> &str {
        match self {
            Self::Started { build }
            | Self::Step { build, .. }
            | Self::Output { build, .. }
            | Self::UpToDate { build, .. }
            | Self::Built { build, .. }
            | Self::Failed { build, .. }
            | Self::Skipped { build, .. }
            | Self::Tested { build, .. }
            | Self::Normalised { build, .. }
            | Self::Tagged { build, .. }
            | Self::Manifest { build, .. }
            | Self::Warning { build, .. }
            | Self::Pushed { build, .. }
            | Self::IndexPushed { build, .. }
            | Self::PushFailed { build, .. } => build,
        }
    }
}
