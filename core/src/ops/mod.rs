//! Operators: one per file.

pub(crate) mod activation;
pub(crate) mod dense;
#[cfg(aecodec_dsp)]
pub(crate) mod dsp;
#[cfg(aecodec_thumb1)]
pub(crate) mod thumb1;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;
