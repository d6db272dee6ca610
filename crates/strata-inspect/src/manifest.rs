//! Build manifests in the spirit of docker-stacks' wiki pages: build information, then the
//! Python, conda, R and apt packages of the image.

use std::fmt::Write;

use crate::facts::ImageFacts;

/// `1234567` → `1.2 MB`.
/// `116.7 MB uncompressed`, with the registry's compressed size when known.
pub fn size_text(image: &crate::facts::ImageMetadata) -> String {
    match image.compressed_size {
        Some(compressed) => format!(
            "{} uncompressed, {} compressed",
            human_size(image.size),
            human_size(compressed)
        ),
        None => format!("{} uncompressed", human_size(image.size)),
    }
}

pub fn human_size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // sizes are shown to one decimal
    let value = bytes as f64;
    if value >= 1e9 {
        format!("{:.2} GB", value / 1e9)
    } else {
        format!("{:.1} MB", value / 1e6)
    }
}

/// The link to a commit when the source URL is a familiar forge's.
fn commit_link(source: Option<&String>, revision: &str) -> String {
    let short: String = revision.chars().take(12).collect();
    match source {
        Some(url) if url.starts_with("https://") => {
            format!(
                "[`{short}`]({}/commit/{revision})",
                url.trim_end_matches('/').trim_end_matches(".git")
            )
        }
        _ => format!("`{short}`"),
    }
}

fn table(
    output: &mut String,
    headers: [&str; 2],
    rows: impl IntoIterator<Item = (String, String)>,
) {
    let _ = writeln!(output, "| {} | {} |\n|:--|:--|", headers[0], headers[1]);
    for (left, right) in rows {
        let _ = writeln!(
            output,
            "| {} | {} |",
            left.replace('|', "\\|"),
            right.replace('|', "\\|")
        );
    }
    output.push('\n');
}

/// The Markdown build manifest of an image.
pub fn markdown(facts: &ImageFacts) -> String {
    let image = &facts.image;
    let mut output = format!(
        "# Build manifest for `{}`\n\n## Build info\n\n",
        image.reference
    );
    let mut info = vec![
        (
            "Build date".to_string(),
            image
                .created
                .clone()
                .unwrap_or_else(|| "unknown".to_string()),
        ),
        ("Image".to_string(), format!("`{}`", image.reference)),
        ("Image size".to_string(), size_text(image)),
    ];
    if !image.id.is_empty() {
        info.push(("Image id".to_string(), format!("`{}`", image.id)));
    }
    for digest in &image.digests {
        info.push(("Digest".to_string(), format!("`{digest}`")));
    }
    if let Some(revision) = image.labels.get(crate::REVISION_LABEL) {
        info.push((
            "Git commit".to_string(),
            commit_link(
                image.labels.get("org.opencontainers.image.source"),
                revision,
            ),
        ));
    }
    if let Some(os) = &facts.os_release {
        info.push((
            "OS".to_string(),
            os.pretty_name.clone().unwrap_or_else(|| os.id.clone()),
        ));
    }
    if let Some(python) = &facts.python.default {
        info.push((
            "Python".to_string(),
            format!("{} (`{}`)", python.version, python.path),
        ));
    }
    for crumb in &facts.breadcrumbs {
        let name = crumb.target.as_deref().map_or_else(
            || "compat".to_string(),
            |target| format!("science `{target}`"),
        );
        info.push((format!("Layer: {name}"), format!("`{}`", crumb.version)));
    }
    table(&mut output, ["Name", "Value"], info);
    for environment in &facts.python.environments {
        let version = environment
            .python_version
            .as_deref()
            .map(|version| format!(" (Python {version})"))
            .unwrap_or_default();
        let _ = writeln!(
            output,
            "## Python packages: `{}`{version}\n",
            environment.path
        );
        table(
            &mut output,
            ["Package", "Version"],
            environment
                .packages
                .iter()
                .map(|package| (package.name.clone(), package.version.clone())),
        );
    }
    for environment in &facts.conda {
        let prefix = if environment.prefix.is_empty() {
            "/".to_string()
        } else {
            format!("/{}", environment.prefix)
        };
        let _ = writeln!(output, "## Conda environment: `{prefix}`\n");
        table(
            &mut output,
            ["Package", "Version"],
            environment.packages.iter().map(|package| {
                let channel = package
                    .channel
                    .as_deref()
                    .map(|channel| format!(" ({channel})"))
                    .unwrap_or_default();
                (
                    package.name.clone(),
                    format!("{}{channel}", package.version),
                )
            }),
        );
    }
    for library in &facts.r {
        let _ = writeln!(output, "## R packages: `/{}`\n", library.path);
        table(
            &mut output,
            ["Package", "Version"],
            library
                .packages
                .iter()
                .map(|package| (package.name.clone(), package.version.clone())),
        );
    }
    if !facts.deb_packages.is_empty() {
        output.push_str("## Apt packages\n\n");
        table(
            &mut output,
            ["Package", "Version"],
            facts
                .deb_packages
                .iter()
                .map(|package| (package.name.clone(), package.version.clone())),
        );
    }
    output.trim_end().to_string() + "\n"
}
