//! The anomaly job: each window of a recording scored by its reconstruction error
//! through the payload, flagged above a threshold calibrated on the windows a trained
//! model kept aside (held out of its fit).

use std::path::PathBuf;

use aecodec_core::{Codec, Meta, Model, Precision, MAX_WIDTH};

use crate::data::read_csv;
use crate::data::windows::{to_model_order, windows_for};
use crate::data::{CsvOptions, TimeColumn};
use crate::export::export_blob;
use crate::store::TrainedFile;
use crate::Error;

/// What the anomaly job scores.
#[derive(Debug, Clone)]
pub struct AnomalyPlan {
    /// The trained model (.aect): its held-out windows calibrate the threshold.
    pub model: PathBuf,
    /// The recording to score (the model's columns).
    pub data: PathBuf,
    /// Quantile of the held-out windows' errors used as threshold (clamped to 0..=1).
    pub quantile: f64,
}

/// One window's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// The CSV line of the window's first sample (the header is line 1).
    pub first_line: usize,
    /// Reconstruction RMSE through the payload, in sensor units.
    pub rmse: f64,
    /// Above the threshold.
    pub anomalous: bool,
}

/// What the anomaly job found.
#[derive(Debug, Clone)]
pub struct Anomalies {
    /// Every window's score, in order.
    pub scores: Vec<Score>,
    /// The threshold RMSE.
    pub threshold: f64,
    /// The quantile it is of the held-out windows' errors.
    pub quantile: f64,
    /// Held-out windows it was calibrated on.
    pub calibration_windows: usize,
}

/// The RMSE of window `w` encoded and decoded through `codec`.
fn window_rmse(
    codec: &mut Codec<'_, MAX_WIDTH>,
    w: &[f32],
    label: u16,
    out: &mut [f32],
) -> Result<f64, Error> {
    let p = codec.encode(w, Meta { sequence: 0, label })?;
    codec.decode(p.as_bytes(), out)?;
    let sq: f64 = w
        .iter()
        .zip(out.iter())
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum();
    Ok((sq / w.len().max(1) as f64).sqrt())
}

/// Runs the anomaly job.
pub fn run(plan: &AnomalyPlan) -> Result<Anomalies, Error> {
    if !(0.0..=1.0).contains(&plan.quantile) {
        return Err(Error::Plan(format!(
            "--quantile {}: a quantile is a number from 0 to 1 (e.g. 0.99)",
            plan.quantile
        )));
    }
    let file = TrainedFile::load(&plan.model)?;
    let blob = export_blob(&file.model, Precision::F32, &file.calibration)?;
    let model = Model::from_bytes(&blob)?;
    let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&model)?);
    let mut out = vec![0.0f32; model.input_dim()];
    let mut calib: Vec<f64> = file
        .held_out
        .iter()
        .map(|(w, l)| window_rmse(&mut codec, w, *l, &mut out))
        .collect::<Result<_, _>>()?;
    if calib.is_empty() {
        return Err(Error::Data {
            path: plan.model.clone(),
            line: 0,
            column: None,
            message: "no held-out windows kept to calibrate a threshold".into(),
        });
    }
    calib.sort_by(f64::total_cmp);
    let quantile = plan.quantile;
    let threshold = calib[((calib.len() - 1) as f64 * quantile).round() as usize];
    let opts = CsvOptions {
        columns: Some(file.layout.columns.clone()),
        label_column: file.layout.label_column.clone(),
        time_column: TimeColumn::Auto,
        group_column: None,
    };
    let mut table = read_csv(&plan.data, &opts)?;
    to_model_order(&mut table, &model)?;
    let windows = windows_for(&table, &model, None)?;
    let window_len = model.input_dim() / table.columns.len().max(1);
    let mut scores = Vec::with_capacity(windows.len());
    for (i, (w, l)) in windows.iter().enumerate() {
        let rmse = window_rmse(&mut codec, w, l, &mut out)?;
        scores.push(Score {
            first_line: i * window_len + 2,
            rmse,
            anomalous: rmse > threshold,
        });
    }
    Ok(Anomalies {
        scores,
        threshold,
        quantile,
        calibration_windows: calib.len(),
    })
}
