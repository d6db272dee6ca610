//! The search's version order and constraints (`site/versions.js`), checked in Node by
//! `test/catalog/versions.test.mjs`: pip, Debian, conda and R versions, PEP 440's operators.

#[test]
fn the_search_orders_versions_as_their_ecosystems_do() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test/catalog/versions.test.mjs");
    let output = std::process::Command::new("node")
        .arg(&script)
        .output()
        .expect("node runs the catalogue's script tests (Debian: apt-get install nodejs)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.trim(), "[]", "checks that failed");
}
