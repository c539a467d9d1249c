//! The receiver's side of a link: the set of models it decodes with, which of them a
//! payload belongs to, each model's sequence counter, and the counts of what arrived.
//!
//! A [`ModelSet`] routes a payload by LoRaWAN FPort (when every model has one) or else
//! by the payload's length and model tag, and refuses at construction a set it could not
//! route: two models on one port, two whose payloads could pass each other's length
//! and tag checks, or models of different window shapes. Routing reads and checks the
//! payload's header without decoding ([`Model::payload_info`]), so a repeat is known
//! before the decoder runs. Fixed capacity `N`, no allocation.

pub use crate::error::Clash;
use crate::wire::payload::{model_tag, PayloadInfo, SequenceEvent, SequenceTracker};
use crate::{Error, Model};

/// The LoRaWAN FPorts that carry application payloads: 0 carries MAC commands, 224 is
/// the test protocol's and 225..=255 are reserved.
pub const APPLICATION_PORTS: core::ops::RangeInclusive<u8> = 1..=223;

/// One model of a [`ModelSet`] and its stream's sequence counter.
#[derive(Debug, Clone)]
struct Entry<'m> {
    port: Option<u8>,
    model: &'m Model<'m>,
    sequence: SequenceTracker,
}

/// The models a receiver decodes with, at most `N` of them.
#[derive(Debug, Clone)]
pub struct ModelSet<'m, const N: usize> {
    entries: [Option<Entry<'m>>; N],
    len: usize,
    by_port: bool,
}

/// A payload routed to a model of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routed {
    /// The model's index in the set.
    pub index: usize,
    /// The payload's header, checked as decoding checks it.
    pub info: PayloadInfo,
    /// What the payload's sequence counter says ([`SequenceEvent::Untracked`] without one).
    pub event: SequenceEvent,
}

/// Whether some payload would pass both models' length and tag checks.
fn indistinguishable(a: &Model<'_>, b: &Model<'_>) -> bool {
    let (la, lb) = (a.payload_layout(), b.payload_layout());
    if la.bytes != lb.bytes {
        return false;
    }
    let f = la.fingerprint_bits.min(lb.fingerprint_bits);
    let prefix = |m: &Model<'_>, bits: u8| {
        u32::from(model_tag(m.payload_fingerprint(), bits))
            .checked_shr(u32::from(bits - f))
            .unwrap_or(0)
    };
    prefix(a, la.fingerprint_bits) == prefix(b, lb.fingerprint_bits)
}

/// Whether models `a` (on `pa`) and `b` (on `pb`) cannot be used together, and why.
fn clash(a: &Model<'_>, pa: Option<u8>, b: &Model<'_>, pb: Option<u8>) -> Option<Clash> {
    let (sa, sb) = ((a.samples(), a.channels()), (b.samples(), b.channels()));
    if sa != sb {
        return Some(Clash::WindowShape {
            first: sa,
            second: sb,
        });
    }
    match (pa, pb) {
        (Some(x), Some(y)) => (x == y).then_some(Clash::SamePort),
        (None, None) => indistinguishable(a, b).then_some(Clash::Indistinguishable {
            bytes: a.payload_layout().bytes,
        }),
        _ => Some(Clash::MixedPorts),
    }
}

impl<'m, const N: usize> ModelSet<'m, N> {
    /// The set of `models`, each with its port (all with one, or none with one); refused
    /// if it is empty, holds more than `N`, or two of its models clash
    /// ([`Error::ModelSetClash`] names the first such pair by index).
    pub fn new(models: &[(Option<u8>, &'m Model<'m>)]) -> Result<Self, Error> {
        if models.is_empty() || models.len() > N {
            return Err(Error::ModelSetSize {
                count: models.len(),
                capacity: N,
            });
        }
        for (i, &(pa, a)) in models.iter().enumerate() {
            for (j, &(pb, b)) in models.iter().enumerate().skip(i + 1) {
                if let Some(why) = clash(a, pa, b, pb) {
                    return Err(Error::ModelSetClash {
                        first: i,
                        second: j,
                        clash: why,
                    });
                }
            }
        }
        let mut entries = [const { None }; N];
        for (slot, &(port, model)) in entries.iter_mut().zip(models) {
            *slot = Some(Entry {
                port,
                model,
                sequence: SequenceTracker::new(model.payload_layout().sequence_bits),
            });
        }
        Ok(ModelSet {
            entries,
            len: models.len(),
            by_port: models.iter().any(|(p, _)| p.is_some()),
        })
    }

    /// Models in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty (never, once built).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether payloads are routed by port.
    pub fn by_port(&self) -> bool {
        self.by_port
    }

    /// Model `index` of the set.
    pub fn model(&self, index: usize) -> Option<&'m Model<'m>> {
        self.entry(index).map(|e| e.model)
    }

    fn entry(&self, index: usize) -> Option<&Entry<'m>> {
        self.entries.get(index).and_then(Option::as_ref)
    }

    fn entries(&self) -> impl Iterator<Item = (usize, &Entry<'m>)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
    }

    /// The model `payload` (received on `port`) belongs to, its header, and what its
    /// sequence counter says (which the model's tracker then records).
    ///
    /// Refused: a payload on a port no model has ([`Error::UnknownPort`]), or one no
    /// model's checks pass, with the error of the model that says most about it (one
    /// whose tag matches before one that refuses the tag or the length).
    pub fn route(&mut self, port: Option<u8>, payload: &[u8]) -> Result<Routed, Error> {
        let mut best: Option<Error> = None;
        let mut found = None;
        for (i, e) in self.entries() {
            if self.by_port && e.port != port {
                continue;
            }
            match e.model.payload_info(payload) {
                Ok(info) => {
                    found = Some((i, info));
                    break;
                }
                Err(err) => {
                    let shallow = |e: &Error| {
                        matches!(e, Error::ForeignModel { .. } | Error::PayloadLength { .. })
                    };
                    if best.as_ref().is_none_or(|b| shallow(b) && !shallow(&err)) {
                        best = Some(err);
                    }
                }
            }
        }
        let Some((index, info)) = found else {
            return Err(best.unwrap_or(Error::UnknownPort { port }));
        };
        let event = match (
            info.sequence,
            self.entries.get_mut(index).and_then(Option::as_mut),
        ) {
            (Some(s), Some(e)) => e.sequence.observe(s, payload),
            _ => SequenceEvent::Untracked,
        };
        Ok(Routed { index, info, event })
    }
}

/// What a receiver counted: payloads decoded, refused by kind, and the sequence events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RxCounts {
    /// Payloads decoded.
    pub decoded: u64,
    /// Frames whose CRC failed.
    pub bad_crc: u64,
    /// Frames too short, or cut off by the end of the input.
    pub truncated: u64,
    /// Frames whose COBS encoding is broken.
    pub bad_cobs: u64,
    /// Frames longer than the receiver's buffer.
    pub overflow: u64,
    /// Payloads of a model the set does not hold (model tag).
    pub foreign: u64,
    /// Payloads of no model's length.
    pub wrong_length: u64,
    /// Payloads on a port no model has.
    pub unknown_port: u64,
    /// Input lines that hold no payload (text input).
    pub bad_lines: u64,
    /// Payloads refused for another reason (label, mode, padding).
    pub other: u64,
    /// Gaps in a model's sequence counter.
    pub gaps: u64,
    /// Payloads lost in those gaps (less those that arrived late).
    pub lost: u64,
    /// Payloads that arrived behind newer ones.
    pub late: u64,
    /// Repeats of a payload already received.
    pub duplicates: u64,
    /// Counters that started again from 0 (a sender reset).
    pub restarts: u64,
}

impl RxCounts {
    /// Every count with the name the receivers report it by (`aecodec decode --json`,
    /// Python's `Receiver.counts`), in the order of the fields.
    pub fn named(&self) -> [(&'static str, u64); 15] {
        [
            ("decoded", self.decoded),
            ("bad_crc", self.bad_crc),
            ("truncated", self.truncated),
            ("bad_cobs", self.bad_cobs),
            ("overflow", self.overflow),
            ("foreign_model", self.foreign),
            ("wrong_length", self.wrong_length),
            ("unknown_port", self.unknown_port),
            ("bad_lines", self.bad_lines),
            ("other", self.other),
            ("sequence_gaps", self.gaps),
            ("lost", self.lost),
            ("late", self.late),
            ("duplicates", self.duplicates),
            ("restarts", self.restarts),
        ]
    }

    /// Everything refused.
    pub fn rejected(&self) -> u64 {
        self.bad_crc
            + self.truncated
            + self.bad_cobs
            + self.overflow
            + self.foreign
            + self.wrong_length
            + self.unknown_port
            + self.bad_lines
            + self.other
    }

    /// Counts a frame or payload refused with `e`; returns how many of its kind have
    /// been counted (1: the first, for a receiver that reports each kind once).
    pub fn refused(&mut self, e: &Error) -> u64 {
        let n = match e {
            Error::FrameCrc { .. } => &mut self.bad_crc,
            Error::FrameTruncated { .. } => &mut self.truncated,
            Error::FrameCobs { .. } => &mut self.bad_cobs,
            Error::FrameOverflow { .. } => &mut self.overflow,
            Error::ForeignModel { .. } => &mut self.foreign,
            Error::PayloadLength { .. } => &mut self.wrong_length,
            Error::UnknownPort { .. } => &mut self.unknown_port,
            _ => &mut self.other,
        };
        *n = n.saturating_add(1);
        *n
    }

    /// Counts a sequence event; returns how many of its kind have been counted (gaps,
    /// late payloads, duplicates, restarts; 0 for the others).
    pub fn sequence(&mut self, event: SequenceEvent) -> u64 {
        let (n, lost) = match event {
            SequenceEvent::Gap { lost } => (&mut self.gaps, i64::from(lost)),
            SequenceEvent::Late { .. } => (&mut self.late, -1),
            SequenceEvent::Duplicate => (&mut self.duplicates, 0),
            SequenceEvent::Restart { lost } => (&mut self.restarts, i64::from(lost)),
            SequenceEvent::First | SequenceEvent::InOrder | SequenceEvent::Untracked => return 0,
        };
        *n = n.saturating_add(1);
        let count = *n;
        self.lost = self.lost.saturating_add_signed(lost);
        count
    }
}
