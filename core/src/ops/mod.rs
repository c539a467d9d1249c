//! Operators: one per file.

pub(crate) mod activation;
pub(crate) mod dense;
