//! Property tests for the parsers: they never panic on arbitrary input, and what they compute
//! agrees with simple models.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use crate::dockerfile::{expand, Dockerfile};
use crate::version::compare_versions;
use strata_dockerfile::ImageReference;

proptest! {
    #[test]
    fn dockerfile_parsing_never_panics(text in "[ -~\n\t\\\\$`]{0,400}") {
        let _ = Dockerfile::parse(Path::new("Dockerfile"), &text, &BTreeMap::new());
    }

    #[test]
    fn expansion_never_panics_and_leaves_plain_text_alone(text in "[ -~]{0,200}") {
        let expanded = expand(&text, &BTreeMap::new());
        if !text.contains('$') {
            prop_assert_eq!(expanded, text.clone());
        }
    }

    #[test]
    fn versions_compare_as_number_tuples(left in proptest::collection::vec(0u32..2000, 1..5), right in proptest::collection::vec(0u32..2000, 1..5)) {
        let render = |parts: &[u32]| parts.iter().map(ToString::to_string).collect::<Vec<_>>().join(".");
        let pad = |parts: &[u32]| { let mut padded = parts.to_vec(); padded.resize(5, 0); padded };
        prop_assert_eq!(compare_versions(&render(&left), &render(&right)), pad(&left).cmp(&pad(&right)));
        prop_assert_eq!(compare_versions(&render(&right), &render(&left)), pad(&right).cmp(&pad(&left)));
        prop_assert_eq!(compare_versions(&render(&left), &render(&left)), Ordering::Equal);
    }

    #[test]
    fn image_references_split_and_rejoin(
        registry in proptest::option::of("[a-z0-9]{1,8}(\\.[a-z]{2,3})?(:[0-9]{2,5})?"),
        path in proptest::collection::vec("[a-z0-9]{1,8}", 1..4),
        tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}"),
    ) {
        let repository = match &registry { Some(registry) => format!("{registry}/{}", path.join("/")), None => path.join("/") };
        let text = match &tag { Some(tag) => format!("{repository}:{tag}"), None => repository.clone() };
        let parsed = ImageReference::parse(&text);
        prop_assert_eq!(parsed.repository, repository.as_str());
        prop_assert_eq!(parsed.tag, tag.as_deref());
        prop_assert_eq!(parsed.name(), path.last().unwrap().as_str());
    }
}
