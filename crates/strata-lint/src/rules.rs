//! The rules: each one's code, name, default severity, the practice it checks with the seeds'
//! reasoning, and what to do about a finding. Selecting rules by code, name or category.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::error::LintError;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// `error`, `warning` or `info`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Some(Self::Error),
            "warning" | "warn" => Some(Self::Warning),
            "info" | "note" => Some(Self::Info),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// `APT004`: the category in capitals and a number.
    pub code: &'static str,
    /// `apt-lists-not-removed`.
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: &'static str,
    /// Why it matters, with the seed's reasoning.
    pub explanation: &'static str,
    /// What to do.
    pub fix: &'static str,
    /// Whether `--fix` can rewrite it.
    pub fixable: bool,
    /// hadolint's rules that check the same thing (for the agreement benchmark).
    pub hadolint: &'static [&'static str],
}

impl Rule {
    /// The category: the code's letters, lowercase (`apt`).
    pub fn category(&self) -> String {
        self.code
            .trim_end_matches(|character: char| character.is_ascii_digit())
            .to_ascii_lowercase()
    }
}

macro_rules! rule {
    ($code:literal, $name:literal, $severity:ident, $fixable:literal, [$($hadolint:literal),*],
     $summary:literal, $explanation:literal, $fix:literal) => {
        Rule {
            code: $code,
            name: $name,
            severity: Severity::$severity,
            summary: $summary,
            explanation: $explanation,
            fix: $fix,
            fixable: $fixable,
            hadolint: &[$($hadolint),*],
        }
    };
}

/// Every rule, in code order.
pub static RULES: &[Rule] = &[
    rule!("BASE001", "from-latest", Warning, false, ["DL3006", "DL3007"],
        "base image is `latest` or untagged",
        "An untagged image means `latest`, which moves: the same Dockerfile builds a different image next month, and a machine that pulled it long ago keeps building on the old one (the conda seed: `FROM jupyterhub/jupyterhub` \"gets you a version\", \"even if it's two years old\"). Images of this repository are exempt: strata builds them first.",
        "name the version it should be (`image:1.2` rather than `image` or `image:latest`), then pin it with `strata pin`"),
    rule!("BASE002", "from-not-pinned", Info, false, [],
        "base image is not pinned by digest",
        "A tag can be moved to another image at any time; only a digest names exactly one image (the conda seed: \"even better is finding the exact hash of the base image\"). A pin written as `name:tag@sha256:…` keeps the tag readable and lets `strata pin --check` and `strata outdated` see when the tag moves. An error under `--strict`.",
        "run `strata pin` to write `name:tag@sha256:…` for every external base"),
    rule!("BASE003", "internal-parent-tag", Warning, false, [],
        "image of this repository referred to by something other than its moving tag",
        "strata builds a repository's images parents first only when a `FROM` names the parent as the repository defines it. SciServer: a science layer must refer to another by `sci/<target>:<version>`, not by a build tag (`:<version>-<n>-<commit>`, frozen), a digest, or a compat build (`rel/<image>`, which brings compat files that only take space). Anything else is treated as a published image: not rebuilt when its directory changes, and possibly stale.",
        "refer to the parent by its moving tag, as the message says"),
    rule!("APT001", "apt-upgrade", Warning, false, ["DL3005"],
        "`apt-get upgrade` or `dist-upgrade` in a build",
        "Generic package manager updates make you lose control of versions (the Pawsey seed, practice 4: \"avoid `apt-get upgrade`\"): the image's contents depend on the day it was built, not on the Dockerfile. Security updates belong in a newer base image.",
        "remove the upgrade and move to a newer base image (`strata pin --update`)"),
    rule!("APT002", "apt-install-no-yes", Warning, true, ["DL3014"],
        "`apt-get install` without `-y`",
        "Builds are not interactive: without `-y`, `apt-get install` asks for confirmation, gets no answer and aborts the build when the install needs more than the named packages.",
        "add `-y` after `install`"),
    rule!("APT003", "apt-install-recommends", Warning, true, ["DL3015"],
        "`apt-get install` without `--no-install-recommends`",
        "Recommended packages are not needed to run what you install; they make the image larger and its contents less predictable. Name the packages you need.",
        "add `--no-install-recommends` after `install`"),
    rule!("APT004", "apt-lists-not-removed", Warning, true, ["DL3009"],
        "apt lists not removed in the same `RUN`",
        "`apt-get update` writes package lists under `/var/lib/apt/lists`. A layer keeps every file its `RUN` leaves, so the lists must be removed in the same `RUN`: a cleanup in a later `RUN` frees nothing (the Pawsey seed: `Dockerfile.2` cleans in a second `RUN` and stays at 379 MB; `Dockerfile.3` cleans in the same `RUN` and is 350 MB). A BuildKit cache mount on `/var/lib/apt` also keeps them out of the layer.",
        "end the `RUN` with `&& rm -rf /var/lib/apt/lists/*`"),
    rule!("APT005", "debian-frontend-env", Warning, true, [],
        "`DEBIAN_FRONTEND` set with `ENV`",
        "`ENV` persists into the image and into every image built on it, so interactive `apt` use in a running container behaves unexpectedly. The build needs it only while it runs: `ARG DEBIAN_FRONTEND=noninteractive` (build time only) or `DEBIAN_FRONTEND=noninteractive apt-get …` inline.",
        "write `ARG DEBIAN_FRONTEND=noninteractive` instead"),
    rule!("APT006", "locale-not-set", Info, false, [],
        "final image sets neither `LANG` nor `LC_ALL`",
        "Without a locale some programs warn or misbehave, at build and at run time (the Pawsey seed, practice 5: `ENV LANG=\"C.UTF-8\" LC_ALL=\"C.UTF-8\"` at the beginning of the Dockerfile). Checked on final images, with what this repository's parent images set.",
        "add `ENV LANG=C.UTF-8 LC_ALL=C.UTF-8` near the top"),
    rule!("PIP001", "pip-no-cache-dir", Warning, true, ["DL3042"],
        "`pip install` without `--no-cache-dir`",
        "pip keeps every download under `~/.cache/pip`, which then ships in the layer (the Pawsey seed: `--no-cache-dir` took `astropy` from 228 MB to 206 MB). Not reported when `PIP_NO_CACHE_DIR` is set or the `RUN` has a BuildKit cache mount for pip's cache.",
        "add `--no-cache-dir` after `install`"),
    rule!("PIP002", "pip-unpinned", Warning, false, ["DL3013"],
        "`pip install` of a package without a pinned version",
        "An unpinned requirement installs whatever is newest on the day of the build (the Pawsey seed, practice 4: \"rely on explicit versioning of the key packages\"). Pin it (`astropy==3.2.3`, or `==$ASTRO_VERSION` from an `ARG`), or better, install from a lock file.",
        "pin the version (`name==X.Y`), or lock with `strata lock` and install the lock"),
    rule!("PIP003", "pip-upgrade", Warning, false, [],
        "`pip install --upgrade` of packages other than pip",
        "`--upgrade` asks for whatever is newest, now and in every rebuild (the Pawsey seed, practice 4: \"avoid … `pip install --upgrade`\"). Upgrading pip itself is fine.",
        "pin the versions instead of upgrading"),
    rule!("PIP004", "pip-lock-without-hashes", Warning, true, [],
        "a lock file installed without `--require-hashes --no-deps`",
        "A hash-pinned lock file is only a guarantee when pip is told to enforce it: `--require-hashes` refuses any file whose hash is not in the lock, `--no-deps` installs exactly the lock and nothing pip resolves on its own (the phys-398 workflow's secure install: `pip install --no-deps --require-hashes -r requirements.lock`).",
        "add `--require-hashes --no-deps` to the install"),
    rule!("CONDA001", "conda-activate", Warning, false, [],
        "`conda activate` or `source activate` in a `RUN`",
        "Each `RUN` starts a new shell, so the variables an activation sets do not persist past its `RUN` (the conda seed: \"the environment variables set by `source activate myenv` don't persist between RUNs\"). Use `SHELL [\"conda\", \"run\", \"--name\", \"myenv\", \"bash\", \"-c\"]`, or set the variables with `ENV`.",
        "use `SHELL [\"conda\", \"run\", \"-n\", \"<env>\", \"/bin/bash\", \"-c\"]` or `conda run -n <env> …`"),
    rule!("CONDA002", "conda-shell-missing", Warning, false, [],
        "a `RUN` uses a conda environment that is not activated",
        "After `conda create -n <env>`, a plain `python` or `pip` in a later `RUN` is the base environment's (or none), not the new one, and packages that need activation (the seed's `PROJ_LIB` for `basemap`) break. The conda seed's fix: `SHELL [\"conda\", \"run\", \"--name\", \"<env>\", \"bash\", \"-c\"]` before the `RUN`s that need it (or the environment's `bin` first on `PATH`).",
        "add `SHELL [\"conda\", \"run\", \"-n\", \"<env>\", \"/bin/bash\", \"-c\"]` after creating the environment"),
    rule!("CONDA003", "conda-unpinned", Warning, false, [],
        "`conda install` of a package without a pinned version",
        "conda resolves unpinned packages to whatever is newest, and may update what the base image shipped (the Pawsey seed, practice 4; the conda seed's \"freezing the conda environment\"). Pin versions (`astropy=3.2.3`) or install an exported environment with `--file`.",
        "pin the version (`name=X.Y`), or install a frozen list with `--file`"),
    rule!("CONDA004", "conda-clean-missing", Warning, true, [],
        "`conda install` without `conda clean -afy` in the same `RUN`",
        "conda keeps downloaded tarballs and extracted packages in `pkgs/`; unless they are removed in the same `RUN`, the layer keeps them (the Pawsey seed: `conda clean` took the astropy image from 1.6 GB to 1.37 GB).",
        "end the `RUN` with `&& conda clean -afy`"),
    rule!("CONDA005", "conda-update", Warning, false, [],
        "`conda update` in a build",
        "Updating moves every package to whatever is newest, so the image depends on the day of the build (the Pawsey seed, practice 4: \"avoid … `conda update`\"). Pin versions; update the base image instead.",
        "remove the update; pin the versions you need"),
    rule!("CONDA006", "pip-into-conda-base", Info, false, [],
        "`pip install` into a conda image's base environment",
        "pip does not know conda's packages: it can replace one conda installed, leaving conda's metadata wrong, and a later `conda install` can undo it. In a conda image prefer conda packages, or install with pip into an environment of its own (`conda run -n <env> pip install …`), pinned and with `--no-deps` from a lock.",
        "install with conda, or into a named environment"),
    rule!("GEN001", "add-url", Warning, false, [],
        "`ADD` of a URL",
        "`ADD <url>` downloads without checking what it got and is not cached like a `RUN`; the download can change under the same URL. Use `ADD --checksum=sha256:…` (BuildKit) or download in a `RUN` and verify the checksum.",
        "use `ADD --checksum=sha256:… <url>` or `RUN curl … && sha256sum -c`"),
    rule!("GEN002", "no-default-command", Info, false, [],
        "final image has no `CMD` or `ENTRYPOINT`",
        "Without one, `docker run <image>` runs whatever the base image set, which may be a Python console or nothing useful (the Pawsey seed, practice 7: \"think about the default command\", `/bin/bash` for most images). Checked on final images, with what this repository's parent images set.",
        "add `CMD [\"/bin/bash\"]` (or the program users run)"),
    rule!("GEN003", "entrypoint-shell-form", Warning, false, ["DL3025"],
        "`ENTRYPOINT` in shell form",
        "A shell-form `ENTRYPOINT` runs under `/bin/sh -c`, so the program is not PID 1, gets no signals (`docker stop` waits and kills it), and ignores `CMD` and `docker run` arguments.",
        "write it in exec form: `ENTRYPOINT [\"program\", \"arg\"]`"),
    rule!("GEN004", "maintainer", Warning, true, ["DL4000"],
        "`MAINTAINER` is deprecated",
        "`MAINTAINER` is deprecated; a label is what tools read (the Pawsey seed, practice 6: `LABEL maintainer=\"john.doe@nowhere.com\"`).",
        "write `LABEL maintainer=\"…\"`"),
    rule!("GEN005", "run-cd", Info, false, ["DL3003"],
        "`RUN cd …` to change directory",
        "A `cd` does not outlive its `RUN`; a `RUN` that starts with one is working around `WORKDIR`. A `cd` into a temporary build directory later in a `RUN` (the Pawsey seed's practice 2) is fine.",
        "use `WORKDIR`"),
    rule!("GEN006", "copy-context-before-install", Warning, false, [],
        "whole build context copied before dependencies are installed",
        "Any change to any file of the context invalidates the cache from this `COPY` on, so every edit reinstalls every dependency. Copy the requirement or lock files first, install, then copy the rest.",
        "copy only the dependency files (`COPY requirements.lock .`) before installing; copy the rest after"),
    rule!("GEN007", "latest-download", Warning, false, [],
        "download of a `latest` release",
        "A URL that names `latest` gives a different file as releases come out, so the build is not reproducible (the Pawsey seed, practice 4: \"avoid downloading sources/binaries for `latest` versions, specify the version number instead\").",
        "download a named version (an `ARG` with the version), and check its checksum"),
    rule!("GEN008", "invalid-instruction", Error, false, [],
        "instruction BuildKit cannot read",
        "An unknown instruction or a `FROM` that cannot be read fails the build; lint says so before an engine is involved.",
        "correct the instruction"),
];

/// A rule by code (any case) or name.
pub fn rule(key: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|rule| rule.code.eq_ignore_ascii_case(key) || rule.name == key)
}

/// The rules a selector names: a code, a name, a category (`apt`, `APT`) or `all`.
pub(crate) fn matching(selector: &str) -> Result<Vec<&'static Rule>, LintError> {
    let selector = selector.trim();
    if selector.eq_ignore_ascii_case("all") {
        return Ok(RULES.iter().collect());
    }
    if let Some(rule) = rule(selector) {
        return Ok(vec![rule]);
    }
    let category: Vec<&Rule> = RULES
        .iter()
        .filter(|rule| rule.category().eq_ignore_ascii_case(selector))
        .collect();
    if category.is_empty() {
        Err(LintError::UnknownRule {
            rule: selector.to_string(),
        })
    } else {
        Ok(category)
    }
}

/// The codes selected: `select` (all when empty) minus `ignore`.
pub(crate) fn selected(
    select: &[String],
    ignore: &[String],
) -> Result<BTreeSet<&'static str>, LintError> {
    let mut codes: BTreeSet<&'static str> = BTreeSet::new();
    if select.is_empty() {
        codes.extend(RULES.iter().map(|rule| rule.code));
    }
    for selector in select {
        codes.extend(matching(selector)?.into_iter().map(|rule| rule.code));
    }
    for selector in ignore {
        for rule in matching(selector)? {
            codes.remove(rule.code);
        }
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = BTreeSet::new();
        let mut names = BTreeSet::new();
        for rule in RULES {
            assert!(codes.insert(rule.code), "{} twice", rule.code);
            assert!(names.insert(rule.name), "{} twice", rule.name);
            assert!(rule.summary.len() < 90, "{} summary too long", rule.code);
            assert!(!rule.explanation.is_empty() && !rule.fix.is_empty());
        }
        // Categories in a reading order; codes ascend within each.
        for pair in RULES.windows(2) {
            if pair[0].category() == pair[1].category() {
                assert!(
                    pair[0].code < pair[1].code,
                    "{} before {}",
                    pair[0].code,
                    pair[1].code
                );
            }
        }
    }

    #[test]
    fn selectors_name_codes_names_and_categories() {
        let selected = selected(
            &["apt".to_string()],
            &["apt-install-recommends".to_string()],
        )
        .unwrap();
        assert_eq!(
            selected.into_iter().collect::<Vec<_>>(),
            ["APT001", "APT002", "APT004", "APT005", "APT006"]
        );
        assert!(matches!(
            matching("APT999"),
            Err(LintError::UnknownRule { .. })
        ));
        assert_eq!(
            matching("pip004").unwrap()[0].name,
            "pip-lock-without-hashes"
        );
    }
}
