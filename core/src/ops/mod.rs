//! Operators: one per file. The CPU back ends they run on are in `kernels/`.

pub(crate) mod activation;
pub(crate) mod dense;
