//! Rules about a final image as a whole, with what this repository's parent images set:
//! no `CMD` or `ENTRYPOINT` (`GEN002`), and no locale (`APT006`).

use crate::finding::Report;
use crate::model::File;

pub(crate) fn check(file: &File<'_>, reports: &mut Vec<Report>) {
    if !file.context.is_final {
        return;
    }
    let Some(last) = file.stages.len().checked_sub(1) else {
        return;
    };
    let facts = file.facts_until(last, usize::MAX);
    // The final stage's FROM; in a fragment, its first instruction.
    let offset = file.stages[last]
        .from
        .or_else(|| file.dockerfile.instructions.first())
        .map_or(0, File::keyword_start);
    let image = file.context.image.as_deref().map_or_else(
        || "this final image".to_string(),
        |name| format!("final image `{name}`"),
    );
    if !facts.has_command {
        reports.push(Report::new(
            "GEN002",
            offset,
            format!("{image} sets no `CMD` or `ENTRYPOINT`, and neither does any parent in this repository"),
        ));
    }
    if !file.context.fragment && !facts.env.contains("LANG") && !facts.env.contains("LC_ALL") {
        reports.push(Report::new(
            "APT006",
            offset,
            format!("{image} sets neither `LANG` nor `LC_ALL`, and neither does any parent in this repository"),
        ));
    }
}
