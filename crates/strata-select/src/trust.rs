//! `[trust]` in `strata.toml`: the keys each external base (by repository pattern) must be
//! signed with. `plan`, `build` and `pin` check the bases of what they work on before any engine
//! work and refuse one whose signature is missing or made by another key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use strata_plan::Plan;
use strata_repo::{Config, Repository};
use strata_session::Session;

use crate::error::SelectError;

/// A base the policy names, and who signed it.
#[derive(Debug, Clone, Serialize)]
pub struct TrustedBase {
    pub base: String,
    /// The pattern of `[trust]` it matched.
    pub pattern: String,
    pub signed_by: Vec<strata_sign::SignedBy>,
}

/// The patterns of `[trust]` with their keys, read once.
pub struct TrustPolicy {
    rules: Vec<(String, glob::Pattern, Vec<strata_sign::PublicKey>)>,
}

impl TrustPolicy {
    /// `[trust]` of `config` (the repository at `root`), its keys read.
    pub fn read(config: &Config, root: &Path) -> Result<Self, SelectError> {
        let mut rules = Vec::new();
        for (pattern, keys) in &config.trust {
            let compiled =
                glob::Pattern::new(pattern).map_err(|error| SelectError::TrustPattern {
                    config: config.display_path(),
                    pattern: pattern.clone(),
                    message: error.to_string(),
                })?;
            if keys.is_empty() {
                return Err(SelectError::TrustPattern {
                    config: config.display_path(),
                    pattern: pattern.clone(),
                    message: "it names no key".to_string(),
                });
            }
            let keys = keys
                .iter()
                .map(|key: &PathBuf| {
                    // Shown as `strata.toml` names it.
                    strata_sign::read_public_key(&root.join(key)).map(|mut read| {
                        read.name = key.display().to_string();
                        read
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| SelectError::TrustKey {
                    pattern: pattern.clone(),
                    source: Box::new(source),
                })?;
            rules.push((pattern.clone(), compiled, keys));
        }
        Ok(Self { rules })
    }

    /// The pattern and keys a base's repository (`registry/path`) falls under, if any.
    pub fn keys_for(&self, repository: &str) -> Option<(&str, &[strata_sign::PublicKey])> {
        self.rule_for(repository)
            .map(|(pattern, _, keys)| (pattern.as_str(), keys.as_slice()))
    }

    /// The rule a base's repository (`registry/path`) falls under: the longest pattern that
    /// matches it.
    fn rule_for(
        &self,
        repository: &str,
    ) -> Option<&(String, glob::Pattern, Vec<strata_sign::PublicKey>)> {
        self.rules
            .iter()
            .filter(|(_, pattern, _)| pattern.matches(repository))
            .max_by_key(|(text, _, _)| text.len())
    }
}

/// Every external base of `plan`'s builds that `[trust]` names, verified against its keys; the
/// first that does not verify is an error naming the base, the images built on it, the keys
/// and what failed. Nothing is asked of the registry when `[trust]` is empty.
pub fn check_bases(
    session: &Session,
    repository: &Repository,
    plan: &Plan,
) -> Result<Vec<TrustedBase>, SelectError> {
    if repository.config.trust.is_empty() {
        return Ok(Vec::new());
    }
    let bases = plan_bases(plan);
    check_bases_with(session, &repository.config, &repository.root, &bases)
}

/// [`check_bases`] of given `bases` (reference → the images on it), for `strata.toml`'s
/// settings `config` of the repository at `root`.
pub fn check_bases_with(
    session: &Session,
    config: &Config,
    root: &Path,
    bases: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<TrustedBase>, SelectError> {
    if config.trust.is_empty() {
        return Ok(Vec::new());
    }
    let policy = TrustPolicy::read(config, root)?;
    let registry = session.registry();
    session.block_on(async {
        let mut trusted = Vec::new();
        for (base, images) in bases {
            let Ok(reference) = strata_registry::parse_reference(base) else {
                continue;
            };
            let name = strata_registry::repository_name(&reference);
            let Some((pattern, _, keys)) = policy.rule_for(&name) else {
                continue;
            };
            let verification = strata_sign::verify_image(registry, &reference, keys)
                .await
                .map_err(|source| SelectError::TrustCheck {
                    base: base.clone(),
                    source: Box::new(source),
                })?;
            if !verification.verified() {
                let problems = verification
                    .manifests
                    .iter()
                    .filter(|manifest| manifest.signed_by.is_empty())
                    .flat_map(|manifest| manifest.problems.iter().cloned())
                    .collect::<Vec<_>>();
                return Err(SelectError::Untrusted {
                    base: base.clone(),
                    images: images.clone(),
                    pattern: pattern.clone(),
                    keys: keys.iter().map(|key| key.name.clone()).collect(),
                    problems,
                });
            }
            let mut signed_by = Vec::new();
            for manifest in &verification.manifests {
                for signer in &manifest.signed_by {
                    if !signed_by.contains(signer) {
                        signed_by.push(signer.clone());
                    }
                }
            }
            trusted.push(TrustedBase {
                base: base.clone(),
                pattern: pattern.clone(),
                signed_by,
            });
        }
        Ok(trusted)
    })?
}

/// The external bases of a plan's builds (what `FROM` names when the parent is not an image
/// of the repository), with the builds on each.
fn plan_bases(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut bases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for build in &plan.builds {
        if build.parent.is_some() || build.from == "scratch" || build.from.is_empty() {
            continue;
        }
        bases
            .entry(build.from.clone())
            .or_default()
            .push(build.name.clone());
    }
    bases
}
