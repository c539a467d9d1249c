//! Training, validation and test parts that represent every recording.
//!
//! Real files are ordered by recording, subject or class, so a split that takes the
//! first 70 % for training and the rest for validation and test leaves whole regimes
//! out of the fit (and judges the fit on them). Here each recording is cut into up to
//! [`SplitPlan::blocks`] contiguous blocks of equal length, and the blocks of all
//! recordings, in order, are dealt to the three parts so that each part's share of the
//! samples stays as close to its fraction as it can at every point of the sequence:
//! validation and test blocks are spread over the whole of every recording (and, where
//! recordings are too short to be cut, whole recordings are dealt the same way).
//!
//! Adjacent blocks of the same part are joined into one segment, and windows are cut
//! inside each segment, so no window holds samples of two parts. Where a training
//! segment meets a validation or test one, [`SplitPlan::guard`] samples at the training
//! side of the border are left out: the samples just across a border are the most alike,
//! and leaving them out keeps the held-out parts from being judged on near copies of
//! training samples.
//!
//! A user who keeps recordings apart gives whole files as validation or test data; the
//! corresponding fraction of the other files is then 0. Two other deals
//! ([`Deal`]) answer other questions: whole recordings (is the codec right on the next
//! device?) and each recording split in time (is it right on next week's data?).

use std::ops::Range;

use crate::data::windows::WindowSet;
use crate::data::Table;
use crate::Error;

/// Which part a segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// Fits the codec.
    Train,
    /// Chooses between codecs and settings.
    Validation,
    /// Only reports.
    Test,
}

impl Part {
    const ALL: [Part; 3] = [Part::Train, Part::Validation, Part::Test];

    /// Lower-case name, as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Validation => "validation",
            Part::Test => "test",
        }
    }
}

/// How recordings are dealt into parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitPlan {
    /// Share of the samples for validation, in `[0, 1)`.
    pub validation: f64,
    /// Share of the samples for the test part, in `[0, 1)`.
    pub test: f64,
    /// Most blocks per recording.
    pub blocks: usize,
    /// Shortest block, in rows; a recording is cut into fewer blocks (at least one)
    /// rather than shorter ones.
    pub min_block: usize,
    /// Rows left out at the training side of each border with a held-out segment.
    pub guard: usize,
    /// What is dealt.
    pub deal: Deal,
}

/// What a [`SplitPlan`] deals into the parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deal {
    /// Blocks of every recording, spread over it (the module's description).
    Blocks,
    /// Whole recordings (devices, people, placements): the validation and test parts are
    /// recordings the fit never saw ([`SplitPlan::recording_parts`]).
    Recordings,
    /// Each recording in time order: training first, then validation, the test part
    /// last, so that both are judged on data later than any the fit saw.
    Time,
}

impl Deal {
    /// Lower-case name, as the CLI's `--split` and `train --json` say it.
    pub fn name(self) -> &'static str {
        match self {
            Deal::Blocks => "blocks",
            Deal::Recordings => "recordings",
            Deal::Time => "time",
        }
    }
}

/// Fewest recordings that can be dealt whole: one each for training, validation and
/// test.
pub const MIN_RECORDINGS: usize = 3;

/// Blocks per recording of the CLI's split: with 15 % validation and 15 % test, 3 of
/// every 20 blocks for each, spread over the recording.
pub const DEFAULT_BLOCKS: usize = 20;

impl SplitPlan {
    /// The CLI's plan for series windows of `window` samples: 15 % validation, 15 % test,
    /// up to [`DEFAULT_BLOCKS`] blocks of at least four windows and a guard of one
    /// window.
    pub fn series(window: usize) -> SplitPlan {
        SplitPlan {
            validation: 0.15,
            test: 0.15,
            blocks: DEFAULT_BLOCKS,
            min_block: 4 * window.max(1),
            guard: window,
            deal: Deal::Blocks,
        }
    }

    /// The CLI's plan for row mode (each row one window): blocks of at least one row, no
    /// guard (rows do not overlap).
    pub fn rows() -> SplitPlan {
        SplitPlan {
            validation: 0.15,
            test: 0.15,
            blocks: DEFAULT_BLOCKS,
            min_block: 1,
            guard: 0,
            deal: Deal::Blocks,
        }
    }

    /// The part of each of `count` recordings when they are dealt whole: validation and
    /// test each get `max(1, round(fraction · count))` recordings (none for a fraction
    /// of 0), spread over the sequence (validation a third of the way into each of its
    /// stretches, test two thirds), training the rest. Refused when training would get
    /// none (fewer than [`MIN_RECORDINGS`] with both fractions above 0).
    pub fn recording_parts(&self, count: usize) -> Result<Vec<Part>, Error> {
        self.check()?;
        let share = |f: f64| {
            if f > 0.0 {
                ((f * count as f64).round() as usize).max(1)
            } else {
                0
            }
        };
        let (nv, nt) = (share(self.validation), share(self.test));
        if nv + nt >= count {
            return Err(Error::InvalidArgument(format!(
                "{count} recording(s) cannot be dealt whole into training, validation and test parts (at least {}); give more recordings (files, or a --group-column), or split by blocks",
                1 + nv + nt
            )));
        }
        let mut parts = vec![Part::Train; count];
        for (n, part, offset) in [
            (nv, Part::Validation, 1.0 / 3.0),
            (nt, Part::Test, 2.0 / 3.0),
        ] {
            for k in 0..n {
                let at = ((k as f64 + offset) * count as f64 / n as f64) as usize;
                // The next recording still in training, from `at` on (round the end).
                let free = (0..count)
                    .map(|i| (at + i) % count)
                    .find(|&i| parts[i] == Part::Train);
                if let Some(i) = free {
                    parts[i] = part;
                }
            }
        }
        Ok(parts)
    }

    fn check(&self) -> Result<(), Error> {
        let ok = |f: f64| (0.0..1.0).contains(&f);
        if !ok(self.validation) || !ok(self.test) || self.validation + self.test >= 1.0 {
            return Err(Error::InvalidArgument(format!(
                "split fractions validation {} and test {} must each be in [0, 1) and leave some data for training",
                self.validation, self.test
            )));
        }
        Ok(())
    }

    /// The segments of recordings of `lengths` rows: `(recording, rows, part)` in
    /// recording order, then row order; together with the guards they cover every row
    /// of every recording once.
    pub fn segments(&self, lengths: &[usize]) -> Result<Vec<Segment>, Error> {
        self.check()?;
        if self.deal == Deal::Time {
            return Ok(self.in_time(lengths));
        }
        if self.deal == Deal::Recordings {
            let parts = self.recording_parts(lengths.len())?;
            return Ok(lengths
                .iter()
                .zip(parts)
                .enumerate()
                .filter(|(_, (&n, _))| n > 0)
                .map(|(recording, (&n, part))| Segment {
                    recording,
                    rows: 0..n,
                    part,
                })
                .collect());
        }
        let fractions = [
            1.0 - self.validation - self.test,
            self.validation,
            self.test,
        ];
        // Blocks of every recording, in order.
        let mut blocks: Vec<(usize, Range<usize>)> = Vec::new();
        for (r, &n) in lengths.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let k = (n / self.min_block.max(1)).clamp(1, self.blocks.max(1));
            blocks.extend((0..k).map(|i| (r, i * n / k..(i + 1) * n / k)));
        }
        // Deal each block to the part furthest below its share of the rows so far
        // (ties to the earlier part): every part's share stays within one block of its
        // fraction all along the sequence.
        let mut dealt = [0usize; 3];
        let mut seen = 0usize;
        let mut segments: Vec<Segment> = Vec::new();
        for (recording, rows) in blocks {
            seen += rows.len();
            let deficit = |p: usize| fractions[p] * seen as f64 - dealt[p] as f64;
            let p = (0..3).filter(|&p| fractions[p] > 0.0).fold(0, |best, p| {
                if deficit(p) > deficit(best) {
                    p
                } else {
                    best
                }
            });
            dealt[p] += rows.len();
            let part = Part::ALL[p];
            match segments.last_mut() {
                Some(s) if s.recording == recording && s.part == part => s.rows.end = rows.end,
                _ => segments.push(Segment {
                    recording,
                    rows,
                    part,
                }),
            }
        }
        // Guards on the training side of each border with a held-out segment.
        for i in 0..segments.len() {
            if segments[i].part != Part::Train {
                continue;
            }
            let borders = |j: Option<usize>| {
                j.and_then(|j| segments.get(j)).is_some_and(|s: &Segment| {
                    s.recording == segments[i].recording && s.part != Part::Train
                })
            };
            let (before, after) = (borders(i.checked_sub(1)), borders(Some(i + 1)));
            let s = &mut segments[i];
            if before {
                s.rows.start = (s.rows.start + self.guard).min(s.rows.end);
            }
            if after {
                s.rows.end = s.rows.end.saturating_sub(self.guard).max(s.rows.start);
            }
        }
        Ok(segments)
    }

    /// [`Deal::Time`]'s segments: each recording's rows cut at the training fraction and
    /// again before the test fraction, the guard left out at the training part's end.
    fn in_time(&self, lengths: &[usize]) -> Vec<Segment> {
        let mut segments = Vec::new();
        for (recording, &n) in lengths.iter().enumerate() {
            let at = |f: f64| ((f * n as f64).round() as usize).min(n);
            let (a, b) = (at(1.0 - self.validation - self.test), at(1.0 - self.test));
            let held = a < n;
            let train_end = if held {
                a.saturating_sub(self.guard)
            } else {
                a
            };
            for (rows, part) in [
                (0..train_end, Part::Train),
                (a..b, Part::Validation),
                (b..n, Part::Test),
            ] {
                if !rows.is_empty() {
                    segments.push(Segment {
                        recording,
                        rows,
                        part,
                    });
                }
            }
        }
        segments
    }
}

/// A contiguous run of rows of one recording in one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Index of the recording.
    pub recording: usize,
    /// Its rows.
    pub rows: Range<usize>,
    /// The part.
    pub part: Part,
}

/// How windows are cut from the rows of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Each row is a window.
    Rows,
    /// Windows of `window` samples; training windows start every `hop` samples,
    /// validation windows every `window / 8`, test windows every `window` (disjoint).
    Series {
        /// Samples per window.
        window: usize,
        /// Samples between training window starts.
        hop: usize,
    },
}

impl Cut {
    /// Adds the windows of `part` in rows `rows` of `table` to `set`.
    fn push<'a>(self, set: &mut WindowSet<'a>, table: &'a Table, rows: &Range<usize>, part: Part) {
        match self {
            Cut::Rows => set.push(table, rows.start, rows.end, 1, 1),
            Cut::Series { window, hop } => {
                let hop = match part {
                    Part::Train => hop,
                    Part::Validation => window / 8,
                    Part::Test => window,
                };
                set.push(table, rows.start, rows.end, window, hop.max(1));
            }
        }
    }
}

/// The windows of each part (views into the tables), and where they came from.
#[derive(Debug, Clone)]
pub struct Split<'a> {
    /// Training windows.
    pub train: WindowSet<'a>,
    /// Validation windows.
    pub validation: WindowSet<'a>,
    /// Test windows.
    pub test: WindowSet<'a>,
    /// The segments the windows were cut from: those of the dealt recordings, then one
    /// for each file given whole, numbered after the dealt recordings, validation files
    /// first.
    pub segments: Vec<Segment>,
}

impl<'a> Split<'a> {
    /// Deals `data` by `plan` and adds the whole of `validation_files` and `test_files`
    /// to their parts. A part that has files of its own gets no share of `data` (its
    /// fraction of the plan is set to 0).
    pub fn new(
        data: &'a [Table],
        validation_files: &'a [Table],
        test_files: &'a [Table],
        plan: SplitPlan,
        cut: Cut,
    ) -> Result<Split<'a>, Error> {
        let plan = SplitPlan {
            validation: if validation_files.is_empty() {
                plan.validation
            } else {
                0.0
            },
            test: if test_files.is_empty() {
                plan.test
            } else {
                0.0
            },
            ..plan
        };
        let lengths: Vec<usize> = data.iter().map(Table::len).collect();
        let mut segments = plan.segments(&lengths)?;
        let mut split = Split {
            train: WindowSet::new(),
            validation: WindowSet::new(),
            test: WindowSet::new(),
            segments: Vec::new(),
        };
        for s in &segments {
            cut.push(split.part_mut(s.part), &data[s.recording], &s.rows, s.part);
        }
        let whole = [
            (validation_files, Part::Validation, data.len()),
            (test_files, Part::Test, data.len() + validation_files.len()),
        ];
        for (files, part, first) in whole {
            for (i, t) in files.iter().enumerate() {
                let rows = 0..t.len();
                let set = split.part_mut(part);
                let before = set.len();
                cut.push(set, t, &rows, part);
                if set.len() == before {
                    return Err(too_short(t, cut));
                }
                segments.push(Segment {
                    recording: first + i,
                    rows,
                    part,
                });
            }
        }
        split.segments = segments;
        Ok(split)
    }

    fn part_mut(&mut self, part: Part) -> &mut WindowSet<'a> {
        match part {
            Part::Train => &mut self.train,
            Part::Validation => &mut self.validation,
            Part::Test => &mut self.test,
        }
    }

    /// The windows of `part`.
    pub fn part(&self, part: Part) -> &WindowSet<'a> {
        match part {
            Part::Train => &self.train,
            Part::Validation => &self.validation,
            Part::Test => &self.test,
        }
    }

    /// Rows of each part that windows were cut from, summed over segments.
    pub fn rows(&self, part: Part) -> usize {
        self.segments
            .iter()
            .filter(|s| s.part == part)
            .map(|s| s.rows.len())
            .sum()
    }
}

fn too_short(t: &Table, cut: Cut) -> Error {
    let need = match cut {
        Cut::Rows => 1,
        Cut::Series { window, .. } => window,
    };
    Error::Data {
        path: t.path.clone(),
        line: 0,
        column: None,
        message: format!(
            "{} rows: too short for one window of {need} samples",
            t.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Window;

    #[test]
    fn a_split_in_time_tests_on_the_end_of_every_recording() {
        let plan = SplitPlan {
            deal: Deal::Time,
            ..SplitPlan::series(4)
        };
        let seg = |recording, rows, part| Segment {
            recording,
            rows,
            part,
        };
        // 100 rows: training 0..70 less the 4-row guard, validation 70..85, test 85..100.
        assert_eq!(
            plan.segments(&[100, 0, 20]).unwrap(),
            [
                seg(0, 0..66, Part::Train),
                seg(0, 70..85, Part::Validation),
                seg(0, 85..100, Part::Test),
                seg(2, 0..10, Part::Train),
                seg(2, 14..17, Part::Validation),
                seg(2, 17..20, Part::Test),
            ]
        );
        // Whole test files leave the end of each recording to validation.
        let no_test = SplitPlan { test: 0.0, ..plan };
        assert_eq!(
            no_test.segments(&[100]).unwrap(),
            [
                seg(0, 0..81, Part::Train),
                seg(0, 85..100, Part::Validation)
            ]
        );
    }

    #[test]
    fn whole_recordings_go_to_one_part_each_and_every_part_gets_one() {
        let by = SplitPlan {
            deal: Deal::Recordings,
            ..SplitPlan::series(4)
        };
        use Part::{Test as X, Train as T, Validation as V};
        assert_eq!(by.recording_parts(3).unwrap(), [T, V, X]);
        assert_eq!(by.recording_parts(6).unwrap(), [T, T, V, T, X, T]);
        for count in 3..40 {
            let parts = by.recording_parts(count).unwrap();
            let n = |p: Part| parts.iter().filter(|&&q| q == p).count();
            let share = ((0.15 * count as f64).round() as usize).max(1);
            assert_eq!((n(V), n(X)), (share, share), "{count}: {parts:?}");
            assert!(n(T) >= 1);
        }
        for count in [0, 1, 2] {
            let e = by.recording_parts(count).unwrap_err().to_string();
            assert!(e.contains("at least 3"), "{e}");
        }
        // Test files given whole: the recordings deal validation only, so 2 are enough.
        let no_test = SplitPlan { test: 0.0, ..by };
        assert_eq!(no_test.recording_parts(2).unwrap(), [V, T]);
        let e = no_test.recording_parts(1).unwrap_err().to_string();
        assert!(e.contains("at least 2"), "{e}");
        let segments = by.segments(&[100, 0, 50, 70, 80]).unwrap();
        assert_eq!(segments.len(), 4, "an empty recording has no segment");
        assert!(segments.iter().all(|s| s.rows.start == 0));
        assert_eq!(segments[0].rows, 0..100);
    }

    fn plan(guard: usize) -> SplitPlan {
        SplitPlan {
            deal: Deal::Blocks,
            validation: 0.15,
            test: 0.15,
            blocks: 20,
            min_block: 10,
            guard,
        }
    }

    fn share(segments: &[Segment], part: Part) -> usize {
        segments
            .iter()
            .filter(|s| s.part == part)
            .map(|s| s.rows.len())
            .sum()
    }

    #[test]
    fn twenty_blocks_give_three_of_each_held_out_part_spread_over_the_recording() {
        let s = plan(0).segments(&[2000]).unwrap();
        assert_eq!(share(&s, Part::Validation), 300);
        assert_eq!(share(&s, Part::Test), 300);
        assert_eq!(share(&s, Part::Train), 1400);
        // Held-out blocks in each third of the recording.
        for third in 0..3 {
            let inside = |p: Part| {
                s.iter().any(|x| {
                    x.part == p && x.rows.start >= third * 667 && x.rows.end <= (third + 1) * 667
                })
            };
            assert!(inside(Part::Validation) && inside(Part::Test), "{s:?}");
        }
        // Segments tile the recording without a guard.
        let mut end = 0;
        for x in &s {
            assert_eq!(x.rows.start, end);
            end = x.rows.end;
        }
        assert_eq!(end, 2000);
    }

    #[test]
    fn guards_come_off_the_training_side_of_each_border() {
        let open = plan(0).segments(&[2000]).unwrap();
        let guarded = plan(7).segments(&[2000]).unwrap();
        assert_eq!(open.len(), guarded.len());
        for (a, b) in open.iter().zip(&guarded) {
            assert_eq!(a.part, b.part);
            if a.part != Part::Train {
                assert_eq!(a.rows, b.rows, "held-out segments keep their rows");
            } else {
                let cut = a.rows.len() - b.rows.len();
                let borders = usize::from(a.rows.start > 0) + usize::from(a.rows.end < 2000);
                assert_eq!(cut, 7 * borders, "{a:?} -> {b:?}");
            }
        }
    }

    #[test]
    fn short_recordings_are_dealt_whole() {
        // Ten recordings of one block each: some go whole to each held-out part.
        let s = plan(5).segments(&[12; 10]).unwrap();
        assert_eq!(s.len(), 10);
        let count = |p: Part| s.iter().filter(|x| x.part == p).count();
        // 15 % of 10 recordings: one or two each.
        assert!((1..=2).contains(&count(Part::Validation)), "{s:?}");
        assert!((1..=2).contains(&count(Part::Test)), "{s:?}");
        assert_eq!(
            count(Part::Train) + count(Part::Validation) + count(Part::Test),
            10
        );
        assert!(
            s.iter().all(|x| x.rows == (0..12)),
            "no guard inside a whole recording"
        );
    }

    #[test]
    fn shares_stay_close_for_any_lengths() {
        for n in [30usize, 99, 200, 1000, 7040, 123_457] {
            for blocks in [3, 7, 20] {
                let p = SplitPlan { blocks, ..plan(0) };
                let s = p.segments(&[n]).unwrap();
                let block = n.div_ceil((n / p.min_block).clamp(1, blocks));
                for (part, f) in [(Part::Validation, 0.15), (Part::Test, 0.15)] {
                    let got = share(&s, part) as f64;
                    assert!(
                        (got - f * n as f64).abs() <= block as f64,
                        "n {n} blocks {blocks} {part:?}: {got}"
                    );
                }
                assert_eq!(s.iter().map(|x| x.rows.len()).sum::<usize>(), n);
            }
        }
    }

    /// A series of 5 regimes, each a contiguous fifth of the rows: channel 0 holds the
    /// regime, channel 1 the row index.
    fn regimes(rows: usize) -> Table {
        Table::new(
            "regimes.csv".into(),
            vec!["regime".into(), "row".into()],
            (0..rows)
                .flat_map(|r| [(r * 5 / rows) as f32, r as f32])
                .collect(),
            None,
        )
        .unwrap()
    }

    fn regimes_in(windows: &[Window]) -> std::collections::BTreeSet<u32> {
        windows.iter().map(|(w, _)| w[0] as u32).collect()
    }

    fn regimes_of(set: &WindowSet) -> std::collections::BTreeSet<u32> {
        regimes_in(&set.to_vec())
    }

    #[test]
    fn a_recording_ordered_by_regime_has_every_regime_in_the_fit() {
        let t = regimes(4000);
        let cut = Cut::Series { window: 16, hop: 4 };
        // The split of the first 70 % leaves the last regime out of the fit.
        let (tr, _, te) = crate::data::split_rows(4000, 0.7, 0.15);
        let old = t.windows(tr.start, tr.end, 16, 4).unwrap();
        assert!(!regimes_in(&old).contains(&4));
        assert_eq!(
            regimes_in(&t.windows(te.start, te.end, 16, 16).unwrap()).len(),
            1
        );
        let s = Split::new(
            std::slice::from_ref(&t),
            &[],
            &[],
            SplitPlan::series(16),
            cut,
        )
        .unwrap();
        assert_eq!(regimes_of(&s.train), (0..5).collect());
        // Held-out windows from at least three regimes each, and from every fifth of
        // the recording together.
        assert!(
            regimes_of(&s.validation).len() >= 3,
            "{:?}",
            regimes_of(&s.validation)
        );
        assert!(regimes_of(&s.test).len() >= 3, "{:?}", regimes_of(&s.test));
        let held_out = s.validation.chain(&s.test).to_vec();
        assert_eq!(regimes_in(&held_out), (0..5).collect());
        // No window holds rows of two parts, and none comes within a guard of a
        // held-out window.
        let rows = |w: &[f32]| (w[1] as usize, w[w.len() - 1] as usize);
        for part in [Part::Validation, Part::Test] {
            for (h, _) in s.part(part).iter() {
                let (a, b) = rows(h);
                let inside = s
                    .segments
                    .iter()
                    .filter(|x| x.part == part)
                    .any(|x| x.rows.contains(&a) && x.rows.contains(&b));
                assert!(inside, "{part:?} window {a}..={b}");
                for (w, _) in s.train.iter() {
                    let (c, d) = rows(w);
                    assert!(
                        d + 16 < a || b + 16 < c,
                        "train {c}..={d} next to {part:?} {a}..={b}"
                    );
                }
            }
        }
    }

    #[test]
    fn whole_files_for_validation_and_test_take_the_place_of_their_shares() {
        let (data, val, test) = (regimes(2000), regimes(300), regimes(200));
        let cut = Cut::Series {
            window: 16,
            hop: 16,
        };
        let plan = SplitPlan::series(16);
        let s = Split::new(
            std::slice::from_ref(&data),
            std::slice::from_ref(&val),
            std::slice::from_ref(&test),
            plan,
            cut,
        )
        .unwrap();
        assert_eq!(
            s.train.len(),
            2000 / 16,
            "all of --data trains, without guards"
        );
        assert_eq!(
            s.validation.len(),
            (300 - 16) / 2 + 1,
            "validation windows every 2 samples"
        );
        assert_eq!(s.test.len(), 200 / 16);
        let only_test = Split::new(
            std::slice::from_ref(&data),
            &[],
            std::slice::from_ref(&test),
            plan,
            cut,
        )
        .unwrap();
        assert!(only_test.rows(Part::Validation) > 0);
        assert_eq!(only_test.rows(Part::Test), 200);
        let whole: Vec<(usize, Part)> = s
            .segments
            .iter()
            .filter(|x| x.part != Part::Train)
            .map(|x| (x.recording, x.part))
            .collect();
        assert_eq!(whole, [(1, Part::Validation), (2, Part::Test)]);
        let short = regimes(10);
        let e = Split::new(
            std::slice::from_ref(&data),
            std::slice::from_ref(&short),
            &[],
            plan,
            cut,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("regimes.csv") && e.to_string().contains("too short"),
            "{e}"
        );
    }

    #[test]
    fn bad_fractions_are_refused() {
        for (v, t) in [(0.5, 0.5), (-0.1, 0.1), (f64::NAN, 0.1), (0.2, 1.0)] {
            let p = SplitPlan {
                validation: v,
                test: t,
                ..plan(0)
            };
            assert!(p.segments(&[100]).is_err(), "{v} {t}");
        }
        assert!(plan(0).segments(&[]).unwrap().is_empty());
    }
}
