//! Base images: `latest` or untagged (`BASE001`), not pinned by digest (`BASE002`), and images
//! of this repository referred to other than by their moving tag (`BASE003`).

use strata_dockerfile::{ImageReference, ReferenceKind};

use crate::finding::Report;
use crate::model::File;

pub(crate) fn check(file: &File<'_>, reports: &mut Vec<Report>) {
    let Some(references) = &file.references else {
        return;
    };
    for (index, stage) in references.stages.iter().enumerate() {
        for site in std::iter::once(&stage.from).chain(&stage.reads) {
            if site.kind == ReferenceKind::From
                && references.stage_named(&site.expanded, index).is_some()
            {
                continue;
            }
            let expanded = site.expanded.as_str();
            if expanded.eq_ignore_ascii_case("scratch") || expanded.contains('$') {
                continue;
            }
            let shown = if site.written == site.expanded {
                format!("`{expanded}`")
            } else {
                format!("`{}` (`{expanded}`)", site.written)
            };
            if let Some(advice) = file.context.misreferenced.get(expanded) {
                reports.push(Report::new(
                    "BASE003",
                    site.span.start,
                    format!("{shown} {advice}"),
                ));
                continue;
            }
            if file.context.internal.contains_key(expanded) {
                continue;
            }
            let parsed = ImageReference::parse(expanded);
            if parsed.digest.is_some() {
                continue;
            }
            match parsed.tag {
                None => reports.push(Report::new(
                    "BASE001",
                    site.span.start,
                    format!("{shown} has no tag, so it means `latest`, which moves"),
                )),
                Some(tag) if tag.eq_ignore_ascii_case("latest") => reports.push(Report::new(
                    "BASE001",
                    site.span.start,
                    format!("{shown} is tagged `latest`, which moves"),
                )),
                Some(_) => {}
            }
            reports.push(Report::new(
                "BASE002",
                site.span.start,
                format!("{shown} is not pinned by digest"),
            ));
        }
    }
}
