//! The autoencoder variants: one network type, the loss of each variant.
//!
//! | variant | code | loss |
//! |---|---|---|
//! | `Ae` | any | MSE(x̂, x) |
//! | `Dae` | any | MSE(x̂(corrupt(x)), x) |
//! | `Sparse` | sigmoid | MSE + w · Σ_j KL(ρ ‖ ρ̂_j) |
//! | `Vae` (conditional with labels) | μ, log σ² | Σ‖x̂ − x‖² / (2c) + β · KL(N(μ, σ²) ‖ N(0, I)), β warmed up |
//!
//! Losses are averaged over the batch; the MSE of `Ae`/`Dae`/`Sparse` is also averaged
//! over inputs. Quantization-aware training ([`Qat`]) first adds uniform noise of one cell
//! width to each latent dimension (a differentiable proxy for rounding) and replaces
//! dimensions that get no bits by their mean, as the decoder will see them; then, with the
//! quantizer fixed, rounds the code as the device does and trains the encoder alone through
//! the rounding (straight-through).

pub mod dae;
pub mod sparse;
pub mod vae;

use std::borrow::Cow;

use aecodec_core::Activation;

use rand_core::RngCore;

use crate::learned::nn::{Adam, Dense, Mlp};
use crate::linear::bits::dequantize;
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

/// Input noise σ of the denoising autoencoder that `auto` tries and `train --variant
/// dae` fits (normalized units): on the bundled recording the denoising objective with
/// it generalizes better than the plain one even on clean windows (12 B: 5.0 vs 4.3 dB).
pub const DAE_NOISE: f32 = 0.5;

/// Target mean activation ρ of the sparse autoencoder's preset ([`Variant::sparse`]).
pub const SPARSE_RHO: f64 = 0.05;

impl Variant {
    /// The denoising autoencoder with Gaussian input noise `sigma` (normalized units)
    /// and no masking.
    pub fn dae(sigma: f32) -> Variant {
        Variant::Dae(Corruption {
            gaussian_sigma: sigma,
            mask_fraction: 0.0,
            ..Corruption::default()
        })
    }

    /// The sparse autoencoder's preset: target activation [`SPARSE_RHO`], KL weight 0.1.
    pub fn sparse() -> Variant {
        Variant::Sparse {
            rho: SPARSE_RHO,
            weight: 0.1,
        }
    }

    /// The VAE's preset for a run of `steps`: β 1, the KL term ramped in over the
    /// first fifth of the steps, decoder variance 0.1.
    pub fn vae(steps: usize) -> Variant {
        Variant::Vae {
            beta: 1.0,
            warmup: steps / 5,
            recon_var: 0.1,
        }
    }

    /// True for the VAE family (two encoder heads).
    pub fn is_vae(&self) -> bool {
        matches!(self, Variant::Vae { .. })
    }
}

/// Quantization-aware training: how the latent is quantized in the forward pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Qat {
    /// Uniform noise of one cell's width added to each dimension (`width`), or the mean
    /// a dimension without bits decodes to (`frozen`); both halves learn.
    Noise {
        /// Cell width per dimension (ignored where `frozen` is set).
        width: Vec<f32>,
        /// `Some(mean)` for dimensions that get no bits.
        frozen: Vec<Option<f32>>,
    },
    /// The codec as a device without a decoder runs it: clean inputs (no corruption, the
    /// VAE's μ), each dimension replaced by the value of the quantizer cell it falls in,
    /// the reconstruction error alone as the loss. Gradients pass the rounding straight
    /// through ([`Cells::passes`]) to the encoder; the decoder does not learn, so the
    /// decoder and the quantizer a receiver holds stay the ones the encoder learns to feed.
    Hard(Vec<Cells>),
}

/// One latent dimension's quantizer cells in [`Qat::Hard`], as the core quantizes.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// No bits: the dimension decodes to this value whatever the encoder says.
    Fixed(f32),
    /// `2^bits` equal cells over `[lo, hi]`; values outside take the nearest end cell.
    Uniform {
        /// Lower edge of the first cell.
        lo: f32,
        /// Upper edge of the last cell.
        hi: f32,
        /// Bits (1 or more).
        bits: u8,
    },
    /// Cells between ascending `edges`, each decoding to its centroid (one more centroid
    /// than edges).
    Table {
        /// Cell edges, ascending.
        edges: Vec<f32>,
        /// Decoded value of each cell.
        centroids: Vec<f32>,
    },
}

impl Cells {
    /// The value `z` decodes to.
    pub fn value(&self, z: f32) -> f32 {
        match self {
            Cells::Fixed(m) => *m,
            &Cells::Uniform { lo, hi, bits } => {
                let v = dequantize(f64::from(z), f64::from(lo), f64::from(hi), bits);
                v as f32
            }
            Cells::Table { edges, centroids } => {
                let cell = edges.partition_point(|&e| e <= z);
                centroids
                    .get(cell)
                    .or(centroids.last())
                    .copied()
                    .unwrap_or(z)
            }
        }
    }

    /// Whether the straight-through gradient `g` (of the loss in the decoded value)
    /// reaches the encoder at `z`: never for a fixed dimension; beyond a uniform
    /// quantizer's range only when descent moves `z` back towards it (a value already
    /// clipped gains nothing from moving further out).
    pub fn passes(&self, z: f32, g: f32) -> bool {
        match self {
            Cells::Fixed(_) => false,
            &Cells::Uniform { lo, hi, .. } => !((z < lo && g > 0.0) || (z > hi && g < 0.0)),
            Cells::Table { .. } => true,
        }
    }
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

/// What phase 1 of the loss ([`Net::shard_forward`]) leaves for phase 2: the encoder's
/// output and the noise drawn for the shard's rows.
#[derive(Debug, Clone, Default)]
pub struct EncoderPass {
    /// Encoder output, `rows × enc.out_dim()`.
    h: Vec<f32>,
    /// ε of the reparameterization, `rows × latent` (VAE only).
    eps: Vec<f32>,
    /// Additive quantization noise, `rows × latent` (with QAT only; 0 on frozen dimensions).
    qnoise: Vec<f32>,
}

/// A shard's part of a batch's loss, already divided by the batch's rows where the loss is
/// a mean over rows; [`Net::combine`] adds them up.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShardLoss {
    /// Σ (x̂ − x)² over the shard's rows and inputs.
    pub sq: f64,
    /// VAE: Σ KL(N(μ, σ²) ‖ N(0, I)) over the shard's rows, divided by the batch's rows.
    pub kl: f64,
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

/// A convolutional front end (and back end): `filters` outputs per position of `kernel`
/// samples, every `stride` samples, over windows of interleaved channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Samples per position.
    pub kernel: usize,
    /// Samples between positions.
    pub stride: usize,
    /// Outputs per position.
    pub filters: usize,
}

impl ConvShape {
    /// Checks the shape against windows of `input` values of `channels` channels; says
    /// what does not fit.
    pub fn check(&self, input: usize, channels: usize) -> Result<(), crate::Error> {
        let bad = |m: String| Err(crate::Error::InvalidArgument(m));
        if channels == 0 || !input.is_multiple_of(channels) {
            return bad(format!(
                "a convolution over {channels} channels does not fit {input} inputs per window"
            ));
        }
        let samples = input / channels;
        if self.kernel == 0 || self.stride == 0 || self.filters == 0 || self.kernel > samples {
            return bad(format!(
                "convolution kernel {}, stride {}, filters {}: each must be at least 1 and the kernel at most the window's {samples} samples",
                self.kernel, self.stride, self.filters
            ));
        }
        if !(samples - self.kernel).is_multiple_of(self.stride) {
            return bad(format!(
                "a convolution kernel of {} samples every {} samples does not end on the last of the window's {samples} samples: (samples − kernel) must be a multiple of the stride",
                self.kernel, self.stride
            ));
        }
        // Checked: filters or a stride far past any window would overflow the width.
        let widest = self
            .positions(input, channels)
            .checked_mul(self.filters)
            .map_or(usize::MAX, |w| w.max(input));
        if samples.max(channels) > usize::from(u16::MAX) || widest > aecodec_core::MAX_WIDTH {
            return bad(format!(
                "a convolution of {} filters over {samples} samples of {channels} channels needs layers {widest} wide, over the core's {}",
                self.filters,
                aecodec_core::MAX_WIDTH
            ));
        }
        Ok(())
    }

    /// Positions along a window of `input` values of `channels` channels.
    pub fn positions(&self, input: usize, channels: usize) -> usize {
        (input / channels - self.kernel) / self.stride + 1
    }

    /// The core's description of the layer (for a shape that passed [`ConvShape::check`]).
    pub fn conv(&self, input: usize, channels: usize, transposed: bool) -> aecodec_core::Conv {
        let u = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
        aecodec_core::Conv {
            transposed,
            samples: u(input / channels),
            channels: u(channels),
            kernel: u(self.kernel),
            stride: u(self.stride),
        }
    }
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
        let decoder: Vec<usize> = hidden.iter().rev().copied().collect();
        Net::with_decoder(
            variant, input, labels, hidden, &decoder, latent, activation, None, rng,
        )
    }

    /// As [`Net::new`], with the decoder's hidden widths (first to last) given apart from
    /// the encoder's (the decoder runs on the receiver, where size costs little), and
    /// optionally a convolutional front end over windows of the given channels: the
    /// encoder's first layer a 1-D convolution over the window, the decoder's last its
    /// transpose (unconditional models only: `labels` must be 0 with `conv`; the shape
    /// must pass [`ConvShape::check`]).
    #[allow(clippy::too_many_arguments)]
    pub fn with_decoder(
        variant: Variant,
        input: usize,
        labels: usize,
        hidden: &[usize],
        decoder: &[usize],
        latent: usize,
        activation: Activation,
        conv: Option<(ConvShape, usize)>,
        rng: &mut Rng,
    ) -> Net {
        let heads = if variant.is_vae() { 2 } else { 1 };
        let mut enc_w = vec![input + labels];
        enc_w.extend_from_slice(hidden);
        enc_w.push(latent * heads);
        let mut dec_w = vec![latent + labels];
        dec_w.extend_from_slice(decoder);
        dec_w.push(input);
        let code = match variant {
            Variant::Sparse { .. } => Activation::Sigmoid,
            _ => Activation::Identity,
        };
        if let Some((shape, channels)) = conv {
            let c = shape.conv(input, channels, false);
            let p = c.positions();
            let mut first = Dense::new(c.patch(), shape.filters, activation, rng);
            first.conv = Some(c);
            enc_w[0] = p * shape.filters;
            let mut enc = Mlp::new(&enc_w, activation, code, rng);
            enc.layers.insert(0, first);
            let last = dec_w.len() - 1;
            dec_w[last] = p * shape.filters;
            let mut dec = Mlp::new(&dec_w, activation, activation, rng);
            let mut out = Dense::new(shape.filters, c.patch(), Activation::Identity, rng);
            out.conv = Some(shape.conv(input, channels, true));
            dec.layers.push(out);
            return Net {
                variant,
                enc,
                dec,
                input,
                labels,
                latent,
                qat: None,
            };
        }
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

    /// True if a batch needs random numbers: corruption, ε or quantization noise (none
    /// in [`Qat::Hard`]).
    pub fn needs_noise(&self) -> bool {
        match self.qat {
            Some(Qat::Hard(_)) => false,
            Some(Qat::Noise { .. }) => true,
            None => matches!(self.variant, Variant::Dae(_) | Variant::Vae { .. }),
        }
    }

    /// The straight-through cells while the encoder alone learns ([`Qat::Hard`]).
    fn hard(&self) -> Option<&[Cells]> {
        match &self.qat {
            Some(Qat::Hard(cells)) => Some(cells),
            _ => None,
        }
    }

    /// Whether a step updates the decoder (not in [`Qat::Hard`]).
    pub fn learns_decoder(&self) -> bool {
        self.hard().is_none()
    }

    /// The noise seeds of a batch of `batch` rows: one per row, drawn from `rng` in row
    /// order (none when the variant needs no noise). Each row then draws its corruption,
    /// ε and quantization noise from its own generator seeded with its seed, so the noise a
    /// row sees depends on the seed and its place in the batch only, never on how the batch
    /// is split into shards or which thread runs a shard.
    pub fn row_seeds(&self, batch: usize, rng: &mut Rng) -> Vec<u64> {
        if self.needs_noise() {
            (0..batch).map(|_| rng.next_u64()).collect()
        } else {
            Vec::new()
        }
    }

    /// Loss of one batch (`x` clean normalized inputs, `y` one-hot labels); with
    /// `backward`, accumulates gradients into both halves. All randomness (corruption,
    /// ε, quantization noise) comes from `rng` (through [`Net::row_seeds`]), so a fixed
    /// seed gives a fixed loss.
    ///
    /// This is the one-shard case of [`crate::learned::parallel::DataParallel::batch_loss`], which
    /// runs the same two phases on shards of the batch.
    pub fn batch_loss(
        &mut self,
        x: &[f32],
        y: &[f32],
        batch: usize,
        step: usize,
        rng: &mut Rng,
        backward: bool,
    ) -> LossParts {
        let seeds = self.row_seeds(batch, rng);
        let pass = self.shard_forward(x, y, &seeds, batch);
        let rho_hat = self.rho_hat(&[&pass], batch);
        let part = self.shard_loss(x, y, &pass, batch, step, &rho_hat, backward);
        self.combine(&[part], &rho_hat, batch, step)
    }

    /// Phase 1 of the loss on a shard of `rows` rows (`seeds` from [`Net::row_seeds`],
    /// this shard's part): draws the shard's noise, corrupts the input (DAE) and runs the
    /// encoder. The sparse penalty needs the code's mean over the whole batch
    /// ([`Net::rho_hat`] of every shard's pass) before phase 2.
    pub fn shard_forward(
        &mut self,
        x: &[f32],
        y: &[f32],
        seeds: &[u64],
        rows: usize,
    ) -> EncoderPass {
        let (n, k, l) = (self.input, self.latent, self.labels);
        let vae = self.variant.is_vae();
        let mut xin: Option<Vec<f32>> = match self.variant {
            Variant::Dae(_) => Some(x[..rows * n].to_vec()),
            _ => None,
        };
        let mut eps = Vec::new();
        let mut qnoise = Vec::new();
        // Per row: corruption, then ε, then quantization noise, all from the row's own
        // generator (`seeds` is empty when nothing is random).
        for (r, &seed) in seeds.iter().take(rows).enumerate() {
            let mut rng = Rng::new(seed);
            if let (Variant::Dae(c), Some(v)) = (self.variant, xin.as_mut()) {
                c.apply(&mut v[r * n..(r + 1) * n], &mut rng);
            }
            if vae {
                eps.extend((0..k).map(|_| rng.gaussian() as f32));
            }
            if let Some(Qat::Noise { width, frozen }) = &self.qat {
                qnoise.extend(frozen.iter().zip(width).map(|(f, &w)| match f {
                    Some(_) => 0.0,
                    None => (rng.uniform() as f32 - 0.5) * w,
                }));
            }
        }
        let xin: &[f32] = xin.as_deref().unwrap_or(&x[..rows * n]);
        let enc_in = concat_rows(xin, n, y, l, rows);
        let h = self.enc.forward(&enc_in, rows);
        EncoderPass { h, eps, qnoise }
    }

    /// The sparse code's mean activation ρ̂ over a whole batch of `batch` rows from the
    /// encoder passes of all its shards, summed in shard order; empty for other variants.
    pub fn rho_hat(&self, passes: &[&EncoderPass], batch: usize) -> Vec<f64> {
        if !matches!(self.variant, Variant::Sparse { .. }) {
            return Vec::new();
        }
        let hw = self.enc.out_dim();
        let mut sum = vec![0.0f64; hw];
        for p in passes {
            for row in p.h.chunks_exact(hw) {
                sum.iter_mut()
                    .zip(row)
                    .for_each(|(a, &v)| *a += f64::from(v));
            }
        }
        sum.iter_mut().for_each(|a| *a /= batch.max(1) as f64);
        sum
    }

    /// Phase 2 of the loss on a shard (the rows of `x`, `y` and `pass`, whose rows count
    /// `pass` holds), as its share of a batch of `batch` rows: every per-row term is divided
    /// by `batch`, not by the shard's rows, so the shards' gradients add up to the gradient
    /// of the batch mean. `rho_hat` is [`Net::rho_hat`] of the whole batch (sparse only).
    /// With `backward`, accumulates gradients into both halves.
    #[allow(clippy::too_many_arguments)]
    pub fn shard_loss(
        &mut self,
        x: &[f32],
        y: &[f32],
        pass: &EncoderPass,
        batch: usize,
        step: usize,
        rho_hat: &[f64],
        backward: bool,
    ) -> ShardLoss {
        let (n, k, l) = (self.input, self.latent, self.labels);
        let hw = self.enc.out_dim();
        let h = &pass.h;
        let rows = h.len() / hw.max(1);
        let hard = self.hard().is_some();
        // The VAE's sampling and regularizers are off while the encoder learns the device's
        // rounding (its codes are μ).
        let vae = self.variant.is_vae() && !hard;

        // Latent sample.
        let mut z: Vec<f32> = Vec::with_capacity(rows * k);
        for (r, row) in h.chunks_exact(hw).enumerate() {
            if let Some(cells) = self.hard() {
                z.extend(cells.iter().zip(row).map(|(c, &v)| c.value(v)));
            } else if vae {
                let e = &pass.eps[r * k..(r + 1) * k];
                z.extend((0..k).map(|d| row[d] + (0.5 * row[k + d]).exp() * e[d]));
            } else {
                z.extend_from_slice(&row[..k]);
            }
        }
        if let Some(Qat::Noise { frozen, .. }) = &self.qat {
            for (row, noise) in z.chunks_exact_mut(k).zip(pass.qnoise.chunks_exact(k)) {
                for ((v, f), &u) in row.iter_mut().zip(frozen).zip(noise) {
                    match f {
                        Some(m) => *v = *m,
                        None => *v += u,
                    }
                }
            }
        }

        let dec_in = concat_rows(&z, k, y, l, rows);
        let r = self.dec.forward(&dec_in, rows);
        let x = &x[..rows * n];
        let sq: f64 = r
            .iter()
            .zip(x)
            .map(|(&a, &b)| f64::from(a - b).powi(2))
            .sum();
        let bf = batch as f64;
        let dr_scale = match self.variant {
            Variant::Vae { recon_var, .. } if vae => 1.0 / (recon_var * bf),
            _ => 2.0 / (batch * n) as f64,
        };
        let mut kl = 0.0;
        let mut dh = vec![0.0f32; rows * hw];
        match self.variant {
            _ if hard => {}
            Variant::Sparse { rho, weight } => {
                let g: Vec<f32> = rho_hat
                    .iter()
                    .map(|&rh| (weight * sparse::kl_sparsity_grad(rho, rh) / bf) as f32)
                    .collect();
                for row in dh.chunks_exact_mut(hw) {
                    row.iter_mut().zip(&g).for_each(|(d, &g)| *d += g);
                }
            }
            Variant::Vae { beta, warmup, .. } => {
                let b = vae::beta_at(beta, step, warmup);
                for (row, grow) in h.chunks_exact(hw).zip(dh.chunks_exact_mut(hw)) {
                    for d in 0..k {
                        let (mu, lv) = (f64::from(row[d]), f64::from(row[k + d]));
                        kl += vae::kl_normal(mu, lv) / bf;
                        let (gm, gl) = vae::kl_normal_grad(mu, lv);
                        grow[d] += (b * gm / bf) as f32;
                        grow[k + d] += (b * gl / bf) as f32;
                    }
                }
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
                    let g = d_dec_in[bi * (k + l) + d];
                    let dz = match &self.qat {
                        Some(Qat::Noise { frozen, .. }) if frozen[d].is_some() => 0.0,
                        Some(Qat::Hard(cells)) if !cells[d].passes(hrow[d], g) => 0.0,
                        _ => g,
                    };
                    grow[d] += dz;
                    if vae {
                        let e = pass.eps[bi * k + d];
                        grow[k + d] += dz * e * 0.5 * (0.5 * hrow[k + d]).exp();
                    }
                }
            }
            self.enc.backward_params(&dh);
        }
        ShardLoss { sq, kl }
    }

    /// The loss of a batch of `batch` rows from its shards' parts, added in shard order.
    pub fn combine(
        &self,
        parts: &[ShardLoss],
        rho_hat: &[f64],
        batch: usize,
        step: usize,
    ) -> LossParts {
        let sq: f64 = parts.iter().map(|p| p.sq).sum();
        let kl: f64 = parts.iter().map(|p| p.kl).sum();
        let recon_mse = sq / (batch * self.input) as f64;
        let (total, reg) = match self.variant {
            _ if self.hard().is_some() => (recon_mse, 0.0),
            Variant::Sparse { rho, weight } => {
                let reg = sparse::kl_sparsity(rho, rho_hat);
                (recon_mse + weight * reg, reg)
            }
            Variant::Vae {
                beta,
                warmup,
                recon_var,
            } => (
                sq / (2.0 * recon_var) / batch as f64 + vae::beta_at(beta, step, warmup) * kl,
                kl,
            ),
            _ => (recon_mse, 0.0),
        };
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

    /// One optimizer step on both halves (the encoder alone in [`Qat::Hard`]).
    pub fn step(&mut self, opt: &Adam) {
        self.enc.step(opt);
        if self.learns_decoder() {
            self.dec.step(opt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cells;

    #[test]
    fn uniform_cells_decode_as_the_core_and_pass_gradients_back_towards_their_range() {
        // 4 cells of 0.5 from -1: edges -1, -0.5, 0, 0.5, 1; centres -0.75 .. 0.75.
        let c = Cells::Uniform {
            lo: -1.0,
            hi: 1.0,
            bits: 2,
        };
        for (z, v) in [
            (-0.9, -0.75),
            (-0.5, -0.25),
            (0.49, 0.25),
            (0.99, 0.75),
            (7.0, 0.75),
            (-7.0, -0.75),
            (f32::NAN, -0.75),
        ] {
            assert_eq!(c.value(z), v, "z = {z}");
        }
        // Inside: always; below the range only a gradient that raises z (descent moves
        // against it), above only one that lowers it.
        assert!(c.passes(0.2, 1.0) && c.passes(0.2, -1.0));
        assert!(c.passes(-3.0, -1.0) && !c.passes(-3.0, 1.0));
        assert!(c.passes(3.0, 1.0) && !c.passes(3.0, -1.0));
        assert!(!Cells::Fixed(0.3).passes(0.0, 1.0));
        assert_eq!(Cells::Fixed(0.3).value(5.0), 0.3);
        let t = Cells::Table {
            edges: vec![-1.0, 1.0],
            centroids: vec![-2.0, 0.0, 2.0],
        };
        let values: Vec<f32> = [-5.0, -1.0, 0.5, 1.0, 9.0].map(|z| t.value(z)).to_vec();
        assert_eq!(values, [-2.0, 0.0, 0.0, 2.0, 2.0]);
    }
}
