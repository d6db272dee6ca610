//! The files users hand strata: read with limits no real file reaches (a regular file, at most
//! [`MAX_INPUT_BYTES`], UTF-8 with the line of the first bad byte named), and written
//! atomically (a temporary file renamed into place, so a failure leaves the old file whole).

mod error;
mod read;
mod write;

pub use error::{InputError, WriteError};
pub use read::{read_input, read_text, text_from_bytes, MAX_INPUT_BYTES};
pub use write::{write_atomically, write_cache_file, Rollback};
