//! Bit-packed payloads: optional header (fingerprint bits, sequence counter), the
//! label of a conditional model, the quantizer mode of a switched model, then each
//! latent code on its own bit width (the mode's). A model that codes window levels sends
//! its mode's escape dimension ([`escape_field`]) first; that field all ones marks a
//! payload with levels, whose level codes and latent codes (on the level spec's widths)
//! follow it.
//!
//! Bits are written most significant first, fields in the order above, and the payload
//! is padded with zero bits to its length (that of the mode with the most code bits).
//! See `spec/packet-format.md`.

use core::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::limits::MAX_PAYLOAD_BYTES;
use crate::Error;

/// What the optional payload header carries.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayloadHeader {
    /// Bits of the model tag in every payload (0..=16; see [`model_tag`]).
    pub fingerprint_bits: u8,
    /// Bits of the sequence counter in every payload (0..=16).
    pub sequence_bits: u8,
}

impl PayloadHeader {
    /// Bits the header takes: the model tag's and the sequence counter's.
    pub const fn bits(&self) -> usize {
        self.fingerprint_bits as usize + self.sequence_bits as usize
    }
}

/// Bit layout of a model's payloads, fixed when the model loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadLayout {
    /// Bits of the model tag carried in each payload ([`model_tag`]: the top bits of a
    /// hash of the fingerprint).
    pub fingerprint_bits: u8,
    /// Bits of the sequence counter.
    pub sequence_bits: u8,
    /// Bits of the label (conditional models).
    pub label_bits: u8,
    /// Quantizer modes (1 but for a switched quantizer).
    pub modes: u8,
    /// Bits of the mode field: ceil(log2 `modes`), 0 for one mode.
    pub mode_bits: u8,
    /// Bits of codes of the payload with the most (the sum of a mode's latent widths; a
    /// payload with levels: its escape field, level codes and latent codes).
    pub code_bits: u16,
    /// Payload length in bytes: ceil(total bits / 8).
    pub bytes: u8,
}

impl PayloadLayout {
    /// The layout of payloads with `header`, the label field of `label_count` labels
    /// (0 or 1: none), the mode field of `modes` quantizer modes (0 or 1: none), and
    /// `code_bits` bits of codes (the most any payload has: the sum of the widths of the
    /// mode with the most, or of a payload with levels).
    /// Refused with [`Error::PayloadTooLarge`] if that is more than
    /// [`MAX_PAYLOAD_BYTES`]; a layout of no bits at all takes one byte.
    ///
    /// The header's widths are taken as they are: a model's are checked (0..=16 each)
    /// when it loads.
    #[inline]
    pub fn new(
        header: PayloadHeader,
        label_count: u16,
        modes: u8,
        code_bits: usize,
    ) -> Result<Self, Error> {
        let label_bits = Self::label_field_bits(usize::from(label_count));
        let mode_bits = Self::mode_field_bits(usize::from(modes));
        let bits = (header.bits() + usize::from(label_bits) + usize::from(mode_bits))
            .saturating_add(code_bits);
        if bits > MAX_PAYLOAD_BYTES * 8 {
            return Err(Error::PayloadTooLarge {
                bits,
                max_bits: MAX_PAYLOAD_BYTES * 8,
            });
        }
        Ok(PayloadLayout {
            fingerprint_bits: header.fingerprint_bits,
            sequence_bits: header.sequence_bits,
            label_bits,
            modes,
            mode_bits,
            code_bits: code_bits as u16,
            bytes: bits.div_ceil(8).max(1) as u8,
        })
    }

    /// Bits of the label field of a model with `label_count` labels: ceil(log2
    /// `label_count`), 0 for an unconditional model (0 labels) or a single label.
    pub const fn label_field_bits(label_count: usize) -> u8 {
        field_bits(label_count)
    }

    /// Bits of the mode field of a quantizer with `modes` modes: ceil(log2 `modes`), 0
    /// for one mode (every quantizer but a switched one; 0 counts as one).
    pub const fn mode_field_bits(modes: usize) -> u8 {
        field_bits(modes)
    }

    /// The bits a payload of `payload_bytes` bytes leaves for codes: its
    /// `8 · payload_bytes` bits less the `header`, the label field of a model with
    /// `label_count` labels ([`PayloadLayout::label_field_bits`]), the mode field of
    /// `modes` quantizer modes ([`PayloadLayout::mode_field_bits`]), the same fields
    /// [`PayloadLayout::new`] lays out. Refused with [`Error::PayloadNoCodeBits`] when no
    /// bit is left. (Window levels take no bit of their own: [`escape_field`].)
    ///
    /// The budget a trainer spreads over latent dimensions; a model whose codes take at
    /// most that many bits has payloads of at most `payload_bytes` bytes. It does not
    /// check `payload_bytes` against [`MAX_PAYLOAD_BYTES`], which a model's layout
    /// ([`PayloadLayout::new`]) may not exceed but a payload format outside the core may.
    ///
    /// ```
    /// use aecodec_core::{PayloadHeader, PayloadLayout};
    /// let header = PayloadHeader { fingerprint_bits: 4, sequence_bits: 4 };
    /// // 11 bytes (LoRaWAN US915 DR0), 8 header bits, 5 labels (3 bits), 1 mode.
    /// let bits = PayloadLayout::code_budget(11, header, 5, 1)?;
    /// assert_eq!(bits.get(), 88 - 8 - 3);
    /// # Ok::<(), aecodec_core::Error>(())
    /// ```
    pub fn code_budget(
        payload_bytes: usize,
        header: PayloadHeader,
        label_count: usize,
        modes: usize,
    ) -> Result<NonZeroUsize, Error> {
        let overhead_bits = header.bits()
            + usize::from(Self::label_field_bits(label_count))
            + usize::from(Self::mode_field_bits(modes));
        payload_bytes
            .checked_mul(8)
            .and_then(|bits| bits.checked_sub(overhead_bits))
            .and_then(NonZeroUsize::new)
            .ok_or(Error::PayloadNoCodeBits {
                payload_bytes,
                overhead_bits,
            })
    }

    /// Total bits before padding (of the payload with the most code bits).
    pub fn total_bits(&self) -> usize {
        self.head_bits() + usize::from(self.code_bits)
    }

    /// Bits before the codes.
    fn head_bits(&self) -> usize {
        usize::from(self.fingerprint_bits)
            + usize::from(self.sequence_bits)
            + usize::from(self.label_bits)
            + usize::from(self.mode_bits)
    }

    /// The tag a payload of the model with `fingerprint` carries: see [`model_tag`].
    pub fn fingerprint_tag(&self, fingerprint: u32) -> u16 {
        model_tag(fingerprint, self.fingerprint_bits)
    }
}

/// Bits of a field that holds `0..count`: ceil(log2 `count`), 0 for one value (or none).
const fn field_bits(count: usize) -> u8 {
    match count {
        0 | 1 => 0,
        n => (usize::BITS - (n - 1).leading_zeros()) as u8,
    }
}

/// The `bits` (0..=16) of a model's identity a payload carries: the top bits of
/// `fingerprint` passed through a 32-bit finalizer (MurmurHash3's `fmix32`, a bijection
/// in which every output bit depends on every input bit).
///
/// FNV-1a alone would not do: its low bits depend only on the low bits of each body
/// byte, so two models differing in bits 4–7 of one byte share their low 4 bits. Every
/// change to a body changes the 32-bit fingerprint (each FNV-1a step is a bijection of
/// the state), and the finalizer spreads that change over all 32 bits, so two different
/// models share a `bits`-bit tag with probability 2^-bits.
pub fn model_tag(fingerprint: u32, bits: u8) -> u16 {
    let mut h = fingerprint;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    match bits.min(16) {
        0 => 0,
        b => (h >> (32 - u32::from(b))) as u16,
    }
}

#[inline]
fn mask(bits: u8) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

/// What a payload says besides its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayloadInfo {
    /// Sequence counter, if the layout has one.
    pub sequence: Option<u16>,
    /// Label, if the model is conditional.
    pub label: Option<u16>,
    /// Quantizer mode the codes are in (0 but for a switched model).
    pub mode: u8,
    /// Whether the payload carries window levels (its escape field all ones).
    pub leveled: bool,
}

/// The bit widths of a model's codes: every quantizer mode's, one after another
/// ([`LatentQuantizer::bits`](crate::LatentQuantizer::bits)), and for a model that codes
/// levels, each channel's level code and every mode's widths in a payload with levels
/// ([`LevelSpec`](crate::model::LevelSpec)'s `bits` and `code_bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widths<'a> {
    /// Every mode's latent widths.
    pub codes: &'a [u8],
    /// Level code widths, and every mode's latent widths after levels.
    pub level: Option<(&'a [u8], &'a [u8])>,
}

impl<'a> Widths<'a> {
    /// Widths of latent codes alone (a model that codes no levels).
    pub const fn plain(codes: &'a [u8]) -> Self {
        Widths { codes, level: None }
    }

    /// The latent widths of `mode` (of `modes`) in a payload without levels.
    fn plain_of(&self, modes: u8, mode: u8) -> &'a [u8] {
        mode_widths(self.codes, modes, mode)
    }

    /// The escape field of `mode` ([`escape_field`]), for a model that codes levels.
    fn escape(&self, modes: u8, mode: u8) -> Option<(usize, u8)> {
        self.level.and(escape_field(self.plain_of(modes, mode)))
    }

    /// The level codes' widths and the latent widths of `mode` in a payload with levels.
    fn leveled(&self, modes: u8, mode: u8) -> (&'a [u8], &'a [u8]) {
        match self.level {
            Some((levels, codes)) => (levels, mode_widths(codes, modes, mode)),
            None => (&[], &[]),
        }
    }
}

/// The escape field of a model that codes window levels, in a mode of latent widths
/// `plain`: its widest dimension (the first of the widest), `(index, width)`, `None` for
/// a mode without bits. Its code is sent first; all ones (`2^width − 1`) marks a payload
/// with levels, so a payload without them never carries that code there (the encoder
/// takes the cell below), and no payload spends a bit on a flag.
pub fn escape_field(plain: &[u8]) -> Option<(usize, u8)> {
    let (index, &width) = plain.iter().enumerate().rev().max_by_key(|&(_, &b)| b)?;
    (width > 0).then_some((index, width))
}

/// Code bits of a payload with levels in a mode of latent widths `plain`: its escape
/// field, the level codes of widths `levels`, and the latent codes of widths `leveled`.
pub fn leveled_code_bits(plain: &[u8], levels: &[u8], leveled: &[u8]) -> usize {
    let sum = |bits: &[u8]| bits.iter().map(|&b| usize::from(b)).sum::<usize>();
    let escape = escape_field(plain).map_or(0, |(_, b)| usize::from(b));
    escape + sum(levels) + sum(leveled)
}

struct BitWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl BitWriter<'_> {
    /// Appends the low `bits` bits of `value`, most significant first (`bits` <= 32),
    /// as many at a time as the current byte has room for. Out of line: its loop is
    /// larger than a call, and a payload has a handful of call sites.
    #[inline(never)]
    fn put(&mut self, value: u32, bits: u8) {
        let mut left = u32::from(bits);
        while left > 0 {
            let used = (self.pos % 8) as u32;
            let take = (8 - used).min(left);
            left -= take;
            let chunk = value.checked_shr(left).unwrap_or(0) & ((1 << take) - 1);
            if let Some(b) = self.buf.get_mut(self.pos / 8) {
                *b |= (chunk << (8 - used - take)) as u8;
            }
            self.pos += take as usize;
        }
    }
}

struct BitReader<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl BitReader<'_> {
    /// The next `bits` bits (<= 32), most significant first; bits past the end read 0.
    #[inline(never)]
    fn get(&mut self, bits: u8) -> u32 {
        let mut v = 0u32;
        let mut left = u32::from(bits);
        while left > 0 {
            let used = (self.pos % 8) as u32;
            let take = (8 - used).min(left);
            let byte = u32::from(self.buf.get(self.pos / 8).copied().unwrap_or(0));
            let chunk = (byte >> (8 - used - take)) & ((1 << take) - 1);
            v = (v << take) | chunk;
            left -= take;
            self.pos += take as usize;
        }
        v
    }
}

/// A payload's bytes checked against a model's layout, whose header fields are read
/// without decoding its codes (in the manner of smoltcp's `Packet<T>`): a receiver can
/// look at the model tag, sequence counter and label first, and decode only what it
/// keeps.
///
/// ```
/// # use aecodec_core::{Model, PayloadView};
/// # fn f(model: &Model<'_>, bytes: &[u8]) -> Result<(), aecodec_core::Error> {
/// let view = PayloadView::new_checked(bytes, *model.payload_layout())?;
/// if view.tag() == model.payload_layout().fingerprint_tag(model.payload_fingerprint()) {
///     let _sequence = view.sequence();
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadView<T: AsRef<[u8]>> {
    buffer: T,
    layout: PayloadLayout,
}

impl<T: AsRef<[u8]>> PayloadView<T> {
    /// `buffer` as a payload of `layout`: refused unless it is `layout.bytes` long. Every
    /// read below then stays inside it.
    pub fn new_checked(buffer: T, layout: PayloadLayout) -> Result<Self, Error> {
        let found = buffer.as_ref().len();
        if found != usize::from(layout.bytes) {
            return Err(Error::PayloadLength {
                expected: usize::from(layout.bytes),
                found,
            });
        }
        Ok(PayloadView { buffer, layout })
    }

    /// The layout it was checked against.
    pub fn layout(&self) -> PayloadLayout {
        self.layout
    }

    /// The bytes.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn reader_at(&self, pos: usize) -> BitReader<'_> {
        BitReader {
            buf: self.buffer.as_ref(),
            pos,
        }
    }

    /// The model tag ([`model_tag`]; 0 for a layout without one).
    pub fn tag(&self) -> u16 {
        self.reader_at(0).get(self.layout.fingerprint_bits) as u16
    }

    /// The sequence counter, if the layout has one.
    pub fn sequence(&self) -> Option<u16> {
        let at = usize::from(self.layout.fingerprint_bits);
        let bits = self.layout.sequence_bits;
        (bits > 0).then(|| self.reader_at(at).get(bits) as u16)
    }

    /// The label field (0 for a layout without one; a conditional model's labels are
    /// checked by [`PayloadRepr::parse`]'s caller against the model's count).
    pub fn label(&self) -> u16 {
        let at = usize::from(self.layout.fingerprint_bits) + usize::from(self.layout.sequence_bits);
        self.reader_at(at).get(self.layout.label_bits) as u16
    }

    /// The quantizer mode field (0 for a layout without one; checked against the
    /// model's modes by [`PayloadRepr::parse`]).
    pub fn mode(&self) -> u8 {
        let l = &self.layout;
        let at = l.head_bits() - usize::from(l.mode_bits);
        self.reader_at(at).get(l.mode_bits) as u8
    }
}

/// A payload's fields (in the manner of smoltcp's `Repr`): what [`PayloadRepr::emit`]
/// writes and [`PayloadRepr::parse`] reads, with the codes in a caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadRepr<'c> {
    /// The model tag (its low `fingerprint_bits` are sent).
    pub tag: u16,
    /// The sequence counter (its low `sequence_bits` are sent).
    pub sequence: u16,
    /// The label (conditional models; `label_bits` are sent).
    pub label: u16,
    /// The quantizer mode of the codes (switched models; `mode_bits` are sent).
    pub mode: u8,
    /// Each channel's level code, for a payload with levels (its escape field all ones);
    /// `None` otherwise.
    pub levels: Option<&'c [u16]>,
    /// One code per latent dimension, each on its width in the mode.
    pub codes: &'c [u16],
}

impl<'c> PayloadRepr<'c> {
    /// Reads every field of `view`: the level codes of a payload with levels into
    /// `levels` (one per channel), the codes into `codes` (one per dimension), each on
    /// its width in `widths` for the payload's mode. Refuses a payload whose mode is not
    /// one of `layout.modes` or whose padding bits are not zero.
    pub fn parse<T: AsRef<[u8]>>(
        view: &PayloadView<T>,
        widths: Widths<'_>,
        codes: &'c mut [u16],
        levels: &'c mut [u16],
    ) -> Result<PayloadRepr<'c>, Error> {
        let layout = view.layout;
        let mut r = view.reader_at(0);
        let tag = r.get(layout.fingerprint_bits) as u16;
        let sequence = r.get(layout.sequence_bits) as u16;
        let label = r.get(layout.label_bits) as u16;
        let mode = r.get(layout.mode_bits) as u8;
        if mode >= layout.modes.max(1) {
            return Err(Error::BadMode {
                mode,
                count: layout.modes,
            });
        }
        let mut bits = widths.plain_of(layout.modes, mode);
        let mut level_bits: &[u8] = &[];
        let mut skip = None;
        if let Some((e, b)) = widths.escape(layout.modes, mode) {
            let first = r.get(b);
            if first == mask(b) {
                (level_bits, bits) = widths.leveled(layout.modes, mode);
                for (&b, c) in level_bits.iter().zip(levels.iter_mut()) {
                    *c = r.get(b) as u16;
                }
            } else {
                if let Some(c) = codes.get_mut(e) {
                    *c = first as u16;
                }
                skip = Some(e);
            }
        }
        for (d, (&b, c)) in bits.iter().zip(codes.iter_mut()).enumerate() {
            if skip != Some(d) {
                *c = r.get(b) as u16;
            }
        }
        // Every bit after the codes, which for a mode with fewer code bits than the
        // longest is more than one byte's padding.
        let mut padding = (usize::from(layout.bytes) * 8).saturating_sub(r.pos);
        while padding > 0 {
            let take = padding.min(32);
            if r.get(take as u8) != 0 {
                return Err(Error::NonZeroPadding);
            }
            padding -= take;
        }
        let n = bits.len().min(codes.len());
        let c = level_bits.len().min(levels.len());
        let leveled = !level_bits.is_empty();
        Ok(PayloadRepr {
            tag,
            sequence,
            label,
            mode,
            levels: leveled.then(|| levels.get(..c).unwrap_or(&[])),
            codes: codes.get(..n).unwrap_or(&[]),
        })
    }

    /// Writes the payload into `out` (zeroed first: at least `layout.bytes` long, the
    /// rest untouched) with each code on its width in the mode (`widths` as for
    /// [`PayloadRepr::parse`]); returns its length, 0 if `out` is too short. Fields are
    /// cut to their widths; levels are written only for a model that codes them (whose
    /// `widths` have levels), and the escape field's code of a payload without them is
    /// written as it is (the encoder keeps it below all ones).
    pub fn emit(&self, layout: &PayloadLayout, widths: Widths<'_>, out: &mut [u8]) -> usize {
        let n = usize::from(layout.bytes);
        let Some(out) = out.get_mut(..n) else {
            return 0;
        };
        out.fill(0);
        let mut w = BitWriter { buf: out, pos: 0 };
        w.put(u32::from(self.tag), layout.fingerprint_bits);
        w.put(
            u32::from(self.sequence) & mask(layout.sequence_bits),
            layout.sequence_bits,
        );
        w.put(u32::from(self.label), layout.label_bits);
        w.put(u32::from(self.mode), layout.mode_bits);
        let mut bits = widths.plain_of(layout.modes, self.mode);
        let mut skip = None;
        if let Some((e, b)) = widths.escape(layout.modes, self.mode) {
            if let Some(levels) = self.levels {
                w.put(mask(b), b);
                let level_bits;
                (level_bits, bits) = widths.leveled(layout.modes, self.mode);
                for (&b, &c) in level_bits.iter().zip(levels) {
                    w.put(u32::from(c), b);
                }
            } else {
                w.put(u32::from(self.codes.get(e).copied().unwrap_or(0)), b);
                skip = Some(e);
            }
        }
        for (d, (&b, &c)) in bits.iter().zip(self.codes).enumerate() {
            if skip != Some(d) {
                w.put(u32::from(c), b);
            }
        }
        n
    }
}

/// The widths of `mode` in a table of `modes` allocations (empty for a mode past them).
fn mode_widths(bits: &[u8], modes: u8, mode: u8) -> &[u8] {
    let k = bits.len() / usize::from(modes.max(1));
    let at = usize::from(mode) * k;
    bits.get(at..at + k).unwrap_or(&[])
}

/// Reads a payload's header and codes, checking everything that can be checked: its
/// length, the model tag, the label against `label_count`, the mode, the padding.
///
/// `widths` are the model's, as for [`PayloadRepr::parse`].
pub(crate) fn unpack(
    layout: &PayloadLayout,
    fingerprint: u32,
    label_count: u16,
    widths: Widths<'_>,
    payload: &[u8],
    codes: &mut [u16],
    levels: &mut [u16],
) -> Result<PayloadInfo, Error> {
    let view = PayloadView::new_checked(payload, *layout)?;
    let expected = layout.fingerprint_tag(fingerprint);
    let tag = view.tag();
    if tag != expected {
        return Err(Error::ForeignModel {
            expected,
            found: tag,
        });
    }
    let label = view.label();
    if label_count > 0 && label >= label_count {
        return Err(Error::BadLabel {
            label,
            count: label_count,
        });
    }
    let repr = PayloadRepr::parse(&view, widths, codes, levels)?;
    Ok(PayloadInfo {
        sequence: (layout.sequence_bits > 0).then_some(repr.sequence),
        label: (label_count > 0).then_some(repr.label),
        mode: repr.mode,
        leveled: repr.levels.is_some(),
    })
}

/// What a receiver learns from a payload's sequence counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SequenceEvent {
    /// The layout has no sequence counter.
    Untracked,
    /// The first payload seen.
    First,
    /// The payload after the newest one so far.
    InOrder,
    /// `lost` payloads are missing before this one (modulo the counter's period).
    Gap {
        /// Payloads missing.
        lost: u32,
    },
    /// A payload counted missing by an earlier [`SequenceEvent::Gap`] arrived late:
    /// `behind` counter steps behind the newest one. One fewer payload is lost.
    Late {
        /// Steps behind the newest counter seen.
        behind: u16,
    },
    /// The same counter and the same bytes as a payload that arrived shortly before: a
    /// repeat (a radio retry, a network server's duplicate).
    Duplicate,
    /// The counter started again from 0 (the sender was reset): this payload is the
    /// new run's counter `lost`, after `lost` payloads of the new run that did not
    /// arrive. Payloads the old run sent after its newest one seen cannot be counted.
    Restart {
        /// Payloads of the new run missing before this one.
        lost: u32,
    },
}

/// Most counter values behind the newest one that a [`SequenceTracker`] remembers.
pub const REORDER_WINDOW_MAX: u16 = 32;
/// Most arrivals after a payload that a copy of it is still a repeat.
pub const REPEAT_ARRIVALS_MAX: u8 = 16;
/// Digests a [`SequenceTracker`] keeps: more than the window holds, a power of two.
const DIGEST_SLOTS: usize = 2 * REORDER_WINDOW_MAX as usize;

/// Follows a stream's sequence counter: tells in-order payloads, losses, late (reordered)
/// payloads, repeats and a sender's reset apart.
///
/// With `s` counter bits (period `P = 2^s`) it remembers which of the last
/// `W = min(32, P / 4)` counter values it has seen (0 for one bit) with a 32-bit digest
/// of each one's bytes, and the counter and digest of the last `H = min(16, P / 2)`
/// payloads that arrived. For a payload with counter `c`, `ahead` its forward distance
/// from the newest counter modulo `P` (`P` for the newest itself) and `behind = P − ahead`:
///
/// 1. the counter and bytes of one of the last `H` arrivals: [`SequenceEvent::Duplicate`];
/// 2. `behind ≤ W` and that value not seen: [`SequenceEvent::Late`];
/// 3. `behind ≤ W`, that value seen: a reset if `c < W`, else a stale repeat if its
///    bytes are the ones seen there ([`SequenceEvent::Duplicate`]), else a reset (not
///    for one bit, whose `W` is 0);
/// 4. otherwise ahead: a reset if `ahead − 1 > W` and `c < W` (a run of more than `W`
///    losses is less likely than a reset), else [`SequenceEvent::InOrder`] or
///    [`SequenceEvent::Gap`] of `ahead − 1`.
///
/// What it cannot tell apart is the counter's width's to choose: a loss of more than `W`
/// payloads in a row that lands on a counter below `W` reads as a reset; one of
/// `P − W − 1` or more is misread; a reset within `H` arrivals of payloads whose bytes
/// the new run repeats exactly (a steady signal) reads as repeats until the new run
/// passes them; a repeat delivered more than `H` arrivals late counts as a reset or as
/// ahead. `spec/packet-format.md` has the table per width.
#[derive(Debug, Clone)]
pub struct SequenceTracker {
    bits: u8,
    window: u16,
    newest: Option<u16>,
    /// Bit `i`: counter `newest - i` was seen (`i` in `0..=window`).
    seen: u64,
    /// Digest of the payload seen with counter `c`, at `c % DIGEST_SLOTS`: values up to
    /// the window apart never share a slot (and `2^s` is a multiple of the slot count
    /// whenever `2^s` exceeds it, so the slots stay consistent across a wrap).
    digests: [u32; DIGEST_SLOTS],
    /// Counter and digest of the last arrivals (not repeats), a ring of `horizon` slots.
    recent: [(u16, u32); REPEAT_ARRIVALS_MAX as usize],
    /// Arrivals held in `recent` (up to `horizon`).
    recent_len: u8,
    /// Slot of `recent` the next arrival takes.
    recent_next: u8,
    /// `H`: arrivals a repeat is recognized within.
    horizon: u8,
}

impl SequenceTracker {
    /// A tracker for a counter of `bits` bits (from [`PayloadLayout::sequence_bits`]).
    pub fn new(bits: u8) -> Self {
        let bits = bits.min(16);
        let period = 1u32 << bits;
        let window = match bits {
            0 | 1 => 0,
            _ => (period / 4).min(u32::from(REORDER_WINDOW_MAX)) as u16,
        };
        SequenceTracker {
            bits,
            window,
            newest: None,
            seen: 0,
            digests: [0; DIGEST_SLOTS],
            recent: [(0, 0); REPEAT_ARRIVALS_MAX as usize],
            recent_len: 0,
            recent_next: 0,
            horizon: (period / 2).min(u32::from(REPEAT_ARRIVALS_MAX)) as u8,
        }
    }

    /// Counter values behind the newest one that are told apart from losses.
    pub fn reorder_window(&self) -> u16 {
        self.window
    }

    /// Arrivals within which a copy of a payload is a repeat.
    pub fn repeat_horizon(&self) -> u8 {
        self.horizon
    }

    /// Records the payload `bytes` with counter `sequence` and says how it follows the
    /// payloads seen before.
    pub fn observe(&mut self, sequence: u16, bytes: &[u8]) -> SequenceEvent {
        if self.bits == 0 {
            return SequenceEvent::Untracked;
        }
        let m = mask(self.bits);
        let seq = u32::from(sequence) & m;
        // FNV-1a 32 of the bytes: tells a repeat from a new payload with the same counter.
        let digest = crate::bytes::fnv1a32(bytes);
        let recent = self
            .recent
            .get(..usize::from(self.recent_len))
            .unwrap_or(&[]);
        if recent.contains(&(seq as u16, digest)) {
            return SequenceEvent::Duplicate;
        }
        let event = self.follow(seq, digest);
        if event != SequenceEvent::Duplicate {
            self.remember(seq, digest);
        }
        event
    }

    /// [`SequenceTracker::observe`] of a payload that is not a recent repeat (rules 2 to
    /// 4).
    fn follow(&mut self, seq: u32, digest: u32) -> SequenceEvent {
        let m = mask(self.bits);
        let slot = seq as usize % DIGEST_SLOTS;
        let Some(newest) = self.newest else {
            self.restart(seq, digest);
            return SequenceEvent::First;
        };
        let ahead = match seq.wrapping_sub(u32::from(newest)) & m {
            0 => m + 1,
            a => a,
        };
        let behind = m + 1 - ahead;
        let window = u32::from(self.window);
        let reset = || SequenceEvent::Restart { lost: seq };
        // (A one-bit counter has no window: the newest counter again reads as ahead.)
        if behind <= window && window > 0 {
            let bit = 1u64 << behind;
            if self.seen & bit == 0 {
                self.seen |= bit;
                if let Some(d) = self.digests.get_mut(slot) {
                    *d = digest;
                }
                return SequenceEvent::Late {
                    behind: behind as u16,
                };
            }
            if seq >= window && self.digests.get(slot) == Some(&digest) {
                return SequenceEvent::Duplicate;
            }
            self.restart(seq, digest);
            return reset();
        }
        if ahead - 1 > window && seq < window {
            self.restart(seq, digest);
            return reset();
        }
        self.advance(seq, ahead, slot, digest);
        if ahead == 1 {
            SequenceEvent::InOrder
        } else {
            SequenceEvent::Gap { lost: ahead - 1 }
        }
    }

    /// Adds an arrival to the recent ones.
    fn remember(&mut self, seq: u32, digest: u32) {
        if let Some(r) = self.recent.get_mut(usize::from(self.recent_next)) {
            *r = (seq as u16, digest);
        }
        self.recent_next = (self.recent_next + 1) % self.horizon.max(1);
        self.recent_len = (self.recent_len + 1).min(self.horizon);
    }

    /// Makes `seq` the newest and only counter seen (the first payload, or a reset).
    fn restart(&mut self, seq: u32, digest: u32) {
        self.seen = 0;
        self.advance(seq, 0, seq as usize % DIGEST_SLOTS, digest);
    }

    /// Makes `seq` the newest counter, `ahead` steps after the previous newest.
    fn advance(&mut self, seq: u32, ahead: u32, slot: usize, digest: u32) {
        self.seen = self.seen.checked_shl(ahead).unwrap_or(0) | 1;
        self.newest = Some(seq as u16);
        if let Some(d) = self.digests.get_mut(slot) {
            *d = digest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_widths_are_ceil_log2_of_the_count() {
        let widths = [
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 3),
            (16, 4),
            (17, 5),
        ];
        for (count, bits) in widths {
            assert_eq!(PayloadLayout::label_field_bits(count), bits, "{count}");
            assert_eq!(PayloadLayout::mode_field_bits(count), bits, "{count}");
        }
        assert_eq!(PayloadLayout::label_field_bits(1024), 10);
        assert_eq!(PayloadLayout::label_field_bits(1025), 11);
        assert_eq!(PayloadLayout::label_field_bits(usize::MAX), 64);
    }

    #[test]
    fn code_budget_fills_a_layout_of_exactly_that_many_bytes() {
        for (fingerprint_bits, sequence_bits) in [(0, 0), (4, 4), (16, 16), (3, 0)] {
            let header = PayloadHeader {
                fingerprint_bits,
                sequence_bits,
            };
            for labels in [0u16, 1, 2, 5, 1024] {
                for modes in [1u8, 2, 3, 16] {
                    for bytes in 1..=MAX_PAYLOAD_BYTES {
                        let budget = PayloadLayout::code_budget(
                            bytes,
                            header,
                            usize::from(labels),
                            usize::from(modes),
                        );
                        let overhead = header.bits()
                            + usize::from(PayloadLayout::label_field_bits(labels.into()))
                            + usize::from(PayloadLayout::mode_field_bits(modes.into()));
                        let Ok(bits) = budget else {
                            assert!(overhead >= bytes * 8, "{bytes} bytes, {overhead} bits");
                            continue;
                        };
                        assert_eq!(bits.get(), bytes * 8 - overhead);
                        let layout = PayloadLayout::new(header, labels, modes, bits.get()).unwrap();
                        assert_eq!(usize::from(layout.bytes), bytes);
                        assert_eq!(layout.total_bits(), bytes * 8);
                        assert!(PayloadLayout::new(header, labels, modes, bits.get() + 1)
                            .map_or(true, |l| usize::from(l.bytes) == bytes + 1));
                    }
                }
            }
        }
    }

    #[test]
    fn code_budget_refuses_a_payload_with_no_bits_left() {
        let header = PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 4,
        };
        let refused = |bytes, labels, modes, overhead_bits| {
            assert_eq!(
                PayloadLayout::code_budget(bytes, header, labels, modes),
                Err(Error::PayloadNoCodeBits {
                    payload_bytes: bytes,
                    overhead_bits
                })
            );
        };
        refused(0, 0, 1, 8);
        refused(1, 0, 1, 8);
        refused(1, 2, 2, 10);
        refused(2, 256, 1, 16);
        refused(usize::MAX, 0, 1, 8); // 8 · bytes overflows: no such payload
        assert_eq!(
            PayloadLayout::code_budget(3, header, 255, 1).map(NonZeroUsize::get),
            Ok(24 - 8 - 8)
        );
        assert_eq!(
            PayloadLayout::code_budget(12, header, 0, 2).map(NonZeroUsize::get),
            Ok(96 - 8 - 1)
        );
    }

    #[test]
    fn layout_refuses_more_than_the_largest_payload() {
        let header = PayloadHeader {
            fingerprint_bits: 16,
            sequence_bits: 16,
        };
        let max_bits = MAX_PAYLOAD_BYTES * 8;
        assert_eq!(
            PayloadLayout::new(header, 0, 1, max_bits - 31),
            Err(Error::PayloadTooLarge {
                bits: max_bits + 1,
                max_bits
            })
        );
        assert_eq!(
            PayloadLayout::new(header, 0, 1, usize::MAX),
            Err(Error::PayloadTooLarge {
                bits: usize::MAX,
                max_bits
            })
        );
        let empty = PayloadLayout::new(PayloadHeader::default(), 0, 0, 0).unwrap();
        assert_eq!((empty.bytes, empty.total_bits()), (1, 0));
    }

    #[test]
    fn sequence_tracker_reports_gaps_across_wraparound() {
        let mut t = SequenceTracker::new(4);
        assert_eq!(t.reorder_window(), 4);
        assert_eq!(t.observe(14, &[14]), SequenceEvent::First);
        assert_eq!(t.observe(15, &[15]), SequenceEvent::InOrder);
        assert_eq!(t.observe(0, &[0]), SequenceEvent::InOrder);
        assert_eq!(t.observe(3, &[3]), SequenceEvent::Gap { lost: 2 });
        assert_eq!(t.observe(3, &[3]), SequenceEvent::Duplicate);
        assert_eq!(
            SequenceTracker::new(0).observe(5, &[]),
            SequenceEvent::Untracked
        );
    }

    #[test]
    fn sequence_tracker_tells_late_from_lost_and_repeats_from_resets() {
        let mut t = SequenceTracker::new(4);
        assert_eq!((t.reorder_window(), t.repeat_horizon()), (4, 8));
        t.observe(4, b"a");
        // 5 and 6 swapped: one gap, then the late one
        assert_eq!(t.observe(6, b"c"), SequenceEvent::Gap { lost: 1 });
        assert_eq!(t.observe(5, b"b"), SequenceEvent::Late { behind: 1 });
        // a late payload repeated, and the newest repeated
        assert_eq!(t.observe(5, b"b"), SequenceEvent::Duplicate);
        assert_eq!(t.observe(6, b"c"), SequenceEvent::Duplicate);
        assert_eq!(t.observe(7, b"d"), SequenceEvent::InOrder);
        // counter 7 again with other bytes: a reset whose run reached 7 unseen (fewer
        // losses than a whole period of 15)
        assert_eq!(t.observe(7, b"e"), SequenceEvent::Restart { lost: 7 });
        // counter 6 is one behind and unseen: late
        assert_eq!(t.observe(6, b"f"), SequenceEvent::Late { behind: 1 });
        // a gap of more than the window that lands below it: a reset
        assert_eq!(t.observe(1, b"g"), SequenceEvent::Restart { lost: 1 });
        // one that lands at or above it: losses
        assert_eq!(t.observe(7, b"h"), SequenceEvent::Gap { lost: 5 });
        let mut t = SequenceTracker::new(8);
        assert_eq!((t.reorder_window(), t.repeat_horizon()), (32, 16));
        t.observe(100, b"x");
        assert_eq!(t.observe(68, b"y"), SequenceEvent::Late { behind: 32 });
        assert_eq!(t.observe(100, b"x"), SequenceEvent::Duplicate);
        assert_eq!(t.observe(68, b"y"), SequenceEvent::Duplicate);
        // past the window behind and above it: ahead, after 222 losses
        assert_eq!(t.observe(67, b"z"), SequenceEvent::Gap { lost: 222 });
        assert_eq!(SequenceTracker::new(1).reorder_window(), 0);
        assert_eq!(SequenceTracker::new(16).reorder_window(), 32);
        assert_eq!(SequenceTracker::new(1).repeat_horizon(), 1);
        // One bit: the same counter with other bytes is one payload lost, never a reset.
        let mut t = SequenceTracker::new(1);
        t.observe(0, b"a");
        assert_eq!(t.observe(0, b"b"), SequenceEvent::Gap { lost: 1 });
        assert_eq!(t.observe(1, b"c"), SequenceEvent::InOrder);
    }

    #[test]
    fn a_repeat_is_recognized_within_the_horizon_and_a_stale_copy_is_not_a_reset() {
        // 8-bit counter: window 32, horizon 16.
        let mut t = SequenceTracker::new(8);
        for c in 40..=60u16 {
            t.observe(c, &c.to_le_bytes());
        }
        // counter 44 again, 17 arrivals after it: beyond the horizon but in the window
        // and above it, with its bytes: a stale repeat
        assert_eq!(
            t.observe(44, &44u16.to_le_bytes()),
            SequenceEvent::Duplicate
        );
        // with other bytes: the sender was reset and its new run reached 44
        assert_eq!(t.observe(44, b"new"), SequenceEvent::Restart { lost: 44 });
    }

    #[test]
    fn a_reset_sender_is_a_restart_never_repeats_or_a_period_of_losses() {
        // A 4-bit counter tells a reset from a short gap while its newest value is below
        // 11 (a reset at 11..=15 is 0 to 4 losses away).
        for (bits, run) in [(4u8, 11u16), (8, 30), (16, 30)] {
            // A steady signal: every payload of a run has the same bytes per counter.
            let mut t = SequenceTracker::new(bits);
            let mut events = std::vec::Vec::new();
            for round in 0..2 {
                for c in 0..run {
                    events.push((round, c, t.observe(c, &[c as u8, 7])));
                }
            }
            let count = |f: fn(&SequenceEvent) -> bool| events.iter().filter(|e| f(&e.2)).count();
            let what = std::format!("{bits} bits: {events:?}");
            assert_eq!(
                count(|e| matches!(e, SequenceEvent::Duplicate)),
                0,
                "{what}"
            );
            assert_eq!(
                count(|e| matches!(e, SequenceEvent::Gap { .. })),
                0,
                "{what}"
            );
            assert_eq!(
                events[run as usize].2,
                SequenceEvent::Restart { lost: 0 },
                "{what}"
            );
        }
        // A reset after 109 payloads of a 16-bit counter, with new bytes: no 65,426 lost.
        let mut t = SequenceTracker::new(16);
        for c in 0..110u16 {
            t.observe(c, &c.to_le_bytes());
        }
        assert_eq!(t.observe(2, b"after"), SequenceEvent::Restart { lost: 2 });
        assert_eq!(t.observe(3, b"next"), SequenceEvent::InOrder);
    }

    #[test]
    fn every_payload_repeated_a_few_arrivals_later_is_written_once() {
        // The default 4-bit counter, each payload delivered again 6 arrivals later.
        let mut t = SequenceTracker::new(4);
        let sent: std::vec::Vec<u16> = (0..110).collect();
        let mut arrivals = std::vec::Vec::new();
        for (i, &k) in sent.iter().enumerate() {
            arrivals.push(k);
            if i >= 6 {
                arrivals.push(sent[i - 6]);
            }
        }
        let (mut new, mut lost, mut dups) = (0, 0u32, 0);
        for k in arrivals {
            match t.observe(k & 15, &k.to_le_bytes()) {
                SequenceEvent::Duplicate => dups += 1,
                SequenceEvent::Gap { lost: l } => {
                    lost += l;
                    new += 1
                }
                e => {
                    assert!(
                        matches!(e, SequenceEvent::First | SequenceEvent::InOrder),
                        "{k}: {e:?}"
                    );
                    new += 1
                }
            }
        }
        assert_eq!((new, lost, dups), (110, 0, 104));
    }

    #[test]
    fn bits_round_trip_msb_first() {
        let mut buf = [0u8; 4];
        let mut w = BitWriter {
            buf: &mut buf,
            pos: 0,
        };
        w.put(0b101, 3);
        w.put(0xABCD, 16);
        w.put(1, 1);
        assert_eq!(buf, [0b1011_0101, 0b0111_1001, 0b1011_0000, 0]);
        let mut r = BitReader { buf: &buf, pos: 0 };
        assert_eq!((r.get(3), r.get(16), r.get(1)), (0b101, 0xABCD, 1));
    }

    /// Chunked reads and writes against one bit at a time, for every width 0..=16 at
    /// every bit position, and past the end of the buffer (writes dropped, reads 0).
    #[test]
    fn bits_match_a_bit_at_a_time_reference() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2_000 {
            let mut fields = std::vec::Vec::new();
            let mut total = 0usize;
            while total < 8 * 9 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let bits = (s % 17) as u8;
                fields.push(((s >> 20) as u32, bits));
                total += usize::from(bits);
            }
            let mut buf = [0u8; 8];
            let mut w = BitWriter {
                buf: &mut buf,
                pos: round % 8,
            };
            let mut expected = [0u8; 8];
            let mut pos = round % 8;
            for &(v, bits) in &fields {
                w.put(v, bits);
                for i in (0..bits).rev() {
                    if (v >> i) & 1 == 1 && pos / 8 < 8 {
                        expected[pos / 8] |= 0x80 >> (pos % 8);
                    }
                    pos += 1;
                }
            }
            assert_eq!(buf, expected, "round {round}");
            let mut r = BitReader {
                buf: &buf,
                pos: round % 8,
            };
            let mut pos = round % 8;
            for &(v, bits) in &fields {
                let want = (0..bits).fold(0u32, |acc, _| {
                    let bit = buf.get(pos / 8).map_or(0, |b| (b >> (7 - pos % 8)) & 1);
                    pos += 1;
                    (acc << 1) | u32::from(bit)
                });
                let got = r.get(bits);
                assert_eq!(got, want, "round {round}");
                if pos <= 64 {
                    assert_eq!(got, v & ((1u32 << bits) - 1), "round {round}");
                }
            }
        }
    }
}
