//! Every bad input gets its own error, with the numbers in it.

mod common;

use aecodec_core::{
    fingerprint, Codec, Error, Half, Meta, Model, SequenceEvent, SequenceTracker, FORMAT_VERSION,
    HEADER_LEN,
};
use common::{blob, f32s, Tiny};

fn load(b: &[u8]) -> Error {
    Model::from_bytes(b).unwrap_err()
}

/// A blob with a valid header around an arbitrary body.
fn with_body(body: &[u8], version: u16) -> Vec<u8> {
    let mut b = b"AECM".to_vec();
    b.extend(version.to_le_bytes());
    b.extend((body.len() as u32).to_le_bytes());
    b.extend(fingerprint(body).to_le_bytes());
    b.extend(body);
    b
}

#[test]
fn rejects_empty_blob() {
    assert_eq!(
        load(&[]),
        Error::BlobTruncated {
            needed: HEADER_LEN,
            got: 0
        }
    );
}

#[test]
fn rejects_truncated_blob() {
    let b = blob(&Tiny::new().spec());
    let e = load(&b[..b.len() - 7]);
    assert_eq!(
        e,
        Error::BlobTruncated {
            needed: b.len(),
            got: b.len() - 7
        }
    );
    assert!(e
        .to_string()
        .contains(&format!("needs {} bytes, got {}", b.len(), b.len() - 7)));
}

#[test]
fn rejects_blob_with_wrong_magic() {
    let mut b = blob(&Tiny::new().spec());
    b[..4].copy_from_slice(b"PK\x03\x04");
    assert_eq!(
        load(&b),
        Error::BadMagic {
            found: *b"PK\x03\x04"
        }
    );
    assert!(load(&b).to_string().contains("not an aecodec model blob"));
}

#[test]
fn rejects_blob_with_newer_version() {
    let mut b = blob(&Tiny::new().spec());
    b[4] = 4;
    let e = load(&b);
    assert_eq!(
        e,
        Error::UnsupportedVersion {
            found: 4,
            supported: 3
        }
    );
    assert!(e.to_string().contains("version 4 is newer"));
}

/// Version 1 stored full-int8 weights signed and row-major and had no `pad` field;
/// version 2 had no `conv` field.
#[test]
fn rejects_blob_of_an_older_version() {
    for old in [1u8, 2] {
        let mut b = blob(&Tiny::new().spec());
        b[4] = old;
        let e = load(&b);
        assert_eq!(
            e,
            Error::UnsupportedVersion {
                found: u16::from(old),
                supported: 3
            }
        );
        assert!(e.to_string().contains(&format!("version {old} is older")));
        assert!(e.to_string().contains("aecodec export"));
    }
}

/// A layer's `pad` holds only zero bytes (at most 3): anything else is not a blob the
/// writer makes, even under a valid fingerprint.
#[test]
fn rejects_nonzero_pad_bytes() {
    let b = blob(&Tiny::new().spec());
    let mut body = b[HEADER_LEN..].to_vec();
    // encoder layer: in 3, out 2, Identity, no conv, pad (0..=3 zero bytes), weights
    // (24 bytes); the pad becomes the one byte 07
    let (at, pad) = (0..=3usize)
        .find_map(|p| {
            let mut head = vec![0x03, 0x02, 0x00, 0x00, p as u8];
            head.extend(std::iter::repeat_n(0u8, p));
            head.push(0x18);
            body.windows(head.len())
                .position(|w| w == head)
                .map(|at| (at, p))
        })
        .expect("the tiny model's first layer");
    body.splice(at + 4..at + 5 + pad, [0x01, 0x07]);
    assert_eq!(
        load(&with_body(&body, FORMAT_VERSION)),
        Error::BadParameter {
            field: "pad",
            index: 0
        }
    );
}

#[test]
fn rejects_blob_with_corrupt_body() {
    let mut b = blob(&Tiny::new().spec());
    let last = b.len() - 1;
    b[last] ^= 1;
    assert!(matches!(load(&b), Error::FingerprintMismatch { .. }));
}

#[test]
fn rejects_blob_with_trailing_bytes() {
    let mut b = blob(&Tiny::new().spec());
    b.extend([0, 0, 0]);
    assert_eq!(load(&b), Error::BlobTrailingBytes { count: 3 });
}

#[test]
fn rejects_body_that_is_not_a_model() {
    assert!(matches!(
        load(&with_body(&[0xFF; 9], FORMAT_VERSION)),
        Error::BlobMalformed(_)
    ));
    assert!(matches!(
        load(&with_body(&[], FORMAT_VERSION)),
        Error::BlobMalformed(_)
    ));
}

#[test]
fn rejects_layers_that_do_not_chain() {
    let t = Tiny::new();
    let mut spec = t.spec();
    spec.decoder.layers[0].in_dim = 3;
    let e = load(&blob(&spec));
    assert_eq!(
        e,
        Error::DimensionMismatch {
            half: Half::Decoder,
            layer: 0,
            expected: 2,
            found: 3
        }
    );
    assert!(e
        .to_string()
        .contains("decoder layer 0 takes 3 inputs but is fed 2"));
}

#[test]
fn rejects_weights_of_wrong_length() {
    let t = Tiny::new();
    let mut spec = t.spec();
    let short = &t.enc_w[..20];
    spec.encoder.layers[0].weights = short;
    assert_eq!(
        load(&blob(&spec)),
        Error::FieldLength {
            half: Half::Encoder,
            layer: 0,
            field: "weights",
            expected: 24,
            found: 20
        }
    );
}

#[test]
fn rejects_bad_numbers() {
    let t = Tiny::new();
    let zero_std = f32s(&[10.0, 0.0, 5.0]);
    let mut spec = t.spec();
    spec.norm_std = &zero_std;
    assert_eq!(
        load(&blob(&spec)),
        Error::BadParameter {
            field: "norm_std",
            index: 1
        }
    );

    let inverted = f32s(&[2.0, -2.0]);
    let mut spec = t.spec();
    if let aecodec_core::LatentQuantizer::Uniform { hi, .. } = &mut spec.quantizer {
        *hi = &inverted;
    }
    assert_eq!(
        load(&blob(&spec)),
        Error::BadParameter {
            field: "quantizer.hi",
            index: 1
        }
    );

    let nan = f32s(&[0.5, f32::NAN, 0.0, 0.0, 0.5, -0.5]);
    let mut spec = t.spec();
    spec.encoder.layers[0].weights = &nan;
    assert_eq!(
        load(&blob(&spec)),
        Error::BadParameter {
            field: "weights",
            index: 1
        }
    );
}

#[test]
fn rejects_too_many_bits() {
    let t = Tiny::new();
    let bits = [17u8, 3];
    let mut spec = t.spec();
    if let aecodec_core::LatentQuantizer::Uniform { bits: b, .. } = &mut spec.quantizer {
        *b = &bits;
    }
    assert_eq!(
        load(&blob(&spec)),
        Error::BitsOutOfRange {
            dim: 0,
            bits: 17,
            max: 16
        }
    );
}

#[test]
fn refuses_scratch_too_small() {
    let b = blob(&Tiny::new().spec());
    let m = Model::from_bytes(&b).unwrap();
    let e = Codec::<2>::new(&m).err().unwrap();
    assert_eq!(
        e,
        Error::ScratchTooSmall {
            needed: 3,
            capacity: 2
        }
    );
    assert!(e
        .to_string()
        .contains("needs scratch buffers of 3 elements"));
    assert!(Codec::<3>::new(&m).is_ok());
}

#[test]
fn refuses_window_of_wrong_length() {
    let b = blob(&Tiny::new().spec());
    let m = Model::from_bytes(&b).unwrap();
    let mut c = Codec::<4>::new(&m).unwrap();
    assert_eq!(
        c.encode(&[1.0, 2.0], Meta::default()).unwrap_err(),
        Error::InputLength {
            what: "window",
            expected: 3,
            found: 2
        }
    );
}

#[test]
fn rejects_payload_of_wrong_length() {
    let b = blob(&Tiny::new().spec());
    let m = Model::from_bytes(&b).unwrap();
    let mut c = Codec::<4>::new(&m).unwrap();
    let mut out = [0.0; 3];
    assert_eq!(
        c.decode(&[1, 2, 3], &mut out).unwrap_err(),
        Error::PayloadLength {
            expected: 2,
            found: 3
        }
    );
    assert_eq!(
        c.decode(&[], &mut out).unwrap_err(),
        Error::PayloadLength {
            expected: 2,
            found: 0
        }
    );
}

#[test]
fn rejects_payload_from_another_model() {
    let t = Tiny::new();
    let mine = blob(&t.spec());
    // Same architecture, other bias: another fingerprint.
    let other_bias = f32s(&[0.0, 0.5]);
    let mut spec = t.spec();
    spec.encoder.layers[0].bias = &other_bias;
    let theirs = blob(&spec);
    let (m, o) = (
        Model::from_bytes(&mine).unwrap(),
        Model::from_bytes(&theirs).unwrap(),
    );
    assert_ne!(
        m.fingerprint() & 0xF,
        o.fingerprint() & 0xF,
        "pick a bias whose fingerprint differs in 4 bits"
    );
    let p = Codec::<4>::new(&o)
        .unwrap()
        .encode(&[1.0, 2.0, 3.0], Meta::default())
        .unwrap();
    let mut out = [0.0; 3];
    let e = Codec::<4>::new(&m)
        .unwrap()
        .decode(p.as_bytes(), &mut out)
        .unwrap_err();
    assert_eq!(
        e,
        Error::ForeignModel {
            expected: (m.fingerprint() & 0xF) as u16,
            found: (o.fingerprint() & 0xF) as u16
        }
    );
    assert!(e.to_string().contains("made by another model"));
}

#[test]
fn rejects_payload_with_nonzero_padding() {
    let b = blob(&Tiny::new().spec());
    let m = Model::from_bytes(&b).unwrap();
    let mut c = Codec::<4>::new(&m).unwrap();
    let p = c.encode(&[1.0, 2.0, 3.0], Meta::default()).unwrap();
    let mut bytes = p.as_bytes().to_vec();
    bytes[1] |= 1; // 15 bits used, the 16th is padding
    let mut out = [0.0; 3];
    assert_eq!(
        c.decode(&bytes, &mut out).unwrap_err(),
        Error::NonZeroPadding
    );
}

#[test]
fn reports_sequence_gap() {
    let b = blob(&Tiny::new().spec());
    let m = Model::from_bytes(&b).unwrap();
    let mut c = Codec::<4>::new(&m).unwrap();
    let mut seq = SequenceTracker::new(m.payload_layout().sequence_bits);
    let mut out = [0.0; 3];
    let mut events = Vec::new();
    for s in [14u16, 15, 16, 19] {
        let p = c
            .encode(
                &[1.0, 2.0, 3.0],
                Meta {
                    sequence: s,
                    label: 0,
                },
            )
            .unwrap();
        let info = c.decode(p.as_bytes(), &mut out).unwrap();
        events.push(seq.observe(info.sequence.unwrap()));
    }
    // 4-bit counter: 14, 15, 0 (16 wraps), then 3: two payloads lost.
    assert_eq!(
        events,
        [
            SequenceEvent::First,
            SequenceEvent::InOrder,
            SequenceEvent::InOrder,
            SequenceEvent::Gap { lost: 2 }
        ]
    );
}

/// An encoder-only device blob: no decoder, payloads tagged with the full model's
/// fingerprint, decoding refused; one that still has decoder layers is refused at load.
#[test]
fn encoder_only_blobs_encode_for_the_full_model_and_refuse_to_decode() {
    let t = Tiny::new();
    let full = blob(&t.spec());
    let full_model = Model::from_bytes(&full).unwrap();
    let mut spec = t.spec();
    spec.encoder_of = Some(full_model.fingerprint());
    assert_eq!(
        load(&blob(&spec)),
        Error::BadParameter {
            field: "encoder_of",
            index: 0
        }
    );
    spec.decoder.layers.clear();
    let device = blob(&spec);
    let m = Model::from_bytes(&device).unwrap();
    assert!(m.is_encoder_only() && !full_model.is_encoder_only());
    assert_ne!(m.fingerprint(), full_model.fingerprint());
    assert_eq!(m.payload_fingerprint(), full_model.fingerprint());
    assert_eq!(m.decoder_macs(), 0);
    let mut c = Codec::<8>::new(&m).unwrap();
    let mut f = Codec::<8>::new(&full_model).unwrap();
    let meta = Meta {
        sequence: 3,
        label: 0,
    };
    let window = [105.0f32, 1.0, -55.0];
    let p = c.encode(&window, meta).unwrap();
    assert_eq!(p.as_bytes(), f.encode(&window, meta).unwrap().as_bytes());
    let mut out = [0.0f32; 3];
    assert!(f.decode(p.as_bytes(), &mut out).is_ok());
    let refused = Error::EncoderOnly {
        model: full_model.fingerprint(),
    };
    assert_eq!(c.decode(p.as_bytes(), &mut out), Err(refused.clone()));
    assert_eq!(
        c.reconstruct(&[0.0, 0.0], 0, &mut out),
        Err(refused.clone())
    );
    assert!(refused.to_string().contains("full blob"));
    assert!(aecodec_core::Batch::<8>::new(&m).is_err());
    // Refining the codes needs the decoder; without refinement it is a plain encode.
    assert_eq!(c.encode_refined(&window, meta, 1), Err(refused.clone()));
    assert_eq!(c.encode_refined(&window, meta, 0), Ok(p));
    // Without `encoder_of`, an empty decoder is an incomplete model.
    spec.encoder_of = None;
    assert_eq!(
        load(&blob(&spec)),
        Error::EmptyHalf {
            half: Half::Decoder
        }
    );
}
