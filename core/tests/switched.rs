//! The switched quantizer: the encoder's choice of mode, the mode field of the payload,
//! its checks, and the format version such a blob carries.
#![cfg(feature = "switched")]

mod common;

use aecodec_core::{
    write_blob, Codec, Error, HalfSpec, IntBoundary, LatentQuantizer, Meta, Model, ModelSpec,
    PayloadHeader, PayloadRepr, PayloadView, Precision, Widths, FORMAT_VERSION, MIN_FORMAT_VERSION,
    SWITCHED_FORMAT_VERSION,
};
use common::{blob, f32_identity, f32s};

/// A two-input linear codec with two orthonormal bases: mode 0 codes the window on the
/// axes (latents 0, 1), mode 1 on the axes turned by 45° (latents 2, 3).
struct TwoBases {
    norm_mean: Vec<u8>,
    norm_std: Vec<u8>,
    enc_w: Vec<u8>,
    enc_b: Vec<u8>,
    dec_w: Vec<u8>,
    dec_b: Vec<u8>,
    bits: Vec<u8>,
    mean: Vec<u8>,
    lo: Vec<u8>,
    hi: Vec<u8>,
    modes: u8,
}

const H: f32 = core::f32::consts::FRAC_1_SQRT_2;

impl TwoBases {
    /// Mode 0: 6 bits on latent 0, 1 on latent 1; mode 1: `b2` on latent 2, 1 on latent 3.
    fn new(b2: u8) -> Self {
        TwoBases {
            norm_mean: f32s(&[0.0, 0.0]),
            norm_std: f32s(&[1.0, 1.0]),
            enc_w: f32s(&[1.0, 0.0, 0.0, 1.0, H, H, H, -H]),
            enc_b: f32s(&[0.0; 4]),
            // the transpose: output i = Σ_k enc_w[k][i] · z_k
            dec_w: f32s(&[1.0, 0.0, H, H, 0.0, 1.0, H, -H]),
            dec_b: f32s(&[0.0, 0.0]),
            bits: vec![6, 1, 0, 0, 0, 0, b2, 1],
            mean: f32s(&[0.0; 4]),
            lo: f32s(&[-2.0; 4]),
            hi: f32s(&[2.0; 4]),
            modes: 2,
        }
    }

    fn spec(&self) -> ModelSpec<'_> {
        let mut enc = heapless::Vec::new();
        enc.push(f32_identity(2, 4, &self.enc_w[..], &self.enc_b[..]))
            .unwrap();
        let mut dec = heapless::Vec::new();
        dec.push(f32_identity(4, 2, &self.dec_w[..], &self.dec_b[..]))
            .unwrap();
        ModelSpec {
            precision: Precision::F32,
            input_dim: 2,
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
            quantizer: LatentQuantizer::Switched {
                modes: self.modes,
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
            signal: aecodec_core::Signal::series(2),
            level: None,
        }
    }
}

fn error(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[test]
fn the_encoder_codes_each_window_on_its_better_basis() {
    let m = TwoBases::new(6);
    let bytes = blob(&m.spec());
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.version(), SWITCHED_FORMAT_VERSION);
    assert_eq!(model.latent_dim(), 4);
    let layout = *model.payload_layout();
    assert_eq!(
        (layout.modes, layout.mode_bits, layout.code_bits),
        (2, 1, 7)
    );
    assert_eq!(
        layout.bytes, 2,
        "4 + 4 header bits, 1 mode bit, 7 code bits"
    );
    let mut codec = Codec::<16>::new(&model).unwrap();
    // Along the axes, the first mode's one-bit latent is right; along the diagonal, the
    // second's.
    for (window, mode) in [([1.0f32, 0.9], 0u8), ([0.7, -0.7], 1), ([-1.2, -0.95], 0)] {
        let p = codec.encode(&window, Meta::default()).unwrap();
        let mut out = [0.0f32; 2];
        let info = codec.decode(p.as_bytes(), &mut out).unwrap();
        assert_eq!(info.mode, mode, "{window:?}");
        assert_eq!(
            PayloadView::new_checked(p.as_bytes(), layout)
                .unwrap()
                .mode(),
            mode
        );
        assert!(error(&window, &out) < 0.02, "{window:?} -> {out:?}");
    }
}

/// Codes of `z` in `mode` of `m`, as the core's uniform cells make them.
fn codes_in(m: &TwoBases, mode: usize, z: &[f32; 4]) -> [u16; 4] {
    let mut codes = [0u16; 4];
    for (d, c) in codes.iter_mut().enumerate() {
        let b = m.bits[mode * 4 + d];
        if b > 0 {
            let levels = (1u32 << b) as f32;
            *c = ((z[d] + 2.0) / 4.0 * levels).clamp(0.0, levels - 1.0) as u16;
        }
    }
    codes
}

#[test]
fn the_chosen_mode_is_never_worse_than_the_other() {
    // For orthonormal bases about one centre, the nearest decoded latent is the lowest
    // reconstruction error: decode every window in both modes and compare.
    let m = TwoBases::new(5);
    let bytes = blob(&m.spec());
    let model = Model::from_bytes(&bytes).unwrap();
    let layout = *model.payload_layout();
    let mut codec = Codec::<16>::new(&model).unwrap();
    let tag = layout.fingerprint_tag(model.fingerprint());
    let mut on_mode = [0usize; 2];
    for i in 0..400 {
        let t = i as f32 * 0.37;
        let r = 1.5 * ((i * 7919 % 400) as f32 / 400.0);
        let window = [r * t.cos(), r * t.sin()];
        let z = [
            window[0],
            window[1],
            H * (window[0] + window[1]),
            H * (window[0] - window[1]),
        ];
        let mut errors = [0.0f32; 2];
        for (mode, e) in errors.iter_mut().enumerate() {
            let codes = codes_in(&m, mode, &z);
            let repr = PayloadRepr {
                tag,
                sequence: 0,
                label: 0,
                mode: mode as u8,
                levels: None,
                codes: &codes,
            };
            let mut buf = [0u8; 8];
            let n = repr.emit(&layout, Widths::plain(&m.bits), &mut buf);
            let mut out = [0.0f32; 2];
            codec.decode(&buf[..n], &mut out).unwrap();
            *e = error(&window, &out);
        }
        let p = codec.encode(&window, Meta::default()).unwrap();
        let mut out = [0.0f32; 2];
        let mode = usize::from(codec.decode(p.as_bytes(), &mut out).unwrap().mode);
        on_mode[mode] += 1;
        assert!(
            error(&window, &out) <= errors[0].min(errors[1]) + 1e-5,
            "window {i} {window:?}: mode {mode}, errors {errors:?}"
        );
    }
    assert!(on_mode[0] > 50 && on_mode[1] > 50, "{on_mode:?}");
}

#[test]
fn a_payload_with_a_bad_mode_or_padding_is_refused() {
    // Mode 1 has 6 code bits, mode 0 seven: a mode-1 payload ends in a padding bit where
    // a mode-0 payload has a code bit.
    let m = TwoBases::new(5);
    let bytes = blob(&m.spec());
    let model = Model::from_bytes(&bytes).unwrap();
    let mut codec = Codec::<16>::new(&model).unwrap();
    let p = codec.encode(&[0.7, -0.7], Meta::default()).unwrap();
    let mut good = p.as_bytes().to_vec();
    let mut out = [0.0f32; 2];
    assert_eq!(codec.decode(&good, &mut out).unwrap().mode, 1);
    good[1] |= 1; // the padding bit
    assert_eq!(codec.decode(&good, &mut out), Err(Error::NonZeroPadding));

    // Three modes take a two-bit field, whose fourth value names no mode.
    let mut three = TwoBases::new(5);
    three.modes = 3;
    three.bits = vec![6, 1, 0, 0, 0, 0, 5, 1, 7, 0, 0, 0];
    let bytes = blob(&three.spec());
    let model = Model::from_bytes(&bytes).unwrap();
    let layout = *model.payload_layout();
    assert_eq!((layout.mode_bits, layout.code_bits), (2, 7));
    let mut codec = Codec::<16>::new(&model).unwrap();
    let p = codec.encode(&[0.7, -0.7], Meta::default()).unwrap();
    let mut bad = p.as_bytes().to_vec();
    bad[1] |= 0b1100_0000; // header is 8 bits: the mode field opens byte 1
    assert_eq!(
        codec.decode(&bad, &mut out),
        Err(Error::BadMode { mode: 3, count: 3 })
    );
    assert!(Error::BadMode { mode: 3, count: 3 }
        .to_string()
        .contains("mode 3 is not one of the model's 3 modes"));
}

#[test]
fn switched_blobs_are_version_7_and_others_stay_version_6() {
    let m = TwoBases::new(6);
    let switched = blob(&m.spec());
    assert_eq!(u16::from_le_bytes([switched[4], switched[5]]), 7);
    let tiny = common::Tiny::new();
    let plain = blob(&tiny.spec());
    assert_eq!(u16::from_le_bytes([plain[4], plain[5]]), MIN_FORMAT_VERSION);
    assert_eq!(Model::from_bytes(&plain).unwrap().version(), 6);

    // A switched body under a version-6 header (its fingerprint covers only the body).
    let mut relabelled = switched.clone();
    relabelled[4..6].copy_from_slice(&6u16.to_le_bytes());
    assert!(matches!(
        Model::from_bytes(&relabelled),
        Err(Error::BadParameter {
            field: "quantizer",
            ..
        })
    ));
    let mut newer = plain.clone();
    newer[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        Model::from_bytes(&newer).err(),
        Some(Error::UnsupportedVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        })
    );
    let mut older = plain;
    older[4..6].copy_from_slice(&5u16.to_le_bytes());
    assert_eq!(
        Model::from_bytes(&older).err(),
        Some(Error::UnsupportedVersion {
            found: 5,
            supported: MIN_FORMAT_VERSION
        })
    );
}

#[test]
fn malformed_switched_quantizers_are_refused_at_load() {
    let check = |modes: u8, bits: Vec<u8>, field: &str| {
        let mut m = TwoBases::new(6);
        m.modes = modes;
        m.bits = bits;
        let mut buf = vec![0u8; 4096];
        let n = write_blob(&m.spec(), &mut buf).unwrap();
        match Model::from_bytes(&buf[..n]) {
            Err(Error::BadParameter { field: f, .. }) => assert_eq!(f, field, "{modes}"),
            other => panic!("{modes} modes: {other:?}"),
        };
    };
    check(1, vec![6, 1, 0, 0], "quantizer.modes");
    check(17, vec![0; 17 * 4], "quantizer.modes");
    check(2, vec![6, 1, 0, 0, 0, 0, 6], "quantizer.bits");
    // Ranges are per dimension, shared by the modes.
    let mut m = TwoBases::new(6);
    m.lo = f32s(&[-2.0; 3]);
    let mut buf = vec![0u8; 4096];
    let n = write_blob(&m.spec(), &mut buf).unwrap();
    assert!(Model::from_bytes(&buf[..n]).is_err());
}

#[test]
fn switched_payload_bytes_are_pinned() {
    // spec/packet-format.md: tag (4 bits), sequence (4), mode (1), then the mode's codes.
    let m = TwoBases::new(5);
    let bytes = blob(&m.spec());
    let model = Model::from_bytes(&bytes).unwrap();
    let tag = model.payload_layout().fingerprint_tag(model.fingerprint());
    let mut codec = Codec::<16>::new(&model).unwrap();
    let p = codec
        .encode(
            &[0.7, -0.7],
            Meta {
                sequence: 5,
                label: 0,
            },
        )
        .unwrap();
    // mode 1; latent 2 = 0 on 5 bits over [-2, 2): code 16; latent 3 = 0.99 on 1 bit: 1.
    // Byte 1: mode 1, code 10000, code 1, one padding bit 0.
    let want = [(tag as u8) << 4 | 5, 0b1100_0010];
    assert_eq!(p.as_bytes(), want);
}
