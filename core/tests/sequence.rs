//! Random interactions between a sender and a receiver's `SequenceTracker`, in the manner
//! of quinn's `random_interaction`: each case is a sender that counts windows (and is
//! reset now and then) and a link that drops, reorders and repeats what it sent, within
//! what the counter's width can tell apart (spec/packet-format.md, "Sequence counter").
//! The receiver places every window it keeps by the events alone; no window may be kept
//! twice or placed wrongly, and every count must be exact.

use aecodec_core::{SequenceEvent, SequenceTracker};

/// xorshift64*: a small seeded generator, so every case can be run again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// A window the sender sent: its run (resets so far) and its index in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Sent {
    run: usize,
    index: usize,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    kept: u64,
    lost: u64,
    late: u64,
    duplicates: u64,
    restarts: u64,
}

/// What one case did to the windows, and what the receiver must report.
struct Case {
    bits: u8,
    /// Deliveries, in arrival order.
    arrivals: Vec<Sent>,
    /// Counter and bytes of each sent window.
    steady: bool,
    want: Counts,
}

fn payload(s: Sent, bits: u8, steady: bool) -> (u16, Vec<u8>) {
    let counter = (s.index % (1 << bits)) as u16;
    // A steady signal: the same counter carries the same bytes in every run and period.
    let bytes = if steady {
        vec![counter as u8, (counter >> 8) as u8, 0x5a]
    } else {
        vec![s.index as u8, (s.index >> 8) as u8, s.run as u8, 0xa5]
    };
    (counter, bytes)
}

fn case(rng: &mut Rng) -> Case {
    let bits = [4u8, 8, 16][rng.range(0, 2)];
    let t = SequenceTracker::new(bits);
    let (w, h) = (
        usize::from(t.reorder_window()),
        usize::from(t.repeat_horizon()),
    );
    let period = 1usize << bits;
    let steady = rng.chance(500);
    // Runs: a 4-bit counter cannot tell a reset that follows a few losses from losses
    // (spec), so only wider counters are reset here, each run long enough that its end
    // is more than the window past the new run's start, and short of the counter value
    // where a reset reads as a short gap.
    let runs = if bits == 4 { 1 } else { rng.range(1, 4) };
    let mut want = Counts::default();
    let mut arrivals: Vec<Sent> = Vec::new();
    for run in 0..runs {
        let last = run + 1 == runs;
        let len = if last {
            rng.range(1, 3 * period.min(200))
        } else {
            rng.range(3 * w + 2, (period - w - 2).min(3 * w + 120))
        };
        // Drops: runs of at most W - 2 with a delivery after each (with one swap beside,
        // the forward step stays within the window); none before the very first
        // delivery and none at a run's end (nothing tells those apart: the last windows
        // before a reset are lost uncounted, spec).
        let mut i = 0;
        let mut delivered: Vec<Sent> = Vec::new();
        while i < len {
            let first = run == 0 && delivered.is_empty();
            if !first && rng.chance(60) {
                let n = rng.range(1, w - 2);
                if i + n < len {
                    want.lost += n as u64;
                    delivered.push(Sent { run, index: i + n });
                    i += n + 1;
                    continue;
                }
            }
            delivered.push(Sent { run, index: i });
            i += 1;
        }
        // Swaps of windows sent one after the other, inside the run (never its first
        // delivery: the first of a new run must come first), none overlapping.
        let mut k = 1;
        while k + 1 < delivered.len() {
            if delivered[k + 1].index == delivered[k].index + 1 && rng.chance(50) {
                delivered.swap(k, k + 1);
                want.late += 1;
                k += 3;
            } else {
                k += 1;
            }
        }
        if run > 0 && !delivered.is_empty() {
            want.restarts += 1;
        }
        arrivals.extend(delivered);
    }
    want.kept = arrivals.len() as u64;
    // A steady signal repeats a window's bytes with its counter (one period later, or in
    // the next run): if such a twin arrives within H arrivals of it, nothing tells it
    // from a repeat (spec). Such a case is sent as a changing signal instead.
    let twins = (0..arrivals.len()).any(|i| {
        let b = arrivals[i];
        arrivals[i.saturating_sub(h)..i]
            .iter()
            .any(|a| a.index % period == b.index % period && *a != b)
    });
    let steady = steady && !twins;
    // Repeats: a copy of an arrival, delivered 1 to H arrivals after it.
    let mut out: Vec<Sent> = Vec::new();
    let mut pending: Vec<(usize, Sent)> = Vec::new();
    for (i, &s) in arrivals.iter().enumerate() {
        out.push(s);
        let mut k = 0;
        while k < pending.len() {
            if pending[k].0 == i {
                out.push(pending.swap_remove(k).1);
                want.duplicates += 1;
            } else {
                k += 1;
            }
        }
        if rng.chance(40) {
            // The horizon counts new payloads (copies between them do not count).
            pending.push((i + rng.range(1, h - 1), s));
        }
    }
    Case {
        bits,
        arrivals: out,
        steady,
        want,
    }
}

#[test]
fn random_links_lose_nothing_unseen_and_place_every_window_once() {
    let mut rng = Rng(0x5eed_a11c_e5ee_d001);
    let (mut cases, mut steady, mut faults) = (0u64, 0u64, Counts::default());
    for n in 0..3000 {
        let c = case(&mut rng);
        let mut t = SequenceTracker::new(c.bits);
        let mut got = Counts::default();
        let mut placed: Vec<Sent> = Vec::new();
        // The receiver's place for the newest window: (run, index).
        let (mut run, mut newest) = (0usize, 0usize);
        for (k, &s) in c.arrivals.iter().enumerate() {
            let (counter, bytes) = payload(s, c.bits, c.steady);
            let at = match t.observe(counter, &bytes) {
                SequenceEvent::First => {
                    newest = usize::from(counter);
                    newest
                }
                SequenceEvent::InOrder => {
                    newest += 1;
                    newest
                }
                SequenceEvent::Gap { lost } => {
                    got.lost += u64::from(lost);
                    newest += lost as usize + 1;
                    newest
                }
                SequenceEvent::Late { behind } => {
                    got.late += 1;
                    got.lost -= 1;
                    newest - usize::from(behind)
                }
                SequenceEvent::Restart { lost } => {
                    got.restarts += 1;
                    got.lost += u64::from(lost);
                    run += 1;
                    newest = lost as usize;
                    newest
                }
                SequenceEvent::Duplicate => {
                    got.duplicates += 1;
                    continue;
                }
                SequenceEvent::Untracked => unreachable!("every case has a counter"),
            };
            let here = Sent { run, index: at };
            assert_eq!(
                here, s,
                "case {n} ({} bits, steady {}), arrival {k}: placed wrongly",
                c.bits, c.steady
            );
            placed.push(here);
            got.kept += 1;
        }
        placed.sort();
        let before = placed.len();
        placed.dedup();
        assert_eq!(placed.len(), before, "case {n}: a window kept twice");
        assert_eq!(
            got, c.want,
            "case {n} ({} bits, steady {})",
            c.bits, c.steady
        );
        cases += 1;
        steady += u64::from(c.steady);
        faults.lost += c.want.lost;
        faults.late += c.want.late;
        faults.duplicates += c.want.duplicates;
        faults.restarts += c.want.restarts;
        faults.kept += c.want.kept;
    }
    eprintln!(
        "sequence: {cases} cases ({steady} of a steady signal), {faults:?} (lost, late, duplicates, restarts injected; kept: delivered)"
    );
    assert!(steady > 500, "{steady}");
    assert!(faults.lost > 10_000 && faults.late > 5_000 && faults.duplicates > 5_000);
    assert!(faults.restarts > 1_000, "{faults:?}");
}
