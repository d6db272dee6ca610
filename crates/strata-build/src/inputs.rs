//! The `org.strata.inputs` label: a sha256 over everything that determines a build, computed
//! before it runs. Two builds with the same inputs differ only in their build-time labels.
//!
//! The hashed text, one item per line, in this order (version 2):
//!
//! ```text
//! strata-inputs-v2
//! dockerfile <path of the Dockerfile in the context>
//! dir <mode, octal> <path>                  } every context entry after .dockerignore,
//! file <mode, octal> <sha256> <path>        } sorted by path; compat contexts include the
//! link <path> -> <target>                   } generated Dockerfile, its `SCISERVER_IMAGE`
//!                                           } naming `<image>:<version>`, not the commit
//! arg <NAME>=<value>                        every build argument, sorted by name
//! parent <image id: the engine's, else the registry's config digest, else the reference>
//! platform <os/arch, or "default">
//! ```
//!
//! Labels are not inputs: the commit-derived version labels change every commit.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::context::BuildContext;

/// The label that carries the inputs hash.
pub const INPUTS_LABEL: &str = "org.strata.inputs";

/// `sha256:<hex>` over a build's inputs.
pub fn inputs_hash(
    context: &BuildContext,
    build_args: &BTreeMap<String, String>,
    parent: &str,
    platform: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    let mut line = |text: &str| {
        hasher.update(text.as_bytes());
        hasher.update(b"\n");
    };
    line("strata-inputs-v2");
    line(&format!("dockerfile {}", context.dockerfile));
    for entry in context.describe() {
        line(&entry);
    }
    for (name, value) in build_args {
        line(&format!("arg {name}={value}"));
    }
    line(&format!("parent {parent}"));
    line(&format!("platform {}", platform.unwrap_or("default")));
    strata_registry::Digest::from_hasher(hasher).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Entry;

    fn context(contents: &str) -> BuildContext {
        let mut context = BuildContext {
            dockerfile: "Dockerfile".to_string(),
            ..BuildContext::default()
        };
        context.entries.insert(
            "Dockerfile".to_string(),
            Entry::File {
                mode: 0o644,
                contents: contents.as_bytes().to_vec(),
            },
        );
        context
    }

    #[test]
    fn every_input_changes_the_hash() {
        let arguments = BTreeMap::new();
        let base = inputs_hash(&context("FROM a"), &arguments, "sha256:1", None);
        assert_eq!(
            base,
            inputs_hash(&context("FROM a"), &arguments, "sha256:1", None)
        );
        assert_ne!(
            base,
            inputs_hash(&context("FROM b"), &arguments, "sha256:1", None)
        );
        assert_ne!(
            base,
            inputs_hash(&context("FROM a"), &arguments, "sha256:2", None)
        );
        assert_ne!(
            base,
            inputs_hash(
                &context("FROM a"),
                &arguments,
                "sha256:1",
                Some("linux/arm64")
            )
        );
        let mut with_argument = BTreeMap::new();
        with_argument.insert("A".to_string(), "1".to_string());
        assert_ne!(
            base,
            inputs_hash(&context("FROM a"), &with_argument, "sha256:1", None)
        );
        let mut executable = context("FROM a");
        executable.entries.insert(
            "Dockerfile".to_string(),
            Entry::File {
                mode: 0o755,
                contents: b"FROM a".to_vec(),
            },
        );
        assert_ne!(base, inputs_hash(&executable, &arguments, "sha256:1", None));
        assert!(base.starts_with("sha256:") && base.len() == 71);
    }
}
