//! The recorded corpus of real Dockerfiles (`test/dockerfiles/`): every file is read (no
//! `GEN008`: BuildKit builds them all), and docker-stacks read as a repository has no
//! base-image finding about its own images.

use std::path::{Path, PathBuf};

use strata_lint::{repository_targets, ImageContext, LintOptions, Linter};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/dockerfiles")
}

fn files(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs_err::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, found);
        } else if path.file_name().is_some_and(|name| name != "README.md") {
            found.push(path);
        }
    }
}

#[test]
fn every_real_dockerfile_is_read() {
    let mut found = Vec::new();
    files(&corpus(), &mut found);
    assert!(found.len() >= 60, "{} files", found.len());
    let linter = Linter::new(&LintOptions::default()).unwrap();
    for path in found {
        let text = fs_err::read_to_string(&path).unwrap();
        let findings = linter
            .lint(&path, &text, &ImageContext::default(), &[])
            .unwrap();
        let unreadable: Vec<_> = findings
            .iter()
            .filter(|finding| finding.rule == "GEN008")
            .collect();
        assert!(unreadable.is_empty(), "{}: {unreadable:#?}", path.display());
    }
}

#[test]
fn docker_stacks_as_a_repository_exempts_its_own_images() {
    let repository = strata_repo::open(&corpus().join("docker-stacks")).unwrap();
    let linter = Linter::new(&LintOptions::default()).unwrap();
    let targets = repository_targets(&repository);
    assert!(targets.len() >= 14);
    for target in targets {
        let text = fs_err::read_to_string(&target.path).unwrap();
        let findings = linter
            .lint(&target.display, &text, &target.context, &target.ignore)
            .unwrap();
        let about_bases: Vec<_> = findings
            .iter()
            .filter(|finding| finding.rule == "BASE001")
            .collect();
        assert!(about_bases.is_empty(), "{about_bases:#?}");
        // The foundation's `apt-get upgrade` is a deliberate choice docker-stacks documents in
        // a comment; strata reports it all the same.
        if target
            .display
            .ends_with("docker-stacks-foundation/Dockerfile")
        {
            assert!(findings.iter().any(|finding| finding.rule == "APT001"));
        }
    }
}
