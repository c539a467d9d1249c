//! CSV input: row mode (one sample vector per row) and series mode (columns are
//! channels, cut into windows). Every bad cell is reported with file, line and column.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::data::time::{parse_time, Intervals, Sampling, TIME_COLUMN_NAMES};
use crate::Error;

/// One window of samples (raw sensor units, channels interleaved) and its label.
pub type Window = (Vec<f32>, u16);

/// Which columns to read.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Channel columns by header name; `None` takes every column but the label and time
    /// columns.
    pub columns: Option<Vec<String>>,
    /// Label column (integer class ids), if any.
    pub label_column: Option<String>,
    /// The time column, whose intervals give the sample rate ([`crate::data::time`]).
    pub time_column: TimeColumn,
    /// A column naming each row's device, person or placement: the rows of each value
    /// are a recording of their own ([`read_recordings`]). Never a channel.
    pub group_column: Option<String>,
}

/// Which column holds each row's time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TimeColumn {
    /// A column named `time` or `timestamp` (any case), if there is one: never a channel
    /// by default, and read as times if its first cell is one.
    #[default]
    Auto,
    /// This column: every cell must be a time, later than the row before.
    Named(String),
    /// None: every column may be a channel.
    Absent,
}

/// What a recording's time column said.
#[derive(Debug, Clone, PartialEq)]
pub struct Times {
    /// The column's header name.
    pub column: String,
    /// The sampling its intervals show (`None` for a single row).
    pub sampling: Option<Sampling>,
}

/// A numeric table read from CSV: one row per sample (series mode) or per vector (row
/// mode), its values in one buffer so that a recording costs its samples and no more
/// (windows are views into it, see [`crate::data::windows`]).
#[derive(Debug, Clone)]
pub struct Table {
    /// Where it came from.
    pub path: PathBuf,
    /// Names of the channel columns read.
    pub columns: Vec<String>,
    /// Values, row-major: row `r` is `values[r * width .. (r + 1) * width]` with
    /// `width = columns.len()`.
    values: Vec<f32>,
    /// Label of each row, if a label column was read.
    pub labels: Option<Vec<u16>>,
    /// What the time column said, if one was read.
    pub times: Option<Times>,
    /// With a group column: each group's value and first row, in file order (each
    /// group's rows together).
    pub groups: Option<Vec<(String, usize)>>,
}

fn data_err(path: &Path, line: usize, column: Option<&str>, message: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        line,
        column: column.map(str::to_owned),
        message,
    }
}

/// Longest CSV line read, in bytes (a row of 4,096 cells of 20 characters is 84 kB).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Longest cell text quoted in an error message.
const SHOWN_CELL: usize = 40;

/// A reader that fails on a line longer than [`MAX_LINE_BYTES`], naming it, so that no
/// record grows without bound.
struct LineLimit<R> {
    inner: R,
    line: usize,
    run: usize,
}

impl<R: std::io::Read> std::io::Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in buf.get(..n).unwrap_or(&[]) {
            if b == b'\n' {
                self.line += 1;
                self.run = 0;
            } else {
                self.run += 1;
                if self.run > MAX_LINE_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("line {} is longer than {MAX_LINE_BYTES} bytes", self.line),
                    ));
                }
            }
        }
        Ok(n)
    }
}

/// `text`, cut to [`SHOWN_CELL`] characters for a message.
fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CELL) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `fields` as one CSV record (no line end), each quoted as RFC 4180 asks where it
/// holds a comma, a quote or a line break (a quote inside doubled), as it is otherwise:
/// names from a user's data cannot add columns or rows.
pub fn csv_record<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        let f = f.as_ref();
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out
}

/// Reads every recording of `paths` (a folder stands for its `.csv` files, in name
/// order), each its own table; all must have the same channel columns (and label
/// column) as the first.
pub fn read_recordings(paths: &[PathBuf], opts: &CsvOptions) -> Result<Vec<Table>, Error> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let io = |source| Error::Io {
                path: p.clone(),
                error: source,
            };
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(io)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(io)?;
            inside.retain(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")));
            inside.sort();
            if inside.is_empty() {
                return Err(Error::Data {
                    path: p.clone(),
                    line: 0,
                    column: None,
                    message: "a folder without .csv files".into(),
                });
            }
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    let mut tables: Vec<Table> = Vec::with_capacity(files.len());
    for f in &files {
        let t = read_csv(f, opts)?;
        if let Some(first) = tables.first() {
            if t.columns != first.columns || t.labels.is_some() != first.labels.is_some() {
                return Err(Error::Data {
                    path: f.clone(),
                    line: 0,
                    column: None,
                    message: format!(
                        "channel columns {:?} differ from {:?} of {} (give --columns to pick the same ones)",
                        t.columns,
                        first.columns,
                        first.path.display()
                    ),
                });
            }
        }
        match (&opts.group_column, t.groups.is_some()) {
            (Some(column), true) => tables.extend(t.split_groups(column)),
            _ => tables.push(t),
        }
    }
    Ok(tables)
}

/// Reads a CSV file with a header row. Lines longer than [`MAX_LINE_BYTES`] are refused.
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<Table, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        error: e,
    })?;
    read_csv_from(std::io::BufReader::new(file), path, opts)
}

/// [`read_csv`] of any reader; `path` names the input in errors.
pub fn read_csv_from<R: std::io::Read>(
    input: R,
    path: &Path,
    opts: &CsvOptions,
) -> Result<Table, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(LineLimit {
            inner: input,
            line: 1,
            run: 0,
        });
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| data_err(path, 1, None, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut columns = Columns::find(header, path, opts)?;
    let mut intervals = Intervals::default();
    let mut values: Vec<f32> = Vec::new();
    let mut labels = columns.label.map(|_| Vec::new());
    let mut groups = columns.group.map(|_| Vec::<(String, usize)>::new());
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                return Err(data_err(path, line, None, e.to_string()));
            }
        }
        let row = Row {
            record: &record,
            header: &columns.header,
            path,
            line: record.position().map_or(rows + 2, |p| p.line() as usize),
        };
        row.check_width()?;
        if let (Some(i), Some(groups)) = (columns.group, groups.as_mut()) {
            let name = row.cell(i)?.trim();
            if groups.last().is_none_or(|(g, _)| g != name) {
                if groups.iter().any(|(g, _)| g == name) {
                    return Err(row.error(
                        i,
                        format!(
                            "group `{}` comes back after other groups (column {}): the rows of each group must be together; sort the file by this column, then by time",
                            shown(name),
                            i + 1
                        ),
                    ));
                }
                groups.push((name.to_owned(), rows));
                // A group's first time is not an interval after the previous group's.
                intervals.restart();
            }
        }
        for &i in &columns.channels {
            values.push(row.value(i)?);
        }
        if let Some(i) = columns.time {
            if !row.time(i, &mut intervals)? {
                // A column found by its name whose first cell is no time is not a time
                // column.
                if columns.strict_time || rows > 0 {
                    return Err(row.not_a_time(i));
                }
                columns.time = None;
            }
        }
        if let (Some(i), Some(labels)) = (columns.label, labels.as_mut()) {
            labels.push(row.label(i)?);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(data_err(
            path,
            2,
            None,
            "no data rows after the header".into(),
        ));
    }
    values.shrink_to_fit();
    debug_assert_eq!(values.len(), rows * columns.channels.len());
    let header = &columns.header;
    Ok(Table {
        path: path.to_path_buf(),
        columns: columns
            .channels
            .iter()
            .map(|&i| header[i].clone())
            .collect(),
        values,
        labels,
        times: columns.time.map(|i| Times {
            column: header[i].clone(),
            sampling: intervals.sampling(),
        }),
        groups,
    })
}

/// Which of a file's columns hold what, found from its header.
struct Columns {
    /// The header's names, trimmed.
    header: Vec<String>,
    /// Channel columns, in the order they are read (not empty).
    channels: Vec<usize>,
    label: Option<usize>,
    time: Option<usize>,
    group: Option<usize>,
    /// The time column was named: every cell must be a time.
    strict_time: bool,
}

impl Columns {
    fn find(header: Vec<String>, path: &Path, opts: &CsvOptions) -> Result<Self, Error> {
        if header.iter().all(String::is_empty) {
            return Err(data_err(path, 1, None, "empty file: no header row".into()));
        }
        let find = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| {
                data_err(
                    path,
                    1,
                    Some(name),
                    format!(
                        "no column named `{name}`; the header has: {}",
                        header.join(", ")
                    ),
                )
            })
        };
        let label = opts.label_column.as_deref().map(find).transpose()?;
        let group = opts.group_column.as_deref().map(find).transpose()?;
        let time = match &opts.time_column {
            TimeColumn::Named(name) => Some(find(name)?),
            TimeColumn::Absent => None,
            TimeColumn::Auto => header.iter().position(|h| {
                TIME_COLUMN_NAMES.iter().any(|n| h.eq_ignore_ascii_case(n))
                    && opts.columns.as_ref().is_none_or(|c| !c.contains(h))
            }),
        };
        let channels: Vec<usize> = match &opts.columns {
            Some(names) => names.iter().map(|n| find(n)).collect::<Result<_, _>>()?,
            None => (0..header.len())
                .filter(|&i| Some(i) != label && Some(i) != time && Some(i) != group)
                .collect(),
        };
        if let Some(g) =
            group.filter(|g| channels.contains(g) || Some(*g) == label || Some(*g) == time)
        {
            return Err(data_err(
                path,
                1,
                Some(&header[g]),
                "the group column cannot also be a channel, the label or the time".into(),
            ));
        }
        if let Some(t) = time.filter(|t| channels.contains(t) || Some(*t) == label) {
            return Err(data_err(
                path,
                1,
                Some(&header[t]),
                "the time column cannot also be a channel or the label".into(),
            ));
        }
        if channels.is_empty() {
            return Err(data_err(path, 1, None, "no channel columns to read".into()));
        }
        Ok(Self {
            header,
            channels,
            label,
            time,
            group,
            strict_time: matches!(opts.time_column, TimeColumn::Named(_)),
        })
    }
}

/// One data row, with what its errors name: file, line and column.
struct Row<'a> {
    record: &'a csv::ByteRecord,
    header: &'a [String],
    path: &'a Path,
    line: usize,
}

impl Row<'_> {
    fn error(&self, column: usize, message: String) -> Error {
        data_err(self.path, self.line, Some(&self.header[column]), message)
    }

    fn check_width(&self) -> Result<(), Error> {
        if self.record.len() == self.header.len() {
            return Ok(());
        }
        Err(data_err(
            self.path,
            self.line,
            None,
            format!(
                "ragged row: {} fields, the header has {}",
                self.record.len(),
                self.header.len()
            ),
        ))
    }

    /// The trimmed text of cell `i` (a column of the header: the row's width is checked).
    fn cell(&self, i: usize) -> Result<&str, Error> {
        let bytes = self.record.get(i).unwrap_or(b"");
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| self.error(i, format!("cell is not UTF-8 (column {})", i + 1)))
    }

    /// A channel's value: a finite number.
    fn value(&self, i: usize) -> Result<f32, Error> {
        let text = self.cell(i)?;
        let v: f32 = text.parse().map_err(|_| {
            self.error(
                i,
                format!("non-numeric cell `{}` (column {})", shown(text), i + 1),
            )
        })?;
        if !v.is_finite() {
            return Err(self.error(
                i,
                format!("non-finite value `{}` (column {})", shown(text), i + 1),
            ));
        }
        Ok(v)
    }

    /// Adds the time in cell `i` to `intervals`; `false` if the cell is no time.
    fn time(&self, i: usize, intervals: &mut Intervals) -> Result<bool, Error> {
        let text = self.cell(i)?;
        let Some(t) = parse_time(text) else {
            return Ok(false);
        };
        intervals.push(t).map(|()| true).map_err(|prev| {
            self.error(
                i,
                format!(
                    "time `{}` is not later than the row before's ({prev} s); rows must be in time order (column {})",
                    shown(text),
                    i + 1
                ),
            )
        })
    }

    fn not_a_time(&self, i: usize) -> Error {
        let text = self.cell(i).unwrap_or("");
        self.error(
            i,
            format!(
                "`{}` is not a time: seconds, or an ISO 8601 date and time such as 2026-12-02 17:30:00.015 (column {}); name another time column, or none",
                shown(text),
                i + 1
            ),
        )
    }

    /// A label: an integer in 0..=65535.
    fn label(&self, i: usize) -> Result<u16, Error> {
        let text = self.cell(i)?;
        text.parse().map_err(|_| {
            self.error(
                i,
                format!(
                    "label `{}` is not an integer in 0..=65535 (column {})",
                    shown(text),
                    i + 1
                ),
            )
        })
    }
}

impl Table {
    /// A table of `values` (row-major, `columns.len()` per row) and per-row `labels`.
    pub fn new(
        path: PathBuf,
        columns: Vec<String>,
        values: Vec<f32>,
        labels: Option<Vec<u16>>,
    ) -> Result<Table, Error> {
        let width = columns.len();
        let rows = values.len() / width.max(1);
        if width == 0 || values.len() != rows * width {
            return Err(data_err(
                &path,
                0,
                None,
                format!(
                    "{} values do not make rows of {width} columns",
                    values.len()
                ),
            ));
        }
        if labels.as_ref().is_some_and(|l| l.len() != rows) {
            return Err(data_err(
                &path,
                0,
                None,
                format!("labels for {rows} rows expected"),
            ));
        }
        Ok(Table {
            path,
            columns,
            values,
            labels,
            times: None,
            groups: None,
        })
    }

    /// The table's groups (of its group column `column`) as tables of their own, named
    /// `FILE [column=value]`; the table itself if it has no groups.
    pub fn split_groups(self, column: &str) -> Vec<Table> {
        let Some(groups) = &self.groups else {
            return vec![self];
        };
        let width = self.width();
        let ends = groups.iter().skip(1).map(|g| g.1).chain([self.len()]);
        groups
            .iter()
            .zip(ends)
            .map(|((name, start), end)| Table {
                path: PathBuf::from(format!("{} [{column}={name}]", self.path.display())),
                columns: self.columns.clone(),
                values: self.values[start * width..end * width].to_vec(),
                labels: self.labels.as_ref().map(|l| l[*start..end].to_vec()),
                times: self.times.clone(),
                groups: None,
            })
            .collect()
    }

    /// Values per row (the channel columns).
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.values.len() / self.width().max(1)
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Rows `[start, end)` as one slice, row-major (for series windows: interleaved
    /// `[t0 c0, t0 c1, …, t1 c0, …]`). Panics if the range is outside the table.
    pub fn span(&self, start: usize, end: usize) -> &[f32] {
        &self.values[start * self.width()..end * self.width()]
    }

    /// Every row, in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.values.chunks_exact(self.width().max(1))
    }

    /// Row `r`'s values in column order.
    pub fn row(&self, r: usize) -> &[f32] {
        self.span(r, r + 1)
    }

    /// Label of row `r` (0 without a label column).
    pub fn label(&self, r: usize) -> u16 {
        self.labels
            .as_ref()
            .and_then(|l| l.get(r).copied())
            .unwrap_or(0)
    }

    /// Cuts rows `[start, end)` into windows of `window` samples every `hop` samples;
    /// each window is interleaved `[t0 c0, t0 c1, …, t1 c0, …]`. A window's label is
    /// the label of its first sample.
    pub fn windows(
        &self,
        start: usize,
        end: usize,
        window: usize,
        hop: usize,
    ) -> Result<Vec<Window>, Error> {
        let end = end.min(self.len());
        let span = end.saturating_sub(start);
        if window == 0 || hop == 0 {
            return Err(Error::InvalidArgument(format!(
                "window ({window}) and hop ({hop}) must be at least 1"
            )));
        }
        if window > span {
            return Err(data_err(
                &self.path,
                0,
                None,
                format!(
                    "window of {window} samples is longer than the data: {span} rows in \
                     {start}..{end} (the table has {})",
                    self.len()
                ),
            ));
        }
        Ok((start..=end - window)
            .step_by(hop)
            .map(|s| (self.span(s, s + window).to_vec(), self.label(s)))
            .collect())
    }

    /// Row mode with several channels: rewrites every row from channel-major (all
    /// samples of the first channel, then of the next) to the sample-major order
    /// windows have ([`interleave`]). The column names stay those of the file.
    pub fn interleave_rows(&mut self, channels: usize) -> Result<(), Error> {
        let width = self.width();
        if channels == 0 || !width.is_multiple_of(channels) {
            return Err(data_err(
                &self.path,
                1,
                None,
                format!("rows of {width} values do not hold {channels} channels of equal length"),
            ));
        }
        if channels > 1 {
            for row in self.values.chunks_exact_mut(width) {
                let sample_major = interleave(row, channels);
                row.copy_from_slice(&sample_major);
            }
        }
        Ok(())
    }

    /// Row mode: rows `[start, end)` as windows of one row each (the row's values in
    /// column order) with the row's label, or 0 when no label column was read.
    ///
    /// `end` is clamped to the number of rows and an empty range gives no windows, so
    /// the ranges from [`split_rows`] can be passed as they are.
    pub fn row_windows(&self, start: usize, end: usize) -> Vec<Window> {
        let end = end.min(self.len());
        let start = start.min(end);
        (start..end)
            .map(|r| (self.row(r).to_vec(), self.label(r)))
            .collect()
    }
}

/// A channel-major row (`channels` runs of equal length, one per channel) in the
/// sample-major order of a window: `out[t · channels + c] = row[c · samples + t]`.
/// A row whose length `channels` does not divide is returned as it is.
pub fn interleave(row: &[f32], channels: usize) -> Vec<f32> {
    if channels <= 1 || !row.len().is_multiple_of(channels) {
        return row.to_vec();
    }
    let samples = row.len() / channels;
    (0..row.len())
        .map(|i| row[(i % channels) * samples + i / channels])
        .collect()
}

/// Splits `n` rows into contiguous train, validation and test ranges, in that order:
/// train gets the first `train` fraction of the rows, validation the next `val`
/// fraction, test the rest. Each boundary is rounded to the nearest row.
///
/// The ranges are contiguous blocks in time, so with series data no window can cross a
/// split and leak samples between them, as long as callers cut windows inside each
/// range (`table.windows(r.start, r.end, window, hop)`, or [`Table::row_windows`] in
/// row mode). Series windows with a hop shorter than the window overlap, so shuffling
/// rows or windows before splitting would leak.
///
/// The three ranges always cover `0..n` exactly. Fractions are clamped rather than
/// rejected: `train` to `0..=1` (NaN counts as 0) and `val` to what train leaves.
pub fn split_rows(n: usize, train: f64, val: f64) -> (Range<usize>, Range<usize>, Range<usize>) {
    let fraction = |f: f64, max: f64| if f.is_nan() { 0.0 } else { f.clamp(0.0, max) };
    let train = fraction(train, 1.0);
    let val = fraction(val, 1.0 - train);
    // Rounding (not truncating) keeps 0.7 × 7040 at 4928 despite 0.7 not being exact;
    // the casts saturate and `min` keeps the boundaries inside `0..=n`.
    let train_end = ((n as f64 * train).round() as usize).min(n);
    let val_end = ((n as f64 * (train + val)).round() as usize).clamp(train_end, n);
    (0..train_end, train_end..val_end, val_end..n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: usize, labelled: bool) -> Table {
        Table::new(
            PathBuf::from("test.csv"),
            vec!["a".into(), "b".into()],
            (0..rows).flat_map(|r| [r as f32, -(r as f32)]).collect(),
            labelled.then(|| (0..rows).map(|r| (r % 3) as u16).collect()),
        )
        .unwrap()
    }

    #[test]
    fn records_quote_what_would_split_a_field() {
        assert_eq!(csv_record(&["x", "y z"]), "x,y z");
        assert_eq!(
            csv_record(&["a,b", "say \"hi\"", "two\nlines"]),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\""
        );
    }

    fn assert_partition(n: usize, (tr, va, te): &(Range<usize>, Range<usize>, Range<usize>)) {
        assert_eq!(tr.start, 0);
        assert_eq!(tr.end, va.start);
        assert_eq!(va.end, te.start);
        assert_eq!(te.end, n);
        assert!(tr.start <= tr.end && va.start <= va.end && te.start <= te.end);
    }

    /// A line longer than the limit is refused with its number, not read into memory; a
    /// long bad cell is quoted cut short.
    #[test]
    fn overlong_lines_and_cells_are_refused_with_bounded_messages() {
        let dir = std::env::temp_dir().join(format!("aecodec-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("long.csv");
        let mut text = b"a,b\n1,2\n3,4\n".to_vec();
        text.extend(std::iter::repeat_n(b'7', MAX_LINE_BYTES + 10));
        text.extend(b",1\n");
        std::fs::write(&p, &text).unwrap();
        let e = read_csv(&p, &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("long.csv") && e.contains("line 4 is longer than"),
            "{e}"
        );
        let cell = "x".repeat(5000);
        std::fs::write(&p, format!("a,b\n1,{cell}\n")).unwrap();
        let e = read_csv(&p, &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("column `b`"), "{e}");
        assert!(e.len() < 200, "{} bytes: {e:.100}", e.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn split_rows_gives_contiguous_blocks_in_order() {
        let s = split_rows(7040, 0.7, 0.15);
        assert_eq!(s, (0..4928, 4928..5984, 5984..7040));
        let s = split_rows(1797, 0.7, 0.15);
        assert_partition(1797, &s);
        assert_eq!((s.0.len(), s.1.len(), s.2.len()), (1258, 269, 270));
    }

    #[test]
    fn split_rows_covers_every_row_for_any_fractions() {
        for n in [0, 1, 2, 3, 7, 10, 101, 7040] {
            for train in [0.0, 0.1, 0.5, 0.7, 0.8, 1.0] {
                for val in [0.0, 0.1, 0.15, 0.2, 0.5] {
                    let s = split_rows(n, train, val);
                    assert_partition(n, &s);
                }
            }
        }
    }

    #[test]
    fn split_rows_clamps_out_of_range_fractions() {
        assert_eq!(split_rows(10, 1.5, 0.2), (0..10, 10..10, 10..10));
        assert_eq!(split_rows(10, -0.5, 0.3), (0..0, 0..3, 3..10));
        assert_eq!(split_rows(10, 0.8, 0.5), (0..8, 8..10, 10..10));
        assert_eq!(split_rows(10, f64::NAN, f64::NAN), (0..0, 0..0, 0..10));
        assert_eq!(split_rows(10, 0.5, f64::INFINITY), (0..5, 5..10, 10..10));
    }

    #[test]
    fn series_windows_cut_inside_a_split_stay_inside_it() {
        let t = table(100, false);
        let (tr, va, te) = split_rows(t.len(), 0.6, 0.2);
        for r in [tr, va, te] {
            let ws = t.windows(r.start, r.end, 8, 3).unwrap();
            assert!(!ws.is_empty());
            for (w, _) in ws {
                // Column `a` holds the row index.
                let first = w[0] as usize;
                let last = w[w.len() - 2] as usize;
                assert!(
                    r.contains(&first) && r.contains(&last),
                    "{first}..={last} outside {r:?}"
                );
            }
        }
    }

    #[test]
    fn channel_major_rows_are_interleaved_sample_major() {
        // Two channels of three samples: a0 a1 a2 b0 b1 b2 -> a0 b0 a1 b1 a2 b2.
        assert_eq!(
            interleave(&[0.0, 1.0, 2.0, 10.0, 11.0, 12.0], 2),
            [0.0, 10.0, 1.0, 11.0, 2.0, 12.0]
        );
        assert_eq!(interleave(&[1.0, 2.0, 3.0], 1), [1.0, 2.0, 3.0]);
        let mut t = Table::new(
            "t.csv".into(),
            (0..6).map(|i| format!("v{i}")).collect(),
            (0..12).map(|i| i as f32).collect(),
            None,
        )
        .unwrap();
        t.interleave_rows(3).unwrap();
        assert_eq!(t.row(1), [6.0, 8.0, 10.0, 7.0, 9.0, 11.0]);
        assert!(t.interleave_rows(4).is_err());
    }

    #[test]
    fn row_windows_are_the_rows_with_their_labels() {
        let t = table(10, true);
        let ws = t.row_windows(2, 5);
        assert_eq!(ws.len(), 3);
        for (i, (w, label)) in ws.iter().enumerate() {
            assert_eq!(w, t.row(2 + i));
            assert_eq!(*label, ((2 + i) % 3) as u16);
        }
        // Same as windows of one row with hop 1.
        assert_eq!(ws, t.windows(2, 5, 1, 1).unwrap());
    }

    #[test]
    fn row_windows_without_labels_use_zero_and_clamp_the_range() {
        let t = table(4, false);
        let ws = t.row_windows(1, 99);
        assert_eq!(ws.len(), 3);
        assert!(ws.iter().all(|(_, l)| *l == 0));
        assert!(t.row_windows(3, 2).is_empty());
        assert!(t.row_windows(7, 9).is_empty());
        let (tr, va, te) = split_rows(t.len(), 0.5, 0.25);
        let total = t.row_windows(tr.start, tr.end).len()
            + t.row_windows(va.start, va.end).len()
            + t.row_windows(te.start, te.end).len();
        assert_eq!(total, 4);
    }
}
