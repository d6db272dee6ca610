//! `strata plan`: what a change rebuilds, as a table, JSON, or a bake file.

use anyhow::Context;
use strata_cli::PlanFormat;
use strata_plan::Plan;
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::output::write_output;
use crate::printer::Printer;
use strata_cli::settings::PlanSettings;

pub fn plan(
    settings: &PlanSettings,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (repository, plan) = strata_select::open_and_plan(session, &settings.select)?;
    printer.warn_each(&repository.warnings);
    // `[trust]`: a base whose signature does not verify is refused before anything else.
    let trusted = strata_select::check_bases(session, &repository, &plan)?;
    super::signing::report_trusted(&trusted, printer);
    let text = match settings.format {
        PlanFormat::Text => strata_plan::render_table(&plan),
        PlanFormat::Json => json_text(&plan)?,
        PlanFormat::Bake => {
            let paths = bake_paths(settings, &repository, &plan, printer)?;
            let bake = strata_plan::bake_file(&plan, &repository, &paths);
            let mut text = serde_json::to_string_pretty(&bake)?;
            text.push('\n');
            text
        }
    };
    write_output(settings.output.as_deref(), &text, printer)?;
    printer.info(&strata_plan::summary(&plan));
    Ok(ExitStatus::Success)
}

/// With `--output FILE`, every path is relative to the file's directory and the assembled compat
/// contexts are written beside it (`<FILE stem>.contexts/`), so `docker buildx bake -f FILE`
/// runs from there as it is. On stdout, paths are relative to the repository root and compat
/// contexts are looked for in `--contexts-dir` (`strata build --emit-context` writes them).
fn bake_paths(
    settings: &PlanSettings,
    repository: &strata_repo::Repository,
    plan: &Plan,
    printer: &Printer,
) -> anyhow::Result<strata_plan::BakePaths> {
    let Some(output) = &settings.output else {
        return Ok(strata_plan::BakePaths {
            root: String::new(),
            contexts_dir: settings.contexts_dir.clone(),
        });
    };
    let directory = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    fs_err::create_dir_all(&directory)?;
    let stem = output.file_stem().map_or_else(
        || "bake".to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let contexts_dir = format!("{stem}.contexts");
    let written = strata_build::emit_contexts(repository, plan, &directory.join(&contexts_dir))
        .with_context(|| {
            format!(
                "cannot write the compat contexts beside `{}`",
                output.display()
            )
        })?;
    if !written.is_empty() {
        printer.info(&format!(
            "wrote {} compat context(s) to `{}`",
            written.len(),
            directory.join(&contexts_dir).display()
        ));
    }
    Ok(strata_plan::BakePaths {
        root: relative_path(&directory, &repository.root)?,
        contexts_dir,
    })
}

/// `to` relative to `from` (both directories), `/`-separated: `../repo`, or `""` for the same.
fn relative_path(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<String> {
    let from = from
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", from.display()))?;
    let to = to
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", to.display()))?;
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to)
        .take_while(|(left, right)| left == right)
        .count();
    let parts: Vec<String> = std::iter::repeat_n("..".to_string(), from.len() - common)
        .chain(
            to[common..]
                .iter()
                .map(|part| part.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    Ok(parts.join("/"))
}

fn json_text(plan: &Plan) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(plan)?;
    text.push('\n');
    Ok(text)
}
