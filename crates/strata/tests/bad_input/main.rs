//! Hostile input, as 3,114 fuzzed runs found it: each case that crashed strata, grew without
//! bound or damaged a file is kept here, and the bounded fuzz test (`fuzz.rs`) keeps looking.
//! Every run is bounded by `prlimit` (memory) and `timeout` (time): a crash, an abort, a run
//! out of memory or a hang is a failure, as is an exit code the README's table does not have.

mod fuzz;

use std::path::Path;
use std::process::{Command, Output};

use strata_test::TestContext;

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

/// What one bounded run of strata gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run strata in `directory` with `arguments`, at most `memory` bytes of address space and
/// `seconds` of time (`timeout` exits 124 then; a signal or abort gives no code).
fn bounded(directory: &Path, arguments: &[&str], memory: u64, seconds: u32) -> Run {
    // `STRATA_FUZZ_BINARY` points the fuzz at another build (an older one, to see it find
    // what was fixed).
    let binary = std::env::var("STRATA_FUZZ_BINARY").unwrap_or_else(|_| BINARY.to_string());
    let output: Output = Command::new("prlimit")
        .arg(format!("--as={memory}"))
        .arg("timeout")
        .arg(seconds.to_string())
        .arg(binary)
        .args(arguments)
        .current_dir(directory)
        .env("STRATA_NO_PROGRESS", "1")
        .env("STRATA_CACHE_DIR", directory.join(".cache"))
        .env("HOME", directory)
        .env_remove("RUST_LOG")
        .output()
        .expect("`prlimit` and `timeout` (util-linux, coreutils) run strata");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

const GIB: u64 = 1024 * 1024 * 1024;

fn expect_code(run: &Run, code: i32, what: &str) {
    assert_eq!(
        run.code,
        Some(code),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        run.code,
        run.stdout.chars().take(2000).collect::<String>(),
        run.stderr.chars().take(2000).collect::<String>()
    );
}

#[test]
fn a_build_number_past_64_bits_is_an_error_naming_the_line_not_a_panic() {
    let context = TestContext::new(BINARY);
    context.write(
        "environment.yml",
        "name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python[build_number=18446744073709551616]\n",
    );
    let run = bounded(
        &context.root,
        &["lock", "environment.yml", "--offline"],
        2 * GIB,
        60,
    );
    expect_code(&run, 2, "the overflowing build number");
    assert!(
        run.stderr
            .contains("`environment.yml` line 5: build number `18446744073709551616`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn markers_nested_20000_deep_are_an_error_not_a_stack_overflow() {
    let context = TestContext::new(BINARY);
    context.write("requirements.txt", &format!("x; {}\n", "(".repeat(20_000)));
    let run = bounded(
        &context.root,
        &[
            "lock",
            "requirements.txt",
            "--python-version",
            "3.11",
            "--offline",
        ],
        2 * GIB,
        60,
    );
    expect_code(&run, 2, "20,000 parentheses");
    assert!(
        run.stderr.contains("`requirements.txt` line 1")
            && run.stderr.contains("more than 32 deep"),
        "{}",
        run.stderr
    );
}

#[test]
fn lint_stays_linear_on_huge_instructions() {
    let context = TestContext::new(BINARY);
    let packages: Vec<String> = (0..16_000).map(|index| format!("pkg{index}")).collect();
    context.write(
        "pip/Dockerfile",
        &format!("FROM debian:12\nRUN pip install {}\n", packages.join(" ")),
    );
    context.write("stages/Dockerfile", &"FROM ubuntu AS s\n".repeat(50_000));
    context.write(
        "env/Dockerfile",
        &format!(
            "FROM debian:12\n{}",
            "ENV DEBIAN_FRONTEND=x\n".repeat(100_000)
        ),
    );
    for (file, format) in [
        ("pip/Dockerfile", "text"),
        ("pip/Dockerfile", "sarif"),
        ("stages/Dockerfile", "json"),
        ("env/Dockerfile", "text"),
    ] {
        // 16,000 findings on one 96 KB line took 1.6 GB and quadratic time before.
        let run = bounded(&context.root, &["lint", file, "--format", format], GIB, 120);
        expect_code(&run, 1, &format!("lint {file} --format {format}"));
    }
    let run = bounded(
        &context.root,
        &["lint", "--fix", "pip/Dockerfile"],
        GIB,
        120,
    );
    expect_code(&run, 1, "lint --fix on 16,000 packages");
}

#[test]
fn deep_yaml_and_a_second_document_are_refused_with_their_line() {
    let context = TestContext::new(BINARY);
    context.write(
        "deep.yml",
        &format!(
            "name: x\nchannels: [c]\ndependencies: {}1{}\n",
            "{a: ".repeat(32_000),
            "}".repeat(32_000)
        ),
    );
    let run = bounded(&context.root, &["lock", "deep.yml", "--offline"], GIB, 30);
    expect_code(&run, 2, "a mapping nested 32,000 deep");
    assert!(run.stderr.contains("`deep.yml` line 3"), "{}", run.stderr);
    context.write(
        "two.yml",
        "name: x\nchannels: [c]\ndependencies: [python]\n---\nname: y\n",
    );
    let run = bounded(&context.root, &["lock", "two.yml", "--offline"], GIB, 30);
    expect_code(&run, 2, "two documents");
    assert!(
        run.stderr
            .contains("`two.yml` line 4: a second YAML document"),
        "{}",
        run.stderr
    );
}

/// A SciServer repository whose compat layers include each other in a chain of `length`.
fn compat_chain(length: usize) -> TestContext {
    let mut context = TestContext::new(BINARY);
    context.write(
        "science/base/sciserver-image.json",
        r#"{"image": "base", "compat": "c0"}"#,
    );
    context.write("science/base/Dockerfile", "FROM debian:12\n");
    for index in 0..length {
        let includes = if index + 1 < length {
            format!(r#"{{"includes": ["c{}"]}}"#, index + 1)
        } else {
            "{}".to_string()
        };
        context.write(&format!("compat/c{index}/sciserver-image.json"), &includes);
        context.write(&format!("compat/c{index}/Dockerfile"), "ENV C=1\n");
    }
    context.commit("a chain of compat layers");
    context
}

#[test]
fn compat_include_chains_are_limited_and_shared() {
    // 32 deep is allowed; 4,000 deep is refused at once, naming the file that starts it.
    let context = compat_chain(33);
    let run = bounded(&context.root, &["graph", "--json"], GIB, 60);
    expect_code(&run, 0, "a chain of 33 compat layers");
    let context = compat_chain(4_000);
    for arguments in [&["plan", "--all"][..], &["graph", "--json"]] {
        let run = bounded(&context.root, arguments, GIB, 60);
        expect_code(&run, 2, &format!("{arguments:?} on 4,000 compat layers"));
        assert!(
            run.stderr.contains(
                "`compat/c0/sciserver-image.json`: compat includes nest more than 32 deep"
            ),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_deep_chain_of_generic_images_is_graphed_within_bounds() {
    let mut context = TestContext::new(BINARY);
    context.write("i0/Dockerfile", "FROM debian:12\n");
    for index in 1..3_000 {
        context.write(
            &format!("i{index}/Dockerfile"),
            &format!("FROM i{}:latest\n", index - 1),
        );
    }
    context.commit("a chain of 3,000 images");
    for arguments in [
        &["graph"][..],
        &["graph", "--json"],
        &["plan", "--all", "--json"],
    ] {
        let run = bounded(&context.root, arguments, GIB, 120);
        expect_code(&run, 0, &format!("{arguments:?} on a 3,000-image chain"));
        // Linear in the chain: the tree stops indenting past 40 levels (drawn in full, a chain
        // of 3,000 was 18 MB of indentation, 10,000 was 200 MB).
        assert!(
            run.stdout.len() < 4 * 1024 * 1024,
            "{arguments:?}: {} bytes",
            run.stdout.len()
        );
    }
}

#[test]
fn special_files_are_refused_at_once_and_nothing_is_written_beside_them() {
    let context = TestContext::new(BINARY);
    std::os::unix::fs::symlink("/dev/zero", context.root.join("requirements.txt")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", context.root.join("environment.yml")).unwrap();
    let status = Command::new("mkfifo")
        .arg(context.root.join("fifo.txt"))
        .status()
        .unwrap();
    assert!(status.success());
    let python = ["--python-version", "3.11", "--offline"];
    for file in [
        "requirements.txt",
        "environment.yml",
        "fifo.txt",
        "/dev/null",
    ] {
        let mut arguments = vec!["lock", file];
        if !file.ends_with(".yml") {
            arguments.extend(python);
        }
        let run = bounded(&context.root, &arguments, GIB, 20);
        expect_code(&run, 2, file);
        assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    }
    assert!(!Path::new("/dev/null.lock").exists());
    assert!(!context.root.join("requirements.lock").exists());
}

#[test]
fn fix_never_writes_into_an_open_quote_and_twice_is_once() {
    let context = TestContext::new(BINARY);
    let cases = [
        "FROM debian:12\nRUN apt-get update && apt-get install -y foo && echo \"x\n",
        "FROM debian:12\nRUN apt-get update && apt-get install -y foo && echo `date\n",
        "FROM debian:12\nRUN apt-get update && apt-get install -y foo && echo ${HOME\n",
        "FROM continuumio/miniconda3:24.1.2-0\nRUN conda install -y numpy=1.26 && echo 'x\n",
    ];
    for (index, text) in cases.iter().enumerate() {
        let file = format!("q{index}/Dockerfile");
        context.write(&file, text);
        let run = bounded(&context.root, &["lint", "--fix", &file], GIB, 30);
        assert!(
            matches!(run.code, Some(0 | 1)),
            "{file}: {:?} {}",
            run.code,
            run.stderr
        );
        let once = fs_err::read_to_string(context.root.join(&file)).unwrap();
        assert_eq!(
            &once, text,
            "{file}: a fix wrote into a command strata did not understand"
        );
    }
    // A command that is understood is fixed, once: a second `--fix` changes nothing.
    let text = "FROM debian:12\nRUN apt-get update && apt-get install foo\n";
    context.write("fine/Dockerfile", text);
    bounded(
        &context.root,
        &["lint", "--fix", "fine/Dockerfile"],
        GIB,
        30,
    );
    let once = fs_err::read_to_string(context.root.join("fine/Dockerfile")).unwrap();
    assert_ne!(once, text);
    bounded(
        &context.root,
        &["lint", "--fix", "fine/Dockerfile"],
        GIB,
        30,
    );
    let twice = fs_err::read_to_string(context.root.join("fine/Dockerfile")).unwrap();
    assert_eq!(once, twice);
}

#[test]
fn a_lock_whose_pip_section_fails_leaves_no_lock() {
    let channel = strata_test::CondaChannel::serve(&[
        strata_test::CondaPackage::new("python", "3.11.6", "linux-64")
            .build("hab00c5b_0_cpython", 0)
            .depends(&["__glibc >=2.17"]),
        strata_test::CondaPackage::new("pip", "24.0", "noarch")
            .noarch_python()
            .build("pyhd8ed1ab_0", 0)
            .depends(&["python >=3.7"]),
    ]);
    let context = TestContext::new(BINARY);
    context.write(
        "environment.yml",
        &format!(
            "name: x\nchannels:\n  - {}\ndependencies:\n  - python 3.11.*\n  - pip\n  - pip:\n    - attrs\n",
            channel.url()
        ),
    );
    // The conda solve succeeds; the `pip:` section cannot be locked offline with no cache.
    let run = bounded(
        &context.root,
        &["lock", "environment.yml", "--offline"],
        2 * GIB,
        60,
    );
    expect_code(&run, 2, "an unlockable pip section");
    assert!(
        !context.root.join("environment.lock").exists(),
        "{}",
        run.stderr
    );
    assert!(!context.root.join("environment.pip.lock").exists());
    // An existing lock is put back as it was.
    context.write("environment.lock", "# the lock before\n");
    bounded(
        &context.root,
        &["lock", "environment.yml", "--offline"],
        2 * GIB,
        60,
    );
    assert_eq!(
        fs_err::read_to_string(context.root.join("environment.lock")).unwrap(),
        "# the lock before\n"
    );
}

#[test]
fn unreadable_files_are_named_with_their_line_in_every_format() {
    let context = TestContext::new(BINARY);
    fs_err::write(
        context.root.join("Dockerfile"),
        b"FROM debian:12\nRUN echo \xff\n",
    )
    .unwrap();
    let run = bounded(&context.root, &["lint", "Dockerfile"], GIB, 30);
    expect_code(&run, 2, "a Dockerfile that is not UTF-8");
    assert!(
        run.stderr
            .contains("`Dockerfile` is not UTF-8 text: line 2"),
        "{}",
        run.stderr
    );
    for format in ["json", "sarif"] {
        let run = bounded(
            &context.root,
            &["lint", "Dockerfile", "--format", format],
            GIB,
            30,
        );
        expect_code(&run, 2, format);
        let document: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|error| panic!("{format}: {error}: {}", run.stdout));
        let text = document.to_string();
        assert!(
            text.contains("Dockerfile") && text.contains("UTF-8"),
            "{format}: {text}"
        );
        if format == "json" {
            assert_eq!(document["error"]["line"], 2, "{text}");
        } else {
            assert_eq!(
                document["runs"][0]["invocations"][0]["executionSuccessful"], false,
                "{text}"
            );
        }
    }
    // A lock with a bad byte, and one whose target line is damaged: named, with the line.
    context.write("requirements.txt", "attrs\n");
    fs_err::write(
        context.root.join("requirements.lock"),
        b"# strata-target: python=3.11 platform=manylinux_2_28_x86_64\nattrs==23.2.0 \xff\n",
    )
    .unwrap();
    let run = bounded(
        &context.root,
        &["lock", "--check", "requirements.txt", "--offline"],
        GIB,
        30,
    );
    expect_code(&run, 2, "a lock that is not UTF-8");
    assert!(
        run.stderr
            .contains("`requirements.lock` is not UTF-8 text: line 2"),
        "{}",
        run.stderr
    );
    context.write(
        "requirements.lock",
        "# strata-target: python=three platform=manylinux_2_28_x86_64\nattrs==23.2.0 \\\n    --hash=sha256:00\n",
    );
    let run = bounded(
        &context.root,
        &["lock", "--check", "requirements.txt", "--offline"],
        GIB,
        30,
    );
    expect_code(&run, 2, "a damaged target line");
    assert!(
        run.stderr
            .contains("`requirements.lock` line 1 is not what a lock file holds"),
        "{}",
        run.stderr
    );
}

#[test]
fn include_loops_name_the_line_that_closes_them() {
    let context = TestContext::new(BINARY);
    context.write("a.txt", "attrs\n-r b.txt\n");
    context.write("b.txt", "# loops back\n-r a.txt\n");
    let run = bounded(
        &context.root,
        &["lock", "a.txt", "--python-version", "3.11", "--offline"],
        GIB,
        30,
    );
    expect_code(&run, 2, "an include loop");
    assert!(
        run.stderr
            .contains("`b.txt` line 2 includes a file already being read: a.txt → b.txt → a.txt"),
        "{}",
        run.stderr
    );
}

#[test]
fn directories_whose_names_are_not_utf8_are_reported() {
    use std::os::unix::ffi::OsStrExt;
    let mut context = TestContext::new(BINARY);
    context.write("good/Dockerfile", "FROM debian:12\n");
    let odd = context.root.join(std::ffi::OsStr::from_bytes(b"bad\xff"));
    fs_err::create_dir_all(&odd).unwrap();
    fs_err::write(odd.join("Dockerfile"), "FROM debian:12\n").unwrap();
    context.commit("a directory whose name is not UTF-8");
    for command in ["graph", "lint"] {
        let run = bounded(&context.root, &[command], GIB, 30);
        assert!(matches!(run.code, Some(0 | 1)), "{command}: {}", run.stderr);
        assert!(
            run.stderr.contains("is left out: its name is not UTF-8"),
            "{command}: {}",
            run.stderr
        );
    }
}
