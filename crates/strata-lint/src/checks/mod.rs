//! The checks, one module per family of rules; each walks a [`File`](crate::model::File) and
//! pushes reports.

pub(crate) mod apt;
pub(crate) mod base;
pub(crate) mod conda;
pub(crate) mod general;
pub(crate) mod image;
pub(crate) mod pip;
