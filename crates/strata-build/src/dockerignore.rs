//! `.dockerignore` as Docker reads it: one pattern per line, `#` comments, `!` exceptions, the
//! last matching pattern wins; Go `filepath.Match` syntax (`*`, `?`, `[...]`, `\`) plus `**` for
//! any number of directories; paths are cleaned and leading `/` dropped; a pattern matching a
//! directory excludes everything under it.

/// A parsed `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    segments: Vec<String>,
    exception: bool,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> Self {
        let patterns = text
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    return None;
                }
                let (exception, body) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments: Vec<String> = body
                    .split('/')
                    .filter(|segment| !segment.is_empty() && *segment != ".")
                    .map(str::to_string)
                    .collect();
                (!segments.is_empty()).then_some(Pattern {
                    segments,
                    exception,
                })
            })
            .collect();
        Self { patterns }
    }

    /// Whether `path` (relative, `/`-separated) is excluded from the context.
    pub fn is_excluded(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // A pattern matching the path or any of its parent directories applies.
            let matches =
                (1..=parts.len()).any(|length| match_segments(&pattern.segments, &parts[..length]));
            if matches {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                glob_match(first.as_bytes(), segment.as_bytes()) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Go's `filepath.Match` for one path segment.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob_match(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && glob_match(rest, &text[1..]),
        Some((b'[', rest)) => {
            let Some((&character, text_rest)) = text.split_first() else {
                return false;
            };
            match class_match(rest, character) {
                Some((matched, after)) => matched && glob_match(after, text_rest),
                None => false,
            }
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            text.first() == Some(&rest[0]) && glob_match(&rest[1..], &text[1..])
        }
        Some((&literal, rest)) => text.first() == Some(&literal) && glob_match(rest, &text[1..]),
    }
}

/// Match `character` against a `[...]` class starting after `[`; returns whether it matched and
/// the pattern after `]`, or `None` for a malformed class.
fn class_match(pattern: &[u8], character: u8) -> Option<(bool, &[u8])> {
    let (negated, mut rest) = match pattern.first() {
        Some(b'^' | b'!') => (true, &pattern[1..]),
        _ => (false, pattern),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        let (&start, after) = rest.split_first()?;
        if start == b']' && !first {
            return Some((matched != negated, after));
        }
        first = false;
        let (start, after) = if start == b'\\' {
            (*after.first()?, &after[1..])
        } else {
            (start, after)
        };
        if after.first() == Some(&b'-') && after.get(1).is_some_and(|end| *end != b']') {
            let end = after[1];
            matched |= (start..=end).contains(&character);
            rest = &after[2..];
        } else {
            matched |= start == character;
            rest = after;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DockerIgnore;

    #[test]
    fn docker_semantics() {
        let ignore = DockerIgnore::parse(
            "# comment\n*.pyc\n/build\n**/node_modules\ndocs/*.md\n!docs/keep.md\ntmp?\n[ab].txt\n",
        );
        assert!(ignore.is_excluded("x.pyc"));
        assert!(
            !ignore.is_excluded("src/x.pyc"),
            "`*.pyc` only matches at the root, as in Docker"
        );
        assert!(ignore.is_excluded("build/out/a.o"));
        assert!(ignore.is_excluded("a/b/node_modules/x.js"));
        assert!(ignore.is_excluded("node_modules/x.js"));
        assert!(ignore.is_excluded("docs/readme.md"));
        assert!(!ignore.is_excluded("docs/keep.md"));
        assert!(!ignore.is_excluded("docs/sub/readme.md"));
        assert!(ignore.is_excluded("tmp1"));
        assert!(!ignore.is_excluded("tmp12"));
        assert!(ignore.is_excluded("a.txt"));
        assert!(!ignore.is_excluded("c.txt"));
    }

    #[test]
    fn last_match_wins() {
        let ignore = DockerIgnore::parse("*\n!keep\nkeep/secret\n");
        assert!(ignore.is_excluded("other"));
        assert!(!ignore.is_excluded("keep/file"));
        assert!(ignore.is_excluded("keep/secret"));
    }
}
