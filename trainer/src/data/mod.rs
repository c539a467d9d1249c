//! Input data: CSV recordings ([`csv`]), their time columns ([`time`]), the training,
//! validation and test parts dealt in blocks over every recording ([`split`]), and
//! windows as views into the recordings ([`windows`]).

pub mod csv;
pub mod split;
pub mod time;
pub mod windows;

pub use csv::{
    csv_record, interleave, read_csv, read_csv_from, read_recordings, split_rows, CsvOptions,
    Table, TimeColumn, Times, Window, MAX_LINE_BYTES,
};
pub use windows::channel_ranges;
