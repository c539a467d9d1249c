//! Shared by the fuzz targets and the seed writer (`examples/seeds.rs`): valid models to
//! start from, and the one routine that drives a loaded model through every codec entry
//! point, asserting what must hold.

use aecodec_core::{
    fingerprint, write_blob, Activation, Batch, Codec, Conv, DenseBytes, HalfSpec, IntBoundary,
    LatentQuantizer, LevelSpec, Meta, Model, ModelSpec, PayloadHeader, Precision,
};

/// Scratch elements of the codecs the targets build: more than any seed model needs, so
/// that mutated models with wider layers still run.
pub const SCRATCH: usize = 256;

/// A blob of format `version` with a valid header (magic, version, length, fingerprint)
/// around `body`: the fuzzer would almost never guess the FNV-1a fingerprint, and would
/// stop there.
pub fn with_body(body: &[u8], version: u16) -> Vec<u8> {
    let mut b = b"AECM".to_vec();
    b.extend(version.to_le_bytes());
    b.extend((body.len() as u32).to_le_bytes());
    b.extend(fingerprint(body).to_le_bytes());
    b.extend(body);
    b
}

/// Little-endian f32s of `data` (any bit pattern: NaN, infinities, subnormals), or a
/// single 0.0 if `data` has fewer than four bytes.
pub fn samples(data: &[u8]) -> Vec<f32> {
    let v: Vec<f32> = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if v.is_empty() {
        vec![0.0]
    } else {
        v
    }
}

/// Drives a loaded model with a window, a sequence number, a label and a payload all
/// taken from `data`. Panics (a finding) if an encoded payload does not have the
/// layout's length or does not decode to its own sequence number and label.
pub fn exercise(model: &Model<'_>, data: &[u8]) {
    // The only error of `Codec::new` is a model wider than SCRATCH.
    let Ok(mut codec) = Codec::<SCRATCH>::new(model) else {
        return;
    };
    let n = model.input_dim();
    let k = model.latent_dim();
    let word = |i: usize| match data.get(i..i + 2) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    };
    let samples = samples(data);
    let window: Vec<f32> = samples.iter().cycle().take(n).copied().collect();
    let count = model.label_count();
    let label = if count > 0 { word(2) % count } else { word(2) };
    let sequence = word(0);
    let layout = *model.payload_layout();

    let p = codec
        .encode(&window, Meta { sequence, label })
        .expect("a window of input_dim samples with a valid label encodes");
    assert_eq!(p.as_bytes().len(), usize::from(layout.bytes));
    let mut out = vec![0.0f32; n];
    if model.is_encoder_only() {
        // A device blob: it encodes, and refuses everything that needs a decoder.
        let e = codec.decode(p.as_bytes(), &mut out).unwrap_err();
        assert_eq!(
            e,
            aecodec_core::Error::EncoderOnly {
                model: model.payload_fingerprint()
            }
        );
        assert!(Batch::<SCRATCH>::new(model).is_err());
        return;
    }
    let info = codec
        .decode(p.as_bytes(), &mut out)
        .expect("an encoded payload decodes");
    let seq_mask = ((1u32 << layout.sequence_bits) - 1) as u16;
    assert_eq!(
        info.sequence,
        (layout.sequence_bits > 0).then_some(sequence & seq_mask)
    );
    assert_eq!(info.label, (count > 0).then_some(label));

    // The input itself, and its prefix of the payload length, as payloads.
    let _ = codec.decode(data, &mut out);
    if let Some(prefix) = data.get(..usize::from(layout.bytes)) {
        let _ = codec.decode(prefix, &mut out);
    }
    let mut z = vec![0.0f32; k];
    codec
        .latent(&window, label, &mut z)
        .expect("latent of a valid window");
    let z: Vec<f32> = samples.iter().cycle().take(k).copied().collect();
    codec
        .reconstruct(&z, label, &mut out)
        .expect("reconstruct of a latent of latent_dim values");

    // A refining encoder's payload decodes like any other.
    let refined = codec
        .encode_refined(&window, Meta { sequence, label }, 1)
        .expect("refinement of a valid window on a full model");
    let info = codec
        .decode(refined.as_bytes(), &mut out)
        .expect("a refined payload decodes");
    assert_eq!(info.label, (count > 0).then_some(label));

    // Receivers: decode_latent then Batch on the payloads that pass (the encoded ones,
    // and the input cut into payload-sized pieces) and their levels restored, bit for
    // bit what `decode` gives.
    let Ok(mut batch) = Batch::<SCRATCH>::new(model) else {
        panic!("a model that decodes makes a Batch of the same scratch");
    };
    let len = usize::from(layout.bytes);
    let mut payloads: Vec<&[u8]> = vec![p.as_bytes(), refined.as_bytes()];
    payloads.extend(data.chunks_exact(len.max(1)).take(6));
    let (mut zs, mut labels, mut expected) = (Vec::new(), Vec::new(), Vec::new());
    let mut accepted = Vec::new();
    let mut zk = vec![0.0f32; k];
    for q in payloads {
        let latent = codec.decode_latent(q, &mut zk);
        let whole = codec.decode(q, &mut out);
        assert_eq!(
            latent, whole,
            "decode_latent and decode agree on what they accept"
        );
        if let Ok(info) = latent {
            accepted.push(q);
            zs.extend_from_slice(&zk);
            labels.push(info.label.unwrap_or(0));
            expected.extend_from_slice(&out);
        }
    }
    let mut got = vec![0.0f32; expected.len()];
    batch
        .reconstruct(&zs, &labels, &mut got)
        .expect("Batch of accepted payloads");
    for (q, w) in accepted.iter().zip(got.chunks_exact_mut(n.max(1))) {
        model
            .restore_levels(q, w)
            .expect("an accepted payload's levels restore");
    }
    let same = got
        .iter()
        .zip(&expected)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same, "Batch differs from decode");
}

// ---------------------------------------------------------------------------------------
// Trained-model files (`.aect`)
// ---------------------------------------------------------------------------------------

/// `AECT`, the version this build reads, then `body`.
pub fn with_aect_header(body: &[u8]) -> Vec<u8> {
    let mut b = aecodec_trainer::store::MAGIC.to_vec();
    b.extend(aecodec_trainer::store::VERSION.to_le_bytes());
    b.extend(body);
    b
}

/// Exports a loaded `.aect` at every precision as `aecodec export` does (checked against
/// f32 on its held-out windows; no tolerance limit) and drives each blob made with
/// `stimulus`. Panics (a finding) if an export that succeeded makes a blob that does not
/// load.
pub fn export_and_exercise(file: &aecodec_trainer::store::TrainedFile, stimulus: &[u8]) {
    let channels = file.model.signal.channels;
    for p in [Precision::F32, Precision::Int8Weights, Precision::Int8Full] {
        let Ok((blob, _)) = aecodec_trainer::export::export_checked(
            &file.model,
            p,
            &file.calibration,
            &file.held_out,
            channels,
            f64::INFINITY,
        ) else {
            continue;
        };
        let model = Model::from_bytes(&blob).expect("an exported blob loads");
        exercise(&model, stimulus);
    }
}

/// Valid trained-model files to start from: a PCA codec and a small MLP autoencoder,
/// 8 samples × 2 channels, with calibration and held-out windows.
pub fn seed_trained_files() -> Vec<Vec<u8>> {
    use aecodec_trainer::linear::{fit_linear, LinearOptions};
    use aecodec_trainer::store::{Layout, TrainedFile};
    use aecodec_trainer::{init_stack, FloatModel, FloatQuantizer, Rng};
    let windows: Vec<(Vec<f32>, u16)> = (0..40)
        .map(|w| {
            let v = (0..16)
                .map(|i| ((w * 16 + i) as f32 * 0.37).sin() * 100.0 + (i % 2) as f32 * 50.0)
                .collect();
            (v, 0)
        })
        .collect();
    let header = PayloadHeader {
        fingerprint_bits: 4,
        sequence_bits: 4,
    };
    let linear = fit_linear(
        &windows,
        &LinearOptions {
            channels: 2,
            bits: vec![6, 5, 4, 3],
            header,
        },
    )
    .expect("PCA of the seed windows");
    let mut rng = Rng::new(7);
    let mlp = FloatModel {
        encoder: init_stack(
            &[16, 12, 4],
            Activation::Tanh,
            Activation::Identity,
            &mut rng,
        ),
        decoder: init_stack(
            &[4, 12, 16],
            Activation::Tanh,
            Activation::Identity,
            &mut rng,
        ),
        quantizer: FloatQuantizer::Uniform {
            bits: vec![5, 5, 4, 4],
            mean: vec![0.0; 4],
            lo: vec![-2.0; 4],
            hi: vec![2.0; 4],
        },
        ..linear.clone()
    };
    [("linear", linear), ("ae", mlp)]
        .into_iter()
        .map(|(variant, model)| {
            let file = TrainedFile {
                model,
                variant: variant.into(),
                reason: "seed".into(),
                layout: Layout {
                    columns: vec!["a".into(), "b".into()],
                    label_column: None,
                    rows: false,
                    window: 8,
                    hop: 8,
                },
                validation_snr_db: 0.0,
                fit_windows: 30,
                refit: false,
                calibration: windows[..30].to_vec(),
                held_out: windows[30..].to_vec(),
            };
            file.validate().expect("seed files are valid");
            file.to_bytes().expect("seed files serialize")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Seed models: one per precision, both quantizers, labels, every activation
// ---------------------------------------------------------------------------------------

fn f32_bytes(v: impl IntoIterator<Item = f32>) -> Vec<u8> {
    v.into_iter().flat_map(f32::to_le_bytes).collect()
}

fn i32_bytes(v: impl IntoIterator<Item = i32>) -> Vec<u8> {
    v.into_iter().flat_map(i32::to_le_bytes).collect()
}

/// A deterministic spread of small values in [-0.5, 0.5].
fn pattern(i: usize) -> f32 {
    ((i * 7 + 3) % 11) as f32 / 10.0 - 0.5
}

/// A layer of `n_in` inputs and `n_out` outputs at `precision`, its weights a fixed
/// pattern.
fn layer(precision: Precision, n_in: u16, n_out: u16, act: Activation) -> DenseBytes {
    let (i, o) = (usize::from(n_in), usize::from(n_out));
    let mut l = DenseBytes {
        in_dim: n_in,
        out_dim: n_out,
        activation: act,
        conv: None,
        weights: Vec::new(),
        bias: Vec::new(),
        scales: Vec::new(),
        shifts: Vec::new(),
        out_zero: 0,
        lut: Vec::new(),
    };
    match precision {
        Precision::F32 => {
            l.weights = f32_bytes((0..i * o).map(pattern));
            l.bias = f32_bytes((0..o).map(|j| pattern(j + 5) / 4.0));
        }
        Precision::Int8Weights => {
            l.weights = (0..i * o)
                .map(|j| (pattern(j) * 200.0) as i8 as u8)
                .collect();
            l.bias = f32_bytes((0..o).map(|j| pattern(j + 5) / 4.0));
            l.scales = f32_bytes((0..o).map(|j| 0.01 + j as f32 / 1000.0));
        }
        Precision::Int8Full => {
            l.weights = (0..i * o)
                .map(|j| (pattern(j) * 200.0) as i8 as u8)
                .collect();
            l.bias = i32_bytes((0..o).map(|j| (pattern(j + 5) * 400.0) as i32));
            // multiplier 2^30 / 2^36 = 1/64
            l.scales = i32_bytes((0..o).map(|_| 1 << 30));
            l.shifts = vec![36; o];
            l.out_zero = -3;
            let f = |x: f32| match act {
                Activation::Tanh => x.tanh(),
                Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
                _ => x,
            };
            if !matches!(act, Activation::Identity | Activation::Relu) {
                l.lut = (0..=255u8)
                    .map(|q| ((127.0 * f(f32::from(q as i8) / 32.0)).round() as i8) as u8)
                    .collect();
            }
        }
    }
    l
}

/// `boundary` with the encoder's input on 12 bits (its first layer then reads the
/// 16-bit input) at a 16th of the scale.
fn wide_input(boundary: IntBoundary) -> IntBoundary {
    IntBoundary {
        in_bits: 12,
        in_scale: boundary.in_scale / 16.0,
        ..boundary
    }
}

fn half(boundary: IntBoundary, layers: &[DenseBytes]) -> HalfSpec<'_> {
    let mut v = heapless::Vec::new();
    for l in layers {
        assert!(v.push(l.spec()).is_ok(), "seed models have few layers");
    }
    HalfSpec {
        boundary,
        layers: v,
    }
}

fn write(spec: &ModelSpec<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let n = write_blob(spec, &mut buf).expect("seed models fit 64 KiB");
    buf.truncate(n);
    Model::from_bytes(&buf[..n]).expect("seed models are valid");
    buf
}

/// The tiny model of core/tests/common: f32, 3 inputs -> 2 latents -> 3 outputs,
/// uniform 4 + 3 bits, 4 fingerprint and 4 sequence bits.
pub fn tiny_blob() -> Vec<u8> {
    let p = Precision::F32;
    let mut enc = layer(p, 3, 2, Activation::Identity);
    enc.weights = f32_bytes([0.5, 0.5, 0.0, 0.0, 0.5, -0.5]);
    enc.bias = f32_bytes([0.0, 0.25]);
    let mut dec = layer(p, 2, 3, Activation::Identity);
    dec.weights = f32_bytes([1.0, 0.0, 1.0, 1.0, 0.0, -1.0]);
    dec.bias = f32_bytes([0.0; 3]);
    let (enc, dec) = ([enc], [dec]);
    let (norm_mean, norm_std) = (f32_bytes([100.0, 0.0, -50.0]), f32_bytes([10.0, 1.0, 5.0]));
    let (mean, lo, hi) = (
        f32_bytes([0.0, 0.25]),
        f32_bytes([-2.0; 2]),
        f32_bytes([2.0; 2]),
    );
    let spec = ModelSpec {
        precision: p,
        input_dim: 3,
        label_count: 0,
        norm_mean: &norm_mean,
        norm_std: &norm_std,
        encoder: half(IntBoundary::UNUSED, &enc),
        decoder: half(IntBoundary::UNUSED, &dec),
        quantizer: LatentQuantizer::Uniform {
            bits: &[4, 3],
            mean: &mean,
            lo: &lo,
            hi: &hi,
        },
        header: PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 4,
        },
        encoder_of: None,
        signal: aecodec_core::Signal::series(1),
        level: None,
    };
    write(&spec)
}

/// Int8 weights, 6 inputs -> 4 (tanh) -> 3 latents (leaky ReLU) -> 6 (sigmoid); a
/// switched quantizer of 16 + 5 + 0 or 0 + 3 + 9 bits (format version 7); a 16-bit
/// sequence counter and no fingerprint bits.
pub fn int8_weights_blob() -> Vec<u8> {
    switched_blob(false)
}

/// [`int8_weights_blob`]'s model on two channels with window levels (format version 9):
/// levels outside [-0.5, 1.5] and [0, 2] moved into [0, 1] and [0.5, 1.5] in 4 and 3
/// bits of steps of 0.25 and 0.5.
pub fn leveled_blob() -> Vec<u8> {
    switched_blob(true)
}

fn switched_blob(levels: bool) -> Vec<u8> {
    let (inner_lo, inner_hi) = (f32_bytes([-0.5, 0.0]), f32_bytes([1.5, 2.0]));
    let (fit_lo, fit_hi) = (f32_bytes([0.0, 0.5]), f32_bytes([1.0, 1.5]));
    let step = f32_bytes([0.25, 0.5]);
    let p = Precision::Int8Weights;
    let enc = [
        layer(p, 6, 4, Activation::Tanh),
        layer(p, 4, 3, Activation::LeakyRelu(0.1)),
    ];
    let dec = [layer(p, 3, 6, Activation::Sigmoid)];
    let (norm_mean, norm_std) = (
        f32_bytes([0.0, 1.0, -1.0, 2.0, 0.5, 0.0]),
        f32_bytes([1.0; 6]),
    );
    let (mean, lo, hi) = (
        f32_bytes([0.0, 0.1, 0.2]),
        f32_bytes([-1.0, -0.5, -1.0]),
        f32_bytes([1.0, 0.5, 1.0]),
    );
    let mut spec = ModelSpec {
        precision: p,
        input_dim: 6,
        label_count: 0,
        norm_mean: &norm_mean,
        norm_std: &norm_std,
        encoder: half(IntBoundary::UNUSED, &enc),
        decoder: half(IntBoundary::UNUSED, &dec),
        quantizer: LatentQuantizer::Switched {
            modes: 2,
            bits: &[16, 5, 0, 0, 3, 9],
            mean: &mean,
            lo: &lo,
            hi: &hi,
        },
        header: PayloadHeader {
            fingerprint_bits: 0,
            sequence_bits: 16,
        },
        encoder_of: None,
        signal: aecodec_core::Signal::series(if levels { 2 } else { 1 }),
        level: None,
    };
    if levels {
        spec.level = Some(LevelSpec {
            inner_lo: &inner_lo,
            inner_hi: &inner_hi,
            fit_lo: &fit_lo,
            fit_hi: &fit_hi,
            bits: &[4, 3],
            step: &step,
            code_bits: &[10, 4, 0, 0, 3, 6],
        });
    }
    write(&spec)
}

/// Full-integer, conditional (3 labels): 4 inputs + label -> 5 (ReLU) -> 2 latents
/// (tanh LUT); latent + label -> 6 -> 4 (sigmoid LUT). Table quantizer of 3 + 2 bits;
/// 8 fingerprint and 6 sequence bits.
pub fn conditional_int8_blob() -> Vec<u8> {
    let p = Precision::Int8Full;
    let enc = [
        layer(p, 7, 5, Activation::Relu),
        layer(p, 5, 2, Activation::Tanh),
    ];
    let dec = [
        layer(p, 5, 6, Activation::Identity),
        layer(p, 6, 4, Activation::Sigmoid),
    ];
    let boundary = IntBoundary {
        in_scale: 0.05,
        in_zero: 0,
        in_bits: 8,
        out_scale: 1.0 / 64.0,
        out_zero: 0,
    };
    let (norm_mean, norm_std) = (f32_bytes([0.0; 4]), f32_bytes([2.0, 1.0, 0.5, 1.0]));
    // per dimension: 2^b - 1 ascending edges, then 2^b centroids
    let mut tables = Vec::new();
    for b in [3u32, 2] {
        let cells = 1usize << b;
        let edges = (1..cells).map(|i| -1.0 + 2.0 * i as f32 / cells as f32);
        let centres = (0..cells).map(|i| -1.0 + (2.0 * i as f32 + 1.0) / cells as f32);
        tables.extend(f32_bytes(edges.chain(centres)));
    }
    let mean = f32_bytes([0.0; 2]);
    let spec = ModelSpec {
        precision: p,
        input_dim: 4,
        label_count: 3,
        norm_mean: &norm_mean,
        norm_std: &norm_std,
        encoder: half(wide_input(boundary), &enc),
        decoder: half(boundary, &dec),
        quantizer: LatentQuantizer::Table {
            bits: &[3, 2],
            mean: &mean,
            tables: &tables,
        },
        header: PayloadHeader {
            fingerprint_bits: 8,
            sequence_bits: 6,
        },
        encoder_of: None,
        signal: aecodec_core::Signal::series(1),
        level: None,
    };
    write(&spec)
}

/// Full-integer with convolutions: 10 samples × 2 channels -> a 1-D convolution (kernel
/// 4, stride 2: 4 positions × 3 filters, ReLU) -> 2 latents; 2 -> 12 (ReLU) -> the
/// transposed convolution back to 20 values. Uniform 5 + 4 bits.
pub fn conv_int8_blob() -> Vec<u8> {
    let p = Precision::Int8Full;
    let shape = |transposed| Conv {
        transposed,
        samples: 10,
        channels: 2,
        kernel: 4,
        stride: 2,
    };
    let mut first = layer(p, 8, 3, Activation::Relu);
    first.conv = Some(shape(false));
    let enc = [first, layer(p, 12, 2, Activation::Identity)];
    let mut last = layer(p, 3, 8, Activation::Identity);
    last.conv = Some(shape(true));
    let dec = [layer(p, 2, 12, Activation::Relu), last];
    let boundary = IntBoundary {
        in_scale: 0.05,
        in_zero: 0,
        in_bits: 8,
        out_scale: 1.0 / 32.0,
        out_zero: 0,
    };
    let (norm_mean, norm_std) = (f32_bytes([0.0; 20]), f32_bytes([1.0; 20]));
    let (mean, lo, hi) = (
        f32_bytes([0.0; 2]),
        f32_bytes([-2.0; 2]),
        f32_bytes([2.0; 2]),
    );
    let spec = ModelSpec {
        precision: p,
        input_dim: 20,
        label_count: 0,
        norm_mean: &norm_mean,
        norm_std: &norm_std,
        encoder: half(wide_input(boundary), &enc),
        decoder: half(boundary, &dec),
        quantizer: LatentQuantizer::Uniform {
            bits: &[5, 4],
            mean: &mean,
            lo: &lo,
            hi: &hi,
        },
        header: PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 4,
        },
        encoder_of: None,
        signal: aecodec_core::Signal::series(2),
        level: None,
    };
    write(&spec)
}

/// The seed models, loaded once per process (their blobs leaked: they live as long as it).
pub fn seed_models() -> &'static [Model<'static>] {
    static MODELS: std::sync::OnceLock<Vec<Model<'static>>> = std::sync::OnceLock::new();
    MODELS.get_or_init(|| {
        seed_blobs()
            .into_iter()
            .map(|b| Model::from_bytes(Vec::leak(b)).expect("seed models are valid"))
            .collect()
    })
}

/// Every seed model's blob.
pub fn seed_blobs() -> [Vec<u8>; 5] {
    [
        tiny_blob(),
        int8_weights_blob(),
        leveled_blob(),
        conditional_int8_blob(),
        conv_int8_blob(),
    ]
}
