//! Normalising layers: the same files give the same bytes whatever their times and order, and
//! what the files are survives byte for byte.

use std::io::{Seek, SeekFrom, Write};

use proptest::prelude::*;
use strata_reproducible::{layer_files, normalise_layer, NormalisedLayer, Scrub};

const EPOCH: u64 = 1_650_000_000;

#[derive(Debug, Clone)]
enum Kind {
    File(Vec<u8>),
    Directory,
    Symlink(String),
    HardLink(String),
}

fn layer(entries: &[(&str, Kind, u64)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, mtime) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(*mtime);
        header.set_uid(1000);
        header.set_gid(100);
        match kind {
            Kind::File(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, path, &data[..]).unwrap();
            }
            Kind::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, path, std::io::empty())
                    .unwrap();
            }
            Kind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
            Kind::HardLink(target) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o644);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

fn normalise(bytes: &[u8], scrub: &Scrub) -> (NormalisedLayer, Vec<u8>) {
    let mut input = tempfile::tempfile().unwrap();
    input.write_all(bytes).unwrap();
    let mut output = tempfile::tempfile().unwrap();
    let normalised = normalise_layer(&mut input, &mut output, EPOCH, scrub, "test layer").unwrap();
    output.seek(SeekFrom::Start(0)).unwrap();
    let mut blob = Vec::new();
    std::io::Read::read_to_end(&mut output, &mut blob).unwrap();
    (normalised, blob)
}

fn as_refs(list: &[(String, Kind, u64)]) -> Vec<(&str, Kind, u64)> {
    list.iter()
        .map(|(path, kind, time)| (path.as_str(), kind.clone(), *time))
        .collect()
}

fn long_path() -> String {
    format!("opt/{}/{}/data.bin", "d".repeat(90), "e".repeat(120))
}

fn sample(times: [u64; 3], reversed: bool) -> Vec<u8> {
    let long = long_path();
    let mut entries = vec![
        ("usr/", Kind::Directory, times[0]),
        ("usr/bin/", Kind::Directory, times[1]),
        (
            "usr/bin/tool",
            Kind::File(b"#!/bin/sh\necho tool\n".to_vec()),
            times[2],
        ),
        ("usr/bin/tool-link", Kind::Symlink("tool".into()), times[0]),
        (
            "usr/bin/tool-hard",
            Kind::HardLink("usr/bin/tool".into()),
            times[1],
        ),
        ("etc/.wh.removed.conf", Kind::File(Vec::new()), times[2]),
        ("var/.wh..wh..opq", Kind::File(Vec::new()), times[0]),
        ("var/log/.wh.old.log", Kind::File(Vec::new()), times[2]),
        (
            "var/log/dpkg.log",
            Kind::File(format!("installed at {}", times[1]).into_bytes()),
            times[1],
        ),
        (long.as_str(), Kind::File(vec![7u8; 5000]), times[2]),
    ];
    if reversed {
        entries.reverse();
    }
    layer(&entries)
}

#[test]
fn the_same_files_with_other_times_and_order_give_the_same_blob() {
    let scrub = Scrub::new(&["/var/log".to_string()]).unwrap();
    let (first, first_blob) = normalise(
        &sample([EPOCH + 10, EPOCH + 99, EPOCH + 5000], false),
        &scrub,
    );
    let (second, second_blob) = normalise(&sample([EPOCH + 7, EPOCH + 1, EPOCH + 3], true), &scrub);
    assert_eq!(first, second);
    assert_eq!(first_blob, second_blob);
    // The log is dropped; the whiteout under the same directory is a deletion and stays.
    assert_eq!(first.scrubbed, vec!["var/log/dpkg.log".to_string()]);
    let (files, _) = layer_files(&first_blob[..]).unwrap();
    assert!(files.contains_key("var/log/.wh.old.log"));
    // Without the scrub the log's content differs, and so does the layer.
    let (third, _) = normalise(
        &sample([EPOCH + 7, EPOCH + 1, EPOCH + 3], true),
        &Scrub::default(),
    );
    let (fourth, _) = normalise(
        &sample([EPOCH + 7, EPOCH + 2, EPOCH + 3], true),
        &Scrub::default(),
    );
    assert_ne!(third.diff_id, fourth.diff_id);
}

#[test]
fn contents_links_whiteouts_and_long_paths_survive() {
    let original = sample([EPOCH + 10, EPOCH - 100, EPOCH + 5000], true);
    let (normalised, blob) = normalise(&original, &Scrub::default());
    let (before, _) = layer_files(&original[..]).unwrap();
    let (after, diff_id) = layer_files(&blob[..]).unwrap();
    assert_eq!(diff_id, normalised.diff_id);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (path, state) in &after {
        let old = &before[path];
        if path.rsplit('/').next().unwrap().starts_with(".wh.") {
            // Whiteout markers are never extracted: one mode and owner whatever wrote them.
            assert_eq!(
                (state.kind, state.mode.as_str(), state.uid, state.gid),
                ("file", "600", 0, 0)
            );
            continue;
        }
        assert_eq!(
            (old.kind, &old.sha256, &old.mode, old.uid, old.gid),
            (state.kind, &state.sha256, &state.mode, state.uid, state.gid),
            "{path}"
        );
    }
    assert_eq!(after["usr/bin/tool-link"].link.as_deref(), Some("tool"));
    assert_eq!(
        after["usr/bin/tool-hard"].link.as_deref(),
        Some("usr/bin/tool")
    );
    assert_eq!(after[&long_path()].sha256, before[&long_path()].sha256);
    // Times: clamped, never raised.
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    let mut order = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mtime = entry.header().mtime().unwrap();
        if path == "usr/bin/" {
            assert_eq!(mtime, EPOCH - 100, "an older time is kept");
        } else {
            assert!(mtime <= EPOCH, "{path} has {mtime}");
        }
        order.push(path);
    }
    assert_eq!(order[0], "etc/.wh.removed.conf");
    assert!(
        order
            .iter()
            .position(|path| path == "usr/bin/tool")
            .unwrap()
            < order
                .iter()
                .position(|path| path == "usr/bin/tool-hard")
                .unwrap()
    );
}

/// One file as two engines might write it: with or without user and group names, file-type
/// bits in the mode, attributes other than capabilities, and whiteout markers of their own.
fn engine_flavoured(flavoured: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(if flavoured { 0o100_755 } else { 0o755 });
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(EPOCH + 5);
    header.set_size(3);
    if flavoured {
        header.set_username("root").unwrap();
        header.set_groupname("root").unwrap();
        builder
            .append_pax_extensions([
                ("SCHILY.xattr.user.origin", b"build".as_slice()),
                ("SCHILY.xattr.security.capability", b"\x01caps".as_slice()),
            ])
            .unwrap();
    } else {
        builder
            .append_pax_extensions([("SCHILY.xattr.security.capability", b"\x01caps".as_slice())])
            .unwrap();
    }
    builder
        .append_data(&mut header, "usr/bin/ping", &b"bin"[..])
        .unwrap();
    let mut marker = tar::Header::new_ustar();
    marker.set_entry_type(tar::EntryType::Regular);
    marker.set_mode(if flavoured { 0o755 } else { 0o600 });
    marker.set_mtime(if flavoured { 0 } else { EPOCH + 9 });
    marker.set_size(0);
    builder
        .append_data(&mut marker, "var/.wh..wh..opq", std::io::empty())
        .unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn what_engines_write_differently_gives_the_same_layer() {
    let (plain, plain_blob) = normalise(&engine_flavoured(false), &Scrub::default());
    let (flavoured, flavoured_blob) = normalise(&engine_flavoured(true), &Scrub::default());
    assert_eq!(plain, flavoured);
    assert_eq!(plain_blob, flavoured_blob);
    // The capability is kept.
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&plain_blob[..]));
    let mut entry = archive
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .find(|entry| entry.path_bytes().ends_with(b"ping"))
        .unwrap();
    let records: Vec<(String, Vec<u8>)> = entry
        .pax_extensions()
        .unwrap()
        .unwrap()
        .map(|record| {
            let record = record.unwrap();
            (
                record.key().unwrap().to_string(),
                record.value_bytes().to_vec(),
            )
        })
        .collect();
    assert_eq!(
        records,
        [(
            "SCHILY.xattr.security.capability".to_string(),
            b"\x01caps".to_vec()
        )]
    );
}

#[test]
fn a_hard_link_sorted_before_its_file_becomes_the_file() {
    let original = layer(&[
        ("b/data", Kind::File(b"shared".to_vec()), EPOCH),
        ("a/data", Kind::HardLink("b/data".into()), EPOCH),
    ]);
    let (_, blob) = normalise(&original, &Scrub::default());
    let (files, _) = layer_files(&blob[..]).unwrap();
    assert_eq!(files["a/data"].kind, "file");
    assert_eq!(files["b/data"].kind, "hardlink");
    assert_eq!(files["b/data"].link.as_deref(), Some("a/data"));
    let (before, _) = layer_files(&original[..]).unwrap();
    assert_eq!(files["a/data"].sha256, before["b/data"].sha256);
}

#[test]
fn normalising_twice_changes_nothing() {
    let (once, blob) = normalise(
        &sample([EPOCH + 1, EPOCH + 2, EPOCH + 3], false),
        &Scrub::default(),
    );
    let tar = {
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&blob[..]), &mut decoded)
            .unwrap();
        decoded
    };
    let (twice, again) = normalise(&tar, &Scrub::default());
    assert_eq!(once, twice);
    assert_eq!(blob, again);
}

#[test]
fn a_bad_scrub_pattern_is_named() {
    let error = Scrub::new(&["/var/[log".to_string()]).unwrap_err();
    assert!(error.to_string().contains("/var/[log"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn any_order_and_times_give_one_digest(
        files in proptest::collection::btree_map("[a-c]{1,2}(/[a-c]{1,2}){0,2}", proptest::collection::vec(any::<u8>(), 0..64), 1..12),
        seed in any::<u64>(),
    ) {
        // Paths that are a prefix directory of another are files in one and dirs in the other:
        // keep leaves only.
        let keys: Vec<&String> = files.keys().collect();
        let leaves: Vec<(&String, &Vec<u8>)> = files
            .iter()
            .filter(|(path, _)| !keys.iter().any(|other| other.starts_with(&format!("{path}/"))))
            .collect();
        let entries = |shift: u64, reverse: bool| {
            let mut list: Vec<(String, Kind, u64)> = leaves
                .iter()
                .enumerate()
                .map(|(index, (path, data))| ((*path).clone(), Kind::File((*data).clone()), EPOCH + (seed ^ shift).wrapping_add(index as u64) % 1000))
                .collect();
            if reverse { list.reverse(); }
            list
        };
        let first = entries(1, false);
        let second = entries(2, true);
        let (one, _) = normalise(&layer(&as_refs(&first)[..]), &Scrub::default());
        let (two, _) = normalise(&layer(&as_refs(&second)[..]), &Scrub::default());
        prop_assert_eq!(one, two);
    }
}

#[test]
fn configs_lose_build_times_and_the_build_container() {
    let config = serde_json::json!({
        "architecture": "amd64",
        "created": "2026-11-22T08:20:30.727069235Z",
        "container": "ed652ad0a4fa9421cd880572606da5608f460e52a3f27726761b1006bb45e6c8",
        "container_config": {"Hostname": "ed652ad0a4fa"},
        "config": {"Env": ["PATH=/bin"], "Image": "sha256:0e05", "Labels": {"x": "y"}},
        "history": [
            {"created": "2020-01-01T00:00:00.5Z", "comment": "Imported from -"},
            {"created": "2026-11-22T08:20:30.677877221Z", "created_by": "/bin/sh -c echo hi"}
        ],
        "rootfs": {"type": "layers", "diff_ids": ["sha256:old"]}
    });
    let bytes = serde_json::to_vec(&config).unwrap();
    let normalised =
        strata_reproducible::normalise_config(&bytes, EPOCH, &["sha256:new".to_string()]).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&normalised).unwrap();
    assert_eq!(value["created"], "2022-04-15T05:20:00Z");
    assert!(value.get("container").is_none() && value.get("container_config").is_none());
    assert_eq!(value["config"]["Image"], "");
    assert_eq!(value["config"]["Labels"]["x"], "y");
    assert_eq!(
        value["history"][0]["created"], "2020-01-01T00:00:00.5Z",
        "older times stay"
    );
    assert_eq!(value["history"][1]["created"], "2022-04-15T05:20:00Z");
    assert_eq!(
        value["rootfs"]["diff_ids"],
        serde_json::json!(["sha256:new"])
    );
    // The same config from another build (other container, other times) gives the same bytes.
    let mut other = config.clone();
    other["container"] = "0123".into();
    other["created"] = "2026-11-23T00:00:00Z".into();
    other["history"][1]["created"] = "2026-11-23T00:00:00Z".into();
    let again = strata_reproducible::normalise_config(
        &serde_json::to_vec(&other).unwrap(),
        EPOCH,
        &["sha256:new".to_string()],
    )
    .unwrap();
    assert_eq!(normalised, again);
}
