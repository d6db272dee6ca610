//! The README's exit-code table, row by row, for each family of commands: what each code means
//! must not drift from command to command. `0` success; `1` a check found problems; `2` usage or
//! input error, a name that does not exist included; `3` a build (or its tests) failed; `4` the
//! builds succeeded but a push failed; `5` a service (engine, registry, package index, conda
//! channel) could not be reached or refused. Against the real services: these tests fail,
//! saying how to start them, when they are missing.

use std::process::Output;

use strata_test::{fresh_namespace, require_services, CondaChannel, CondaPackage, TestContext};

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

/// A port nothing listens on.
const UNREACHABLE: &str = "127.0.0.1:9";

/// One row of the table for one command: the arguments, extra environment, the code.
struct Case<'a> {
    row: &'a str,
    arguments: Vec<String>,
    environment: Vec<(&'a str, String)>,
    code: i32,
}

fn case<'a>(row: &'a str, arguments: &[&str], code: i32) -> Case<'a> {
    Case {
        row,
        arguments: arguments.iter().map(ToString::to_string).collect(),
        environment: Vec::new(),
        code,
    }
}

impl<'a> Case<'a> {
    fn with_env(mut self, name: &'a str, value: &str) -> Self {
        self.environment.push((name, value.to_string()));
        self
    }
}

/// Run every case; report every mismatch at once, each with its output.
fn check(family: &str, context: &TestContext, cases: Vec<Case>) {
    let mut mismatches = Vec::new();
    for case in cases {
        let output: Output = context
            .strata()
            .args(&case.arguments)
            .envs(case.environment.iter().map(|(name, value)| (*name, value)))
            .output()
            .unwrap();
        let code = output.status.code();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if code != Some(case.code) {
            mismatches.push(format!(
                "{family}, row {} `strata {}`: exit {code:?}, not {}\n{}",
                case.row,
                case.arguments.join(" "),
                case.code,
                context.render(&output)
            ));
        } else if (case.code == 2 || case.code == 5) && !stderr.contains("error:")
            || (case.code == 3 || case.code == 4) && !stderr.contains("failed")
        {
            mismatches.push(format!(
                "{family}, row {} `strata {}`: exit {} without saying what failed\n{}",
                case.row,
                case.arguments.join(" "),
                case.code,
                context.render(&output)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

/// A docker-stacks repository of busybox images under `repo`.
fn busybox_family(repo: &str, images: &[(&str, &str)]) -> TestContext {
    let mut context = TestContext::new(BINARY);
    context.write("strata.toml", &format!("repo = \"{repo}\"\n"));
    for (name, dockerfile) in images {
        context.write(&format!("images/{name}/Dockerfile"), dockerfile);
    }
    context.commit("images");
    context
}

#[test]
fn repository_commands_plan_graph_lint_init() {
    let services = require_services();
    let mut context = busybox_family(
        "registry.example/family",
        &[("ok", "FROM strata-base/busybox:latest\nCMD [\"sh\"]\n")],
    );
    context.write(
        "lint/Dockerfile",
        "FROM ubuntu\nRUN apt-get install -y curl\n",
    );
    context.commit("a Dockerfile with findings");
    let unreachable_registry = format!("{UNREACHABLE}/family");
    check(
        "plan, graph, lint, init",
        &context,
        vec![
            case("0", &["plan", "--all"], 0),
            case("0", &["graph", "--json"], 0),
            case("1", &["lint", "lint/Dockerfile"], 1),
            case("2", &["plan", "--include", "images/no-such-image"], 2),
            case("2", &["plan", "--since", "no-such-ref"], 2),
            case("2", &["graph", "no/such/directory"], 2),
            case("2", &["lint", "no/such/Dockerfile"], 2),
            case("2", &["plan", "--no-such-flag"], 2),
            case(
                "5",
                &[
                    "plan",
                    "--since",
                    "registry",
                    "--repo",
                    &unreachable_registry,
                ],
                5,
            ),
        ],
    );
    let _ = services;
}

#[test]
fn build_and_test_commands() {
    let services = require_services();
    let namespace = fresh_namespace(&services.registry, "exit-codes");
    let refusing = fresh_namespace(&services.auth_registry, "exit-codes");
    let context = busybox_family(
        &namespace,
        &[
            (
                "good",
                "FROM strata-base/busybox:latest\nRUN echo good > /good\n",
            ),
            ("broken", "FROM strata-base/busybox:latest\nRUN false\n"),
        ],
    );
    context.write(
        "strata.toml",
        &format!(
            "repo = \"{namespace}\"\n\n[[images.good.tests]]\nname = \"fails\"\ncommand = [\"false\"]\n"
        ),
    );
    check(
        "build, test",
        &context,
        vec![
            case("0", &["build", "--include", "images/good", "--no-test"], 0),
            case("1", &["test", "--include", "images/good"], 1),
            case("2", &["build", "--include", "images/no-such-image"], 2),
            case("2", &["build", "--all", "--jobs", "zero"], 2),
            case("3", &["build", "--include", "images/broken"], 3),
            case(
                "4",
                &[
                    "build",
                    "--include",
                    "images/good",
                    "--no-test",
                    "--push",
                    "--repo",
                    &refusing,
                ],
                4,
            ),
            case("5", &["build", "--include", "images/good"], 5)
                .with_env("DOCKER_HOST", &format!("tcp://{UNREACHABLE}")),
        ],
    );
}

#[test]
fn inspect_and_diff_commands() {
    let services = require_services();
    let context = TestContext::new(BINARY);
    let published = format!("{}/strata-base/busybox:latest", services.registry);
    let missing_tag = format!("{}/strata-base/busybox:no-such-tag", services.registry);
    let unreachable = format!("{UNREACHABLE}/strata-base/busybox:latest");
    check(
        "inspect, diff",
        &context,
        vec![
            case("0", &["inspect", "strata-base/busybox:latest"], 0),
            case("0", &["inspect", "--registry", &published], 0),
            case("2", &["inspect", "strata-test/no-such-image:1"], 2),
            case("2", &["inspect", "--registry", &missing_tag], 2),
            case("2", &["inspect", "Not A Reference"], 2),
            case(
                "2",
                &[
                    "diff",
                    "strata-base/busybox:latest",
                    "strata-test/no-such-image:1",
                ],
                2,
            ),
            case("5", &["inspect", "--registry", &unreachable], 5),
            case("5", &["inspect", "strata-base/busybox:latest"], 5)
                .with_env("DOCKER_HOST", &format!("tcp://{UNREACHABLE}")),
        ],
    );
}

#[test]
fn audit_commands() {
    let services = require_services();
    let context = TestContext::new(BINARY);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/audit");
    let imported = context
        .strata()
        .args(["audit", "import", "--db", "store"])
        .arg(fixtures.join("osv"))
        .arg(fixtures.join("osv-extra"))
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", context.render(&imported));
    fs_err::create_dir_all(context.root.join("empty")).unwrap();
    let debian = std::env::var("STRATA_TEST_BASE_DEBIAN").expect("set by scripts/dev-env.sh env");
    let published = format!("{}/strata-base/busybox:latest", services.registry);
    let missing_tag = format!("{}/strata-base/busybox:no-such-tag", services.registry);
    let unreachable = format!("{UNREACHABLE}/strata-base/busybox:latest");
    check(
        "audit",
        &context,
        vec![
            case(
                "0",
                &["audit", "strata-base/busybox:latest", "--db", "store"],
                0,
            ),
            case(
                "0",
                &["audit", "--registry", &published, "--db", "store"],
                0,
            ),
            // The base's zlib is affected (medium): a check that found a problem.
            case(
                "1",
                &["audit", &debian, "--db", "store", "--fail-on", "medium"],
                1,
            ),
            case(
                "0",
                &["audit", &debian, "--db", "store", "--fail-on", "high"],
                0,
            ),
            case(
                "2",
                &["audit", "strata-test/no-such-image:1", "--db", "store"],
                2,
            ),
            case(
                "2",
                &["audit", "--registry", &missing_tag, "--db", "store"],
                2,
            ),
            case(
                "2",
                &["audit", "strata-base/busybox:latest", "--db", "nowhere"],
                2,
            ),
            case(
                "2",
                &[
                    "audit",
                    "strata-base/busybox:latest",
                    "--fail-on",
                    "extreme",
                ],
                2,
            ),
            case(
                "2",
                &["audit", "import", "--db", "other", "no-such-export.zip"],
                2,
            ),
            // A directory that holds no advisories is not an empty store.
            case("2", &["audit", "import", "--db", "other", "empty"], 2),
            case(
                "2",
                &["audit", "strata-base/busybox:latest", "--db", "empty"],
                2,
            ),
            case(
                "5",
                &["audit", "--registry", &unreachable, "--db", "store"],
                5,
            ),
            case(
                "5",
                &["audit", "strata-base/busybox:latest", "--db", "store"],
                5,
            )
            .with_env("DOCKER_HOST", &format!("tcp://{UNREACHABLE}")),
        ],
    );
}

#[test]
fn lock_and_freeze_commands() {
    let channel = CondaChannel::serve(&[
        CondaPackage::new("python", "3.11.6", "linux-64")
            .build("hab00c5b_0_cpython", 0)
            .depends(&["__glibc >=2.17"]),
        CondaPackage::new("pip", "24.0", "noarch")
            .noarch_python()
            .build("pyhd8ed1ab_0", 0)
            .depends(&["python >=3.7"]),
    ]);
    let context = TestContext::new(BINARY);
    context.write("requirements.txt", "# nothing yet\n");
    context.write("bad/requirements.txt", "numpy >= = 1\n");
    context.write("one/requirements.txt", "attrs\n");
    let environment = |dependencies: &str| {
        format!(
            "name: science\nchannels:\n  - {}\ndependencies:\n{dependencies}",
            channel.url()
        )
    };
    context.write("environment.yml", &environment("  - python 3.11.*\n"));
    context.write(
        "missing/environment.yml",
        &environment("  - no-such-package\n"),
    );
    context.write(
        "unreachable/environment.yml",
        &format!(
            "name: x\nchannels:\n  - http://{UNREACHABLE}/channel\ndependencies:\n  - python\n"
        ),
    );
    let python = ["--python-version", "3.11"];
    check(
        "lock, freeze",
        &context,
        vec![
            case(
                "0",
                &[
                    "lock",
                    "requirements.txt",
                    python[0],
                    python[1],
                    "--offline",
                ],
                0,
            ),
            case("0", &["lock", "environment.yml"], 0),
            case("0", &["lock", "environment.yml", "--check"], 0),
            case(
                "2",
                &["lock", "bad/requirements.txt", python[0], python[1]],
                2,
            ),
            case(
                "2",
                &["lock", "no/such/requirements.txt", python[0], python[1]],
                2,
            ),
            case("2", &["lock", "missing/environment.yml"], 2),
            case("2", &["freeze", "strata-test/no-such-image:1"], 2),
            case(
                "5",
                &[
                    "lock",
                    "one/requirements.txt",
                    python[0],
                    python[1],
                    "--index-url",
                    &format!("http://{UNREACHABLE}/simple"),
                ],
                5,
            ),
            case("5", &["lock", "unreachable/environment.yml"], 5),
        ],
    );
    // The environment asks for a package the lock does not hold: the check finds a problem.
    context.write(
        "environment.yml",
        &environment("  - python 3.11.*\n  - pip\n"),
    );
    check(
        "lock, freeze",
        &context,
        vec![case("1", &["lock", "environment.yml", "--check"], 1)],
    );
}

#[test]
fn release_commands_pin_promote_outdated() {
    let services = require_services();
    let namespace = fresh_namespace(&services.registry, "exit-codes-release");
    let context = TestContext::new(BINARY);
    let published = format!("{}/strata-base/busybox:latest", services.registry);
    let debian = format!("{}/strata-base/debian:bookworm", services.registry);
    let target = format!("{namespace}/copy:course");
    let missing = format!("{}/strata-base/busybox:no-such-tag", services.registry);
    let mut pinned = TestContext::new(BINARY);
    pinned.write("images/base/Dockerfile", &format!("FROM {published}\n"));
    pinned.write("moved/images/base/Dockerfile", &format!("FROM {missing}\n"));
    pinned.write(
        "unreachable/images/base/Dockerfile",
        &format!("FROM {UNREACHABLE}/strata-base/busybox:latest\n"),
    );
    pinned.commit("bases");
    check(
        "pin, promote, outdated",
        &pinned,
        vec![
            case("1", &["pin", "--check"], 1),
            case("0", &["pin"], 0),
            case("0", &["pin", "--check"], 0),
            case("0", &["outdated", "--repo", &namespace], 0),
            case("2", &["pin", "no/such/directory"], 2),
            case("2", &["pin", "moved"], 2),
            case("5", &["pin", "unreachable"], 5),
            case(
                "5",
                &["outdated", "--repo", &format!("{UNREACHABLE}/family")],
                5,
            ),
        ],
    );
    check(
        "pin, promote, outdated",
        &context,
        vec![
            case("0", &["promote", &published, &target], 0),
            // The course tag already points at busybox: moving it to debian is refused.
            case("1", &["promote", &debian, &target], 1),
            case(
                "2",
                &["promote", &missing, &format!("{namespace}/copy:x")],
                2,
            ),
            case("2", &["promote", &published, "no/such:tag@sha256:1"], 2),
            case(
                "5",
                &[
                    "promote",
                    &format!("{UNREACHABLE}/a/b:1"),
                    &format!("{UNREACHABLE}/a/b:2"),
                ],
                5,
            ),
        ],
    );
}

/// CI systems export empty variables: every `STRATA_*` one that is empty counts as unset, for
/// argument conflicts too (`STRATA_SINCE=` with `--all`).
#[test]
fn empty_strata_variables_count_as_unset() {
    let mut context = busybox_family(
        "registry.example/family",
        &[("ok", "FROM strata-base/busybox:latest\n")],
    );
    context.touch("images/ok/Dockerfile");
    context.commit("a change to plan");
    check(
        "empty variables",
        &context,
        vec![
            case("0", &["plan", "--all"], 0).with_env("STRATA_SINCE", ""),
            case("0", &["plan"], 0)
                .with_env("STRATA_SINCE", "")
                .with_env("STRATA_REPO", ""),
            case("0", &["graph"], 0)
                .with_env("STRATA_CACHE_DIR", "")
                .with_env("STRATA_NO_PROGRESS", ""),
        ],
    );
    let output = context
        .strata()
        .args(["plan", "--all", "--json"])
        .env("STRATA_REPO", "")
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // `strata.toml`'s `repo`, not an empty namespace.
    assert_eq!(
        plan["builds"][0]["tags"][1],
        "registry.example/family/ok:latest"
    );
}
