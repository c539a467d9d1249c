//! The latent quantizer on windows unlike those it was calibrated on: a codec that meets a
//! larger signal than any in its training data reconstructs it with an error of the same
//! order as its usual error, not clipped to the calibrated ranges.

use aecodec_core::{PayloadHeader, Precision};
use aecodec_trainer::data::Window;
use aecodec_trainer::linear::{fit_linear_budget, range_table};
use aecodec_trainer::report::metrics::distortion;
use aecodec_trainer::{export_blob, round_trip, Rng};

/// Windows of 32 samples of one channel: two sines of random amplitude (up to `scale`)
/// and phase, plus a little noise.
fn windows(n: usize, scale: f64, seed: u64) -> Vec<Window> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let (a, b) = (scale * rng.uniform(), 0.5 * scale * rng.uniform());
            let (p, q) = (6.3 * rng.uniform(), 6.3 * rng.uniform());
            let w = (0..32)
                .map(|t| {
                    let t = t as f64;
                    (a * (t / 5.0 + p).sin() + b * (t / 2.3 + q).sin() + 0.01 * rng.gaussian())
                        as f32
                })
                .collect();
            (w, 0)
        })
        .collect()
}

#[test]
fn a_window_larger_than_any_in_training_is_not_clipped_to_the_calibrated_ranges() {
    let train = windows(2000, 1.0, 1);
    let usual = windows(200, 1.0, 2);
    // Every window of this set is 1.6 times larger than the training windows at the same
    // draw: most of their latents lie outside the calibrated ranges.
    let large: Vec<Window> = windows(200, 1.0, 2)
        .into_iter()
        .map(|(w, l)| (w.iter().map(|v| 1.6 * v).collect(), l))
        .collect();
    let header = PayloadHeader::default();
    for bytes in [8, 16, 24] {
        let model = fit_linear_budget(&train, 1, bytes, header).unwrap();
        let blob = export_blob(&model, Precision::F32, &train).unwrap();
        let snr = |w: &[Window]| distortion(w, &round_trip(&blob, w, 0).unwrap(), 1).snr_db;
        let (a, b) = (snr(&usual), snr(&large));
        // The same windows scaled have the same SNR through an unclipped linear codec.
        // Ranges fit to the calibration values alone cost 22 dB here at 8 B; these reach
        // 1.5 times as far, and lose at most about 4 dB on windows 1.6 times larger.
        assert!(
            b > a - 6.0,
            "{bytes} B: {a:.2} dB on usual windows, {b:.2} dB on larger ones"
        );
    }
}

#[test]
fn ranges_reach_past_the_calibration_values_where_bits_are_plentiful() {
    let mut rng = Rng::new(3);
    let values: Vec<f64> = (0..4000).map(|_| rng.gaussian()).collect();
    let (min, max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let table = range_table(&values, 12);
    // At one and two bits the tails are clipped (the range is inside the values).
    for (b, &(_, lo, hi)) in table.iter().enumerate().take(3).skip(1) {
        assert!(
            f64::from(lo) > min && f64::from(hi) < max,
            "{b} bits: {lo}..{hi}"
        );
    }
    // With many bits the range covers well past the extremes.
    for (b, &(_, lo, hi)) in table.iter().enumerate().skip(8) {
        assert!(
            f64::from(lo) < min - 0.5 && f64::from(hi) > max + 0.5,
            "{b} bits: {lo}..{hi} against {min}..{max}"
        );
    }
    // Errors fall with every bit.
    assert!(table.windows(2).all(|w| w[1].0 < w[0].0));
}
