//! The eval job: the rate–distortion report of every codec against the classical
//! baselines on a recording: markdown, JSON and PNG plots.

use std::path::PathBuf;

use aecodec_core::Precision;

use super::sweep::{airtime_plot, rd_json, rd_markdown, rd_plot, sweep};
use super::{write_reports, REPORT_HEADER};
use crate::data::split::{Cut, Split, SplitPlan};
use crate::data::windows::HELD_OUT_SAMPLE;
use crate::data::{read_csv, CsvOptions, Window};
use crate::export::{export_blob, round_trip};
use crate::learned::train::TrainConfig;
use crate::report::plot;
use crate::Error;

/// What the eval job measures and where it writes.
#[derive(Debug, Clone)]
pub struct EvalPlan {
    /// The recording (series mode: one sample per row).
    pub data: PathBuf,
    /// Which columns to read.
    pub csv: CsvOptions,
    /// Samples per window.
    pub window: usize,
    /// Payload budgets in bytes.
    pub budgets: Vec<usize>,
    /// Training steps of the learned codecs at each budget.
    pub steps: usize,
    /// Encoder refinement passes.
    pub refine: u8,
    /// Directory for report.md, report.json, rate-distortion.png, quality-airtime.png and
    /// signals.png.
    pub out: PathBuf,
}

/// What the eval job wrote.
#[derive(Debug)]
pub struct Eval {
    /// report.md, as written.
    pub markdown: String,
    /// report.json, as written.
    pub json: serde_json::Value,
}

/// Runs the eval job: every output in `plan.out`, progress lines to `log`.
pub fn run(plan: &EvalPlan, log: &mut dyn FnMut(String)) -> Result<Eval, Error> {
    if !(1..=aecodec_core::MAX_WIDTH).contains(&plan.window) {
        return Err(Error::Plan(format!(
            "--window {}: a window holds 1 to {} values (samples × channels)",
            plan.window,
            aecodec_core::MAX_WIDTH
        )));
    }
    super::check_steps(plan.steps)?;
    if let Some(&b) = plan
        .budgets
        .iter()
        .find(|&&b| !(1..=aecodec_core::MAX_PAYLOAD_BYTES).contains(&b))
    {
        return Err(Error::Plan(format!(
            "--budgets: {b} bytes; a payload has 1 to {} bytes",
            aecodec_core::MAX_PAYLOAD_BYTES
        )));
    }
    let table = read_csv(&plan.data, &plan.csv)?;
    let channels = table.columns.len();
    let split = Split::new(
        std::slice::from_ref(&table),
        &[],
        &[],
        SplitPlan::series(plan.window),
        Cut::Series {
            window: plan.window,
            hop: 1,
        },
    )?;
    // Views into the recording: the sweep fits and measures on bounded samples of them.
    let (train, val, test) = (&split.train, &split.validation, &split.test);
    if val.is_empty() || test.is_empty() {
        return Err(Error::Data {
            path: plan.data.clone(),
            line: 0,
            column: None,
            message: format!(
                "too little data for validation and test splits of {}-sample windows",
                plan.window
            ),
        });
    }
    std::fs::create_dir_all(&plan.out).map_err(|source| Error::Io {
        path: plan.out.clone(),
        error: source,
    })?;
    log(format!(
        "aecodec eval: {} ({} rows x {channels} channels), {} train / {} validation / {} test windows",
        plan.data.display(),
        table.len(),
        train.len(),
        val.len(),
        test.len()
    ));
    let rd = sweep(
        train,
        val,
        test,
        channels,
        &plan.budgets,
        plan.steps,
        plan.refine,
        REPORT_HEADER,
        &mut |line| log(format!("  {line}")),
    )?;
    let inputs = plan.window * channels;
    let mut md = format!(
        "# aecodec rate–distortion report\n\nData: `{}`, columns {}, windows of {} samples; 15 % validation and 15 % test in blocks spread over the recording; \
         {} test windows ({} measured, evenly spread). Learned codecs trained {} steps, then {} more tuning the encoder.\n\n",
        plan.data.display(),
        table.columns.join(", "),
        plan.window,
        test.len(),
        test.len().min(HELD_OUT_SAMPLE),
        plan.steps,
        TrainConfig {
            steps: plan.steps,
            ..TrainConfig::default()
        }
        .tuning_steps()
    );
    md.push_str(&rd_markdown(&rd, inputs));
    md.push_str("\n![rate-distortion](rate-distortion.png)\n\n![quality against airtime](quality-airtime.png)\n\n![signals](signals.png)\n");
    rd_plot(&plan.out.join("rate-distortion.png"), &rd)?;
    airtime_plot(&plan.out.join("quality-airtime.png"), &rd)?;
    // One test window, original against what auto's codec at each budget decodes.
    let (w, label) = test.get(test.len() / 2);
    let window: Window = (w.to_vec(), label);
    let mut decoded = Vec::new();
    for r in &rd {
        let blob = export_blob(&r.model, Precision::F32, &[])?;
        if let Some(w) = round_trip(&blob, std::slice::from_ref(&window), plan.refine)?.pop() {
            decoded.push((format!("{} at {} B", r.chosen, r.bytes), w));
        }
    }
    plot::signals(
        &plan.out.join("signals.png"),
        "A test window (black) and auto's reconstruction at each budget",
        &table.columns,
        &window.0,
        &decoded,
        None,
    )?;
    let json = serde_json::json!({
        "data": plan.data.display().to_string(), "columns": table.columns, "window": plan.window,
        "split": {"train": train.len(), "validation": val.len(), "test": test.len()},
        "rate_distortion": rd_json(&rd, inputs),
    });
    write_reports(&plan.out, &md, &json)?;
    Ok(Eval { markdown: md, json })
}
