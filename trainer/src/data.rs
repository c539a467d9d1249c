//! CSV input: row mode (one sample vector per row) and series mode (columns are
//! channels, cut into windows). Every bad cell is reported with file, line and column.

use std::path::{Path, PathBuf};

use crate::Error;

/// One window of samples (raw sensor units, channels interleaved) and its label.
pub type Window = (Vec<f32>, u16);

/// Which columns to read.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Channel columns by header name; `None` takes every column but the label column.
    pub columns: Option<Vec<String>>,
    /// Label column (integer class ids), if any.
    pub label_column: Option<String>,
}

/// A numeric table read from CSV: one row per sample (series mode) or per vector (row mode).
#[derive(Debug, Clone)]
pub struct Table {
    /// Where it came from.
    pub path: PathBuf,
    /// Names of the channel columns read.
    pub columns: Vec<String>,
    /// Values, row-major.
    pub rows: Vec<Vec<f32>>,
    /// Label of each row, if a label column was read.
    pub labels: Option<Vec<u16>>,
}

fn data_err(path: &Path, line: usize, column: Option<&str>, message: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        line,
        column: column.map(str::to_owned),
        message,
    }
}

/// Reads a CSV file with a header row.
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<Table, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(file);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| data_err(path, 1, None, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
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
    let label_idx = opts.label_column.as_deref().map(find).transpose()?;
    let channel_idx: Vec<usize> = match &opts.columns {
        Some(names) => names.iter().map(|n| find(n)).collect::<Result<_, _>>()?,
        None => (0..header.len())
            .filter(|&i| Some(i) != label_idx)
            .collect(),
    };
    if channel_idx.is_empty() {
        return Err(data_err(path, 1, None, "no channel columns to read".into()));
    }
    let mut rows = Vec::new();
    let mut labels = label_idx.map(|_| Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            data_err(path, line, None, e.to_string())
        })?;
        let line = record
            .position()
            .map_or(rows.len() + 2, |p| p.line() as usize);
        if record.len() != header.len() {
            return Err(data_err(
                path,
                line,
                None,
                format!(
                    "ragged row: {} fields, the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
        }
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let mut row = Vec::with_capacity(channel_idx.len());
        for &i in &channel_idx {
            let text = cell(i);
            let v: f32 = text.parse().map_err(|_| {
                data_err(
                    path,
                    line,
                    Some(&header[i]),
                    format!("non-numeric cell `{text}` (column {})", i + 1),
                )
            })?;
            if !v.is_finite() {
                return Err(data_err(
                    path,
                    line,
                    Some(&header[i]),
                    format!("non-finite value `{text}` (column {})", i + 1),
                ));
            }
            row.push(v);
        }
        if let (Some(i), Some(labels)) = (label_idx, labels.as_mut()) {
            let text = cell(i);
            let l: u16 = text.parse().map_err(|_| {
                data_err(
                    path,
                    line,
                    Some(&header[i]),
                    format!(
                        "label `{text}` is not an integer in 0..=65535 (column {})",
                        i + 1
                    ),
                )
            })?;
            labels.push(l);
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(data_err(
            path,
            2,
            None,
            "no data rows after the header".into(),
        ));
    }
    Ok(Table {
        path: path.to_path_buf(),
        columns: channel_idx.iter().map(|&i| header[i].clone()).collect(),
        rows,
        labels,
    })
}

impl Table {
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
        let end = end.min(self.rows.len());
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
                format!("window of {window} samples is longer than the data ({span} rows)"),
            ));
        }
        Ok((start..=end - window)
            .step_by(hop)
            .map(|s| {
                let w = self.rows[s..s + window].iter().flatten().copied().collect();
                let label = self.labels.as_ref().map_or(0, |l| l[s]);
                (w, label)
            })
            .collect())
    }
}
