//! The trained-model file (`.aect`): the float model plus what export and the CLI verbs
//! need without the training data — how windows are cut, the columns, what the model
//! was fit on, and a sample of calibration and held-out windows.
//!
//! Layout: `AECT` magic, u16 LE format version, then the postcard encoding of
//! [`TrainedFile`]. Written atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::Window;
use crate::float::FloatModel;
use crate::fsio::write_atomic;
use crate::Error;

/// First bytes of a trained-model file.
pub const MAGIC: [u8; 4] = *b"AECT";
/// Version this build writes and reads (2: layers may be convolutions; 3: what the model
/// was fit on, and held-out windows in place of validation windows; 4: the model's
/// signal, its channels, names and sample rate; 5: window levels).
pub const VERSION: u16 = 6;
/// Most calibration (and validation) windows kept in the file.
pub const KEEP_WINDOWS: usize = 512;

/// How the model's input windows are made from a CSV file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Channel columns, in order.
    pub columns: Vec<String>,
    /// Label column of a conditional model.
    pub label_column: Option<String>,
    /// `true`: each row is one window (row mode); `false`: series of samples.
    pub rows: bool,
    /// Samples per window (series mode).
    pub window: usize,
    /// Samples between window starts used in training (series mode).
    pub hop: usize,
}

/// A trained model with what the CLI needs to export and use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedFile {
    /// The float model.
    pub model: FloatModel,
    /// Variant name (`linear`, `dct`, `ae`, …).
    pub variant: String,
    /// Why `auto` chose it, or the variant asked for.
    pub reason: String,
    /// How windows are cut.
    pub layout: Layout,
    /// Validation SNR (dB) measured through the core at training time, of the codec fit
    /// on the training part only (the one the choice was made with).
    pub validation_snr_db: f64,
    /// Windows the shipped model was fit on.
    pub fit_windows: usize,
    /// Whether the shipped model was fit again, after the choice, on the training and
    /// validation parts together (then `fit_windows` counts both).
    pub refit: bool,
    /// Windows the shipped model was fit on, kept for int8 calibration (at most
    /// [`KEEP_WINDOWS`]).
    pub calibration: Vec<Window>,
    /// Windows the shipped model was not fit on (the validation part, or the test part
    /// after a refit), kept for export checks and anomaly thresholds (at most
    /// [`KEEP_WINDOWS`]).
    pub held_out: Vec<Window>,
}

impl TrainedFile {
    /// The file's bytes: magic, version, postcard body.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        let body = postcard::to_allocvec(self)
            .map_err(|e| Error::InvalidModel(format!("cannot serialize: {e}")))?;
        bytes.extend_from_slice(&body);
        Ok(bytes)
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a file written by [`TrainedFile::save`].
    pub fn load(path: &Path) -> Result<TrainedFile, Error> {
        let bytes = crate::fsio::read_model_file(path, &MAGIC)?;
        TrainedFile::from_bytes(&bytes, path)
    }

    /// Parses and validates the bytes of a trained-model file; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<TrainedFile, Error> {
        let bad = |message: String| Error::Data {
            path: path.to_path_buf(),
            line: 0,
            column: None,
            message,
        };
        if bytes.len() < 6 || bytes[..4] != MAGIC {
            if bytes.starts_with(&aecodec_core::MAGIC) {
                return Err(bad("this is an exported model blob, not a trained model (.aect): pass it to encode/decode/inspect, or export from the .aect file".into()));
            }
            return Err(bad(
                "not an aecodec trained model (.aect): wrong magic".into()
            ));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != VERSION {
            return Err(bad(format!(
                "trained-model format version {version}; this build reads version {VERSION}{}",
                if version < VERSION {
                    " (version 6 codes window levels in whole steps): train the model again"
                } else {
                    ": upgrade aecodec"
                }
            )));
        }
        let file: TrainedFile = postcard::from_bytes(&bytes[6..])
            .map_err(|e| bad(format!("corrupt trained model: {e}")))?;
        file.validate().map_err(|e| match e {
            Error::InvalidModel(m) => bad(format!("corrupt trained model: {m}")),
            e => e,
        })?;
        Ok(file)
    }

    /// Checks the model and everything the verbs size or index from the file: the window
    /// layout against the model's inputs, every kept window's length and label.
    pub fn validate(&self) -> Result<(), Error> {
        self.model.validate()?;
        let bad = |m: String| Err(Error::InvalidModel(m));
        let m = &self.model;
        let l = &self.layout;
        let per_window = if l.rows {
            Some(l.columns.len())
        } else {
            if l.window == 0 || l.hop == 0 {
                return bad(format!(
                    "layout: window {} and hop {} samples, both at least 1",
                    l.window, l.hop
                ));
            }
            l.window.checked_mul(l.columns.len())
        };
        // The model's signal says how many channels a row holds; in series mode each
        // column is one.
        if m.signal.rows != l.rows || (!l.rows && m.signal.channels != l.columns.len()) {
            return bad(format!(
                "layout: {} columns{}, the model's signal {} channels{}",
                l.columns.len(),
                if l.rows { " per row" } else { "" },
                m.signal.channels,
                if m.signal.rows { " per row" } else { "" },
            ));
        }
        if per_window != Some(m.input_dim) {
            return bad(format!(
                "layout: {} columns{} do not make the model's {} inputs",
                l.columns.len(),
                if l.rows {
                    String::new()
                } else {
                    format!(" of {} samples", l.window)
                },
                m.input_dim
            ));
        }
        for (name, windows) in [
            ("calibration", &self.calibration),
            ("held_out", &self.held_out),
        ] {
            for (i, (values, label)) in windows.iter().enumerate() {
                if values.len() != m.input_dim {
                    return bad(format!(
                        "{name}[{i}]: {} values, the model takes {}",
                        values.len(),
                        m.input_dim
                    ));
                }
                crate::float::finite(&format!("{name}[{i}] values"), values)?;
                if *label >= m.label_count.max(1) {
                    return bad(format!(
                        "{name}[{i}]: label {label}, the model has {}",
                        if m.label_count == 0 {
                            "no labels".to_string()
                        } else {
                            format!("{} labels", m.label_count)
                        }
                    ));
                }
            }
        }
        Ok(())
    }
}
