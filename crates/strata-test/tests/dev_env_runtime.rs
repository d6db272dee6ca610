//! `scripts/dev-env.sh`'s choice of Podman's OCI runtime on each cgroup layout these machines
//! come with: crun where it starts containers, runc where crun refuses (hybrid cgroups), a clear
//! error when neither works. The `podman` on the `PATH` is a stand-in that behaves as Podman
//! does with each runtime on the layout under test; the script itself is the real one.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A stand-in for `podman --runtime R run …`: succeeds for the runtimes in `FAKE_WORKING`,
/// says "not found" for those in `FAKE_MISSING`, and refuses the others the way crun refuses
/// hybrid cgroups. Each call is logged, so the tests can see the order of the probes.
const FAKE_PODMAN: &str = r#"#!/bin/sh
runtime=crun
while [ $# -gt 0 ]; do
  case $1 in --runtime) runtime=$2; shift 2 ;; *) shift ;; esac
done
echo "$runtime" >>"$FAKE_LOG"
case " $FAKE_WORKING " in *" $runtime "*) exit 0 ;; esac
case " $FAKE_MISSING " in
  *" $runtime "*) echo "Error: default OCI runtime \"$runtime\" not found: invalid argument" >&2; exit 125 ;;
esac
echo "Error: OCI runtime error: $runtime: cgroups in hybrid mode not supported, drop all controllers from cgroupv2" >&2
exit 126
"#;

struct Outcome {
    success: bool,
    stdout: String,
    stderr: String,
    probes: Vec<String>,
}

enum Layout {
    V1,
    Hybrid,
    V2,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dev-env.sh")
}

fn choose(layout: &Layout, working: &str, missing: &str, forced: Option<&str>) -> Outcome {
    let temp = tempfile::tempdir().unwrap();
    let bin = temp.path().join("bin");
    fs_err::create_dir_all(&bin).unwrap();
    let podman = bin.join("podman");
    fs_err::write(&podman, FAKE_PODMAN).unwrap();
    fs_err::set_permissions(&podman, std::fs::Permissions::from_mode(0o755)).unwrap();

    let cgroup = temp.path().join("cgroup");
    match layout {
        Layout::V1 => fs_err::create_dir_all(cgroup.join("memory")).unwrap(),
        Layout::Hybrid => {
            fs_err::create_dir_all(cgroup.join("memory")).unwrap();
            fs_err::create_dir_all(cgroup.join("unified")).unwrap();
            fs_err::write(cgroup.join("unified/cgroup.controllers"), "").unwrap();
        }
        Layout::V2 => {
            fs_err::create_dir_all(&cgroup).unwrap();
            fs_err::write(cgroup.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        }
    }
    let log = temp.path().join("probes");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg(script())
        .arg("podman-runtime")
        .env("PATH", path)
        .env("STRATA_DEV_DIR", temp.path().join("state"))
        .env("STRATA_DEV_CGROUP_ROOT", &cgroup)
        .env("FAKE_LOG", &log)
        .env("FAKE_WORKING", working)
        .env("FAKE_MISSING", missing)
        .env_remove("STRATA_DEV_PODMAN_RUNTIME");
    if let Some(forced) = forced {
        command.env("STRATA_DEV_PODMAN_RUNTIME", forced);
    }
    let output = command.output().unwrap();
    Outcome {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        probes: fs_err::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
    }
}

#[test]
fn cgroup_v1_keeps_podmans_preferred_crun() {
    let outcome = choose(&Layout::V1, "crun runc", "", None);
    assert!(outcome.success, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "crun");
    assert_eq!(outcome.probes, ["crun"]);
    assert!(
        outcome
            .stderr
            .contains("podman: OCI runtime crun (cgroups v1)"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn hybrid_cgroups_where_crun_refuses_choose_runc_and_say_why() {
    let outcome = choose(&Layout::Hybrid, "runc", "", None);
    assert!(outcome.success, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "runc");
    assert_eq!(outcome.probes, ["crun", "runc"]);
    assert!(
        outcome.stderr.contains(
            "podman: OCI runtime runc (cgroups hybrid; passed over: crun: Error: OCI runtime error: \
             crun: cgroups in hybrid mode not supported"
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn cgroup_v2_uses_crun() {
    let outcome = choose(&Layout::V2, "crun runc", "", None);
    assert!(outcome.success, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "crun");
    assert!(
        outcome.stderr.contains("(cgroups v2)"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn without_crun_installed_runc_is_chosen() {
    let outcome = choose(&Layout::V1, "runc", "crun", None);
    assert!(outcome.success, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "runc");
    assert!(
        outcome
            .stderr
            .contains("crun: Error: default OCI runtime \"crun\" not found"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn no_working_runtime_fails_naming_each_refusal_and_the_fix() {
    let outcome = choose(&Layout::Hybrid, "", "runc", None);
    assert!(!outcome.success);
    assert_eq!(outcome.stdout, "");
    assert!(
        outcome
            .stderr
            .contains("no OCI runtime starts a container here (cgroups hybrid)"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("crun: cgroups in hybrid mode not supported"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("runc: Error: default OCI runtime \"runc\" not found"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("install runc (apt-get install runc)"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_forced_runtime_is_the_only_one_tried() {
    let outcome = choose(&Layout::V2, "crun runc", "", Some("runc"));
    assert!(outcome.success, "{}", outcome.stderr);
    assert_eq!(outcome.stdout, "runc");
    assert_eq!(outcome.probes, ["runc"]);

    let refused = choose(&Layout::Hybrid, "runc", "", Some("crun"));
    assert!(!refused.success);
    assert_eq!(refused.probes, ["crun"]);
}
