//! Reading the parts of a Dockerfile that decide an image's place in the hierarchy: the
//! stages' `FROM` lines with global `ARG`s expanded, and the images other instructions read.
//! The syntax itself (continuations, comments, heredocs, directives) is `strata-dockerfile`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_dockerfile::{whole_arg_reference, Stages};

use crate::diagnostic::SourceSpan;
use crate::error::DockerfileError;

#[cfg(test)]
pub(crate) use strata_dockerfile::expand;

/// One `FROM` stage of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The base reference with global `ARG`s expanded (`quay.io/jupyter/base-notebook`).
    pub base: String,
    /// The base reference as written (`$BASE_IMAGE`).
    pub base_as_written: String,
    /// The stage name from `FROM x AS name`, lowercased as BuildKit matches it.
    pub name: Option<String>,
    /// 1-based line of the `FROM` instruction.
    pub line: usize,
    /// Image references named by `COPY --from=` / `RUN --mount=from=` in this stage that are not
    /// earlier stages.
    pub copies_from: Vec<String>,
}

/// The hierarchy-relevant content of one Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub path: PathBuf,
    pub stages: Vec<Stage>,
}

/// Parse Dockerfile text and read its stages, with errors pointing at the file and line.
pub(crate) fn read_stages(
    path: &Path,
    text: &str,
    build_args: &BTreeMap<String, String>,
) -> Result<(strata_dockerfile::Dockerfile, Stages), DockerfileError> {
    let syntax = strata_dockerfile::parse(text).map_err(|error| DockerfileError::Syntax {
        span: SourceSpan::line(path, text, error.line()),
        message: error.to_string(),
    })?;
    let stages = Stages::read(&syntax, build_args).map_err(|error| DockerfileError::BadFrom {
        span: SourceSpan::line(path, text, error.line),
        reason: error.reason,
    })?;
    Ok((syntax, stages))
}

/// What loading an image needs of its Dockerfile: the final stage's base and every other
/// external image the build reads.
pub(crate) struct ImageBases {
    pub base: String,
    pub base_arg: Option<String>,
    pub other_references: Vec<String>,
}

/// Read `path` for image `image` (named in errors).
pub(crate) fn read_bases(
    path: &Path,
    build_args: &BTreeMap<String, String>,
    image: &str,
) -> Result<ImageBases, crate::error::RepoError> {
    let dockerfile = Dockerfile::read(path, build_args).map_err(|source| {
        crate::error::RepoError::Dockerfile {
            image: image.to_string(),
            source: Box::new(source),
        }
    })?;
    let final_base = dockerfile.final_base();
    let other_references = dockerfile
        .external_references()
        .into_iter()
        .filter(|reference| *reference != final_base.reference)
        .map(str::to_string)
        .collect();
    Ok(ImageBases {
        base: final_base.reference.to_string(),
        base_arg: final_base.via_arg,
        other_references,
    })
}

/// How the final stage's base was named, followed through stage aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalBase<'a> {
    /// The external (non-stage) reference the final stage is built on.
    pub reference: &'a str,
    /// When that reference was written as exactly `$NAME` or `${NAME}`, the `ARG` name: a build
    /// can redirect it with `--build-arg NAME=...`.
    pub via_arg: Option<String>,
}

impl Dockerfile {
    /// Read and parse a Dockerfile; `build_args` override `ARG` defaults as `--build-arg` does.
    pub fn read(
        path: &Path,
        build_args: &BTreeMap<String, String>,
    ) -> Result<Self, DockerfileError> {
        let text = strata_fs::read_text(path)?;
        Self::parse(path, &text, build_args)
    }

    /// Parse Dockerfile text; `path` is used in errors only.
    pub fn parse(
        path: &Path,
        text: &str,
        build_args: &BTreeMap<String, String>,
    ) -> Result<Self, DockerfileError> {
        let (_, read) = read_stages(path, text, build_args)?;
        if read.stages.is_empty() {
            return Err(DockerfileError::NoFrom {
                path: path.to_path_buf(),
            });
        }
        let stages = read
            .stages
            .into_iter()
            .map(|stage| Stage {
                base: stage.from.expanded,
                base_as_written: stage.from.written,
                name: stage.name,
                line: stage.from.line,
                copies_from: stage.reads.into_iter().map(|read| read.expanded).collect(),
            })
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            stages,
        })
    }

    /// The external base of the final stage, following `FROM <stage>` aliases.
    pub fn final_base(&self) -> FinalBase<'_> {
        let mut index = self.stages.len() - 1;
        // Each hop goes to an earlier stage, so this terminates.
        while let Some(previous) = self.stage_index(&self.stages[index].base, index) {
            index = previous;
        }
        let stage = &self.stages[index];
        FinalBase {
            reference: &stage.base,
            via_arg: whole_arg_reference(&stage.base_as_written),
        }
    }

    /// Every external image the build reads: stage bases that are not earlier stages, and
    /// `COPY --from` images. The final base is included.
    pub fn external_references(&self) -> Vec<&str> {
        let mut references = Vec::new();
        for (index, stage) in self.stages.iter().enumerate() {
            if self.stage_index(&stage.base, index).is_none() {
                references.push(stage.base.as_str());
            }
            references.extend(stage.copies_from.iter().map(String::as_str));
        }
        references.sort_unstable();
        references.dedup();
        references
    }

    fn stage_index(&self, reference: &str, before: usize) -> Option<usize> {
        self.stages[..before].iter().rposition(|stage| {
            stage
                .name
                .as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case(reference))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Dockerfile {
        Dockerfile::parse(Path::new("Dockerfile"), text, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn docker_stacks_style_arg_chain_is_expanded() {
        let dockerfile = parse(
            "ARG REGISTRY=quay.io\nARG OWNER=jupyter\nARG BASE_IMAGE=$REGISTRY/$OWNER/base-notebook\nFROM $BASE_IMAGE\nRUN echo hi\n",
        );
        let base = dockerfile.final_base();
        assert_eq!(base.reference, "quay.io/jupyter/base-notebook");
        assert_eq!(base.via_arg.as_deref(), Some("BASE_IMAGE"));
    }

    #[test]
    fn build_args_override_defaults() {
        let mut args = BTreeMap::new();
        args.insert("OWNER".to_string(), "me".to_string());
        let dockerfile = Dockerfile::parse(
            Path::new("Dockerfile"),
            "ARG OWNER=jupyter\nFROM quay.io/${OWNER}/base:${TAG:-latest}\n",
            &args,
        )
        .unwrap();
        assert_eq!(dockerfile.final_base().reference, "quay.io/me/base:latest");
        assert_eq!(dockerfile.final_base().via_arg, None);
    }

    #[test]
    fn multi_stage_final_base_follows_stage_aliases() {
        let dockerfile = parse(
            "FROM golang:1.22 AS build\nRUN make\nFROM sci/base:1.0 AS Runtime\nFROM runtime\nCOPY --from=build /x /x\nCOPY --from=ghcr.io/tool:1 /t /t\n",
        );
        assert_eq!(dockerfile.final_base().reference, "sci/base:1.0");
        assert_eq!(
            dockerfile.external_references(),
            vec!["ghcr.io/tool:1", "golang:1.22", "sci/base:1.0"]
        );
    }

    #[test]
    fn platform_flag_lowercase_keywords_and_continuations() {
        let dockerfile = parse("# syntax=docker/dockerfile:1\nfrom --platform=$BUILDPLATFORM \\\n  # a comment\n  debian:12 as base\n");
        assert_eq!(dockerfile.stages[0].base, "debian:12");
        assert_eq!(dockerfile.stages[0].name.as_deref(), Some("base"));
        assert_eq!(dockerfile.stages[0].line, 2);
    }

    #[test]
    fn heredoc_bodies_are_not_instructions() {
        let dockerfile =
            parse("FROM a:1\nRUN <<EOF\nFROM b:2\nEOF\nCOPY <<-'END' /x\n\tFROM c:3\n\tEND\n");
        assert_eq!(dockerfile.stages.len(), 1);
    }

    #[test]
    fn escape_directive_changes_continuation_character() {
        let dockerfile = parse("# escape=`\nFROM `\n  windows:1\n");
        assert_eq!(dockerfile.stages[0].base, "windows:1");
    }

    #[test]
    fn run_mount_from_is_a_dependency() {
        let dockerfile = parse("FROM a:1\nRUN --mount=type=bind,from=tools:2,target=/t true\n");
        assert_eq!(dockerfile.external_references(), vec!["a:1", "tools:2"]);
    }

    #[test]
    fn missing_from_is_an_error() {
        let error = Dockerfile::parse(
            Path::new("x/Dockerfile"),
            "ARG A=1\nRUN true\n",
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`x/Dockerfile` has no `FROM` instruction"
        );
    }

    #[test]
    fn empty_expansion_is_an_error_naming_the_line() {
        let error = Dockerfile::parse(
            Path::new("Dockerfile"),
            "ARG BASE\nFROM $BASE\n",
            &BTreeMap::new(),
        )
        .unwrap_err();
        insta::assert_snapshot!(crate::diagnostic::render_chain(&error), @"
        bad `FROM` instruction: `$BASE` expands to an empty image reference; give the ARG a default
         --> Dockerfile:2
          |
        2 | FROM $BASE
        ");
    }
}
