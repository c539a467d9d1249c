//! Model blob parser. Input: one byte `s`, then `s` bytes of stimulus (window, sequence
//! number, label, payload for `exercise`), then the model bytes. Keeping the two apart
//! lets the fuzzer change the window without breaking the model, and the reverse.
//!
//! The model bytes are parsed as a whole blob, and as a body behind a valid header (so
//! that the fingerprint check does not stop the fuzzer). A model that loads is driven
//! through encode and decode with the stimulus.
#![no_main]

use aecodec_core::Model;
use aecodec_fuzz::{exercise, with_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&s, rest)) = data.split_first() else {
        return;
    };
    let (stimulus, model) = rest.split_at(usize::from(s).min(rest.len()));
    if let Ok(m) = Model::from_bytes(model) {
        exercise(&m, stimulus);
    }
    let wrapped = with_body(model);
    if let Ok(m) = Model::from_bytes(&wrapped) {
        exercise(&m, stimulus);
    };
});
