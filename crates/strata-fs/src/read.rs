//! Reading a file a user gave strata: refused unless it is a regular file (a FIFO would block,
//! `/dev/zero` never ends), refused past [`MAX_INPUT_BYTES`], and read with as few system
//! calls as the kernel allows (open, one status, the reads, close): planning a repository
//! of 2,000 images reads 4,000 of these.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::InputError;

/// The most strata reads from one input file: no Dockerfile, definition, requirements,
/// environment or lock file comes near it.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The bytes of the regular file at `path` (symbolic links followed).
pub fn read_input(path: &Path) -> Result<Vec<u8>, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer forever.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    let file_type = metadata.file_type();
    if !file_type.is_file() {
        let kind = if file_type.is_dir() {
            "a directory"
        } else if file_type.is_fifo() {
            "a named pipe"
        } else if file_type.is_char_device() {
            "a character device"
        } else if file_type.is_block_device() {
            "a block device"
        } else if file_type.is_socket() {
            "a socket"
        } else {
            "a special file"
        };
        return Err(InputError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    let too_large = || InputError::TooLarge {
        path: path.to_path_buf(),
        limit: MAX_INPUT_BYTES,
    };
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    let size = usize::try_from(metadata.len()).unwrap_or(0);
    let mut bytes = vec![0; size];
    let mut filled = 0;
    while filled < size {
        match (&file).read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(io(error)),
        }
    }
    bytes.truncate(filled);
    // The status's size is trusted when the file filled it (no second read to see the end);
    // a file whose status says nothing (`/proc`) or that was shorter is read to its end,
    // within the limit either way.
    if filled < size || size == 0 {
        file.take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The text of the regular file at `path`; bytes that are not UTF-8 are an error naming their
/// line and column.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    text_from_bytes(path, read_input(path)?)
}

/// `bytes` (read from `path`) as text, or an error naming the line and column of the first
/// byte that is not UTF-8.
pub fn text_from_bytes(path: &Path, bytes: Vec<u8>) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        let before = &bytes[..valid];
        let line = before.split(|byte| *byte == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|byte| *byte == b'\n')
            .map_or(0, |index| index + 1);
        // Columns count characters, from 1.
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        InputError::NotText {
            path: path.to_path_buf(),
            line,
            column,
            byte: bytes[valid],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_whole() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("Dockerfile");
        std::fs::write(&path, "FROM x\nRUN y\n").unwrap();
        assert_eq!(read_text(&path).unwrap(), "FROM x\nRUN y\n");
        let link = directory.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read_text(&link).unwrap(), "FROM x\nRUN y\n");
        let missing = read_text(&directory.path().join("nothing")).unwrap_err();
        assert!(missing.is_not_found());
    }

    #[test]
    fn special_files_are_refused_at_once() {
        let directory = tempfile::tempdir().unwrap();
        let zero = directory.path().join("requirements.txt");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let error = read_input(&zero).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("is a character device, not a regular file"),
            "{error}"
        );
        let fifo = directory.path().join("environment.yml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // Returns at once: a blocking open would wait for a writer forever.
        let error = read_input(&fifo).unwrap_err();
        assert!(error.to_string().contains("a named pipe"), "{error}");
        let error = read_input(directory.path()).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");
    }

    #[test]
    fn bad_utf8_names_its_line_and_column() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("Dockerfile");
        std::fs::write(&path, b"FROM x\nRUN \xc3\xa9cho \xff\n").unwrap();
        let error = read_text(&path).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("is not UTF-8 text: line 2, column 10 has the byte 0xff"),
            "{error}"
        );
    }

    proptest::proptest! {
        #[test]
        fn text_is_returned_unchanged_or_the_first_bad_byte_is_named(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)
        ) {
            let path = Path::new("f");
            match (std::str::from_utf8(&bytes), text_from_bytes(path, bytes.clone())) {
                (Ok(text), Ok(read)) => proptest::prop_assert_eq!(text, read),
                (Err(error), Err(InputError::NotText { line, byte, .. })) => {
                    let before = &bytes[..error.valid_up_to()];
                    let text = std::str::from_utf8(before).unwrap();
                    proptest::prop_assert_eq!(line, text.matches('\n').count() + 1);
                    proptest::prop_assert_eq!(byte, bytes[error.valid_up_to()]);
                }
                (utf8, read) => proptest::prop_assert!(false, "{utf8:?} but {read:?}"),
            }
        }
    }
}
