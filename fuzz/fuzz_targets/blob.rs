//! Model blob parser. Input: one byte `s`, then `s` bytes of stimulus (window, sequence
//! number, label, payload for `exercise`), then the model bytes. Keeping the two apart
//! lets the fuzzer change the window without breaking the model, and the reverse.
//!
//! The model bytes are parsed as a whole blob, and as a body behind a valid header (so
//! that the fingerprint check does not stop the fuzzer) of version 7 (a body without
//! window levels) and of the newest version (a body with them). A model that loads is
//! driven through encode and decode with the stimulus.
#![no_main]

use aecodec_core::{Model, FORMAT_VERSION, SWITCHED_FORMAT_VERSION};
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
    for version in [SWITCHED_FORMAT_VERSION, FORMAT_VERSION] {
        let wrapped = with_body(model, version);
        if let Ok(m) = Model::from_bytes(&wrapped) {
            exercise(&m, stimulus);
        };
    }
});
