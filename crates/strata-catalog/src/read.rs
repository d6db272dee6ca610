//! Reading what the catalogue shows: each image by its tags (from the local engine or its
//! registry) and, from the registry, its earlier builds.

use futures_util::{stream, StreamExt as _, TryStreamExt as _};
use strata_inspect::{ImageFacts, InspectError};
use strata_plan::Build;
use strata_session::Session;

use crate::history::{build_tag_pattern, PastBuild};
use crate::{LintFinding, PlatformDigest, SignatureSummary, REVISION_LABEL};

/// Of a repository's build-shaped tags, how many (per build the history shows) are read: a
/// repository of thousands of builds is not read whole for its newest ten.
const SHAPED_TAGS_PER_BUILD: usize = 4;
/// Other tags of a repository checked for pointing at an image (a request each); with more, none
/// are, and the catalogue says so.
const OTHER_TAGS_CHECKED: usize = 100;

/// Registry requests in flight while looking through an image's earlier builds.
const CONCURRENT_REQUESTS: usize = 8;

/// What was read of one build.
pub struct ReadImage {
    /// Its facts, when an image was found under one of its tags.
    pub facts: Option<ImageFacts>,
    /// Why it was not found under each tag tried, or why its history could not be read.
    pub problems: Vec<String>,
    /// Its earlier builds, newest first (the current one included), at most the number asked.
    pub history: Vec<PastBuild>,
    /// Its signatures (read from the registry only).
    pub signature: Option<SignatureSummary>,
    /// Each platform's manifest, when its tag is a multi-platform index.
    pub platforms: Vec<PlatformDigest>,
    /// Other tags on the image read (a tagger's, a release's), as references.
    pub also_tagged: Vec<String>,
}

/// Read every build of `builds`: its image by its tags (the moving ones first, what users pull,
/// then its unique tag), and with `registry`, up to `history` of its builds and its signatures
/// (verified with `keys`).
pub async fn read_images(
    session: &Session,
    builds: &[Build],
    registry: bool,
    history: usize,
    keys: &[strata_sign::PublicKey],
) -> Vec<ReadImage> {
    // Images are read side by side (each mostly waits on its registry), kept in plan order.
    stream::iter(builds)
        .map(|build| read_image(session, build, registry, history, keys))
        .buffered(CONCURRENT_REQUESTS)
        .collect()
        .await
}

async fn read_image(
    session: &Session,
    build: &Build,
    registry: bool,
    history: usize,
    keys: &[strata_sign::PublicKey],
) -> ReadImage {
    let mut facts = None;
    let mut problems = Vec::new();
    for tag in build.tags.iter().rev() {
        match strata_inspect::image_facts(session, tag, registry, None).await {
            Ok(found) => {
                facts = Some(found);
                break;
            }
            Err(error) => problems.push(strata_repo::join_chain(&error, ": ")),
        }
    }
    let mut past = Vec::new();
    let mut also_tagged = Vec::new();
    if let (true, Some(found)) = (registry, &facts) {
        match registry_tags(session, build, found, history).await {
            Ok((builds, tags, note)) => {
                past = builds;
                also_tagged = tags;
                problems.extend(note);
            }
            Err(error) => problems.push(format!(
                "its other tags and earlier builds could not be read: {}",
                strata_repo::join_chain(&error, ": ")
            )),
        }
    }
    let mut signature = None;
    let mut platforms = Vec::new();
    if let (true, Some(found)) = (registry, &facts) {
        match platforms_of(session, &found.image.reference).await {
            Ok(found) => platforms = found,
            Err(error) => problems.push(format!(
                "its platforms could not be read: {}",
                strata_repo::join_chain(&error, ": ")
            )),
        }
        match signature_of(session, &found.image.reference, keys).await {
            Ok(summary) => signature = Some(summary),
            Err(error) => problems.push(format!(
                "its signatures could not be read: {}",
                strata_repo::join_chain(&error, ": ")
            )),
        }
    }
    ReadImage {
        facts,
        problems,
        history: past,
        signature,
        platforms,
        also_tagged,
    }
}

/// From the tags of `build`'s repository: its newest `limit` builds (tags shaped like its
/// unique tag, one per digest) and the other tags on the image read (a tagger's `python-3.12`),
/// as references; and why other tags were not checked, when there were too many.
async fn registry_tags(
    session: &Session,
    build: &Build,
    current: &ImageFacts,
    limit: usize,
) -> Result<(Vec<PastBuild>, Vec<String>, Option<String>), InspectError> {
    let Some(unique) = build.tags.first() else {
        return Ok((Vec::new(), Vec::new(), None));
    };
    let reference = strata_registry::parse_reference(unique)?;
    let registry = session.registry();
    let listed = registry.tags(&reference).await?;
    let pattern = match (reference.tag(), build.labels.get(REVISION_LABEL)) {
        (Some(tag), Some(revision)) => build_tag_pattern(tag, revision),
        _ => None,
    };
    let (mut shaped, others): (Vec<String>, Vec<String>) = listed
        .into_iter()
        // Signatures and attestations (`sha256-<hex>.sig`) are not the image's tags.
        .filter(|tag| !tag.starts_with("sha256-"))
        .partition(|tag| {
            pattern
                .as_ref()
                .is_some_and(|pattern| pattern.is_match(tag))
        });
    // The newest builds first when the tags count them (SciServer's `<version>-<count>-<hash>`);
    // otherwise (a commit alone) the registry's order. Only the first few are read.
    if let Some(pattern) = &pattern {
        let count = |tag: &String| -> u64 {
            pattern
                .captures(tag)
                .and_then(|found| found.get(1))
                .and_then(|count| count.as_str().parse().ok())
                .unwrap_or(0)
        };
        shaped.sort_by_key(|tag| std::cmp::Reverse(count(tag)));
    }
    shaped.truncate(limit.saturating_mul(SHAPED_TAGS_PER_BUILD));
    let past = if pattern.is_some() && limit > 0 {
        past_builds(session, &reference, shaped, limit).await?
    } else {
        Vec::new()
    };
    let own: Vec<&str> = build
        .tags
        .iter()
        .filter_map(|tag| tag.rsplit_once(':').map(|(_, tag)| tag))
        .collect();
    let others: Vec<String> = others
        .into_iter()
        .filter(|tag| !own.contains(&tag.as_str()))
        .collect();
    if others.len() > OTHER_TAGS_CHECKED {
        let note = format!(
            "its repository has {} other tags, more than the {OTHER_TAGS_CHECKED} checked for pointing at it: its page lists only its own tags",
            others.len()
        );
        return Ok((past, Vec::new(), Some(note)));
    }
    let digest = current.image.digests.first().cloned().unwrap_or_default();
    let also: Vec<Option<String>> = stream::iter(others)
        .map(|tag| {
            let tagged = strata_registry::with_tag(&reference, &tag);
            let digest = &digest;
            async move {
                let found = registry.resolve(&tagged).await?;
                Ok::<_, InspectError>(
                    found
                        .filter(|descriptor| descriptor.digest == *digest)
                        .map(|_| tagged.whole()),
                )
            }
        })
        .buffered(CONCURRENT_REQUESTS)
        .try_collect()
        .await?;
    Ok((past, also.into_iter().flatten().collect(), None))
}

/// The newest `limit` builds among `tags` of `reference`'s repository, one per digest.
async fn past_builds(
    session: &Session,
    reference: &strata_registry::Reference,
    tags: Vec<String>,
    limit: usize,
) -> Result<Vec<PastBuild>, InspectError> {
    let registry = session.registry();
    // Each tag's digest and build time, from its manifest and config only.
    let mut found: Vec<(String, String, String)> = stream::iter(tags)
        .map(|tag| {
            let tagged = strata_registry::with_tag(reference, &tag);
            async move {
                let image = registry.image(&tagged, None).await?;
                let created = image.config["created"].as_str().unwrap_or("").to_string();
                Ok::<_, InspectError>((created, image.digest.to_string(), tag))
            }
        })
        .buffer_unordered(CONCURRENT_REQUESTS)
        .try_collect()
        .await?;
    // Newest first; a digest under several tags is one build.
    found.sort_by(|left, right| right.cmp(left));
    let mut builds: Vec<(String, Vec<String>)> = Vec::new();
    for (_, digest, tag) in found {
        if let Some((_, tags)) = builds.iter_mut().find(|(known, _)| *known == digest) {
            tags.push(tag);
        } else if builds.len() < limit {
            builds.push((digest, vec![tag]));
        }
    }
    let repository = strata_registry::repository_name(reference);
    let mut past = Vec::new();
    for (_, tags) in builds {
        let facts =
            strata_inspect::image_facts(session, &format!("{repository}:{}", tags[0]), true, None)
                .await?;
        past.push(PastBuild { tags, facts });
    }
    Ok(past)
}

/// What `strata lint` finds in the repository at `root` (as `[lint]` in its `strata.toml`
/// chooses the rules), by Dockerfile relative to the root.
pub fn lint_findings(
    root: &std::path::Path,
) -> Result<std::collections::BTreeMap<String, Vec<LintFinding>>, strata_lint::LintError> {
    let mut warnings = Vec::new();
    let (targets, config) = strata_lint::collect_targets(&[root.to_path_buf()], &mut warnings)?;
    let (linter, _) = strata_lint::configured_linter(&strata_lint::RuleChoice::default(), &config)?;
    let (findings, _) = strata_lint::lint_targets(&linter, &targets, false)?;
    let mut by_file: std::collections::BTreeMap<String, Vec<LintFinding>> =
        std::collections::BTreeMap::new();
    for finding in findings {
        by_file
            .entry(finding.file.clone())
            .or_default()
            .push(LintFinding {
                rule: finding.rule.to_string(),
                name: finding.name.to_string(),
                severity: finding.severity.as_str().to_string(),
                line: finding.line,
                message: finding.message,
            });
    }
    Ok(by_file)
}

/// How many signatures the image `reference` names has, and which of `keys` verified one.
async fn signature_of(
    session: &Session,
    reference: &str,
    keys: &[strata_sign::PublicKey],
) -> Result<SignatureSummary, strata_sign::SignError> {
    let parsed = strata_registry::parse_reference(reference)?;
    let verification = strata_sign::verify_image(session.registry(), &parsed, keys).await?;
    // Its SLSA provenance, when one of the keys signed it: the first platform's.
    let mut provenance = None;
    if let (false, Some(predicate_type)) = (
        keys.is_empty(),
        strata_sign::attestation::predicate_type("provenance"),
    ) {
        let checks = strata_sign::verify_image_attestations(
            session.registry(),
            &parsed,
            &verification,
            predicate_type,
            keys,
        )
        .await?;
        provenance = checks
            .into_iter()
            .find_map(|check| check.verified.into_iter().next())
            .map(|attestation| attestation.predicate);
    }
    let top = verification.manifests.first();
    Ok(SignatureSummary {
        provenance,
        provenance_file: None,
        signatures: top.map_or(0, |manifest| manifest.signatures),
        signed_by: top
            .map(strata_sign::ManifestVerification::signers)
            .unwrap_or_default(),
    })
}

/// Each platform's image manifest when `reference` names a multi-platform index; none otherwise.
async fn platforms_of(
    session: &Session,
    reference: &str,
) -> Result<Vec<PlatformDigest>, strata_registry::RegistryError> {
    let parsed = strata_registry::parse_reference(reference)?;
    let manifest = session.registry().manifest(&parsed).await?;
    if !manifest.is_index() {
        return Ok(Vec::new());
    }
    Ok(manifest
        .children(reference)?
        .into_iter()
        .filter_map(|child| {
            let platform = child.platform.as_ref()?;
            // Attestation manifests (`unknown/unknown`) are not platforms.
            (platform.os != "unknown").then(|| PlatformDigest {
                platform: match &platform.variant {
                    Some(variant) => format!("{}/{}/{variant}", platform.os, platform.architecture),
                    None => format!("{}/{}", platform.os, platform.architecture),
                },
                digest: child.digest.to_string(),
            })
        })
        .collect())
}
