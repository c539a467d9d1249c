//! An f32 model → f32, int8-weight and full-int8 blobs → encode → payload → frame →
//! byte stream → streaming deframe → decode, on the bundled real recording.

use aecodec_core::{encode_frame, FrameDecoder, Meta, Model, Precision};
use aecodec_tests::{daphnet_windows, host_batch, host_codec, mlp_model};
use aecodec_trainer::data::Window;
use aecodec_trainer::linear::{channel_normalization, fit_linear, LinearOptions};
use aecodec_trainer::{export_blob, measure_precision, FloatModel, FloatQuantizer};

const PRECISIONS: [Precision; 3] = [Precision::F32, Precision::Int8Weights, Precision::Int8Full];

struct Run {
    rmse_vs_input: f64,
    rmse_vs_f32: f64,
    agreement: f64,
}

/// Streams every test window through the whole pipeline; returns the decoded windows.
fn stream(blob: &[u8], windows: &[Window]) -> Vec<Vec<f32>> {
    let model = Model::from_bytes(blob).unwrap();
    let mut codec = host_codec(&model).unwrap();
    let mut wire = Vec::new();
    for (i, (w, label)) in windows.iter().enumerate() {
        let p = codec
            .encode(
                w,
                Meta {
                    sequence: i as u16,
                    label: *label,
                },
            )
            .unwrap();
        assert_eq!(
            p.as_bytes().len(),
            usize::from(model.payload_layout().bytes)
        );
        let mut frame = [0u8; 96];
        let n = encode_frame(p.as_bytes(), &mut frame).unwrap();
        wire.extend_from_slice(&frame[..n]);
    }
    let mut rx = FrameDecoder::<96>::new();
    let mut rx_codec = host_codec(&model).unwrap();
    let mut out = Vec::new();
    for &b in &wire {
        if let Some(frame) = rx.push(b) {
            let payload = frame.unwrap();
            let mut w = vec![0.0f32; model.input_dim()];
            let info = rx_codec.decode(payload, &mut w).unwrap();
            let i = out.len();
            assert_eq!(info.sequence, Some((i % 16) as u16));
            assert_eq!(
                info.label,
                (model.label_count() > 0).then_some(windows[i].1)
            );
            out.push(w);
        }
    }
    assert_eq!(out.len(), windows.len(), "every frame decodes");
    out
}

fn rmse(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for (x, y) in a.iter().zip(b) {
        for (&u, &v) in x.iter().zip(y) {
            s += (f64::from(u) - f64::from(v)).powi(2);
            n += 1;
        }
    }
    (s / n as f64).sqrt()
}

/// Runs all precisions of `model`; prints one table row per precision.
fn run_all(name: &str, model: &FloatModel, train: &[Window], test: &[Window]) -> Vec<Run> {
    let originals: Vec<Vec<f32>> = test.iter().map(|(w, _)| w.clone()).collect();
    let f32_blob = export_blob(model, Precision::F32, train).unwrap();
    let f32_out = stream(&f32_blob, test);
    let mut runs = Vec::new();
    for p in PRECISIONS {
        let blob = export_blob(model, p, train).unwrap();
        let out = stream(&blob, test);
        let report = measure_precision(model, &blob, &f32_blob, test).unwrap();
        let run = Run {
            rmse_vs_input: rmse(&out, &originals),
            rmse_vs_f32: rmse(&out, &f32_out),
            agreement: report.payload_agreement,
        };
        // the library's own measurement agrees with the streamed one
        assert!(
            (report.rmse_vs_input - run.rmse_vs_input).abs() < 1e-6 * run.rmse_vs_input.max(1.0)
        );
        println!(
            "{name:<28} {:<12} blob {:>6} B  RMSE vs input {:>8.2} mg  vs f32 {:>7.3} mg  latent err {:>8.5}  same payload {:>5.1}%",
            format!("{p:?}"),
            blob.len(),
            run.rmse_vs_input,
            run.rmse_vs_f32,
            report.latent_rmse,
            100.0 * run.agreement
        );
        runs.push(run);
    }
    runs
}

#[test]
fn every_precision_round_trips_through_frames_on_real_data() {
    let (train, test) = daphnet_windows();
    // RMS of the test windows around each channel's mean: the error of sending nothing.
    let signal_std = aecodec_trainer::export::signal_rms(&test, 3);
    println!(
        "test windows: {}, RMS around channel means {signal_std:.1} mg",
        test.len()
    );

    // PCA/KLT, 16 latents at 4 bits: a trained linear codec.
    let pca = fit_linear(
        &train,
        &LinearOptions {
            channels: 3,
            bits: vec![4; 16],
            header: aecodec_core::PayloadHeader {
                fingerprint_bits: 4,
                sequence_bits: 4,
            },
        },
    )
    .unwrap();
    let runs = run_all("pca 192-16 (4 bit)", &pca, &train, &test);
    // 16 of 192 dimensions on this gait recording: PCA keeps much, not all (numpy's PCA
    // on the same split gives 501 mg unquantized).
    assert!(
        runs[0].rmse_vs_input < 0.85 * signal_std,
        "PCA must reconstruct: {}",
        runs[0].rmse_vs_input
    );
    assert_eq!(runs[0].agreement, 1.0);
    assert!(runs[1].rmse_vs_f32 < 0.05 * signal_std);
    assert!(runs[2].rmse_vs_f32 < 0.15 * signal_std);

    // A 192→128→64→16 tanh MLP (initialized, untrained) with 4-bit codes: exercises
    // hidden layers and the LUT activations of the full-integer path.
    let norm = channel_normalization(&train, 3).unwrap();
    let mut mlp = mlp_model(
        &[192, 128, 64, 16],
        0,
        FloatQuantizer::Uniform {
            bits: vec![4; 16],
            mean: vec![0.0; 16],
            lo: vec![-1.0; 16],
            hi: vec![1.0; 16],
        },
        norm.clone(),
        1,
    );
    aecodec_trainer::linear::calibrate_uniform(&mut mlp, &train);
    let runs = run_all("mlp 192-128-64-16 (4 bit)", &mlp, &train, &test);
    assert!(runs[1].rmse_vs_f32 < 0.05 * signal_std);
    assert!(runs[2].rmse_vs_f32 < 0.25 * signal_std);

    // Conditional model with a Gaussian (table) quantizer: labels ride in the payload.
    let labelled: Vec<Window> = train
        .iter()
        .enumerate()
        .map(|(i, (w, _))| (w.clone(), (i % 3) as u16))
        .collect();
    let labelled_test: Vec<Window> = test
        .iter()
        .enumerate()
        .map(|(i, (w, _))| (w.clone(), (i % 3) as u16))
        .collect();
    let cvae = mlp_model(
        &[192, 64, 8],
        3,
        FloatQuantizer::Gaussian {
            bits: vec![3; 8],
            mean: vec![0.0; 8],
            std: vec![1.0; 8],
        },
        norm,
        2,
    );
    let runs = run_all(
        "cvae-like 192-64-8 (3 bit)",
        &cvae,
        &labelled,
        &labelled_test,
    );
    assert!(runs.iter().all(|r| r.rmse_vs_input.is_finite()));
}

/// `aecodec_core::Batch` gives the bits of `Codec::reconstruct` on every vector, for
/// every precision, with and without labels, for counts around the lane width; and
/// refuses bad lengths and labels before writing anything.
#[test]
fn core_batch_decodes_like_one_vector_at_a_time() {
    use aecodec_core::{Error, BATCH_LANES};
    let (train, test) = daphnet_windows();
    let norm = channel_normalization(&train, 3).unwrap();
    for labels in [0u16, 3] {
        let q = FloatQuantizer::Uniform {
            bits: vec![4; 16],
            mean: vec![0.0; 16],
            lo: vec![-1.0; 16],
            hi: vec![1.0; 16],
        };
        let mut model = mlp_model(&[192, 128, 64, 16], labels, q, norm.clone(), 9);
        let labelled: Vec<Window> = train
            .iter()
            .enumerate()
            .map(|(i, (w, _))| (w.clone(), (i % 3) as u16))
            .collect();
        aecodec_trainer::linear::calibrate_uniform(&mut model, &labelled);
        for p in PRECISIONS {
            let blob = export_blob(&model, p, &labelled).unwrap();
            let m = Model::from_bytes(&blob).unwrap();
            let mut codec = host_codec(&m).unwrap();
            let mut batch = host_batch(&m).unwrap();
            // Latents of real windows, and a few far outside the calibrated range.
            let mut zs = Vec::new();
            for (i, (w, _)) in test.iter().enumerate() {
                let mut z = vec![0.0f32; 16];
                codec
                    .latent(w, (i % 3) as u16 % labels.max(1), &mut z)
                    .unwrap();
                zs.extend(z);
            }
            zs.extend((0..3 * 16).map(|i| (i as f32 - 24.0) * 1e3));
            let total = zs.len() / 16;
            for count in (0..=2 * BATCH_LANES + 1).chain([total]) {
                let tags: Vec<u16> = (0..count).map(|i| (i % 3) as u16).collect();
                let tags = if labels > 0 { &tags[..] } else { &[][..] };
                let mut want = vec![0.0f32; count * 192];
                for (i, (z, out)) in zs
                    .chunks_exact(16)
                    .zip(want.chunks_exact_mut(192))
                    .enumerate()
                {
                    let label = tags.get(i).copied().unwrap_or(0);
                    codec.reconstruct(z, label, out).unwrap();
                }
                let mut got = vec![f32::NAN; count * 192];
                batch
                    .reconstruct(&zs[..16 * count], tags, &mut got)
                    .unwrap();
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{p:?}, {labels} labels, {count} vectors: batch differs"
                );
            }
            let mut out = vec![7.0f32; 2 * 192];
            assert!(matches!(
                batch.reconstruct(&zs[..31], &[], &mut out),
                Err(Error::InputLength { .. })
            ));
            if labels > 0 {
                assert!(matches!(
                    batch.reconstruct(&zs[..32], &[0, 3], &mut out),
                    Err(Error::BadLabel { label: 3, count: 3 })
                ));
            }
            assert!(out.iter().all(|&v| v == 7.0), "nothing written on refusal");
        }
    }
}

/// A trained convolutional autoencoder (the demo's front end: 64 filters over 8 samples
/// every 4, transposed at the decoder's end) through every precision and the serial
/// stream; the full-int8 `Batch` gives the same bits as one vector at a time.
#[test]
fn convolutional_model_round_trips_at_every_precision() {
    use aecodec_trainer::learned::train::{train, TrainConfig, DEFAULT_CONV};
    let (train_w, test) = daphnet_windows();
    let signal_std = aecodec_trainer::export::signal_rms(&test, 3);
    let cfg = TrainConfig {
        conv: Some(DEFAULT_CONV),
        steps: 300,
        payload_bytes: 12,
        ..TrainConfig::default()
    };
    let t = train(&cfg, &train_w, &[], 3, 0, &mut |_| {}).unwrap();
    let enc = &t.model.encoder[0];
    assert_eq!(
        enc.conv.map(|c| (c.positions(), c.transposed)),
        Some((15, false))
    );
    let runs = run_all("conv 8x4x64-128-22 (12 B)", &t.model, &train_w, &test);
    assert!(
        runs[0].rmse_vs_input < 0.8 * signal_std,
        "a trained convolutional codec must reconstruct: {}",
        runs[0].rmse_vs_input
    );
    assert!(runs[1].rmse_vs_f32 < 0.05 * signal_std);
    assert!(runs[2].rmse_vs_f32 < 0.15 * signal_std);

    // Encoder-only device blobs (what a device flashes): the same payload bytes as the
    // full blob, which decodes them; they refuse to decode themselves.
    for p in PRECISIONS {
        let full = export_blob(&t.model, p, &train_w).unwrap();
        let device = aecodec_trainer::encoder_only_blob(&full).unwrap();
        assert!(
            device.len() * 3 < full.len(),
            "{p:?}: the decoder is most of the blob"
        );
        let (fm, dm) = (
            Model::from_bytes(&full).unwrap(),
            Model::from_bytes(&device).unwrap(),
        );
        let mut fc = host_codec(&fm).unwrap();
        let mut dc = host_codec(&dm).unwrap();
        let mut out = vec![0.0f32; 192];
        for (i, (w, _)) in test.iter().enumerate() {
            let meta = Meta {
                sequence: i as u16,
                label: 0,
            };
            let from_device = dc.encode(w, meta).unwrap();
            assert_eq!(
                from_device.as_bytes(),
                fc.encode(w, meta).unwrap().as_bytes()
            );
            assert!(fc.decode(from_device.as_bytes(), &mut out).is_ok());
            assert!(matches!(
                dc.decode(from_device.as_bytes(), &mut out),
                Err(aecodec_core::Error::EncoderOnly { .. })
            ));
        }
    }

    // A full-int8 device whose payloads the f32 blob decodes (`export --encoder-only
    // --receiver f32`): the device's codes are nearly the f32 encoder's (its latent leaves
    // the integer domain at full precision), and the f32 decoder is not capped at int8.
    let f32_blob = export_blob(&t.model, Precision::F32, &train_w).unwrap();
    let int8_blob = export_blob(&t.model, Precision::Int8Full, &train_w).unwrap();
    let device = aecodec_trainer::device_blob(&int8_blob, &f32_blob).unwrap();
    let rmse = |d: &[Vec<f32>]| {
        let sq: f64 = test
            .iter()
            .zip(d)
            .flat_map(|((w, _), d)| w.iter().zip(d).map(|(&a, &b)| f64::from(a - b).powi(2)))
            .sum();
        (sq / (test.len() * 192) as f64).sqrt()
    };
    let plain_f32 = rmse(&aecodec_trainer::round_trip(&f32_blob, &test, 0).unwrap());
    let plain_int8 = rmse(&aecodec_trainer::round_trip(&int8_blob, &test, 0).unwrap());
    let split = rmse(&aecodec_trainer::send_receive(&device, &f32_blob, &test, 0).unwrap());
    assert!(
        split <= plain_f32 * 1.02 && split < plain_int8,
        "int8 device, f32 receiver: RMSE {split} (f32 {plain_f32}, int8 {plain_int8})"
    );
    // Its payloads are foreign to the full-int8 blob (another fingerprint), unless the
    // two fingerprints share the header's tag.
    let (im, dm) = (
        Model::from_bytes(&int8_blob).unwrap(),
        Model::from_bytes(&device).unwrap(),
    );
    let tag = |m: &Model<'_>| aecodec_core::model_tag(m.fingerprint(), cfg.header.fingerprint_bits);
    let fm = Model::from_bytes(&f32_blob).unwrap();
    if tag(&im) != tag(&fm) {
        let mut ic = host_codec(&im).unwrap();
        let mut dc = host_codec(&dm).unwrap();
        let p = dc.encode(&test[0].0, Meta::default()).unwrap();
        let mut out = vec![0.0f32; 192];
        assert!(ic.decode(p.as_bytes(), &mut out).is_err());
    }
    // Blobs of two different models do not make a device blob.
    let mut other = t.model.clone();
    if let aecodec_trainer::FloatQuantizer::Uniform { hi, .. } = &mut other.quantizer {
        hi[0] += 1.0;
    }
    let other_blob = export_blob(&other, Precision::F32, &train_w).unwrap();
    let e = aecodec_trainer::device_blob(&int8_blob, &other_blob).unwrap_err();
    assert!(e.to_string().contains("latent quantizer"), "{e}");
    assert!(aecodec_trainer::device_blob(&device, &f32_blob).is_err());

    // The refining encoder (analysis by synthesis) at every precision: never a worse
    // window than the plain encoder's, better overall, and its payloads are ordinary ones.
    for p in PRECISIONS {
        let full = export_blob(&t.model, p, &train_w).unwrap();
        let sq = |d: &[Vec<f32>]| -> Vec<f64> {
            test.iter()
                .zip(d)
                .map(|((w, _), d)| {
                    w.iter()
                        .zip(d)
                        .map(|(&a, &b)| f64::from(a - b).powi(2))
                        .sum()
                })
                .collect()
        };
        let plain = sq(&aecodec_trainer::round_trip(&full, &test, 0).unwrap());
        let refined = sq(&aecodec_trainer::round_trip(&full, &test, 2).unwrap());
        for (i, (r, q)) in refined.iter().zip(&plain).enumerate() {
            // the core sums in f32: allow its rounding
            assert!(*r <= q * (1.0 + 1e-4), "{p:?} window {i}: {r} > {q}");
        }
        let (r, q): (f64, f64) = (refined.iter().sum(), plain.iter().sum());
        assert!(
            r < 0.9 * q,
            "{p:?}: refining must pay on a trained codec: {r} vs {q}"
        );
    }

    let blob = export_blob(&t.model, Precision::Int8Full, &train_w).unwrap();
    let m = Model::from_bytes(&blob).unwrap();
    let mut codec = host_codec(&m).unwrap();
    let mut batch = host_batch(&m).unwrap();
    let k = m.latent_dim();
    let mut zs = Vec::new();
    for (w, _) in &test {
        let mut z = vec![0.0f32; k];
        codec.latent(w, 0, &mut z).unwrap();
        zs.extend(z);
    }
    let mut want = vec![0.0f32; test.len() * 192];
    for (z, out) in zs.chunks_exact(k).zip(want.chunks_exact_mut(192)) {
        codec.reconstruct(z, 0, out).unwrap();
    }
    let mut got = vec![f32::NAN; want.len()];
    batch.reconstruct(&zs, &[], &mut got).unwrap();
    assert!(got
        .iter()
        .zip(&want)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

/// Every x86-64 kernel level (AVX-512, AVX2, portable; `aecodec_core::set_kernel_limit`)
/// gives the same bits on real data through full-int8 models: a labelled tanh MLP (table
/// activations, a decoder input of 16 + 3 values, so inputs that are not a multiple of 4),
/// one whose widths are not multiples of 4 (192 → 126 → 61 → 15: rows past the 4-row
/// blocks, partial groups of blocks) and a ReLU one as the benchmark's: payloads of the
/// plain and the refining encoder,
/// decoded windows, `Batch`. On a CPU without AVX-512 the first two levels are the same
/// path; on other architectures there is only one.
#[cfg(target_arch = "x86_64")]
#[test]
fn every_x86_kernel_level_gives_the_same_bits() {
    use aecodec_core::{set_kernel_limit, Activation, KernelLimit};
    use aecodec_trainer::learned::train::to_float_model;
    use aecodec_trainer::learned::variants::{Net, Variant};
    /// Puts the limit back however the test ends (other tests share the process; they
    /// get the same bits at any level, only other kernels while this test runs).
    struct Reset(KernelLimit);
    impl Drop for Reset {
        fn drop(&mut self) {
            set_kernel_limit(self.0);
        }
    }
    let _reset = Reset(set_kernel_limit(KernelLimit::Avx512));
    let (train, test) = daphnet_windows();
    let norm = channel_normalization(&train, 3).unwrap();
    let q = |k: usize| FloatQuantizer::Uniform {
        bits: vec![4; k],
        mean: vec![0.0; k],
        lo: vec![-1.0; k],
        hi: vec![1.0; k],
    };
    let labelled: Vec<Window> = train
        .iter()
        .enumerate()
        .map(|(i, (w, _))| (w.clone(), (i % 3) as u16))
        .collect();
    let mut tanh = mlp_model(&[192, 128, 64, 16], 3, q(16), norm.clone(), 5);
    aecodec_trainer::linear::calibrate_uniform(&mut tanh, &labelled);
    // Widths that are not multiples of 4: rows past the 4-row blocks, partial groups.
    let mut odd = mlp_model(&[192, 126, 61, 15], 0, q(15), norm.clone(), 6);
    aecodec_trainer::linear::calibrate_uniform(&mut odd, &train);
    let net = Net::new(
        Variant::Ae,
        192,
        0,
        &[128, 64],
        16,
        Activation::Relu,
        &mut aecodec_trainer::Rng::new(1),
    );
    let mut relu = to_float_model(&net, 3, norm, q(16), tanh.header);
    aecodec_trainer::linear::calibrate_uniform(&mut relu, &train);
    let models = [
        ("tanh", &tanh, &labelled),
        ("odd widths", &odd, &train),
        ("relu", &relu, &train),
    ];
    for (name, model, data) in models {
        let blob = export_blob(model, Precision::Int8Full, data).unwrap();
        let m = Model::from_bytes(&blob).unwrap();
        let k = m.latent_dim();
        let run = |limit: KernelLimit| {
            set_kernel_limit(limit);
            let mut codec = host_codec(&m).unwrap();
            let mut bytes = Vec::new();
            let mut zs = Vec::new();
            let mut labels = Vec::new();
            let mut windows = Vec::new();
            for (i, (w, _)) in test.iter().enumerate() {
                let label = if m.label_count() > 0 {
                    (i % 3) as u16
                } else {
                    0
                };
                let meta = Meta {
                    sequence: i as u16,
                    label,
                };
                let plain = codec.encode(w, meta).unwrap();
                let refined = codec.encode_refined(w, meta, 2).unwrap();
                bytes.extend_from_slice(plain.as_bytes());
                bytes.extend_from_slice(refined.as_bytes());
                let mut out = vec![0.0f32; 192];
                codec.decode(refined.as_bytes(), &mut out).unwrap();
                windows.extend(out.iter().map(|v| v.to_bits()));
                let mut z = vec![0.0f32; k];
                codec.latent(w, label, &mut z).unwrap();
                zs.extend(z);
                labels.push(label);
            }
            let labels = if m.label_count() > 0 {
                &labels[..]
            } else {
                &[][..]
            };
            let mut batch = host_batch(&m).unwrap();
            let mut outs = vec![0.0f32; test.len() * 192];
            batch.reconstruct(&zs, labels, &mut outs).unwrap();
            windows.extend(outs.iter().map(|v| v.to_bits()));
            (bytes, windows)
        };
        let widest = run(KernelLimit::Avx512);
        for limit in [KernelLimit::Avx2, KernelLimit::Portable] {
            let got = run(limit);
            assert!(got.0 == widest.0, "{name}: payloads differ at {limit:?}");
            assert!(
                got.1 == widest.1,
                "{name}: decoded windows differ at {limit:?}"
            );
        }
    }
}
