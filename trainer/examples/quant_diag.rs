//! Where a trained model's test error comes from: the network itself (unquantized
//! latents), the latent quantizer, or the full-int8 halves, and how much of it sits in a
//! few windows and in the windows whose latents fall outside the calibrated ranges.
//!
//! `cargo run --release -p aecodec-trainer --example quant_diag -- MODEL.aect [TEST.csv]`
//! (series models cut the test file into disjoint windows, row models take each row;
//! without TEST.csv, the held-out windows kept in the model file). SNR as `aecodec train`
//! reports it.

use aecodec_core::Precision;
use aecodec_trainer::data::{read_csv, CsvOptions, Window};
use aecodec_trainer::report::metrics::{distortion, window_errors};
use aecodec_trainer::store::TrainedFile;
use aecodec_trainer::{device_blob, export_blob, round_trip, send_receive, FloatQuantizer};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(model) = args.get(1) else {
        return Err("usage: quant_diag MODEL.aect [TEST.csv]".into());
    };
    let file = TrainedFile::load(model.as_ref())?;
    let windows = match args.get(2) {
        None => file.held_out.clone(),
        Some(test) => {
            let opts = CsvOptions {
                columns: Some(file.layout.columns.clone()),
                label_column: None,
                ..Default::default()
            };
            let table = read_csv(test.as_ref(), &opts)?;
            if file.layout.rows {
                table.row_windows(0, table.len())
            } else {
                let w = file.layout.window;
                table.windows(0, table.len(), w, w)?
            }
        }
    };
    report(&file, &windows)
}

/// Share of the total in the `k` largest of `errors`.
fn share_of_top(errors: &[f64], k: usize) -> f64 {
    let mut e = errors.to_vec();
    e.sort_by(|a, b| b.total_cmp(a));
    e.iter().take(k).sum::<f64>() / e.iter().sum::<f64>().max(f64::MIN_POSITIVE)
}

fn report(file: &TrainedFile, windows: &[Window]) -> Result<()> {
    let m = &file.model;
    let channels = file.model.signal.channels;
    let blob = export_blob(m, Precision::F32, &file.calibration)?;
    let int8 = export_blob(m, Precision::Int8Full, &file.calibration)?;
    let device = device_blob(&int8, &blob)?;
    let unquantized: Vec<Vec<f32>> = windows
        .iter()
        .map(|(w, l)| {
            let z = m.encode_latent(w, *l);
            m.decode_latent(&z, *l)
                .into_iter()
                .map(|v| v as f32)
                .collect()
        })
        .collect();
    let out_of_range: Vec<usize> = windows
        .iter()
        .map(|(w, l)| match &m.quantizer {
            FloatQuantizer::Uniform { bits, lo, hi, .. } => m
                .encode_latent(w, *l)
                .iter()
                .enumerate()
                .filter(|&(d, &v)| bits[d] > 0 && (v < f64::from(lo[d]) || v > f64::from(hi[d])))
                .count(),
            FloatQuantizer::Switched { .. } | FloatQuantizer::Gaussian { .. } => 0,
        })
        .collect();
    println!(
        "{} windows, {} with a latent out of range ({} latents); bits {:?}",
        windows.len(),
        out_of_range.iter().filter(|&&n| n > 0).count(),
        out_of_range.iter().sum::<usize>(),
        m.quantizer.bits()
    );
    let runs = [
        ("unquantized", unquantized),
        ("f32, plain", round_trip(&blob, windows, 0)?),
        ("f32, refine 4", round_trip(&blob, windows, 4)?),
        ("int8-full, plain", round_trip(&int8, windows, 0)?),
        ("int8-full, refine 4", round_trip(&int8, windows, 4)?),
        (
            "int8 device, f32",
            send_receive(&device, &blob, windows, 0)?,
        ),
    ];
    for (name, decoded) in runs {
        let errors = window_errors(windows, &decoded);
        let total = errors.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let outside: f64 = errors
            .iter()
            .zip(&out_of_range)
            .filter(|(_, &n)| n > 0)
            .map(|(e, _)| e)
            .sum();
        println!(
            "{name:>20}: SNR {:6.2} dB; 6 worst windows {:5.1} % of the error; windows out of range {:5.1} %",
            distortion(windows, &decoded, channels).snr_db,
            100.0 * share_of_top(&errors, 6),
            100.0 * outside / total
        );
    }
    Ok(())
}
