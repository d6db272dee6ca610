//! `strata inspect` and `strata diff`: what is in an image, and what changed between two.

use strata_cli::InspectFormat;
use strata_inspect::{image_facts, index_platforms};
use strata_reproducible::image_layers;

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
use crate::output::write_output;
use crate::printer::Printer;
use strata_cli::settings::{DiffSettings, InspectSettings};
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
        InspectFormat::Text => strata_inspect::summary(&facts),
        InspectFormat::Json => format!("{}\n", serde_json::to_string_pretty(&facts)?),
        InspectFormat::Markdown => strata_inspect::markdown(&facts),
        InspectFormat::Cyclonedx => format!(
            "{}\n",
            serde_json::to_string_pretty(&strata_inspect::cyclonedx(&facts))?
        ),
    };
    write_output(settings.output.as_deref(), &text, printer)?;
    if settings.registry {
        report_signatures(settings, session, printer)?;
    }
    Ok(ExitStatus::Success)
}

/// Who signed an image read from its registry (`--key`), or how many signatures it has.
fn report_signatures(
    settings: &InspectSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<()> {
    let keys = settings
        .keys
        .iter()
        .map(|path| strata_sign::read_public_key(path))
        .collect::<Result<Vec<_>, _>>()?;
    let reference = strata_registry::parse_reference(&settings.image)?;
    let verification = session.block_on(strata_sign::verify_image(
        session.registry(),
        &reference,
        &keys,
    ))??;
    let top = verification.manifests.first();
    let signers: Vec<String> = top
        .map(strata_sign::ManifestVerification::signers)
        .unwrap_or_default();
    let unsigned = top.is_none_or(|manifest| manifest.signatures == 0);
    if !signers.is_empty() {
        printer.info(&format!("signed by {}", signers.join(", ")));
    } else if unsigned {
        printer.info("not signed (no `sha256-<digest>.sig` beside it)");
    } else if keys.is_empty() {
        printer
            .info("signed (`strata inspect --registry --key PUB` or `strata verify` says by whom)");
    } else {
        printer.warn("signed, but by none of the given keys");
    }
    Ok(())
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
        printer.data(&strata_inspect::package_changes(&changes));
        printer.info(&strata_inspect::package_changes_summary(
            &changes,
            (&settings.before, &before),
            (&settings.after, &after),
        ));
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
        printer.data(&strata_inspect::platform_differences_text(&differences));
        printer.info(&strata_inspect::platforms_summary(&platforms, &differences));
    }
    Ok(ExitStatus::Success)
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
        let registry = session.registry();
        // Each error names the image it is about.
        let before = image_layers(registry, engine.as_deref(), &settings.before).await?;
        let after = image_layers(registry, engine.as_deref(), &settings.after).await?;
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
