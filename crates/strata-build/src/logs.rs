//! Full build logs, one file per build (`<dir>/<build>.log`), written from the build events.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::events::BuildEvent;

/// Writes each build's events to its log file, replacing the previous run's.
pub struct LogWriter {
    directory: PathBuf,
    files: HashMap<String, std::io::BufWriter<fs_err::File>>,
}

impl LogWriter {
    pub fn new(directory: &Path) -> std::io::Result<Self> {
        fs_err::create_dir_all(directory)?;
        Ok(Self {
            directory: directory.to_path_buf(),
            files: HashMap::new(),
        })
    }

    /// The log file of a build.
    pub fn path_of(&self, build: &str) -> PathBuf {
        let file: String = build
            .chars()
            .map(|character| {
                if character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.') {
                    character
                } else {
                    '_'
                }
            })
            .collect();
        self.directory.join(format!("{file}.log"))
    }

    pub fn record(&mut self, event: &BuildEvent) -> std::io::Result<()> {
        let line = match event {
            BuildEvent::Started { .. } => "started".to_string(),
            BuildEvent::Step { step, .. } => format!("==> {step}"),
            BuildEvent::Output { line, .. } => line.clone(),
            BuildEvent::UpToDate { image, inputs, .. } => {
                format!("up to date: {image} (inputs {inputs})")
            }
            BuildEvent::Built {
                image,
                inputs,
                seconds,
                ..
            } => format!("built {image} in {seconds:.1}s (inputs {inputs})"),
            BuildEvent::Failed { error, .. } => format!("failed: {error}"),
            BuildEvent::Skipped { because, .. } => format!("skipped: {because}"),
            BuildEvent::Tested {
                test,
                passed,
                seconds,
                failure,
                ..
            } => match failure {
                _ if *passed => format!("test passed: {test} ({seconds:.1} s)"),
                Some(failure) => format!("test failed: {test}: {failure} ({seconds:.1} s)"),
                None => format!("test failed: {test} ({seconds:.1} s)"),
            },
            BuildEvent::Normalised {
                image,
                digest,
                rewritten,
                scrubbed,
                ..
            } => {
                let mut line = format!(
                    "normalised into {image} (manifest {digest}, {rewritten} layers rewritten)"
                );
                for path in scrubbed {
                    line.push_str("\nscrubbed /");
                    line.push_str(path);
                }
                line
            }
            BuildEvent::Tagged { tags, .. } => format!("tagged {}", tags.join(" ")),
            BuildEvent::Manifest { path, .. } => format!("manifest: {path}"),
            BuildEvent::Warning { message, .. } => format!("warning: {message}"),
            BuildEvent::Pushed { tag, digest, .. } => {
                format!("pushed {tag} {}", digest.as_deref().unwrap_or(""))
            }
            BuildEvent::IndexPushed {
                tag,
                digest,
                platforms,
                ..
            } => format!("pushed {tag} {digest} (index: {})", platforms.join(", ")),
            BuildEvent::PushFailed { tag, error, .. } => format!("push of {tag} failed: {error}"),
        };
        let build = event.build().to_string();
        if !self.files.contains_key(&build) {
            let file = fs_err::File::create(self.path_of(&build))?;
            self.files
                .insert(build.clone(), std::io::BufWriter::new(file));
        }
        if let Some(writer) = self.files.get_mut(&build) {
            writeln!(writer, "{line}")?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        for writer in self.files.values_mut() {
            writer.flush()?;
        }
        Ok(())
    }
}
