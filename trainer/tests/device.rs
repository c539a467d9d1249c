//! The full-int8 device: its encoder-only blob's payloads, decoded by the f32 blob of the
//! same model, lose little against the f32 encoder even on a spiky signal at high SNR,
//! where a window's samples on 256 levels of one scale (set by the spikes) would not do.

use aecodec_core::{PayloadHeader, Precision};
use aecodec_trainer::data::Window;
use aecodec_trainer::linear::fit_linear_budget;
use aecodec_trainer::report::metrics::distortion;
use aecodec_trainer::{device_blob, export_blob, send_receive, Rng};

/// Windows of 64 samples cut at random offsets from a beat-like series: a narrow spike
/// of about 10 times the rest of the signal every 47 samples, on a slow wave, with a
/// little noise.
fn spiky_windows(n: usize, seed: u64) -> Vec<Window> {
    let mut rng = Rng::new(seed);
    let series: Vec<f64> = (0..20_000)
        .map(|t| {
            let phase = (t % 47) as f64 - 20.0;
            let spike = 10.0 * (-phase * phase / 2.0).exp();
            let wave = 0.6 * (t as f64 / 47.0 * std::f64::consts::TAU).sin();
            spike + wave + 0.002 * rng.gaussian()
        })
        .collect();
    (0..n)
        .map(|_| {
            let start = (rng.uniform() * (series.len() - 64) as f64) as usize;
            let w = series[start..start + 64]
                .iter()
                .map(|&v| v as f32)
                .collect();
            (w, 0)
        })
        .collect()
}

#[test]
fn a_full_int8_device_costs_at_most_half_a_decibel_on_a_spiky_signal() {
    let train = spiky_windows(3000, 1);
    let test = spiky_windows(300, 2);
    let header = PayloadHeader::default();
    let mut highest = 0.0f64;
    for bytes in [16, 24, 28] {
        let model = fit_linear_budget(&train, 1, bytes, header).unwrap();
        let f32_blob = export_blob(&model, Precision::F32, &train).unwrap();
        let int8 = export_blob(&model, Precision::Int8Full, &train).unwrap();
        let device = device_blob(&int8, &f32_blob).unwrap();
        let snr = |dev: &[u8]| {
            let out = send_receive(dev, &f32_blob, &test, 0).unwrap();
            distortion(&test, &out, 1).snr_db
        };
        let (f32_snr, device_snr) = (snr(&f32_blob), snr(&device));
        assert!(
            device_snr > f32_snr - 0.5,
            "{bytes} B: f32 encoder {f32_snr:.2} dB, full-int8 device {device_snr:.2} dB"
        );
        highest = highest.max(f32_snr);
    }
    // The budgets reach the SNR where the window's samples on 8 bits cost more than
    // 0.5 dB (1.8 dB at 28 B, 36.9 dB here; 0.3 dB on 16 bits).
    assert!(highest > 35.0, "the f32 codec reaches only {highest:.2} dB");
}
