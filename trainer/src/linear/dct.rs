//! The orthonormal DCT-II, the fixed basis of the DCT codec and of the PCA/DCT switch's
//! second mode.

use std::f64::consts::PI;

use aecodec_core::PayloadHeader;

use super::pca::Pca;
use crate::data::Window;
use crate::float::FloatModel;
use crate::Error;

/// Orthonormal DCT-II of a fixed length, by a precomputed cosine basis.
///
/// O(n²) per transform: windows here are at most a few hundred samples, where a fast
/// algorithm would add code and buy nothing measurable. The basis is orthonormal, so
/// [`Dct::inverse`] (DCT-III) is its transpose and squared errors are the same in the
/// coefficient and the time domain, which is what lets bits be allocated on measured
/// coefficient errors.
#[derive(Debug, Clone)]
pub struct Dct {
    size: usize,
    /// `basis[k * size + n]` = s_k · cos(π/size · (n + ½) · k).
    basis: Vec<f64>,
}

impl Dct {
    /// The transform of `size` points; `size` must be at least 1.
    pub fn new(size: usize) -> Result<Dct, Error> {
        if size == 0 {
            return Err(Error::InvalidArgument(
                "a DCT needs at least one point".into(),
            ));
        }
        let n = size as f64;
        let mut basis = Vec::with_capacity(size * size);
        for k in 0..size {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            basis.extend((0..size).map(|t| scale * (PI / n * (t as f64 + 0.5) * k as f64).cos()));
        }
        Ok(Dct { size, basis })
    }

    /// Number of points.
    pub fn size(&self) -> usize {
        self.size
    }

    /// DCT-II coefficients of `x`.
    ///
    /// # Panics
    /// If `x.len()` differs from [`Dct::size`] (a caller's bug, not a data error).
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(x.len(), self.size, "DCT input length");
        self.basis
            .chunks_exact(self.size)
            .map(|row| row.iter().zip(x).map(|(b, v)| b * v).sum())
            .collect()
    }

    /// The signal whose DCT-II coefficients are `y` (the transpose of [`Dct::forward`]).
    ///
    /// # Panics
    /// If `y.len()` differs from [`Dct::size`].
    pub fn inverse(&self, y: &[f64]) -> Vec<f64> {
        assert_eq!(y.len(), self.size, "DCT coefficient count");
        let mut x = vec![0.0f64; self.size];
        for (row, &c) in self.basis.chunks_exact(self.size).zip(y) {
            x.iter_mut().zip(row).for_each(|(v, b)| *v += c * b);
        }
        x
    }
}

/// The DCT codec as a linear autoencoder in the same blob format: per channel, the
/// orthonormal DCT-II of the (normalized) window; the coefficients with the most
/// variance are the candidates for bits, allocated as for [`fit_linear_budget`]. A
/// fixed basis where PCA learns one.
pub fn fit_dct_budget(
    windows: &[Window],
    channels: usize,
    payload_bytes: usize,
    header: PayloadHeader,
) -> Result<FloatModel, Error> {
    dct_basis(&Pca::fit(windows, channels)?, windows)?.budget_model(windows, payload_bytes, header)
}

/// The DCT basis in `pca`'s normalization and about its mean, ranked by the variance of
/// `windows` along each basis vector.
pub(super) fn dct_basis(pca: &Pca, windows: &[Window]) -> Result<Pca, Error> {
    let mut basis = pca.clone();
    let channels = basis.channels;
    let n = basis.mean.len();
    let len = n / channels.max(1);
    let dct = crate::linear::dct::Dct::new(len)?;
    let mut components = Vec::with_capacity(n);
    for c in 0..channels {
        for k in 0..len {
            let mut unit = vec![0.0f64; len];
            unit[k] = 1.0;
            // basis vector k: the inverse DCT of a unit coefficient
            let mut full = vec![0.0f64; n];
            for (t, x) in dct.inverse(&unit).into_iter().enumerate() {
                full[t * channels + c] = x;
            }
            components.push(full);
        }
    }
    let x: Vec<Vec<f64>> = windows
        .iter()
        .map(|(w, _)| {
            w.iter()
                .zip(basis.norm_mean.iter().zip(&basis.norm_std))
                .map(|(&v, (&m, &s))| (f64::from(v) - f64::from(m)) / f64::from(s))
                .collect()
        })
        .collect();
    let variance = |comp: &[f64]| -> f64 {
        let proj: Vec<f64> = x
            .iter()
            .map(|row| row.iter().zip(comp).map(|(a, b)| a * b).sum())
            .collect();
        let m = proj.iter().sum::<f64>() / proj.len().max(1) as f64;
        proj.iter().map(|p| (p - m).powi(2)).sum::<f64>() / proj.len().max(1) as f64
    };
    let mut ranked: Vec<(f64, Vec<f64>)> =
        components.into_iter().map(|c| (variance(&c), c)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    basis.variances = ranked.iter().map(|r| r.0).collect();
    basis.components = ranked.into_iter().map(|r| r.1).collect();
    Ok(basis)
}
