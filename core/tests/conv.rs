//! Convolutional layers (format version 3): the core's f32 and int8-weight paths against
//! a direct reading of spec/model-format.md, and the shapes validation refuses.

mod common;

use aecodec_core::{
    Activation, Codec, Conv, DenseSpec, Error, HalfSpec, IntBoundary, LatentQuantizer, Model,
    ModelSpec, PayloadHeader, Precision,
};
use common::{blob, f32s};

const CH: usize = 2;
const SAMPLES: usize = 10;
const N: usize = CH * SAMPLES;
const KERNEL: usize = 4;
const STRIDE: usize = 2;
const P: usize = (SAMPLES - KERNEL) / STRIDE + 1; // 4
const FILTERS: usize = 3;
const LATENT: usize = 5;

fn conv(transposed: bool) -> Conv {
    Conv {
        transposed,
        samples: SAMPLES as u16,
        channels: CH as u16,
        kernel: KERNEL as u16,
        stride: STRIDE as u16,
    }
}

/// Deterministic pseudo-random values in [-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// Layer parameters: weights `[out][in]` and biases, f32.
struct Params {
    w: Vec<f32>,
    b: Vec<f32>,
    n_in: usize,
    n_out: usize,
}

impl Params {
    fn new(n_in: usize, n_out: usize, seed: u32) -> Params {
        Params {
            w: values(n_in * n_out, seed).iter().map(|v| v * 0.6).collect(),
            b: values(n_out, seed + 100).iter().map(|v| v * 0.2).collect(),
            n_in,
            n_out,
        }
    }

    fn dense(&self, x: &[f32]) -> Vec<f64> {
        (0..self.n_out)
            .map(|o| {
                (0..self.n_in)
                    .map(|i| f64::from(self.w[o * self.n_in + i]) * f64::from(x[i]))
                    .sum::<f64>()
                    + f64::from(self.b[o])
            })
            .collect()
    }
}

fn leaky(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        0.1 * v
    }
}

/// Encoder: conv(KERNEL·CH → FILTERS, leaky) over the window, dense(P·FILTERS → LATENT).
/// Decoder: dense(LATENT → P·FILTERS, leaky), transposed conv(FILTERS → KERNEL·CH).
struct Net {
    layers: [Params; 4],
}

impl Net {
    fn new() -> Net {
        Net {
            layers: [
                Params::new(KERNEL * CH, FILTERS, 1),
                Params::new(P * FILTERS, LATENT, 2),
                Params::new(LATENT, P * FILTERS, 3),
                Params::new(FILTERS, KERNEL * CH, 4),
            ],
        }
    }

    fn encode(&self, x: &[f32]) -> Vec<f64> {
        let [c, d, ..] = &self.layers;
        let h: Vec<f32> = (0..P)
            .flat_map(|p| c.dense(&x[p * STRIDE * CH..][..KERNEL * CH]))
            .map(|v| leaky(v) as f32)
            .collect();
        d.dense(&h)
    }

    fn decode(&self, z: &[f32]) -> Vec<f64> {
        let [.., d, t] = &self.layers;
        let h: Vec<f32> = d.dense(z).into_iter().map(|v| leaky(v) as f32).collect();
        let mut y = vec![0.0f64; N];
        for p in 0..P {
            let piece = t.dense(&h[p * FILTERS..][..FILTERS]);
            for (j, v) in piece.into_iter().enumerate() {
                y[p * STRIDE * CH + j] += v;
            }
        }
        y
    }
}

/// The owned bytes of a model of [`Net`] at `precision` (F32 or Int8Weights).
struct Bytes {
    layers: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    norm_mean: Vec<u8>,
    norm_std: Vec<u8>,
    bits: Vec<u8>,
    mean: Vec<u8>,
    lo: Vec<u8>,
    hi: Vec<u8>,
}

impl Bytes {
    fn new(net: &Net, precision: Precision) -> Bytes {
        let layers = net
            .layers
            .iter()
            .map(|l| match precision {
                Precision::F32 => (f32s(&l.w), f32s(&l.b), Vec::new()),
                _ => {
                    let mut codes = Vec::new();
                    let mut scales = Vec::new();
                    for row in l.w.chunks_exact(l.n_in) {
                        let s = row.iter().fold(0.0f32, |m, w| m.max(w.abs())) / 127.0;
                        codes.extend(row.iter().map(|w| (w / s).round() as i8 as u8));
                        scales.push(s);
                    }
                    (codes, f32s(&l.b), f32s(&scales))
                }
            })
            .collect();
        Bytes {
            layers,
            norm_mean: f32s(&[0.0; N]),
            norm_std: f32s(&[1.0; N]),
            bits: vec![6; LATENT],
            mean: f32s(&[0.0; LATENT]),
            lo: f32s(&[-8.0; LATENT]),
            hi: f32s(&[8.0; LATENT]),
        }
    }

    /// The spec, with `edit` applied to each layer (index, layer) first.
    fn spec(
        &self,
        precision: Precision,
        edit: impl Fn(usize, &mut DenseSpec<'_>),
    ) -> ModelSpec<'_> {
        let shapes = [
            (
                KERNEL * CH,
                FILTERS,
                Activation::LeakyRelu(0.1),
                Some(conv(false)),
            ),
            (P * FILTERS, LATENT, Activation::Identity, None),
            (LATENT, P * FILTERS, Activation::LeakyRelu(0.1), None),
            (FILTERS, KERNEL * CH, Activation::Identity, Some(conv(true))),
        ];
        let mut halves = [heapless::Vec::new(), heapless::Vec::new()];
        for (i, ((n_in, n_out, activation, conv), (w, b, s))) in
            shapes.into_iter().zip(&self.layers).enumerate()
        {
            let mut l = DenseSpec {
                in_dim: n_in as u16,
                out_dim: n_out as u16,
                activation,
                conv,
                pad: &[],
                weights: w,
                bias: b,
                scales: s,
                shifts: &[],
                out_zero: 0,
                lut: &[],
            };
            edit(i, &mut l);
            halves[i / 2].push(l).unwrap();
        }
        let [encoder, decoder] = halves;
        ModelSpec {
            precision,
            input_dim: N as u16,
            label_count: 0,
            norm_mean: &self.norm_mean,
            norm_std: &self.norm_std,
            encoder: HalfSpec {
                boundary: IntBoundary::UNUSED,
                layers: encoder,
            },
            decoder: HalfSpec {
                boundary: IntBoundary::UNUSED,
                layers: decoder,
            },
            quantizer: LatentQuantizer::Uniform {
                bits: &self.bits,
                mean: &self.mean,
                lo: &self.lo,
                hi: &self.hi,
            },
            header: PayloadHeader::default(),
            encoder_of: None,
            signal: aecodec_core::Signal::series(CH as u16),
            level: None,
        }
    }
}

fn max_diff(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn convolution_and_overlap_add_follow_the_spec() {
    let net = Net::new();
    for (precision, tolerance) in [(Precision::F32, 1e-5), (Precision::Int8Weights, 0.05)] {
        let bytes = Bytes::new(&net, precision);
        let b = blob(&bytes.spec(precision, |_, _| {}));
        let m = Model::from_bytes(&b).unwrap();
        assert_eq!(m.scratch_needed(), N.max(P * FILTERS));
        assert_eq!(
            m.encoder_macs(),
            KERNEL * CH * FILTERS * P + P * FILTERS * LATENT
        );
        assert_eq!(
            m.decoder_macs(),
            LATENT * P * FILTERS + FILTERS * KERNEL * CH * P
        );
        let mut c = Codec::<64>::new(&m).unwrap();
        for seed in 0..8 {
            let x: Vec<f32> = values(N, 50 + seed).iter().map(|v| v * 2.0).collect();
            let mut z = [0.0f32; LATENT];
            c.latent(&x, 0, &mut z).unwrap();
            let d = max_diff(&z, &net.encode(&x));
            assert!(d < tolerance, "{precision:?} latent off by {d}");
            let mut y = [0.0f32; N];
            c.reconstruct(&z, 0, &mut y).unwrap();
            let d = max_diff(&y, &net.decode(&z));
            assert!(d < tolerance, "{precision:?} reconstruction off by {d}");
        }
    }
}

#[test]
fn misshapen_convolutions_are_refused_at_load() {
    let net = Net::new();
    let bytes = Bytes::new(&net, Precision::F32);
    let refused = |edit: &dyn Fn(usize, &mut DenseSpec<'_>)| {
        Model::from_bytes(&blob(&bytes.spec(Precision::F32, edit))).unwrap_err()
    };
    let conv_at = |index| Error::BadParameter {
        field: "conv",
        index,
    };
    // positions that do not end on the last sample (10 − 4 is not a multiple of 4)
    let e = refused(&|i, l| {
        if let Some(c) = l.conv.as_mut().filter(|_| i == 0) {
            c.stride = 4;
        }
    });
    assert_eq!(e, conv_at(0));
    // a kernel longer than the window, a zero stride, zero channels
    for bad in [
        |c: &mut Conv| c.kernel = 11,
        |c: &mut Conv| c.stride = 0,
        |c: &mut Conv| c.channels = 0,
    ] {
        let e = refused(&|i, l| {
            if let Some(c) = l.conv.as_mut().filter(|_| i == 0) {
                bad(c);
            }
        });
        assert_eq!(e, conv_at(0));
    }
    // a dense map that is not one position wide
    let e = refused(&|i, l| {
        if i == 0 {
            if let Some(c) = l.conv.as_mut() {
                c.kernel = 2;
                c.stride = 2;
            }
        }
    });
    assert_eq!(e, conv_at(0));
    // a transposed layer with an activation
    let e = refused(&|i, l| {
        if i == 3 {
            l.activation = Activation::Tanh;
        }
    });
    assert_eq!(e, conv_at(1));
    // a transposed layer with an activation table (overlap-add must stay linear)
    static TABLE: [u8; 256] = [0; 256];
    let e = refused(&|i, l| {
        if i == 3 {
            l.lut = &TABLE;
        }
    });
    assert_eq!(e, conv_at(1));
    // a transposed layer that is not its half's last
    let e = refused(&|i, l| {
        if i == 0 {
            l.conv = Some(conv(true));
        }
    });
    assert_eq!(e, conv_at(0));
    // the window side must chain with the neighbouring layers
    let e = refused(&|i, l| {
        if let Some(c) = l.conv.as_mut().filter(|_| i == 3) {
            c.samples = 12;
        }
    });
    assert!(matches!(e, Error::DimensionMismatch { .. }), "{e:?}");
}
