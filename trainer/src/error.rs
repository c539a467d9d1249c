//! The trainer's error type.

/// Everything that can go wrong in the trainer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The float model is inconsistent (dimensions, lengths).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// Export needs calibration windows for the full-integer precision.
    #[error("full-integer export needs at least one calibration window")]
    NoCalibrationData,
    /// The core refused the exported blob.
    #[error("exported blob rejected by the core: {0}")]
    Core(#[from] aecodec_core::Error),
    /// The exported model's error against the float model is over the tolerance.
    #[error("{precision:?} export error {measured:.4} (RMSE, normalized units) exceeds tolerance {tolerance:.4}")]
    ToleranceExceeded {
        /// Precision exported.
        precision: aecodec_core::Precision,
        /// Measured error.
        measured: f64,
        /// Tolerance.
        tolerance: f64,
    },
}
