//! A whole `strata build` on the session's engines: the engines connected (the default and one
//! per planned platform `[engines]` names), the plan run, indexes pushed after every build
//! ended, each event logged and handed to the caller's reporter as it comes; and the
//! `--check-reproducible` run, which builds twice from scratch and compares.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use strata_engine::{BuilderKind, DockerEngine};
use strata_plan::Plan;
use strata_repo::Repository;
use strata_reproducible::{BlobStore, LayerDifference, LayerFiles};
use strata_session::Session;

use crate::{
    push_indexes, run_plan, BuildError, BuildEvent, BuildResult, Engines, IndexPush, LogWriter,
    Reproducible, RunOptions,
};

/// Who hears about a run as it goes.
pub trait RunReporter {
    /// A build event, in the order the runner sent them.
    fn event(&mut self, event: &BuildEvent);
    /// Something went wrong beside the builds (a log that cannot be written).
    fn warning(&mut self, message: &str);
    /// The run ended.
    fn finish(&mut self) {}
    /// `--check-reproducible`: run `run` of 2 starts.
    fn run_starting(&mut self, _run: usize) {}
}

/// The default engine (`DOCKER_HOST`), the engine of each planned platform `[engines]` in
/// `strata.toml` names, and the engines of its `pool`.
pub async fn connect_engines(
    session: &Session,
    repository: &Repository,
    plan: &Plan,
    builder: BuilderKind,
) -> Result<Engines<DockerEngine>, BuildError> {
    let mut engines = Engines::single(session.engine(builder).await?);
    let planned: BTreeSet<&String> = plan
        .builds
        .iter()
        .flat_map(|build| &build.platforms)
        .collect();
    for (platform, host) in &repository.config.engines.by_platform {
        if !planned.contains(platform) {
            continue;
        }
        let engine = session
            .engine_at(Some(host), builder)
            .await
            .map_err(|source| BuildError::PlatformEngine {
                platform: platform.clone(),
                config: repository.config.display_path(),
                source: Box::new(source),
            })?;
        engines.by_platform.insert(platform.clone(), engine);
    }
    for host in &repository.config.engines.pool {
        let engine = session
            .engine_at(Some(host), builder)
            .await
            .map_err(|source| BuildError::PlatformEngine {
                platform: format!("the pool's `{host}`"),
                config: repository.config.display_path(),
                source: Box::new(source),
            })?;
        engines.pool.push(engine);
    }
    Ok(engines)
}

/// Run the plan on the session's engines, then (with `options.push`) push each multi-platform
/// index. Every event is written to the logs under `logs` and handed to `reporter`.
pub fn run_and_report(
    session: &Session,
    repository: &Arc<Repository>,
    plan: &Arc<Plan>,
    options: RunOptions,
    builder: BuilderKind,
    logs: &Path,
    reporter: &mut dyn RunReporter,
) -> Result<(Vec<BuildResult>, Vec<IndexPush>), BuildError> {
    session.block_on(async {
        let engines = Arc::new(connect_engines(session, repository, plan, builder).await?);
        let options = Arc::new(options);
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let runner = {
            let repository = Arc::clone(repository);
            let plan = Arc::clone(plan);
            let options = Arc::clone(&options);
            tokio::spawn(async move {
                let results = run_plan(
                    engines,
                    repository,
                    Arc::clone(&plan),
                    Arc::clone(&options),
                    sender.clone(),
                )
                .await;
                // Indexes only after every build ended: each needs all of its platforms. A
                // pipeline's job (or a run of one platform) writes none: the release assembles
                // them from the staged images.
                let indexes = if options.push
                    && options.pipeline.is_none()
                    && options.only_platform.is_none()
                {
                    let mut indexes =
                        push_indexes(&options.registry, &plan, &results, &sender).await;
                    if let Some(key) = &options.sign {
                        crate::index::sign_indexes(&options.registry, &mut indexes, key, &sender)
                            .await;
                    }
                    indexes
                } else {
                    Vec::new()
                };
                (results, indexes)
            })
        };
        let mut log_writer = LogWriter::new(logs).map_err(|source| BuildError::Logs {
            directory: logs.to_path_buf(),
            source,
        })?;
        while let Some(event) = receiver.recv().await {
            if let Err(error) = log_writer.record(&event) {
                reporter.warning(&format!(
                    "cannot write the log of `{}`: {error}",
                    event.build()
                ));
            }
            reporter.event(&event);
        }
        reporter.finish();
        let _ = log_writer.flush();
        runner.await.map_err(|error| BuildError::RunnerStopped {
            message: error.to_string(),
        })
    })?
}

/// One image's verdict of `--check-reproducible`.
#[derive(Debug, Serialize)]
pub struct ImageCheck {
    pub build: String,
    pub reproducible: bool,
    /// The manifest digest of each build.
    pub digests: Vec<strata_registry::Digest>,
    /// Layers whose files differ, with the paths.
    pub layers: Vec<LayerDifference>,
    /// Config fields that differ (labels, environment, ...) when the layers do not explain it.
    pub config: Vec<String>,
}

/// How `--check-reproducible` ended.
#[derive(Debug)]
pub enum ReproducibleCheck {
    /// A build failed in one of the runs: nothing to compare.
    DidNotBuild { build: String, run: usize },
    /// Both runs built everything: each image's verdict.
    Compared(Vec<ImageCheck>),
}

/// Build the plan twice from scratch, reproducibly and without pushing, and compare the two
/// digests of every image; where they differ, which files of which layer and which config
/// fields. `reporter` is told when each run starts.
pub fn check_reproducible(
    session: &Session,
    repository: &Arc<Repository>,
    plan: &Arc<Plan>,
    options: &RunOptions,
    builder: BuilderKind,
    logs: &Path,
    reporter: &mut dyn RunReporter,
) -> Result<ReproducibleCheck, BuildError> {
    let reproducible: Reproducible =
        options
            .reproducible
            .clone()
            .ok_or_else(|| BuildError::NotReproducible {
                what: "`--check-reproducible` needs reproducible builds".to_string(),
            })?;
    let mut runs = Vec::new();
    for run in 1..=2 {
        reporter.run_starting(run);
        let (results, _) = run_and_report(
            session,
            repository,
            plan,
            RunOptions {
                push: false,
                no_cache: true,
                reproducible: Some(reproducible.clone()),
                ..options.clone()
            },
            builder,
            logs,
            reporter,
        )?;
        if let Some(failed) = results.iter().find(|result| !result.succeeded()) {
            return Ok(ReproducibleCheck::DidNotBuild {
                build: failed.name.clone(),
                run,
            });
        }
        runs.push(results);
    }
    Ok(ReproducibleCheck::Compared(compare_runs(
        &reproducible.store,
        &runs[0],
        &runs[1],
    )?))
}

fn compare_runs(
    store: &BlobStore,
    first: &[BuildResult],
    second: &[BuildResult],
) -> Result<Vec<ImageCheck>, BuildError> {
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
            let config =
                |digest: &strata_registry::Digest| -> Result<serde_json::Value, BuildError> {
                    serde_json::from_slice(&store.read_blob(digest)?).map_err(|error| {
                        BuildError::NotReproducible {
                            what: format!("the stored config `{digest}` is not JSON: {error}"),
                        }
                    })
                };
            let (config_a, config_b) = (config(&a.image_id)?, config(&b.image_id)?);
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
                            return Ok((layer.diff_id.to_string(), LayerFiles::new()));
                        }
                        let file = fs_err::File::open(store.blob_path(&layer.digest))?;
                        let (files, _) =
                            strata_reproducible::layer_files(std::io::BufReader::new(file))
                                .map_err(|source| BuildError::Layer {
                                    diff_id: layer.diff_id.to_string(),
                                    source,
                                })?;
                        Ok((layer.diff_id.to_string(), files))
                    })
                    .collect::<Result<Vec<(String, LayerFiles)>, BuildError>>()
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

#[cfg(test)]
mod tests {
    use super::config_differences;

    #[test]
    fn config_differences_name_fields_and_skip_the_layers() {
        let a = serde_json::json!({
            "config": {"Labels": {"x": "1"}, "Env": ["A=1"]},
            "rootfs": {"diff_ids": ["sha256:a"]},
            "created": "1970-01-01T00:00:00Z",
        });
        let b = serde_json::json!({
            "config": {"Labels": {"x": "2"}, "Env": ["A=1"]},
            "rootfs": {"diff_ids": ["sha256:b"]},
            "created": "2000-01-01T00:00:00Z",
        });
        assert_eq!(
            config_differences(&a, &b),
            ["config.Labels: {\"x\":\"1\"} -> {\"x\":\"2\"}", "created"]
        );
    }
}
