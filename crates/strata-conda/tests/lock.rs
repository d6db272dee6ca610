//! Locking environment files against a real local channel served on loopback: conda-forge's
//! corner cases (python with pip, `noarch: python`, activation scripts, `__glibc`, build
//! numbers, channel priority, an unsatisfiable set), pins kept on a re-lock, `--check`,
//! `--exclude-newer` and `--offline`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use strata_diagnostic::Diagnostic as _;

use sha2::{Digest, Sha256};
use strata_conda::{
    check, lock, lock_environment, read_lock, BaseOrigin, CondaError, CondaLockSettings,
    CondaOutcome, CondaTarget, InstalledPackage, RepodataClient, Upgrade,
};
use strata_test::{CondaChannel, CondaPackage};

fn forge() -> Vec<CondaPackage> {
    vec![
        CondaPackage::new("python", "3.11.6", "linux-64")
            .build("hab00c5b_0_cpython", 0)
            .depends(&["__glibc >=2.17", "libzlib >=1.2"]),
        CondaPackage::new("python", "3.12.1", "linux-64")
            .build("hab00c5b_0_cpython", 0)
            .depends(&["__glibc >=2.17", "libzlib >=1.2"]),
        CondaPackage::new("libzlib", "1.3.1", "linux-64").build("hd590300_0", 0),
        CondaPackage::new("libzlib", "1.3.1", "linux-64").build("hd590300_1", 1),
        CondaPackage::new("pip", "24.0", "noarch")
            .noarch_python()
            .build("pyhd8ed1ab_0", 0)
            .depends(&["python >=3.7"]),
        CondaPackage::new("numpy", "1.26.4", "linux-64")
            .build("py311h64a7726_0", 0)
            .depends(&["python >=3.11,<3.12.0a0"]),
        CondaPackage::new("proj", "9.3.1", "linux-64")
            .build("h1d62c97_0", 0)
            .depends(&["__glibc >=2.17"])
            .file(
                "etc/conda/activate.d/proj_activate.sh",
                "export PROJ_DATA=\"${CONDA_PREFIX}/share/proj\"\nexport PROJ_NETWORK=ON\n",
            ),
        CondaPackage::new("newlibc-tool", "1.0", "linux-64")
            .build("h0_0", 0)
            .depends(&["__glibc >=2.34"]),
    ]
}

struct Setup {
    _directory: tempfile::TempDir,
    environment: PathBuf,
    cache: PathBuf,
}

fn setup(channels: &[&CondaChannel], dependencies: &[&str]) -> Setup {
    let directory = tempfile::tempdir().unwrap();
    let environment = directory.path().join("environment.yml");
    let mut text = String::from("name: science\nchannels:\n");
    for channel in channels {
        let _ = writeln!(text, "  - {}", channel.url());
    }
    text.push_str("dependencies:\n");
    for dependency in dependencies {
        let _ = writeln!(text, "  - {dependency}");
    }
    fs_err::write(&environment, text).unwrap();
    let cache = directory.path().join("cache");
    Setup {
        _directory: directory,
        environment,
        cache,
    }
}

fn settings(setup: &Setup, glibc: &str) -> CondaLockSettings {
    CondaLockSettings {
        environment: setup.environment.clone(),
        output: setup.environment.with_extension("lock"),
        target: CondaTarget::new("linux-64", Some(glibc), None).unwrap(),
        exclude_newer: None,
        upgrade: Upgrade::Nothing,
        base: None,
        regenerate: None,
    }
}

/// The runtime the tests' clients share (strata's session keeps one per process).
fn runtime() -> tokio::runtime::Handle {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| tokio::runtime::Runtime::new().unwrap())
        .handle()
        .clone()
}

fn client(setup: &Setup, offline: bool) -> RepodataClient {
    RepodataClient::new(setup.cache.clone(), offline, runtime()).unwrap()
}

/// The lock's packages as `name-version-build`.
fn labels(path: &Path) -> Vec<String> {
    let mut labels: Vec<String> = read_lock(path)
        .unwrap()
        .packages
        .iter()
        .map(strata_conda::CondaLock::package_label)
        .collect();
    labels.sort();
    labels
}

#[test]
fn an_environment_locks_to_urls_whose_sha256_are_the_channels_files() {
    let channel = CondaChannel::serve(&forge());
    let setup = setup(&[&channel], &["python 3.11.*", "pip", "proj"]);
    let settings = settings(&setup, "2.28");
    let outcome = lock(&settings, &client(&setup, false)).unwrap();
    assert!(
        matches!(outcome, CondaOutcome::Written { packages: 4, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        labels(&settings.output),
        [
            "libzlib-1.3.1-hd590300_1",
            "pip-24.0-pyhd8ed1ab_0",
            "proj-9.3.1-h1d62c97_0",
            "python-3.11.6-hab00c5b_0_cpython",
        ]
    );
    let text = fs_err::read_to_string(&settings.output).unwrap();
    assert!(
        text.contains("# strata-target: platform=linux-64") && text.contains("@EXPLICIT\n"),
        "{text}"
    );
    // Dependencies come before what needs them, as installers want.
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("http"))
        .collect();
    let position = |name: &str| lines.iter().position(|line| line.contains(name)).unwrap();
    assert!(
        position("/libzlib-") < position("/python-") && position("/python-") < position("/pip-")
    );
    for url in read_lock(&settings.output).unwrap().packages {
        let (_, hash) = url.fragment().unwrap().split_once("sha256:").unwrap();
        let path = url.path().trim_start_matches('/');
        let bytes = fs_err::read(channel.path().join(path)).unwrap();
        assert_eq!(format!("{:x}", Sha256::digest(&bytes)), hash, "{url}");
    }
}

#[test]
fn glibc_of_the_target_decides_what_can_be_installed() {
    let channel = CondaChannel::serve(&forge());
    let setup = setup(&[&channel], &["newlibc-tool"]);
    let error = lock(&settings(&setup, "2.28"), &client(&setup, false)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, CondaError::Unsolvable { .. }), "{message}");
    assert!(
        message.contains("__glibc") && message.contains("newlibc-tool"),
        "{message}"
    );
    assert!(message.contains("linux-64 (__glibc 2.28)"), "{message}");
    lock(&settings(&setup, "2.35"), &client(&setup, false)).unwrap();
}

#[test]
fn an_unsatisfiable_set_names_the_conflict() {
    let channel = CondaChannel::serve(&forge());
    let setup = setup(&[&channel], &["python 3.12.*", "numpy"]);
    let error = lock(&settings(&setup, "2.28"), &client(&setup, false)).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("numpy") && message.contains("python"),
        "{message}"
    );
    assert!(error.hint().is_some());
    assert!(
        !setup.environment.with_extension("lock").exists(),
        "nothing written"
    );
}

#[test]
fn a_relock_keeps_pins_check_sees_drift_and_upgrade_moves_them() {
    let channel = CondaChannel::serve(&forge());
    let setup = setup(&[&channel], &["python", "pip"]);
    let mut settings = settings(&setup, "2.28");
    std::fs::write(
        &setup.environment,
        fs_err::read_to_string(&setup.environment)
            .unwrap()
            .replace("  - python\n", "  - python 3.11.*\n"),
    )
    .unwrap();
    lock(&settings, &client(&setup, false)).unwrap();
    assert!(labels(&settings.output).contains(&"python-3.11.6-hab00c5b_0_cpython".to_string()));
    // The spec widens: the pin stays, and the lock is up to date.
    std::fs::write(
        &setup.environment,
        fs_err::read_to_string(&setup.environment)
            .unwrap()
            .replace("python 3.11.*", "python"),
    )
    .unwrap();
    lock(&settings, &client(&setup, false)).unwrap();
    assert!(labels(&settings.output).contains(&"python-3.11.6-hab00c5b_0_cpython".to_string()));
    assert_eq!(
        check(&settings, &client(&setup, false)).unwrap(),
        CondaOutcome::UpToDate
    );
    // `--upgrade-package python` moves it, and says so.
    settings.upgrade = Upgrade::Packages(["python".to_string()].into());
    let CondaOutcome::Written { changes, .. } = lock(&settings, &client(&setup, false)).unwrap()
    else {
        panic!("written")
    };
    assert!(
        changes
            .iter()
            .any(|change| change.starts_with("python 3.11.6") && change.contains("3.12.1")),
        "{changes:?}"
    );
    // A lock edited by hand drifts from what the environment gives.
    settings.upgrade = Upgrade::Nothing;
    let text = fs_err::read_to_string(&settings.output).unwrap();
    let edited: String = text
        .lines()
        .filter(|line| !line.contains("/pip-"))
        .flat_map(|line| [line, "\n"])
        .collect();
    fs_err::write(&settings.output, edited).unwrap();
    let CondaOutcome::Drifted(drift) = check(&settings, &client(&setup, false)).unwrap() else {
        panic!("drifted")
    };
    assert_eq!(drift, ["+ pip 24.0 (pyhd8ed1ab_0)"]);
}

#[test]
fn build_numbers_channel_priority_and_exclude_newer_choose_the_record() {
    let main = CondaChannel::serve(&forge());
    let extra = CondaChannel::serve(&[
        CondaPackage::new("libzlib", "1.3.2", "linux-64").build("h_extra_0", 0),
        CondaPackage::new("astro-tool", "2.0", "linux-64")
            .build("h0_0", 0)
            .timestamp(1_800_000_000),
        CondaPackage::new("astro-tool", "1.0", "linux-64")
            .build("h0_0", 0)
            .timestamp(1_600_000_000),
    ]);
    // Strict priority: libzlib comes from the first channel that has it, whatever the version.
    let setup = setup(&[&main, &extra], &["libzlib", "astro-tool"]);
    let mut settings = settings(&setup, "2.28");
    lock(&settings, &client(&setup, false)).unwrap();
    assert_eq!(
        labels(&settings.output),
        ["astro-tool-2.0-h0_0", "libzlib-1.3.1-hd590300_1"]
    );
    // Uploads after the date do not exist for the solve.
    settings.exclude_newer = Some("2024-05-01".to_string());
    settings.upgrade = Upgrade::All;
    lock(&settings, &client(&setup, false)).unwrap();
    assert!(labels(&settings.output).contains(&"astro-tool-1.0-h0_0".to_string()));
    assert!(fs_err::read_to_string(&settings.output)
        .unwrap()
        .contains("# strata-exclude-newer: 2024-05-01\n"));
}

#[test]
fn offline_uses_the_cache_and_says_what_it_lacks() {
    let channel = CondaChannel::serve(&forge());
    let setup = setup(&[&channel], &["python 3.11.*"]);
    let settings = settings(&setup, "2.28");
    let error = lock(&settings, &client(&setup, true)).unwrap_err();
    assert!(matches!(error, CondaError::Offline { .. }), "{error}");
    lock(&settings, &client(&setup, false)).unwrap();
    let served = channel.requests();
    let offline = client(&setup, true);
    lock(&settings, &offline).unwrap();
    assert_eq!(channel.requests(), served, "no request offline");
    assert!(
        offline
            .stats
            .from_cache
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

#[test]
fn bad_environment_files_are_named_with_their_line() {
    let channel = CondaChannel::serve(&forge());
    let setup = setup(&[&channel], &["python"]);
    fs_err::write(
        &setup.environment,
        "channels:\n  - x\ndependencies: [python\n",
    )
    .unwrap();
    let message = lock(&settings(&setup, "2.28"), &client(&setup, false))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("environment.yml") && message.contains("line"),
        "{message}"
    );
    fs_err::write(&setup.environment, "dependencies:\n  - python\n").unwrap();
    let message = lock(&settings(&setup, "2.28"), &client(&setup, false))
        .unwrap_err()
        .to_string();
    assert!(message.contains("names no channel"), "{message}");
    assert!(CondaTarget::new("linux-65", None, None).is_err());
}

/// A package as an image's `conda-meta` record gives it, from the channel's repodata.
fn installed(channel: &CondaChannel, subdir: &str, file: &str) -> InstalledPackage {
    let repodata: serde_json::Value = serde_json::from_slice(
        &fs_err::read(channel.path().join(subdir).join("repodata.json")).unwrap(),
    )
    .unwrap();
    let record = &repodata["packages"][file];
    let text = |key: &str| record[key].as_str().map(str::to_string);
    InstalledPackage {
        name: text("name").unwrap(),
        version: text("version").unwrap(),
        build: text("build").unwrap(),
        build_number: record["build_number"].as_u64().unwrap(),
        subdir: text("subdir"),
        url: Some(format!("{}{subdir}/{file}", channel.url())),
        sha256: text("sha256"),
        md5: text("md5"),
        depends: record["depends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|spec| spec.as_str().unwrap().to_string())
            .collect(),
    }
}

/// `--base`: the parent image's packages stay exactly as installed and are left out of the
/// lock; a spec that needs one of them changed is a conflict, not an upgrade. The solve also
/// reports the Python it chose and conda's Python distributions (for the `pip:` section).
#[test]
fn a_base_images_packages_stay_fixed_and_out_of_the_lock() {
    let channel = CondaChannel::serve(&forge());
    let base = vec![
        installed(
            &channel,
            "linux-64",
            "python-3.11.6-hab00c5b_0_cpython.tar.bz2",
        ),
        installed(&channel, "linux-64", "libzlib-1.3.1-hd590300_0.tar.bz2"),
    ];
    let setup = setup(&[&channel], &["numpy", "pip"]);
    let mut settings = settings(&setup, "2.28");
    settings.base = Some((
        BaseOrigin::Image("registry.example/base:1".to_string()),
        base,
    ));
    let locked = lock_environment(&settings, &client(&setup, false)).unwrap();
    assert!(matches!(
        locked.outcome,
        CondaOutcome::Written { packages: 2, .. }
    ));
    assert_eq!(
        labels(&settings.output),
        ["numpy-1.26.4-py311h64a7726_0", "pip-24.0-pyhd8ed1ab_0"]
    );
    let python = locked.python.unwrap();
    assert_eq!(python.version, "3.11.6");
    assert_eq!(
        python.distributions.into_iter().collect::<Vec<_>>(),
        [
            ("numpy".to_string(), "1.26.4".to_string()),
            ("pip".to_string(), "24.0".to_string())
        ]
    );
    let text = fs_err::read_to_string(&settings.output).unwrap();
    assert!(
        text.contains("# strata-base-image: registry.example/base:1\n"),
        "{text}"
    );
    assert!(text.contains("--base registry.example/base:1"), "{text}");
    assert!(text.contains("conda install --file"), "{text}");
    assert_eq!(
        read_lock(&settings.output).unwrap().header.base.as_deref(),
        Some("registry.example/base:1")
    );
    // Without the base, libzlib's newer build and python would be in the lock.
    settings.base = None;
    lock(&settings, &client(&setup, false)).unwrap();
    assert!(labels(&settings.output).contains(&"libzlib-1.3.1-hd590300_1".to_string()));

    // python 3.12 cannot be had on a base that holds 3.11.
    let setup = setup_conflict(&channel);
    let mut settings = self::settings(&setup, "2.28");
    settings.base = Some((
        BaseOrigin::Image("registry.example/base:1".to_string()),
        vec![installed(
            &channel,
            "linux-64",
            "python-3.11.6-hab00c5b_0_cpython.tar.bz2",
        )],
    ));
    let error = lock(&settings, &client(&setup, false)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, CondaError::Unsolvable { .. }), "{message}");
    assert!(message.contains("python"), "{message}");
    assert!(!settings.output.exists());
}

fn setup_conflict(channel: &CondaChannel) -> Setup {
    setup(&[channel], &["python 3.12.*"])
}

/// Records under `packages.conda` (the `.conda` format conda-forge publishes) lock to their
/// `.conda` URLs, and a `file://` channel needs no server.
#[test]
fn conda_format_records_from_a_file_channel() {
    let directory = tempfile::tempdir().unwrap();
    let channel = directory.path().join("channel");
    let record = |name: &str, depends: &[&str]| {
        serde_json::json!({
            "name": name, "version": "1.0", "build": "h0_0", "build_number": 0,
            "depends": depends, "subdir": "linux-64",
            "sha256": format!("{:x}", Sha256::digest(name.as_bytes())), "size": 10,
        })
    };
    fs_err::create_dir_all(channel.join("linux-64")).unwrap();
    fs_err::write(
        channel.join("linux-64/repodata.json"),
        serde_json::to_vec(&serde_json::json!({
            "info": {"subdir": "linux-64"},
            "packages": {},
            "packages.conda": {
                "libgdal-core-1.0-h0_0.conda": record("libgdal-core", &["ca-certificates"]),
                "ca-certificates-1.0-h0_0.conda": record("ca-certificates", &[]),
                "unrelated-1.0-h0_0.conda": record("unrelated", &["missing-dependency"]),
            },
        }))
        .unwrap(),
    )
    .unwrap();
    let environment = directory.path().join("environment.yml");
    fs_err::write(
        &environment,
        format!(
            "channels:\n  - file://{}\ndependencies:\n  - libgdal-core\n",
            channel.display()
        ),
    )
    .unwrap();
    let settings = CondaLockSettings {
        environment: environment.clone(),
        output: environment.with_extension("lock"),
        target: CondaTarget::new("linux-64", None, None).unwrap(),
        exclude_newer: None,
        upgrade: Upgrade::Nothing,
        base: None,
        regenerate: None,
    };
    let client = RepodataClient::new(directory.path().join("cache"), false, runtime()).unwrap();
    lock(&settings, &client).unwrap();
    let lock = read_lock(&settings.output).unwrap();
    let urls: Vec<String> = lock.packages.iter().map(ToString::to_string).collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(urls[0].contains("/linux-64/ca-certificates-1.0-h0_0.conda#sha256:"));
    assert!(urls[1].contains("/linux-64/libgdal-core-1.0-h0_0.conda#sha256:"));
    assert_eq!(
        strata_conda::CondaLock::package_label(&lock.packages[1]),
        "libgdal-core-1.0-h0_0"
    );
}
