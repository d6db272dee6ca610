//! Arbitrary input never panics the parser, the rules or the fixes.

use std::path::Path;

use proptest::prelude::*;
use strata_lint::{ImageContext, LintOptions, Linter};

fn check(text: &str) {
    let linter = Linter::new(&LintOptions::default()).unwrap();
    let context = ImageContext::default();
    if let Ok(findings) = linter.lint(Path::new("Dockerfile"), text, &context, &[]) {
        for finding in &findings {
            assert!(finding.line >= 1 && finding.column >= 1);
        }
        let (fixed, _) = linter
            .fix(Path::new("Dockerfile"), text, &context, &[])
            .unwrap();
        linter
            .lint(Path::new("Dockerfile"), &fixed, &context, &[])
            .unwrap();
    }
}

/// Pieces Dockerfiles are made of, so random input reaches the rules, not only the parser.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "FROM ",
        "RUN ",
        "ENV ",
        "ADD ",
        "COPY ",
        "ARG ",
        "SHELL ",
        "ENTRYPOINT ",
        "MAINTAINER ",
        "CMD ",
        "apt-get ",
        "install ",
        "update ",
        "-y ",
        "pip ",
        "pip3 ",
        "python -m pip ",
        "conda ",
        "mamba ",
        "micromamba ",
        "run ",
        "-n ",
        "create ",
        "clean ",
        "-afy ",
        "source activate ",
        "&& ",
        "|| ",
        "; ",
        "| ",
        "\\\n",
        "\n",
        "\r\n",
        "<<EOF\n",
        "EOF\n",
        "<<-'X'\n",
        "\tX\n",
        "\"",
        "'",
        "$(",
        ")",
        "${A:-b}",
        "`",
        "#",
        "# strata-ignore=APT004\n",
        "=",
        "==1.0 ",
        "--mount=type=cache,target=/root/.cache/pip ",
        "--no-cache-dir ",
        "-r ",
        "req.lock ",
        "https://x/latest/y ",
        "[\"a\", \"b\"] ",
        "DEBIAN_FRONTEND=noninteractive ",
        "cd / ",
        ". ",
        "scratch ",
        "a:latest ",
        "@sha256:00 ",
        "AS b ",
        "--from=b ",
        "é ",
        "\\",
        " ",
    ])
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn dockerfile_shaped_input_never_panics(pieces in prop::collection::vec(piece(), 0..60)) {
        check(&pieces.concat());
    }
}
