//! Helpers several test binaries share (each includes this file with `#[path]`).

/// The labels, digest and config of an image as its registry serves it.
pub fn registry_labels(
    reference: &str,
) -> (
    String,
    serde_json::Map<String, serde_json::Value>,
    serde_json::Value,
) {
    let image = strata_test::runtime()
        .block_on(strata_registry::fetch_image(reference))
        .unwrap_or_else(|error| panic!("`{reference}` is not in the registry: {error:?}"));
    let labels = image.config["config"]["Labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    (image.digest.to_string(), labels, image.config)
}

/// A process's exit code and output, for an assertion's message.
#[allow(dead_code)] // not every test binary runs other programs
pub fn render_output(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
