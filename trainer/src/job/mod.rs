//! The jobs the `aecodec` verbs run: fitting a codec to a user's recordings
//! ([`train`]), the end-to-end demonstration on the bundled recording ([`demo`]), the
//! rate–distortion report of a recording ([`eval`]), the export of a trained model as
//! blobs, source or a LoRaWAN codec ([`export`]), anomaly scores ([`anomaly`]) and the sweep behind `demo` and
//! `eval` ([`sweep`]). Each takes a plan the
//! caller has checked and returns what it did; printing is the caller's.

pub mod anomaly;
pub mod demo;
pub mod eval;
pub mod export;
pub mod sweep;
pub mod train;

use std::path::Path;

use aecodec_core::PayloadHeader;

use crate::fsio::write_atomic;
use crate::Error;

/// The payload header of every codec in the reports (`demo` and `eval`).
pub const REPORT_HEADER: PayloadHeader = PayloadHeader {
    fingerprint_bits: 4,
    sequence_bits: 4,
};

/// Writes a report's markdown and JSON into `out` as report.md and report.json.
pub fn write_reports(out: &Path, md: &str, json: &serde_json::Value) -> Result<(), Error> {
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    let text = serde_json::to_string_pretty(json)
        .map_err(|e| Error::InvalidArgument(format!("report.json: {e}")))?;
    write_atomic(&out.join("report.json"), text.as_bytes())
}

/// Refuses `--steps 0` for a job that trains a learned codec: it would ship random
/// weights.
pub(crate) fn check_steps(steps: usize) -> Result<(), crate::Error> {
    if steps == 0 {
        return Err(crate::Error::Plan(
            "--steps 0: a learned codec trains for at least one step (the classical ones, linear, dct and switch, take none)".into(),
        ));
    }
    Ok(())
}
