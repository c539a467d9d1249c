//! Operators: one per file.

pub(crate) mod activation;
pub(crate) mod dense;
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
pub(crate) mod dsp;
#[cfg(target_arch = "arm")]
pub(crate) mod thumb1;
