//! Every bad input gets its own error, with the numbers in it.

mod common;

use aecodec_core::{
    fingerprint, model_tag, Codec, Error, Half, Meta, Model, SequenceEvent, SequenceTracker,
    FORMAT_VERSION, HEADER_LEN, MIN_FORMAT_VERSION,
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
    let newer = FORMAT_VERSION + 1;
    let mut b = blob(&Tiny::new().spec());
    b[4..6].copy_from_slice(&newer.to_le_bytes());
    let e = load(&b);
    assert_eq!(
        e,
        Error::UnsupportedVersion {
            found: newer,
            supported: FORMAT_VERSION
        }
    );
    assert!(e.to_string().contains(&format!("version {newer} is newer")));
}

/// Version 1 stored full-int8 weights signed and row-major and had no `pad` field;
/// version 2 had no `conv` field; version 3 payloads carry the fingerprint's low bits;
/// version 4 has no `signal` field; version 5 has no `in_bits` in `IntBoundary`.
/// (Version 7 adds the switched quantizer, version 9 window levels; a blob without
/// either is still version 6. Version 8's window levels were coded otherwise.)
#[test]
fn rejects_blob_of_an_older_version() {
    assert_eq!((MIN_FORMAT_VERSION, FORMAT_VERSION), (6, 9));
    for old in [1u16, 2, 3, 4, 5, 8] {
        let mut b = blob(&Tiny::new().spec());
        b[4..6].copy_from_slice(&old.to_le_bytes());
        let e = load(&b);
        assert_eq!(
            e,
            Error::UnsupportedVersion {
                found: old,
                supported: if old == 8 {
                    FORMAT_VERSION
                } else {
                    MIN_FORMAT_VERSION
                }
            }
        );
        assert!(e.to_string().contains(&format!("version {old} is older")));
        assert!(e.to_string().contains("aecodec export"));
    }
}

/// The signal section: channels that divide the window, a positive rate, one
/// non-empty name per channel with no control character, each ended by a newline.
#[test]
fn rejects_a_signal_that_does_not_fit_the_window() {
    use aecodec_core::{Signal, Source};
    let tiny = Tiny::new();
    let bad = |signal: Signal<'static>| {
        let mut spec = tiny.spec();
        spec.signal = signal;
        load(&blob(&spec))
    };
    let field = |field, index| Error::BadParameter { field, index };
    let three = Signal {
        channels: 3,
        sample_rate_hz: Some(64.0),
        names: b"x\ny\nz\n",
        source: Source::Rows,
    };
    // The tiny model's window is 3 values: one or three channels fit, two do not.
    for channels in [0, 2, 4] {
        let e = bad(Signal {
            channels,
            names: &[],
            ..three
        });
        assert_eq!(e, field("signal.channels", 0), "{channels} channels");
    }
    for rate in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let e = bad(Signal {
            sample_rate_hz: Some(rate),
            ..three
        });
        assert_eq!(e, field("signal.sample_rate_hz", 0), "{rate} Hz");
    }
    for (names, index) in [
        ("x\ny\n", 2),          // a name short
        ("x\ny\nz\nw\n", 3),    // a name over
        ("x\n\nz\n", 1),        // an empty name
        ("x\ny\tb\nz\n", 1),    // a control character
        ("x\ny\nz\u{85}\n", 2), // a C1 control character (U+0085, bytes c2 85)
        ("x\ny\nz", 2),         // the last name not ended
    ] {
        let e = bad(Signal {
            names: names.as_bytes(),
            ..three
        });
        assert_eq!(e, field("signal.names", index), "{names:?}");
    }
    // Bytes that are not UTF-8: a lone continuation, an overlong `/`, a surrogate, a
    // code point over U+10FFFF, a sequence cut short.
    for bad_utf8 in [
        &b"x\ny\n\x80\n"[..],
        b"x\ny\n\xc0\xaf\n",
        b"x\ny\n\xed\xa0\x80\n",
        b"x\ny\n\xf4\x90\x80\x80\n",
        b"x\ny\n\xe2\x82\n",
    ] {
        let e = bad(Signal {
            names: bad_utf8,
            ..three
        });
        assert_eq!(e, field("signal.names", 2), "{bad_utf8:?}");
    }
    // Other non-ASCII text is a name like any other.
    let mut spec = tiny.spec();
    spec.signal = Signal {
        names: "x\nÿ\n速度\n".as_bytes(),
        ..three
    };
    let b = blob(&spec);
    let names: Vec<&str> = Model::from_bytes(&b).unwrap().channel_names().collect();
    assert_eq!(names, ["x", "ÿ", "速度"]);
    let e = bad(Signal {
        names: b"x\n\nz\n",
        ..three
    });
    assert!(e.to_string().contains("`signal.names` element 1"), "{e}");

    // What loads is what was written.
    let mut spec = tiny.spec();
    spec.signal = three;
    let b = blob(&spec);
    let m = Model::from_bytes(&b).unwrap();
    assert_eq!((m.channels(), m.samples()), (3, 1));
    assert_eq!(m.sample_rate_hz(), Some(64.0));
    assert_eq!(m.channel_names().collect::<Vec<_>>(), ["x", "y", "z"]);
    assert_eq!(m.source(), Source::Rows);
    spec.signal = Signal::series(1);
    let b = blob(&spec);
    let m = Model::from_bytes(&b).unwrap();
    assert_eq!(
        (m.channels(), m.samples(), m.sample_rate_hz()),
        (1, 3, None)
    );
    assert_eq!(m.channel_names().count(), 0);
}

/// Receivers name a model's channels its own way, else `value` for one channel and
/// `ch0`, `ch1`, … for several; there is no name past the last channel.
#[test]
fn channels_are_named_by_the_model_or_by_default() {
    use aecodec_core::{Signal, Source};
    let tiny = Tiny::new();
    let names = |signal: Signal<'static>| {
        let mut spec = tiny.spec();
        spec.signal = signal;
        let b = blob(&spec);
        let m = Model::from_bytes(&b).unwrap();
        let names: Vec<String> = (0..4)
            .map_while(|i| m.channel_name(i))
            .map(|n| n.to_string())
            .collect();
        names
    };
    let signal = |channels, names: &'static [u8]| Signal {
        channels,
        sample_rate_hz: None,
        names,
        source: Source::Series,
    };
    assert_eq!(names(signal(3, b"x\ny\nz\n")), ["x", "y", "z"]);
    assert_eq!(names(signal(3, b"")), ["ch0", "ch1", "ch2"]);
    assert_eq!(names(signal(1, b"")), ["value"]);
    assert_eq!(names(signal(1, b"g\n")), ["g"]);
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
        load(&with_body(&body, MIN_FORMAT_VERSION)),
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
fn a_codec_switched_to_another_model_codes_as_a_new_codec_of_it() {
    let small = Tiny::new();
    let mut wide = Tiny::new();
    wide.bits = vec![8, 8];
    let (bs, bw) = (blob(&small.spec()), blob(&wide.spec()));
    let (ms, mw) = (
        Model::from_bytes(&bs).unwrap(),
        Model::from_bytes(&bw).unwrap(),
    );
    let window = [104.0, 0.3, -52.0];
    let meta = Meta {
        sequence: 5,
        label: 0,
    };
    let fresh = |m| Codec::<3>::new(m).unwrap().encode(&window, meta).unwrap();
    let mut c = Codec::<3>::new(&ms).unwrap();
    let first = c.encode(&window, meta).unwrap();
    c.set_model(&mw).unwrap();
    let switched = c.encode(&window, meta).unwrap();
    assert_eq!(switched.as_bytes(), fresh(&mw).as_bytes());
    assert_ne!(switched.as_bytes().len(), first.as_bytes().len());
    let mut out = [0.0f32; 3];
    assert!(c.decode(switched.as_bytes(), &mut out).is_ok());
    // The old model's payload is now refused: the codec decodes with the new one.
    assert!(c.decode(first.as_bytes(), &mut out).is_err());
    c.set_model(&ms).unwrap();
    assert_eq!(
        c.encode(&window, meta).unwrap().as_bytes(),
        first.as_bytes()
    );
    // Buffers too small for the model: refused, the codec keeps its model.
    let mut tiny = Codec::<3>::new(&ms).unwrap();
    let mut two = Tiny::new();
    two.norm_mean = f32s(&[0.0; 4]);
    two.norm_std = f32s(&[1.0; 4]);
    two.enc_w = f32s(&[0.0; 8]);
    two.dec_w = f32s(&[0.0; 8]);
    two.dec_b = f32s(&[0.0; 4]);
    let mut spec = two.spec();
    spec.input_dim = 4;
    spec.encoder.layers[0].in_dim = 4;
    spec.decoder.layers[0].out_dim = 4;
    let b4 = blob(&spec);
    let m4 = Model::from_bytes(&b4).unwrap();
    assert_eq!(
        tiny.set_model(&m4),
        Err(Error::ScratchTooSmall {
            needed: 4,
            capacity: 3
        })
    );
    assert_eq!(
        tiny.encode(&window, meta).unwrap().as_bytes(),
        first.as_bytes()
    );
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
    let tag = |m: &Model<'_>| model_tag(m.fingerprint(), 4);
    assert_ne!(tag(&m), tag(&o), "pick a bias whose tag differs");
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
            expected: tag(&m),
            found: tag(&o)
        }
    );
    assert!(e.to_string().contains("made by another model"));
}

/// Models that differ in the high bits of one byte (a weight's sign, say) have other
/// tags as often as any two models: about 1 pair in 2^bits shares one. (The fingerprint's
/// low 4 bits, the tag of format version 3, depend only on the low bits of each byte:
/// every one of these pairs shared it.)
#[test]
fn models_differing_in_high_bits_of_a_byte_have_other_tags() {
    let base = Tiny::new();
    let b0 = blob(&base.spec());
    let m0 = Model::from_bytes(&b0).unwrap();
    let (mut pairs, mut same_tag, mut same_low_bits) = (0u32, 0u32, 0u32);
    let mut refused = 0u32;
    for field in 0..4 {
        for byte in 0..24 {
            // bits 4-7 of the mantissa bytes, the sign of the top byte (the exponent's
            // bits could make a weight infinite)
            for bit in if byte % 4 == 3 { 7..8 } else { 4..8 } {
                let mut t = Tiny::new();
                let bytes = match field {
                    0 => &mut t.enc_w,
                    1 => &mut t.enc_b,
                    2 => &mut t.dec_w,
                    _ => &mut t.dec_b,
                };
                let Some(v) = bytes.get_mut(byte) else {
                    continue;
                };
                *v ^= 1 << bit;
                let b = blob(&t.spec());
                let m = Model::from_bytes(&b).unwrap();
                pairs += 1;
                same_low_bits += u32::from(m.fingerprint() & 0xF == m0.fingerprint() & 0xF);
                let tag = model_tag(m.fingerprint(), 4);
                assert_eq!(m.payload_layout().fingerprint_tag(m.fingerprint()), tag);
                if tag == model_tag(m0.fingerprint(), 4) {
                    same_tag += 1;
                    continue;
                }
                // a payload of the variant is refused by the original model
                let p = Codec::<4>::new(&m)
                    .unwrap()
                    .encode(&[1.0, 2.0, 3.0], Meta::default())
                    .unwrap();
                let e = Codec::<4>::new(&m0)
                    .unwrap()
                    .decode(p.as_bytes(), &mut [0.0; 3])
                    .unwrap_err();
                assert!(matches!(e, Error::ForeignModel { .. }), "{e:?}");
                refused += 1;
            }
        }
    }
    assert_eq!(pairs, 13 * (6 + 2 + 6 + 3));
    assert_eq!(same_low_bits, pairs, "the old tag never tells these apart");
    // 221 pairs at 1/16 each: 13.8 expected; 30 is over 4 standard deviations above.
    assert!(same_tag <= 30, "{same_tag} of {pairs} pairs share a tag");
    assert_eq!(refused + same_tag, pairs);
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
        events.push(seq.observe(info.sequence.unwrap(), p.as_bytes()));
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

/// One width limit: a window plus its one-hot labels wider than `MAX_WIDTH` is refused at
/// load, so every blob that loads runs in a `Codec<MAX_WIDTH>` (a 4,097-wide first layer
/// used to load and then fail for want of scratch).
#[test]
fn window_plus_labels_wider_than_the_scratch_is_refused_at_load() {
    use aecodec_core::{write_blob, MAX_WIDTH};
    for (n, fits) in [(MAX_WIDTH - 2, true), (MAX_WIDTH - 1, false)] {
        let t = Tiny::new();
        let norm_mean = f32s(&vec![0.0; n]);
        let norm_std = f32s(&vec![1.0; n]);
        let enc_w = f32s(&vec![0.01; (n + 2) * 2]);
        let dec_w = f32s(&vec![0.01; 4 * n]);
        let dec_b = f32s(&vec![0.0; n]);
        let mut spec = t.spec();
        spec.input_dim = n as u16;
        spec.label_count = 2;
        spec.norm_mean = &norm_mean;
        spec.norm_std = &norm_std;
        spec.encoder.layers[0].in_dim = (n + 2) as u16;
        spec.encoder.layers[0].weights = &enc_w;
        spec.decoder.layers[0].in_dim = 4;
        spec.decoder.layers[0].out_dim = n as u16;
        spec.decoder.layers[0].weights = &dec_w;
        spec.decoder.layers[0].bias = &dec_b;
        let mut buf = vec![0u8; 200_000];
        let len = write_blob(&spec, &mut buf).unwrap();
        drop(spec);
        buf.truncate(len);
        match Model::from_bytes(&buf) {
            Ok(m) => {
                assert!(fits, "{n} + 2 inputs loaded");
                assert!(Codec::<MAX_WIDTH>::new(&m).is_ok());
            }
            Err(e) => {
                assert!(!fits, "{n} + 2 inputs refused: {e}");
                assert_eq!(
                    e,
                    Error::LimitExceeded {
                        what: "encoder input (window + labels)",
                        value: MAX_WIDTH + 1,
                        limit: MAX_WIDTH
                    }
                );
            }
        };
    }
}
