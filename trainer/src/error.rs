//! The trainer's error type.

/// Everything that can go wrong in the trainer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the OS said (in the message, not a separate cause, so that a chain of
        /// causes prints it once).
        error: std::io::Error,
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
    /// The core refused a blob, a window or a payload; its message says which and why.
    #[error("{0}")]
    Core(aecodec_core::Error),
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

impl From<aecodec_core::Error> for Error {
    fn from(e: aecodec_core::Error) -> Error {
        Error::Core(e)
    }
}

impl Error {
    /// The kind of a failed read or write, to tell a closed pipe from a failure.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            Error::Io { error, .. } => Some(error.kind()),
            _ => None,
        }
    }
}
