//! The autoencoder variants: one network type, the loss of each variant.
//!
//! | variant | code | loss |
//! |---|---|---|
//! | `Ae` | any | MSE(x̂, x) |
//! | `Dae` | any | MSE(x̂(corrupt(x)), x) |
//! | `Sparse` | sigmoid | MSE + w · Σ_j KL(ρ ‖ ρ̂_j) |
//! | `Vae`, `Cvae` | μ, log σ² | Σ‖x̂ − x‖² / (2c) + β · KL(N(μ, σ²) ‖ N(0, I)), β warmed up |
//!
//! Losses are averaged over the batch; the MSE of `Ae`/`Dae`/`Sparse` is also averaged
//! over inputs. Quantization-aware training adds uniform noise of one cell width to each
//! latent dimension (a differentiable proxy for rounding) and replaces dimensions that
//! get no bits by their mean, as the decoder will see them.

pub mod dae;
pub mod sparse;
pub mod vae;

use std::borrow::Cow;

use aecodec_core::Activation;

use crate::nn::{Adam, Mlp};
use crate::Rng;
pub use dae::Corruption;

/// Which autoencoder and its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Variant {
    /// Stacked undercomplete autoencoder.
    Ae,
    /// Denoising autoencoder.
    Dae(Corruption),
    /// Sparse autoencoder with a sigmoid code.
    Sparse {
        /// Target mean activation ρ.
        rho: f64,
        /// Weight of the KL sparsity penalty.
        weight: f64,
    },
    /// (β-)VAE; with labels, a conditional VAE.
    Vae {
        /// KL weight β (1 = VAE).
        beta: f64,
        /// Steps over which β ramps up from 0.
        warmup: usize,
        /// Decoder variance c of the Gaussian likelihood: recon term Σ‖x̂ − x‖² / (2c).
        recon_var: f64,
    },
}

impl Variant {
    /// True for the VAE family (two encoder heads).
    pub fn is_vae(&self) -> bool {
        matches!(self, Variant::Vae { .. })
    }
}

/// Quantization-aware training state: per latent dimension, the width of one
/// quantizer cell (noise amplitude), or the mean a 0-bit dimension decodes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Qat {
    /// Cell width per dimension (ignored where `frozen` is set).
    pub width: Vec<f32>,
    /// `Some(mean)` for dimensions that get no bits.
    pub frozen: Vec<Option<f32>>,
}

/// Loss of one batch, by part.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LossParts {
    /// The loss minimized.
    pub total: f64,
    /// Mean squared reconstruction error (normalized units), always reported.
    pub recon_mse: f64,
    /// The regularizer: sparsity KL, or the VAE KL per sample (before β).
    pub reg: f64,
}

/// An autoencoder under training.
#[derive(Debug, Clone)]
pub struct Net {
    /// Variant and hyper-parameters.
    pub variant: Variant,
    /// Encoder: inputs + labels → latent (or μ and log σ² for the VAE).
    pub enc: Mlp,
    /// Decoder: latent + labels → inputs.
    pub dec: Mlp,
    /// Inputs per window.
    pub input: usize,
    /// Labels (one-hot width), 0 for unconditional.
    pub labels: usize,
    /// Latent dimensions.
    pub latent: usize,
    /// Quantization-aware training, once bits are allocated.
    pub qat: Option<Qat>,
}

/// Row-wise concatenation of `a` (`batch × na`) and `b` (`batch × nb`); borrows `a`
/// when there is nothing to append.
pub fn concat_rows<'a>(
    a: &'a [f32],
    na: usize,
    b: &[f32],
    nb: usize,
    batch: usize,
) -> Cow<'a, [f32]> {
    if nb == 0 {
        return Cow::Borrowed(&a[..batch * na]);
    }
    let mut out = Vec::with_capacity(batch * (na + nb));
    for r in 0..batch {
        out.extend_from_slice(&a[r * na..(r + 1) * na]);
        out.extend_from_slice(&b[r * nb..(r + 1) * nb]);
    }
    Cow::Owned(out)
}

impl Net {
    /// A freshly initialized network: encoder `input + labels → hidden… → latent`,
    /// decoder the mirror image. The code layer is identity (sigmoid for `Sparse`).
    pub fn new(
        variant: Variant,
        input: usize,
        labels: usize,
        hidden: &[usize],
        latent: usize,
        activation: Activation,
        rng: &mut Rng,
    ) -> Net {
        let heads = if variant.is_vae() { 2 } else { 1 };
        let mut enc_w = vec![input + labels];
        enc_w.extend_from_slice(hidden);
        enc_w.push(latent * heads);
        let mut dec_w = vec![latent + labels];
        dec_w.extend(hidden.iter().rev());
        dec_w.push(input);
        let code = match variant {
            Variant::Sparse { .. } => Activation::Sigmoid,
            _ => Activation::Identity,
        };
        Net {
            variant,
            enc: Mlp::new(&enc_w, activation, code, rng),
            dec: Mlp::new(&dec_w, activation, Activation::Identity, rng),
            input,
            labels,
            latent,
            qat: None,
        }
    }

    /// The deterministic code of each row (μ for the VAE), `batch × latent`.
    pub fn encode(&mut self, x: &[f32], y: &[f32], batch: usize) -> Vec<f32> {
        let enc_in = concat_rows(x, self.input, y, self.labels, batch);
        let h = self.enc.forward(&enc_in, batch);
        let width = self.enc.out_dim();
        h.chunks_exact(width)
            .flat_map(|r| r[..self.latent].to_vec())
            .collect()
    }

    /// μ and log σ² of each row (`batch × latent` each); for non-VAE variants the code and
    /// zeros.
    pub fn posterior(&mut self, x: &[f32], y: &[f32], batch: usize) -> (Vec<f32>, Vec<f32>) {
        let enc_in = concat_rows(x, self.input, y, self.labels, batch);
        let h = self.enc.forward(&enc_in, batch);
        let (k, width) = (self.latent, self.enc.out_dim());
        let mut mu = Vec::with_capacity(batch * k);
        let mut log_var = Vec::with_capacity(batch * k);
        for row in h.chunks_exact(width) {
            mu.extend_from_slice(&row[..k]);
            if self.variant.is_vae() {
                log_var.extend_from_slice(&row[k..2 * k]);
            } else {
                log_var.extend(std::iter::repeat_n(0.0, k));
            }
        }
        (mu, log_var)
    }

    /// Reconstructions from codes `z` (`batch × latent`), normalized units.
    pub fn decode(&mut self, z: &[f32], y: &[f32], batch: usize) -> Vec<f32> {
        let dec_in = concat_rows(z, self.latent, y, self.labels, batch);
        self.dec.forward(&dec_in, batch)
    }

    /// Loss of one batch (`x` clean normalized inputs, `y` one-hot labels); with
    /// `backward`, accumulates gradients into both halves. All randomness (corruption,
    /// ε, quantization noise) comes from `rng`, so a fixed seed gives a fixed loss.
    pub fn batch_loss(
        &mut self,
        x: &[f32],
        y: &[f32],
        batch: usize,
        step: usize,
        rng: &mut Rng,
        backward: bool,
    ) -> LossParts {
        let (n, k, l) = (self.input, self.latent, self.labels);
        // Only the DAE needs its own (corrupted) copy of the input.
        let xin: Cow<'_, [f32]> = match self.variant {
            Variant::Dae(c) => {
                let mut v = x[..batch * n].to_vec();
                c.apply(&mut v, rng);
                Cow::Owned(v)
            }
            _ => Cow::Borrowed(&x[..batch * n]),
        };
        let enc_in = concat_rows(&xin, n, y, l, batch);
        let h = self.enc.forward(&enc_in, batch);
        let hw = self.enc.out_dim();

        // Latent sample.
        let mut eps = Vec::new();
        let mut z: Vec<f32> = Vec::with_capacity(batch * k);
        for row in h.chunks_exact(hw) {
            if self.variant.is_vae() {
                for d in 0..k {
                    let e = rng.gaussian() as f32;
                    eps.push(e);
                    z.push(row[d] + (0.5 * row[k + d]).exp() * e);
                }
            } else {
                z.extend_from_slice(&row[..k]);
            }
        }
        if let Some(q) = &self.qat {
            for row in z.chunks_exact_mut(k) {
                for (d, v) in row.iter_mut().enumerate() {
                    match q.frozen[d] {
                        Some(m) => *v = m,
                        None => *v += (rng.uniform() as f32 - 0.5) * q.width[d],
                    }
                }
            }
        }

        let dec_in = concat_rows(&z, k, y, l, batch);
        let r = self.dec.forward(&dec_in, batch);
        let sq: f64 = r
            .iter()
            .zip(x)
            .map(|(&a, &b)| f64::from(a - b).powi(2))
            .sum();
        let recon_mse = sq / (batch * n) as f64;
        let bf = batch as f64;
        let (mut total, dr_scale) = match self.variant {
            Variant::Vae { recon_var, .. } => (sq / (2.0 * recon_var) / bf, 1.0 / (recon_var * bf)),
            _ => (recon_mse, 2.0 / (batch * n) as f64),
        };
        let mut reg = 0.0;
        let mut dh = vec![0.0f32; batch * hw];
        match self.variant {
            Variant::Sparse { rho, weight } => {
                let rho_hat = sparse::mean_activation(&h, hw);
                reg = sparse::kl_sparsity(rho, &rho_hat);
                total += weight * reg;
                for row in dh.chunks_exact_mut(hw) {
                    for (g, &rh) in row.iter_mut().zip(&rho_hat) {
                        *g += (weight * sparse::kl_sparsity_grad(rho, rh) / bf) as f32;
                    }
                }
            }
            Variant::Vae { beta, warmup, .. } => {
                let b = vae::beta_at(beta, step, warmup);
                for (row, grow) in h.chunks_exact(hw).zip(dh.chunks_exact_mut(hw)) {
                    for d in 0..k {
                        let (mu, lv) = (f64::from(row[d]), f64::from(row[k + d]));
                        reg += vae::kl_normal(mu, lv) / bf;
                        let (gm, gl) = vae::kl_normal_grad(mu, lv);
                        grow[d] += (b * gm / bf) as f32;
                        grow[k + d] += (b * gl / bf) as f32;
                    }
                }
                total += b * reg;
            }
            _ => {}
        }
        if backward {
            let dr: Vec<f32> = r
                .iter()
                .zip(x)
                .map(|(&a, &b)| ((a - b) as f64 * dr_scale) as f32)
                .collect();
            let d_dec_in = self.dec.backward(&dr);
            for (bi, grow) in dh.chunks_exact_mut(hw).enumerate() {
                let hrow = &h[bi * hw..(bi + 1) * hw];
                for d in 0..k {
                    let frozen = self.qat.as_ref().is_some_and(|q| q.frozen[d].is_some());
                    let dz = if frozen {
                        0.0
                    } else {
                        d_dec_in[bi * (k + l) + d]
                    };
                    grow[d] += dz;
                    if self.variant.is_vae() {
                        let e = eps[bi * k + d];
                        grow[k + d] += dz * e * 0.5 * (0.5 * hrow[k + d]).exp();
                    }
                }
            }
            self.enc.backward(&dh);
        }
        LossParts {
            total,
            recon_mse,
            reg,
        }
    }

    /// Clears gradients of both halves.
    pub fn zero_grad(&mut self) {
        self.enc.zero_grad();
        self.dec.zero_grad();
    }

    /// One optimizer step on both halves.
    pub fn step(&mut self, opt: &Adam) {
        self.enc.step(opt);
        self.dec.step(opt);
    }
}
