//! A host-side batched decoder: the decoder network of an exported blob run on many
//! latents at once with GEMM, for receivers that decode streams in bulk.
//!
//! The core decodes one vector per call with a fixed summation order (bit-exact on every
//! target). This decoder sums in GEMM's order instead, so its outputs differ from the
//! core's in the last bits (tested below 1e-4 relative); use the core where bit-exactness
//! with a device matters (the encoder side), this where throughput does.

use aecodec_core::{Activation, Model, Precision};

use crate::nn::act;
use crate::nn::gemm;
use crate::Error;

/// One decoder layer in f32, weights row-major `[out][in]`.
struct Layer {
    n_in: usize,
    n_out: usize,
    activation: Activation,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// The decoder half of a blob, ready for batches.
pub struct BatchDecoder {
    layers: Vec<Layer>,
    mean: Vec<f32>,
    std: Vec<f32>,
    latent: usize,
    labels: usize,
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl BatchDecoder {
    /// The decoder of an f32 or int8-weight blob (int8 weights are dequantized once).
    pub fn new(blob: &[u8]) -> Result<Self, Error> {
        let m = Model::from_bytes(blob)?;
        let spec = m.spec();
        let mut layers = Vec::new();
        for l in &spec.decoder.layers {
            if l.conv.is_some() {
                return Err(Error::InvalidArgument("the batched decoder takes dense layers only; decode models with convolutional layers with aecodec_core::Codec or aecodec_core::Batch".into()));
            }
            let (n_in, n_out) = (usize::from(l.in_dim), usize::from(l.out_dim));
            let w = match m.precision() {
                Precision::F32 => f32s(l.weights),
                Precision::Int8Weights => {
                    let scales = f32s(l.scales);
                    l.weights.chunks_exact(n_in).zip(&scales).flat_map(|(row, &s)| row.iter().map(move |&q| f32::from(q as i8) * s)).collect()
                }
                Precision::Int8Full => {
                    return Err(Error::InvalidArgument("the batched decoder takes f32 or int8-weight blobs; decode full-int8 blobs with aecodec_core::Batch".into()))
                }
            };
            layers.push(Layer {
                n_in,
                n_out,
                activation: l.activation,
                w,
                b: f32s(l.bias),
            });
        }
        Ok(BatchDecoder {
            layers,
            mean: f32s(spec.norm_mean),
            std: f32s(spec.norm_std),
            latent: m.latent_dim(),
            labels: usize::from(m.label_count()),
        })
    }

    /// Decodes `rows` latents (`z`, row-major `rows × latent_dim`) with their labels into
    /// `rows × input_dim` samples in sensor units.
    pub fn decode(&self, z: &[f32], labels: &[u16], rows: usize) -> Vec<f32> {
        let k = self.latent;
        let mut x: Vec<f32> = Vec::with_capacity(rows * (k + self.labels));
        for r in 0..rows {
            x.extend_from_slice(&z[r * k..(r + 1) * k]);
            x.extend((0..self.labels).map(|c| {
                if labels.get(r).is_some_and(|&l| usize::from(l) == c) {
                    1.0
                } else {
                    0.0
                }
            }));
        }
        for l in &self.layers {
            let mut y = vec![0.0f32; rows * l.n_out];
            for row in y.chunks_exact_mut(l.n_out) {
                row.copy_from_slice(&l.b);
            }
            gemm(rows, l.n_in, l.n_out, &x, false, &l.w, true, &mut y, 1.0);
            y.iter_mut().for_each(|v| *v = act(l.activation, *v));
            x = y;
        }
        let n = self.mean.len();
        for row in x.chunks_exact_mut(n) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = *v * s + m;
            }
        }
        x
    }
}
