//! Where a repository's Dockerfiles name external images, and whether each can be pinned in
//! place: a literal reference is rewritten where it is written; `FROM $ARG` is rewritten in the
//! `ARG`'s default, unless the `ARG` is also used by something other than image references (or
//! set in `strata.toml`), in which case it is reported, not rewritten. Images the repository
//! builds itself are never pinned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_dockerfile::{ImageReferenceSite, ReferenceKind, Span, Stages};

use crate::error::DockerfileError;
use crate::model::Repository;
use strata_dockerfile::ImageReference;

/// A Dockerfile and the external image references in it.
#[derive(Debug, Clone)]
pub struct PinFile {
    /// Where to read and write it.
    pub path: PathBuf,
    /// How to show it (relative to the repository).
    pub display: String,
    pub text: String,
    pub sites: Vec<PinSite>,
}

/// One external image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinSite {
    /// 1-based line of the instruction that names the image.
    pub line: usize,
    pub kind: ReferenceKind,
    /// The reference as the build sees it (`ARG`s expanded).
    pub reference: String,
    /// Where it can be rewritten, or why not.
    pub edit: Result<PinEdit, String>,
}

/// Where a pin is written: a span holding exactly `reference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinEdit {
    pub span: Span,
    /// 1-based line of the span (the `ARG` line for `FROM $ARG`).
    pub line: usize,
}

impl PinSite {
    /// `name:tag@sha256:…` in the reference: pinned.
    pub fn digest(&self) -> Option<&str> {
        ImageReference::parse(&self.reference).digest
    }
}

/// The text of a pinned reference: the repository as written, its tag (`latest` when none was
/// written, as the engine reads it), and the digest.
pub fn pinned_reference(reference: &str, digest: &str) -> String {
    let parsed = ImageReference::parse(reference);
    format!(
        "{}:{}@{digest}",
        parsed.repository,
        parsed.tag.unwrap_or("latest")
    )
}

impl Repository {
    /// The external image references of every image's Dockerfile (compat layers, which have no
    /// `FROM` of their own, are not included).
    pub fn pin_files(&self) -> Result<Vec<PinFile>, DockerfileError> {
        let mut files = Vec::new();
        for layer in &self.layers {
            let path = self.root.join(&layer.dockerfile);
            let text = read(&path)?;
            let overridden: Vec<&str> = layer.build_args.keys().map(String::as_str).collect();
            let sites = pin_sites(
                &path,
                &text,
                &layer.build_args,
                &overridden,
                |site, final_base| {
                    if final_base {
                        layer.parent.is_some()
                    } else {
                        self.names_image(&site.expanded)
                    }
                },
            )?;
            // Paths read as the user named the repository: `docker/Dockerfile` for `docker`.
            let display = if self.root.as_os_str().is_empty() || self.root == Path::new(".") {
                layer.dockerfile.clone()
            } else {
                path.display().to_string()
            };
            files.push(PinFile {
                path,
                display,
                text,
                sites,
            });
        }
        Ok(files)
    }
}

/// One Dockerfile outside any repository layout: every external reference is pinnable.
pub fn pin_file(path: &Path) -> Result<PinFile, DockerfileError> {
    let text = read(path)?;
    let sites = pin_sites(path, &text, &BTreeMap::new(), &[], |_, _| false)?;
    Ok(PinFile {
        path: path.to_path_buf(),
        display: path.display().to_string(),
        text,
        sites,
    })
}

fn read(path: &Path) -> Result<String, DockerfileError> {
    Ok(strata_fs::read_text(path)?)
}

/// The external references of one Dockerfile, with where each can be pinned. `is_internal`
/// says whether a reference names an image of the repository (its second argument: whether it
/// is the final stage's base).
fn pin_sites(
    path: &Path,
    text: &str,
    build_args: &BTreeMap<String, String>,
    overridden: &[&str],
    is_internal: impl Fn(&ImageReferenceSite, bool) -> bool,
) -> Result<Vec<PinSite>, DockerfileError> {
    let (syntax, stages) = crate::dockerfile::read_stages(path, text, build_args)?;
    let final_root = final_root(&stages);
    let global_args = global_arg_declarations(&syntax);
    let mut sites = Vec::new();
    for site in stages.external_references() {
        let final_base = site.kind == ReferenceKind::From && Some(site.stage) == final_root;
        if site.expanded == "scratch" || is_internal(site, final_base) {
            continue;
        }
        let edit = if !site.written.contains('$') {
            Ok(PinEdit {
                span: site.span,
                line: site.line,
            })
        } else if let Some(name) = &site.via_arg {
            arg_edit(&syntax, &stages, &global_args, name, overridden)
        } else {
            Err(format!(
                "`{}` is built from several `ARG`s; pin it by hand, or make it a single `ARG`",
                site.written
            ))
        };
        sites.push(PinSite {
            line: site.line,
            kind: site.kind,
            reference: site.expanded.clone(),
            edit,
        });
    }
    Ok(sites)
}

/// The stage whose `FROM` the final stage is built on, following stage aliases.
fn final_root(stages: &Stages) -> Option<usize> {
    let mut index = stages.stages.len().checked_sub(1)?;
    while let Some(previous) = stages.stage_named(&stages.stages[index].from.expanded, index) {
        index = previous;
    }
    Some(index)
}

/// A global `ARG`'s last declaration before the first `FROM`.
struct GlobalArg {
    default: Option<String>,
    span: Option<Span>,
    line: usize,
}

fn global_arg_declarations(syntax: &strata_dockerfile::Dockerfile) -> BTreeMap<String, GlobalArg> {
    let mut declarations = BTreeMap::new();
    for instruction in &syntax.instructions {
        if instruction.keyword == "FROM" {
            break;
        }
        for declaration in instruction.arg_declarations() {
            declarations.insert(
                declaration.name,
                GlobalArg {
                    default: declaration.default,
                    span: declaration.default_span,
                    line: instruction.line,
                },
            );
        }
    }
    declarations
}

/// Where `FROM $NAME` is pinned: the `ARG`'s default, when nothing else uses the `ARG`.
fn arg_edit(
    syntax: &strata_dockerfile::Dockerfile,
    stages: &Stages,
    global_args: &BTreeMap<String, GlobalArg>,
    name: &str,
    overridden: &[&str],
) -> Result<PinEdit, String> {
    if overridden.contains(&name) {
        return Err(format!(
            "`{name}` is set in `strata.toml`'s build arguments; pin the value there"
        ));
    }
    let Some(declaration) = global_args.get(name) else {
        return Err(format!(
            "`{name}` has no `ARG` default before the first `FROM`"
        ));
    };
    let (Some(default), Some(span)) = (&declaration.default, declaration.span) else {
        return Err(format!("`ARG {name}` has no default"));
    };
    if default.contains('$') {
        return Err(format!(
            "the default of `ARG {name}` is built from other `ARG`s; pin it by hand"
        ));
    }
    if let Some(line) = other_use(syntax, stages, name) {
        return Err(format!(
            "`ARG {name}` is also used on line {line}, not only by image references; pin it by hand"
        ));
    }
    Ok(PinEdit {
        span,
        line: declaration.line,
    })
}

/// The first line that uses `$NAME` other than as a whole image reference: a stage's own
/// `ARG NAME` (which brings the value into `RUN`, `ENV`, `LABEL`…), another `ARG` default, or
/// an image reference that builds on it.
fn other_use(syntax: &strata_dockerfile::Dockerfile, stages: &Stages, name: &str) -> Option<usize> {
    let mut in_stage = false;
    for instruction in &syntax.instructions {
        if instruction.keyword == "FROM" {
            in_stage = true;
            continue;
        }
        if instruction.keyword != "ARG" {
            continue;
        }
        for declaration in instruction.arg_declarations() {
            let redeclared = in_stage && declaration.name == name;
            let builds_on = declaration
                .default
                .as_deref()
                .is_some_and(|default| mentions(default, name));
            if redeclared || builds_on {
                return Some(instruction.line);
            }
        }
    }
    stages
        .stages
        .iter()
        .flat_map(|stage| std::iter::once(&stage.from).chain(&stage.reads))
        .find(|site| site.via_arg.as_deref() != Some(name) && mentions(&site.written, name))
        .map(|site| site.line)
}

/// Whether `text` expands `$NAME` or `${NAME…}`.
fn mentions(text: &str, name: &str) -> bool {
    let identifier = |character: char| character.is_ascii_alphanumeric() || character == '_';
    let mut rest = text;
    while let Some(position) = rest.find('$') {
        let after = &rest[position + 1..];
        let candidate = after.strip_prefix('{').unwrap_or(after);
        if let Some(tail) = candidate.strip_prefix(name) {
            if !tail.starts_with(identifier) {
                return true;
            }
        }
        rest = after;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(text: &str) -> Vec<PinSite> {
        pin_sites(
            Path::new("Dockerfile"),
            text,
            &BTreeMap::new(),
            &[],
            |site, _| site.expanded.starts_with("internal/"),
        )
        .unwrap()
    }

    fn at(text: &str, site: &PinSite) -> String {
        let edit = site.edit.as_ref().unwrap();
        text[edit.span.start..edit.span.end].to_string()
    }

    #[test]
    fn literal_references_are_pinned_where_written() {
        let text = "FROM python:3.12-slim AS build\nFROM internal/base:1\nCOPY --from=build /a /a\nCOPY --from=ghcr.io/tools/uv:0.4 /uv /uv\nFROM scratch\n";
        let found = sites(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(at(text, &found[0]), "python:3.12-slim");
        assert_eq!(found[1].kind, ReferenceKind::CopyFrom);
        assert_eq!(at(text, &found[1]), "ghcr.io/tools/uv:0.4");
    }

    #[test]
    fn arg_defaults_are_pinned_unless_used_elsewhere() {
        let text = "ARG BASE=\"debian:bookworm\"\nARG PY=3.12\nFROM ${BASE}\nFROM python:${PY}-slim\nARG PY\nRUN echo $PY\n";
        let found = sites(text);
        assert_eq!(at(text, &found[0]), "debian:bookworm");
        assert_eq!(found[0].edit.as_ref().unwrap().line, 1);
        assert_eq!(found[0].reference, "debian:bookworm");
        let reason = found[1].edit.as_ref().unwrap_err();
        assert!(reason.contains("several `ARG`s"), "{reason}");

        let shared = "ARG BASE=debian:bookworm\nFROM $BASE\nARG BASE\nLABEL base=$BASE\n";
        let reason = sites(shared)[0].edit.clone().unwrap_err();
        assert!(reason.contains("also used on line 3"), "{reason}");

        let overridden = pin_sites(
            Path::new("Dockerfile"),
            "ARG BASE=debian:bookworm\nFROM $BASE\n",
            &BTreeMap::from([("BASE".to_string(), "debian:trixie".to_string())]),
            &["BASE"],
            |_, _| false,
        )
        .unwrap();
        assert_eq!(overridden[0].reference, "debian:trixie");
        assert!(overridden[0]
            .edit
            .as_ref()
            .unwrap_err()
            .contains("strata.toml"));
    }

    #[test]
    fn pinned_text_keeps_the_spelling_and_adds_the_tag() {
        assert_eq!(
            pinned_reference("python:3.12", "sha256:ab"),
            "python:3.12@sha256:ab"
        );
        assert_eq!(
            pinned_reference("localhost:5000/x/debian@sha256:00", "sha256:ab"),
            "localhost:5000/x/debian:latest@sha256:ab"
        );
        assert!(mentions("${BASE:-x}", "BASE") && mentions("a$BASE/b", "BASE"));
        assert!(!mentions("$BASE_IMAGE", "BASE"));
    }
}
