//! One Dockerfile as the rules walk it: its stages (what each is built on), their instructions
//! with `RUN`s read into commands, `ENV` pairs, and the facts a stage has at any instruction
//! (variables set, a default command, conda) — its own and those of what it is built on.

use strata_dockerfile::{Dockerfile, Instruction, Span, Stages};

use crate::context::{is_conda_image, Facts, ImageContext};
use crate::run::Run;
use crate::tools::{invocation, Tool};

/// An instruction and, for a `RUN`, its commands.
pub(crate) struct Item<'a> {
    pub instruction: &'a Instruction,
    pub run: Option<Run>,
}

/// One stage: its `FROM` (none for a fragment) and the instructions after it.
pub(crate) struct StageView<'a> {
    pub from: Option<&'a Instruction>,
    /// The earlier stage this one is built on.
    pub base_stage: Option<usize>,
    /// The base reference with `ARG`s expanded, when not an earlier stage.
    pub base_reference: Option<String>,
    pub items: Vec<Item<'a>>,
}

/// A Dockerfile read for linting.
pub(crate) struct File<'a> {
    pub dockerfile: &'a Dockerfile,
    pub context: &'a ImageContext,
    /// `None` when a `FROM` cannot be read (reported by `GEN008`) or in a fragment.
    pub references: Option<Stages>,
    /// Why the references could not be read.
    pub bad_from: Option<strata_dockerfile::BadFrom>,
    pub stages: Vec<StageView<'a>>,
}

/// One `KEY=value` of an `ENV` (or the legacy `ENV KEY value`).
pub(crate) struct EnvPair {
    pub key: String,
    pub value: String,
    pub key_start: usize,
}

pub(crate) fn env_pairs(instruction: &Instruction) -> Vec<EnvPair> {
    let words = instruction.words();
    let Some(first) = words.first() else {
        return Vec::new();
    };
    if !first.text.contains('=') {
        let value = words[1..]
            .iter()
            .map(strata_dockerfile::Word::value)
            .collect::<Vec<_>>()
            .join(" ");
        return vec![EnvPair {
            key: first.value(),
            value,
            key_start: first.span.start,
        }];
    }
    words
        .iter()
        .filter_map(|word| {
            let value = word.value();
            let (key, value) = value.split_once('=')?;
            Some(EnvPair {
                key: key.to_string(),
                value: value.to_string(),
                key_start: word.span.start,
            })
        })
        .collect()
}

impl<'a> File<'a> {
    pub fn read(dockerfile: &'a Dockerfile, context: &'a ImageContext) -> Self {
        let (references, bad_from) = if context.fragment {
            (None, None)
        } else {
            match Stages::read(dockerfile, &context.build_args) {
                Ok(stages) => (Some(stages), None),
                Err(bad) => (None, Some(bad)),
            }
        };
        let mut stages: Vec<StageView<'a>> = Vec::new();
        if context.fragment {
            stages.push(StageView {
                from: None,
                base_stage: None,
                base_reference: None,
                items: Vec::new(),
            });
        }
        for instruction in &dockerfile.instructions {
            if instruction.keyword == "FROM" {
                let index = stages.len();
                let (base_stage, base_reference) = match &references {
                    Some(references) => references.stages.get(index).map_or((None, None), |site| {
                        match references.stage_named(&site.from.expanded, index) {
                            Some(stage) => (Some(stage), None),
                            None => (None, Some(site.from.expanded.clone())),
                        }
                    }),
                    None => (None, None),
                };
                stages.push(StageView {
                    from: Some(instruction),
                    base_stage,
                    base_reference,
                    items: Vec::new(),
                });
                continue;
            }
            let Some(stage) = stages.last_mut() else {
                continue;
            };
            let run = (instruction.keyword == "RUN").then(|| Run::read(instruction));
            stage.items.push(Item { instruction, run });
        }
        Self {
            dockerfile,
            context,
            references,
            bad_from,
            stages,
        }
    }

    /// What a stage starts with: its base stage's facts, or the repository image it is built
    /// on, or (for an external base) whether it is a conda image.
    pub fn inherited(&self, stage: usize) -> Facts {
        let view = &self.stages[stage];
        if let Some(base) = view.base_stage.filter(|base| *base < stage) {
            return self.facts_until(base, usize::MAX);
        }
        if self.context.fragment {
            return self.context.fragment_facts.clone();
        }
        let Some(reference) = &view.base_reference else {
            return Facts::default();
        };
        if let Some(facts) = self.context.internal.get(reference) {
            return facts.clone();
        }
        Facts {
            conda: is_conda_image(reference),
            ..Facts::default()
        }
    }

    /// A stage's facts before its item `until` (all of them with `usize::MAX`).
    pub fn facts_until(&self, stage: usize, until: usize) -> Facts {
        let mut facts = self.inherited(stage);
        for item in self.stages[stage].items.iter().take(until) {
            facts.merge(&item_facts(item));
        }
        facts
    }

    /// Where an instruction's keyword starts: where findings about the whole instruction point.
    pub fn keyword_start(instruction: &Instruction) -> usize {
        instruction.keyword_span.start
    }
}

/// What one instruction sets up.
pub(crate) fn item_facts(item: &Item<'_>) -> Facts {
    let mut facts = Facts::default();
    match item.instruction.keyword.as_str() {
        "ENV" => {
            for pair in env_pairs(item.instruction) {
                let key = pair.key.to_ascii_uppercase();
                if key.contains("CONDA")
                    || key.contains("MAMBA")
                    || (key == "PATH" && pair.value.contains("conda"))
                {
                    facts.conda = true;
                }
                facts.env.insert(pair.key);
            }
        }
        "CMD" | "ENTRYPOINT" => facts.has_command = true,
        "RUN" => {
            if let Some(run) = &item.run {
                facts.conda = run.commands.iter().any(|command| {
                    invocation(command).is_some_and(|found| found.tool == Tool::Conda)
                });
            }
        }
        _ => {}
    }
    facts
}

/// An insertion at `offset`.
pub(crate) fn insert(offset: usize, text: &str) -> strata_dockerfile::Edit {
    strata_dockerfile::Edit {
        span: Span {
            start: offset,
            end: offset,
        },
        text: text.to_string(),
    }
}
