//! The numeric precision of a model's layers: a leaf that the blob format, the error
//! type and the layer code all name.

use serde::{Deserialize, Serialize};

/// Numeric precision of all layers of a model.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Precision {
    /// f32 weights, f32 activations.
    F32,
    /// int8 weights with one f32 scale per output channel; f32 activations.
    Int8Weights,
    /// int8 weights and activations, int32 accumulators, fixed-point requantization,
    /// 256-entry lookup tables for non-linear activations. For MCUs without an FPU.
    Int8Full,
}

impl Precision {
    /// The precision's one name: `f32`, `int8-weights` or `int8-full`, as the command
    /// line, file names, JSON reports and messages spell it (and [`Display`] prints).
    ///
    /// [`Display`]: core::fmt::Display
    pub const fn slug(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8Weights => "int8-weights",
            Precision::Int8Full => "int8-full",
        }
    }

    /// The `aecodec-core` cargo feature that builds this precision in: its
    /// [`slug`](Precision::slug).
    pub const fn feature(self) -> &'static str {
        self.slug()
    }

    /// Whether this build of the core runs this precision (its cargo feature is on).
    /// Blobs of other precisions are refused at load.
    pub const fn is_built(self) -> bool {
        match self {
            Precision::F32 => cfg!(feature = "f32"),
            Precision::Int8Weights => cfg!(feature = "int8-weights"),
            Precision::Int8Full => cfg!(feature = "int8-full"),
        }
    }
}

impl core::fmt::Display for Precision {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.slug())
    }
}
