//! The catalogue as a static web site: plain files that work from `file://` and any static host.
//! A front page (the drawn tree, every image, the package search), a page per image, the search
//! index as a script (a `file://` page may not fetch), and the style sheet and search script,
//! written as they are here: nothing is fetched when the pages are viewed.

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::{context, AutoEscape, Environment, Value};
use serde::Serialize;
use strata_inspect::ImageFacts;

use crate::{Catalog, CatalogImage, PastBuild};

/// A file of the site: its path relative to the output directory, and its bytes.
pub struct SiteFile {
    pub path: String,
    pub contents: Vec<u8>,
}

/// The site's pages for `catalog`; `facts` and `histories` are each image's, in the
/// catalogue's order.
pub fn site(
    catalog: &Catalog,
    facts: &[Option<&ImageFacts>],
    histories: &[&[PastBuild]],
    title: &str,
) -> Result<Vec<SiteFile>, minijinja::Error> {
    let mut environment = Environment::new();
    // Every template is HTML or SVG text: escape what they are given.
    environment.set_auto_escape_callback(|_| AutoEscape::Html);
    environment.add_template("index.html", include_str!("../site/index.html"))?;
    environment.add_template("image.html", include_str!("../site/image.html"))?;
    environment.add_template("tree.svg", include_str!("../site/tree.svg"))?;
    environment.add_template("compare.html", include_str!("../site/compare.html"))?;

    let mut files = Vec::new();
    let summaries: Vec<Summary> = catalog.images.iter().map(Summary::of).collect();
    let published = catalog
        .images
        .iter()
        .filter(|image| image.published)
        .count();
    let index = environment.get_template("index.html")?.render(context! {
        title,
        generated_by => catalog.generated_by.as_str(),
        published,
        audited => catalog.images.iter().any(|image| image.vulnerabilities.is_some()),
        images => Value::from(Serde(&summaries)),
        tree => Value::from(Serde(crate::tree::layout(&catalog.images))),
    })?;
    files.push(SiteFile {
        path: "index.html".to_string(),
        contents: index.into_bytes(),
    });
    let page = environment.get_template("image.html")?;
    let mut choices = Vec::new();
    for ((image, facts), history) in catalog.images.iter().zip(facts).zip(histories) {
        let view = ImageView::of(image, *facts, catalog);
        files.push(SiteFile {
            path: image.html.clone(),
            contents: page
                .render(context! { title, image => Value::from(Serde(&view)) })?
                .into_bytes(),
        });
        if let (Some(sbom), Some(facts)) = (&image.sbom, facts) {
            let mut document =
                serde_json::to_string_pretty(&strata_inspect::cyclonedx(facts)).unwrap_or_default();
            document.push('\n');
            files.push(SiteFile {
                path: sbom.clone(),
                contents: document.into_bytes(),
            });
        }
        if let Some(signature) = &image.signature {
            if let (Some(path), Some(provenance)) =
                (&signature.provenance_file, &signature.provenance)
            {
                let mut document = serde_json::to_string_pretty(provenance).unwrap_or_default();
                document.push('\n');
                files.push(SiteFile {
                    path: path.clone(),
                    contents: document.into_bytes(),
                });
            }
        }
        if let Some((choice, data)) = comparison_data(image, *facts, history) {
            choices.push(choice);
            files.push(data);
        }
    }
    let compare = environment.get_template("compare.html")?.render(context! {
        title,
        choices => Value::from(Serde(&choices)),
    })?;
    files.push(SiteFile {
        path: "compare.html".to_string(),
        contents: compare.into_bytes(),
    });
    files.push(SiteFile {
        path: "compare.js".to_string(),
        contents: include_bytes!("../site/compare.js").to_vec(),
    });
    files.push(SiteFile {
        path: "search-index.js".to_string(),
        contents: search_index(catalog).into_bytes(),
    });
    files.push(SiteFile {
        path: "versions.js".to_string(),
        contents: include_bytes!("../site/versions.js").to_vec(),
    });
    files.push(SiteFile {
        path: "search.js".to_string(),
        contents: include_bytes!("../site/search.js").to_vec(),
    });
    files.push(SiteFile {
        path: "style.css".to_string(),
        contents: include_bytes!("../site/style.css").to_vec(),
    });
    Ok(files)
}

/// An image's row on the front page.
#[derive(Serialize)]
struct Summary<'a> {
    name: &'a str,
    anchor: String,
    html: &'a str,
    description: Option<&'a str>,
    /// Where its tags are (`registry/namespace/name`), said once.
    repository: &'a str,
    /// The tags alone (`1.0`, `1.0-3-abc1234`).
    tags: Vec<&'a str>,
    published: bool,
    size: String,
    python: &'a str,
    os: &'a str,
    created: String,
    revision: Option<String>,
    /// Its known vulnerabilities (`--audit-db`): how many, and the worst severity.
    vulnerabilities: Option<usize>,
    worst: Option<&'a str>,
}

impl<'a> Summary<'a> {
    fn of(image: &'a CatalogImage) -> Self {
        Self {
            name: &image.name,
            anchor: crate::file_stem(&image.name),
            html: &image.html,
            description: image.description.as_deref(),
            repository: image.tags.first().map_or("", |tag| split_tag(tag).0),
            tags: image
                .tags
                .iter()
                .chain(&image.also_tagged)
                .map(|tag| split_tag(tag).1)
                .collect(),
            published: image.published,
            size: image.size.map(human_size).unwrap_or_default(),
            python: image.python.as_deref().unwrap_or(""),
            os: image.os.as_deref().unwrap_or(""),
            created: image.created.as_deref().map(day).unwrap_or_default(),
            revision: image
                .revision
                .as_deref()
                .map(|revision| revision.chars().take(12).collect()),
            vulnerabilities: image.vulnerabilities.as_ref().map(Vec::len),
            // Findings come most severe first.
            worst: image
                .vulnerabilities
                .as_ref()
                .and_then(|found| found.first())
                .map(|finding| finding.severity.as_str()),
        }
    }
}

/// An image's page.
#[derive(Serialize)]
struct ImageView<'a> {
    name: &'a str,
    description: Option<&'a str>,
    parent: Option<Link>,
    base: Option<&'a str>,
    base_digest: Option<&'a str>,
    children: Vec<Link>,
    tags: &'a [String],
    also_tagged: &'a [String],
    published: bool,
    reference: Option<&'a str>,
    digest: Option<&'a str>,
    platform: String,
    os: &'a str,
    python: &'a str,
    size: String,
    compressed: Option<String>,
    created: String,
    revision: Option<&'a str>,
    markdown: String,
    layers: Vec<LayerView>,
    package_count: usize,
    groups: Vec<Group<'a>>,
    history: Vec<ReleaseView>,
    tests: &'a [crate::ImageTestSummary],
    lint: &'a [crate::LintFinding],
    sbom: Option<String>,
    signature: Option<&'a crate::SignatureSummary>,
    platforms: &'a [crate::PlatformDigest],
    vulnerabilities: Option<&'a [crate::Vulnerability]>,
}

/// A build in an image's release history, with what changed since the build before it.
#[derive(Serialize)]
struct ReleaseView {
    tags: Vec<String>,
    created: String,
    revision: Option<String>,
    digest: Option<String>,
    /// `None` for the oldest build shown.
    changes: Option<Vec<ChangeView>>,
    base_moved: bool,
    /// The comparison page, this build against the one before it.
    compare: Option<String>,
}

#[derive(Serialize)]
struct ChangeView {
    /// `changed`, `added` or `removed`.
    kind: &'static str,
    text: String,
}

/// A link from one image page to another (both under `images/`).
#[derive(Serialize)]
struct Link {
    name: String,
    html: String,
}

#[derive(Serialize)]
struct LayerView {
    digest: String,
    size: String,
    compressed: Option<String>,
    step: Option<String>,
}

/// The packages of one ecosystem.
#[derive(Serialize)]
struct Group<'a> {
    ecosystem: &'a str,
    label: &'static str,
    count: usize,
    packages: Vec<&'a strata_inspect::Package>,
}

impl<'a> ImageView<'a> {
    fn of(image: &'a CatalogImage, facts: Option<&ImageFacts>, catalog: &'a Catalog) -> Self {
        let sibling = |name: &str| Link {
            name: name.to_string(),
            html: sibling_page(name),
        };
        let mut groups: Vec<Group<'a>> = Vec::new();
        for package in &image.packages {
            // The OS and the interpreter are facts of the page, not packages.
            if matches!(package.ecosystem.as_str(), "os" | "python") {
                continue;
            }
            match groups.last_mut() {
                Some(group) if group.ecosystem == package.ecosystem => {
                    group.count += 1;
                    group.packages.push(package);
                }
                _ => groups.push(Group {
                    ecosystem: &package.ecosystem,
                    label: ecosystem_label(&package.ecosystem),
                    count: 1,
                    packages: vec![package],
                }),
            }
        }
        Self {
            name: &image.name,
            description: image.description.as_deref(),
            parent: image.parent.as_deref().map(sibling),
            base: image.base.as_deref(),
            base_digest: image.base_digest.as_deref(),
            children: catalog
                .images
                .iter()
                .filter(|other| other.parent.as_deref() == Some(image.name.as_str()))
                .map(|child| sibling(&child.name))
                .collect(),
            tags: &image.tags,
            also_tagged: &image.also_tagged,
            published: image.published,
            reference: image.reference.as_deref(),
            digest: image.digest.as_deref(),
            platform: format!(
                "{}/{}",
                facts
                    .and_then(|facts| facts.image.os.as_deref())
                    .unwrap_or("linux"),
                image.architecture.as_deref().unwrap_or("unknown")
            ),
            os: image.os.as_deref().unwrap_or(""),
            python: image.python.as_deref().unwrap_or("none"),
            size: image.size.map(human_size).unwrap_or_default(),
            compressed: image.compressed_size.map(human_size),
            created: image.created.clone().unwrap_or_default(),
            revision: image.revision.as_deref(),
            markdown: image.page.trim_start_matches("images/").to_string(),
            layers: facts
                .map(|facts| {
                    facts
                        .image
                        .layers
                        .iter()
                        .map(|layer| LayerView {
                            digest: layer.diff_id.chars().take(19).collect(),
                            size: human_size(layer.size),
                            compressed: layer.compressed_size.map(human_size),
                            step: layer.step.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            package_count: groups.iter().map(|group| group.count).sum(),
            groups,
            history: release_views(image),
            tests: &image.tests,
            lint: &image.lint,
            sbom: image.sbom.as_ref().map(|sbom| format!("../{sbom}")),
            signature: image.signature.as_ref(),
            platforms: &image.platforms,
            vulnerabilities: image.vulnerabilities.as_deref(),
        }
    }
}

/// The release history of an image as its page shows it.
fn release_views(image: &CatalogImage) -> Vec<ReleaseView> {
    image
        .history
        .iter()
        .enumerate()
        .map(|(position, release)| {
            let older = image.history.get(position + 1);
            ReleaseView {
                tags: release.tags.clone(),
                created: release
                    .created
                    .as_deref()
                    .map(|created| {
                        created
                            .chars()
                            .take(16)
                            .collect::<String>()
                            .replace('T', " ")
                    })
                    .unwrap_or_default(),
                revision: release
                    .revision
                    .as_deref()
                    .map(|revision| revision.chars().take(12).collect()),
                digest: release
                    .digest
                    .as_deref()
                    .map(|digest| digest.chars().take(19).collect()),
                changes: release.changes.as_ref().map(|changes| {
                    changes
                        .iter()
                        .map(|change| {
                            let (kind, text) = match (&change.before, &change.after) {
                                (Some(before), Some(after)) => {
                                    ("changed", format!("{} {before} → {after}", change.name))
                                }
                                (None, Some(after)) => {
                                    ("added", format!("+ {} {after}", change.name))
                                }
                                (Some(before), None) => {
                                    ("removed", format!("− {} {before}", change.name))
                                }
                                (None, None) => ("changed", change.name.clone()),
                            };
                            ChangeView {
                                kind,
                                text: format!("{text} ({})", change.ecosystem),
                            }
                        })
                        .collect()
                }),
                base_moved: release.base_moved,
                compare: older.and_then(|older| {
                    let name = &image.name;
                    let query = url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("left", &format!("{name}@{}", older.tags.first()?))
                        .append_pair("right", &format!("{name}@{}", release.tags.first()?))
                        .finish();
                    Some(format!("../compare.html?{query}"))
                }),
            }
        })
        .collect()
}

/// Another image's page, from an image page (both under `images/`).
fn sibling_page(name: &str) -> String {
    format!("{}.html", crate::file_stem(name))
}

fn ecosystem_label(ecosystem: &str) -> &'static str {
    match ecosystem {
        "deb" => "Debian packages",
        "python-package" => "Python packages",
        "conda" => "conda packages",
        "r" => "R packages",
        _ => "other packages",
    }
}

/// An image on the comparison page: its name, its data script, and its builds' tags.
#[derive(Serialize)]
struct Choice {
    name: String,
    script: String,
    builds: Vec<String>,
}

/// The comparison page's entry for an image and its data script: the packages of each of its
/// builds (its history's, else the one read), as `window.STRATA_PACKAGES[name]`.
fn comparison_data(
    image: &CatalogImage,
    facts: Option<&ImageFacts>,
    history: &[PastBuild],
) -> Option<(Choice, SiteFile)> {
    #[derive(Serialize)]
    struct Build<'a> {
        tag: &'a str,
        /// `[ecosystem, location, name, version]`.
        packages: Vec<[String; 4]>,
    }
    let rows = |facts: &ImageFacts| {
        strata_inspect::package_list(facts)
            .into_iter()
            .map(|package| {
                [
                    package.ecosystem,
                    package.location,
                    package.name,
                    package.version,
                ]
            })
            .collect()
    };
    let builds: Vec<Build<'_>> = if history.is_empty() {
        let tag = image.tags.first().map_or("current", |tag| split_tag(tag).1);
        vec![Build {
            tag,
            packages: rows(facts?),
        }]
    } else {
        history
            .iter()
            .map(|build| Build {
                tag: &build.tags[0],
                packages: rows(&build.facts),
            })
            .collect()
    };
    let script = format!("data/{}.js", crate::file_stem(&image.name));
    let name = serde_json::to_string(&image.name).unwrap_or_default();
    let data = serde_json::to_string(&serde_json::json!({ "builds": builds }))
        .unwrap_or_default()
        .replace("</", "<\\/");
    let contents =
        format!("(window.STRATA_PACKAGES = window.STRATA_PACKAGES || {{}})[{name}] = {data};\n");
    Some((
        Choice {
            name: image.name.clone(),
            builds: builds.iter().map(|build| build.tag.to_string()).collect(),
            script: script.clone(),
        },
        SiteFile {
            path: script,
            contents: contents.into_bytes(),
        },
    ))
}

/// A reference's repository and tag: `registry:5000/a/b:1.0` is `registry:5000/a/b` and `1.0`.
fn split_tag(reference: &str) -> (&str, &str) {
    let name_start = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[name_start..].rfind(':') {
        Some(colon) => (
            &reference[..name_start + colon],
            &reference[name_start + colon + 1..],
        ),
        None => (reference, "latest"),
    }
}

/// `116.7 MB`, as `docker images` counts (powers of 1000).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    #[allow(clippy::cast_precision_loss)] // a size shown to a tenth
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The day of an RFC 3339 time.
fn day(created: &str) -> String {
    created.chars().take(10).collect()
}

/// The search index: each package name with the images that have it, their versions and
/// ecosystems, as a script that sets `window.STRATA_SEARCH`.
fn search_index(catalog: &Catalog) -> String {
    #[derive(Serialize)]
    struct IndexImage<'a> {
        name: &'a str,
        html: &'a str,
        /// The tags alone, without the repository.
        tags: Vec<&'a str>,
    }
    #[derive(Serialize)]
    struct Index<'a> {
        images: Vec<IndexImage<'a>>,
        /// name → [image index, version, ecosystem] for each image that has it.
        packages: BTreeMap<&'a str, Vec<(usize, &'a str, &'a str)>>,
    }
    let mut packages: BTreeMap<&str, Vec<(usize, &str, &str)>> = BTreeMap::new();
    for (position, image) in catalog.images.iter().enumerate() {
        for package in &image.packages {
            if matches!(package.ecosystem.as_str(), "os" | "python") {
                continue;
            }
            let images = packages.entry(&package.name).or_default();
            // One entry per image and version (a package in two environments of one image).
            if !images.contains(&(position, &package.version, &package.ecosystem)) {
                images.push((position, &package.version, &package.ecosystem));
            }
        }
    }
    let index = Index {
        images: catalog
            .images
            .iter()
            .map(|image| IndexImage {
                name: &image.name,
                html: &image.html,
                tags: image.tags.iter().map(|tag| split_tag(tag).1).collect(),
            })
            .collect(),
        packages,
    };
    // JSON inside a script: `</` would end it early.
    let json = serde_json::to_string(&index)
        .unwrap_or_else(|_| "{}".to_string())
        .replace("</", "<\\/");
    format!("window.STRATA_SEARCH = {json};\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_split_from_their_repository_not_at_a_port() {
        assert_eq!(
            split_tag("127.0.0.1:5555/a/b:1.0-1-abc"),
            ("127.0.0.1:5555/a/b", "1.0-1-abc")
        );
        assert_eq!(
            split_tag("127.0.0.1:5555/a/b"),
            ("127.0.0.1:5555/a/b", "latest")
        );
        assert_eq!(split_tag("b:2"), ("b", "2"));
    }

    #[test]
    fn text_from_images_is_escaped_in_pages_and_scripts() {
        let hostile = "<script>alert(1)</script> & \"quotes\"";
        let catalog = Catalog {
            schema_version: crate::CATALOG_SCHEMA_VERSION,
            generated_by: "strata test".to_string(),
            images: vec![CatalogImage {
                tags: vec!["registry:5000/base:1.0".to_string()],
                description: Some(hostile.to_string()),
                reference: Some("registry:5000/base:1.0".to_string()),
                size: Some(1),
                packages: vec![strata_inspect::Package {
                    ecosystem: "deb".to_string(),
                    location: String::new(),
                    name: "</script><b>".to_string(),
                    version: "1".to_string(),
                    license: Some("<i>MIT</i>".to_string()),
                }],
                ..crate::test_image("base", None)
            }],
        };
        let files = site(&catalog, &[None], &[&[]], "A <family>").unwrap();
        let text = |path: &str| {
            String::from_utf8(
                files
                    .iter()
                    .find(|file| file.path == path)
                    .unwrap()
                    .contents
                    .clone(),
            )
            .unwrap()
        };
        for page in ["index.html", "images/base.html"] {
            let html = text(page);
            assert!(!html.contains("<script>alert"), "{page}");
            // minijinja escapes `/` too (`&#x2f;`).
            assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{page}");
            assert!(html.contains("&gt; &amp; &quot;quotes&quot;"), "{page}");
            assert!(html.contains("A &lt;family&gt;"), "{page}");
        }
        assert!(text("images/base.html").contains("script&gt;&lt;b&gt;"));
        assert!(!text("images/base.html").contains("</script><b>"));
        assert!(text("images/base.html").contains("&lt;i&gt;MIT&lt;"));
        let index = text("search-index.js");
        assert!(!index.contains("</script>"), "{index}");
        assert!(index.contains(r"<\/script><b>"), "{index}");
    }

    #[test]
    fn sizes_read_as_docker_shows_them() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(116_668_569), "116.7 MB");
        assert_eq!(human_size(2_500_000_000), "2.5 GB");
    }
}
