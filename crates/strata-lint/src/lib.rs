//! `strata lint`: the seeds' Dockerfile practices as rules — base images, apt, pip, conda and
//! general rules — over the lossless Dockerfile syntax and the repository model, with inline
//! suppressions, safe fixes and SARIF output.

mod apply;
mod checks;
mod context;
mod error;
mod finding;
mod linter;
mod model;
mod repository;
mod rules;
mod run;
mod sarif;
mod shell;
mod targets;
mod tools;

pub use apply::{
    configured_linter, lint_planned, lint_targets, render_finding, PlannedLint, RuleChoice,
};
pub use context::{Facts, ImageContext};
pub use error::LintError;
pub use finding::Finding;
pub use linter::{LintOptions, Linter};
pub use repository::{repository_targets, Target};
pub use rules::{rule, Rule, Severity, RULES};
pub use sarif::sarif;
pub use targets::collect_targets;
