//! The trainer's error type.

/// Everything that can go wrong in the trainer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Bad input data, located as precisely as possible.
    #[error("{path}{}{}: {message}", if *line > 0 { format!(", line {line}") } else { String::new() }, column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
    Data {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based line (0 when the problem is not on one line).
        line: usize,
        /// Column name, if the problem is in one cell.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An option out of its range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A job's plan does not fit the data; the message names the option and what to do.
    #[error("{0}")]
    Plan(String),
    /// Training diverged: the loss became NaN or infinite; no model is produced.
    #[error("training diverged at step {step} (loss {loss}); lower the learning rate (--lr) or check the data")]
    Diverged {
        /// Step at which it happened.
        step: usize,
        /// The loss value.
        loss: f64,
    },
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
    #[error("{precision} export refused: its output differs from f32 by {:.1} % of the signal RMS, over the tolerance of {:.1} %", measured * 100.0, tolerance * 100.0)]
    ToleranceExceeded {
        /// Precision exported.
        precision: aecodec_core::Precision,
        /// Measured error against f32, as a fraction of the signal RMS.
        measured: f64,
        /// Largest fraction accepted.
        tolerance: f64,
    },
}
