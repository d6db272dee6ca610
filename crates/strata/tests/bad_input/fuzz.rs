//! The project's own bounded fuzz test: seeded, mutation-based, over the recorded corpora in
//! `test/` — Dockerfiles, repository trees, requirements, environment and lock files — with no
//! engine and no network. Each run must end within its time and memory bounds, with an exit code
//! from the README's table (0, 1 or 2 here: nothing is built or fetched); every exit 2 must name
//! the file it is about; `lint --fix` twice must equal `--fix` once and never grow a file by more
//! than its fixes add.
//!
//! `STRATA_FUZZ_SEED` and `STRATA_FUZZ_RUNS` change the seed and the number of runs (default: a
//! fixed seed, and runs until the time budget of `STRATA_FUZZ_SECONDS`, default 60, is spent).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use strata_test::TestContext;

use crate::{bounded, BINARY, GIB};

/// A small, seeded generator (xorshift64*): the same seed gives the same runs everywhere.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % (bound.max(1) as u64)).unwrap_or(0)
    }
}

/// Text that tends to find parser edges: quotes left open, nesting, non-UTF-8 bytes, line
/// continuations, heredocs, YAML flow collections, options, markers.
const FRAGMENTS: &[&[u8]] = &[
    b"\"",
    b"'",
    b"`",
    b"$(",
    b"${",
    b"\\\n",
    b"<<EOF\n",
    b"((((((((",
    b"))))",
    b"{[{[",
    b"]}",
    b"\xff",
    b"\xc3",
    b"\n---\n",
    b" && ",
    b" ; ",
    b"--hash=",
    b" @ ",
    b"[extra]",
    b"==",
    b";python_version>'3'",
    b"-r ",
    b"-c ",
    b"FROM ",
    b"ARG X\n",
    b"$X",
    b"AS s\n",
    b"RUN pip install ",
    b"RUN apt-get install ",
    b"COPY --from=",
    b"\t",
    b"\r\n",
    b"\0",
    b"build_number=99999999999999999999",
    b"# strata-target: ",
    b"@EXPLICIT\n",
    b"\"includes\": [",
    b"\"image\": ",
    b"{",
    b"}",
];

fn mutate(random: &mut Random, bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for _ in 0..=random.below(4) {
        let at = random.below(bytes.len() + 1);
        match random.below(7) {
            0 if !bytes.is_empty() => {
                let index = at.min(bytes.len() - 1);
                bytes[index] ^= 1 << random.below(8);
            }
            1 => {
                let fragment = FRAGMENTS[random.below(FRAGMENTS.len())];
                bytes.splice(at..at, fragment.iter().copied());
            }
            2 => {
                let end = (at + random.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => {
                // A line repeated: repetition is where time and memory blow up.
                let start = bytes[..at]
                    .iter()
                    .rposition(|byte| *byte == b'\n')
                    .map_or(0, |i| i + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|byte| *byte == b'\n')
                    .map_or(bytes.len(), |i| at + i + 1);
                let line = bytes[start..end].to_vec();
                for _ in 0..random.below(200) {
                    bytes.splice(end..end, line.iter().copied());
                }
            }
            4 => {
                let fragment = FRAGMENTS[random.below(FRAGMENTS.len())];
                for _ in 0..random.below(2_000) {
                    bytes.splice(at..at, fragment.iter().copied());
                }
            }
            5 => bytes.truncate(at),
            _ => {
                let byte = u8::try_from(random.below(256)).unwrap_or(0);
                bytes.insert(at, byte);
            }
        }
    }
    bytes
}

/// What a corpus file is, and the commands that read it.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Dockerfile,
    Requirements,
    Environment,
    PythonLock,
    CondaLock,
    /// A file of a repository tree (its Dockerfiles and definitions).
    Repository,
}

fn workspace() -> PathBuf {
    strata_test::workspace_root()
}

fn files_under(directory: &Path, keep: &dyn Fn(&Path) -> bool, found: &mut Vec<PathBuf>) {
    // A corpus directory that is missing would shrink the fuzz quietly: it fails instead.
    let entries = fs_err::read_dir(directory).expect("the fuzz corpora are under test/");
    let mut entries: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, keep, found);
        } else if keep(&path) {
            found.push(path);
        }
    }
}

/// The corpus: every recorded input, with its kind.
fn corpus() -> Vec<(Kind, PathBuf)> {
    let test = workspace().join("test");
    let mut corpus = Vec::new();
    let mut dockerfiles = Vec::new();
    let is_dockerfile = |path: &Path| {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.contains("Dockerfile"))
    };
    files_under(&test.join("dockerfiles"), &is_dockerfile, &mut dockerfiles);
    files_under(&test.join("lint"), &is_dockerfile, &mut dockerfiles);
    corpus.extend(dockerfiles.into_iter().map(|path| (Kind::Dockerfile, path)));
    let fuzz = test.join("fuzz");
    for name in ["requirements.txt", "constraints.txt"] {
        corpus.push((Kind::Requirements, fuzz.join("requirements").join(name)));
    }
    for name in ["environment.yml", "flow.yml"] {
        corpus.push((Kind::Environment, fuzz.join("environments").join(name)));
    }
    corpus.push((Kind::PythonLock, fuzz.join("locks/requirements.lock")));
    corpus.push((Kind::CondaLock, fuzz.join("locks/environment.lock")));
    for repository in ["sciserver", "docker-stacks", "sciserver-compute-images"] {
        let mut files = Vec::new();
        let keep = |path: &Path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| {
                    name == "Dockerfile"
                        || name == "sciserver-image.json"
                        || name == "strata.toml"
                        || name == "build.json"
                })
        };
        files_under(&test.join("repos").join(repository), &keep, &mut files);
        corpus.extend(files.into_iter().map(|path| (Kind::Repository, path)));
    }
    corpus
}

/// One fuzz case: write the mutated input where the command reads it; the commands to run.
fn prepare(kind: Kind, source: &Path, bytes: &[u8], root: &Path) -> (String, Vec<Vec<String>>) {
    let owned = |arguments: &[&str]| {
        arguments
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    match kind {
        Kind::Dockerfile => {
            fs_err::write(root.join("Dockerfile"), bytes).unwrap();
            (
                "Dockerfile".to_string(),
                vec![
                    owned(&["lint", "Dockerfile"]),
                    owned(&["lint", "Dockerfile", "--format", "sarif"]),
                ],
            )
        }
        Kind::Requirements => {
            fs_err::copy(
                workspace().join("test/fuzz/requirements/constraints.txt"),
                root.join("constraints.txt"),
            )
            .ok();
            let name = source
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("requirements.txt");
            fs_err::write(root.join(name), bytes).unwrap();
            (
                name.to_string(),
                vec![owned(&[
                    "lock",
                    name,
                    "--python-version",
                    "3.11",
                    "--offline",
                ])],
            )
        }
        Kind::Environment => {
            fs_err::write(root.join("environment.yml"), bytes).unwrap();
            (
                "environment.yml".to_string(),
                vec![owned(&["lock", "environment.yml", "--offline"])],
            )
        }
        Kind::PythonLock => {
            fs_err::write(root.join("requirements.txt"), "requests\n").unwrap();
            fs_err::write(root.join("requirements.lock"), bytes).unwrap();
            (
                "requirements.lock".to_string(),
                vec![owned(&["lock", "--check", "requirements.txt", "--offline"])],
            )
        }
        Kind::CondaLock => {
            fs_err::copy(
                workspace().join("test/fuzz/environments/environment.yml"),
                root.join("environment.yml"),
            )
            .unwrap();
            fs_err::write(root.join("environment.lock"), bytes).unwrap();
            (
                "environment.lock".to_string(),
                vec![owned(&["lock", "--check", "environment.yml", "--offline"])],
            )
        }
        Kind::Repository => {
            // The whole repository, one of its files mutated.
            let repository = source
                .ancestors()
                .find(|ancestor| {
                    ancestor
                        .parent()
                        .is_some_and(|parent| parent.ends_with("test/repos"))
                })
                .unwrap_or(source)
                .to_path_buf();
            copy_tree(&repository, root);
            let relative = source.strip_prefix(&repository).unwrap_or(source);
            fs_err::write(root.join(relative), bytes).unwrap();
            let _ = std::process::Command::new("git")
                .args(["init", "-q"])
                .current_dir(root)
                .status();
            let _ = std::process::Command::new("git")
                .args(["add", "-A"])
                .current_dir(root)
                .status();
            let _ = std::process::Command::new("git")
                .args([
                    "-c",
                    "user.name=fuzz",
                    "-c",
                    "user.email=fuzz@strata.invalid",
                    "commit",
                    "-qm",
                    "fuzz",
                ])
                .current_dir(root)
                .status();
            (
                relative.display().to_string(),
                vec![
                    owned(&["graph", "--json"]),
                    owned(&["plan", "--all", "--json"]),
                    owned(&["lint", "--format", "json"]),
                    owned(&["init", "--dry-run"]),
                ],
            )
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for entry in fs_err::read_dir(from).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs_err::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn bounded_fuzz_of_every_input_kind() {
    let seed: u64 = std::env::var("STRATA_FUZZ_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0x5eed_2026_1203);
    let runs_wanted: Option<usize> = std::env::var("STRATA_FUZZ_RUNS")
        .ok()
        .and_then(|value| value.parse().ok());
    let budget = Duration::from_secs(
        std::env::var("STRATA_FUZZ_SECONDS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(60),
    );
    let corpus = corpus();
    assert!(
        corpus.len() > 50,
        "the corpus under test/ is missing: {} files",
        corpus.len()
    );
    let mut random = Random(seed | 1);
    let started = Instant::now();
    let mut runs = 0;
    let mut failures = Vec::new();
    let mut case = 0;
    while runs_wanted.map_or(started.elapsed() < budget, |wanted| runs < wanted) {
        case += 1;
        let (kind, source) = corpus[random.below(corpus.len())].clone();
        let original = fs_err::read(&source).unwrap();
        let mutated = mutate(&mut random, &original);
        let context = TestContext::new(BINARY);
        let (named, commands) = prepare(kind, &source, &mutated, &context.root);
        for arguments in &commands {
            let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
            let run = bounded(&context.root, &arguments, GIB, 30);
            runs += 1;
            let describe = || {
                format!(
                    "case {case} (seed {seed}): {kind:?} `{}` → `strata {}`: exit {:?}\nstderr: {}",
                    source.display(),
                    arguments.join(" "),
                    run.code,
                    run.stderr.chars().take(1500).collect::<String>()
                )
            };
            match run.code {
                Some(0 | 1) => {}
                Some(2) => {
                    // Usage errors (clap's) aside, an input error names its file.
                    let file_name = Path::new(&named)
                        .file_name()
                        .and_then(|name| name.to_str())
                        .unwrap_or(&named);
                    let names_something = run.stderr.contains(file_name)
                        || run.stderr.contains('`')
                        || run.stderr.starts_with("error: unexpected argument");
                    if !names_something {
                        failures.push(format!("an exit-2 error naming no file: {}", describe()));
                    }
                }
                _ => failures.push(describe()),
            }
        }
        if matches!(kind, Kind::Dockerfile) {
            // `--fix` twice equals `--fix` once, and grows the file by at most what its fixes add.
            let before = fs_err::read(context.root.join("Dockerfile")).unwrap();
            let first = bounded(
                &context.root,
                &["lint", "--fix", "--format", "json", "Dockerfile"],
                GIB,
                30,
            );
            let once = fs_err::read(context.root.join("Dockerfile")).unwrap();
            let second = bounded(&context.root, &["lint", "--fix", "Dockerfile"], GIB, 30);
            let twice = fs_err::read(context.root.join("Dockerfile")).unwrap();
            runs += 2;
            if !matches!(first.code, Some(0..=2)) || !matches!(second.code, Some(0..=2)) {
                failures.push(format!(
                    "case {case}: lint --fix exited {:?} / {:?}: {}",
                    first.code, second.code, first.stderr
                ));
            } else if once != twice {
                failures.push(format!(
                    "case {case} (seed {seed}): `--fix` twice is not `--fix` once for `{}`",
                    source.display()
                ));
            } else {
                let fixed = serde_json::from_str::<serde_json::Value>(&first.stdout)
                    .ok()
                    .and_then(|report| report["summary"]["fixed"].as_u64())
                    .unwrap_or(0);
                // The longest text a fix adds: ` && rm -rf /var/lib/apt/lists/*` or a cleanup.
                let allowed = usize::try_from(fixed)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(64);
                if once.len() > before.len() + allowed {
                    failures.push(format!(
                        "case {case} (seed {seed}): `--fix` grew `{}` by {} bytes for {fixed} fixes",
                        source.display(),
                        once.len() - before.len()
                    ));
                }
            }
        }
        if failures.len() >= 5 {
            break;
        }
    }
    eprintln!(
        "fuzz: seed {seed}, {case} cases, {runs} runs in {:.0?}, {} failure(s)",
        started.elapsed(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
