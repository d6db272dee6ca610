//! The image's file system as strata recorded it: layers applied bottom to top, whiteouts and
//! opaque directories honoured, symlinks resolved (at most 40 hops, so a loop resolves to
//! nothing rather than hanging).

use std::collections::{BTreeMap, VecDeque};

use crate::records::{LayerRecord, Node};

const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, Clone, Default)]
pub struct MergedView {
    pub entries: BTreeMap<String, Node>,
}

impl MergedView {
    pub fn merge<'a>(layers: impl IntoIterator<Item = &'a LayerRecord>) -> Self {
        let mut view = Self::default();
        for layer in layers {
            for directory in &layer.opaque {
                view.remove_under(directory);
            }
            for path in &layer.whiteouts {
                view.entries.remove(path);
                view.remove_under(path);
            }
            for (path, node) in &layer.entries {
                view.entries.insert(path.clone(), node.clone());
            }
        }
        view
    }

    fn remove_under(&mut self, directory: &str) {
        if directory.is_empty() {
            self.entries.clear();
            return;
        }
        let prefix = format!("{directory}/");
        let doomed: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .map(|(path, _)| path.clone())
            .collect();
        for path in doomed {
            self.entries.remove(&path);
        }
    }

    /// `path` with every symlink along it followed; `None` for a loop.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: VecDeque<String> = path.split('/').map(str::to_string).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(component) = pending.pop_front() {
            match component.as_str() {
                "" | "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            let mut candidate = resolved.clone();
            candidate.push(component.clone());
            let joined = candidate.join("/");
            if let Some(Node::Symlink { target }) = self.entries.get(&joined) {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return None;
                }
                if target.starts_with('/') {
                    resolved.clear();
                }
                for part in target.split('/').rev() {
                    pending.push_front(part.to_string());
                }
            } else {
                resolved.push(component);
            }
        }
        Some(resolved.join("/"))
    }

    /// The node at `path` after resolving symlinks.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.entries.get(&self.resolve(path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, Node)], whiteouts: &[&str], opaque: &[&str]) -> LayerRecord {
        LayerRecord {
            entries: entries
                .iter()
                .map(|(path, node)| ((*path).to_string(), node.clone()))
                .collect(),
            whiteouts: whiteouts.iter().map(|path| (*path).to_string()).collect(),
            opaque: opaque.iter().map(|path| (*path).to_string()).collect(),
            ..LayerRecord::default()
        }
    }

    fn link(target: &str) -> Node {
        Node::Symlink {
            target: target.to_string(),
        }
    }

    #[test]
    fn whiteouts_and_opaque_directories_hide_lower_layers() {
        let lower = layer(
            &[
                ("a/x", Node::Executable),
                ("a/y/z", Node::Executable),
                ("b/q", Node::Executable),
            ],
            &[],
            &[],
        );
        let upper = layer(&[("b/new", Node::Executable)], &["a/y"], &["b"]);
        let view = MergedView::merge([&lower, &upper]);
        let paths: Vec<&str> = view.entries.keys().map(String::as_str).collect();
        assert_eq!(paths, ["a/x", "b/new"]);
    }

    #[test]
    fn resolves_relative_absolute_and_directory_symlinks() {
        let view = MergedView::merge([&layer(
            &[
                ("bin", link("usr/bin")),
                ("usr/bin/python3", link("python3.11")),
                ("usr/bin/python3.11", Node::Executable),
                ("opt/venv/bin/python", link("/usr/bin/python3")),
                ("etc/os-release", link("../usr/lib/os-release")),
                ("loop/a", link("b")),
                ("loop/b", link("a")),
            ],
            &[],
            &[],
        )]);
        assert_eq!(
            view.resolve("bin/python3").as_deref(),
            Some("usr/bin/python3.11")
        );
        assert_eq!(
            view.resolve("opt/venv/bin/python").as_deref(),
            Some("usr/bin/python3.11")
        );
        assert_eq!(
            view.resolve("etc/os-release").as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(view.resolve("loop/a"), None);
        assert_eq!(view.get("bin/python3"), Some(&Node::Executable));
    }
}
