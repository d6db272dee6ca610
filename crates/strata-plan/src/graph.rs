//! The image hierarchy as a terminal tree, Graphviz dot, Mermaid, or JSON.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::json;
use strata_repo::{Layer, LayerDetails, LayerId, Repository};

/// How to render the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Tree,
    Dot,
    Mermaid,
    Json,
}

/// Bumped when a field of the graph JSON changes meaning or disappears.
pub const GRAPH_SCHEMA_VERSION: u32 = 1;

/// Render the repository's hierarchy.
pub fn render_graph(repository: &Repository, format: GraphFormat) -> String {
    match format {
        GraphFormat::Tree => tree(repository),
        GraphFormat::Dot => dot(repository),
        GraphFormat::Mermaid => mermaid(repository),
        GraphFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(&graph_json(repository)).unwrap_or_default();
            text.push('\n');
            text
        }
    }
}

fn children(repository: &Repository) -> Vec<Vec<LayerId>> {
    let mut children = vec![Vec::new(); repository.layers.len()];
    for (id, layer) in repository.layers.iter().enumerate() {
        if let Some(parent) = layer.parent {
            children[parent].push(id);
        }
    }
    children
}

fn label(layer: &Layer) -> String {
    match &layer.details {
        LayerDetails::Science(science) => {
            let mut label = format!(
                "{}:{}  (image {} {}",
                science.target, science.version, science.image, science.version
            );
            if science.is_final {
                label.push_str(", final");
                if let Some(compat) = &science.compat {
                    let _ = write!(label, ", compat {compat}");
                }
            }
            label.push(')');
            label
        }
        LayerDetails::Stacks(_) => layer.name.clone(),
        LayerDetails::Generic(image) => {
            let tags: Vec<String> = image
                .tags
                .iter()
                .filter_map(|template| strata_repo::render_tag(template, image, None))
                .collect();
            if tags.is_empty() {
                layer.name.clone()
            } else {
                format!("{}  ({})", layer.name, tags.join(", "))
            }
        }
    }
}

fn tree(repository: &Repository) -> String {
    let children = children(repository);
    let mut roots: BTreeMap<&str, Vec<LayerId>> = BTreeMap::new();
    for (id, layer) in repository.layers.iter().enumerate() {
        if layer.parent.is_none() {
            roots.entry(layer.base.as_str()).or_default().push(id);
        }
    }
    let mut output = String::new();
    for (base, ids) in &roots {
        let _ = writeln!(output, "{base}");
        for (position, id) in ids.iter().enumerate() {
            tree_node(
                repository,
                &children,
                *id,
                position + 1 == ids.len(),
                &mut output,
            );
        }
    }
    if !repository.compat_layers.is_empty() {
        output.push_str("compat layers\n");
        for (position, compat) in repository.compat_layers.iter().enumerate() {
            let branch = if position + 1 == repository.compat_layers.len() {
                "└── "
            } else {
                "├── "
            };
            let includes = if compat.expanded_includes.is_empty() {
                String::new()
            } else {
                format!("  (includes {})", compat.expanded_includes.join(", "))
            };
            let _ = writeln!(output, "{branch}{}{includes}", compat.name);
        }
    }
    output
}

/// How deep the tree is drawn: past it, lines keep the indentation of this depth and say
/// their depth (`[depth 120]`) — a chain of thousands of images is a list, not a drawing whose
/// size grows with the square of its depth.
const DRAWN_DEPTH: usize = 40;

fn tree_node(
    repository: &Repository,
    children: &[Vec<LayerId>],
    root: LayerId,
    last_root: bool,
    output: &mut String,
) {
    // Depth first, without recursion (a chain may be thousands deep): (layer, its prefix, last
    // among its siblings, depth).
    let mut pending: Vec<(LayerId, String, bool, usize)> =
        vec![(root, String::new(), last_root, 0)];
    while let Some((id, prefix, last, depth)) = pending.pop() {
        let layer = &repository.layers[id];
        let branch = if last { "└── " } else { "├── " };
        let mut line = label(layer);
        if !layer.also_needs.is_empty() {
            let names: Vec<&str> = layer
                .also_needs
                .iter()
                .map(|other| repository.layers[*other].name.as_str())
                .collect();
            let _ = write!(line, "  [also reads {}]", names.join(", "));
        }
        if !layer.external_reads.is_empty() {
            let _ = write!(line, "  [also pulls {}]", layer.external_reads.join(", "));
        }
        if depth >= DRAWN_DEPTH {
            let _ = write!(line, "  [depth {}]", depth + 1);
        }
        let _ = writeln!(output, "{prefix}{branch}{line}");
        let child_prefix = if depth + 1 >= DRAWN_DEPTH {
            prefix
        } else {
            format!("{prefix}{}", if last { "    " } else { "│   " })
        };
        let count = children[id].len();
        for (position, child) in children[id].iter().enumerate().rev() {
            pending.push((
                *child,
                child_prefix.clone(),
                position + 1 == count,
                depth + 1,
            ));
        }
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dot(repository: &Repository) -> String {
    let mut output = String::from("digraph images {\n  rankdir=LR;\n  node [shape=box];\n");
    let mut externals: Vec<&str> = Vec::new();
    for layer in &repository.layers {
        let _ = writeln!(output, "  {};", quote(&layer.name));
        if layer.parent.is_none() && !externals.contains(&layer.base.as_str()) {
            externals.push(&layer.base);
        }
    }
    for external in &externals {
        let _ = writeln!(output, "  {} [style=dashed];", quote(external));
    }
    for layer in &repository.layers {
        match layer.parent {
            Some(parent) => {
                let _ = writeln!(
                    output,
                    "  {} -> {};",
                    quote(&repository.layers[parent].name),
                    quote(&layer.name)
                );
            }
            None => {
                let _ = writeln!(
                    output,
                    "  {} -> {};",
                    quote(&layer.base),
                    quote(&layer.name)
                );
            }
        }
        for other in &layer.also_needs {
            let _ = writeln!(
                output,
                "  {} -> {} [style=dotted];",
                quote(&repository.layers[*other].name),
                quote(&layer.name)
            );
        }
    }
    // Compat layers: a node each, their includes, and the final layers built with them.
    for compat in &repository.compat_layers {
        let _ = writeln!(
            output,
            "  {} [shape=note];",
            quote(&format!("compat/{}", compat.name))
        );
        for include in &compat.includes {
            let _ = writeln!(
                output,
                "  {} -> {} [label=includes];",
                quote(&format!("compat/{include}")),
                quote(&format!("compat/{}", compat.name))
            );
        }
    }
    for layer in &repository.layers {
        if let Some(compat) = final_compat(layer) {
            let _ = writeln!(
                output,
                "  {} -> {} [style=dashed, label=compat];",
                quote(&layer.name),
                quote(&format!("compat/{compat}"))
            );
        }
    }
    output.push_str("}\n");
    output
}

/// The compat layer a final science layer is released with.
fn final_compat(layer: &Layer) -> Option<&str> {
    layer
        .science()
        .filter(|science| science.is_final)
        .and_then(|science| science.compat.as_deref())
}

fn mermaid(repository: &Repository) -> String {
    let mut output = String::from("graph TD\n");
    let mut externals: Vec<&str> = Vec::new();
    for layer in &repository.layers {
        if layer.parent.is_none() && !externals.contains(&layer.base.as_str()) {
            externals.push(&layer.base);
        }
    }
    let escape = |text: &str| text.replace('"', "#quot;");
    for (index, external) in externals.iter().enumerate() {
        let _ = writeln!(output, "  x{index}([\"{}\"])", escape(external));
    }
    for (id, layer) in repository.layers.iter().enumerate() {
        let _ = writeln!(output, "  n{id}[\"{}\"]", escape(&layer.name));
    }
    for (id, layer) in repository.layers.iter().enumerate() {
        if let Some(parent) = layer.parent {
            let _ = writeln!(output, "  n{parent} --> n{id}");
        } else {
            let external = externals
                .iter()
                .position(|base| *base == layer.base)
                .unwrap_or(0);
            let _ = writeln!(output, "  x{external} --> n{id}");
        }
        for other in &layer.also_needs {
            let _ = writeln!(output, "  n{other} -.-> n{id}");
        }
    }
    let compat_node = |name: &str| {
        repository
            .compat_layers
            .iter()
            .position(|compat| compat.name == name)
    };
    for (index, compat) in repository.compat_layers.iter().enumerate() {
        let _ = writeln!(output, "  c{index}[/\"compat/{}\"/]", escape(&compat.name));
        for include in &compat.includes {
            if let Some(included) = compat_node(include) {
                let _ = writeln!(output, "  c{included} -- includes --> c{index}");
            }
        }
    }
    for (id, layer) in repository.layers.iter().enumerate() {
        if let Some(compat) = final_compat(layer).and_then(compat_node) {
            let _ = writeln!(output, "  n{id} -. compat .-> c{compat}");
        }
    }
    output
}

fn graph_json(repository: &Repository) -> serde_json::Value {
    let images: Vec<serde_json::Value> = repository
        .layers
        .iter()
        .map(|layer| {
            let parent = layer
                .parent
                .map(|parent| repository.layers[parent].name.clone());
            let also_needs: Vec<&str> = layer
                .also_needs
                .iter()
                .map(|other| repository.layers[*other].name.as_str())
                .collect();
            let mut value = json!({
                "name": layer.name,
                "directory": layer.directory,
                "dockerfile": layer.dockerfile,
                "base": layer.base,
                "parent": parent,
                "also_needs": also_needs,
                "external_reads": layer.external_reads,
            });
            match &layer.details {
                LayerDetails::Science(science) => {
                    value["image"] = json!(science.image);
                    value["version"] = json!(science.version);
                    value["final"] = json!(science.is_final);
                    value["compat"] = json!(science.compat);
                }
                LayerDetails::Stacks(stacks) => {
                    value["image"] = json!(stacks.image);
                    value["variant"] = json!(stacks.variant);
                }
                LayerDetails::Generic(image) => {
                    value["image"] = json!(image.image);
                    value["version"] = json!(image.version);
                    value["variant"] = json!(image.variant);
                    value["tags"] = json!(image.tags);
                }
            }
            if !layer.tests.is_empty() {
                value["tests"] = json!(layer
                    .tests
                    .iter()
                    .map(|test| &test.name)
                    .collect::<Vec<_>>());
            }
            value
        })
        .collect();
    let compat: Vec<serde_json::Value> = repository
        .compat_layers
        .iter()
        .map(|compat| json!({"name": compat.name, "directory": compat.directory, "includes": compat.includes, "expanded_includes": compat.expanded_includes}))
        .collect();
    json!({
        "schema_version": GRAPH_SCHEMA_VERSION,
        "layout": repository.layout.as_str(),
        "layouts": repository.layouts.iter().map(|layout| layout.as_str()).collect::<Vec<_>>(),
        "images": images,
        "compat_layers": compat,
    })
}
