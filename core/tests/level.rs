//! Window levels (format version 9): a window whose level lies outside the range the
//! codec was fit on is sent with its levels and decoded right; every other window is
//! coded as without them, but for the escape field's top code.

mod common;

use aecodec_core::{
    Codec, Error, HalfSpec, IntBoundary, LatentQuantizer, LevelSpec, Meta, Model, ModelSpec,
    PayloadHeader, PayloadRepr, PayloadView, Precision, Widths, FORMAT_VERSION, MIN_FORMAT_VERSION,
};
use common::{blob, f32_identity, f32s};

/// Two channels of four samples, coded as themselves (identity encoder and decoder) on
/// 4 bits each over [-1, 1]; with levels: for windows whose channel means leave
/// [-0.5, 0.5], each moved into [-0.5, 0.5] in steps of 0.25 (10 bits per channel,
/// −512 ..= 511 steps), 3 bits per sample.
struct Identity {
    norm_mean: Vec<u8>,
    norm_std: Vec<u8>,
    w: Vec<u8>,
    b: Vec<u8>,
    bits: Vec<u8>,
    mean: Vec<u8>,
    lo: Vec<u8>,
    hi: Vec<u8>,
    inner_lo: Vec<u8>,
    inner_hi: Vec<u8>,
    level_bits: Vec<u8>,
    fit_lo: Vec<u8>,
    fit_hi: Vec<u8>,
    step: Vec<u8>,
    code_bits: Vec<u8>,
}

const N: usize = 8;

impl Identity {
    fn new() -> Self {
        let mut w = [0.0f32; N * N];
        for i in 0..N {
            w[i * N + i] = 1.0;
        }
        Identity {
            norm_mean: f32s(&[0.0; N]),
            norm_std: f32s(&[1.0; N]),
            w: f32s(&w),
            b: f32s(&[0.0; N]),
            bits: vec![4; N],
            mean: f32s(&[0.0; N]),
            lo: f32s(&[-1.0; N]),
            hi: f32s(&[1.0; N]),
            inner_lo: f32s(&[-0.5; 2]),
            inner_hi: f32s(&[0.5; 2]),
            level_bits: vec![10; 2],
            fit_lo: f32s(&[-0.5; 2]),
            fit_hi: f32s(&[0.5; 2]),
            step: f32s(&[0.25; 2]),
            code_bits: vec![3; N],
        }
    }

    fn spec(&self, levels: bool) -> ModelSpec<'_> {
        let mut enc = heapless::Vec::new();
        enc.push(f32_identity(N as u16, N as u16, &self.w, &self.b))
            .unwrap();
        let mut dec = heapless::Vec::new();
        dec.push(f32_identity(N as u16, N as u16, &self.w, &self.b))
            .unwrap();
        ModelSpec {
            precision: Precision::F32,
            input_dim: N as u16,
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
            signal: aecodec_core::Signal::series(2),
            level: levels.then_some(LevelSpec {
                inner_lo: &self.inner_lo,
                inner_hi: &self.inner_hi,
                fit_lo: &self.fit_lo,
                fit_hi: &self.fit_hi,
                bits: &self.level_bits,
                step: &self.step,
                code_bits: &self.code_bits,
            }),
        }
    }
}

/// A window of two channels interleaved: channel 0 at `a` + a ramp, channel 1 at `b`.
fn window(a: f32, b: f32) -> [f32; N] {
    let mut w = [0.0f32; N];
    for t in 0..4 {
        w[2 * t] = a + 0.1 * t as f32 - 0.15;
        w[2 * t + 1] = b - 0.05 * t as f32 + 0.075;
    }
    w
}

fn round_trip(model: &Model<'_>, w: &[f32], refine: u8) -> (Vec<u8>, [f32; N]) {
    let mut codec = Codec::<64>::new(model).unwrap();
    let p = codec.encode_refined(w, Meta::default(), refine).unwrap();
    let mut out = [0.0f32; N];
    codec.decode(p.as_bytes(), &mut out).unwrap();
    (p.as_bytes().to_vec(), out)
}

fn max_error(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_blob_with_levels_is_version_9_and_its_payloads_spend_no_bit_on_them() {
    let m = Identity::new();
    let (plain, leveled) = (blob(&m.spec(false)), blob(&m.spec(true)));
    assert_eq!(u16::from_le_bytes([plain[4], plain[5]]), MIN_FORMAT_VERSION);
    assert_eq!(u16::from_le_bytes([leveled[4], leveled[5]]), FORMAT_VERSION);
    let model = Model::from_bytes(&leveled).unwrap();
    assert_eq!(model.level(), m.spec(true).level.as_ref());
    let layout = *model.payload_layout();
    // 8 header bits, then max(8 × 4, 4 (the escape field) + 2 × 10 + 8 × 3) = 48 code
    // bits: a payload without levels has the 40 bits a model without them has, padded.
    assert_eq!((layout.code_bits, layout.bytes), (48, 7));
    let plain_layout = *Model::from_bytes(&plain).unwrap().payload_layout();
    assert_eq!((plain_layout.code_bits, plain_layout.bytes), (32, 5));
}

#[test]
fn windows_within_the_inner_range_decode_as_without_levels() {
    let m = Identity::new();
    let (plain, leveled) = (blob(&m.spec(false)), blob(&m.spec(true)));
    let (plain, leveled) = (
        Model::from_bytes(&plain).unwrap(),
        Model::from_bytes(&leveled).unwrap(),
    );
    for (a, b) in [(0.0, 0.0), (0.4, -0.5), (-0.5, 0.5), (0.25, 0.1)] {
        let w = window(a, b);
        let (bytes, out) = round_trip(&leveled, &w, 0);
        let (plain_bytes, plain_out) = round_trip(&plain, &w, 0);
        assert_eq!(out, plain_out, "level {a} {b}");
        assert!(!leveled.payload_info(&bytes).unwrap().leveled);
        // The same bits after the model tag (4 bits), padded to the longer payload.
        assert_eq!(bytes[0] & 0x0f, plain_bytes[0] & 0x0f);
        assert_eq!(&bytes[1..5], &plain_bytes[1..]);
        assert_eq!(&bytes[5..], &[0, 0]);
    }
}

#[test]
fn the_escape_fields_top_code_is_kept_for_payloads_with_levels() {
    let m = Identity::new();
    let leveled = blob(&m.spec(true));
    let model = Model::from_bytes(&leveled).unwrap();
    // Channel 0's level is 0, but its first sample lies in dimension 0's top cell
    // [0.875, 1): without levels it is coded in the cell below, centre 0.8125.
    let w = [0.9, 0.0, -0.3, 0.0, -0.3, 0.0, -0.3, 0.0];
    for refine in [0, 4] {
        let (bytes, out) = round_trip(&model, &w, refine);
        assert!(!model.payload_info(&bytes).unwrap().leveled);
        assert_eq!(out[0], 0.8125, "refine {refine}");
        // Dimension 0 is the escape field, sent first: 14, not 15 (all ones).
        assert_eq!(bytes[1] >> 4, 14);
    }
    // A payload with levels starts its codes with the field all ones.
    let mut codec = Codec::<64>::new(&model).unwrap();
    let p = codec.encode(&window(50.0, 0.0), Meta::default()).unwrap();
    assert_eq!(p.as_bytes()[1] >> 4, 15);
}

#[test]
fn a_model_with_levels_needs_an_escape_field_of_two_bits_in_every_mode() {
    let mut m = Identity::new();
    m.bits = vec![1; N];
    let e = Model::from_bytes(&blob(&m.spec(true))).unwrap_err();
    assert_eq!(
        e,
        Error::BadParameter {
            field: "level.escape",
            index: 0
        }
    );
}

#[test]
fn a_window_far_outside_the_training_range_decodes_with_bounded_error() {
    let m = Identity::new();
    let (plain, leveled) = (blob(&m.spec(false)), blob(&m.spec(true)));
    let (plain, leveled) = (
        Model::from_bytes(&plain).unwrap(),
        Model::from_bytes(&leveled).unwrap(),
    );
    // Whole steps of 0.25 move each level into [-0.5, 0.5], which the 3-bit codes (cells
    // of 0.25 over [-1, 1]) take up.
    for (a, b) in [(50.0, 0.0), (-9.81, 9.81), (0.0, -0.6), (-99.0, 99.9)] {
        let w = window(a, b);
        let (bytes, out) = round_trip(&leveled, &w, 0);
        assert!(leveled.payload_info(&bytes).unwrap().leveled, "{a} {b}");
        let e = max_error(&w, &out);
        assert!(e <= 0.125 + 1e-5, "level {a} {b}: error {e}");
        let (_, refined) = round_trip(&leveled, &w, 4);
        assert!(max_error(&w, &refined) <= e + 1e-6);
        let (_, clipped) = round_trip(&plain, &w, 0);
        if a.abs() > 2.0 {
            assert!(max_error(&w, &clipped) > 5.0, "without levels: clipped");
        }
    }
}

#[test]
fn levels_outside_the_full_scale_are_clamped_to_its_ends() {
    let m = Identity::new();
    let leveled = blob(&m.spec(true));
    let model = Model::from_bytes(&leveled).unwrap();
    let w = window(500.0, -1e30);
    let (bytes, out) = round_trip(&model, &w, 0);
    assert!(model.payload_info(&bytes).unwrap().leveled);
    assert!(out.iter().all(|v| v.is_finite()), "{out:?}");
    // Channel 0 is moved by the farthest shift, 511 steps (127.75), and decodes at the
    // top code cell (0.875) above it: 128.625, not at 500; channel 1 at the bottom cell
    // 512 steps down.
    assert_eq!((out[0], out[1]), (128.625, -128.875), "{out:?}");
    // A NaN level is not outside the range: the window is coded as it is.
    let (bytes, _) = round_trip(&model, &window(f32::NAN, 0.0), 0);
    assert!(!model.payload_info(&bytes).unwrap().leveled);
}

#[test]
fn restore_levels_after_decode_latent_and_reconstruct_equals_decode() {
    let m = Identity::new();
    let leveled = blob(&m.spec(true));
    let model = Model::from_bytes(&leveled).unwrap();
    let mut codec = Codec::<64>::new(&model).unwrap();
    for (a, b) in [(50.0, 0.0), (0.1, 0.1)] {
        let w = window(a, b);
        let p = codec.encode(&w, Meta::default()).unwrap();
        let mut whole = [0.0f32; N];
        codec.decode(p.as_bytes(), &mut whole).unwrap();
        let mut z = [0.0f32; N];
        codec.decode_latent(p.as_bytes(), &mut z).unwrap();
        let mut out = [0.0f32; N];
        codec.reconstruct(&z, 0, &mut out).unwrap();
        model.restore_levels(p.as_bytes(), &mut out).unwrap();
        assert_eq!(out, whole, "{a} {b}");
    }
    assert_eq!(
        model.restore_levels(&[0u8; 3], &mut [0.0; N]),
        Err(Error::PayloadLength {
            expected: 7,
            found: 3
        })
    );
}

#[test]
fn the_level_fields_sit_after_the_flag_and_round_trip_through_repr() {
    let m = Identity::new();
    let leveled = blob(&m.spec(true));
    let model = Model::from_bytes(&leveled).unwrap();
    let mut codec = Codec::<64>::new(&model).unwrap();
    let p = codec.encode(&window(50.0, -20.0), Meta::default()).unwrap();
    let layout = *model.payload_layout();
    let view = PayloadView::new_checked(p.as_bytes(), layout).unwrap();
    let widths = Widths {
        codes: &m.bits,
        level: Some((&m.level_bits, &m.code_bits)),
    };
    let (mut codes, mut levels) = ([0u16; N], [0u16; 2]);
    let repr = PayloadRepr::parse(&view, widths, &mut codes, &mut levels).unwrap();
    // Level codes: 198 steps down into [-0.5, 0.5] (to 0.5) and 78 up (to -0.5), each
    // plus 512.
    assert_eq!(repr.levels, Some(&[710u16, 434][..]));
    let mut again = [0u8; 16];
    let n = repr.emit(&layout, widths, &mut again);
    assert_eq!(&again[..n], p.as_bytes());
}

#[test]
fn malformed_level_specs_are_refused_naming_the_field() {
    let refused = |edit: &dyn Fn(&mut Identity), field: &str| {
        let mut m = Identity::new();
        edit(&mut m);
        let e = Model::from_bytes(&blob(&m.spec(true))).unwrap_err();
        assert!(e.to_string().contains(field), "{field}: {e}");
    };
    refused(&|m| m.level_bits = vec![0, 8], "level.bits");
    refused(&|m| m.level_bits = vec![8, 17], "level.bits");
    refused(&|m| m.level_bits = vec![8], "level.bits");
    refused(&|m| m.step = f32s(&[1.0, 0.0]), "level.step");
    refused(&|m| m.step = f32s(&[f32::MAX, 1.0]), "level.step");
    refused(&|m| m.inner_hi = f32s(&[-1.0, 0.5]), "level.inner_hi");
    refused(&|m| m.fit_lo = f32s(&[f32::NAN, 0.0]), "level.fit_lo");
    refused(&|m| m.fit_hi = f32s(&[0.5, -1.0]), "level.fit_hi");
    refused(&|m| m.code_bits = vec![3; N - 1], "level.code_bits");
    refused(&|m| m.code_bits = vec![17; N], "17");
}

#[test]
fn latent_is_the_networks_own_mapping_without_levels() {
    let m = Identity::new();
    let (plain, leveled) = (blob(&m.spec(false)), blob(&m.spec(true)));
    let (plain, leveled) = (
        Model::from_bytes(&plain).unwrap(),
        Model::from_bytes(&leveled).unwrap(),
    );
    let (mut a, mut b) = (
        Codec::<64>::new(&plain).unwrap(),
        Codec::<64>::new(&leveled).unwrap(),
    );
    let w = window(50.0, -3.0);
    let (mut za, mut zb) = ([0.0f32; N], [0.0f32; N]);
    a.latent(&w, 0, &mut za).unwrap();
    b.latent(&w, 0, &mut zb).unwrap();
    assert_eq!(za, zb);
    assert_eq!(zb, w, "the identity network's latent is the window itself");
}

#[test]
fn only_channels_outside_the_inner_range_are_moved() {
    let m = Identity::new();
    let leveled = blob(&m.spec(true));
    let model = Model::from_bytes(&leveled).unwrap();
    let mut codec = Codec::<64>::new(&model).unwrap();
    // Channel 0 far out, channel 1 within: channel 1's code is 0 steps (512).
    let p = codec.encode(&window(50.0, 0.3), Meta::default()).unwrap();
    let view = PayloadView::new_checked(p.as_bytes(), *model.payload_layout()).unwrap();
    let widths = Widths {
        codes: &m.bits,
        level: Some((&m.level_bits, &m.code_bits)),
    };
    let (mut codes, mut levels) = ([0u16; N], [0u16; 2]);
    let repr = PayloadRepr::parse(&view, widths, &mut codes, &mut levels).unwrap();
    assert_eq!(repr.levels, Some(&[710u16, 512][..]));
}

#[test]
fn the_refining_encoder_sends_the_coding_that_decodes_closer() {
    let m = Identity::new();
    let leveled = blob(&m.spec(true));
    let model = Model::from_bytes(&leveled).unwrap();
    // Just outside the inner range the 4-bit codes without levels are closer than the
    // 3-bit ones with; far outside only levels reach it.
    for (a, b, leveled) in [(0.0, -0.6, false), (50.0, 0.0, true), (0.7, 0.0, false)] {
        let w = window(a, b);
        let (plain_bytes, plain) = round_trip(&model, &w, 0);
        assert!(model.payload_info(&plain_bytes).unwrap().leveled);
        let (bytes, refined) = round_trip(&model, &w, 4);
        assert_eq!(
            model.payload_info(&bytes).unwrap().leveled,
            leveled,
            "{a} {b}"
        );
        assert!(max_error(&w, &refined) <= max_error(&w, &plain), "{a} {b}");
    }
}
