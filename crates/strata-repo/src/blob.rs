//! Git's blob ids, computed from bytes strata read anyway.

/// The id git gives `contents` as a blob (`git hash-object`): the SHA-1 of
/// `blob <length>\0<contents>`.
pub(crate) fn git_blob_id(contents: &[u8]) -> String {
    use sha1::Digest;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", contents.len()).as_bytes());
    hasher.update(contents);
    let mut id = String::with_capacity(40);
    for byte in hasher.finalize() {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    id
}
