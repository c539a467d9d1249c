//! The classical baselines (DCT transform coder, downsample + 8 bit): the transform,
//! payload sizes, refusals, rate–distortion on a synthetic and on the bundled recording.

mod common;

use std::path::PathBuf;
use std::sync::LazyLock;

use aecodec_core::PayloadHeader;
use aecodec_trainer::data::{Table, Window};
use aecodec_trainer::linear::dct::Dct;
use aecodec_trainer::report::baselines::{DctCodec, DownsampleCodec};
use aecodec_trainer::report::metrics::{compression_ratio, distortion};
use aecodec_trainer::Rng;
use proptest::prelude::*;

const BUDGETS: [usize; 6] = [6, 8, 12, 16, 24, 32];
/// What the learned codec spends on fingerprint + sequence in each payload.
const HEADER: PayloadHeader = PayloadHeader {
    fingerprint_bits: 4,
    sequence_bits: 4,
};
const HEADER_BITS: usize = HEADER.bits();
const CHANNELS: usize = 3;
const WINDOW: usize = 64;

/// Three channels, each a sum of two sines (different amplitudes, phases and offsets)
/// plus noise at 1% of the first sine's amplitude: smooth, as sensor data between events.
fn smooth_table() -> Table {
    let mut rng = Rng::new(11);
    let values = (0..6000)
        .flat_map(|t| {
            let t = t as f64;
            (0..CHANNELS)
                .map(|c| {
                    let c = c as f64;
                    let a = 100.0 * (1.0 + c);
                    let v = 500.0 * c
                        + a * (std::f64::consts::TAU * t / 70.0 + c).sin()
                        + 0.4 * a * (std::f64::consts::TAU * t / 23.0 + 2.0 * c).sin()
                        + 0.01 * a * rng.gaussian();
                    v as f32
                })
                .collect::<Vec<f32>>()
        })
        .collect();
    Table::new(
        PathBuf::from("synthetic"),
        vec!["a".into(), "b".into(), "c".into()],
        values,
        None,
    )
    .unwrap()
}

fn smooth_split() -> (Vec<Window>, Vec<Window>) {
    let table = smooth_table();
    let train = table.windows(0, 4000, WINDOW, 4).unwrap();
    let test = table.windows(4000, 6000, WINDOW, WINDOW).unwrap();
    (train, test)
}

static SMOOTH: LazyLock<(Vec<Window>, Vec<Window>)> = LazyLock::new(smooth_split);

/// SNR (dB) of both codecs on `test` at every budget.
fn rate_distortion(train: &[Window], test: &[Window]) -> Vec<(usize, f64, f64)> {
    BUDGETS
        .iter()
        .map(|&bytes| {
            let dct = DctCodec::fit(train, CHANNELS, bytes, HEADER).unwrap();
            let ds = DownsampleCodec::fit(train, CHANNELS, bytes, HEADER).unwrap();
            let d = distortion(test, &dct.round_trip(test).unwrap(), CHANNELS);
            let s = distortion(test, &ds.round_trip(test).unwrap(), CHANNELS);
            (bytes, d.snr_db, s.snr_db)
        })
        .collect()
}

fn assert_non_decreasing(curve: &[(usize, f64, f64)], slack_db: f64) {
    for pair in curve.windows(2) {
        let ((b0, d0, s0), (b1, d1, s1)) = (pair[0], pair[1]);
        assert!(
            d1 >= d0 - slack_db,
            "DCT SNR fell from {d0:.2} dB at {b0} B to {d1:.2} dB at {b1} B"
        );
        assert!(
            s1 >= s0 - slack_db,
            "downsample SNR fell from {s0:.2} dB at {b0} B to {s1:.2} dB at {b1} B"
        );
    }
}

#[test]
fn dct_of_a_cosine_at_a_dct_frequency_puts_its_energy_in_one_coefficient() {
    let n = 64;
    let dct = Dct::new(n).unwrap();
    for k0 in [0, 1, 5, 31, 63] {
        let x: Vec<f64> = (0..n)
            .map(|t| (std::f64::consts::PI / n as f64 * (t as f64 + 0.5) * k0 as f64).cos())
            .collect();
        let y = dct.forward(&x);
        let total: f64 = y.iter().map(|v| v * v).sum();
        let energy_in_x: f64 = x.iter().map(|v| v * v).sum();
        assert!(
            y[k0] * y[k0] >= (1.0 - 1e-9) * total,
            "k0 = {k0}: {} of {total}",
            y[k0] * y[k0]
        );
        // orthonormal: energy is preserved
        assert!((total - energy_in_x).abs() < 1e-9 * energy_in_x);
    }
}

#[test]
fn inverse_dct_of_forward_dct_is_identity() {
    let mut rng = Rng::new(3);
    for n in [1, 2, 7, 64, 256] {
        let dct = Dct::new(n).unwrap();
        let x: Vec<f64> = (0..n).map(|_| 100.0 * rng.gaussian()).collect();
        let back = dct.inverse(&dct.forward(&x));
        let worst = x
            .iter()
            .zip(&back)
            .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
            .fold(0.0f64, f64::max);
        assert!(worst < 1e-5, "n = {n}: relative error {worst}");
    }
    assert!(Dct::new(0).is_err());
}

#[test]
fn both_codecs_produce_exactly_the_budgeted_bytes_and_spend_no_more_bits() {
    let (train, test) = &*SMOOTH;
    for bytes in BUDGETS {
        let dct = DctCodec::fit(train, CHANNELS, bytes, HEADER).unwrap();
        let ds = DownsampleCodec::fit(train, CHANNELS, bytes, HEADER).unwrap();
        for (name, used) in [
            (
                "DCT",
                dct.bits().iter().map(|&b| usize::from(b)).sum::<usize>(),
            ),
            (
                "downsample",
                ds.bits().iter().map(|&b| usize::from(b)).sum(),
            ),
        ] {
            assert!(
                used > 0 && used + HEADER_BITS <= bytes * 8,
                "{name} {bytes} B: {used} code bits"
            );
        }
        assert_eq!((dct.payload_bytes(), ds.payload_bytes()), (bytes, bytes));
        for (w, _) in test {
            let (p, q) = (dct.encode(w), ds.encode(w));
            assert_eq!((p.len(), q.len()), (bytes, bytes));
            // the header bits are left to the caller
            assert_eq!((p[0], q[0]), (0, 0));
            assert_eq!(dct.decode(&p).unwrap().len(), WINDOW * CHANNELS);
            assert_eq!(ds.decode(&q).unwrap().len(), WINDOW * CHANNELS);
        }
    }
}

#[test]
fn decode_ignores_the_callers_header_bits() {
    let (train, test) = &*SMOOTH;
    let dct = DctCodec::fit(train, CHANNELS, 12, HEADER).unwrap();
    let ds = DownsampleCodec::fit(train, CHANNELS, 12, HEADER).unwrap();
    let w = &test[0].0;
    let (mut p, mut q) = (dct.encode(w), ds.encode(w));
    let (plain_p, plain_q) = (dct.decode(&p).unwrap(), ds.decode(&q).unwrap());
    p[0] = 0xA5;
    q[0] = 0xA5;
    assert_eq!(dct.decode(&p).unwrap(), plain_p);
    assert_eq!(ds.decode(&q).unwrap(), plain_q);
}

#[test]
fn decode_refuses_a_payload_of_the_wrong_length() {
    let (train, _) = &*SMOOTH;
    let dct = DctCodec::fit(train, CHANNELS, 16, HEADER).unwrap();
    let ds = DownsampleCodec::fit(train, CHANNELS, 16, HEADER).unwrap();
    for len in [0, 15, 17] {
        let e = dct.decode(&vec![0; len]).unwrap_err().to_string();
        assert!(
            e.contains(&format!("payload is {len} bytes")) && e.contains("16 bytes"),
            "{e}"
        );
        let e = ds.decode(&vec![0; len]).unwrap_err().to_string();
        assert!(
            e.contains(&format!("payload is {len} bytes")) && e.contains("16 bytes"),
            "{e}"
        );
    }
}

#[test]
fn round_trip_refuses_a_window_of_another_length() {
    let (train, _) = &*SMOOTH;
    let dct = DctCodec::fit(train, CHANNELS, 16, HEADER).unwrap();
    let ds = DownsampleCodec::fit(train, CHANNELS, 16, HEADER).unwrap();
    let short = vec![(vec![0.0f32; WINDOW * CHANNELS - CHANNELS], 0)];
    assert!(dct
        .round_trip(&short)
        .unwrap_err()
        .to_string()
        .contains("window 0"));
    assert!(ds
        .round_trip(&short)
        .unwrap_err()
        .to_string()
        .contains("window 0"));
}

#[test]
fn snr_rises_with_the_budget_on_a_smooth_signal_and_dct_passes_15_db_at_32_bytes() {
    let (train, test) = &*SMOOTH;
    let curve = rate_distortion(train, test);
    for (bytes, d, s) in &curve {
        println!("smooth synthetic  {bytes:>3} B  DCT {d:6.2} dB  downsample {s:6.2} dB");
    }
    assert_non_decreasing(&curve, 0.1);
    let (_, dct_at_32, _) = curve[curve.len() - 1];
    assert!(dct_at_32 > 15.0, "DCT at 32 B: {dct_at_32:.2} dB");
}

#[test]
fn downsample_refuses_a_budget_too_small_for_one_sample_per_channel() {
    let (train, _) = &*SMOOTH;
    // 3 bytes − 8 header bits = 16 bits < 3 channels × 8 bits
    let e = DownsampleCodec::fit(train, CHANNELS, 3, HEADER)
        .unwrap_err()
        .to_string();
    assert!(e.contains("3-byte payload") && e.contains("16 bits"), "{e}");
    assert!(DownsampleCodec::fit(train, CHANNELS, 4, HEADER).is_ok());
    // the DCT codec can still spend 16 bits, but not zero
    assert!(DctCodec::fit(train, CHANNELS, 3, HEADER).is_ok());
    let e = DctCodec::fit(train, CHANNELS, 1, HEADER)
        .unwrap_err()
        .to_string();
    assert!(e.contains("1-byte payload leaves no bits"), "{e}");
}

#[test]
fn downsample_keeps_evenly_spaced_samples_including_both_ends() {
    let (train, _) = &*SMOOTH;
    // 32 B − 8 bits = 248 bits = 10 samples × 3 channels × 8 bits (+ 8 spare)
    let ds = DownsampleCodec::fit(train, CHANNELS, 32, HEADER).unwrap();
    assert_eq!(ds.positions(), &[0, 7, 14, 21, 28, 35, 42, 49, 56, 63]);
    let one = DownsampleCodec::fit(train, CHANNELS, 4, HEADER).unwrap();
    assert_eq!(one.positions(), &[31]);
}

static FITTED: LazyLock<(DctCodec, DownsampleCodec)> = LazyLock::new(|| {
    let (train, _) = &*SMOOTH;
    (
        DctCodec::fit(train, CHANNELS, 12, HEADER).unwrap(),
        DownsampleCodec::fit(train, CHANNELS, 12, HEADER).unwrap(),
    )
});

proptest! {
    // Persistence looks for a lib.rs next to the test file and warns when there is none;
    // a failing case is printed in full anyway.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_payload_of_the_right_length_decodes_to_finite_samples(
        payload in proptest::collection::vec(any::<u8>(), 12)
    ) {
        let (dct, ds) = &*FITTED;
        for out in [dct.decode(&payload).unwrap(), ds.decode(&payload).unwrap()] {
            prop_assert_eq!(out.len(), WINDOW * CHANNELS);
            prop_assert!(out.iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn rate_distortion_on_the_bundled_recording() {
    let table = common::bundled_sensor("ankle");
    let rows = table.len();
    let train = table.windows(0, rows * 70 / 100, WINDOW, 2).unwrap();
    let test = table
        .windows(rows * 85 / 100, rows, WINDOW, WINDOW)
        .unwrap();
    // The same test rows cut at every offset: 16 disjoint windows put each kept sample
    // of the downsampler at one fixed phase of the gait, which makes its SNR noisy by
    // about ±1 dB (half this recording's energy is above DCT index 8, ~4 Hz, so a few
    // point samples per window alias); every offset averages that out.
    let dense = table.windows(rows * 85 / 100, rows, WINDOW, 1).unwrap();
    let curve = rate_distortion(&train, &test);
    let dense_curve = rate_distortion(&train, &dense);
    println!(
        "daphnet_s06r02e0 ankle (3 ch), window {WINDOW}, header {HEADER_BITS} bits, \
         {} train windows; SNR on {} disjoint test windows and on all {} offsets of the same rows",
        train.len(),
        test.len(),
        dense.len()
    );
    println!("bytes  ratio  DCT dB  downsample dB  | all offsets: DCT dB  downsample dB");
    for (&(bytes, d, s), &(_, dd, ds)) in curve.iter().zip(&dense_curve) {
        let ratio = compression_ratio(WINDOW * CHANNELS, bytes);
        println!("{bytes:>5}  {ratio:>5.1}  {d:>6.2}  {s:>13.2}  | {dd:>17.2}  {ds:>13.2}");
        for v in [d, s, dd, ds] {
            assert!(v.is_finite(), "{bytes} B: SNR {v}");
        }
    }
    // On the 16 disjoint windows only the DCT curve is smooth enough to check (see above).
    let dct_only: Vec<_> = curve.iter().map(|&(b, d, _)| (b, d, 0.0)).collect();
    assert_non_decreasing(&dct_only, 0.3);
    assert_non_decreasing(&dense_curve, 0.3);
}
