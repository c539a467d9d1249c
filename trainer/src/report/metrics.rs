//! Distortion metrics, in sensor units and relative to the signal.
//!
//! The signal's energy is measured around each channel's mean over the windows
//! compared, so a constant offset (gravity on an accelerometer) does not inflate SNR.

use crate::data::Window;

/// Distortion of a set of reconstructed windows against the originals.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Distortion {
    /// Root mean squared error, sensor units.
    pub rmse: f64,
    /// 10·log10(signal energy around channel means / error energy), dB.
    pub snr_db: f64,
    /// 100·sqrt(error energy / signal energy around channel means), % (normalized PRD).
    pub prd_percent: f64,
}

/// Compares `decoded` with `original` (same shapes); `channels` interleaved per window.
pub fn distortion(original: &[Window], decoded: &[Vec<f32>], channels: usize) -> Distortion {
    let ch = channels.max(1);
    let (mut sum, mut count) = (vec![0.0f64; ch], vec![0usize; ch]);
    for (w, _) in original {
        for (i, &v) in w.iter().enumerate() {
            sum[i % ch] += f64::from(v);
            count[i % ch] += 1;
        }
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &n)| s / n.max(1) as f64)
        .collect();
    let (mut sig, mut err, mut n) = (0.0f64, 0.0f64, 0usize);
    for ((w, _), d) in original.iter().zip(decoded) {
        for (i, (&x, &y)) in w.iter().zip(d).enumerate() {
            sig += (f64::from(x) - mean[i % ch]).powi(2);
            err += (f64::from(x) - f64::from(y)).powi(2);
            n += 1;
        }
    }
    Distortion {
        rmse: (err / n.max(1) as f64).sqrt(),
        snr_db: 10.0 * (sig / err.max(f64::MIN_POSITIVE)).log10(),
        prd_percent: 100.0 * (err / sig.max(f64::MIN_POSITIVE)).sqrt(),
    }
}

/// Squared error of each decoded window against its original, summed over its values.
pub fn window_errors(original: &[Window], decoded: &[Vec<f32>]) -> Vec<f64> {
    original
        .iter()
        .zip(decoded)
        .map(|((w, _), d)| {
            w.iter()
                .zip(d)
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                .sum()
        })
        .collect()
}

/// Raw size of a window of `inputs` 16-bit samples over the payload size.
pub fn compression_ratio(inputs: usize, payload_bytes: usize) -> f64 {
    (inputs * 2) as f64 / payload_bytes.max(1) as f64
}

/// Bits per sample of a payload of `payload_bytes` for windows of `inputs` values (all
/// its bits, header included): the unit of published ECG codecs' figures.
pub fn bits_per_sample(inputs: usize, payload_bytes: usize) -> f64 {
    (payload_bytes * 8) as f64 / inputs.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_known_error() {
        // one channel, signal ±2 around mean 10, error 0.2 everywhere
        let orig = vec![(vec![8.0, 12.0, 8.0, 12.0], 0)];
        let dec = vec![vec![8.2, 12.2, 8.2, 12.2]];
        let d = distortion(&orig, &dec, 1);
        assert!((d.rmse - 0.2).abs() < 1e-6);
        assert!((d.snr_db - 20.0).abs() < 1e-4, "{}", d.snr_db); // (2/0.2)^2 = 100
        assert!((d.prd_percent - 10.0).abs() < 1e-4);
        assert_eq!(compression_ratio(192, 12), 32.0);
    }
}
