//! When a `FROM` line names the parent differently from its tag (`FROM sci/base:1.0` while the
//! tag is `registry/sci/base:1.0`), the build must start from the parent this run built, not
//! from whatever `sci/base:1.0` means on the engine. The Dockerfile sent to the engine names a
//! tag unique to this build instead, pointed at the parent for the build's duration, so two
//! strata runs on one engine never share a name.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use strata_dockerfile::{apply_edits, Edit, Stages};

use crate::context::{BuildContext, Entry};

static ALIASES: AtomicU64 = AtomicU64::new(0);

/// A local tag no other build, in this process or another, uses.
pub(crate) fn unique_alias() -> String {
    let count = ALIASES.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |duration| duration.as_nanos());
    format!(
        "strata-alias/p{}-{nanos:x}-{count}:parent",
        std::process::id()
    )
}

/// Rewrite the context's Dockerfile so every image reference that expands to `from` (stage
/// `FROM`s, `COPY --from`, `RUN --mount=from=`) names `alias`. Returns whether anything changed.
pub(crate) fn redirect(
    context: &mut BuildContext,
    from: &str,
    alias: &str,
    build_args: &BTreeMap<String, String>,
) -> bool {
    let Some(Entry::File { contents, .. }) = context.entries.get_mut(&context.dockerfile) else {
        return false;
    };
    let Ok(text) = String::from_utf8(contents.clone()) else {
        return false;
    };
    let Ok(syntax) = strata_dockerfile::parse(&text) else {
        return false;
    };
    let Ok(stages) = Stages::read(&syntax, build_args) else {
        return false;
    };
    let edits: Vec<Edit> = stages
        .external_references()
        .into_iter()
        .filter(|site| site.expanded == from)
        .map(|site| Edit {
            span: site.span,
            text: alias.to_string(),
        })
        .collect();
    if edits.is_empty() {
        return false;
    }
    *contents = apply_edits(&text, &edits).into_bytes();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_the_parent_name_are_redirected_and_nothing_else() {
        let mut context = BuildContext {
            dockerfile: "Dockerfile".to_string(),
            ..BuildContext::default()
        };
        context.entries.insert(
            "Dockerfile".to_string(),
            Entry::File {
                mode: 0o644,
                contents: b"FROM golang:1.22 AS build\nFROM sci/base:1.0\nCOPY --from=sci/base:1.0 /a /a\nCOPY --from=build /b /b\n".to_vec(),
            },
        );
        let alias = unique_alias();
        assert_ne!(alias, unique_alias(), "each call is unique");
        assert!(redirect(
            &mut context,
            "sci/base:1.0",
            &alias,
            &BTreeMap::new()
        ));
        let Some(Entry::File { contents, .. }) = context.entries.get("Dockerfile") else {
            panic!("the Dockerfile")
        };
        assert_eq!(
            String::from_utf8_lossy(contents),
            format!("FROM golang:1.22 AS build\nFROM {alias}\nCOPY --from={alias} /a /a\nCOPY --from=build /b /b\n")
        );
        assert!(!redirect(
            &mut context,
            "sci/other:1.0",
            &alias,
            &BTreeMap::new()
        ));
    }
}
