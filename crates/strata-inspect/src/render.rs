//! The readable text of what this crate finds: an image's summary, and the differences between
//! two images or between the platforms of one (the JSON of each is its serialised types).

use std::fmt::Write;

use strata_diagnostic::counted;

use crate::{human_size, size_text, Change, ImageFacts, PlatformDifference};

/// `strata inspect`'s readable summary of an image.
pub fn summary(facts: &ImageFacts) -> String {
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

/// One line per package that differs: `+` added, `-` removed, `~` changed.
pub fn package_changes(changes: &[Change]) -> String {
    let mut output = String::new();
    for change in changes {
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
    output
}

/// The counts of [`package_changes`], and what else the second image holds: the same packages
/// is not the same image.
pub fn package_changes_summary(
    changes: &[Change],
    (before_name, before): (&str, &ImageFacts),
    (after_name, after): (&str, &ImageFacts),
) -> String {
    let count = |mark: fn(&Change) -> bool| changes.iter().filter(|change| mark(change)).count();
    let mut summary = format!(
        "packages: {} added, {} removed, {} changed",
        count(|change| change.before.is_none()),
        count(|change| change.after.is_none()),
        count(|change| change.before.is_some() && change.after.is_some()),
    );
    let before_layers: Vec<&str> = before
        .image
        .layers
        .iter()
        .map(|layer| layer.diff_id.as_str())
        .collect();
    let added: Vec<&crate::LayerSummary> = after
        .image
        .layers
        .iter()
        .filter(|layer| !before_layers.contains(&layer.diff_id.as_str()))
        .collect();
    if !added.is_empty() {
        let _ = write!(
            summary,
            "; `{after_name}` has {} layer(s) `{before_name}` has not ({}{})",
            added.len(),
            human_size(added.iter().map(|layer| layer.size).sum()),
            if changes.is_empty() {
                " of files outside any package"
            } else {
                ""
            },
        );
    }
    summary
}

/// One line per package not the same on every platform, its version on each.
pub fn platform_differences_text(differences: &[PlatformDifference]) -> String {
    let mut output = String::new();
    for difference in differences {
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
    output
}

/// `3 platforms (…): the same packages on every platform`, or how many differ.
pub fn platforms_summary(platforms: &[String], differences: &[PlatformDifference]) -> String {
    format!(
        "{} platforms ({}): {}",
        platforms.len(),
        platforms.join(", "),
        if differences.is_empty() {
            "the same packages on every platform".to_string()
        } else {
            format!("{} package(s) differ", differences.len())
        }
    )
}
