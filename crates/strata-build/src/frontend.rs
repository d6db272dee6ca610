//! What the engine's Dockerfile frontend can read, checked before the build: heredocs
//! (`RUN <<EOF`) need Docker 23+ (or Podman 4.8+), or a `# syntax=docker/dockerfile:1.4`
//! directive on BuildKit, which fetches that frontend. Docker 20.10's built-in frontend would
//! fail with "unknown instruction" on the body's first line; strata names the heredoc instead.

use strata_engine::DockerfileSupport;

use crate::context::{BuildContext, Entry};
use crate::error::BuildError;

/// An error when the context's Dockerfile uses what the engine cannot build.
pub(crate) fn check(
    context: &BuildContext,
    dockerfile_path: &str,
    support: &DockerfileSupport,
) -> Result<(), BuildError> {
    if support.heredocs {
        return Ok(());
    }
    let Some(Entry::File { contents, .. }) = context.entries.get(&context.dockerfile) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(contents);
    let Ok(syntax) = strata_dockerfile::parse(&text) else {
        return Ok(());
    };
    let has_syntax = syntax
        .directives
        .iter()
        .any(|directive| directive.name == "syntax");
    if has_syntax && support.syntax_directive {
        return Ok(());
    }
    match syntax
        .instructions
        .iter()
        .find(|instruction| !instruction.heredocs.is_empty())
    {
        Some(instruction) => Err(BuildError::HeredocsUnsupported {
            dockerfile: dockerfile_path.to_string(),
            line: instruction.line,
            engine: support.engine.clone(),
            syntax_directive: support.syntax_directive,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_diagnostic::Diagnostic as _;

    fn context(text: &str) -> BuildContext {
        let mut context = BuildContext {
            dockerfile: "Dockerfile".to_string(),
            ..BuildContext::default()
        };
        context.entries.insert(
            "Dockerfile".to_string(),
            Entry::File {
                mode: 0o644,
                contents: text.as_bytes().to_vec(),
            },
        );
        context
    }

    fn docker_20() -> DockerfileSupport {
        DockerfileSupport {
            heredocs: false,
            syntax_directive: true,
            engine: "Docker 20.10.24".to_string(),
        }
    }

    #[test]
    fn heredocs_need_a_newer_engine_or_a_syntax_directive() {
        let heredoc = "FROM a\nRUN echo one\nRUN <<EOF\necho two\nEOF\n";
        let error = check(&context(heredoc), "images/a/Dockerfile", &docker_20()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`images/a/Dockerfile` line 3 uses a heredoc (`<<EOF`), which Docker 20.10.24's built-in Dockerfile frontend cannot read"
        );
        assert!(error
            .hint()
            .unwrap()
            .contains("# syntax=docker/dockerfile:1.4"));
        let with_syntax = format!("# syntax=docker/dockerfile:1.4\n{heredoc}");
        assert!(check(&context(&with_syntax), "Dockerfile", &docker_20()).is_ok());
        assert!(check(
            &context("FROM a\nRUN echo <<< x\n"),
            "Dockerfile",
            &docker_20()
        )
        .is_ok());
        let legacy = DockerfileSupport {
            syntax_directive: false,
            ..docker_20()
        };
        let error = check(&context(&with_syntax), "Dockerfile", &legacy).unwrap_err();
        assert!(!error.hint().unwrap().contains("# syntax"));
    }
}
