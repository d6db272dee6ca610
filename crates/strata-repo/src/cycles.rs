//! Dependency cycles among layers, which both layouts refuse.

use crate::model::{Layer, LayerId};

/// A layer as cycles name it: the Dockerfile whose `FROM` makes the link, and the image's name
/// when the path does not say it.
fn shown(layer: &Layer) -> String {
    if layer.directory.rsplit('/').next() == Some(layer.name.as_str())
        || layer.directory == layer.name
    {
        format!("`{}`", layer.dockerfile)
    } else {
        format!("`{}` ({})", layer.dockerfile, layer.name)
    }
}

/// A dependency cycle among layers, rendered `` `a/Dockerfile` → `b/Dockerfile` → `a/Dockerfile` ``,
/// if there is one.
pub(crate) fn find_cycle(layers: &[Layer]) -> Option<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unvisited,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::Unvisited; layers.len()];
    for start in 0..layers.len() {
        if marks[start] != Mark::Unvisited {
            continue;
        }
        // Iterative depth-first search: (layer, its dependencies) frames.
        let mut stack: Vec<(LayerId, Vec<LayerId>)> =
            vec![(start, layers[start].dependencies().collect())];
        marks[start] = Mark::OnPath;
        while let Some((current, pending)) = stack.last_mut() {
            let current = *current;
            match pending.pop() {
                Some(next) if marks[next] == Mark::OnPath => {
                    let position = stack.iter().position(|(id, _)| *id == next).unwrap_or(0);
                    let mut names: Vec<String> = stack[position..]
                        .iter()
                        .map(|(id, _)| shown(&layers[*id]))
                        .collect();
                    names.push(shown(&layers[next]));
                    return Some(names.join(" → "));
                }
                Some(next) if marks[next] == Mark::Unvisited => {
                    marks[next] = Mark::OnPath;
                    stack.push((next, layers[next].dependencies().collect()));
                }
                Some(_) => {}
                None => {
                    marks[current] = Mark::Done;
                    stack.pop();
                }
            }
        }
    }
    None
}
