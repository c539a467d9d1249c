//! The receiver: model routing and sequence tracking. The input is a run of records
//! `[port, length, payload…]` fed to two sets of each seed model (alone, routed by length
//! and tag; and the same model on ports 1 and 2, routed by port): a routed payload must
//! decode (routing checks what decoding checks) with the header routing read, and every
//! sequence event must stay within the counter's width and window. The same records then
//! drive a bare `SequenceTracker` of a width taken from the input.
#![no_main]

use aecodec_core::{Codec, ModelSet, SequenceEvent, SequenceTracker};
use aecodec_fuzz::{seed_models, SCRATCH};
use libfuzzer_sys::fuzz_target;

/// Records per input: enough for every sequence rule (the widest window is 32), few
/// enough to keep the target fast.
const MAX_RECORDS: usize = 48;

/// The records of `data`: (port, payload); a record cut short by the end is cut.
fn records(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&port, tail) = rest.split_first()?;
        let (&len, tail) = tail.split_first()?;
        let n = usize::from(len).min(tail.len());
        let (payload, tail) = tail.split_at(n);
        rest = tail;
        Some((port, payload))
    })
    .take(MAX_RECORDS)
}

/// What must hold of any event from a tracker of `bits` bits and `window`.
fn check(event: SequenceEvent, bits: u8, window: u16) {
    let period = 1u64 << bits.min(16);
    match event {
        SequenceEvent::Gap { lost } => assert!(u64::from(lost) < period && lost > 0),
        SequenceEvent::Late { behind } => assert!(behind >= 1 && behind <= window),
        SequenceEvent::Restart { lost } => assert!(u64::from(lost) < period && window > 0),
        SequenceEvent::Untracked => assert_eq!(bits, 0),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    for model in seed_models() {
        let mut codec = Codec::<SCRATCH>::new(model).expect("seed models fit the scratch");
        let mut out = vec![0.0f32; model.input_dim()];
        let bits = model.payload_layout().sequence_bits;
        let window = SequenceTracker::new(bits).reorder_window();
        for ports in [&[None][..], &[Some(1), Some(2)]] {
            let list: Vec<_> = ports.iter().map(|&p| (p, model)).collect();
            let mut set = ModelSet::<'_, 4>::new(&list).expect("one model, or one per port");
            for (port, payload) in records(data) {
                let port = (ports.len() > 1).then_some(port % 4);
                let Ok(routed) = set.route(port, payload) else {
                    continue;
                };
                assert!(routed.index < ports.len() && port.is_none_or(|p| p == 1 || p == 2));
                let info = codec
                    .decode(payload, &mut out)
                    .expect("routing checks as decoding");
                assert_eq!(info, routed.info);
                check(routed.event, bits, window);
            }
        }
    }
    let bits = data.first().map_or(0, |b| b % 17);
    let mut t = SequenceTracker::new(bits);
    for (port, payload) in records(data.get(1..).unwrap_or(&[])) {
        let seq = u16::from_le_bytes([port, payload.first().copied().unwrap_or(0)]);
        check(t.observe(seq, payload), bits, t.reorder_window());
    }
});
