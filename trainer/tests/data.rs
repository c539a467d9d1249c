//! CSV input: every bad input is refused with an error that names the file, the line
//! and (for a bad cell) the column; the bundled recordings load with the shapes the
//! README states.

use std::path::{Path, PathBuf};

use aecodec_trainer::data::{read_csv, read_recordings, split_rows, CsvOptions, Table, TimeColumn};
use aecodec_trainer::Error;

/// A CSV file written into its own temp directory (named by process id and test, so
/// parallel tests and concurrent runs do not collide), removed when dropped.
struct Fixture {
    dir: PathBuf,
    path: PathBuf,
}

impl Fixture {
    fn new(name: &str, contents: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("aecodec-data-tests-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.csv"));
        std::fs::write(&path, contents).unwrap();
        Fixture { dir, path }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn all_columns() -> CsvOptions {
    CsvOptions::default()
}

fn columns(names: &[&str]) -> CsvOptions {
    CsvOptions {
        columns: Some(names.iter().map(|&n| n.to_owned()).collect()),
        label_column: None,
        ..Default::default()
    }
}

fn labelled(label: &str) -> CsvOptions {
    CsvOptions {
        columns: None,
        label_column: Some(label.to_owned()),
        ..Default::default()
    }
}

/// Reads `contents` as CSV, expects an `Error::Data` at `line` (and `column`), checks
/// that its Display names the file, the line and the column, and returns the Display.
fn expect_data_error(
    name: &str,
    contents: &str,
    opts: &CsvOptions,
    line: usize,
    column: Option<&str>,
) -> String {
    let f = Fixture::new(name, contents);
    let err = read_csv(&f.path, opts).expect_err("bad input must be refused");
    let shown = err.to_string();
    match &err {
        Error::Data {
            path,
            line: l,
            column: c,
            ..
        } => {
            assert_eq!(path, &f.path, "{shown}");
            assert_eq!(*l, line, "{shown}");
            assert_eq!(c.as_deref(), column, "{shown}");
        }
        other => panic!("expected Error::Data, got {other:?}"),
    }
    assert!(
        shown.contains(&f.path.display().to_string()),
        "Display must name the file: {shown}"
    );
    assert!(
        // Followed by the column or the message, so line 1 does not match line 12.
        shown.contains(&format!(", line {line}:")) || shown.contains(&format!(", line {line},")),
        "Display must name line {line}: {shown}"
    );
    if let Some(c) = column {
        assert!(
            shown.contains(&format!(", column `{c}`")),
            "Display must name column `{c}`: {shown}"
        );
    }
    shown
}

fn repo_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(name)
}

#[test]
fn rejects_ragged_row_at_its_line() {
    let shown = expect_data_error(
        "ragged",
        "a,b,c\n1,2,3\n4,5,6\n7,8\n",
        &all_columns(),
        4,
        None,
    );
    assert!(
        shown.contains("ragged row: 2 fields, the header has 3"),
        "{shown}"
    );
}

#[test]
fn counts_blank_and_quoted_multiline_lines_when_locating_a_ragged_row() {
    // Blank line 3 is skipped by the reader; the quoted cell spans lines 4–5, so the
    // short row is on line 6.
    let shown = expect_data_error(
        "ragged-after-blank",
        "a,b\n1,2\n\n\"3\n\",4\n5\n",
        &columns(&["b"]),
        6,
        None,
    );
    assert!(
        shown.contains("ragged row: 1 fields, the header has 2"),
        "{shown}"
    );
}

#[test]
fn rejects_non_numeric_cell_naming_line_and_column() {
    let shown = expect_data_error(
        "non-numeric",
        "x,y,z\n1,2,3\n4,five,6\n",
        &all_columns(),
        3,
        Some("y"),
    );
    assert!(shown.contains("non-numeric cell `five`"), "{shown}");
    assert!(shown.contains("(column 2)"), "{shown}");
}

#[test]
fn rejects_a_cell_that_is_not_utf8_naming_line_and_column() {
    let bytes = b"x,y\n1,2\n3,\xff4\n";
    let err =
        aecodec_trainer::data::read_csv_from(&bytes[..], Path::new("bin.csv"), &all_columns())
            .expect_err("bad bytes must be refused");
    match &err {
        Error::Data { line, column, .. } => {
            assert_eq!((*line, column.as_deref()), (3, Some("y")), "{err}");
        }
        other => panic!("expected Error::Data, got {other:?}"),
    }
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn rejects_nan_cell() {
    let shown = expect_data_error(
        "nan",
        "x,y\n1,2\n3,4\nNaN,5\n",
        &all_columns(),
        4,
        Some("x"),
    );
    assert!(
        shown.contains("non-finite value `NaN` (column 1)"),
        "{shown}"
    );
}

#[test]
fn rejects_infinite_cell() {
    for (i, text) in ["inf", "-inf", "infinity", "1e39"].iter().enumerate() {
        let shown = expect_data_error(
            &format!("inf-{i}"),
            &format!("x,y\n1,{text}\n"),
            &all_columns(),
            2,
            Some("y"),
        );
        assert!(
            shown.contains(&format!("non-finite value `{text}` (column 2)")),
            "{shown}"
        );
    }
}

#[test]
fn rejects_empty_file() {
    let shown = expect_data_error("empty", "", &all_columns(), 1, None);
    assert!(shown.contains("empty file"), "{shown}");
}

#[test]
fn rejects_header_without_data_rows() {
    let shown = expect_data_error("header-only", "a,b,label\n", &labelled("label"), 2, None);
    assert!(shown.contains("no data rows after the header"), "{shown}");
}

#[test]
fn rejects_unknown_column_name_listing_the_header() {
    let shown = expect_data_error(
        "unknown-column",
        "ax,ay,az\n1,2,3\n",
        &columns(&["ax", "gyro_x"]),
        1,
        Some("gyro_x"),
    );
    assert!(shown.contains("no column named `gyro_x`"), "{shown}");
    assert!(shown.contains("the header has: ax, ay, az"), "{shown}");
}

#[test]
fn rejects_labelled_model_on_file_without_label_column() {
    let shown = expect_data_error(
        "missing-label",
        "p0,p1,p2\n0,1,2\n3,4,5\n",
        &labelled("label"),
        1,
        Some("label"),
    );
    assert!(shown.contains("no column named `label`"), "{shown}");
    assert!(shown.contains("the header has: p0, p1, p2"), "{shown}");
}

#[test]
fn rejects_label_that_is_not_an_integer() {
    for (i, text) in ["2.5", "-1", "seven", "70000", ""].iter().enumerate() {
        let shown = expect_data_error(
            &format!("bad-label-{i}"),
            &format!("a,b,label\n1,2,3\n4,5,{text}\n"),
            &labelled("label"),
            3,
            Some("label"),
        );
        assert!(
            shown.contains(&format!(
                "label `{text}` is not an integer in 0..=65535 (column 3)"
            )),
            "{shown}"
        );
    }
}

fn small_series(name: &str) -> (Fixture, Table) {
    let mut csv = String::from("t,ax,ay\n");
    for i in 0..10 {
        csv.push_str(&format!("{i},{},{}\n", i * 2, i * 3));
    }
    let f = Fixture::new(name, &csv);
    let t = read_csv(&f.path, &columns(&["ax", "ay"])).unwrap();
    (f, t)
}

#[test]
fn rejects_window_longer_than_the_data_naming_both_lengths() {
    let (f, t) = small_series("short-series");
    for (start, end, span) in [(0, 10, 10), (4, 10, 6), (0, 99, 10), (12, 20, 0)] {
        let err = t.windows(start, end, 11, 1).unwrap_err();
        let shown = err.to_string();
        assert!(
            matches!(&err, Error::Data { path, line: 0, column: None, .. } if path == &f.path),
            "{err:?}"
        );
        assert!(shown.contains(&f.path.display().to_string()), "{shown}");
        assert!(shown.contains("window of 11 samples"), "{shown}");
        assert!(shown.contains(&format!("{span} rows")), "{shown}");
    }
    // A window exactly as long as the data fits.
    assert_eq!(t.windows(0, 10, 10, 1).unwrap().len(), 1);
}

#[test]
fn rejects_hop_zero_and_window_zero() {
    let (_f, t) = small_series("hop-zero");
    let err = t.windows(0, 10, 4, 0).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("hop (0)") && shown.contains("window (4)"),
        "{shown}"
    );
    let err = t.windows(0, 10, 0, 2).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains("window (0)"), "{err}");
}

#[test]
fn rejects_missing_file_with_its_path() {
    let path = std::env::temp_dir().join(format!(
        "aecodec-data-tests-{}-does-not-exist.csv",
        std::process::id()
    ));
    let err = read_csv(&path, &all_columns()).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path: p, .. } if p == &path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn bundled_daphnet_recording_loads_three_ankle_channels() {
    let path = repo_data("daphnet_s06r02e0.csv");
    let opts = CsvOptions {
        columns: Some(vec![
            "ankle_horiz_fwd".into(),
            "ankle_vert".into(),
            "ankle_horiz_lateral".into(),
        ]),
        label_column: Some("is_anomaly".into()),
        ..Default::default()
    };
    let t = read_csv(&path, &opts).unwrap();
    assert_eq!(
        t.columns,
        ["ankle_horiz_fwd", "ankle_vert", "ankle_horiz_lateral"]
    );
    assert_eq!(t.len(), 7040);
    assert!(t.rows().all(|r| r.len() == 3));
    // First data row of the file: 101,1000,297 mg.
    assert_eq!(t.row(0), [101.0, 1000.0, 297.0]);
    assert!(t.labels.as_ref().unwrap().iter().all(|&l| l == 0));
    // 70/15/15 in time, windows cut inside each block.
    let (train, val, test) = split_rows(t.len(), 0.7, 0.15);
    assert_eq!((train.end, val.end), (4928, 5984));
    let windows = t.windows(val.start, val.end, 64, 64).unwrap();
    assert_eq!(windows.len(), (val.end - val.start) / 64);
    assert!(windows.iter().all(|(w, _)| w.len() == 64 * 3));
    assert!(!t.windows(test.start, test.end, 64, 64).unwrap().is_empty());
    // Its `timestamp` column (ISO dates and times to the millisecond) says 64 Hz.
    let times = t.times.as_ref().unwrap();
    let s = times.sampling.unwrap();
    assert_eq!(
        (times.column.as_str(), s.intervals, s.gaps),
        ("timestamp", 7039, 0)
    );
    assert!((s.rate_hz - 64.0).abs() < 0.001, "{}", s.rate_hz);
}

/// A `time` column is found by its name, is never a channel by default, and gives the
/// rate; a named time column must hold times in order, and errors name line and column.
#[test]
fn a_time_column_gives_the_sample_rate_and_is_not_a_channel() {
    let f = Fixture::new(
        "time-auto",
        "Time,x\n0.00,1\n0.01,2\n0.02,3\n0.50,4\n0.51,5\n",
    );
    let t = read_csv(&f.path, &all_columns()).unwrap();
    assert_eq!(t.columns, ["x"]);
    let s = t.times.unwrap().sampling.unwrap();
    assert_eq!((s.intervals, s.gaps), (3, 1));
    assert!((s.rate_hz - 100.0).abs() < 1e-6, "{}", s.rate_hz);
    // Not a time in its first cell: not a time column (and still not a channel).
    let f = Fixture::new("time-text", "time,x\nmorning,1\nnoon,2\n");
    let t = read_csv(&f.path, &all_columns()).unwrap();
    assert_eq!(
        (t.columns.as_slice(), t.times.is_none()),
        (&["x".to_string()][..], true)
    );
    // `Absent`: every column may be a channel.
    let absent = CsvOptions {
        time_column: TimeColumn::Absent,
        ..Default::default()
    };
    let f = Fixture::new("time-absent", "time,x\n0,1\n1,2\n");
    assert_eq!(read_csv(&f.path, &absent).unwrap().columns, ["time", "x"]);
    let named = |name: &str| CsvOptions {
        time_column: TimeColumn::Named(name.into()),
        ..Default::default()
    };
    let e = expect_data_error(
        "time-back",
        "t,x\n0.0,1\n0.1,2\n0.1,3\n",
        &named("t"),
        4,
        Some("t"),
    );
    assert!(e.contains("not later than the row before"), "{e}");
    let e = expect_data_error(
        "time-bad",
        "t,x\n0.0,1\nsoon,2\n",
        &named("t"),
        3,
        Some("t"),
    );
    assert!(e.contains("is not a time"), "{e}");
    let e = expect_data_error("time-none", "x\n1\n", &named("t"), 1, Some("t"));
    assert!(e.contains("no column named `t`"), "{e}");
    // A time column that is also asked for as a channel is refused.
    let both = CsvOptions {
        columns: Some(vec!["t".into()]),
        time_column: TimeColumn::Named("t".into()),
        ..Default::default()
    };
    expect_data_error("time-both", "t,x\n0,1\n", &both, 1, Some("t"));
}

#[test]
fn bundled_digits_load_in_row_mode_with_labels() {
    let path = repo_data("digits.csv");
    let t = read_csv(&path, &labelled("label")).unwrap();
    let pixels: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
    assert_eq!(t.columns, pixels);
    assert_eq!(t.len(), 1797);
    let rows = t.row_windows(0, t.len());
    assert_eq!(rows.len(), 1797);
    let mut per_class = [0usize; 10];
    for (values, label) in &rows {
        assert_eq!(values.len(), 64);
        assert!(values
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
        assert!(*label <= 9, "label {label}");
        per_class[usize::from(*label)] += 1;
    }
    assert!(
        per_class.iter().all(|&n| n >= 150),
        "each digit at least 150 times: {per_class:?}"
    );
    assert_eq!(per_class.iter().sum::<usize>(), 1797);
    // Splits cover every image once.
    let (train, val, test) = split_rows(rows.len(), 0.7, 0.15);
    let parts = [train, val, test].map(|r| t.row_windows(r.start, r.end).len());
    assert_eq!(parts.iter().sum::<usize>(), 1797);
}

fn grouped(group: &str) -> CsvOptions {
    CsvOptions {
        group_column: Some(group.to_owned()),
        ..Default::default()
    }
}

#[test]
fn a_group_column_makes_each_group_a_recording_of_its_own() {
    // Each device's clock starts again: the time column is checked group by group.
    let f = Fixture::new(
        "groups",
        "time,device,x,y\n0.00,a,1,2\n0.01,a,3,4\n0.02,a,5,6\n0.00,b,7,8\n0.01,b,9,10\n",
    );
    let opts = grouped("device");
    let tables = read_recordings(std::slice::from_ref(&f.path), &opts).unwrap();
    assert_eq!(tables.len(), 2);
    let shown: Vec<String> = tables
        .iter()
        .map(|t| t.path.display().to_string())
        .collect();
    assert!(shown[0].ends_with("groups.csv [device=a]"), "{shown:?}");
    assert!(shown[1].ends_with("groups.csv [device=b]"), "{shown:?}");
    assert_eq!(
        tables[0].columns,
        ["x", "y"],
        "the group column is no channel"
    );
    assert_eq!(
        tables[0].rows().collect::<Vec<_>>(),
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    );
    assert_eq!(
        tables[1].rows().collect::<Vec<_>>(),
        [[7.0, 8.0], [9.0, 10.0]]
    );
    let rate = tables[0].times.as_ref().unwrap().sampling.unwrap().rate_hz;
    assert!((rate - 100.0).abs() < 1e-6, "{rate}");
}

#[test]
fn a_group_that_comes_back_after_another_is_refused_at_its_line() {
    let shown = expect_data_error(
        "groups-apart",
        "device,x\na,1\na,2\nb,3\na,4\n",
        &grouped("device"),
        5,
        Some("device"),
    );
    assert!(shown.contains("group `a` comes back"), "{shown}");
    assert!(shown.contains("sort the file by this column"), "{shown}");
    expect_data_error(
        "group-missing",
        "x\n1\n",
        &grouped("device"),
        1,
        Some("device"),
    );
    let both = CsvOptions {
        columns: Some(vec!["device".into(), "x".into()]),
        group_column: Some("device".into()),
        ..Default::default()
    };
    expect_data_error("group-channel", "device,x\na,1\n", &both, 1, Some("device"));
}
