//! What a per-window choice between the PCA and the DCT codec would earn, against the
//! better of the two for the whole recording, at the same payload bytes.
//!
//! The classical codec of a model is one basis for every window. A payload that gave one
//! of its bits to saying which of two bases coded the window (the encoder runs both and
//! keeps the one with the lower error) would follow a recording whose windows change in
//! kind; this measures that on the rate–distortion suite's recordings before any format
//! carries it: for each recording and budget, PCA and DCT fit on the training and
//! validation windows (at most 8,192 of each, evenly spread) with the default 8 header
//! bits, the same with one header bit more (the switch's), and the test windows coded
//! through the core with the refining encoder.
//!
//! `cargo run --release -p aecodec-trainer --example linear_switch -- DIR [BYTES ...]`,
//! DIR being what `scripts/rd_data.py DIR` wrote (`scripts/bench-rd.sh` leaves it in
//! `target/bench-rd/data`); default budgets 6 8 12 16 24 32.

use std::path::Path;

use aecodec_core::{PayloadHeader, Precision};
use aecodec_trainer::data::{read_csv, CsvOptions, Table, Window};
use aecodec_trainer::linear::{fit_dct_budget, fit_linear_budget};
use aecodec_trainer::metrics::{distortion, window_errors};
use aecodec_trainer::split::{Cut, Split, SplitPlan};
use aecodec_trainer::train::DEFAULT_REFINE;
use aecodec_trainer::windows::{sample, FIT_SAMPLE};
use aecodec_trainer::{export_blob, round_trip, FloatModel};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A budgeted classical fit: `fit_linear_budget` or `fit_dct_budget`.
type Fit = fn(
    &[Window],
    usize,
    usize,
    PayloadHeader,
) -> std::result::Result<FloatModel, aecodec_trainer::Error>;

/// The header of `aecodec train`'s defaults: 4 tag bits and 4 sequence bits.
const HEADER: PayloadHeader = PayloadHeader {
    fingerprint_bits: 4,
    sequence_bits: 4,
};

/// The switch's header: one bit more, so one bit fewer for the codes.
const SWITCH_HEADER: PayloadHeader = PayloadHeader {
    fingerprint_bits: 5,
    sequence_bits: 4,
};

/// The test windows as `model`'s f32 blob decodes them, with the refining encoder.
fn decode(model: &FloatModel, fit_on: &[Window], test: &[Window]) -> Result<Vec<Vec<f32>>> {
    let blob = export_blob(model, Precision::F32, fit_on)?;
    Ok(round_trip(&blob, test, DEFAULT_REFINE)?)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1).map(Path::new) else {
        return Err("usage: linear_switch DIR [BYTES ...]".into());
    };
    let budgets: Vec<usize> = if args.len() > 2 {
        args[2..]
            .iter()
            .map(|b| b.parse())
            .collect::<std::result::Result<_, _>>()?
    } else {
        vec![6, 8, 12, 16, 24, 32]
    };
    let list = std::fs::read_to_string(dir.join("datasets.tsv"))?;
    println!("Test SNR, dB: PCA / DCT at the budget; the switch (both at one bit fewer, the better per window); its gain over the better of PCA and DCT.\n");
    println!("| dataset | bytes | PCA | DCT | switch | gain | windows on DCT |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for line in list.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(mode), Some(window)) = (fields.first(), fields.get(1), fields.get(2))
        else {
            return Err(format!("datasets.tsv: not `name, mode, window, note`: {line}").into());
        };
        let window: usize = window.parse()?;
        let at = dir.join(name);
        let read = |file: &str| read_csv(&at.join(file), &CsvOptions::default());
        let (mut data, mut test_files): (Vec<Table>, Vec<Table>) = if at.join("train.csv").exists()
        {
            (vec![read("train.csv")?], vec![read("test.csv")?])
        } else {
            (vec![read("data.csv")?], Vec::new())
        };
        let rows = mode.starts_with("rows");
        let channels = match mode.strip_prefix("rows/") {
            Some(c) => {
                // Channel-major rows, interleaved as `train --channels` does.
                let c: usize = c.parse()?;
                for t in data.iter_mut().chain(test_files.iter_mut()) {
                    t.interleave_rows(c)?;
                }
                c
            }
            None if rows => 1,
            None => data[0].columns.len(),
        };
        let (plan, cut) = if rows {
            (SplitPlan::rows(), Cut::Rows)
        } else {
            (SplitPlan::series(window), Cut::Series { window, hop: 1 })
        };
        let split = Split::new(&data, &[], &test_files, plan, cut)?;
        let mut fit_on = sample(&split.train, FIT_SAMPLE / 2);
        fit_on.extend(sample(&split.validation, FIT_SAMPLE / 2));
        let test = split.test.to_vec();
        for &bytes in &budgets {
            let snr = |decoded: &[Vec<f32>]| distortion(&test, decoded, channels).snr_db;
            let coded =
                |fit: Fit, header| decode(&fit(&fit_on, channels, bytes, header)?, &fit_on, &test);
            let (pca, dct) = (
                coded(fit_linear_budget, HEADER)?,
                coded(fit_dct_budget, HEADER)?,
            );
            let pca1 = coded(fit_linear_budget, SWITCH_HEADER)?;
            let dct1 = coded(fit_dct_budget, SWITCH_HEADER)?;
            let (ep, ed) = (window_errors(&test, &pca1), window_errors(&test, &dct1));
            let on_dct: Vec<bool> = ep.iter().zip(&ed).map(|(p, d)| d < p).collect();
            let switched: Vec<Vec<f32>> = on_dct
                .iter()
                .zip(pca1.into_iter().zip(dct1))
                .map(|(&d, (p, c))| if d { c } else { p })
                .collect();
            let (p, d, s) = (snr(&pca), snr(&dct), snr(&switched));
            println!(
                "| {name} | {bytes} | {p:.2} | {d:.2} | {s:.2} | {:+.2} | {} of {} |",
                s - p.max(d),
                on_dct.iter().filter(|&&d| d).count(),
                test.len()
            );
        }
    }
    Ok(())
}
