//! One lossless Dockerfile syntax for everything strata reads or rewrites: parser directives,
//! instructions with their keyword, flags, words and heredocs, each with its byte span in the
//! original text and its line, `ARG` expansion as BuildKit does it, and edits that replace
//! spans and keep every other byte (comments, case, continuations, heredocs).

mod edits;
mod error;
mod expand;
#[cfg(test)]
mod properties;
mod reference;
mod references;
mod span;
mod syntax;
mod words;

pub use edits::{apply_edits, Edit};
pub use error::SyntaxError;
pub use expand::{expand, whole_arg_reference};
pub use reference::{is_valid_repository_component, last_component, ImageReference};
pub use references::{BadFrom, ImageReferenceSite, ReferenceKind, StageSite, Stages};
pub use syntax::{parse, Directive, Dockerfile, Heredoc, Instruction, Span};
pub use words::{ArgDeclaration, Flag, Word};
