//! A lossy link between the firmware pipeline's frames and a receiver, over 10^6 frames:
//! frames dropped, corrupted (bit flips and bursts), truncated, duplicated and swapped at
//! set rates. The receiver's counts must match the faults injected, and every window it
//! outputs must be the one the device sent with that index.

use aecodec_core::{FrameDecoder, Model, Precision, SequenceEvent, SequenceTracker};
use aecodec_firmware::{Config, Event, Pipeline, Sensor};
use aecodec_tests::{daphnet_ankle, host_codec, VecSink};
use aecodec_trainer::export_blob;
use aecodec_trainer::linear::{fit_linear, LinearOptions};

const FRAMES: usize = 1_000_000;
/// Samples per window, 3 channels: a small window keeps 10^6 encodes quick.
const WINDOW: usize = 8;

/// Replays the recording's rows, round and round.
struct Loop<'a> {
    rows: &'a [Vec<f32>],
    next: usize,
}

impl Sensor for Loop<'_> {
    type Error = ();
    fn read(&mut self, out: &mut [f32]) -> Result<(), ()> {
        out.copy_from_slice(&self.rows[self.next % self.rows.len()]);
        self.next += 1;
        Ok(())
    }
}

/// xorshift64*: the fault pattern, fixed by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 11) as usize % n
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Injected {
    dropped: u64,
    flipped: u64,
    burst: u64,
    truncated: u64,
    duplicated: u64,
    swapped: u64,
}

#[derive(Debug, Default)]
struct Reported {
    decoded: u64,
    rejected: u64,
    lost: i64,
    late: u64,
    duplicates: u64,
    /// Counter restarts (the sender here is never reset: must stay 0).
    restarts: u64,
    /// Windows output that are not the window sent with their index.
    wrong: u64,
}

/// Damages `frame` (COBS body and delimiter) in place: `bits` single-bit flips, or a
/// burst of up to 16 bits, inside the body; the delimiter stays.
fn corrupt(frame: &mut [u8], rng: &mut Rng, burst: bool) {
    let body_bits = (frame.len() - 1) * 8;
    if burst {
        let len = 2 + rng.below(15);
        let start = rng.below(body_bits - len);
        // first and last bit of the burst flipped, those between at random
        for b in start..start + len {
            if b == start || b == start + len - 1 || rng.below(2) == 1 {
                frame[b / 8] ^= 0x80 >> (b % 8);
            }
        }
    } else {
        let mut flipped = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let b = loop {
                let b = rng.below(body_bits);
                if !flipped.contains(&b) {
                    break b;
                }
            };
            flipped.push(b);
            frame[b / 8] ^= 0x80 >> (b % 8);
        }
    }
}

#[test]
fn lossy_link_soak_counts_every_fault_and_outputs_only_sent_windows() {
    let rows: Vec<Vec<f32>> = daphnet_ankle().rows().map(<[f32]>::to_vec).collect();
    let train = daphnet_ankle()
        .windows(0, rows.len(), WINDOW, WINDOW)
        .unwrap();
    let opts = LinearOptions {
        channels: 3,
        bits: vec![8, 7, 6, 5, 5, 4, 4, 3],
        header: aecodec_core::PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 8,
        },
    };
    let blob = export_blob(
        &fit_linear(&train, &opts).unwrap(),
        Precision::Int8Full,
        &train,
    )
    .unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    assert_eq!(model.payload_layout().bytes, 7);

    // The device: the firmware pipeline, one frame per window.
    let mut pipe =
        Pipeline::<'_, { 3 * WINDOW }, { 3 * WINDOW }>::new(&model, Config::default()).unwrap();
    let mut sensor = Loop {
        rows: &rows,
        next: 0,
    };
    let mut sink = VecSink::default();
    let mut sent: Vec<Vec<u8>> = Vec::with_capacity(FRAMES);
    let mut frames: Vec<Vec<u8>> = Vec::with_capacity(FRAMES);
    let mut device_rx = FrameDecoder::<32>::new();
    while frames.len() < FRAMES {
        if let Event::Sent { .. } = pipe.poll(&mut sensor, &mut sink) {
            let frame = std::mem::take(&mut sink.bytes);
            // what the device sent, as the payload inside its frame
            let mut payload = None;
            for &b in &frame {
                if let Some(p) = device_rx.push(b) {
                    payload = Some(p.unwrap().to_vec());
                }
            }
            sent.push(payload.unwrap());
            frames.push(frame);
        }
    }

    // The link: at most one fault per frame (a swap takes two), none in the last 8.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut injected = Injected::default();
    let mut wire: Vec<u8> = Vec::with_capacity(frames.len() * 12);
    let mut i = 0;
    while i < frames.len() {
        let roll = if i + 8 < frames.len() {
            rng.below(1000)
        } else {
            999
        };
        let mut f = frames[i].clone();
        match roll {
            0..=9 => injected.dropped += 1,
            10..=14 => {
                corrupt(&mut f, &mut rng, false);
                injected.flipped += 1;
                wire.extend(&f);
            }
            15..=19 => {
                corrupt(&mut f, &mut rng, true);
                injected.burst += 1;
                wire.extend(&f);
            }
            20..=24 => {
                let keep = 1 + rng.below(f.len() - 2);
                wire.extend(&f[..keep]);
                wire.push(0);
                injected.truncated += 1;
            }
            25..=29 => {
                wire.extend(&f);
                wire.extend(&f);
                injected.duplicated += 1;
            }
            30..=34 => {
                wire.extend(&frames[i + 1]);
                wire.extend(&f);
                injected.swapped += 1;
                i += 1;
            }
            _ => wire.extend(&f),
        }
        i += 1;
    }

    // The receiver: frames → payloads → the model's decoder, with the sequence tracker
    // placing each window at its index (repeats are not output).
    let mut rx = FrameDecoder::<32>::new();
    let mut codec = host_codec(&model).unwrap();
    let mut reference = host_codec(&model).unwrap();
    let mut seq = SequenceTracker::new(8);
    let mut newest: u64 = 0;
    let mut r = Reported::default();
    let (mut out, mut want) = ([0.0f32; 3 * WINDOW], [0.0f32; 3 * WINDOW]);
    for &b in &wire {
        let Some(frame) = rx.push(b) else { continue };
        let Ok(p) = frame else {
            r.rejected += 1;
            continue;
        };
        let Ok(info) = codec.decode(p, &mut out) else {
            r.rejected += 1;
            continue;
        };
        let index = match seq.observe(info.sequence.unwrap(), p) {
            SequenceEvent::First => 0,
            SequenceEvent::InOrder => {
                newest += 1;
                newest
            }
            SequenceEvent::Gap { lost } => {
                r.lost += i64::from(lost);
                newest += u64::from(lost) + 1;
                newest
            }
            SequenceEvent::Late { behind } => {
                r.late += 1;
                r.lost -= 1;
                newest - u64::from(behind)
            }
            SequenceEvent::Duplicate => {
                r.duplicates += 1;
                continue;
            }
            SequenceEvent::Restart { .. } => {
                r.restarts += 1;
                continue;
            }
            SequenceEvent::Untracked => unreachable!("the model has a counter"),
        };
        r.decoded += 1;
        let ok = sent.get(index as usize).is_some_and(|s| {
            reference.decode(s, &mut want).is_ok() && s.as_slice() == p && want == out
        });
        r.wrong += u64::from(!ok);
    }

    let damaged = injected.flipped + injected.burst + injected.truncated;
    let missing = injected.dropped + damaged;
    eprintln!("soak: {FRAMES} frames sent; injected {injected:?}; reported {r:?}");
    assert_eq!(r.wrong, 0, "windows output that were not sent: {r:?}");
    assert_eq!(r.decoded, FRAMES as u64 - missing);
    assert_eq!(r.duplicates, injected.duplicated);
    assert_eq!(r.late, injected.swapped);
    assert_eq!(r.restarts, 0, "a sender never reset read as one: {r:?}");
    assert_eq!(r.lost, missing as i64);
    // A flip that makes a zero byte cuts a frame in two, each piece refused.
    assert!(r.rejected >= damaged, "{r:?}");
    assert!(r.rejected <= damaged + injected.flipped * 3 + injected.burst * 16);
    // Every kind of fault happened thousands of times.
    for n in [injected.dropped, injected.duplicated, injected.swapped] {
        assert!(n > 4_000, "{injected:?}");
    }
    assert!(
        injected.flipped > 4_000 && injected.burst > 4_000,
        "{injected:?}"
    );
}
