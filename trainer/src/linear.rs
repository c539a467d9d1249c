//! The linear codec: PCA / KLT as an autoencoder with identity activations.
//!
//! The encoder is one dense layer holding the top-`k` eigenvectors of the training
//! covariance (in normalized units), the decoder its transpose; the result is an
//! ordinary [`FloatModel`] that exports and runs through the core like any other.

use aecodec_core::{Activation, PayloadHeader};

use crate::data::Window;
use crate::model::{FloatLayer, FloatModel, FloatQuantizer};
use crate::Error;

/// Per-channel normalization of interleaved windows, expanded to one entry per input.
pub fn channel_normalization(
    windows: &[Window],
    channels: usize,
) -> Result<(Vec<f32>, Vec<f32>), Error> {
    let n = windows.first().map_or(0, |w| w.0.len());
    if channels == 0 || n == 0 || n % channels != 0 {
        return Err(Error::InvalidArgument(format!(
            "{n} inputs per window do not split into {channels} channels"
        )));
    }
    let mut sum = vec![0.0f64; channels];
    let mut sq = vec![0.0f64; channels];
    let mut count = 0usize;
    for (w, _) in windows {
        for (i, &v) in w.iter().enumerate() {
            sum[i % channels] += f64::from(v);
            sq[i % channels] += f64::from(v) * f64::from(v);
        }
        count += n / channels;
    }
    let mut mean = Vec::with_capacity(channels);
    let mut std = Vec::with_capacity(channels);
    for c in 0..channels {
        let m = sum[c] / count as f64;
        let var = (sq[c] / count as f64 - m * m).max(0.0);
        if var.sqrt() <= 1e-9 * m.abs().max(1.0) {
            return Err(Error::InvalidArgument(format!(
                "channel {c} is constant ({m}): it carries no information; drop it"
            )));
        }
        mean.push(m as f32);
        std.push(var.sqrt() as f32);
    }
    Ok((
        (0..n).map(|i| mean[i % channels]).collect(),
        (0..n).map(|i| std[i % channels]).collect(),
    ))
}

/// Eigen-decomposition of a symmetric matrix (row-major `n × n`) by cyclic Jacobi
/// rotations; returns eigenvalues in descending order with their unit eigenvectors.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let total: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-22 * total.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let vectors = order
        .iter()
        .map(|&i| (0..n).map(|k| v[k * n + i]).collect())
        .collect();
    (values, vectors)
}

/// Options of the linear codec.
#[derive(Debug, Clone)]
pub struct LinearOptions {
    /// Channels interleaved in each window (for the normalization).
    pub channels: usize,
    /// Bits of each latent dimension; its length is the latent size.
    pub bits: Vec<u8>,
    /// Payload header.
    pub header: PayloadHeader,
}

/// Fits PCA on `windows` (raw units) and returns it as a linear autoencoder whose
/// uniform quantizer ranges are the training latents' min and max.
pub fn fit_linear(windows: &[Window], opts: &LinearOptions) -> Result<FloatModel, Error> {
    let k = opts.bits.len();
    let (norm_mean, norm_std) = channel_normalization(windows, opts.channels)?;
    let n = norm_mean.len();
    if k == 0 || k > n {
        return Err(Error::InvalidArgument(format!(
            "latent size {k} must be in 1..={n}"
        )));
    }
    let x: Vec<Vec<f64>> = windows
        .iter()
        .map(|(w, _)| {
            w.iter()
                .zip(norm_mean.iter().zip(&norm_std))
                .map(|(&v, (&m, &s))| (f64::from(v) - f64::from(m)) / f64::from(s))
                .collect()
        })
        .collect();
    let mut mean = vec![0.0f64; n];
    for row in &x {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= x.len() as f64);
    let mut cov = vec![0.0f64; n * n];
    for row in &x {
        let d: Vec<f64> = row.iter().zip(&mean).map(|(v, m)| v - m).collect();
        for i in 0..n {
            for j in i..n {
                cov[i * n + j] += d[i] * d[j];
            }
        }
    }
    let denom = (x.len().max(2) - 1) as f64;
    for i in 0..n {
        for j in i..n {
            cov[i * n + j] /= denom;
            cov[j * n + i] = cov[i * n + j];
        }
    }
    let (_, vectors) = symmetric_eigen(&cov, n);
    let comps = &vectors[..k];
    let enc = FloatLayer {
        in_dim: n,
        out_dim: k,
        activation: Activation::Identity,
        weights: comps.iter().flatten().map(|&w| w as f32).collect(),
        bias: comps
            .iter()
            .map(|c| -c.iter().zip(&mean).map(|(a, b)| a * b).sum::<f64>() as f32)
            .collect(),
    };
    let dec = FloatLayer {
        in_dim: k,
        out_dim: n,
        activation: Activation::Identity,
        weights: (0..n)
            .flat_map(|i| comps.iter().map(move |c| c[i] as f32))
            .collect(),
        bias: mean.iter().map(|&m| m as f32).collect(),
    };
    let mut model = FloatModel {
        input_dim: n,
        label_count: 0,
        norm_mean,
        norm_std,
        encoder: vec![enc],
        decoder: vec![dec],
        quantizer: FloatQuantizer::Uniform {
            bits: opts.bits.clone(),
            mean: vec![0.0; k],
            lo: vec![-1.0; k],
            hi: vec![1.0; k],
        },
        header: opts.header,
    };
    calibrate_uniform(&mut model, windows);
    Ok(model)
}

/// Sets a uniform quantizer's ranges to the min/max (and mean) of the training latents.
pub fn calibrate_uniform(model: &mut FloatModel, windows: &[Window]) {
    let latents: Vec<Vec<f64>> = windows
        .iter()
        .map(|(w, l)| model.encode_latent(w, *l))
        .collect();
    if let FloatQuantizer::Uniform { mean, lo, hi, .. } = &mut model.quantizer {
        for d in 0..mean.len() {
            let vals = latents.iter().map(|z| z[d]);
            let (a, b) = vals
                .clone()
                .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
            let m = vals.sum::<f64>() / latents.len().max(1) as f64;
            let pad = ((b - a) * 1e-3).max(1e-6);
            lo[d] = (a - pad) as f32;
            hi[d] = (b + pad) as f32;
            mean[d] = m as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_recovers_known_eigenpairs() {
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1 with eigenvectors (1, 1)/√2 and (1, -1)/√2.
        let (vals, vecs) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[1] - 1.0).abs() < 1e-12);
        assert!((vecs[0][0].abs() - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((vecs[0][0] - vecs[0][1]).abs() < 1e-12);
    }

    #[test]
    fn refuses_constant_channel() {
        let w: Vec<Window> = (0..10)
            .map(|i| (vec![i as f32, 5.0, i as f32 * 2.0, 5.0], 0))
            .collect();
        let e = channel_normalization(&w, 2).unwrap_err().to_string();
        assert!(e.contains("channel 1 is constant"), "{e}");
    }
}
