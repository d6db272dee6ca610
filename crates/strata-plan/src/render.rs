//! A plan as people read it: the table of builds and the one-line summary.

use crate::{BuildKind, Plan};

/// `--since registry`: a plan compared with what the registry holds, not with a git reference.
pub const SINCE_REGISTRY: &str = "registry";

/// `plan: 2 science builds and 2 compat builds (changes since HEAD^)`.
pub fn summary(plan: &Plan) -> String {
    let since = match &plan.since {
        Some(since) if since == SINCE_REGISTRY => "compared with the registry".to_string(),
        Some(since) => format!("changes since {since}"),
        None if plan
            .builds
            .iter()
            .any(|build| build.reason == crate::Reason::All) =>
        {
            "--all".to_string()
        }
        None => "included directories".to_string(),
    };
    if plan.builds.is_empty() {
        return format!("plan: nothing to build ({since})");
    }
    let images = format!(
        "{} image {}",
        plan.count(BuildKind::Image),
        builds_word(plan.count(BuildKind::Image))
    );
    let counts = if plan.layouts.contains(&"sciserver") {
        let science = format!(
            "{} science {} and {} compat {}",
            plan.count(BuildKind::Science),
            builds_word(plan.count(BuildKind::Science)),
            plan.count(BuildKind::Compat),
            builds_word(plan.count(BuildKind::Compat)),
        );
        if plan.count(BuildKind::Image) > 0 {
            format!("{images}, {science}")
        } else {
            science
        }
    } else {
        images
    };
    format!("plan: {counts} ({since})")
}

fn builds_word(count: usize) -> &'static str {
    if count == 1 {
        "build"
    } else {
        "builds"
    }
}

/// The table: order, kind, name, reason, tags (one per line).
pub fn render_table(plan: &Plan) -> String {
    if plan.builds.is_empty() {
        return String::new();
    }
    let mut rows: Vec<[String; 5]> = Vec::new();
    for (index, build) in plan.builds.iter().enumerate() {
        let reason = match &build.triggered_by {
            Some(cause) => format!("{} ({cause})", build.reason.as_str()),
            None => build.reason.as_str().to_string(),
        };
        let mut tags = build.tags.iter();
        rows.push([
            (index + 1).to_string(),
            build.kind.as_str().to_string(),
            build.name.clone(),
            reason,
            tags.next().cloned().unwrap_or_default(),
        ]);
        for tag in tags {
            rows.push([
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                tag.clone(),
            ]);
        }
    }
    strata_diagnostic::table::render(["#", "KIND", "NAME", "REASON", "TAGS"], &rows)
}
