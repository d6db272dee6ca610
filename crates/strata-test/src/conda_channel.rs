//! A real conda channel for tests: packages written as `.tar.bz2` archives (`info/index.json`,
//! `info/paths.json`, the files), indexed into `<subdir>/repodata.json` from what each archive's
//! `info/index.json` says (with its sha256, md5 and size), and served over loopback HTTP.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};

/// One package to put in the channel.
#[derive(Debug, Clone)]
pub struct CondaPackage {
    pub name: String,
    pub version: String,
    pub build: String,
    pub build_number: u64,
    /// `linux-64`, `linux-aarch64` or `noarch`.
    pub subdir: String,
    pub depends: Vec<String>,
    pub constrains: Vec<String>,
    /// `Some("python")` for `noarch: python` packages.
    pub noarch: Option<String>,
    /// Upload time, seconds since the epoch.
    pub timestamp: u64,
    /// Files of the package, relative to the environment's prefix.
    pub files: Vec<(String, Vec<u8>)>,
}

impl CondaPackage {
    pub fn new(name: &str, version: &str, subdir: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            build: "h0_0".to_string(),
            build_number: 0,
            subdir: subdir.to_string(),
            depends: Vec::new(),
            constrains: Vec::new(),
            noarch: None,
            timestamp: 1_700_000_000,
            files: Vec::new(),
        }
    }

    #[must_use]
    pub fn build(mut self, build: &str, number: u64) -> Self {
        self.build = build.to_string();
        self.build_number = number;
        self
    }

    #[must_use]
    pub fn depends(mut self, specs: &[&str]) -> Self {
        self.depends = specs.iter().map(ToString::to_string).collect();
        self
    }

    #[must_use]
    pub fn constrains(mut self, specs: &[&str]) -> Self {
        self.constrains = specs.iter().map(ToString::to_string).collect();
        self
    }

    #[must_use]
    pub fn noarch_python(mut self) -> Self {
        self.noarch = Some("python".to_string());
        self.subdir = "noarch".to_string();
        self
    }

    #[must_use]
    pub fn timestamp(mut self, seconds: u64) -> Self {
        self.timestamp = seconds;
        self
    }

    #[must_use]
    pub fn file(mut self, path: &str, contents: &str) -> Self {
        self.files
            .push((path.to_string(), contents.as_bytes().to_vec()));
        self
    }

    pub fn file_name(&self) -> String {
        format!("{}-{}-{}.tar.bz2", self.name, self.version, self.build)
    }

    fn index_json(&self) -> serde_json::Value {
        let mut index = serde_json::json!({
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "build_number": self.build_number,
            "subdir": self.subdir,
            "depends": self.depends,
            "constrains": self.constrains,
            "license": "BSD-3-Clause",
            "timestamp": self.timestamp * 1000,
        });
        if let Some(noarch) = &self.noarch {
            index["noarch"] = serde_json::Value::String(noarch.clone());
        }
        if self.subdir != "noarch" {
            index["platform"] = serde_json::Value::String("linux".to_string());
            index["arch"] = serde_json::Value::String(
                if self.subdir.ends_with("aarch64") {
                    "aarch64"
                } else {
                    "x86_64"
                }
                .to_string(),
            );
        }
        index
    }

    /// The `.tar.bz2` archive, as conda-build writes one.
    fn archive(&self) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut add = |path: &str, bytes: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(self.timestamp);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, path, bytes)
                .expect("append to a package");
        };
        add(
            "info/index.json",
            &serde_json::to_vec_pretty(&self.index_json()).unwrap(),
        );
        let paths: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|(path, bytes)| {
                serde_json::json!({
                    "_path": path,
                    "path_type": "hardlink",
                    "sha256": format!("{:x}", Sha256::digest(bytes)),
                    "size_in_bytes": bytes.len(),
                })
            })
            .collect();
        add(
            "info/paths.json",
            &serde_json::to_vec_pretty(&serde_json::json!({"paths": paths, "paths_version": 1}))
                .unwrap(),
        );
        for (path, bytes) in &self.files {
            add(path, bytes);
        }
        let tar = builder.into_inner().expect("a package tar");
        let mut compressed = Vec::new();
        bzip2::read::BzEncoder::new(&tar[..], bzip2::Compression::fast())
            .read_to_end(&mut compressed)
            .expect("bzip2 a package");
        compressed
    }
}

/// A channel directory, indexed and served on `127.0.0.1` until dropped.
pub struct CondaChannel {
    root: tempfile::TempDir,
    address: SocketAddr,
    requests: Arc<AtomicUsize>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl CondaChannel {
    /// Write `packages`, index them and serve the channel.
    pub fn serve(packages: &[CondaPackage]) -> Self {
        let root = tempfile::tempdir().expect("a channel directory");
        for package in packages {
            let directory = root.path().join(&package.subdir);
            fs_err::create_dir_all(&directory).unwrap();
            fs_err::write(directory.join(package.file_name()), package.archive()).unwrap();
        }
        index(root.path());
        let requests = Arc::new(AtomicUsize::new(0));
        let (served_root, counted) = (root.path().to_path_buf(), Arc::clone(&requests));
        let (address, shutdown) = crate::loopback::spawn("conda channel", move |request| {
            let (root, requests) = (served_root.clone(), Arc::clone(&counted));
            async move { Ok::<_, std::convert::Infallible>(answer(&root, &requests, &request)) }
        });
        Self {
            root,
            address,
            requests,
            _shutdown: shutdown,
        }
    }

    /// `http://127.0.0.1:<port>/`: the channel's URL for `channels:`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Add packages to the running channel and index it again.
    pub fn publish(&self, packages: &[CondaPackage]) {
        for package in packages {
            let directory = self.root.path().join(&package.subdir);
            fs_err::create_dir_all(&directory).unwrap();
            fs_err::write(directory.join(package.file_name()), package.archive()).unwrap();
        }
        index(self.root.path());
    }
}

/// Index every subdirectory: each archive's `info/index.json` plus its digests and size.
pub fn index(root: &Path) {
    let mut subdirs: Vec<PathBuf> = fs_err::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    if !subdirs.iter().any(|path| path.ends_with("noarch")) {
        let noarch = root.join("noarch");
        fs_err::create_dir_all(&noarch).unwrap();
        subdirs.push(noarch);
    }
    for subdir in subdirs {
        let mut packages = BTreeMap::new();
        for entry in fs_err::read_dir(&subdir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".tar.bz2") {
                continue;
            }
            let bytes = fs_err::read(&path).unwrap();
            let mut record = read_index_json(&bytes, &name);
            record["sha256"] = format!("{:x}", Sha256::digest(&bytes)).into();
            record["md5"] = md5_hex(&bytes).into();
            record["size"] = bytes.len().into();
            packages.insert(name, record);
        }
        let subdir_name = subdir.file_name().unwrap().to_string_lossy().into_owned();
        let repodata = serde_json::json!({
            "info": {"subdir": subdir_name},
            "packages": packages,
            "packages.conda": {},
            "repodata_version": 1,
        });
        fs_err::write(
            subdir.join("repodata.json"),
            serde_json::to_vec(&repodata).unwrap(),
        )
        .unwrap();
    }
}

fn read_index_json(archive: &[u8], name: &str) -> serde_json::Value {
    let mut tar = tar::Archive::new(bzip2::read::BzDecoder::new(archive));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap() == Path::new("info/index.json") {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            return serde_json::from_str(&text).unwrap();
        }
    }
    panic!("{name} has no info/index.json");
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(data)
        .iter()
        .fold(String::new(), |mut text, byte| {
            use std::fmt::Write as _;
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// The file the request names under the channel's root, or 404.
fn answer(
    root: &Path,
    requests: &AtomicUsize,
    request: &hyper::Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    requests.fetch_add(1, Ordering::SeqCst);
    let relative = request.uri().path().trim_start_matches('/');
    let bytes = if relative.split('/').any(|part| part == "..") {
        None
    } else {
        fs_err::read(root.join(relative)).ok()
    };
    let found = bytes.is_some();
    let mut response = Response::new(Full::new(Bytes::from(bytes.unwrap_or_default())));
    if !found {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

impl CondaChannel {
    /// Install an explicit lock of this channel's packages into `prefix` the way conda does:
    /// each archive checked against the lock's `#sha256:`, its files (not `info/`) extracted
    /// into the prefix, and a `conda-meta/<name>-<version>-<build>.json` record written with
    /// what conda records (URL, channel, digests, dependencies, files).
    pub fn install(&self, lock: &str, prefix: &Path) {
        let meta = prefix.join("conda-meta");
        fs_err::create_dir_all(&meta).unwrap();
        let urls = lock
            .lines()
            .skip_while(|line| line.trim() != "@EXPLICIT")
            .skip(1)
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'));
        for line in urls {
            let (url, fragment) = line.trim().split_once('#').unwrap_or((line.trim(), ""));
            let relative = url
                .strip_prefix(&self.url())
                .unwrap_or_else(|| panic!("`{url}` is not a package of this channel"));
            let bytes = fs_err::read(self.root.path().join(relative)).unwrap();
            let sha256 = format!("{:x}", Sha256::digest(&bytes));
            if let Some(expected) = fragment.strip_prefix("sha256:") {
                assert_eq!(sha256, expected, "`{url}` does not match its lock");
            }
            let file_name = relative.rsplit('/').next().unwrap();
            let mut record = read_index_json(&bytes, file_name);
            let mut files = Vec::new();
            let mut tar = tar::Archive::new(bzip2::read::BzDecoder::new(&bytes[..]));
            for entry in tar.entries().unwrap() {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                if path.starts_with("info/") {
                    continue;
                }
                let target = prefix.join(&path);
                fs_err::create_dir_all(target.parent().unwrap()).unwrap();
                entry.unpack(&target).unwrap();
                files.push(path);
            }
            let subdir = record["subdir"].as_str().unwrap_or("noarch").to_string();
            let channel = url.rsplitn(3, '/').nth(2).unwrap().to_string();
            record["fn"] = file_name.into();
            record["url"] = url.into();
            record["channel"] = format!("{channel}/{subdir}").into();
            record["sha256"] = sha256.into();
            record["md5"] = md5_hex(&bytes).into();
            record["size"] = bytes.len().into();
            record["files"] = files.into();
            record["requested_spec"] = "None".into();
            let name = file_name.trim_end_matches(".tar.bz2");
            fs_err::write(
                meta.join(format!("{name}.json")),
                serde_json::to_vec_pretty(&record).unwrap(),
            )
            .unwrap();
        }
        fs_err::write(meta.join("history"), "==> 2024-01-01 00:00:00 <==\n").unwrap();
    }
}
