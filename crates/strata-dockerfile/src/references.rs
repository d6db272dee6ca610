//! The images a Dockerfile reads, where they are written: each stage's `FROM`, and the
//! `COPY --from=`/`ADD --from=` and `RUN --mount=…,from=…` images that are not stages. Global
//! `ARG`s (those before the first `FROM`) are expanded with their defaults, or with the build
//! arguments given.

use std::collections::{BTreeMap, HashMap};

use crate::expand::{expand, whole_arg_reference};
use crate::syntax::{Dockerfile, Span};

/// Where an image reference is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// A stage's `FROM`.
    From,
    /// `COPY --from=`/`ADD --from=`.
    CopyFrom,
    /// `RUN --mount=…,from=…`.
    MountFrom,
}

/// One image reference and its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReferenceSite {
    pub kind: ReferenceKind,
    /// 1-based line of the instruction.
    pub line: usize,
    /// The stage it belongs to (0-based; for `FROM`, the stage it starts).
    pub stage: usize,
    /// As written, quotes removed (`$BASE_IMAGE`, `python:3.12`).
    pub written: String,
    /// With global `ARG`s expanded.
    pub expanded: String,
    /// The written reference in the original text.
    pub span: Span,
    /// When written as exactly `$NAME` or `${NAME}`: the `ARG`.
    pub via_arg: Option<String>,
}

/// One stage: its `FROM` and the images its other instructions read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSite {
    pub from: ImageReferenceSite,
    /// `AS name`, lowercased as BuildKit matches it.
    pub name: Option<String>,
    /// `--platform=` as written.
    pub platform: Option<String>,
    /// `COPY --from`/`RUN --mount from=` references that are neither stage names nor indexes.
    pub reads: Vec<ImageReferenceSite>,
}

/// A `FROM` that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrom {
    pub line: usize,
    pub reason: String,
}

/// The stages of a Dockerfile, and the global `ARG`s' values.
#[derive(Debug, Clone, Default)]
pub struct Stages {
    pub global_args: BTreeMap<String, String>,
    pub stages: Vec<StageSite>,
    /// Each stage name (lowercase) and the stages that carry it, in order: a lookup costs the
    /// same in a file of 50,000 stages as in one of two.
    names: HashMap<String, Vec<usize>>,
}

impl Stages {
    /// Read the stages; `build_args` override `ARG` defaults as `--build-arg` does.
    pub fn read(
        dockerfile: &Dockerfile,
        build_args: &BTreeMap<String, String>,
    ) -> Result<Self, BadFrom> {
        let mut global_args: BTreeMap<String, String> = BTreeMap::new();
        let mut stages: Vec<StageSite> = Vec::new();
        for instruction in &dockerfile.instructions {
            match instruction.keyword.as_str() {
                "ARG" if stages.is_empty() => {
                    for declaration in instruction.arg_declarations() {
                        let value = match build_args.get(&declaration.name) {
                            Some(overridden) => Some(overridden.clone()),
                            None => declaration
                                .default
                                .map(|default| expand(&default, &global_args)),
                        };
                        // An ARG without a value is declared but empty; BuildKit expands it to "".
                        global_args.insert(declaration.name, value.unwrap_or_default());
                    }
                }
                "FROM" => {
                    let words = instruction.words_after_flags();
                    let (image, name) = match words.as_slice() {
                        [image] => (image, None),
                        [image, keyword, name] if keyword.text.eq_ignore_ascii_case("as") => {
                            (image, Some(name.value().to_ascii_lowercase()))
                        }
                        _ => {
                            return Err(BadFrom {
                                line: instruction.line,
                                reason: "expected `FROM [--platform=...] IMAGE [AS NAME]`"
                                    .to_string(),
                            })
                        }
                    };
                    let written = image.value();
                    let expanded = expand(&written, &global_args);
                    if expanded.is_empty() {
                        return Err(BadFrom {
                            line: instruction.line,
                            reason: format!(
                                "`{written}` expands to an empty image reference; give the ARG a default"
                            ),
                        });
                    }
                    let platform = instruction
                        .flags()
                        .into_iter()
                        .find(|flag| flag.name == "platform")
                        .and_then(|flag| flag.value);
                    stages.push(StageSite {
                        from: ImageReferenceSite {
                            kind: ReferenceKind::From,
                            line: instruction.line,
                            stage: stages.len(),
                            via_arg: whole_arg_reference(&written),
                            written,
                            expanded,
                            span: image.span,
                        },
                        name,
                        platform,
                        reads: Vec::new(),
                    });
                }
                "COPY" | "ADD" | "RUN" => {
                    let Some(stage) = stages.len().checked_sub(1) else {
                        continue;
                    };
                    for flag in instruction.flags() {
                        let found = match (flag.name.as_str(), &flag.value, flag.value_span) {
                            ("from", Some(value), Some(span)) => {
                                Some((ReferenceKind::CopyFrom, value.clone(), span))
                            }
                            ("mount", Some(_), _) => flag
                                .option(instruction, "from")
                                .map(|(value, span)| (ReferenceKind::MountFrom, value, span)),
                            _ => None,
                        };
                        let Some((kind, written, span)) = found else {
                            continue;
                        };
                        // `--from=0` names a stage by index.
                        if written.parse::<usize>().is_ok() {
                            continue;
                        }
                        stages[stage].reads.push(ImageReferenceSite {
                            kind,
                            line: instruction.line,
                            stage,
                            expanded: expand(&written, &global_args),
                            via_arg: whole_arg_reference(&written),
                            written,
                            span,
                        });
                    }
                }
                _ => {}
            }
        }
        // Stage names are only known once every FROM is read: drop reads that name stages.
        let mut names: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, stage) in stages.iter().enumerate() {
            if let Some(name) = &stage.name {
                names
                    .entry(name.to_ascii_lowercase())
                    .or_default()
                    .push(index);
            }
        }
        for stage in &mut stages {
            stage
                .reads
                .retain(|read| !names.contains_key(&read.expanded.to_ascii_lowercase()));
        }
        Ok(Self {
            global_args,
            stages,
            names,
        })
    }

    /// The stage before `before` whose name is `reference`, if any (BuildKit matches names
    /// case-insensitively, and only earlier stages).
    pub fn stage_named(&self, reference: &str, before: usize) -> Option<usize> {
        let carriers = self.names.get(&reference.to_ascii_lowercase())?;
        let earlier = carriers.partition_point(|index| *index < before);
        earlier.checked_sub(1).map(|last| carriers[last])
    }

    /// Every reference to an image outside the file: stage bases that are not earlier stages,
    /// and the images stages read.
    pub fn external_references(&self) -> Vec<&ImageReferenceSite> {
        let mut references = Vec::new();
        for (index, stage) in self.stages.iter().enumerate() {
            if self.stage_named(&stage.from.expanded, index).is_none() {
                references.push(&stage.from);
            }
            references.extend(stage.reads.iter());
        }
        references
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn stages(text: &str) -> Stages {
        Stages::read(&parse(text).unwrap(), &BTreeMap::new()).unwrap()
    }

    #[test]
    fn external_references_skip_stages_and_indexes() {
        let text = "ARG TOOL=ghcr.io/tool:1\nFROM golang:1.22 AS build\nRUN make\nFROM sci/base:1.0 AS Runtime\nFROM runtime\nCOPY --from=build /x /x\nCOPY --from=0 /y /y\nCOPY --from=${TOOL} /t /t\nRUN --mount=type=bind,from=tools:2,target=/t true\n";
        let stages = stages(text);
        let found: Vec<(ReferenceKind, &str, &str)> = stages
            .external_references()
            .iter()
            .map(|site| {
                (
                    site.kind,
                    site.expanded.as_str(),
                    &text[site.span.start..site.span.end],
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (ReferenceKind::From, "golang:1.22", "golang:1.22"),
                (ReferenceKind::From, "sci/base:1.0", "sci/base:1.0"),
                (ReferenceKind::CopyFrom, "ghcr.io/tool:1", "${TOOL}"),
                (ReferenceKind::MountFrom, "tools:2", "tools:2"),
            ]
        );
        assert_eq!(stages.stages[2].from.expanded, "runtime");
        assert_eq!(stages.stage_named("RUNTIME", 2), Some(1));
    }

    #[test]
    fn arg_chains_and_bad_froms() {
        let stages = stages("ARG REGISTRY=quay.io\nARG OWNER=jupyter\nARG BASE_IMAGE=$REGISTRY/$OWNER/base-notebook\nFROM $BASE_IMAGE\n");
        assert_eq!(
            stages.stages[0].from.expanded,
            "quay.io/jupyter/base-notebook"
        );
        assert_eq!(stages.stages[0].from.via_arg.as_deref(), Some("BASE_IMAGE"));
        let error =
            Stages::read(&parse("ARG BASE\nFROM $BASE\n").unwrap(), &BTreeMap::new()).unwrap_err();
        assert_eq!(error.line, 2);
        let error = Stages::read(&parse("FROM a b c d\n").unwrap(), &BTreeMap::new()).unwrap_err();
        assert!(error.reason.starts_with("expected"));
    }
}
