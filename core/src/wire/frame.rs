//! Serial frames: `COBS(payload ‖ CRC-16 big-endian) ‖ 0x00`.
//!
//! COBS removes every zero byte from the frame body, so `0x00` marks frame ends and a
//! receiver that starts mid-stream, or after line noise, resynchronizes at the next
//! zero. The CRC (see [`crate::wire::crc`]) catches corrupted bodies.

use crate::wire::crc::crc16;
use crate::Error;

/// Bytes of CRC after the payload.
pub const CRC_LEN: usize = 2;

/// Longest frame (with delimiter) for a payload of `payload_len` bytes.
pub const fn max_frame_len(payload_len: usize) -> usize {
    let body = payload_len + CRC_LEN;
    // one code byte per started 254-byte block, plus the delimiter
    body + body / 254 + 1 + 1
}

struct CobsWriter<'b> {
    out: &'b mut [u8],
    code_at: usize,
    pos: usize,
}

impl CobsWriter<'_> {
    fn push(&mut self, byte: u8) {
        if byte != 0 {
            if let Some(o) = self.out.get_mut(self.pos) {
                *o = byte;
            }
            self.pos += 1;
        }
        let run = self.pos - self.code_at;
        if byte == 0 || run == 0xFF {
            self.close(run as u8);
        }
    }

    fn close(&mut self, code: u8) {
        if let Some(o) = self.out.get_mut(self.code_at) {
            *o = code;
        }
        self.code_at = self.pos;
        self.pos += 1;
    }
}

/// Writes the frame of `payload` into `out`; returns the frame's length (delimiter included).
pub fn encode_frame(payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let needed = max_frame_len(payload.len());
    if out.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            capacity: out.len(),
        });
    }
    let crc = crc16(payload).to_be_bytes();
    let mut w = CobsWriter {
        out,
        code_at: 0,
        pos: 1,
    };
    payload.iter().chain(crc.iter()).for_each(|&b| w.push(b));
    let run = w.pos - w.code_at;
    w.close(run as u8);
    // `close` reserved a code byte at the end: that slot is the delimiter.
    let end = w.code_at;
    if let Some(o) = w.out.get_mut(end) {
        *o = 0;
    }
    Ok(end + 1)
}

/// Decodes one frame body (the bytes between two delimiters) in place and checks its
/// CRC; returns the payload, a prefix of `frame`.
pub fn decode_frame(frame: &mut [u8]) -> Result<&[u8], Error> {
    let len = frame.len();
    let (mut r, mut w) = (0usize, 0usize);
    while r < len {
        let code = frame.get(r).copied().unwrap_or(0);
        if code == 0 {
            return Err(Error::FrameCobs { offset: r });
        }
        let block_end = r + usize::from(code);
        if block_end > len {
            return Err(Error::FrameTruncated {
                needed: block_end,
                got: len,
            });
        }
        r += 1;
        while r < block_end {
            let b = frame.get(r).copied().unwrap_or(0);
            if b == 0 {
                return Err(Error::FrameCobs { offset: r });
            }
            if let Some(o) = frame.get_mut(w) {
                *o = b;
            }
            w += 1;
            r += 1;
        }
        if code != 0xFF && r < len {
            if let Some(o) = frame.get_mut(w) {
                *o = 0;
            }
            w += 1;
        }
    }
    if w < CRC_LEN {
        return Err(Error::FrameTruncated {
            needed: CRC_LEN,
            got: w,
        });
    }
    // w <= frame.len() and w >= CRC_LEN hold here; the checked forms keep that a proof
    // obligation of the code above rather than a possible panic.
    let body = frame.get(..w).unwrap_or(&[]);
    let Some((payload, &[c0, c1])) = body.split_at_checked(w - CRC_LEN) else {
        return Err(Error::FrameTruncated {
            needed: CRC_LEN,
            got: w,
        });
    };
    let received = u16::from_be_bytes([c0, c1]);
    let computed = crc16(payload);
    if received != computed {
        return Err(Error::FrameCrc { received, computed });
    }
    Ok(payload)
}

/// Streaming frame decoder with an `N`-byte buffer: feed it bytes as they come off a
/// UART; it yields each frame's payload or the reason the frame was rejected, and
/// resynchronizes at the next delimiter after garbage or an overlong frame.
#[derive(Debug, Clone)]
pub struct FrameDecoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    /// An empty decoder.
    pub const fn new() -> Self {
        FrameDecoder {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    /// Takes one byte; at a delimiter returns the frame's payload or its error.
    /// Empty frames (consecutive delimiters, often sent to flush a line) are skipped.
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], Error>> {
        if byte != 0 {
            match self.buf.get_mut(self.len) {
                Some(slot) if !self.overflow => {
                    *slot = byte;
                    self.len += 1;
                }
                _ => self.overflow = true,
            }
            return None;
        }
        let len = core::mem::take(&mut self.len);
        if core::mem::take(&mut self.overflow) {
            return Some(Err(Error::FrameOverflow { capacity: N }));
        }
        if len == 0 {
            return None;
        }
        Some(decode_frame(self.buf.get_mut(..len).unwrap_or(&mut [])))
    }

    /// True if bytes of an unfinished frame are buffered.
    pub fn is_mid_frame(&self) -> bool {
        self.len > 0 || self.overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> ([u8; 600], usize) {
        let mut out = [0u8; 600];
        let n = encode_frame(payload, &mut out).unwrap();
        (out, n)
    }

    #[test]
    fn frames_round_trip_including_zeros_and_long_runs() {
        let long: [u8; 300] = core::array::from_fn(|i| (i % 255) as u8 + 1);
        let cases: [&[u8]; 6] = [&[], &[0], &[0, 0, 0], &[1, 2, 3], &long[..253], &long];
        for p in cases {
            let (mut out, n) = frame(p);
            assert!(n <= max_frame_len(p.len()));
            assert_eq!(out[n - 1], 0);
            assert!(!out[..n - 1].contains(&0));
            assert_eq!(decode_frame(&mut out[..n - 1]).unwrap(), p);
        }
    }

    #[test]
    fn known_frame_bytes() {
        // payload 11 00 22; its CRC-16/CCITT-FALSE, 0xBCEF, computed with an independent
        // bitwise implementation.
        let (out, n) = frame(&[0x11, 0x00, 0x22]);
        assert_eq!(&out[..n], &[0x02, 0x11, 0x04, 0x22, 0xBC, 0xEF, 0x00]);
    }

    #[test]
    fn rejects_frame_with_bad_crc() {
        let (mut out, n) = frame(&[5, 6, 7]);
        out[1] ^= 0x40;
        assert!(matches!(
            decode_frame(&mut out[..n - 1]),
            Err(Error::FrameCrc { .. })
        ));
    }

    #[test]
    fn rejects_truncated_frame() {
        let (mut out, n) = frame(&[5, 6, 7, 8]);
        assert!(matches!(
            decode_frame(&mut out[..n - 3]),
            Err(Error::FrameTruncated { .. })
        ));
        assert!(matches!(
            decode_frame(&mut [0x02, 0x07]),
            Err(Error::FrameTruncated { .. })
        ));
    }

    #[test]
    fn stream_decoder_resynchronizes_after_garbage_and_overflow() {
        let mut dec = FrameDecoder::<16>::new();
        let (a, na) = frame(&[1, 2, 3]);
        let mut stream = [0u8; 128];
        let mut len = 0;
        for chunk in [
            &[0x55u8, 0x13, 0x77, 0x00][..],
            &[9u8; 20],
            &[0],
            &a[..na],
            &[0],
            &a[..na],
        ] {
            stream[len..len + chunk.len()].copy_from_slice(chunk);
            len += chunk.len();
        }
        let mut good = 0;
        let mut bad = 0;
        let mut overflow = 0;
        for &b in &stream[..len] {
            match dec.push(b) {
                Some(Ok(p)) => {
                    assert_eq!(p, &[1, 2, 3]);
                    good += 1
                }
                Some(Err(Error::FrameOverflow { capacity: 16 })) => overflow += 1,
                Some(Err(_)) => bad += 1,
                None => {}
            }
        }
        assert_eq!((good, bad, overflow), (2, 1, 1));
        assert!(!dec.is_mid_frame());
    }
}
