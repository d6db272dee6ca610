//! `strata lock` through the binary. Tests named `live_pypi_*` reach PyPI (the brief allows a few
//! live tests); the image tests also need the Docker daemon and registry, and fail loudly
//! without them.

mod conda;
mod image;
mod live;
mod site_path;

use strata_test::TestContext;

const BINARY: &str = env!("CARGO_BIN_EXE_strata");

/// A directory with a `requirements.txt` and an isolated cache.
fn with_requirements(text: &str) -> TestContext {
    let context = TestContext::new(BINARY);
    context.write("requirements.txt", text);
    context
}

fn lock_text(context: &TestContext) -> String {
    fs_err::read_to_string(context.root.join("requirements.lock")).unwrap()
}

/// `name==version` lines of a lock.
fn pins(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.starts_with(' ') && !line.starts_with('#') && line.contains("=="))
        .map(|line| line.trim_end_matches(" \\").to_string())
        .collect()
}

fn pinned_version(text: &str, name: &str) -> String {
    pins(text)
        .iter()
        .find_map(|pin| pin.strip_prefix(&format!("{name}==")).map(str::to_string))
        .unwrap_or_else(|| panic!("`{name}` is not pinned in:\n{text}"))
}
