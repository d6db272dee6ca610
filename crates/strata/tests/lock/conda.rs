//! `strata lock environment.yml` through the binary, against a local channel on loopback.

use strata_test::{CondaChannel, CondaPackage, TestContext};

use crate::BINARY;

fn channel() -> CondaChannel {
    CondaChannel::serve(&[
        CondaPackage::new("python", "3.11.6", "linux-64")
            .build("hab00c5b_0_cpython", 0)
            .depends(&["__glibc >=2.17"]),
        CondaPackage::new("pip", "24.0", "noarch")
            .noarch_python()
            .build("pyhd8ed1ab_0", 0)
            .depends(&["python >=3.7"]),
        CondaPackage::new("newlibc-tool", "1.0", "linux-64").depends(&["__glibc >=2.34"]),
    ])
}

fn environment(context: &TestContext, channel: &CondaChannel, dependencies: &str) {
    context.write(
        "environment.yml",
        &format!(
            "name: science\nchannels:\n  - {}\ndependencies:\n{dependencies}",
            channel.url()
        ),
    );
}

#[test]
fn an_environment_file_locks_checks_and_reports_as_json() {
    let channel = channel();
    let context = TestContext::new(BINARY);
    environment(
        &context,
        &channel,
        "  - python 3.11.*\n  - pip\n  - pip:\n    - astropy\n",
    );
    let output = context.output(&["lock", "environment.yml", "--json"]);
    assert!(output.status.success(), "{}", context.render(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["result"], "written");
    assert_eq!(report["packages"], 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`pip:` section"), "{stderr}");
    let lock = fs_err::read_to_string(context.root.join("environment.lock")).unwrap();
    assert!(
        lock.contains("# platform: linux-64\n# glibc: 2.28\n@EXPLICIT\n"),
        "{lock}"
    );
    assert!(
        lock.lines()
            .filter(|line| line.contains("#sha256:"))
            .count()
            == 2,
        "{lock}"
    );
    let check = context.output(&["lock", "environment.yml", "--check"]);
    assert!(check.status.success(), "{}", context.render(&check));
    // The environment asks for more: the lock drifted, exit 1, and nothing is written.
    environment(
        &context,
        &channel,
        "  - python 3.11.*\n  - pip\n  - newlibc-tool\n",
    );
    let drifted = context.output(&["lock", "environment.yml", "--check", "--glibc", "2.35"]);
    assert_eq!(
        drifted.status.code(),
        Some(1),
        "{}",
        context.render(&drifted)
    );
    assert!(String::from_utf8_lossy(&drifted.stderr).contains("+ newlibc-tool 1.0"));
    assert_eq!(
        fs_err::read_to_string(context.root.join("environment.lock")).unwrap(),
        lock
    );
}

#[test]
fn an_unsolvable_environment_names_the_conflict_and_the_target() {
    let channel = channel();
    let context = TestContext::new(BINARY);
    environment(&context, &channel, "  - newlibc-tool\n");
    let output = context.output(&["lock", "environment.yml"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot lock `environment.yml`"), "{stderr}");
    assert!(
        stderr.contains("__glibc") && stderr.contains("linux-64 (__glibc 2.28)"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!context.root.join("environment.lock").exists());
}
