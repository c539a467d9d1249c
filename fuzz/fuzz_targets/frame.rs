//! Frame decoders: the input as a serial byte stream into two streaming decoders (one
//! smaller than the largest frame, one that fits it) and as one frame body into
//! `decode_frame`; then the input (up to 300 bytes) as a payload must survive
//! `encode_frame` -> `decode_frame` unchanged.
#![no_main]

use aecodec_core::{decode_frame, encode_frame, max_frame_len, FrameDecoder, MAX_PAYLOAD_BYTES};
use libfuzzer_sys::fuzz_target;

const FITS: usize = max_frame_len(MAX_PAYLOAD_BYTES) - 1;

fuzz_target!(|data: &[u8]| {
    let mut small = FrameDecoder::<64>::new();
    let mut big = FrameDecoder::<FITS>::new();
    for &b in data {
        if let Some(Ok(p)) = small.push(b) {
            assert!(p.len() + 2 < 64);
        }
        if let Some(Ok(p)) = big.push(b) {
            assert!(p.len() + 2 < FITS);
        }
        if b == 0 {
            assert!(!small.is_mid_frame() && !big.is_mid_frame());
        }
    }

    let mut body = data.to_vec();
    if let Ok(p) = decode_frame(&mut body) {
        assert!(p.len() + 2 < data.len());
    }

    let payload = &data[..data.len().min(300)];
    let mut frame = vec![0u8; max_frame_len(payload.len())];
    let n = encode_frame(payload, &mut frame).expect("buffer sized by max_frame_len");
    assert_eq!(frame[n - 1], 0);
    assert!(!frame[..n - 1].contains(&0));
    assert_eq!(decode_frame(&mut frame[..n - 1]), Ok(payload));
});
