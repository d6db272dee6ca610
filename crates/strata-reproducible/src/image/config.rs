//! A reproducible image's config and manifest: times clamped, build traces dropped, labels in
//! a stable order.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use strata_registry::DOCKER_MANIFEST;

use super::{CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE};
use crate::error::ReproducibleError;
use crate::store::LayerBlob;

/// `docker save`'s `manifest.json`: the config and layer files of each image.
#[derive(serde::Deserialize)]
pub(super) struct ArchiveManifest {
    #[serde(rename = "Config")]
    pub(super) config: String,
    #[serde(rename = "Layers")]
    pub(super) layers: Vec<String>,
}
/// RFC 3339, seconds, UTC: how strata writes every time it sets.
pub fn epoch_text(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(epoch))
        .to_string()
}
/// The config with no time after `epoch`, the build container's traces removed and the new
/// layers: `created` is the epoch, history entries later than it are clamped to it.
pub fn normalise_config(
    config: &[u8],
    epoch: u64,
    diff_ids: &[String],
) -> Result<Vec<u8>, ReproducibleError> {
    let mut config: Value =
        serde_json::from_slice(config).map_err(|error| ReproducibleError::Config {
            message: error.to_string(),
        })?;
    let Some(object) = config.as_object_mut() else {
        return Err(ReproducibleError::Config {
            message: "the image config is not a JSON object".to_string(),
        });
    };
    let epoch_value = Value::String(epoch_text(epoch));
    // The legacy builder's record of the container the last step ran in: an id and a host
    // name that differ on every build, and no part of the image anyone runs.
    object.remove("container");
    object.remove("container_config");
    // Buildah's (Podman's) trace of the intermediate image the last step started from.
    object.remove("parent");
    if let Some(Value::Object(run)) = object.get_mut("config") {
        // Buildah names the build container's host; no part of what runs.
        if run
            .get("Hostname")
            .is_some_and(|hostname| hostname.as_str() != Some(""))
        {
            run.remove("Hostname");
        }
        // The legacy builder's intermediate image of the previous step: a new id each build.
        if run
            .get("Image")
            .is_some_and(|image| image.as_str() != Some(""))
        {
            run.insert("Image".to_string(), Value::String(String::new()));
        }
    }
    object.insert("created".to_string(), epoch_value.clone());
    if let Some(Value::Array(history)) = object.get_mut("history") {
        sort_label_runs(history);
        for entry in history {
            // Buildah's `FROM <image>` comments name the intermediate image of the previous
            // step (a new id on every build) or the parent by the name this run gave it.
            if entry
                .get("comment")
                .and_then(Value::as_str)
                .is_some_and(|comment| comment.starts_with("FROM "))
            {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("comment");
                }
            }
            if let Some(Value::String(created)) = entry.get("created") {
                let later = humantime::parse_rfc3339_weak(created.trim_end_matches('Z'))
                    .or_else(|_| humantime::parse_rfc3339(created))
                    .map_or(true, |time| {
                        time > SystemTime::UNIX_EPOCH + Duration::from_secs(epoch)
                    });
                if later {
                    entry["created"] = epoch_value.clone();
                }
            }
        }
    }
    let rootfs = object
        .entry("rootfs")
        .or_insert_with(|| serde_json::json!({"type": "layers"}));
    rootfs["diff_ids"] = Value::Array(diff_ids.iter().cloned().map(Value::String).collect());
    Ok(serde_json::to_vec(&config).unwrap_or_default())
}
/// Buildah (Podman) records each `--label` of a build as its own `LABEL` step, in the random
/// order of a Go map: runs of such steps are sorted, which changes nothing they mean (labels are
/// a set, and the steps make no layer).
pub(super) fn sort_label_runs(history: &mut [Value]) {
    let is_label = |entry: &Value| {
        entry.get("empty_layer").and_then(Value::as_bool) == Some(true)
            && entry
                .get("created_by")
                .and_then(Value::as_str)
                .is_some_and(|command| command.contains("#(nop) LABEL "))
    };
    let mut start = 0;
    while start < history.len() {
        if !is_label(&history[start]) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < history.len() && is_label(&history[end]) {
            end += 1;
        }
        history[start..end].sort_by(|a, b| a["created_by"].as_str().cmp(&b["created_by"].as_str()));
        start = end;
    }
}
/// The image manifest (Docker schema 2) of a config and its layers, serialised the same way
/// every time.
pub fn image_manifest(config_digest: &str, config_size: u64, layers: &[LayerBlob]) -> Vec<u8> {
    let value = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "size": config_size,
            "digest": config_digest,
        },
        "layers": layers.iter().map(|layer| serde_json::json!({
            "mediaType": LAYER_MEDIA_TYPE,
            "size": layer.size,
            "digest": layer.digest,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&value).unwrap_or_default()
}
