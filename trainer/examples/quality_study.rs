//! Quality study on the bundled Daphnet recording: trains one
//! learned-codec configuration at 6, 8 and 12 bytes on a 70/15/15 time split and reports,
//! through the core, SNR on train / validation / test, the margin over the best
//! classical codec (PCA or DCT) on each split, the unquantized network's SNR, and the
//! empirical entropy of the quantized latents (what a static per-dimension table would
//! cost).
//!
//! `cargo run --release -p aecodec-trainer --example quality_study -- key=value…`
//! keys (defaults are the trainer's defaults before the study): variant=ae|dae, sigma,
//! mask, hidden=256,128, dec (decoder hidden widths; default the mirror), latent, latdiv
//! (latent = code bits / latdiv), steps=4000, lr, batch, qat, ema (weight-average decay,
//! 0 = off), seed, hop=2 (train windows), budgets=6,8,12, extra_bits (code bits added at
//! each budget through a padded header: the "bits given back" experiment), conv=K,S,F (a
//! convolutional front end: F filters over K samples every S), switch=1 (also simulate
//! per-window switching between the learned and a classical codec), refine=1,2,4 (also
//! measure the encoder refining codes for that many passes), tag.
//! Everything trains on one thread. Results and conclusions: docs/quality-study.md.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use aecodec_core::{PayloadHeader, Precision};
use aecodec_trainer::data::{read_csv, CsvOptions, Window};
use aecodec_trainer::learned::train::{train, TrainConfig};
use aecodec_trainer::learned::variants::{ConvShape, Corruption, Variant};
use aecodec_trainer::linear::{fit_dct_budget, fit_linear_budget};
use aecodec_trainer::report::metrics::distortion;
use aecodec_trainer::{export_blob, round_trip, FloatModel, FloatQuantizer};

const COLUMNS: [&str; 3] = ["ankle_horiz_fwd", "ankle_vert", "ankle_horiz_lateral"];
const WINDOW: usize = 64;

fn snr(model: &FloatModel, calib: &[Window], w: &[Window]) -> f64 {
    let blob = export_blob(model, Precision::F32, calib).expect("export");
    distortion(w, &round_trip(&blob, w, 0).expect("round trip"), 3).snr_db
}

/// SNR through the core when each decoded window is rescaled (around the model's
/// channel means) by the scale that fits it best: an upper bound on what sending a
/// per-window gain could add.
fn snr_oracle_gain(model: &FloatModel, calib: &[Window], w: &[Window]) -> f64 {
    let blob = export_blob(model, Precision::F32, calib).expect("export");
    let dec = round_trip(&blob, w, 0).expect("round trip");
    let m = &model.norm_mean;
    let fixed: Vec<Vec<f32>> = w
        .iter()
        .zip(&dec)
        .map(|((x, _), d)| {
            let (mut xr, mut rr) = (0.0f64, 0.0f64);
            for i in 0..x.len() {
                let r = f64::from(d[i] - m[i]);
                xr += f64::from(x[i] - m[i]) * r;
                rr += r * r;
            }
            let a = if rr > 0.0 { xr / rr } else { 1.0 };
            (0..x.len())
                .map(|i| (f64::from(m[i]) + a * f64::from(d[i] - m[i])) as f32)
                .collect()
        })
        .collect();
    distortion(w, &fixed, 3).snr_db
}

/// 5 % and 95 % points of the margin (dB) of `a` over `b` on windows resampled with
/// replacement from `w` (2,000 resamples): how much the margin on a few windows owes to
/// which windows they happen to be.
fn bootstrap_margin(w: &[Window], a: &[Vec<f32>], b: &[Vec<f32>]) -> (f64, f64) {
    let mut rng = aecodec_trainer::Rng::new(7);
    let mut margins: Vec<f64> = (0..2000)
        .map(|_| {
            let idx: Vec<usize> = (0..w.len())
                .map(|_| ((rng.uniform() * w.len() as f64) as usize).min(w.len() - 1))
                .collect();
            let pick = |v: &[Vec<f32>]| idx.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
            let ws: Vec<Window> = idx.iter().map(|&i| w[i].clone()).collect();
            distortion(&ws, &pick(a), 3).snr_db - distortion(&ws, &pick(b), 3).snr_db
        })
        .collect();
    margins.sort_by(f64::total_cmp);
    (margins[100], margins[1900])
}

fn decoded(model: &FloatModel, calib: &[Window], w: &[Window]) -> Vec<Vec<f32>> {
    round_trip(
        &export_blob(model, Precision::F32, calib).expect("export"),
        w,
        0,
    )
    .expect("rt")
}

/// SNR of the float network without quantization.
fn snr_float(model: &FloatModel, w: &[Window]) -> f64 {
    let dec: Vec<Vec<f32>> = w
        .iter()
        .map(|(x, l)| {
            let z = model.encode_latent(x, *l);
            model
                .decode_latent(&z, *l)
                .into_iter()
                .map(|v| v as f32)
                .collect()
        })
        .collect();
    distortion(w, &dec, 3).snr_db
}

/// Quantizer cell index of each dimension with bits (uniform quantizers only).
fn indices(model: &FloatModel, w: &[Window]) -> Vec<Vec<usize>> {
    let FloatQuantizer::Uniform { bits, lo, hi, .. } = &model.quantizer else {
        return Vec::new();
    };
    w.iter()
        .map(|(x, l)| {
            let z = model.encode_latent(x, *l);
            bits.iter()
                .enumerate()
                .filter(|(_, &b)| b > 0)
                .map(|(d, &b)| {
                    let levels = f64::from(1u32 << b);
                    let step = f64::from(hi[d] - lo[d]) / levels;
                    ((z[d] - f64::from(lo[d])) / step)
                        .floor()
                        .clamp(0.0, levels - 1.0) as usize
                })
                .collect()
        })
        .collect()
}

/// (fixed bits, cross-entropy of `eval` codes under add-½ histograms of `fit` codes,
/// empirical entropy of `eval` codes under their own histogram), bits per window.
fn entropy(model: &FloatModel, fit: &[Window], eval: &[Window]) -> (f64, f64, f64) {
    let bits: Vec<u8> = model
        .quantizer
        .bits()
        .iter()
        .copied()
        .filter(|&b| b > 0)
        .collect();
    let (fi, ei) = (indices(model, fit), indices(model, eval));
    if fi.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let (mut cross, mut own) = (0.0, 0.0);
    for (d, &b) in bits.iter().enumerate() {
        let levels = 1usize << b;
        let mut h = vec![0.5f64; levels];
        fi.iter().for_each(|r| h[r[d]] += 1.0);
        let tot: f64 = h.iter().sum();
        cross -= ei.iter().map(|r| (h[r[d]] / tot).log2()).sum::<f64>() / ei.len() as f64;
        let mut e: HashMap<usize, f64> = HashMap::new();
        ei.iter().for_each(|r| *e.entry(r[d]).or_default() += 1.0);
        let n = ei.len() as f64;
        own -= e.values().map(|c| c / n * (c / n).log2()).sum::<f64>();
    }
    (bits.iter().map(|&b| f64::from(b)).sum(), cross, own)
}

/// Per-window mode switching, simulated: one mode bit per window (taken from the code
/// bits through a 9-bit header) says whether the window was coded by the learned codec
/// or by PCA (or DCT), whichever errs less on it; prints the SNR of each pairing and its
/// margin over the best classical codec at the full bits (`classical`: validation, test).
fn switch_study(
    tag: &str,
    bytes: usize,
    cfg: &TrainConfig,
    train_w: &[Window],
    val: &[Window],
    test: &[Window],
    classical: (f64, f64),
) {
    let h9 = PayloadHeader {
        fingerprint_bits: 5,
        sequence_bits: 4,
    };
    let lin = fit_linear_budget(train_w, 3, bytes, h9).unwrap();
    let dct = fit_dct_budget(train_w, 3, bytes, h9).unwrap();
    let cfg = TrainConfig {
        header: h9,
        latent: Some(((bytes * 8 - 9) as f64 / 4.0).round() as usize),
        ..cfg.clone()
    };
    let learned = train(&cfg, train_w, val, 3, 0, &mut |_| {})
        .expect("train")
        .model;
    let sq = |w: &[f32], d: &[f32]| -> f64 {
        w.iter()
            .zip(d)
            .map(|(&a, &b)| f64::from(a - b).powi(2))
            .sum()
    };
    for (name, ws, best) in [("val", val, classical.0), ("test", test, classical.1)] {
        let dm = decoded(&learned, train_w, ws);
        let pick = |other: &FloatModel| -> f64 {
            let d = decoded(other, train_w, ws);
            let chosen: Vec<Vec<f32>> = ws
                .iter()
                .zip(dm.iter().zip(d))
                .map(|((w, _), (m, o))| if sq(w, m) <= sq(w, &o) { m.clone() } else { o })
                .collect();
            distortion(ws, &chosen, 3).snr_db
        };
        let (with_lin, with_dct) = (pick(&lin), pick(&dct));
        println!(
            "SWITCH {tag} B={bytes} {name}: learned alone {:.2} | learned or pca {with_lin:.2} ({:+.2}) | learned or dct {with_dct:.2} ({:+.2}) over the best classical {best:.2}",
            distortion(ws, &dm, 3).snr_db,
            with_lin - best,
            with_dct - best
        );
    }
}

/// SNR through the core with the encoder refining codes for `passes` passes
/// (analysis by synthesis, `Codec::encode_refined`).
fn snr_refined(model: &FloatModel, calib: &[Window], w: &[Window], passes: u8) -> f64 {
    let blob = export_blob(model, Precision::F32, calib).expect("export");
    distortion(w, &round_trip(&blob, w, passes).expect("round trip"), 3).snr_db
}

fn main() {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let get = |k: &str, d: &str| args.get(k).cloned().unwrap_or_else(|| d.to_string());
    let list = |s: String| -> Vec<usize> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().expect("number"))
            .collect()
    };
    let path = get("data", "data/daphnet_s06r02e0.csv");
    let table = read_csv(
        path.as_ref(),
        &CsvOptions {
            columns: Some(COLUMNS.iter().map(|c| c.to_string()).collect()),
            label_column: None,
            ..Default::default()
        },
    )
    .expect("data");
    let rows = table.len();
    let (a, b) = (rows * 70 / 100, rows * 85 / 100);
    let hop: usize = get("hop", "2").parse().unwrap();
    let train_w = table.windows(0, a, WINDOW, hop).unwrap();
    let train_disjoint = table.windows(0, a, WINDOW, WINDOW).unwrap();
    let val = table.windows(a, b, WINDOW, 8).unwrap();
    let test = table.windows(b, rows, WINDOW, WINDOW).unwrap();

    let sigma: f32 = get("sigma", "0.5").parse().unwrap();
    let mask: f32 = get("mask", "0").parse().unwrap();
    let variant = match get("variant", "dae").as_str() {
        "ae" => Variant::Ae,
        _ => Variant::Dae(Corruption {
            gaussian_sigma: sigma,
            mask_fraction: mask,
            ..Corruption::default()
        }),
    };
    let budgets = list(get("budgets", "6,8,12"));
    let extra_bits: usize = get("extra_bits", "0").parse().unwrap();
    let tag = get("tag", "run");
    let started = std::time::Instant::now();
    for &bytes in &budgets {
        let header = PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 4,
        };
        let lin = fit_linear_budget(&train_w, 3, bytes, header).unwrap();
        let dct = fit_dct_budget(&train_w, 3, bytes, header).unwrap();
        let cls = |w: &[Window]| snr(&lin, &train_w, w).max(snr(&dct, &train_w, w));
        let (cv, ct) = (cls(&val), cls(&test));
        // extra code bits: a larger payload whose header soaks up the difference
        let (pb, hdr) = if extra_bits == 0 {
            (bytes, header)
        } else {
            let code = bytes * 8 - 8 + extra_bits;
            let pb = (code + 8).div_ceil(8);
            let pad = pb * 8 - code;
            (
                pb,
                PayloadHeader {
                    fingerprint_bits: pad.div_ceil(2) as u8,
                    sequence_bits: (pad / 2) as u8,
                },
            )
        };
        let cfg = TrainConfig {
            variant,
            hidden: list(get("hidden", "256,128")),
            decoder_hidden: args.get("dec").map(|d| list(d.clone())),
            // without latent or latdiv: the trainer's rule before the study, a third of
            // the code bits
            latent: Some(args.get("latent").map_or_else(
                || {
                    args.get("latdiv")
                        .map_or(((bytes * 8 - 8 + extra_bits) / 3).clamp(2, 32), |d| {
                            ((bytes * 8 - 8) as f64 / d.parse::<f64>().unwrap()).round() as usize
                        })
                },
                |s| s.parse().unwrap(),
            )),
            payload_bytes: pb,
            header: hdr,
            steps: get("steps", "4000").parse().unwrap(),
            batch: get("batch", "64").parse().unwrap(),
            lr: get("lr", "2e-3").parse().unwrap(),
            qat_fraction: get("qat", "0.3").parse().unwrap(),
            seed: get("seed", "1").parse().unwrap(),
            threads: NonZeroUsize::MIN,
            weight_average: get("ema", "0").parse().unwrap(),
            // The study's runs predate the encoder's tuning: off unless asked (`tune=0.1`).
            encoder_tuning: get("tune", "0").parse().unwrap(),
            conv: args.get("conv").map(|c| {
                let v = list(c.clone());
                ConvShape {
                    kernel: v[0],
                    stride: v[1],
                    filters: v[2],
                }
            }),
            ..TrainConfig::default()
        };
        let t = train(&cfg, &train_w, &val, 3, 0, &mut |_| {}).expect("train");
        let m = &t.model;
        let (tr, va, te) = (
            snr(m, &train_w, &train_disjoint),
            snr(m, &train_w, &val),
            snr(m, &train_w, &test),
        );
        let (ftr, fva, fte) = (
            snr_float(m, &train_disjoint),
            snr_float(m, &val),
            snr_float(m, &test),
        );
        let (fixed, xent, own) = entropy(m, &train_w, &val);
        let (gva, gte) = (
            snr_oracle_gain(m, &train_w, &val),
            snr_oracle_gain(m, &train_w, &test),
        );
        let (lfixed, lxent, _) = entropy(&lin, &train_w, &val);
        let best_cls = if snr(&lin, &train_w, &test) >= snr(&dct, &train_w, &test) {
            &lin
        } else {
            &dct
        };
        let (b5, b95) = bootstrap_margin(
            &test,
            &decoded(m, &train_w, &test),
            &decoded(best_cls, &train_w, &test),
        );
        for p in get("refine", "").split(',').filter(|x| !x.is_empty()) {
            let p: u8 = p.parse().expect("refine passes, 0..=255");
            let (rv, rt) = (
                snr_refined(m, &train_w, &val, p),
                snr_refined(m, &train_w, &test, p),
            );
            // the classical codecs through the same refining encoder
            let cls_r = |w: &[Window]| {
                snr_refined(&lin, &train_w, w, p).max(snr_refined(&dct, &train_w, w, p))
            };
            println!(
                "REFINE {tag} B={bytes} passes {p}: classical refined val {:.2} test {:.2} | val {rv:.2} ({:+.2} margin, was {:+.2}) test {rt:.2} ({:+.2} margin, was {:+.2}) train {:.2} (was {tr:.2})",
                cls_r(&val),
                cls_r(&test),
                rv - cv,
                va - cv,
                rt - ct,
                te - ct,
                snr_refined(m, &train_w, &train_disjoint, p),
            );
        }
        if args.get("switch").is_some_and(|v| v == "1") {
            switch_study(&tag, bytes, &cfg, &train_w, &val, &test, (cv, ct));
        }
        println!(
            "{tag} B={bytes} k={} | SNR train {tr:.2} val {va:.2} test {te:.2} | margin val {:+.2} test {:+.2} | classical val {cv:.2} test {ct:.2} | float train {ftr:.2} val {fva:.2} test {fte:.2} | bits {fixed:.0} xent(val|train) {xent:.1} ({:.0} %) own {own:.1} | oracle gain val {gva:.2} test {gte:.2} | test margin 90 % bootstrap {b5:+.2}..{b95:+.2} | linear bits {lfixed:.0} xent {lxent:.1} ({:.0} %) | {:.0}s",
            m.quantizer.bits().len(),
            va - cv,
            te - ct,
            100.0 * (1.0 - xent / fixed),
            100.0 * (1.0 - lxent / lfixed),
            started.elapsed().as_secs_f64()
        );
    }
}
