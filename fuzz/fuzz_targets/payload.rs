//! Payload decoder: the input, and its prefix of each model's payload length, decoded
//! by four fixed valid models (f32 + uniform quantizer, int8 weights + 16-bit codes,
//! full-integer conditional + table quantizer, full-integer with convolutions); then the
//! input drives each model's
//! encode -> decode round trip.
#![no_main]

use aecodec_core::Codec;
use aecodec_fuzz::{exercise, seed_models, SCRATCH};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for model in seed_models() {
        let mut codec = Codec::<SCRATCH>::new(model).expect("seed models fit the scratch");
        let layout = model.payload_layout();
        let mut out = vec![0.0f32; model.input_dim()];
        let prefix = data.get(..usize::from(layout.bytes));
        for p in [Some(data), prefix].into_iter().flatten() {
            if let Ok(info) = codec.decode(p, &mut out) {
                assert_eq!(p.len(), usize::from(layout.bytes));
                assert_eq!(info.sequence.is_some(), layout.sequence_bits > 0);
                match info.label {
                    Some(l) => assert!(l < model.label_count()),
                    None => assert_eq!(model.label_count(), 0),
                }
            }
        }
        exercise(model, data);
    }
});
