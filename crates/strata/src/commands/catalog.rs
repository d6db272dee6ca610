//! `strata catalog`: the family's catalogue written to a directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use strata_cli::CatalogArgs;
use strata_session::Session;

use crate::exit_status::ExitStatus;
use crate::printer::Printer;

#[derive(Serialize)]
struct Written {
    /// The site's front page.
    index: PathBuf,
    catalog: PathBuf,
    pages: Vec<PathBuf>,
    images: usize,
    published: usize,
}

pub fn catalog(
    arguments: &CatalogArgs,
    session: &Session,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let select =
        strata_select::SelectRequest::every_image(arguments.path.clone(), arguments.repo.clone());
    let (repository, plan) = strata_select::open_and_plan(session, &select)?;
    printer.warn_each(&repository.warnings);
    let spinner = printer.spinner(&format!("reading {} image(s)", plan.builds.len()));
    let keys = arguments
        .keys
        .iter()
        .map(|path| strata_sign::read_public_key(path))
        .collect::<Result<Vec<_>, _>>()?;
    let found = session.block_on(strata_catalog::read_images(
        session,
        &plan.builds,
        arguments.registry,
        if arguments.registry {
            arguments.history
        } else {
            0
        },
        &keys,
    ));
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let found = found?;
    let lint = match strata_catalog::lint_findings(&repository.root) {
        Ok(lint) => lint,
        Err(error) => {
            printer.warn(&format!(
                "the pages show no lint findings: {}",
                strata_repo::join_chain(&error, ": ")
            ));
            BTreeMap::new()
        }
    };
    // Each image's findings, when a store is given: a package or layer stack several images
    // share is matched or read once.
    let store = arguments
        .audit_db
        .as_deref()
        .map(|db| strata_audit::open_or_import(db, session.caches().root()))
        .transpose()?;
    let mut auditor = store.as_ref().map(strata_audit::Auditor::new);
    let mut findings = Vec::new();
    for read in &found {
        findings.push(match (&mut auditor, &read.facts) {
            (Some(auditor), Some(facts)) => {
                let mut found = auditor.audit(facts)?;
                strata_audit::place_findings(auditor, &mut found, facts, session);
                Some(found)
            }
            // Not published: nothing to audit, and its page says so.
            (_, None) | (None, _) => None,
        });
    }
    let entries: Vec<strata_catalog::Entry<'_>> = plan
        .builds
        .iter()
        .zip(&found)
        .zip(findings)
        .map(|((build, read), findings)| strata_catalog::Entry {
            build,
            facts: read.facts.as_ref(),
            history: &read.history,
            lint: lint.get(&build.dockerfile).cloned().unwrap_or_default(),
            signature: read.signature.clone(),
            platforms: read.platforms.clone(),
            also_tagged: read.also_tagged.clone(),
            findings,
            readme: std::fs::read_to_string(repository.root.join(&build.context).join("README.md"))
                .ok(),
        })
        .collect();
    for (build, read) in plan.builds.iter().zip(&found) {
        if read.facts.is_none() {
            printer.warn(&format!(
                "`{}` is not published under any of its tags: its page says so ({})",
                build.name,
                read.problems.last().map_or("no tags", String::as_str)
            ));
        } else if let Some(problem) = read.problems.last() {
            printer.warn(&format!("`{}`: {problem}", build.name));
        }
    }
    let catalog = strata_catalog::catalog(&entries);
    let mut pages = Vec::new();
    for (image, entry) in catalog.images.iter().zip(&entries) {
        let path = arguments.output.join(&image.page);
        strata_fs::write_cache_file(
            &path,
            strata_catalog::markdown_page(image, entry.facts).as_bytes(),
        )?;
        pages.push(path);
    }
    let title = arguments.title.clone().unwrap_or_else(|| {
        let directory = std::fs::canonicalize(&repository.root)
            .ok()
            .and_then(|root| Some(root.file_name()?.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "The".to_string());
        format!("{directory} images")
    });
    let facts: Vec<_> = entries.iter().map(|entry| entry.facts).collect();
    let histories: Vec<&[strata_catalog::PastBuild]> =
        found.iter().map(|read| read.history.as_slice()).collect();
    let site = strata_catalog::site(&catalog, &facts, &histories, &title)
        .map_err(|error| anyhow::anyhow!("cannot write the catalogue's pages: {error:#}"))?;
    // Each file whole or not at all, but not waited on to reach the disk: the site is made
    // again by running this again (and a family's site is a few hundred files).
    for file in &site {
        strata_fs::write_cache_file(&arguments.output.join(&file.path), &file.contents)?;
    }
    let site_index = arguments.output.join("index.html");
    let catalog_path = arguments.output.join("catalog.json");
    let mut json = serde_json::to_string_pretty(&catalog)?;
    json.push('\n');
    strata_fs::write_atomically(&catalog_path, json.as_bytes())?;
    let published = catalog
        .images
        .iter()
        .filter(|image| image.published)
        .count();
    if arguments.json {
        let mut text = serde_json::to_string_pretty(&Written {
            index: site_index.clone(),
            catalog: catalog_path.clone(),
            pages,
            images: catalog.images.len(),
            published,
        })?;
        text.push('\n');
        printer.data(&text);
    }
    printer.info(&format!(
        "wrote the catalogue `{}` (open it in a browser; data in catalog.json) and a page per image: {} image(s), {published} published",
        site_index.display(),
        catalog.images.len()
    ));
    Ok(ExitStatus::Success)
}
