//! The receiver's model set: routing by port and by payload, the sets it refuses, the
//! sequence events it reports, and the counts.

mod common;

use aecodec_core::{
    Clash, Codec, Error, Meta, Model, ModelSet, PayloadHeader, RxCounts, SequenceEvent,
};
use common::{blob, Tiny};

/// The tiny model's blob with another bias (another fingerprint) and `header`.
fn variant(bias: f32, header: PayloadHeader) -> Vec<u8> {
    let mut t = Tiny::new();
    t.enc_b = common::f32s(&[0.0, bias]);
    let mut spec = t.spec();
    spec.header = header;
    blob(&spec)
}

const HEADER: PayloadHeader = PayloadHeader {
    fingerprint_bits: 4,
    sequence_bits: 4,
};

/// The payload `blob`'s codec makes of one window with counter `sequence`.
fn payload(blob: &[u8], sequence: u16) -> Vec<u8> {
    let m = Model::from_bytes(blob).unwrap();
    let mut codec = Codec::<8>::new(&m).unwrap();
    let p = codec
        .encode(&[101.0, 0.5, -49.0], Meta { sequence, label: 0 })
        .unwrap();
    p.as_bytes().to_vec()
}

/// Two blobs of the tiny model whose model tags differ (4 tag bits each).
fn two_tagged() -> (Vec<u8>, Vec<u8>) {
    let a = variant(0.25, HEADER);
    for k in 1..200 {
        let b = variant(0.25 + k as f32 / 1000.0, HEADER);
        let tag = |blob: &[u8]| {
            let m = Model::from_bytes(blob).unwrap();
            m.payload_layout().fingerprint_tag(m.payload_fingerprint())
        };
        if tag(&a) != tag(&b) {
            return (a, b);
        }
    }
    panic!("no second fingerprint with another tag in 200 tries");
}

#[test]
fn payloads_go_to_the_model_whose_tag_they_carry() {
    let (a, b) = two_tagged();
    let (ma, mb) = (
        Model::from_bytes(&a).unwrap(),
        Model::from_bytes(&b).unwrap(),
    );
    let mut set = ModelSet::<4>::new(&[(None, &ma), (None, &mb)]).unwrap();
    assert_eq!(set.len(), 2);
    assert!(!set.by_port());
    assert_eq!(set.route(None, &payload(&b, 3)).unwrap().index, 1);
    assert_eq!(set.route(None, &payload(&a, 3)).unwrap().index, 0);
    // The same counter again on model 1: a repeat of its stream, not of model 0's.
    let r = set.route(None, &payload(&b, 3)).unwrap();
    assert_eq!((r.index, r.event), (1, SequenceEvent::Duplicate));
    let r = set.route(None, &payload(&b, 5)).unwrap();
    assert_eq!(r.event, SequenceEvent::Gap { lost: 1 });
    assert_eq!(r.info.sequence, Some(5));
}

#[test]
fn payloads_go_by_port_and_an_unknown_port_is_refused() {
    let (a, b) = two_tagged();
    let (ma, mb) = (
        Model::from_bytes(&a).unwrap(),
        Model::from_bytes(&b).unwrap(),
    );
    let mut set = ModelSet::<2>::new(&[(Some(10), &ma), (Some(11), &mb)]).unwrap();
    assert!(set.by_port());
    assert_eq!(set.route(Some(11), &payload(&b, 0)).unwrap().index, 1);
    // Model 0's payload on model 1's port: refused by model 1's tag, not routed to 0.
    assert!(matches!(
        set.route(Some(11), &payload(&a, 0)),
        Err(Error::ForeignModel { .. })
    ));
    assert_eq!(
        set.route(Some(12), &payload(&a, 0)),
        Err(Error::UnknownPort { port: Some(12) })
    );
}

#[test]
fn the_most_telling_refusal_is_reported() {
    let (a, b) = two_tagged();
    let (ma, mb) = (
        Model::from_bytes(&a).unwrap(),
        Model::from_bytes(&b).unwrap(),
    );
    let mut set = ModelSet::<2>::new(&[(None, &ma), (None, &mb)]).unwrap();
    // Model 1's payload with a padding bit set: model 0 refuses its tag, model 1 (whose
    // tag it carries) its padding, which says more.
    let mut p = payload(&b, 0);
    let last = p.len() - 1;
    p[last] |= 1;
    assert_eq!(set.route(None, &p), Err(Error::NonZeroPadding));
    assert!(matches!(
        set.route(None, &[0u8; 9]),
        Err(Error::PayloadLength { .. })
    ));
}

#[test]
fn sets_a_receiver_cannot_route_are_refused() {
    let (a, b) = two_tagged();
    let (ma, mb) = (
        Model::from_bytes(&a).unwrap(),
        Model::from_bytes(&b).unwrap(),
    );
    let clash = |r: Result<ModelSet<'_, 4>, Error>| match r {
        Err(Error::ModelSetClash { clash, .. }) => Some(clash),
        _ => None,
    };
    assert_eq!(
        clash(ModelSet::new(&[(Some(7), &ma), (Some(7), &mb)])),
        Some(Clash::SamePort)
    );
    assert_eq!(
        clash(ModelSet::new(&[(Some(7), &ma), (None, &mb)])),
        Some(Clash::MixedPorts)
    );
    // The same model twice: its payloads pass either's checks.
    let bytes = ma.payload_layout().bytes;
    assert_eq!(
        clash(ModelSet::new(&[(None, &ma), (None, &ma)])),
        Some(Clash::Indistinguishable { bytes })
    );
    // Without tag bits, every two models of one payload length clash.
    let untagged = PayloadHeader {
        fingerprint_bits: 0,
        sequence_bits: 4,
    };
    let (c, d) = (variant(0.25, untagged), variant(0.5, untagged));
    let (mc, md) = (
        Model::from_bytes(&c).unwrap(),
        Model::from_bytes(&d).unwrap(),
    );
    assert!(clash(ModelSet::new(&[(None, &mc), (None, &md)])).is_some());
    // ... and are fine on ports of their own.
    assert!(ModelSet::<4>::new(&[(Some(1), &mc), (Some(2), &md)]).is_ok());
    assert!(matches!(
        ModelSet::<1>::new(&[(None, &ma), (None, &mb)]),
        Err(Error::ModelSetSize {
            count: 2,
            capacity: 1
        })
    ));
    assert!(matches!(
        ModelSet::<1>::new(&[]),
        Err(Error::ModelSetSize { count: 0, .. })
    ));
}

#[test]
fn counts_add_up_refusals_and_sequence_events() {
    let mut c = RxCounts::default();
    c.refused(&Error::ForeignModel {
        expected: 1,
        found: 2,
    });
    c.refused(&Error::UnknownPort { port: None });
    c.refused(&Error::NonZeroPadding);
    c.sequence(SequenceEvent::Gap { lost: 3 });
    c.sequence(SequenceEvent::Late { behind: 1 });
    c.sequence(SequenceEvent::Duplicate);
    assert_eq!((c.foreign, c.unknown_port, c.other), (1, 1, 1));
    assert_eq!(c.rejected(), 3);
    assert_eq!((c.gaps, c.lost, c.late, c.duplicates), (1, 2, 1, 1));
}
