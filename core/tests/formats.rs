//! Golden bytes: these pin the model blob and packet formats of spec/*.md. A change here
//! is a format change: bump FORMAT_VERSION and update the spec.

mod common;

use aecodec_core::{encode_frame, Codec, Meta, Model, HEADER_LEN, MIN_FORMAT_VERSION};
use common::{blob, hex, Tiny};

#[test]
fn blob_bytes_are_pinned() {
    let t = Tiny::new();
    let b = blob(&t.spec());
    // A blob is written with the oldest version that holds it: 6 without a switched
    // quantizer (tests/switched.rs pins version 7's).
    assert_eq!(MIN_FORMAT_VERSION, 6);
    // header: "AECM", version 6, body length, FNV-1a 32 of the body
    assert_eq!(&b[..6], b"AECM\x06\x00");
    assert_eq!(
        u32::from_le_bytes(b[6..10].try_into().unwrap()) as usize,
        b.len() - HEADER_LEN
    );
    assert_eq!(hex(&b), GOLDEN_BLOB);
    let m = Model::from_bytes(&b).unwrap();
    assert_eq!(
        m.fingerprint(),
        u32::from_le_bytes(b[10..14].try_into().unwrap())
    );
}

/// Produced by `write_blob` of the tiny model in tests/common; decoded field by field in
/// spec/model-format.md ("Worked example").
const GOLDEN_BLOB: &str = concat!(
    "4145434d0600c1000000022ba997",
    "0003000c0000c84200000000000048c20c000020410000803f0000a0400000803f00080000803f00",
    "010302000003000000180000003f0000003f00000000000000000000003f000000bf080000000000",
    "00803e000000000000803f00080000803f0001020300000100180000803f000000000000803f0000",
    "803f00000000000080bf0c000000000000000000000000000000000002040308000000000000803e",
    "08000000c0000000c0080000004000000040040400010100004842046563670a00",
);

#[test]
fn payload_and_frame_bytes_are_pinned() {
    let t = Tiny::new();
    let b = blob(&t.spec());
    let m = Model::from_bytes(&b).unwrap();
    let mut c = Codec::<8>::new(&m).unwrap();
    let layout = m.payload_layout();
    assert_eq!(
        (
            layout.fingerprint_bits,
            layout.sequence_bits,
            layout.code_bits,
            layout.bytes
        ),
        (4, 4, 7, 2)
    );
    // normalized window [0.5, 1.0, -1.0] -> latent [0.75, 1.25]
    let window = [105.0f32, 1.0, -55.0];
    let mut z = [0.0f32; 2];
    c.latent(&window, 0, &mut z).unwrap();
    assert_eq!(z, [0.75, 1.25]);
    let p = c
        .encode(
            &window,
            Meta {
                sequence: 5,
                label: 0,
            },
        )
        .unwrap();
    // 4 model tag bits (0011) | 4 sequence bits (0101) | code 0: 4 bits of
    // (0.75+2)/4*16 = 11 (1011) | code 1: 3 bits of (1.25+2)/4*8 = 6 (110) | 1 zero
    // padding bit. The tag: the top 4 bits of fmix32(0x97a92b02), 0x3d82….
    assert_eq!(m.fingerprint(), 0x97a9_2b02);
    assert_eq!(aecodec_core::model_tag(m.fingerprint(), 4), 0b0011);
    assert_eq!(aecodec_core::model_tag(m.fingerprint(), 16), 0x3d82);
    assert_eq!(p.as_bytes(), &[0b0011_0101, 0b1011_1100]);
    let mut frame = [0u8; 16];
    let n = encode_frame(p.as_bytes(), &mut frame).unwrap();
    assert_eq!(hex(&frame[..n]), GOLDEN_FRAME);
    // decodes to the cell centres, latent [0.875, 1.25]; the decoder's rows are
    // [z0, z0 + z1, -z1] in normalized units
    let mut out = [0.0f32; 3];
    let info = c.decode(p.as_bytes(), &mut out).unwrap();
    assert_eq!(info.sequence, Some(5));
    assert_eq!(out, [100.0 + 10.0 * 0.875, 2.125, -50.0 + 5.0 * -1.25]);
}

/// The pinned payload read field by field without decoding, and written back.
#[test]
fn payload_view_and_repr_read_and_write_the_pinned_payload() {
    use aecodec_core::{Error, PayloadRepr, PayloadView, Widths};
    let b = blob(&Tiny::new().spec());
    let m = Model::from_bytes(&b).unwrap();
    let layout = *m.payload_layout();
    let bits = [4u8, 3];
    let bytes = [0b0011_0101u8, 0b1011_1100];
    let view = PayloadView::new_checked(&bytes[..], layout).unwrap();
    assert_eq!(
        (view.tag(), view.sequence(), view.label()),
        (0b0011, Some(5), 0)
    );
    assert_eq!(view.tag(), layout.fingerprint_tag(m.fingerprint()));
    let info = m.payload_info(&bytes).unwrap();
    assert_eq!((info.sequence, info.label), (Some(5), None));
    let mut codes = [0u16; 2];
    let repr = PayloadRepr::parse(&view, Widths::plain(&bits), &mut codes, &mut []).unwrap();
    assert_eq!((repr.tag, repr.sequence, repr.label), (0b0011, 5, 0));
    assert_eq!(repr.codes, &[11, 6]);
    let mut out = [0xffu8; 4];
    assert_eq!(repr.emit(&layout, Widths::plain(&bits), &mut out), 2);
    assert_eq!(out, [0b0011_0101, 0b1011_1100, 0xff, 0xff]);
    assert_eq!(repr.emit(&layout, Widths::plain(&bits), &mut [0u8; 1]), 0);
    assert_eq!(
        PayloadView::new_checked(&bytes[..1], layout),
        Err(Error::PayloadLength {
            expected: 2,
            found: 1
        })
    );
    let padded = [0b0011_0101u8, 0b1011_1101];
    let view = PayloadView::new_checked(&padded[..], layout).unwrap();
    assert_eq!(
        PayloadRepr::parse(&view, Widths::plain(&bits), &mut codes, &mut []),
        Err(Error::NonZeroPadding)
    );
}

/// COBS code 05, payload 35 bc, CRC-16 81 38, delimiter 00 (spec/packet-format.md).
const GOLDEN_FRAME: &str = "0535bc813800";

/// The blocked full-int8 weight layout of format version 2, pinned for a 6 × 5 layer:
/// rows 0–3 in one group (inputs 0–3 interleaved, then inputs 4–5 row by row), row 4
/// row-major.
#[test]
fn int8_blocked_layout_is_pinned() {
    use aecodec_core::model::int8_weight_offset;
    let (n_in, n_out) = (6, 5);
    let mut at = vec![usize::MAX; n_in * n_out];
    for r in 0..n_out {
        for c in 0..n_in {
            at[int8_weight_offset(n_in, n_out, r, c)] = 10 * r + c;
        }
    }
    #[rustfmt::skip]
    let expected = [
        0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33,
        4, 5, 14, 15, 24, 25, 34, 35,
        40, 41, 42, 43, 44, 45,
    ];
    assert_eq!(at, expected);
}

/// A full-int8 model whose encoder is one `n_in → n_out` identity layer with the given
/// weights (given row-major), unit scales, no zero points and 16-bit input, so the latent
/// is `b + W x` for integer windows within ±32767 (the encoder's last layer is not
/// requantized), and whose
/// decoder is one `n_out → n_in` identity layer with the weights [`decoder_weight`] and no
/// bias, so the window decoded from an integer latent `z` is `clamp(V z, -128, 127)`;
/// stored offset-binary and blocked.
fn int8_model(n_in: usize, n_out: usize, w: &[i8], bias: &[i32]) -> Vec<u8> {
    use aecodec_core::{
        model::int8_weight_offset, write_blob, Activation, DenseSpec, HalfSpec, IntBoundary,
        LatentQuantizer, ModelSpec, PayloadHeader, Precision,
    };
    let mut stored = vec![0u8; n_in * n_out];
    for r in 0..n_out {
        for c in 0..n_in {
            stored[int8_weight_offset(n_in, n_out, r, c)] = (w[r * n_in + c] as u8) ^ 0x80;
        }
    }
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let i32s = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let enc_b = i32s(bias);
    let enc_m = i32s(&vec![1 << 30; n_out]);
    let mut dec_w = vec![0u8; n_in * n_out];
    for r in 0..n_in {
        for c in 0..n_out {
            dec_w[int8_weight_offset(n_out, n_in, r, c)] = (decoder_weight(r, c) as u8) ^ 0x80;
        }
    }
    let dec_b = i32s(&vec![0; n_in]);
    let dec_m = i32s(&vec![1 << 30; n_in]);
    let (enc_sh, dec_sh) = (vec![30u8; n_out], vec![30u8; n_in]);
    let (mean, std) = (f32s(&vec![0.0; n_in]), f32s(&vec![1.0; n_in]));
    let (bits, zmean) = (vec![8u8; n_out], f32s(&vec![0.0; n_out]));
    let (lo, hi) = (f32s(&vec![-128.0; n_out]), f32s(&vec![128.0; n_out]));
    let layer = |n_in: usize, n_out: usize, w, b, m, sh| DenseSpec {
        in_dim: n_in as u16,
        out_dim: n_out as u16,
        activation: Activation::Identity,
        conv: None,
        pad: &[],
        weights: w,
        bias: b,
        scales: m,
        shifts: sh,
        out_zero: 0,
        lut: &[],
    };
    let unit = IntBoundary {
        in_scale: 1.0,
        in_zero: 0,
        in_bits: 8,
        out_scale: 1.0,
        out_zero: 0,
    };
    let wide = IntBoundary {
        in_bits: 16,
        ..unit
    };
    let (mut enc, mut dec) = (heapless::Vec::new(), heapless::Vec::new());
    enc.push(layer(
        n_in,
        n_out,
        &stored[..],
        &enc_b[..],
        &enc_m[..],
        &enc_sh[..],
    ))
    .unwrap();
    dec.push(layer(
        n_out,
        n_in,
        &dec_w[..],
        &dec_b[..],
        &dec_m[..],
        &dec_sh[..],
    ))
    .unwrap();
    let spec = ModelSpec {
        precision: Precision::Int8Full,
        input_dim: n_in as u16,
        label_count: 0,
        norm_mean: &mean,
        norm_std: &std,
        encoder: HalfSpec {
            boundary: wide,
            layers: enc,
        },
        decoder: HalfSpec {
            boundary: unit,
            layers: dec,
        },
        quantizer: LatentQuantizer::Uniform {
            bits: &bits,
            mean: &zmean,
            lo: &lo,
            hi: &hi,
        },
        header: PayloadHeader::default(),
        encoder_of: None,
        signal: aecodec_core::Signal::series(1),
        level: None,
    };
    let mut buf = vec![0u8; 1 << 16];
    let n = write_blob(&spec, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Weight of row `r`, input `c` of [`int8_model`]'s decoder.
fn decoder_weight(r: usize, c: usize) -> i8 {
    ((r * 29 + c * 7) % 15) as i8 - 7
}

/// The blocked, offset-binary full-int8 layer computes the exact integer sums, for
/// shapes with and without row and input tails, and wherever the blob lies in memory
/// (a blob at an odd address takes the kernels' unaligned path on Cortex-M).
#[test]
fn int8_blocked_layers_compute_exact_sums() {
    for (n_in, n_out) in [(4, 4), (6, 5), (8, 12), (13, 7), (3, 2), (64, 9), (1, 4)] {
        let w: Vec<i8> = (0..n_in * n_out)
            .map(|i| (((i * 37 + 11) % 256) as i32 - 128) as i8)
            .collect();
        let bias: Vec<i32> = (0..n_out).map(|r| r as i32 * 3 - 5).collect();
        let blob = int8_model(n_in, n_out, &w, &bias);
        for shift in 0..4 {
            let mut moved = vec![0u8; shift];
            moved.extend_from_slice(&blob);
            let m = Model::from_bytes(&moved[shift..]).unwrap();
            let mut c = Codec::<128>::new(&m).unwrap();
            for seed in 0..20usize {
                // The encoder's input is 16-bit: samples over the whole range, saturated
                // at ±32767 past it.
                let x: Vec<f32> = (0..n_in)
                    .map(|i| (((i * 7 + seed * 13) % 41) as f32 - 20.0) * 1700.0)
                    .collect();
                let q = |v: f32| v.clamp(-32767.0, 32767.0) as i32;
                let expected: Vec<f32> = (0..n_out)
                    .map(|r| {
                        let acc: i32 = (0..n_in)
                            .map(|c| i32::from(w[r * n_in + c]) * q(x[c]))
                            .sum::<i32>()
                            + bias[r];
                        acc as f32
                    })
                    .collect();
                let mut z = vec![0.0; n_out];
                c.latent(&x, 0, &mut z).unwrap();
                assert_eq!(z, expected, "{n_in}x{n_out}");
                // The decoder's layer is requantized to int8 (saturating).
                let latent: Vec<f32> = (0..n_out)
                    .map(|i| ((i * 5 + seed * 3) % 17) as f32 - 8.0)
                    .collect();
                let window: Vec<f32> = (0..n_in)
                    .map(|r| {
                        let acc: i32 = (0..n_out)
                            .map(|c| i32::from(decoder_weight(r, c)) * latent[c] as i32)
                            .sum();
                        acc.clamp(-128, 127) as f32
                    })
                    .collect();
                let mut out = vec![0.0; n_in];
                c.reconstruct(&latent, 0, &mut out).unwrap();
                assert_eq!(out, window, "decoder {n_out}x{n_in}");
            }
        }
    }
}

/// `write_blob` pads every layer so its weights start at a multiple of 4 bytes from the
/// blob's start.
#[test]
fn weights_are_word_aligned_in_the_blob() {
    for (n_in, n_out) in [(4, 4), (6, 5), (13, 7), (3, 2)] {
        let w = vec![1i8; n_in * n_out];
        let bias = vec![0i32; n_out];
        let blob = int8_model(n_in, n_out, &w, &bias);
        let m = Model::from_bytes(&blob).unwrap();
        let spec = m.spec();
        for l in spec.encoder.layers.iter().chain(spec.decoder.layers.iter()) {
            let offset = l.weights.as_ptr() as usize - blob.as_ptr() as usize;
            assert_eq!(offset % 4, 0, "{n_in}x{n_out}: weights at {offset}");
            assert!(l.pad.len() <= 3 && l.pad.iter().all(|&b| b == 0));
        }
    }
}

/// The encoder's input bits the format allows for a first layer's width (spec: 16 for
/// up to 256 inputs, 15 for 300, 13 for 1,460).
#[test]
fn encoder_input_bits_keep_the_first_layers_sums_in_int32() {
    use aecodec_core::model::max_input_bits;
    let cases = [
        (1, 16),
        (256, 16),
        (257, 15),
        (300, 15),
        (1460, 13),
        (65535, 8),
    ];
    for (n, bits) in cases {
        assert_eq!(max_input_bits(n), bits, "{n} inputs");
        assert!(u32::from(n) << bits <= 1 << 24);
    }
}
