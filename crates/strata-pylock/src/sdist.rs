//! Metadata of a source distribution (for `--no-binary` packages): the `PKG-INFO` at its top
//! when it declares its dependencies (Metadata 2.2+ without a dynamic `Requires-Dist`, or
//! `Requires-Dist` lines present); otherwise the sdist's PEP 517 build backend, asked for
//! `prepare_metadata_for_build_wheel` in an isolated virtual environment, when `python3` is
//! available.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::client::IndexClient;
use crate::error::LockError;
use crate::metadata::CoreMetadata;
use crate::simple::IndexFile;

/// The `PKG-INFO` at the top of an sdist (`<name>-<version>/PKG-INFO`).
fn pkg_info(filename: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    if filename.ends_with(".zip") {
        let tail_offset = 0;
        let (offset, size) = crate::zipread::central_directory_location(bytes, tail_offset)?;
        let start = usize::try_from(offset).map_err(|error| error.to_string())?;
        let end = start + usize::try_from(size).map_err(|error| error.to_string())?;
        let members = crate::zipread::members(bytes.get(start..end).ok_or("truncated archive")?)?;
        let Some(member) = members.iter().find(|member| {
            member.name.matches('/').count() == 1 && member.name.ends_with("/PKG-INFO")
        }) else {
            return Ok(None);
        };
        let local = bytes
            .get(usize::try_from(member.local_header_offset).map_err(|error| error.to_string())?..)
            .unwrap_or_default();
        return crate::zipread::member_data(member, local).map(Some);
    }
    let reader: Box<dyn Read> = if filename.ends_with(".bz2") {
        return Err("bzip2 source distributions are not supported".to_string());
    } else {
        Box::new(flate2::read::GzDecoder::new(bytes))
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(|error| error.to_string())? {
        let entry = entry.map_err(|error| error.to_string())?;
        let path = entry
            .path()
            .map_err(|error| error.to_string())?
            .to_string_lossy()
            .into_owned();
        let parts: Vec<&str> = path.trim_start_matches("./").split('/').collect();
        if parts.len() == 2 && parts[1] == "PKG-INFO" {
            let mut contents = Vec::new();
            entry
                .take(16 * 1024 * 1024)
                .read_to_end(&mut contents)
                .map_err(|error| error.to_string())?;
            return Ok(Some(contents));
        }
    }
    Ok(None)
}

/// The metadata of an sdist, from `PKG-INFO` or its build backend.
pub(crate) async fn sdist_metadata(
    client: &IndexClient,
    file: &IndexFile,
) -> Result<Vec<u8>, LockError> {
    let bytes = client.download(file).await?;
    let failure = |message: String| LockError::Metadata {
        file: file.filename.clone(),
        message,
    };
    if let Some(info) = pkg_info(&file.filename, &bytes).map_err(failure)? {
        if CoreMetadata::parse(&info).is_ok_and(|metadata| metadata.dependencies_are_static()) {
            return Ok(info);
        }
    }
    let filename = file.filename.clone();
    tokio::task::spawn_blocking(move || backend_metadata(&filename, &bytes))
        .await
        .map_err(|error| failure(error.to_string()))?
}

/// Ask the sdist's build backend for its metadata, in a throw-away virtual environment.
fn backend_metadata(filename: &str, bytes: &[u8]) -> Result<Vec<u8>, LockError> {
    let package = filename.to_string();
    let failure = |message: String| LockError::Backend {
        package: package.clone(),
        message,
    };
    let io_failure = |source: std::io::Error| LockError::BackendIo {
        package: package.clone(),
        source,
    };
    let python = which("python3").ok_or_else(|| failure("its `PKG-INFO` does not declare its dependencies and no `python3` is available to run its build backend".to_string()))?;
    let work = tempfile::tempdir().map_err(io_failure)?;
    let archive = work.path().join(filename);
    fs_err::write(&archive, bytes).map_err(io_failure)?;
    let script = r#"
import os, subprocess, sys, tarfile, zipfile, tomllib, importlib, glob
archive, work = sys.argv[1], sys.argv[2]
source = os.path.join(work, "source")
if archive.endswith(".zip"):
    zipfile.ZipFile(archive).extractall(source)
else:
    tarfile.open(archive).extractall(source, filter="data")
root = os.path.join(source, os.listdir(source)[0])
build = {}
if os.path.exists(os.path.join(root, "pyproject.toml")):
    build = tomllib.load(open(os.path.join(root, "pyproject.toml"), "rb")).get("build-system", {})
requires = build.get("requires", ["setuptools>=40.8.0", "wheel"])
backend = build.get("build-backend", "setuptools.build_meta:__legacy__")
venv = os.path.join(work, "venv")
subprocess.run([sys.executable, "-m", "venv", venv], check=True)
python = os.path.join(venv, "bin", "python")
subprocess.run([python, "-m", "pip", "install", "--quiet", *requires], check=True)
out = os.path.join(work, "metadata")
os.makedirs(out)
code = f"""
import os, sys
sys.path[:0] = {build.get("backend-path", [])!r}
module, _, attribute = {backend!r}.partition(":")
import importlib
hooks = importlib.import_module(module)
for part in filter(None, attribute.split(".")):
    hooks = getattr(hooks, part)
os.chdir({root!r})
if hasattr(hooks, "prepare_metadata_for_build_wheel"):
    name = hooks.prepare_metadata_for_build_wheel({out!r})
    print(os.path.join({out!r}, name, "METADATA"))
else:
    import zipfile
    wheel = hooks.build_wheel({out!r})
    with zipfile.ZipFile(os.path.join({out!r}, wheel)) as archive:
        member = next(n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        archive.extract(member, {out!r})
        print(os.path.join({out!r}, member))
"""
result = subprocess.run([python, "-c", code], capture_output=True, text=True)
if result.returncode != 0:
    sys.exit(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "the build backend failed")
print(result.stdout.strip().splitlines()[-1])
"#;
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&archive)
        .arg(work.path())
        .output()
        .map_err(io_failure)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failure(
            stderr
                .lines()
                .last()
                .unwrap_or("the backend failed")
                .to_string(),
        ));
    }
    let path = String::from_utf8_lossy(&output.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    fs_err::read(Path::new(&path)).map_err(io_failure)
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|directory| Path::new(directory).join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_pkg_info_in_a_tarball() {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in [
            ("demo-1.0/setup.py", &b"x"[..]),
            (
                "demo-1.0/PKG-INFO",
                b"Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: six\n",
            ),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, path, contents).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &tar).unwrap();
        let info = pkg_info("demo-1.0.tar.gz", &encoder.finish().unwrap())
            .unwrap()
            .unwrap();
        assert!(CoreMetadata::parse(&info)
            .unwrap()
            .dependencies_are_static());
    }
}
