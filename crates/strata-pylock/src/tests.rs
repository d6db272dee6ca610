//! Resolution on recorded index responses: real PyPI pages (`test/pypi`) and synthetic indexes
//! for the edge cases — markers, extras, backtracking, yanked releases, pre-releases, wheel tags,
//! `Requires-Python`, constraints, preferences, base pins and conflicts.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use pep508_rs::PackageName;

use crate::candidates::Selection;
use crate::lockfile::{render, LockHeader};
use crate::requirements::RequirementsFile;
use crate::resolve::{resolve, Resolution, ResolveOptions};
use crate::simple::IndexFile;
use crate::source::RecordedSource;
use crate::target::Target;

fn selection() -> Selection {
    Selection {
        target: Target::new("3.11", "manylinux_2_28_x86_64").unwrap(),
        no_binary: std::collections::BTreeSet::new(),
        pre: false,
        exclude_newer: None,
    }
}

fn requirements(text: &str) -> RequirementsFile {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("requirements.txt");
    fs_err::write(&path, text).unwrap();
    RequirementsFile::read(&path).unwrap()
}

/// A synthetic index: `release(name, version, files)` and `metadata(name, version, lines)`.
#[derive(Default)]
struct Index {
    source: RecordedSource,
}

impl Index {
    /// A release with one `py3-none-any` wheel (or the given file names).
    fn release(mut self, name: &str, version: &str, requires: &[&str]) -> Self {
        self = self.file(
            name,
            &format!("{}-{version}-py3-none-any.whl", name.replace('-', "_")),
            None,
            false,
        );
        self.metadata(name, version, requires)
    }

    fn file(
        mut self,
        name: &str,
        filename: &str,
        requires_python: Option<&str>,
        yanked: bool,
    ) -> Self {
        let page = self
            .source
            .pages
            .entry(PackageName::new(name.to_string()).unwrap())
            .or_default();
        page.files.push(IndexFile {
            filename: filename.to_string(),
            url: format!("https://files.example/{filename}"),
            sha256: Some(format!("{:0>64}", page.files.len() + 1)),
            requires_python: requires_python.map(str::to_string),
            yanked,
            upload_time: Some(format!("2024-01-{:02}T00:00:00Z", page.files.len() + 1)),
            core_metadata: false,
        });
        self
    }

    fn metadata(mut self, name: &str, version: &str, requires: &[&str]) -> Self {
        let mut text = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        for requirement in requires {
            text.push_str("Requires-Dist: ");
            text.push_str(requirement);
            text.push('\n');
        }
        self.source.metadata.insert(
            format!("{}-{version}-py3-none-any.whl", name.replace('-', "_")),
            text.into_bytes(),
        );
        self
    }

    fn resolve(&self, text: &str) -> Result<Resolution, crate::error::LockError> {
        resolve(
            &self.source,
            &requirements(text),
            &selection(),
            &ResolveOptions::default(),
        )
    }
}

fn pins(resolution: &Resolution) -> Vec<String> {
    resolution
        .pins
        .iter()
        .map(|pin| format!("{}=={}", pin.name, pin.version))
        .collect()
}

#[test]
fn recorded_pypi_lock_of_requests() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/pypi");
    let source = RecordedSource::from_directory(&fixtures).unwrap();
    let resolution = resolve(
        &source,
        &requirements("requests\n"),
        &selection(),
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(
        resolution
            .pins
            .iter()
            .map(|pin| pin.name.to_string())
            .collect::<Vec<_>>(),
        [
            "certifi",
            "charset-normalizer",
            "idna",
            "requests",
            "urllib3"
        ]
    );
    let header = LockHeader {
        requirements: "requirements.txt".to_string(),
        python: "3.11".to_string(),
        platform: "manylinux_2_28_x86_64".to_string(),
        ..LockHeader::default()
    };
    let text = render(&header, &resolution);
    // Every file of each pinned release is hashed (charset-normalizer has a wheel per platform).
    let requests = resolution
        .pins
        .iter()
        .find(|pin| pin.name.as_ref() == "requests")
        .unwrap();
    assert_eq!(requests.via, ["-r requirements.txt"]);
    assert!(
        resolution
            .pins
            .iter()
            .find(|pin| pin.name.as_ref() == "charset-normalizer")
            .unwrap()
            .hashes
            .len()
            > 20
    );
    assert!(text.contains("    # via requests\n"));
    let first_lines: String = text.lines().skip(8).take(4).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(first_lines, @r"
    certifi==2026.10.18 \
        --hash=sha256:73191c47aaa79da394e8fee2dbc2ec827432cab56311122c9e47abf79e390f62 \
        --hash=sha256:b9995d97b64d0431a5af837d8ca8cd6238104d1f319f04bd93ea43124d6c861e
        # via requests
    ");
}

#[test]
fn markers_are_evaluated_for_the_target() {
    let index = Index::default()
        .release(
            "app",
            "1.0",
            &[
                "old-only ; python_version < \"3.10\"",
                "linux-only ; sys_platform == \"linux\"",
                "arm-only ; platform_machine == \"aarch64\"",
            ],
        )
        .release("old-only", "1.0", &[])
        .release("linux-only", "1.0", &[])
        .release("arm-only", "1.0", &[]);
    assert_eq!(
        pins(&index.resolve("app\n").unwrap()),
        ["app==1.0", "linux-only==1.0"]
    );
    assert_eq!(
        pins(&index.resolve("app ; python_version < \"3.0\"\n").unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn extras_pull_in_their_dependencies() {
    let index = Index::default()
        .release(
            "client",
            "2.0",
            &["socks-lib>=1 ; extra == \"socks\"", "base-lib"],
        )
        .release("socks-lib", "1.5", &[])
        .release("base-lib", "1.0", &[]);
    let resolution = index.resolve("client[socks]\n").unwrap();
    assert_eq!(
        pins(&resolution),
        ["base-lib==1.0", "client==2.0", "socks-lib==1.5"]
    );
    assert_eq!(
        resolution.pins[1].extras.iter().collect::<Vec<_>>(),
        ["socks"]
    );
    assert_eq!(
        pins(&index.resolve("client\n").unwrap()),
        ["base-lib==1.0", "client==2.0"]
    );
}

#[test]
fn backtracks_to_an_older_release() {
    let index = Index::default()
        .release("a", "2.0", &["c<2"])
        .release("a", "1.0", &["c"])
        .release("b", "1.0", &["c>=2"])
        .release("c", "1.0", &[])
        .release("c", "2.0", &[]);
    assert_eq!(
        pins(&index.resolve("a\nb\n").unwrap()),
        ["a==1.0", "b==1.0", "c==2.0"]
    );
}

#[test]
fn yanked_releases_are_skipped_unless_pinned_exactly() {
    let index = Index::default()
        .release("lib", "1.0", &[])
        .file("lib", "lib-2.0-py3-none-any.whl", None, true)
        .metadata("lib", "2.0", &[]);
    assert_eq!(pins(&index.resolve("lib\n").unwrap()), ["lib==1.0"]);
    assert_eq!(pins(&index.resolve("lib==2.0\n").unwrap()), ["lib==2.0"]);
}

#[test]
fn prereleases_only_when_asked_or_nothing_else() {
    let index = Index::default()
        .release("lib", "1.0", &[])
        .release("lib", "2.0b1", &[])
        .release("beta-only", "0.1a1", &[]);
    assert_eq!(pins(&index.resolve("lib\n").unwrap()), ["lib==1.0"]);
    assert_eq!(
        pins(&index.resolve("lib>=2.0b1\n").unwrap()),
        ["lib==2.0b1"]
    );
    assert_eq!(
        pins(&index.resolve("beta-only\n").unwrap()),
        ["beta-only==0.1a1"]
    );
    assert_eq!(
        pins(&index.resolve("--pre\nlib\n").unwrap()),
        ["lib==2.0b1"]
    );
}

#[test]
fn wheel_tags_and_requires_python_pick_older_releases() {
    let index = Index::default()
        .release("native", "1.0", &[])
        .file(
            "native",
            "native-2.0-cp312-cp312-manylinux_2_28_x86_64.whl",
            None,
            false,
        )
        .file(
            "native",
            "native-2.0-cp311-cp311-manylinux_2_34_x86_64.whl",
            None,
            false,
        )
        .release("modern", "1.0", &[])
        .file(
            "modern",
            "modern-2.0-py3-none-any.whl",
            Some(">=3.12"),
            false,
        );
    assert_eq!(
        pins(&index.resolve("native\nmodern\n").unwrap()),
        ["modern==1.0", "native==1.0"]
    );
}

#[test]
fn sdist_only_needs_no_binary() {
    let index = Index::default().file("legacy", "legacy-1.0.tar.gz", None, false);
    let error = index.resolve("legacy\n").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("legacy at version 1.0 are unavailable (it has only a source distribution, `legacy-1.0.tar.gz`; pass `--no-binary legacy` to allow it)"), "{message}");
}

#[test]
fn constraints_base_pins_and_preferences() {
    let index = Index::default()
        .release("lib", "1.0", &[])
        .release("lib", "2.0", &[])
        .release("lib", "3.0", &[])
        .release("app", "1.0", &["lib"]);
    assert_eq!(
        pins(&index.resolve("app\n").unwrap()),
        ["app==1.0", "lib==3.0"]
    );
    let directory = tempfile::tempdir().unwrap();
    fs_err::write(directory.path().join("c.txt"), "lib<3\n").unwrap();
    fs_err::write(directory.path().join("r.txt"), "-c c.txt\napp\n").unwrap();
    let file = RequirementsFile::read(&directory.path().join("r.txt")).unwrap();
    let resolution = resolve(
        &index.source,
        &file,
        &selection(),
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(pins(&resolution), ["app==1.0", "lib==2.0"]);
    assert_eq!(resolution.pins[1].via, ["-c c.txt", "app"]);

    let mut preferences = HashMap::new();
    preferences.insert(
        PackageName::new("lib".to_string()).unwrap(),
        "1.0".parse().unwrap(),
    );
    let preferred = resolve(
        &index.source,
        &requirements("app\n"),
        &selection(),
        &ResolveOptions {
            preferences,
            ..ResolveOptions::default()
        },
    )
    .unwrap();
    assert_eq!(pins(&preferred), ["app==1.0", "lib==1.0"]);

    let mut fixed = BTreeMap::new();
    fixed.insert(
        PackageName::new("lib".to_string()).unwrap(),
        "2.0".parse().unwrap(),
    );
    let on_base = resolve(
        &index.source,
        &requirements("app\n"),
        &selection(),
        &ResolveOptions {
            fixed,
            ..ResolveOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        pins(&on_base),
        ["app==1.0"],
        "the base image's lib is kept and not locked again"
    );
    assert_eq!(on_base.fixed.values().next().unwrap().to_string(), "2.0");
}

#[test]
fn a_requirement_the_base_image_cannot_meet_names_the_conflict_and_its_directory() {
    let index = Index::default()
        .release("attrs", "23.2.0", &[])
        .release("attrs", "24.2.0", &[])
        .release("app", "1.0", &["attrs>=24"]);
    let attrs = PackageName::new("attrs".to_string()).unwrap();
    let options = ResolveOptions {
        fixed: BTreeMap::from([(attrs.clone(), "23.2.0".parse().unwrap())]),
        fixed_sources: BTreeMap::from([(
            attrs,
            "/usr/local/lib/python3.11/dist-packages".to_string(),
        )]),
        ..ResolveOptions::default()
    };
    let run = |text: &str| {
        resolve(&index.source, &requirements(text), &selection(), &options)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        run("attrs>=24\n"),
        "`attrs>=24` needs a newer attrs than the 23.2.0 the base image has in /usr/local/lib/python3.11/dist-packages"
    );
    assert!(run("attrs<23\n").contains("needs an older attrs than the 23.2.0"));
    assert!(run("attrs!=23.2.0\n").contains("needs another attrs than the 23.2.0"));
    // Through a dependency: the resolver's derivation, and the base's copy named after it.
    let transitive = run("app\n");
    assert!(transitive.starts_with("no solution"), "{transitive}");
    assert!(
        transitive.ends_with("attrs 23.2.0 is installed in the base image in /usr/local/lib/python3.11/dist-packages; a lock on top of it cannot replace it."),
        "{transitive}"
    );
    // A requirement the base's copy meets resolves, the copy kept out of the lock.
    let kept = resolve(
        &index.source,
        &requirements("attrs>=23\n"),
        &selection(),
        &options,
    )
    .unwrap();
    assert!(kept.pins.is_empty());
}

#[test]
fn exclude_newer_drops_later_uploads() {
    let index = Index::default()
        .release("lib", "1.0", &[])
        .release("lib", "2.0", &[]);
    let mut selection = selection();
    selection.exclude_newer = Some("2024-01-01T12:00:00Z".to_string());
    let resolution = resolve(
        &index.source,
        &requirements("lib\n"),
        &selection,
        &ResolveOptions::default(),
    )
    .unwrap();
    assert_eq!(pins(&resolution), ["lib==1.0"]);
}

#[test]
fn no_solution_explains_the_conflict() {
    let index = Index::default()
        .release("a", "1.0", &["shared<2"])
        .release("b", "1.0", &["shared>=2"])
        .release("shared", "1.0", &[])
        .release("shared", "2.0", &[]);
    let error = index.resolve("a\nb\n").unwrap_err();
    insta::assert_snapshot!(error.to_string(), @"
    no solution for the requirements on Python 3.11 on manylinux_2_28_x86_64:
    Because a depends on shared <2 and b 1.0 depends on shared >=2, b 1.0, a (any version) are incompatible.
    And because you require a and you require b, your requirements cannot all be met.
    ");
}

#[test]
fn unknown_package_is_a_conflict_naming_it() {
    let error = Index::default().resolve("does-not-exist\n").unwrap_err();
    assert!(error.to_string().contains("does-not-exist"), "{error}");
}

proptest::proptest! {
    /// Any line a user might write gives a requirement or an error naming the line, never a panic.
    #[test]
    fn requirements_lines_never_panic(line in "[ -~]{0,120}|[a-z]{1,4}[.]?\\[[a-z., ]{0,8}\\][ -~]{0,20}") {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("requirements.txt");
        fs_err::write(&path, format!("{line}\n")).unwrap();
        if let Err(crate::error::LockError::Requirement { line, .. }) = RequirementsFile::read(&path) {
            proptest::prop_assert_eq!(line, 1);
        }
    }

    /// Lock files read back what was rendered.
    #[test]
    fn lock_files_round_trip(versions in proptest::collection::btree_map("[a-z][a-z0-9]{0,8}", (0u32..50, 0u32..50), 1..8)) {
        let pins = versions.iter().map(|(name, (major, minor))| crate::resolve::Pin {
            name: PackageName::new(name.clone()).unwrap(),
            version: format!("{major}.{minor}").parse().unwrap(),
            extras: std::collections::BTreeSet::new(),
            hashes: vec![format!("sha256:{:064x}", major * 100 + minor)],
            via: vec!["-r requirements.txt".to_string()],
            url: None,
        }).collect();
        let header = LockHeader { requirements: "requirements.txt".to_string(), python: "3.11".to_string(), platform: "manylinux_2_28_x86_64".to_string(), ..LockHeader::default() };
        let text = render(&header, &Resolution { pins, fixed: BTreeMap::new() });
        let parsed = crate::lockfile::parse(Path::new("requirements.lock"), &text).unwrap();
        proptest::prop_assert_eq!(parsed.pins.len(), versions.len());
        for (pin, (name, (major, minor))) in parsed.pins.iter().zip(&versions) {
            proptest::prop_assert_eq!(&pin.name, name);
            proptest::prop_assert_eq!(&pin.version, &format!("{major}.{minor}"));
        }
    }
}
