//! `strata inspect` and `strata diff`: what is in an image, and what changed between two.

use std::fmt::Write;

use anyhow::Context;
use strata_cli::InspectFormat;
use strata_engine::DockerEngine;
use strata_inspect::{image_facts, index_platforms, size_text, ImageFacts};

use crate::exit_status::ExitStatus;

/// Bumped when a field of `diff --json` changes meaning or disappears.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// `strata diff --json`.
#[derive(serde::Serialize)]
struct DiffReport<'a> {
    schema_version: u32,
    before: &'a str,
    after: &'a str,
    changes: &'a [strata_inspect::Change],
}
use crate::output::counted;
use crate::output::write_output;
use crate::printer::Printer;
use crate::settings::{DiffSettings, InspectSettings};
use strata_session::Session;

pub fn inspect(
    settings: &InspectSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let facts = session.block_on(image_facts(
        session,
        &settings.image,
        settings.registry,
        settings.platform.as_deref(),
    ))??;
    for warning in &facts.warnings {
        printer.warn(warning);
    }
    for problem in facts.activation_problems() {
        printer.warn(&problem);
    }
    let text = match settings.format {
        InspectFormat::Text => summary(&facts),
        InspectFormat::Json => format!("{}\n", serde_json::to_string_pretty(&facts)?),
        InspectFormat::Markdown => strata_inspect::markdown(&facts),
        InspectFormat::Cyclonedx => format!(
            "{}\n",
            serde_json::to_string_pretty(&strata_inspect::cyclonedx(&facts))?
        ),
    };
    write_output(settings.output.as_deref(), &text, printer)?;
    Ok(ExitStatus::Success)
}

/// The readable summary.
fn summary(facts: &ImageFacts) -> String {
    let image = &facts.image;
    let mut output = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(output, "{label:<12}{value}");
    };
    line("image", image.reference.clone());
    if !image.id.is_empty() {
        line("id", image.id.clone());
    }
    for digest in &image.digests {
        line("digest", digest.clone());
    }
    if let Some(created) = &image.created {
        line("created", created.clone());
    }
    if let (Some(os), Some(architecture)) = (&image.os, &image.architecture) {
        line("platform", format!("{os}/{architecture}"));
    }
    line(
        "size",
        format!(
            "{} in {}",
            size_text(image),
            counted(image.layers.len(), "layer", "layers")
        ),
    );
    if let Some(os) = &facts.os_release {
        line(
            "os",
            os.pretty_name.clone().unwrap_or_else(|| {
                format!("{} {}", os.id, os.version_id.clone().unwrap_or_default())
            }),
        );
    }
    if let Some(python) = &facts.python.default {
        line("python", format!("{} ({})", python.version, python.path));
    }
    for interpreter in &facts.python.interpreters {
        if facts.python.default.as_ref() != Some(interpreter) {
            line(
                "",
                format!("{} ({})", interpreter.version, interpreter.path),
            );
        }
    }
    line(
        "deb",
        counted(facts.deb_packages.len(), "package", "packages"),
    );
    for environment in &facts.python.environments {
        let version = environment
            .python_version
            .as_deref()
            .map(|version| format!(", Python {version}"))
            .unwrap_or_default();
        line(
            "pip",
            format!(
                "{} in {}{version}",
                counted(environment.packages.len(), "package", "packages"),
                environment.path
            ),
        );
    }
    for environment in &facts.conda {
        let unset = environment
            .activation
            .iter()
            .filter(|check| check.left_unset)
            .count();
        let activation = if environment.activation.is_empty() {
            String::new()
        } else {
            format!(
                "; activation exports {}, {unset} left unset by the image",
                environment
                    .activation
                    .iter()
                    .map(|check| check.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        line(
            "conda",
            format!(
                "{} in /{}{activation}",
                counted(environment.packages.len(), "package", "packages"),
                environment.prefix
            ),
        );
    }
    for library in &facts.r {
        line(
            "R",
            format!(
                "{} in /{}",
                counted(library.packages.len(), "package", "packages"),
                library.path
            ),
        );
    }
    if !facts.breadcrumbs.is_empty() {
        output.push_str("breadcrumbs\n");
        for crumb in &facts.breadcrumbs {
            let name = crumb.target.as_deref().unwrap_or("");
            let _ = writeln!(output, "  {:<10}{name:<24}{}", crumb.kind, crumb.version);
        }
    }
    if !image.labels.is_empty() {
        output.push_str("labels\n");
        for (key, value) in &image.labels {
            let _ = writeln!(output, "  {key}={value}");
        }
    }
    output
}

pub fn diff(
    settings: &DiffSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if settings.files {
        return diff_files(settings, session, printer);
    }
    if settings.platforms {
        return diff_platforms(settings, session, printer);
    }
    let platform = settings.platform.as_deref();
    let (before, after) = session.block_on(async {
        let before = image_facts(session, &settings.before, settings.registry, platform).await?;
        let after = image_facts(session, &settings.after, settings.registry, platform).await?;
        Ok::<_, strata_inspect::InspectError>((before, after))
    })??;
    let changes = strata_inspect::diff(&before, &after);
    if settings.json {
        let report = DiffReport {
            schema_version: DIFF_SCHEMA_VERSION,
            before: &settings.before,
            after: &settings.after,
            changes: &changes,
        };
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        let mut output = String::new();
        for change in &changes {
            let (mark, versions) = match (&change.before, &change.after) {
                (None, Some(after)) => ('+', after.clone()),
                (Some(before), None) => ('-', before.clone()),
                (Some(before), Some(after)) => ('~', format!("{before} -> {after}")),
                (None, None) => continue,
            };
            let location = if change.location.is_empty() {
                String::new()
            } else {
                format!(" [{}]", change.location)
            };
            let _ = writeln!(
                output,
                "{mark} {:<15}{} {versions}{location}",
                change.ecosystem, change.name
            );
        }
        printer.data(&output);
        let count = |mark: fn(&strata_inspect::Change) -> bool| {
            changes.iter().filter(|change| mark(change)).count()
        };
        let mut summary = format!(
            "packages: {} added, {} removed, {} changed",
            count(|change| change.before.is_none()),
            count(|change| change.after.is_none()),
            count(|change| change.before.is_some() && change.after.is_some()),
        );
        // The same packages is not the same image: say what else the second one holds.
        let before_layers: Vec<&str> = before
            .image
            .layers
            .iter()
            .map(|layer| layer.diff_id.as_str())
            .collect();
        let added: Vec<&strata_inspect::LayerSummary> = after
            .image
            .layers
            .iter()
            .filter(|layer| !before_layers.contains(&layer.diff_id.as_str()))
            .collect();
        if !added.is_empty() {
            let _ = write!(
                summary,
                "; `{}` has {} layer(s) `{}` has not ({}{})",
                settings.after,
                added.len(),
                settings.before,
                strata_inspect::human_size(added.iter().map(|layer| layer.size).sum()),
                if changes.is_empty() {
                    " of files outside any package"
                } else {
                    ""
                },
            );
        }
        printer.info(&summary);
    }
    Ok(ExitStatus::Success)
}

/// `strata diff --platforms --json`.
#[derive(serde::Serialize)]
struct PlatformsReport<'a> {
    schema_version: u32,
    image: &'a str,
    platforms: &'a [String],
    differences: &'a [strata_inspect::PlatformDifference],
}

/// `diff --platforms IMAGE`: every platform of a multi-platform tag, read from its registry, and
/// the packages not the same on all of them.
fn diff_platforms(
    settings: &DiffSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let reference = &settings.before;
    let images = session.block_on(index_platforms(session, reference))??;
    let platforms: Vec<String> = images
        .iter()
        .map(|(platform, _)| platform.clone())
        .collect();
    let differences = strata_inspect::platform_differences(&images);
    if settings.json {
        let report = PlatformsReport {
            schema_version: DIFF_SCHEMA_VERSION,
            image: reference,
            platforms: &platforms,
            differences: &differences,
        };
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        let mut output = String::new();
        for difference in &differences {
            let versions: Vec<String> = difference
                .versions
                .iter()
                .map(|(platform, version)| {
                    format!("{platform} {}", version.as_deref().unwrap_or("(none)"))
                })
                .collect();
            let location = if difference.location.is_empty() {
                String::new()
            } else {
                format!(" [{}]", difference.location)
            };
            let _ = writeln!(
                output,
                "~ {:<15}{} {}{location}",
                difference.ecosystem,
                difference.name,
                versions.join(" | ")
            );
        }
        printer.data(&output);
        printer.info(&format!(
            "{} platforms ({}): {}",
            platforms.len(),
            platforms.join(", "),
            if differences.is_empty() {
                "the same packages on every platform".to_string()
            } else {
                format!("{} package(s) differ", differences.len())
            }
        ));
    }
    Ok(ExitStatus::Success)
}

/// An image's layers read file by file, bottom first, and the instruction of each.
type ImageLayers = (
    Vec<(String, strata_reproducible::LayerFiles)>,
    Vec<Option<String>>,
);

async fn layers_of(
    session: &Session,
    reference: &str,
    engine: Option<&DockerEngine>,
) -> anyhow::Result<ImageLayers> {
    use strata_engine::Engine;
    let Some(engine) = engine else {
        let client = session.registry();
        let parsed = strata_registry::parse_reference(reference)?;
        let image = client.image(&parsed, None).await?;
        let mut layers = Vec::new();
        for layer in &image.layers {
            let stream = client.blob_stream(&parsed, &layer.digest).await?;
            let label = layer.digest.clone();
            let (files, diff_id) = strata_inspect::read_stream(stream, move |reader| {
                Ok(strata_reproducible::layer_files(reader)
                    .with_context(|| format!("cannot read the layer `{label}`")))
            })
            .await??;
            layers.push((diff_id, files));
        }
        return Ok((layers, strata_reproducible::layer_commands(&image.config)));
    };
    if engine.image(reference).await?.is_none() {
        return Err(strata_engine::EngineError::NoSuchImage {
            reference: reference.to_string(),
        }
        .into());
    }
    let (layers, config) = strata_inspect::read_stream(engine.export(reference), |reader| {
        Ok(strata_reproducible::archive_layers(reader))
    })
    .await?
    .with_context(|| format!("cannot read the layers of `{reference}`"))?;
    Ok((layers, strata_reproducible::layer_commands(&config)))
}

#[derive(serde::Serialize)]
struct FileDiffReport<'a> {
    schema_version: u32,
    before: &'a str,
    after: &'a str,
    layers: &'a [strata_reproducible::LayerDifference],
}

/// `strata diff --files`.
fn diff_files(
    settings: &DiffSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (before, after) = session.block_on(async {
        let engine = if settings.registry {
            None
        } else {
            Some(session.engine(strata_engine::BuilderKind::BuildKit).await?)
        };
        let before = layers_of(session, &settings.before, engine.as_deref())
            .await
            .with_context(|| format!("cannot read `{}`", settings.before))?;
        let after = layers_of(session, &settings.after, engine.as_deref())
            .await
            .with_context(|| format!("cannot read `{}`", settings.after))?;
        anyhow::Ok((before, after))
    })??;
    let layers = strata_reproducible::compare_layers(&before.0, &after.0, &after.1);
    if settings.json {
        let report = FileDiffReport {
            schema_version: DIFF_SCHEMA_VERSION,
            before: &settings.before,
            after: &settings.after,
            layers: &layers,
        };
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        printer.data(&strata_reproducible::render_layers(&layers));
        let files: usize = layers.iter().map(|layer| layer.files.len()).sum();
        printer.info(&format!(
            "{} of {} layers differ, {files} paths",
            layers.len(),
            before.0.len().max(after.0.len())
        ));
    }
    Ok(ExitStatus::Success)
}
