//! CSV reader: any bytes as a file, read with every column, and with the first two
//! header names as channel and label columns. A table that loads is cut into windows
//! (series mode, with the window and hop from the input's first bytes) and rows, and
//! the same windows read as views ([`WindowSet`]) must be the copies.
#![no_main]

use aecodec_trainer::data::windows::WindowSet;
use aecodec_trainer::data::{read_csv_from, CsvOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.csv");
    let Ok(all) = read_csv_from(data, path, &CsvOptions::default()) else {
        return;
    };
    assert!(!all.is_empty() && all.rows().all(|r| r.len() == all.columns.len()));
    assert_eq!(all.rows().count(), all.len());
    assert!(all.rows().flatten().all(|v| v.is_finite()));
    let window = usize::from(data.first().copied().unwrap_or(1) % 9);
    let hop = usize::from(data.get(1).copied().unwrap_or(1) % 5);
    if let Ok(w) = all.windows(0, all.len(), window, hop) {
        assert!(w.iter().all(|(v, _)| v.len() == window * all.columns.len()));
        let mut set = WindowSet::new();
        set.push(&all, 0, all.len(), window, hop);
        assert_eq!(set.to_vec(), w);
    }
    let rows = all.row_windows(0, all.len());
    assert_eq!(rows.len(), all.len());
    if all.columns.len() >= 2 {
        let opts = CsvOptions {
            columns: Some(vec![all.columns[0].clone()]),
            label_column: Some(all.columns[1].clone()),
            ..Default::default()
        };
        if let Ok(t) = read_csv_from(data, path, &opts) {
            assert_eq!(t.labels.as_ref().map(Vec::len), Some(t.len()));
        }
        // The second column as the time column: any cells, no panic; a rate is positive.
        let opts = CsvOptions {
            columns: Some(vec![all.columns[0].clone()]),
            time_column: aecodec_trainer::data::TimeColumn::Named(all.columns[1].clone()),
            ..Default::default()
        };
        if let Ok(t) = read_csv_from(data, path, &opts) {
            let rate = t.times.and_then(|t| t.sampling).map(|s| s.rate_hz);
            assert!(rate.is_none_or(|r| r > 0.0), "{rate:?}");
        }
    }
});
