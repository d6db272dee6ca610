//! The seeds' own Dockerfiles (`test/lint/seeds/`) give exactly the findings their text
//! predicts.

use std::path::{Path, PathBuf};

use strata_lint::{ImageContext, LintOptions, Linter};

fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/lint/seeds")
}

/// `(line, rule)` of every finding.
fn findings(relative: &str) -> Vec<(usize, &'static str)> {
    let path = seeds().join(relative);
    let text = fs_err::read_to_string(&path).unwrap();
    let context = ImageContext {
        context_directory: path.parent().map(Path::to_path_buf),
        ..ImageContext::default()
    };
    Linter::new(&LintOptions::default())
        .unwrap()
        .lint(Path::new(relative), &text, &context, &[])
        .unwrap()
        .into_iter()
        .map(|finding| (finding.line, finding.rule))
        .collect()
}

/// The findings every one of these single-file images shares, the seeds' image-level advice:
/// the Pawsey seed's practice 5 (`LANG`/`LC_ALL`) and the conda seed's digest pinning.
const LOCALE: (usize, &str) = (1, "APT006");

#[test]
fn pawsey_ubuntu_dockerfiles() {
    // Practice 7 (no default command: every ubuntu example leaves it to the base image) and
    // the issue's `--no-install-recommends`, on each.
    let common = |from: usize| vec![(from, "APT006"), (from, "GEN002"), (from, "BASE002")];
    // Dockerfile.1: no cleanup (practice 2).
    let mut expected = common(1);
    expected.extend([(3, "APT004"), (4, "APT003")]);
    assert_eq!(findings("pawsey/ubuntu/Dockerfile.1"), expected);
    // Dockerfile.2: the cleanup is in a second RUN and "it's still 379 MB": still APT004.
    assert_eq!(findings("pawsey/ubuntu/Dockerfile.2"), expected);
    // Dockerfile.3: cleaned in the same RUN, 350 MB: no APT004.
    let mut expected = common(1);
    expected.push((4, "APT003"));
    assert_eq!(findings("pawsey/ubuntu/Dockerfile.3"), expected);
    // Dockerfile.4: `FROM ubuntu:$OS_VERSION` expands to `ubuntu:18.04`: no `latest` finding.
    let mut expected = common(2);
    expected.push((5, "APT003"));
    assert_eq!(findings("pawsey/ubuntu/Dockerfile.4"), expected);
}

#[test]
fn pawsey_pip_dockerfiles() {
    let base = [LOCALE, (1, "BASE002")];
    // Dockerfile.1: the cache (228 MB) and the unversioned astropy.
    let mut expected = base.to_vec();
    expected.extend([(3, "PIP001"), (3, "PIP002")]);
    assert_eq!(findings("pawsey/pip/Dockerfile.1"), expected);
    // Dockerfile.2: `pip --no-cache-dir install` (206 MB); still unversioned.
    let mut expected = base.to_vec();
    expected.push((3, "PIP002"));
    assert_eq!(findings("pawsey/pip/Dockerfile.2"), expected);
    // Dockerfile.3: `astropy==$ASTRO_VERSION`; Dockerfile.4: a frozen requirements file with
    // `--no-deps`, which has no hashes, so it is not a lock: neither has a pip finding.
    assert_eq!(findings("pawsey/pip/Dockerfile.3"), base);
    assert_eq!(findings("pawsey/pip/Dockerfile.4"), base);
}

#[test]
fn pawsey_conda_dockerfiles() {
    let base = [LOCALE, (1, "GEN002"), (1, "BASE002")];
    // Dockerfile.1: no `conda clean` (1.6 GB); Dockerfile.2 cleans (1.37 GB).
    let mut expected = base.to_vec();
    expected.push((6, "CONDA004"));
    assert_eq!(findings("pawsey/conda/Dockerfile.1"), expected);
    for cleaned in ["Dockerfile.2", "Dockerfile.3", "Dockerfile.4"] {
        assert_eq!(
            findings(&format!("pawsey/conda/{cleaned}")),
            base,
            "{cleaned}"
        );
    }
}

#[test]
fn conda_seed_base_images_and_activation() {
    let image = [LOCALE, (1, "GEN002")];
    // `FROM jupyterhub/jupyterhub` "gets you a version"; `:1.0` is "slightly better"; the
    // digest is "even better".
    let mut expected = image.to_vec();
    expected.extend([(1, "BASE001"), (1, "BASE002")]);
    assert_eq!(findings("conda-in-docker/Dockerfile.untagged"), expected);
    let mut expected = image.to_vec();
    expected.push((1, "BASE002"));
    assert_eq!(findings("conda-in-docker/Dockerfile.tagged"), expected);
    assert_eq!(findings("conda-in-docker/Dockerfile.digest"), image);
    // "the environment variables set by `source activate myenv` don't persist between RUNs".
    let mut expected = image.to_vec();
    expected.extend([(3, "CONDA001"), (4, "CONDA001")]);
    assert_eq!(findings("conda-in-docker/Dockerfile.activate"), expected);
    // The seed's solution: `SHELL ["conda", "run", …]` and an activating ENTRYPOINT.
    assert_eq!(findings("conda-in-docker/Dockerfile.shell"), [LOCALE]);
}
