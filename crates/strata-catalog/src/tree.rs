//! The family tree laid out for drawing as SVG: each image a box linking to its page, parents
//! left of their children.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::CatalogImage;

const COLUMN: usize = 230;
const BOX_WIDTH: usize = 190;
const ROW: usize = 44;
const BOX_HEIGHT: usize = 30;
const MARGIN: usize = 8;
/// Characters of a name that fit in a box; longer names are cut (the full one is its title).
const FITS: usize = 24;

struct Placed {
    column: usize,
    /// Its row, doubled: a parent sits midway between its first and last child.
    half_rows: usize,
}

/// The drawing: its size, a curve per parent and child, a box per image.
#[derive(Debug, Serialize)]
pub struct Tree {
    pub width: usize,
    pub height: usize,
    pub edges: Vec<String>,
    pub nodes: Vec<Node>,
}

/// An image's box.
#[derive(Debug, Serialize)]
pub struct Node {
    pub x: usize,
    pub y: usize,
    pub text_x: usize,
    pub text_y: usize,
    pub width: usize,
    pub height: usize,
    pub name: String,
    /// The name as it fits in the box.
    pub shown: String,
    /// The name with what it is built on, shown when pointed at.
    pub title: String,
    pub href: String,
    pub published: bool,
}

/// The tree of `images` (in graph order), laid out.
pub fn layout(images: &[CatalogImage]) -> Tree {
    let index: BTreeMap<&str, usize> = images
        .iter()
        .enumerate()
        .map(|(position, image)| (image.name.as_str(), position))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); images.len()];
    let mut roots = Vec::new();
    for (position, image) in images.iter().enumerate() {
        match image.parent.as_deref().and_then(|parent| index.get(parent)) {
            Some(&parent) => children[parent].push(position),
            None => roots.push(position),
        }
    }
    let mut placed: Vec<Option<Placed>> = (0..images.len()).map(|_| None).collect();
    let mut next_row = 0usize;
    for &root in &roots {
        place(root, 0, &children, &mut placed, &mut next_row);
    }
    let columns = placed
        .iter()
        .flatten()
        .map(|placed| placed.column + 1)
        .max()
        .unwrap_or(1);
    let corner = |placed: &Placed| {
        (
            MARGIN + placed.column * COLUMN,
            // Rows are whole numbers or halves: twice a row is exact.
            MARGIN + (placed.half_rows * ROW) / 2,
        )
    };
    let mut edges = Vec::new();
    for (position, image_children) in children.iter().enumerate() {
        let Some(parent) = &placed[position] else {
            continue;
        };
        let (x, y) = corner(parent);
        for &child in image_children {
            let Some(child) = &placed[child] else {
                continue;
            };
            let (child_x, child_y) = corner(child);
            let (from_x, from_y) = (x + BOX_WIDTH, y + BOX_HEIGHT / 2);
            let (to_x, to_y) = (child_x, child_y + BOX_HEIGHT / 2);
            let middle = from_x.midpoint(to_x);
            edges.push(format!(
                "M{from_x} {from_y} C{middle} {from_y} {middle} {to_y} {to_x} {to_y}"
            ));
        }
    }
    let nodes = images
        .iter()
        .zip(&placed)
        .filter_map(|(image, placed)| {
            let (x, y) = corner(placed.as_ref()?);
            let shown = if image.name.chars().count() > FITS {
                image.name.chars().take(FITS - 1).chain(['…']).collect()
            } else {
                image.name.clone()
            };
            Some(Node {
                x,
                y,
                text_x: x + 10,
                text_y: y + 20,
                width: BOX_WIDTH,
                height: BOX_HEIGHT,
                name: image.name.clone(),
                shown,
                title: title(image),
                href: image.html.clone(),
                published: image.published,
            })
        })
        .collect();
    Tree {
        width: columns * COLUMN + MARGIN,
        height: next_row.max(1) * ROW + MARGIN,
        edges,
        nodes,
    }
}

/// What a node says when pointed at: its name, what it is built on, whether it is published.
fn title(image: &CatalogImage) -> String {
    let mut title = image.name.clone();
    match (&image.parent, &image.base) {
        (Some(parent), _) => {
            let _ = write!(title, ", built on {parent}");
        }
        (None, Some(base)) => {
            let _ = write!(title, ", built on {base}");
        }
        _ => {}
    }
    if !image.published {
        title.push_str(" (not published)");
    }
    title
}

/// Lay out `node` and what is built on it: leaves take the next row, a parent the middle of its
/// children's rows (counted in half rows, so the middle is exact).
fn place(
    node: usize,
    column: usize,
    children: &[Vec<usize>],
    placed: &mut [Option<Placed>],
    next_row: &mut usize,
) {
    let mut rows = Vec::new();
    for &child in &children[node] {
        place(child, column + 1, children, placed, next_row);
        if let Some(child) = &placed[child] {
            rows.push(child.half_rows);
        }
    }
    let half_rows = if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        (first + last) / 2
    } else {
        *next_row += 1;
        (*next_row - 1) * 2
    };
    placed[node] = Some(Placed { column, half_rows });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_image as image;

    #[test]
    fn parents_sit_left_of_and_between_their_children_and_no_boxes_overlap() {
        let images = [
            image("base", None),
            image("a", Some("base")),
            image("b", Some("base")),
            image("c", Some("base")),
            image("a-child", Some("a")),
            image("other-root", None),
        ];
        let tree = layout(&images);
        let node = |name: &str| tree.nodes.iter().find(|node| node.name == name).unwrap();
        assert!(node("base").x < node("a").x && node("a").x < node("a-child").x);
        assert_eq!(node("a").x, node("c").x);
        // Midway between its first and last child.
        assert_eq!(node("base").y, node("b").y);
        assert_eq!(node("a").y, node("a-child").y);
        assert!(node("other-root").y > node("c").y);
        for (index, one) in tree.nodes.iter().enumerate() {
            for other in &tree.nodes[index + 1..] {
                let apart_x = one.x + one.width <= other.x || other.x + other.width <= one.x;
                let apart_y = one.y + one.height <= other.y || other.y + other.height <= one.y;
                assert!(
                    apart_x || apart_y,
                    "{} and {} overlap",
                    one.name,
                    other.name
                );
            }
            assert!(one.x + one.width <= tree.width && one.y + one.height <= tree.height);
        }
        assert_eq!(tree.edges.len(), 4);
        assert_eq!(node("a-child").href, "images/a-child.html");
        assert_eq!(node("base").title, "base, built on debian:12");
    }

    #[test]
    fn long_names_are_cut_to_fit_and_kept_whole_in_the_title() {
        let long = "a-very-long-image-name-that-does-not-fit";
        let tree = layout(&[image(long, None)]);
        assert_eq!(tree.nodes[0].shown.chars().count(), FITS);
        assert!(tree.nodes[0].shown.ends_with('…'));
        assert!(tree.nodes[0].title.starts_with(long));
    }
}
