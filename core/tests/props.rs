//! Properties over generated inputs: no bytes from outside (model blob, payload, frame)
//! panic the core, and what the encoder writes the decoder reads back.
//!
//! Case counts keep the file under ~10 s in a debug build; `PROPTEST_CASES=20000` runs
//! every property deeper.
//!
//! Failure persistence is off: proptest would write regression files next to this
//! file. A failure found here is pinned as a named, deterministic test instead, which
//! also documents the input (the `full_int8_*` tests at the end: generated full-integer
//! models overflowed an i32 quantizing huge inputs, fixed in the input rounding now in
//! core/src/kernels/portable.rs).

mod common;

use aecodec_core::{
    decode_frame, encode_frame, fingerprint, max_frame_len, Activation, Codec, DenseSpec, Error,
    FrameDecoder, HalfSpec, IntBoundary, LatentQuantizer, Meta, Model, ModelSpec, PayloadHeader,
    Precision, FORMAT_VERSION, HEADER_LEN, MAX_PAYLOAD_BYTES,
};
use common::{blob, f32s, Tiny};
use proptest::collection::vec;
use proptest::prelude::*;

/// `cases` per property, or `PROPTEST_CASES` from the environment for a deeper run.
fn config(cases: u32) -> ProptestConfig {
    let env = std::env::var("PROPTEST_CASES").ok();
    ProptestConfig {
        cases: env.and_then(|v| v.parse().ok()).unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A blob with a valid header (magic, version, length, fingerprint) around any body,
/// so that mutations reach the body parser instead of stopping at the fingerprint.
fn with_body(body: &[u8]) -> Vec<u8> {
    let mut b = b"AECM".to_vec();
    b.extend(FORMAT_VERSION.to_le_bytes());
    b.extend((body.len() as u32).to_le_bytes());
    b.extend(fingerprint(body).to_le_bytes());
    b.extend(body);
    b
}

/// `common::blob` has a 4 KiB buffer; generated models with table quantizers can be larger.
fn big_blob(spec: &ModelSpec<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let n = aecodec_core::write_blob(spec, &mut buf).expect("generated model fits 64 KiB");
    buf.truncate(n);
    buf
}

// ---------------------------------------------------------------------------------------
// Inputs a sensor can produce, and what a codec is driven with
// ---------------------------------------------------------------------------------------

/// Mostly ordinary readings, often the values that break arithmetic, sometimes any bits.
fn sample() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -1e3f32..1e3,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(f32::MAX),
        1 => Just(f32::MIN),
        1 => Just(1e10f32),
        2 => any::<u32>().prop_map(f32::from_bits),
    ]
}

/// What [`exercise`] feeds a model that loaded.
#[derive(Debug, Clone)]
struct Stimulus {
    /// Cycled to the model's window and latent lengths.
    samples: Vec<f32>,
    sequence: u16,
    label: u16,
    /// Decoded as a payload of the model (usually refused).
    payload: Vec<u8>,
}

fn stimulus() -> impl Strategy<Value = Stimulus> {
    (
        vec(sample(), 1..=64),
        any::<u16>(),
        any::<u16>(),
        vec(any::<u8>(), 0..80),
    )
        .prop_map(|(samples, sequence, label, payload)| Stimulus {
            samples,
            sequence,
            label,
            payload,
        })
}

/// Drives a model that loaded through every codec entry point. Nothing may panic, an
/// encoded payload has the layout's length and decodes with its sequence and label.
fn exercise(model: &Model<'_>, s: &Stimulus) -> Result<(), TestCaseError> {
    let mut codec = match Codec::<64>::new(model) {
        Ok(c) => c,
        Err(Error::ScratchTooSmall { .. }) => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(format!("Codec::new: {e}"))),
    };
    let n = model.input_dim();
    let k = model.latent_dim();
    let window: Vec<f32> = s.samples.iter().cycle().take(n).copied().collect();
    let count = model.label_count();
    let label = if count > 0 { s.label % count } else { s.label };
    let meta = Meta {
        sequence: s.sequence,
        label,
    };
    let layout = *model.payload_layout();

    let p = codec
        .encode(&window, meta)
        .map_err(|e| TestCaseError::fail(format!("encode of a valid window: {e}")))?;
    prop_assert_eq!(p.as_bytes().len(), usize::from(layout.bytes));
    let mut out = vec![0.0f32; n];
    let info = codec
        .decode(p.as_bytes(), &mut out)
        .map_err(|e| TestCaseError::fail(format!("decode of an encoded payload: {e}")))?;
    let seq_mask = ((1u32 << layout.sequence_bits) - 1) as u16;
    prop_assert_eq!(
        info.sequence,
        (layout.sequence_bits > 0).then_some(s.sequence & seq_mask)
    );
    prop_assert_eq!(info.label, (count > 0).then_some(label));
    if count > 0 {
        let bad = Meta {
            sequence: 0,
            label: count,
        };
        let r = codec.encode(&window, bad);
        prop_assert!(
            matches!(r, Err(Error::BadLabel { .. })),
            "label {}: {:?}",
            count,
            r
        );
    }

    // (the models here have decoders: `decode` above succeeded)
    let r = codec
        .encode_refined(&window, meta, 2)
        .map_err(|e| TestCaseError::fail(format!("refined encode: {e}")))?;
    prop_assert_eq!(r.as_bytes().len(), usize::from(layout.bytes));
    codec
        .decode(r.as_bytes(), &mut out)
        .map_err(|e| TestCaseError::fail(format!("decode of a refined payload: {e}")))?;

    let _ = codec.decode(&s.payload, &mut out);
    let mut z = vec![0.0f32; k];
    codec
        .latent(&window, label, &mut z)
        .map_err(|e| TestCaseError::fail(format!("latent: {e}")))?;
    let z: Vec<f32> = s.samples.iter().cycle().take(k).copied().collect();
    codec
        .reconstruct(&z, label, &mut out)
        .map_err(|e| TestCaseError::fail(format!("reconstruct: {e}")))?;
    Ok(())
}

/// Loads `bytes`; if it is a model, exercises it. Either way nothing may panic.
fn load_and_exercise(bytes: &[u8], s: &Stimulus) -> Result<(), TestCaseError> {
    match Model::from_bytes(bytes) {
        Ok(model) => exercise(&model, s),
        Err(_) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// Byte mutations
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Edit {
    Flip { at: usize, mask: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, byte: u8 },
    Delete { at: usize },
}

/// Small values matter most to postcard: varint lengths, enum tags, u16 dimensions.
/// (A plain byte reshaped, not a `prop_oneof!`: a union per byte of a long vector is
/// slow to generate in debug builds.)
fn small_biased(b: u8) -> u8 {
    match b >> 6 {
        0 => b & 3,
        1 => [0x7F, 0x80, 0xFF, 0x01][usize::from(b & 3)],
        _ => b,
    }
}

fn edit_byte() -> impl Strategy<Value = u8> {
    any::<u8>().prop_map(small_biased)
}

/// Arbitrary bytes, reshaped: biased to small values if `small` (postcard bodies),
/// otherwise about one in sixteen is a zero (a serial line with frame delimiters).
fn byte_vec(len: std::ops::Range<usize>, small: bool) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len).prop_map(move |v| {
        let shape = |b: u8| match small {
            true => small_biased(b),
            false if b < 16 => 0,
            false => b,
        };
        v.into_iter().map(shape).collect()
    })
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Edit::Flip { at, mask }),
        (any::<usize>(), edit_byte()).prop_map(|(at, byte)| Edit::Set { at, byte }),
        (any::<usize>(), edit_byte()).prop_map(|(at, byte)| Edit::Insert { at, byte }),
        any::<usize>().prop_map(|at| Edit::Delete { at }),
    ];
    vec(edit, 1..6)
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        let len = bytes.len();
        match *e {
            Edit::Flip { at, mask } if len > 0 => bytes[at % len] ^= mask,
            Edit::Set { at, byte } if len > 0 => bytes[at % len] = byte,
            Edit::Insert { at, byte } => bytes.insert(at % (len + 1), byte),
            Edit::Delete { at } if len > 0 => {
                bytes.remove(at % len);
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Generated valid models: every precision, quantizer, activation and header layout
// ---------------------------------------------------------------------------------------

/// splitmix64. A whole model comes from one seed, so a failing case is reported as a
/// number that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
    /// Any finite f32, with the extremes of the range well represented.
    fn finite(&mut self) -> f32 {
        match self.below(8) {
            0 => 0.0,
            1 => [
                f32::MAX,
                f32::MIN,
                f32::MIN_POSITIVE,
                -f32::MIN_POSITIVE,
                1e-45,
                -1e-45,
                -0.0,
            ][self.below(7)],
            2 | 3 => {
                let m = (self.below(2001) as f32 - 1000.0) / 100.0;
                m * 10f32.powi(self.between(0, 72) as i32 - 36)
            }
            _ => (self.below(8001) as f32 - 4000.0) / 1000.0,
        }
    }
    fn positive(&mut self) -> f32 {
        match self.finite().abs() {
            v if v > 0.0 => v,
            _ => 1.0,
        }
    }
    fn f32s(&mut self, n: usize) -> Vec<u8> {
        (0..n).flat_map(|_| self.finite().to_le_bytes()).collect()
    }
    fn activation(&mut self) -> Activation {
        match self.below(5) {
            0 => Activation::Identity,
            1 => Activation::Relu,
            2 => Activation::LeakyRelu(self.finite()),
            3 => Activation::Tanh,
            _ => Activation::Sigmoid,
        }
    }
}

struct OwnedLayer {
    in_dim: u16,
    out_dim: u16,
    activation: Activation,
    weights: Vec<u8>,
    bias: Vec<u8>,
    scales: Vec<u8>,
    shifts: Vec<u8>,
    out_zero: i8,
    lut: Vec<u8>,
}

struct OwnedHalf {
    boundary: IntBoundary,
    layers: Vec<OwnedLayer>,
}

enum OwnedQuantizer {
    Uniform {
        bits: Vec<u8>,
        mean: Vec<u8>,
        lo: Vec<u8>,
        hi: Vec<u8>,
    },
    Table {
        bits: Vec<u8>,
        mean: Vec<u8>,
        tables: Vec<u8>,
    },
}

/// Owned bytes behind [`OwnedModel::spec`].
struct OwnedModel {
    precision: Precision,
    input_dim: u16,
    label_count: u16,
    norm_mean: Vec<u8>,
    norm_std: Vec<u8>,
    encoder: OwnedHalf,
    decoder: OwnedHalf,
    quantizer: OwnedQuantizer,
    header: PayloadHeader,
}

fn gen_layer(r: &mut Rng, precision: Precision, n_in: usize, n_out: usize) -> OwnedLayer {
    let activation = r.activation();
    let mut l = OwnedLayer {
        in_dim: n_in as u16,
        out_dim: n_out as u16,
        activation,
        weights: Vec::new(),
        bias: Vec::new(),
        scales: Vec::new(),
        shifts: Vec::new(),
        out_zero: 0,
        lut: Vec::new(),
    };
    match precision {
        Precision::F32 => {
            l.weights = r.f32s(n_in * n_out);
            l.bias = r.f32s(n_out);
        }
        Precision::Int8Weights => {
            l.weights = r.bytes(n_in * n_out);
            l.bias = r.f32s(n_out);
            l.scales = r.f32s(n_out);
        }
        Precision::Int8Full => {
            const MAX_BIAS: i64 = 1 << 30;
            l.weights = r.bytes(n_in * n_out);
            l.bias = (0..n_out)
                .flat_map(|_| {
                    let b = match r.below(4) {
                        0 => [-MAX_BIAS, 0, MAX_BIAS][r.below(3)],
                        _ => (r.next() % (2 * MAX_BIAS as u64 + 1)) as i64 - MAX_BIAS,
                    };
                    (b as i32).to_le_bytes()
                })
                .collect();
            l.scales = (0..n_out)
                .flat_map(|_| {
                    let m = match r.below(4) {
                        0 => [0, 1, i32::MAX][r.below(3)],
                        _ => (r.next() >> 33) as i32,
                    };
                    m.to_le_bytes()
                })
                .collect();
            l.shifts = (0..n_out).map(|_| r.between(1, 62) as u8).collect();
            l.out_zero = r.byte() as i8;
            let needs_lut = !matches!(activation, Activation::Identity | Activation::Relu);
            if needs_lut || r.below(2) == 0 {
                l.lut = r.bytes(256);
            }
        }
    }
    l
}

fn gen_half(
    r: &mut Rng,
    precision: Precision,
    encoder: bool,
    n_in: usize,
    n_out: usize,
) -> OwnedHalf {
    let boundary = if precision == Precision::Int8Full {
        // The encoder's input is symmetric on 2..=16 bits (these layers are narrow
        // enough for any), the decoder's int8.
        let (in_zero, in_bits) = if encoder {
            (0, r.between(2, 16) as u8)
        } else {
            (r.byte() as i8, 8)
        };
        IntBoundary {
            in_scale: r.positive(),
            in_zero,
            in_bits,
            out_scale: r.positive(),
            out_zero: r.byte() as i8,
        }
    } else {
        IntBoundary::UNUSED
    };
    let depth = r.between(1, 3);
    let mut width = n_in;
    let layers = (0..depth)
        .map(|i| {
            let next = if i + 1 == depth {
                n_out
            } else {
                r.between(1, 8)
            };
            let l = gen_layer(r, precision, width, next);
            width = next;
            l
        })
        .collect();
    OwnedHalf { boundary, layers }
}

fn gen_quantizer(r: &mut Rng, latent: usize) -> OwnedQuantizer {
    if r.below(2) == 0 {
        let bits: Vec<u8> = (0..latent).map(|_| r.between(0, 16) as u8).collect();
        let (mut lo, mut hi) = (Vec::new(), Vec::new());
        for _ in 0..latent {
            let (a, b) = (r.finite(), r.finite());
            let (l, h) = match (a.min(b), a.max(b)) {
                (l, h) if h > l && (h - l).is_finite() => (l, h),
                _ => (-1.0, 1.0),
            };
            lo.extend(l.to_le_bytes());
            hi.extend(h.to_le_bytes());
        }
        OwnedQuantizer::Uniform {
            bits,
            mean: r.f32s(latent),
            lo,
            hi,
        }
    } else {
        let bits: Vec<u8> = (0..latent)
            .map(|_| match r.below(8) {
                0 => 8,
                _ => r.between(0, 5) as u8,
            })
            .collect();
        let mut tables = Vec::new();
        for &b in bits.iter().filter(|&&b| b > 0) {
            let n = (1usize << b) - 1;
            let mut edges: Vec<f32> = (0..n).map(|_| r.finite()).collect();
            edges.sort_by(f32::total_cmp);
            tables.extend(edges.iter().flat_map(|e| e.to_le_bytes()));
            tables.extend(r.f32s(n + 1));
        }
        OwnedQuantizer::Table {
            bits,
            mean: r.f32s(latent),
            tables,
        }
    }
}

impl OwnedModel {
    /// A model that satisfies every rule of `Model::from_bytes`, from `seed`.
    fn generate(seed: u64) -> Self {
        let r = &mut Rng(seed);
        let precision = [Precision::F32, Precision::Int8Weights, Precision::Int8Full][r.below(3)];
        let input_dim = r.between(1, 8);
        let label_count = [0, 0, 1, 2, 3][r.below(5)];
        let latent = r.between(1, 6);
        let norm_mean = r.f32s(input_dim);
        let norm_std = (0..input_dim)
            .flat_map(|_| r.positive().to_le_bytes())
            .collect();
        let encoder = gen_half(r, precision, true, input_dim + label_count, latent);
        let decoder = gen_half(r, precision, false, latent + label_count, input_dim);
        let quantizer = gen_quantizer(r, latent);
        let header = PayloadHeader {
            fingerprint_bits: r.between(0, 16) as u8,
            sequence_bits: r.between(0, 16) as u8,
        };
        OwnedModel {
            precision,
            input_dim: input_dim as u16,
            label_count: label_count as u16,
            norm_mean,
            norm_std,
            encoder,
            decoder,
            quantizer,
            header,
        }
    }

    fn spec(&self) -> ModelSpec<'_> {
        ModelSpec {
            precision: self.precision,
            input_dim: self.input_dim,
            label_count: self.label_count,
            norm_mean: &self.norm_mean,
            norm_std: &self.norm_std,
            encoder: half_spec(&self.encoder),
            decoder: half_spec(&self.decoder),
            quantizer: match &self.quantizer {
                OwnedQuantizer::Uniform { bits, mean, lo, hi } => {
                    LatentQuantizer::Uniform { bits, mean, lo, hi }
                }
                OwnedQuantizer::Table { bits, mean, tables } => {
                    LatentQuantizer::Table { bits, mean, tables }
                }
            },
            header: self.header,
            encoder_of: None,
            signal: aecodec_core::Signal::series(1),
            level: None,
        }
    }
}

fn half_spec(h: &OwnedHalf) -> HalfSpec<'_> {
    let mut layers = heapless::Vec::new();
    for l in &h.layers {
        let spec = DenseSpec {
            in_dim: l.in_dim,
            out_dim: l.out_dim,
            activation: l.activation,
            conv: None,
            pad: &[],
            weights: &l.weights,
            bias: &l.bias,
            scales: &l.scales,
            shifts: &l.shifts,
            out_zero: l.out_zero,
            lut: &l.lut,
        };
        assert!(layers.push(spec).is_ok(), "at most 3 layers are generated");
    }
    HalfSpec {
        boundary: h.boundary,
        layers,
    }
}

/// The blob of the generated model `seed`.
fn generated_blob(seed: u64) -> Vec<u8> {
    big_blob(&OwnedModel::generate(seed).spec())
}

// ---------------------------------------------------------------------------------------
// The tiny model of tests/common, by hand: codes and reconstruction
// ---------------------------------------------------------------------------------------

/// The tiny model's codes for `x`, computed with the same f32 operations in the same
/// order as the core (so the comparison can be exact): normalize, the encoder rows
/// [0.5 0.5 0] and [0 0.5 -0.5] with bias [0, 0.25], then 4 and 3 bits over [-2, 2].
fn tiny_codes(x: [f32; 3]) -> (u16, u16) {
    let n = [
        (x[0] - 100.0) / 10.0,
        (x[1] - 0.0) / 1.0,
        (x[2] - -50.0) / 5.0,
    ];
    let row = |w: [f32; 3], b: f32| {
        let tail = w.iter().zip(&n).fold(0.0f32, |s, (w, n)| s + w * n);
        (0.0 + tail) + b
    };
    let code = |z: f32, bits: u8| {
        let levels = (1u32 << bits) as f32;
        let t = (z - -2.0) / (2.0 - -2.0) * levels;
        if t >= levels {
            levels as u16 - 1
        } else if t > 0.0 {
            t as u16
        } else {
            0
        }
    };
    (
        code(row([0.5, 0.5, 0.0], 0.0), 4),
        code(row([0.0, 0.5, -0.5], 0.25), 3),
    )
}

/// The tiny model's reconstruction of codes (c0, c1): cell centres through the decoder
/// rows [1 0], [1 1], [0 -1], de-normalized. All values are dyadic, so exact.
fn tiny_reconstruction(c0: u16, c1: u16) -> [f32; 3] {
    let z0 = -2.0 + (f32::from(c0) + 0.5) * (4.0 / 16.0);
    let z1 = -2.0 + (f32::from(c1) + 0.5) * (4.0 / 8.0);
    [100.0 + 10.0 * z0, z0 + z1, -50.0 + 5.0 * -z1]
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn model_parser_survives_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        let _ = Model::from_bytes(&bytes);
    }

    #[test]
    fn model_parser_survives_arbitrary_body_behind_valid_header(
        body in byte_vec(0..600, true),
        s in stimulus(),
    ) {
        load_and_exercise(&with_body(&body), &s)?;
    }

    #[test]
    fn model_parser_survives_mutated_blob(edits in edits(), s in stimulus()) {
        let mut b = blob(&Tiny::new().spec());
        apply(&mut b, &edits);
        load_and_exercise(&b, &s)?;
    }

    #[test]
    fn models_from_mutated_bodies_load_or_fail_cleanly(edits in edits(), s in stimulus()) {
        let b = blob(&Tiny::new().spec());
        let mut body = b[HEADER_LEN..].to_vec();
        apply(&mut body, &edits);
        load_and_exercise(&with_body(&body), &s)?;
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn generated_models_load_and_round_trip_any_window(seed in any::<u64>(), s in stimulus()) {
        let b = generated_blob(seed);
        let model = Model::from_bytes(&b)
            .map_err(|e| TestCaseError::fail(format!("valid model refused: {e}")))?;
        exercise(&model, &s)?;
    }

    #[test]
    fn mutated_generated_models_load_or_fail_cleanly(
        seed in any::<u64>(),
        edits in edits(),
        s in stimulus(),
    ) {
        let b = generated_blob(seed);
        let mut body = b[HEADER_LEN..].to_vec();
        apply(&mut body, &edits);
        load_and_exercise(&with_body(&body), &s)?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn payload_decoder_accepts_exactly_the_well_formed_payloads(
        payload in vec(any::<u8>(), 0..80),
        short in vec(any::<u8>(), 2),
    ) {
        let b = blob(&Tiny::new().spec());
        let m = Model::from_bytes(&b).unwrap();
        let mut c = Codec::<64>::new(&m).unwrap();
        let fp = aecodec_core::model_tag(m.fingerprint(), 4) as u8;
        let mut out = [0.0f32; 3];
        // 4 model tag bits, 4 sequence bits, codes of 4 and 3 bits, 1 padding bit
        for p in [&payload[..], &short[..]] {
            let well_formed = p.len() == 2 && p[0] >> 4 == fp && p[1] & 1 == 0;
            // The view reads the header of any payload of the right length, ours or not.
            match aecodec_core::PayloadView::new_checked(p, *m.payload_layout()) {
                Ok(view) => {
                    prop_assert_eq!(view.tag(), u16::from(p[0] >> 4));
                    prop_assert_eq!(view.sequence(), Some(u16::from(p[0] & 0xF)));
                    prop_assert_eq!(view.label(), 0);
                }
                Err(_) => prop_assert!(p.len() != 2),
            }
            match c.decode(p, &mut out) {
                Ok(info) => {
                    prop_assert!(well_formed, "accepted {:02x?}", p);
                    prop_assert_eq!(info.sequence, Some(u16::from(p[0] & 0xF)));
                    prop_assert_eq!(info.label, None);
                    prop_assert_eq!(out, tiny_reconstruction(u16::from(p[1] >> 4), u16::from((p[1] >> 1) & 7)));
                }
                Err(e) => prop_assert!(!well_formed, "refused {:02x?}: {}", p, e),
            }
        }
    }

    #[test]
    fn encoded_payload_decodes_to_cell_centres_with_its_sequence(
        x in [sample(), sample(), sample()],
        sequence in any::<u16>(),
    ) {
        let b = blob(&Tiny::new().spec());
        let m = Model::from_bytes(&b).unwrap();
        let mut c = Codec::<64>::new(&m).unwrap();
        let p = c.encode(&x, Meta { sequence, label: 0 }).unwrap();
        let p = p.as_bytes();
        prop_assert_eq!(p.len(), usize::from(m.payload_layout().bytes));
        let (c0, c1) = tiny_codes(x);
        let fp = aecodec_core::model_tag(m.fingerprint(), 4) as u8;
        prop_assert_eq!(p, &[fp << 4 | (sequence & 0xF) as u8, (c0 << 4 | c1 << 1) as u8][..]);
        let mut out = [0.0f32; 3];
        let info = c.decode(p, &mut out).unwrap();
        prop_assert_eq!(info.sequence, Some(sequence % 16));
        prop_assert_eq!(out, tiny_reconstruction(c0, c1));
    }

    #[test]
    fn refined_codes_are_no_worse_than_the_encoders_and_converge_to_a_local_minimum(
        x in [sample(), sample(), sample()],
        passes in 1u8..=4,
    ) {
        let b = blob(&Tiny::new().spec());
        let m = Model::from_bytes(&b).unwrap();
        let mut c = Codec::<64>::new(&m).unwrap();
        let codes = |p: &[u8]| (u16::from(p[1] >> 4), u16::from((p[1] >> 1) & 7));
        // the core's error: f32, outputs in order
        let err = |c0: u16, c1: u16| {
            tiny_reconstruction(c0, c1)
                .iter()
                .zip(&x)
                .fold(0.0f32, |s, (v, x)| s + (v - x) * (v - x))
        };
        let (c0, c1) = tiny_codes(x);
        let p = c.encode_refined(&x, Meta::default(), passes).unwrap();
        let (r0, r1) = codes(p.as_bytes());
        prop_assert!(err(r0, r1) <= err(c0, c1) || err(c0, c1).is_nan());
        let mut out = [0.0f32; 3];
        c.decode(p.as_bytes(), &mut out).unwrap();
        prop_assert_eq!(out, tiny_reconstruction(r0, r1));
        // Every pass that changes a code lowers the error, and there are 16 · 8 codes:
        // 255 passes always end in a pass that changed nothing, at a local minimum.
        let p = c.encode_refined(&x, Meta::default(), 255).unwrap();
        let (r0, r1) = codes(p.as_bytes());
        prop_assert!(err(r0, r1) <= err(c0, c1) || err(c0, c1).is_nan());
        if x.iter().all(|v| v.is_finite()) {
            for (n0, n1) in [(r0.wrapping_sub(1), r1), (r0 + 1, r1), (r0, r1.wrapping_sub(1)), (r0, r1 + 1)] {
                if n0 < 16 && n1 < 8 {
                    prop_assert!(err(n0, n1) >= err(r0, r1), "({}, {}) beats ({}, {})", n0, n1, r0, r1);
                }
            }
        }
    }

    #[test]
    fn frame_round_trips_any_payload(payload in vec(any::<u8>(), 0..300)) {
        let mut out = vec![0u8; max_frame_len(payload.len())];
        let n = encode_frame(&payload, &mut out).unwrap();
        prop_assert!(n <= max_frame_len(payload.len()));
        prop_assert_eq!(out[n - 1], 0);
        prop_assert!(!out[..n - 1].contains(&0), "zero inside {:02x?}", &out[..n]);
        prop_assert_eq!(decode_frame(&mut out[..n - 1]).unwrap(), &payload[..]);
    }

    #[test]
    fn frame_crc_catches_any_corrupted_data_byte(
        payload in vec(any::<u8>(), 0..300),
        at in any::<usize>(),
        mask in 1u8..=255,
    ) {
        let mut out = vec![0u8; max_frame_len(payload.len())];
        let n = encode_frame(&payload, &mut out).unwrap();
        // COBS code bytes move the zeros; every other byte maps to one payload or CRC
        // byte, and CRC-16 detects every error confined to 8 bits.
        let mut is_code = vec![false; n - 1];
        let mut p = 0;
        while p < n - 1 {
            is_code[p] = true;
            p += usize::from(out[p]);
        }
        let data: Vec<usize> = (0..n - 1).filter(|&i| !is_code[i]).collect();
        prop_assume!(!data.is_empty());
        let i = data[at % data.len()];
        let corrupt = out[i] ^ mask;
        prop_assume!(corrupt != 0);
        out[i] = corrupt;
        prop_assert!(
            matches!(decode_frame(&mut out[..n - 1]), Err(Error::FrameCrc { .. })),
            "corrupt byte {} not caught", i
        );
    }

    #[test]
    fn frame_body_decoder_survives_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        let mut copy = bytes.clone();
        if let Ok(p) = decode_frame(&mut copy) {
            prop_assert!(p.len() + 2 <= bytes.len());
        }
    }

    #[test]
    fn stream_decoder_survives_byte_soup(
        bytes in byte_vec(0..2000, false),
    ) {
        let mut dec = FrameDecoder::<64>::new();
        for &b in &bytes {
            if let Some(Ok(p)) = dec.push(b) {
                prop_assert!(p.len() <= 64 - 2);
            }
            if b == 0 {
                prop_assert!(!dec.is_mid_frame());
            }
        }
    }

    #[test]
    fn stream_decoder_recovers_every_frame_between_garbage(
        chunks in vec(
            (vec(1u8..=255, 0..100), vec(any::<u8>(), 0..=MAX_PAYLOAD_BYTES)),
            1..12,
        ),
    ) {
        // A buffer for the largest payload; longer garbage overflows it.
        const CAP: usize = max_frame_len(MAX_PAYLOAD_BYTES) - 1;
        let mut dec = FrameDecoder::<CAP>::new();
        let mut frame = [0u8; CAP + 1];
        for (garbage, payload) in &chunks {
            // The decoder resets at every delimiter, so each chunk's outcome is its own.
            let mut outcomes = 0;
            for &b in garbage.iter().chain([&0u8]) {
                outcomes += usize::from(dec.push(b).is_some());
            }
            prop_assert!(outcomes <= 1);
            let n = encode_frame(payload, &mut frame).unwrap();
            let mut got = Vec::new();
            for &b in &frame[..n] {
                if let Some(r) = dec.push(b) {
                    got.push(r.map(<[u8]>::to_vec));
                }
            }
            prop_assert_eq!(got, vec![Ok(payload.clone())]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Failures found by the properties above, pinned as deterministic tests
// ---------------------------------------------------------------------------------------

/// One full-integer identity layer that passes int8 values through unchanged:
/// weight 1, bias 0, multiplier 2^30 with shift 30.
fn passthrough_half<'a>(
    w: &'a [u8],
    bias: &'a [u8],
    m: &'a [u8],
    in_scale: f32,
    encoder: bool,
) -> HalfSpec<'a> {
    let mut layers = heapless::Vec::new();
    let layer = DenseSpec {
        in_dim: 1,
        out_dim: 1,
        activation: Activation::Identity,
        conv: None,
        pad: &[],
        weights: w,
        bias,
        scales: m,
        shifts: &[30],
        out_zero: 0,
        lut: &[],
    };
    assert!(layers.push(layer).is_ok());
    HalfSpec {
        boundary: IntBoundary {
            in_scale,
            in_zero: if encoder { 0 } else { 1 },
            in_bits: 8,
            out_scale: 1.0 / 128.0,
            out_zero: 0,
        },
        layers,
    }
}

/// Full-integer model, 1 input -> 1 latent -> 1 output, pass-through layers, a 1-bit
/// latent over [-1, 1] and no payload header. The encoder's input is symmetric on 8
/// bits, the decoder's has zero point 1; the encoder's scale is `enc_in_scale`, the
/// decoder's `dec_in_scale`.
fn int8_passthrough(enc_in_scale: f32, dec_in_scale: f32) -> Vec<u8> {
    // Weight +1, stored offset-binary (+128) as format version 2 requires.
    let (w, bias, m) = ([0x81u8], 0i32.to_le_bytes(), (1i32 << 30).to_le_bytes());
    let (mean, std, lo, hi) = (f32s(&[0.0]), f32s(&[1.0]), f32s(&[-1.0]), f32s(&[1.0]));
    let spec = ModelSpec {
        precision: Precision::Int8Full,
        input_dim: 1,
        label_count: 0,
        norm_mean: &mean,
        norm_std: &std,
        encoder: passthrough_half(&w, &bias, &m, enc_in_scale, true),
        decoder: passthrough_half(&w, &bias, &m, dec_in_scale, false),
        quantizer: LatentQuantizer::Uniform {
            bits: &[1],
            mean: &mean,
            lo: &lo,
            hi: &hi,
        },
        header: PayloadHeader::default(),
        encoder_of: None,
        signal: aecodec_core::Signal::series(1),
        level: None,
    };
    blob(&spec)
}

/// Found by `generated_models_load_and_round_trip_any_window`: `roundf(x / in_scale) as
/// i32 + in_zero` overflowed for huge x and in_zero != 0 (a panic in debug builds, a
/// sign flip to -128 in release builds).
#[test]
fn full_int8_encoder_saturates_huge_samples() {
    let b = int8_passthrough(1.0, 1.0);
    let m = Model::from_bytes(&b).unwrap();
    let mut c = Codec::<4>::new(&m).unwrap();
    // 1e9 and 1e10 both saturate to +127 at the int8 boundary: the same payload.
    let big = c.encode(&[1e9], Meta::default()).unwrap();
    let huge = c.encode(&[1e10], Meta::default()).unwrap();
    let inf = c.encode(&[f32::INFINITY], Meta::default()).unwrap();
    assert_eq!(big.as_bytes(), [0x80]);
    assert_eq!(huge.as_bytes(), big.as_bytes());
    assert_eq!(inf.as_bytes(), big.as_bytes());
}

/// The same overflow, reached through the decoder half from a valid payload.
#[test]
fn full_int8_decoder_saturates_huge_latents() {
    // A valid payload of a valid model: the latent cell centre 0.5 over a tiny decoder
    // input scale is 5e29, far outside i32.
    let b = int8_passthrough(1.0, 1e-30);
    let m = Model::from_bytes(&b).unwrap();
    let mut c = Codec::<4>::new(&m).unwrap();
    let mut out = [0.0f32];
    c.decode(&[0x80], &mut out).unwrap();
    assert_eq!(out, [127.0 / 128.0]);
}

proptest! {
    #![proptest_config(config(4000))]

    /// The core's one-pass check of channel names accepts exactly the UTF-8 text of
    /// non-empty names without control characters, each ended by a newline (the rules
    /// std states with `str::from_utf8` and `char::is_control`).
    #[test]
    fn channel_names_are_checked_as_std_reads_them(
        names in vec(prop_oneof![
            Just(b'\n'), Just(b'a'), Just(b'\t'), Just(0x7f),
            0x80u8..=0xff, Just(0xc2), Just(0xe2), Just(0xed), Just(0xf0), Just(0xf4),
        ], 0..12)
    ) {
        let tiny = Tiny::new();
        let mut spec = tiny.spec();
        spec.signal = aecodec_core::Signal {
            channels: 1,
            names: &names,
            ..aecodec_core::Signal::series(1)
        };
        let loads = Model::from_bytes(&blob(&spec)).is_ok();
        let expected = names.is_empty()
            || std::str::from_utf8(&names).is_ok_and(|t| {
                t.ends_with('\n')
                    && t.split_terminator('\n').count() == 1
                    && t.split_terminator('\n').all(|n| !n.is_empty() && !n.chars().any(char::is_control))
            });
        prop_assert_eq!(loads, expected, "{:x?}", names);
    }
}
