//! Payloads written as text: the input read as hex and as base64 into a buffer of the
//! largest payload. What either reads must read back the same when written canonically
//! (lower-case hex; padded standard base64) and never be longer than the buffer.
#![no_main]

use aecodec_core::{payload_from_text, TextFormat, MAX_PAYLOAD_BYTES};
use libfuzzer_sys::fuzz_target;

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            out.push(if k <= chunk.len() {
                A[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    for format in [TextFormat::Hex, TextFormat::Base64] {
        let mut buf = [0u8; MAX_PAYLOAD_BYTES];
        let Ok(bytes) = payload_from_text(format, data, &mut buf) else {
            continue;
        };
        assert!(!bytes.is_empty() && bytes.len() <= MAX_PAYLOAD_BYTES);
        let bytes = bytes.to_vec();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        for (f, text) in [(TextFormat::Hex, hex), (TextFormat::Base64, base64(&bytes))] {
            let mut again = [0u8; MAX_PAYLOAD_BYTES];
            assert_eq!(
                payload_from_text(f, text.as_bytes(), &mut again).map(<[u8]>::to_vec),
                Ok(bytes.clone())
            );
        }
    }
});
