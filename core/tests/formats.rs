//! Golden bytes: these pin the model blob and packet formats of spec/*.md. A change here
//! is a format change: bump FORMAT_VERSION and update the spec.

mod common;

use aecodec_core::{encode_frame, Codec, Meta, Model, FORMAT_VERSION, HEADER_LEN};
use common::{blob, hex, Tiny};

#[test]
fn blob_bytes_are_pinned() {
    let t = Tiny::new();
    let b = blob(&t.spec());
    assert_eq!(FORMAT_VERSION, 1);
    // header: "AECM", version 1, body length, FNV-1a 32 of the body
    assert_eq!(&b[..6], b"AECM\x01\x00");
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
    "4145434d0100aa00000049e0059c",
    "0003000c0000c84200000000000048c20c000020410000803f0000a040",
    "0000803f000000803f0001030200180000003f0000003f00000000000000000000003f000000bf",
    "08000000000000803e000000000000803f000000803f0001020300180000803f0000000000008",
    "03f0000803f00000000000080bf0c000000000000000000000000000000000002040308000000",
    "000000803e08000000c0000000c00800000040000000400404",
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
    // 4 fingerprint bits | 4 sequence bits (0101) | code 0: 4 bits of (0.75+2)/4*16 = 11 (1011)
    // | code 1: 3 bits of (1.25+2)/4*8 = 6 (110) | 1 zero padding bit
    let fp = (m.fingerprint() & 0xF) as u8;
    assert_eq!(p.as_bytes(), &[(fp << 4) | 0b0101, 0b1011_1100]);
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

/// COBS code 05, payload 95 bc, CRC-16 9c 46, delimiter 00 (spec/packet-format.md).
const GOLDEN_FRAME: &str = "0595bc9c4600";
