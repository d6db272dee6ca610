//! `strata build --check-reproducible`: build the selected images twice from scratch,
//! reproducibly, and where the two digests differ say which files of which layer differ.

use std::fmt::Write;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use strata_build::{BuildResult, Reproducible};
use strata_reproducible::{BlobStore, LayerDifference, LayerFiles};

use crate::commands::build::{run_builds, RunMode};
use crate::exit_status::ExitStatus;
use crate::printer::Printer;
use crate::settings::BuildSettings;

/// Bumped when a field of the `--check-reproducible --json` report changes meaning.
pub const CHECK_SCHEMA_VERSION: u32 = 1;

/// One image's verdict.
#[derive(Debug, Serialize)]
pub struct ImageCheck {
    pub build: String,
    pub reproducible: bool,
    /// The manifest digest of each build.
    pub digests: Vec<String>,
    /// Layers whose files differ, with the paths.
    pub layers: Vec<LayerDifference>,
    /// Config fields that differ (labels, environment, ...) when the layers do not explain it.
    pub config: Vec<String>,
}

#[derive(Serialize)]
struct CheckReport<'a> {
    schema_version: u32,
    epoch: u64,
    images: &'a [ImageCheck],
}

pub fn check(
    settings: &BuildSettings,
    repository: &Arc<strata_repo::Repository>,
    plan: &Arc<strata_plan::Plan>,
    reproducible: Option<Reproducible>,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let reproducible = reproducible.context("`--check-reproducible` needs reproducible builds")?;
    let mut runs = Vec::new();
    for run in 1..=2 {
        printer.info(&format!("build {run} of 2, from scratch"));
        let (results, _) = run_builds(
            settings,
            repository,
            plan,
            RunMode {
                // stdout holds the comparison only.
                json_events: false,
                push: false,
                no_cache: true,
                reproducible: Some(reproducible.clone()),
            },
            printer,
        )?;
        if let Some(failed) = results.iter().find(|result| !result.succeeded()) {
            printer.info(&format!(
                "`{}` did not build in run {run}: nothing to compare",
                failed.name
            ));
            return Ok(ExitStatus::BuildFailed);
        }
        runs.push(results);
    }
    let checks = compare_runs(&reproducible.store, &runs[0], &runs[1])?;
    let same = checks.iter().all(|check| check.reproducible);
    if settings.json {
        let report = CheckReport {
            schema_version: CHECK_SCHEMA_VERSION,
            epoch: reproducible.epoch,
            images: &checks,
        };
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        printer.data(&render(&checks));
        printer.info(&format!(
            "{} of {} images reproducible (SOURCE_DATE_EPOCH={})",
            checks.iter().filter(|check| check.reproducible).count(),
            checks.len(),
            reproducible.epoch
        ));
    }
    Ok(if same {
        ExitStatus::Success
    } else {
        ExitStatus::Problems
    })
}

fn compare_runs(
    store: &BlobStore,
    first: &[BuildResult],
    second: &[BuildResult],
) -> anyhow::Result<Vec<ImageCheck>> {
    let mut checks = Vec::new();
    for (one, two) in first.iter().zip(second) {
        let (Some(a), Some(b)) = (&one.reproduced, &two.reproduced) else {
            continue;
        };
        let mut check = ImageCheck {
            build: one.name.clone(),
            reproducible: a.manifest_digest == b.manifest_digest,
            digests: vec![a.manifest_digest.clone(), b.manifest_digest.clone()],
            layers: Vec::new(),
            config: Vec::new(),
        };
        if !check.reproducible {
            let config_b: serde_json::Value =
                serde_json::from_slice(&store.read_blob(&b.image_id)?)?;
            let config_a: serde_json::Value =
                serde_json::from_slice(&store.read_blob(&a.image_id)?)?;
            // A layer both builds made the same needs no reading: the comparison skips it.
            let same = |index: usize| {
                a.layers.get(index).map(|layer| &layer.diff_id)
                    == b.layers.get(index).map(|layer| &layer.diff_id)
            };
            let files = |image: &strata_reproducible::Reproduced| {
                image
                    .layers
                    .iter()
                    .enumerate()
                    .map(|(index, layer)| {
                        if same(index) {
                            return Ok((layer.diff_id.clone(), LayerFiles::new()));
                        }
                        let file = fs_err::File::open(store.blob_path(&layer.digest))?;
                        let (files, _) =
                            strata_reproducible::layer_files(std::io::BufReader::new(file))
                                .with_context(|| {
                                    format!("cannot read the layer `{}`", layer.diff_id)
                                })?;
                        Ok((layer.diff_id.clone(), files))
                    })
                    .collect::<anyhow::Result<Vec<(String, LayerFiles)>>>()
            };
            check.layers = strata_reproducible::compare_layers(
                &files(a)?,
                &files(b)?,
                &strata_reproducible::layer_commands(&config_b),
            );
            check.config = config_differences(&config_a, &config_b);
        }
        checks.push(check);
    }
    Ok(checks)
}

/// Config fields that differ, other than the layers' `diff_ids`.
fn config_differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    let mut differences = Vec::new();
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return differences;
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if key == "rootfs" {
            continue;
        }
        match (a.get(key), b.get(key)) {
            (Some(serde_json::Value::Object(x)), Some(serde_json::Value::Object(y))) => {
                let mut inner: Vec<&String> = x.keys().chain(y.keys()).collect();
                inner.sort();
                inner.dedup();
                for field in inner {
                    if x.get(field) != y.get(field) {
                        let value = |v: Option<&serde_json::Value>| {
                            v.map_or("-".to_string(), ToString::to_string)
                        };
                        differences.push(format!(
                            "{key}.{field}: {} -> {}",
                            value(x.get(field)),
                            value(y.get(field))
                        ));
                    }
                }
            }
            (x, y) if x != y => differences.push(key.clone()),
            _ => {}
        }
    }
    differences
}

fn render(checks: &[ImageCheck]) -> String {
    let mut output = String::new();
    for check in checks {
        if check.reproducible {
            let _ = writeln!(
                output,
                "reproducible  {}  {}",
                check.build, check.digests[0]
            );
            continue;
        }
        let _ = writeln!(
            output,
            "DIFFERS       {}  {} vs {}",
            check.build, check.digests[0], check.digests[1]
        );
        output.push_str(&render_layers(&check.layers));
        for field in &check.config {
            let _ = writeln!(output, "  config: {field}");
        }
    }
    output
}

/// The layers and files that differ, with hints; shared with `strata diff --files`.
pub fn render_layers(layers: &[LayerDifference]) -> String {
    let mut output = String::new();
    for layer in layers {
        let _ = writeln!(
            output,
            "  layer {}{}",
            layer.index + 1,
            layer
                .created_by
                .as_deref()
                .map(|command| format!(": {}", short(command)))
                .unwrap_or_default()
        );
        if layer.files.is_empty() && layer.before.is_some() && layer.after.is_some() {
            output
                .push_str("    the same files: only times, entry order or the tar format differ\n");
        }
        for file in &layer.files {
            let what = if file.what.is_empty() {
                String::new()
            } else {
                format!(" ({})", file.what.join(", "))
            };
            let _ = writeln!(output, "    {:<8} {}{what}", file.change, file.path);
            if let Some(hint) = file.hint {
                let _ = writeln!(output, "             hint: {hint}");
            }
        }
    }
    output
}

fn short(command: &str) -> String {
    let command = command
        .trim_start_matches("/bin/sh -c ")
        .trim_start_matches("#(nop) ")
        .trim();
    if command.chars().count() > 80 {
        format!("{}…", command.chars().take(79).collect::<String>())
    } else {
        command.to_string()
    }
}
