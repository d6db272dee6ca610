//! `TestContext`: a temporary image repository under git, and the strata binary to run on it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (where `test/repos/` and `examples/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the strata-test crate lives at crates/strata-test")
        .to_path_buf()
}

/// A fixture repository under `test/repos/`.
pub fn fixture_path(name: &str) -> PathBuf {
    workspace_root().join("test/repos").join(name)
}

/// A temporary repository and an isolated environment for the strata binary.
pub struct TestContext {
    /// Kept so the directory lives as long as the context.
    _temp: tempfile::TempDir,
    /// The repository root.
    pub root: PathBuf,
    home: PathBuf,
    binary: PathBuf,
    commits: u32,
}

impl TestContext {
    /// An empty git repository. `binary` is `env!("CARGO_BIN_EXE_strata")` of the caller.
    pub fn new(binary: &str) -> Self {
        let temp = tempfile::tempdir().expect("a temporary directory");
        let root = temp.path().join("repo");
        let home = temp.path().join("home");
        fs_err::create_dir_all(&root).expect("create the repository directory");
        fs_err::create_dir_all(&home).expect("create HOME");
        let context = Self {
            _temp: temp,
            root,
            home,
            binary: PathBuf::from(binary),
            commits: 0,
        };
        context.git(&["init", "--quiet", "--initial-branch=main"]);
        context
    }

    /// A git repository holding a copy of `test/repos/<name>` (or any directory), committed.
    pub fn from_fixture(binary: &str, name: &str) -> Self {
        let mut context = Self::new(binary);
        let source = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            fixture_path(name)
        };
        copy_directory(&source, &context.root);
        context.commit("initial import");
        context
    }

    /// Write a file (creating directories), relative to the root.
    pub fn write(&self, path: &str, contents: &str) -> &Self {
        let path = self.root.join(path);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).expect("create parent directories");
        }
        fs_err::write(path, contents).expect("write a file");
        self
    }

    /// Append a line to a file, relative to the root.
    pub fn touch(&self, path: &str) -> &Self {
        let existing = fs_err::read_to_string(self.root.join(path)).unwrap_or_default();
        self.write(path, &format!("{existing}# changed\n"))
    }

    pub fn remove(&self, path: &str) -> &Self {
        let path = self.root.join(path);
        if path.is_dir() {
            fs_err::remove_dir_all(path).expect("remove a directory");
        } else {
            fs_err::remove_file(path).expect("remove a file");
        }
        self
    }

    /// Run git in the repository with a fixed identity and clock, so commit hashes are stable.
    pub fn git(&self, arguments: &[&str]) -> String {
        let output = Command::new("git")
            .args(arguments)
            .current_dir(&self.root)
            .envs(self.git_environment())
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {arguments:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Commit everything, with a deterministic date per commit.
    pub fn commit(&mut self, message: &str) -> String {
        self.commits += 1;
        self.git(&["add", "--all"]);
        let date = format!("2024-01-01T00:{:02}:00Z", self.commits);
        let output = Command::new("git")
            .args(["commit", "--quiet", "--allow-empty", "-m", message])
            .current_dir(&self.root)
            .envs(self.git_environment())
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("run git commit");
        assert!(
            output.status.success(),
            "git commit failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.git(&["rev-parse", "HEAD"])
    }

    fn git_environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home.display().to_string()),
            ("GIT_CONFIG_NOSYSTEM", "1".to_string()),
            ("GIT_AUTHOR_NAME", "strata tests".to_string()),
            ("GIT_AUTHOR_EMAIL", "tests@strata.invalid".to_string()),
            ("GIT_COMMITTER_NAME", "strata tests".to_string()),
            ("GIT_COMMITTER_EMAIL", "tests@strata.invalid".to_string()),
        ]
    }

    /// The strata binary, run in the repository root with an isolated HOME, Docker config and
    /// caches, no colour, no progress, fixed terminal width, and none of the user's strata
    /// variables.
    pub fn strata(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.current_dir(&self.root);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("STRATA_") && key != "STRATA_REQUIRE_SERVICES" {
                command.env_remove(&key);
            }
        }
        command
            .envs(self.git_environment())
            .env("DOCKER_CONFIG", self.docker_config_dir())
            // Caches of its own: nothing leaks in from the user's environment or between tests.
            .env("STRATA_CACHE_DIR", self.home.join(".cache/strata"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("NO_COLOR", "1")
            .env("STRATA_NO_PROGRESS", "1")
            .env("COLUMNS", "100")
            .env_remove("RUST_LOG");
        command
    }

    /// The cache directory strata is given (`STRATA_CACHE_DIR`).
    pub fn cache_dir(&self) -> PathBuf {
        self.home.join(".cache/strata")
    }

    /// The isolated Docker config directory strata reads credentials from.
    pub fn docker_config_dir(&self) -> PathBuf {
        self.home.join(".docker")
    }

    /// Store registry credentials as `docker login` would, in the isolated Docker config.
    pub fn login(&self, registry: &str, username: &str, password: &str) {
        use base64::Engine as _;
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        let directory = self.docker_config_dir();
        fs_err::create_dir_all(&directory).expect("create the Docker config directory");
        let path = directory.join("config.json");
        let mut config: serde_json::Value = fs_err::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_else(|| serde_json::json!({"auths": {}}));
        config["auths"][registry] = serde_json::json!({ "auth": auth });
        fs_err::write(
            path,
            serde_json::to_vec_pretty(&config).expect("a config serialises"),
        )
        .expect("write the Docker config");
    }

    /// Run strata with arguments and render the result for a snapshot: exit code, stdout,
    /// stderr, with the temporary directory replaced by `[ROOT]`.
    pub fn run(&self, arguments: &[&str]) -> String {
        let output = self.strata().args(arguments).output().expect("run strata");
        self.render(&output)
    }

    /// Run strata and return its raw output.
    pub fn output(&self, arguments: &[&str]) -> Output {
        self.strata().args(arguments).output().expect("run strata")
    }

    pub fn render(&self, output: &Output) -> String {
        let root = self.root.display().to_string();
        let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&root, "[ROOT]");
        format!(
            "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            output.status.success(),
            output.status.code().unwrap_or(-1),
            clean(&output.stdout),
            clean(&output.stderr)
        )
    }
}

fn copy_directory(source: &Path, destination: &Path) {
    for entry in fs_err::read_dir(source).expect("read a fixture directory") {
        let entry = entry.expect("a directory entry");
        let target = destination.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            fs_err::create_dir_all(&target).expect("create a directory");
            copy_directory(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
