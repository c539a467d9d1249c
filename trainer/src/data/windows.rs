//! Windows as views into recordings.
//!
//! A series window of `w` samples of `c` channels is `w` consecutive rows of its
//! [`Table`], which stores its rows in one buffer: the window's interleaved values
//! `[t0 c0, t0 c1, …, t1 c0, …]` are a slice of that buffer. A [`WindowSet`] holds
//! where its windows start, a run of evenly spaced starts per segment, so a part of a
//! recording costs a few words per segment however many windows it has. Training
//! gathers its minibatches from it; what is done per window outside the steps
//! (normalization, PCA and DCT fits, calibration, validation through the core) works on
//! a bounded [`sample`] of it.

use aecodec_core::{Model, Source};

use crate::data::{Table, Window};
use crate::Error;

/// Most windows that the work done per window outside the training steps looks at
/// (normalization, PCA and DCT fits, quantizer calibration): 16,384, evenly spread. The
/// recordings measured so far have fewer, so for them this is every window.
pub const FIT_SAMPLE: usize = 1 << 14;

/// Most validation and test windows measured through the core: 2,048, evenly spread
/// over the part (each candidate codec encodes and decodes every one of them, and the
/// test part is decoded at every precision).
pub const HELD_OUT_SAMPLE: usize = 1 << 11;

/// Windows that can be read by index: a [`WindowSet`] or materialized windows.
pub trait WindowSource {
    /// Number of windows.
    fn count(&self) -> usize;
    /// Window `i` (`i < count()`) and its label.
    fn window(&self, i: usize) -> (&[f32], u16);
}

impl WindowSource for [Window] {
    fn count(&self) -> usize {
        self.len()
    }
    fn window(&self, i: usize) -> (&[f32], u16) {
        let (w, l) = &self[i];
        (w, *l)
    }
}

impl WindowSource for Vec<Window> {
    fn count(&self) -> usize {
        self.len()
    }
    fn window(&self, i: usize) -> (&[f32], u16) {
        self.as_slice().window(i)
    }
}

/// At most `n` windows of `source`, evenly spread over it (all of them, in order, when
/// it has no more than `n`), copied out.
pub fn sample<W: WindowSource + ?Sized>(source: &W, n: usize) -> Vec<Window> {
    let len = source.count();
    let take = len.min(n);
    (0..take)
        .map(|i| {
            let (w, l) = source.window(i * len / take);
            (w.to_vec(), l)
        })
        .collect()
}

/// Windows starting every `hop` rows of one table.
#[derive(Debug, Clone, Copy)]
struct Run<'a> {
    table: &'a Table,
    /// First row of the first window.
    start: usize,
    /// Rows per window.
    rows: usize,
    /// Rows between window starts.
    hop: usize,
    /// Windows.
    count: usize,
}

/// Windows as (table, first row) runs; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct WindowSet<'a> {
    runs: Vec<Run<'a>>,
    /// Windows in `runs[..=k]`, for each `k`.
    ends: Vec<usize>,
}

impl<'a> WindowSet<'a> {
    /// No windows.
    pub fn new() -> WindowSet<'a> {
        WindowSet::default()
    }

    /// Adds the windows of `window` rows starting every `hop` rows inside rows
    /// `[start, end)` of `table` (none if the range is shorter than a window; `end` is
    /// clamped to the table). `window` and `hop` of 0 count as 1.
    pub fn push(&mut self, table: &'a Table, start: usize, end: usize, window: usize, hop: usize) {
        let (window, hop) = (window.max(1), hop.max(1));
        let end = end.min(table.len());
        if end < start + window {
            return;
        }
        let count = (end - start - window) / hop + 1;
        self.runs.push(Run {
            table,
            start,
            rows: window,
            hop,
            count,
        });
        self.ends.push(self.len() + count);
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Window `i` and its label (the label of its first row). Panics if `i >= len()`.
    pub fn get(&self, i: usize) -> (&'a [f32], u16) {
        let k = self.ends.partition_point(|&end| end <= i);
        let run = &self.runs[k];
        let before = if k == 0 { 0 } else { self.ends[k - 1] };
        let first = run.start + (i - before) * run.hop;
        (
            run.table.span(first, first + run.rows),
            run.table.label(first),
        )
    }

    /// The windows of `self`, then those of `other`.
    pub fn chain(&self, other: &WindowSet<'a>) -> WindowSet<'a> {
        let mut set = self.clone();
        for run in &other.runs {
            set.runs.push(*run);
            set.ends.push(set.len() + run.count);
        }
        set
    }

    /// Every window, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [f32], u16)> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Every window, copied out.
    pub fn to_vec(&self) -> Vec<Window> {
        self.iter().map(|(w, l)| (w.to_vec(), l)).collect()
    }
}

impl WindowSource for WindowSet<'_> {
    fn count(&self) -> usize {
        self.len()
    }
    fn window(&self, i: usize) -> (&[f32], u16) {
        self.get(i)
    }
}

/// Rewrites each row of `table` from channel-major to the sample-major order of the
/// model's windows, for a model of rows of several channels (nothing otherwise).
pub fn to_model_order(table: &mut Table, model: &Model<'_>) -> Result<(), Error> {
    if model.source() == Source::Rows && table.width() == model.input_dim() {
        table.interleave_rows(model.channels())?;
    }
    Ok(())
}

/// The windows of `table` (its rows in the model's order: [`to_model_order`]) for `model`, as views into it: nothing is copied. One per
/// row for a model of rows, else windows of the model's samples every `hop` rows
/// (default: a whole window).
pub fn windows_for<'t>(
    table: &'t Table,
    model: &Model<'_>,
    hop: Option<usize>,
) -> Result<WindowSet<'t>, Error> {
    let (width, input_dim) = (table.width(), model.input_dim());
    let columns = || format!("{} column(s) {}", width, table.columns.join(", "));
    let refuse = |message: String| {
        Err(Error::Data {
            path: table.path.clone(),
            line: 0,
            column: None,
            message,
        })
    };
    let mut set = WindowSet::new();
    match model.source() {
        Source::Rows if width == input_dim => set.push(table, 0, table.len(), 1, 1),
        Source::Rows => {
            return refuse(format!(
                "the model takes one window of {input_dim} values per row, and the CSV has {}",
                columns()
            ))
        }
        Source::Series if width == model.channels() => {
            let window = model.samples();
            let hop = hop.unwrap_or(window);
            if hop == 0 {
                return Err(Error::Plan("--hop must be at least 1".into()));
            }
            if table.len() < window {
                return refuse(format!(
                    "{} rows, shorter than one window of {window} samples",
                    table.len()
                ));
            }
            set.push(table, 0, table.len(), window, hop);
        }
        Source::Series => {
            return refuse(format!(
                "the model takes windows of {} channel(s){}, and the CSV has {} (give --columns)",
                model.channels(),
                match model.channel_names().collect::<Vec<_>>() {
                    n if n.is_empty() => String::new(),
                    n => format!(" ({})", n.join(", ")),
                },
                columns()
            ))
        }
    }
    Ok(set)
}

/// Each of `channels` interleaved channels' lowest and highest sample in `windows`.
pub fn channel_ranges<'w>(
    windows: impl Iterator<Item = &'w [f32]>,
    channels: usize,
) -> Vec<(f32, f32)> {
    let channels = channels.max(1);
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); channels];
    for w in windows {
        for (i, &v) in w.iter().enumerate() {
            let r = &mut ranges[i % channels];
            *r = (r.0.min(v), r.1.max(v));
        }
    }
    ranges
        .into_iter()
        .map(|(lo, hi)| if lo <= hi { (lo, hi) } else { (0.0, 0.0) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize) -> Table {
        Table::new(
            "t.csv".into(),
            vec!["row".into(), "neg".into()],
            (0..rows).flat_map(|r| [r as f32, -(r as f32)]).collect(),
            Some((0..rows).map(|r| (r % 5) as u16).collect()),
        )
        .unwrap()
    }

    #[test]
    fn a_set_reads_the_windows_the_table_cuts() {
        let (a, b) = (table(100), table(37));
        let mut set = WindowSet::new();
        set.push(&a, 3, 90, 8, 3);
        set.push(&b, 0, 37, 8, 8);
        set.push(&b, 30, 35, 8, 1); // shorter than a window: nothing
        set.push(&a, 95, 200, 2, 1); // end clamped to the table
        let mut expected = a.windows(3, 90, 8, 3).unwrap();
        expected.extend(b.windows(0, 37, 8, 8).unwrap());
        expected.extend(a.windows(95, 100, 2, 1).unwrap());
        assert_eq!(set.len(), expected.len());
        assert_eq!(set.to_vec(), expected);
        for (i, (w, l)) in expected.iter().enumerate() {
            assert_eq!(set.window(i), (w.as_slice(), *l));
        }
        assert_eq!(sample(&set, usize::MAX), expected);
    }

    #[test]
    fn chains_and_samples_keep_order_and_spread() {
        let t = table(1000);
        let (mut x, mut y) = (WindowSet::new(), WindowSet::new());
        x.push(&t, 0, 500, 10, 1);
        y.push(&t, 600, 1000, 10, 10);
        let both = x.chain(&y);
        assert_eq!(both.len(), x.len() + y.len());
        assert_eq!(both.get(x.len()), y.get(0));
        let s = sample(&both, 50);
        assert_eq!(s.len(), 50);
        // Evenly spread: first rows increase and reach into the second run.
        let firsts: Vec<f32> = s.iter().map(|(w, _)| w[0]).collect();
        assert!(firsts.windows(2).all(|p| p[0] < p[1]), "{firsts:?}");
        assert!(firsts[49] >= 600.0, "{firsts:?}");
        assert!(sample(&WindowSet::new(), 10).is_empty());
    }
}
