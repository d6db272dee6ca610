//! How a platform's own tag is spelled beside a multi-platform tag: what strata pushes for
//! each platform before it makes the index, and what a user can pull one platform by.

/// What a platform adds to a tag: `linux/arm64` → `-arm64`, `linux/arm/v7` → `-armv7`, and the
/// OS too when it is not Linux (`-windows-amd64`).
pub fn platform_suffix(platform: &str) -> String {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or_default();
    let rest: String = parts.collect();
    if os == "linux" {
        format!("-{rest}")
    } else {
        format!("-{os}-{rest}")
    }
}

/// `registry/name:1.0` with `-arm64` → `registry/name:1.0-arm64` (`:latest` when untagged).
pub fn with_suffix(tag: &str, suffix: &str) -> String {
    let name_end = tag.rfind('/').map_or(0, |slash| slash + 1);
    if tag[name_end..].contains(':') {
        format!("{tag}{suffix}")
    } else {
        format!("{tag}:latest{suffix}")
    }
}
