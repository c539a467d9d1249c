//! The classical codecs `auto` chooses between — PCA, DCT and the per-window PCA/DCT
//! switch (one mode bit) — on the rate–distortion suite's recordings: their validation
//! SNR (what `auto` sees), which one `auto`'s rule keeps ([`choose`]) and which one the
//! highest validation SNR alone would keep, and their test SNR, refit on the training
//! and validation windows as `aecodec train` ships them (at most 8,192 of each, evenly
//! spread), coded through the core in f32 with the refining encoder.
//!
//! `cargo run --release -p aecodec-trainer --example linear_switch -- DIR [BYTES ...]`,
//! DIR being what `scripts/rd_data.py DIR` wrote (`scripts/bench-rd.sh` leaves it in
//! `target/bench-rd/data`); default budgets 6 8 12 16 24 32.

use std::path::Path;

use aecodec_core::Precision;
use aecodec_trainer::data::split::{Cut, Split, SplitPlan};
use aecodec_trainer::data::windows::{sample, FIT_SAMPLE, HELD_OUT_SAMPLE};
use aecodec_trainer::data::{read_csv, CsvOptions, Table};
use aecodec_trainer::learned::train::TrainConfig;
use aecodec_trainer::report::metrics::distortion;
use aecodec_trainer::select::{choose, classical, fit, CodecKind};
use aecodec_trainer::{export_blob, round_trip};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

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
    println!("SNR, dB, of PCA / DCT / switch on the validation windows and on the test part; the codec the highest validation SNR keeps and the one auto's rule keeps, each with its test SNR minus the better of PCA and DCT.\n");
    println!("| dataset | bytes | validation | test | highest validation | auto's rule |");
    println!("|---|---:|---:|---:|---|---|");
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
        let val = sample(&split.validation, HELD_OUT_SAMPLE);
        let mut fit_on = sample(&split.train, FIT_SAMPLE / 2);
        fit_on.extend(sample(&split.validation, FIT_SAMPLE / 2));
        let test = split.test.to_vec();
        for &bytes in &budgets {
            let cfg = TrainConfig {
                payload_bytes: bytes,
                ..TrainConfig::default()
            };
            let candidates = classical(&cfg, &split.train, &val, channels)?;
            let on_val: Vec<f64> = candidates.iter().map(|c| c.validation.snr_db).collect();
            let by_val = (0..3)
                .max_by(|&a, &b| on_val[a].total_cmp(&on_val[b]))
                .unwrap_or(0);
            let rule = choose(candidates, cfg.seed).chosen;
            let mut on_test = Vec::new();
            for kind in CodecKind::CLASSICAL {
                let model = fit(
                    kind,
                    &cfg,
                    fit_on.as_slice(),
                    &val,
                    channels,
                    0,
                    &mut |_| {},
                )?;
                let blob = export_blob(&model, Precision::F32, &fit_on)?;
                let decoded = round_trip(&blob, &test, cfg.refine)?;
                on_test.push(distortion(&test, &decoded, channels).snr_db);
            }
            let best = on_test[0].max(on_test[1]);
            let codec = |i: usize| CodecKind::CLASSICAL[i].name();
            println!(
                "| {name} | {bytes} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} / {:.2} | {} {:+.2} | {} {:+.2} |",
                on_val[0],
                on_val[1],
                on_val[2],
                on_test[0],
                on_test[1],
                on_test[2],
                codec(by_val),
                on_test[by_val] - best,
                codec(rule),
                on_test[rule] - best,
            );
        }
    }
    Ok(())
}
