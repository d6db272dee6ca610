//! Finding and reading one member of a zip archive (a wheel's `*.dist-info/METADATA`) from
//! byte ranges: the tail of the file holds the end-of-central-directory record and usually the
//! central directory; the member's local header and data come from one more range.

use std::io::Read;

/// What the central directory says about one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipMember {
    pub name: String,
    pub method: u16,
    pub compressed_size: u64,
    pub local_header_offset: u64,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Where the central directory is: `(offset, size)` in the file, from the tail of the file
/// (`tail` holds bytes `tail_offset..`).
pub fn central_directory_location(tail: &[u8], tail_offset: u64) -> Result<(u64, u64), String> {
    let end = tail
        .len()
        .checked_sub(22)
        .ok_or("the file is too short to be a zip archive")?;
    let eocd = (0..=end)
        .rev()
        .find(|&position| tail[position..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .ok_or("no end-of-central-directory record: not a zip archive")?;
    let size = u64::from(u32_at(tail, eocd + 12).ok_or("truncated record")?);
    let offset = u64::from(u32_at(tail, eocd + 16).ok_or("truncated record")?);
    if offset != u64::from(u32::MAX) && size != u64::from(u32::MAX) {
        return Ok((offset, size));
    }
    // Zip64: the locator sits just before the end record and points at the zip64 record.
    let locator = eocd.checked_sub(20).ok_or("no zip64 locator")?;
    if !tail[locator..].starts_with(&[0x50, 0x4b, 0x06, 0x07]) {
        return Err("no zip64 locator".to_string());
    }
    let record_offset = u64_at(tail, locator + 8).ok_or("truncated zip64 locator")?;
    let record = usize::try_from(
        record_offset
            .checked_sub(tail_offset)
            .ok_or("the zip64 record is outside the fetched tail")?,
    )
    .map_err(|error| error.to_string())?;
    if !tail
        .get(record..)
        .is_some_and(|rest| rest.starts_with(&[0x50, 0x4b, 0x06, 0x06]))
    {
        return Err("bad zip64 end-of-central-directory record".to_string());
    }
    Ok((
        u64_at(tail, record + 48).ok_or("truncated zip64 record")?,
        u64_at(tail, record + 40).ok_or("truncated zip64 record")?,
    ))
}

/// Every member listed in a central directory.
pub fn members(directory: &[u8]) -> Result<Vec<ZipMember>, String> {
    let mut members = Vec::new();
    let mut position = 0;
    while directory.get(position..position + 4) == Some(&[0x50, 0x4b, 0x01, 0x02]) {
        let truncated = || "truncated central directory".to_string();
        let method = u16_at(directory, position + 10).ok_or_else(truncated)?;
        let mut compressed_size =
            u64::from(u32_at(directory, position + 20).ok_or_else(truncated)?);
        let uncompressed_size = u32_at(directory, position + 24).ok_or_else(truncated)?;
        let name_length = usize::from(u16_at(directory, position + 28).ok_or_else(truncated)?);
        let extra_length = usize::from(u16_at(directory, position + 30).ok_or_else(truncated)?);
        let comment_length = usize::from(u16_at(directory, position + 32).ok_or_else(truncated)?);
        let mut local_header_offset =
            u64::from(u32_at(directory, position + 42).ok_or_else(truncated)?);
        let name_start = position + 46;
        let name = String::from_utf8_lossy(
            directory
                .get(name_start..name_start + name_length)
                .ok_or_else(truncated)?,
        )
        .into_owned();
        // Zip64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in order.
        let extra = directory
            .get(name_start + name_length..name_start + name_length + extra_length)
            .ok_or_else(truncated)?;
        let mut cursor = 0;
        while cursor + 4 <= extra.len() {
            let id = u16_at(extra, cursor).unwrap_or(0);
            let size = usize::from(u16_at(extra, cursor + 2).unwrap_or(0));
            if id == 1 {
                let mut field = cursor + 4;
                if uncompressed_size == u32::MAX {
                    field += 8;
                }
                if compressed_size == u64::from(u32::MAX) {
                    compressed_size = u64_at(extra, field).ok_or_else(truncated)?;
                    field += 8;
                }
                if local_header_offset == u64::from(u32::MAX) {
                    local_header_offset = u64_at(extra, field).ok_or_else(truncated)?;
                }
            }
            cursor += 4 + size;
        }
        members.push(ZipMember {
            name,
            method,
            compressed_size,
            local_header_offset,
        });
        position = name_start + name_length + extra_length + comment_length;
    }
    Ok(members)
}

/// The `*.dist-info/METADATA` member at the top of a wheel.
pub fn metadata_member(members: &[ZipMember]) -> Option<&ZipMember> {
    members.iter().find(|member| {
        member
            .name
            .strip_suffix("/METADATA")
            .is_some_and(|directory| directory.ends_with(".dist-info") && !directory.contains('/'))
    })
}

/// The member's data from bytes starting at its local header.
pub fn member_data(member: &ZipMember, local: &[u8]) -> Result<Vec<u8>, String> {
    if !local.starts_with(&[0x50, 0x4b, 0x03, 0x04]) {
        return Err(format!("no local header for `{}`", member.name));
    }
    let name_length = usize::from(u16_at(local, 26).ok_or("truncated local header")?);
    let extra_length = usize::from(u16_at(local, 28).ok_or("truncated local header")?);
    let start = 30 + name_length + extra_length;
    let length = usize::try_from(member.compressed_size).map_err(|error| error.to_string())?;
    let data = local
        .get(start..start + length)
        .ok_or("the fetched range is shorter than the member")?;
    match member.method {
        0 => Ok(data.to_vec()),
        8 => {
            let mut output = Vec::new();
            flate2::read::DeflateDecoder::new(data)
                .take(64 * 1024 * 1024)
                .read_to_end(&mut output)
                .map_err(|error| format!("cannot inflate `{}`: {error}", member.name))?;
            Ok(output)
        }
        other => Err(format!(
            "`{}` uses zip compression method {other}",
            member.name
        )),
    }
}

/// How many bytes from the local header cover the member (its extra field may differ from the
/// central directory's; 1 KiB of slack).
pub fn local_span(member: &ZipMember) -> u64 {
    30 + member.name.len() as u64 + 1024 + member.compressed_size
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip with a stored and a deflated member, built by hand.
    fn zip() -> Vec<u8> {
        use std::io::Write;
        let metadata = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n";
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(metadata).unwrap();
        let deflated = encoder.finish().unwrap();
        let entries: [(&str, u16, &[u8]); 2] = [
            ("demo/__init__.py", 0, b"x = 1\n"),
            ("demo-1.0.dist-info/METADATA", 8, &deflated),
        ];
        let mut file = Vec::new();
        let mut directory = Vec::new();
        for (name, method, data) in entries {
            let offset = u32::try_from(file.len()).unwrap();
            let size = u32::try_from(data.len()).unwrap();
            let name_length = u16::try_from(name.len()).unwrap();
            file.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]);
            file.extend_from_slice(&method.to_le_bytes());
            file.extend_from_slice(&[0; 8]);
            file.extend_from_slice(&size.to_le_bytes());
            file.extend_from_slice(&size.to_le_bytes());
            file.extend_from_slice(&name_length.to_le_bytes());
            file.extend_from_slice(&0u16.to_le_bytes());
            file.extend_from_slice(name.as_bytes());
            file.extend_from_slice(data);
            directory.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0]);
            directory.extend_from_slice(&method.to_le_bytes());
            directory.extend_from_slice(&[0; 8]);
            directory.extend_from_slice(&size.to_le_bytes());
            directory.extend_from_slice(&size.to_le_bytes());
            directory.extend_from_slice(&name_length.to_le_bytes());
            directory.extend_from_slice(&[0; 12]);
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(name.as_bytes());
        }
        let directory_offset = u32::try_from(file.len()).unwrap();
        let directory_size = u32::try_from(directory.len()).unwrap();
        file.extend_from_slice(&directory);
        file.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 2, 0, 2, 0]);
        file.extend_from_slice(&directory_size.to_le_bytes());
        file.extend_from_slice(&directory_offset.to_le_bytes());
        file.extend_from_slice(&[0, 0]);
        file
    }

    #[test]
    fn reads_metadata_from_the_tail_and_one_range() {
        let file = zip();
        let tail_offset = 10u64;
        let tail = &file[10..];
        let (offset, size) = central_directory_location(tail, tail_offset).unwrap();
        let start = usize::try_from(offset - tail_offset).unwrap();
        let directory = &tail[start..start + usize::try_from(size).unwrap()];
        let listed = members(directory).unwrap();
        assert_eq!(listed.len(), 2);
        let member = metadata_member(&listed).unwrap();
        let local = &file[usize::try_from(member.local_header_offset).unwrap()..];
        let data = member_data(member, local).unwrap();
        assert!(String::from_utf8(data).unwrap().contains("Name: demo"));
        assert!(central_directory_location(b"not a zip at all, not at all", 0).is_err());
    }
}
