//! A tiny hand-written model for the core's own tests: 3 inputs → 2 latents → 3 outputs.
#![allow(dead_code)]

use aecodec_core::{
    write_blob, Activation, DenseSpec, HalfSpec, IntBoundary, LatentQuantizer, ModelSpec,
    PayloadHeader, Precision,
};

pub fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// An f32 dense layer with the identity activation and no convolution.
pub fn f32_identity<'a>(
    in_dim: u16,
    out_dim: u16,
    weights: &'a [u8],
    bias: &'a [u8],
) -> DenseSpec<'a> {
    DenseSpec {
        in_dim,
        out_dim,
        activation: Activation::Identity,
        conv: None,
        pad: &[],
        weights,
        bias,
        scales: &[],
        shifts: &[],
        out_zero: 0,
        lut: &[],
    }
}

/// Owned bytes behind [`Tiny::spec`].
pub struct Tiny {
    pub norm_mean: Vec<u8>,
    pub norm_std: Vec<u8>,
    pub enc_w: Vec<u8>,
    pub enc_b: Vec<u8>,
    pub dec_w: Vec<u8>,
    pub dec_b: Vec<u8>,
    pub bits: Vec<u8>,
    pub mean: Vec<u8>,
    pub lo: Vec<u8>,
    pub hi: Vec<u8>,
}

impl Tiny {
    pub fn new() -> Self {
        Tiny {
            norm_mean: f32s(&[100.0, 0.0, -50.0]),
            norm_std: f32s(&[10.0, 1.0, 5.0]),
            // latent = [x0 + x1, x1 - x2] / 2
            enc_w: f32s(&[0.5, 0.5, 0.0, 0.0, 0.5, -0.5]),
            enc_b: f32s(&[0.0, 0.25]),
            // the pseudo-inverse-ish reconstruction
            dec_w: f32s(&[1.0, 0.0, 1.0, 1.0, 0.0, -1.0]),
            dec_b: f32s(&[0.0, 0.0, 0.0]),
            bits: vec![4, 3],
            mean: f32s(&[0.0, 0.25]),
            lo: f32s(&[-2.0, -2.0]),
            hi: f32s(&[2.0, 2.0]),
        }
    }

    pub fn spec(&self) -> ModelSpec<'_> {
        let mut enc = heapless::Vec::new();
        enc.push(f32_identity(3, 2, &self.enc_w[..], &self.enc_b[..]))
            .unwrap();
        let mut dec = heapless::Vec::new();
        dec.push(f32_identity(2, 3, &self.dec_w[..], &self.dec_b[..]))
            .unwrap();
        ModelSpec {
            precision: Precision::F32,
            input_dim: 3,
            label_count: 0,
            norm_mean: &self.norm_mean,
            norm_std: &self.norm_std,
            encoder: HalfSpec {
                boundary: IntBoundary::UNUSED,
                layers: enc,
            },
            decoder: HalfSpec {
                boundary: IntBoundary::UNUSED,
                layers: dec,
            },
            quantizer: LatentQuantizer::Uniform {
                bits: &self.bits,
                mean: &self.mean,
                lo: &self.lo,
                hi: &self.hi,
            },
            header: PayloadHeader {
                fingerprint_bits: 4,
                sequence_bits: 4,
            },
            encoder_of: None,
            signal: aecodec_core::Signal {
                channels: 1,
                sample_rate_hz: Some(50.0),
                names: b"ecg\n",
                source: aecodec_core::Source::Series,
            },
            level: None,
        }
    }
}

/// Serializes a spec into a fresh blob.
pub fn blob(spec: &ModelSpec<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let n = write_blob(spec, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
