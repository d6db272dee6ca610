//! The labels a build adds that depend on when and from what it ran.

use std::collections::BTreeMap;
use std::time::SystemTime;

use strata_plan::{Build, BuildKind};

pub use strata_inspect::{BASE_DIGEST_LABEL, BASE_NAME_LABEL};

/// The labels that say when a build ran: SciServer's `buildtime` breadcrumbs (seconds since the
/// epoch, as image-builder writes them) and `org.opencontainers.image.created`.
pub(super) fn build_time_labels(build: &Build, epoch: Option<u64>) -> BTreeMap<String, String> {
    let now = match epoch {
        Some(epoch) => SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(epoch),
        None => SystemTime::now(),
    };
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |duration| duration.as_secs_f64());
    let mut labels = BTreeMap::new();
    labels.insert(
        "org.opencontainers.image.created".to_string(),
        humantime::format_rfc3339_seconds(now).to_string(),
    );
    match build.kind {
        BuildKind::Science => {
            labels.insert(
                format!("org.sciserver.science.{}.buildtime", build.name),
                format!("{seconds:.6}"),
            );
        }
        BuildKind::Compat => {
            labels.insert(
                "org.sciserver.compat.buildtime".to_string(),
                format!("{seconds:.6}"),
            );
        }
        BuildKind::Image => {}
    }
    labels
}
