//! Payloads written as text: hex, as logs, consoles and network servers print them, and
//! base64, as network servers' integrations deliver them (RFC 4648). Decoded into a
//! caller's buffer, without allocation; both refuse rather than guess.

use crate::Error;

/// How a payload is written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TextFormat {
    /// Pairs of hex digits (either case), optionally `0x`-prefixed, in tokens separated
    /// by spaces, tabs or colons, each token whole bytes: `0a1bff`, `0x0a1bff`,
    /// `0a 1b ff`, `0a:1b:ff`, `0x0a 0x1b 0xff`.
    Hex,
    /// Base64, the standard (`+/`) or the URL-safe (`-_`) alphabet, `=` padding optional;
    /// unused bits of the last symbol must be zero.
    Base64,
}

impl TextFormat {
    /// Lower-case name (`hex`, `base64`), as the CLI's `--format` writes it.
    pub fn name(self) -> &'static str {
        match self {
            TextFormat::Hex => "hex",
            TextFormat::Base64 => "base64",
        }
    }

    /// Whether `byte` can stand in a payload written in this format: a digit or symbol,
    /// a separator or prefix (hex), padding (base64). For telling text from binary input.
    pub fn allows(self, byte: u8) -> bool {
        match self {
            TextFormat::Hex => nibble(byte).is_some() || b" \t:xX".contains(&byte),
            TextFormat::Base64 => base64_value(byte).is_some() || byte == b'=',
        }
    }
}

/// The value of a hex digit (either case).
fn nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The value of a base64 symbol, standard (`+/`) or URL-safe (`-_`).
fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Decodes the payload written as `text` in `format` into `out`; returns the bytes.
/// Refused ([`Error::PayloadText`], with the offset of the first byte that is wrong) if
/// the text is not that format, holds no byte, or decodes to more than `out` holds.
pub fn payload_from_text<'o>(
    format: TextFormat,
    text: &[u8],
    out: &'o mut [u8],
) -> Result<&'o [u8], Error> {
    let n = match format {
        TextFormat::Hex => hex(text, out)?,
        TextFormat::Base64 => base64(text, out)?,
    };
    if n == 0 {
        return Err(refused(format, 0, "no payload byte"));
    }
    Ok(out.get(..n).unwrap_or(&[]))
}

fn refused(format: TextFormat, at: usize, why: &'static str) -> Error {
    Error::PayloadText { format, at, why }
}

/// Appends `byte` at `out[*n]`, refusing a payload longer than `out`.
fn push(
    out: &mut [u8],
    n: &mut usize,
    byte: u8,
    format: TextFormat,
    at: usize,
) -> Result<(), Error> {
    let slot = out
        .get_mut(*n)
        .ok_or_else(|| refused(format, at, "longer than the largest payload"))?;
    *slot = byte;
    *n += 1;
    Ok(())
}

fn hex(text: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let f = TextFormat::Hex;
    let (mut n, mut at) = (0usize, 0usize);
    for token in text.split(|&b| b == b' ' || b == b'\t' || b == b':') {
        let start = at;
        at += token.len() + 1;
        if token.is_empty() {
            continue;
        }
        let digits = token
            .strip_prefix(b"0x")
            .or_else(|| token.strip_prefix(b"0X"))
            .unwrap_or(token);
        let first = start + token.len() - digits.len();
        if digits.is_empty() || !digits.len().is_multiple_of(2) {
            return Err(refused(f, first, "not whole bytes of hex digits"));
        }
        for (k, pair) in digits.chunks_exact(2).enumerate() {
            let (hi, lo) = (pair.first().copied(), pair.get(1).copied());
            let at = first + 2 * k;
            let hi = hi
                .and_then(nibble)
                .ok_or_else(|| refused(f, at, "not a hex digit"))?;
            let lo = lo
                .and_then(nibble)
                .ok_or_else(|| refused(f, at + 1, "not a hex digit"))?;
            push(out, &mut n, hi << 4 | lo, f, at)?;
        }
    }
    Ok(n)
}

fn base64(text: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let f = TextFormat::Base64;
    let body = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    if body.len() % 4 == 1 {
        return Err(refused(f, body.len(), "a lone symbol at the end"));
    }
    if body.len() != text.len() && !text.len().is_multiple_of(4) {
        return Err(refused(
            f,
            body.len(),
            "padding that does not end a group of 4",
        ));
    }
    let (mut n, mut acc, mut bits) = (0usize, 0u32, 0u32);
    for (at, &c) in body.iter().enumerate() {
        let v = base64_value(c).ok_or_else(|| refused(f, at, "not a base64 symbol"))?;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            push(out, &mut n, (acc >> bits) as u8, f, at)?;
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err(refused(
            f,
            body.len().saturating_sub(1),
            "unused bits that are not zero",
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(format: TextFormat, text: &str) -> Option<std::vec::Vec<u8>> {
        let mut buf = [0u8; 8];
        payload_from_text(format, text.as_bytes(), &mut buf)
            .ok()
            .map(<[u8]>::to_vec)
    }

    #[test]
    fn hex_reads_with_a_prefix_and_separated_bytes() {
        let want = Some(std::vec![0x0a, 0x1b, 0xff]);
        for text in [
            "0a1bff",
            "0A1BFF",
            "0x0a1bff",
            "0a 1b ff",
            "0a:1b:ff",
            "0x0a 0x1b 0xff",
        ] {
            assert_eq!(read(TextFormat::Hex, text), want, "{text}");
        }
        for bad in [
            "",
            "0x",
            "0a1",
            "0a 1bf",
            "0g",
            "0a-1b",
            "0x0x0a",
            "001122334455667788",
        ] {
            assert_eq!(read(TextFormat::Hex, bad), None, "{bad}");
        }
        let mut buf = [0u8; 8];
        assert_eq!(
            payload_from_text(TextFormat::Hex, b"0a 1x", &mut buf),
            Err(Error::PayloadText {
                format: TextFormat::Hex,
                at: 4,
                why: "not a hex digit"
            })
        );
    }

    #[test]
    fn base64_reads_as_rfc_4648_says() {
        let cases: [(&str, &[u8]); 8] = [
            ("Zg==", b"f"),
            ("Zm8=", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYg==", b"foob"),
            ("Zm9vYg", b"foob"),
            ("Zm9vYmFy", b"foobar"),
            ("-_8", &[0xfb, 0xff]),
            ("+/8", &[0xfb, 0xff]),
        ];
        for (text, want) in cases {
            assert_eq!(
                read(TextFormat::Base64, text).as_deref(),
                Some(want),
                "{text}"
            );
        }
        // Empty, a lone symbol, bad padding, outside the alphabet, unused bits set, too
        // long for the buffer.
        for bad in [
            "",
            "Z",
            "Zg=",
            "Zg===",
            "Zm8==",
            "Zm9v!",
            "Zh==",
            "Zm9vYmFyYmF6",
        ] {
            assert_eq!(read(TextFormat::Base64, bad), None, "{bad}");
        }
    }
}
