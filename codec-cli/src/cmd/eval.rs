//! `aecodec eval`: the rate–distortion report of every codec against the classical
//! baselines on a recording: markdown, JSON and a PNG plot.

use std::path::PathBuf;

use aecodec_core::Precision;
use aecodec_trainer::data::split::{Cut, Split, SplitPlan};
use aecodec_trainer::data::windows::HELD_OUT_SAMPLE;
use aecodec_trainer::{export_blob, report::plot, round_trip};
use anyhow::{bail, Context};

use super::common::{print_report, Columns};
use aecodec_trainer::data::Window;
use aecodec_trainer::job::sweep::{rd_json, rd_markdown, rd_plot, sweep};
use aecodec_trainer::job::{write_reports, REPORT_HEADER};

/// Arguments of `eval`.
#[derive(clap::Args)]
pub struct Args {
    /// CSV recording (series mode: one sample per row).
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub columns: Columns,
    /// Samples per window.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Payload budgets in bytes.
    #[arg(long, value_delimiter = ',', default_value = "6,8,12,16,24,32")]
    pub budgets: Vec<usize>,
    /// Training steps of the learned codecs at each budget (they have the convolutional
    /// front end of `train --conv auto`).
    #[arg(long, default_value_t = 4000)]
    pub steps: usize,
    /// Directory for report.md, report.json, rate-distortion.png and signals.png.
    #[arg(long, default_value = "out/eval")]
    pub out: PathBuf,
    /// Encoder refinement passes of the core codecs (0 = the plain encoder; the report
    /// gives both).
    #[arg(long, default_value_t = aecodec_trainer::learned::train::DEFAULT_REFINE)]
    pub refine: u8,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `eval`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let table = args.columns.read(&args.data)?;
    let channels = table.columns.len();
    let split = Split::new(
        std::slice::from_ref(&table),
        &[],
        &[],
        SplitPlan::series(args.window),
        Cut::Series {
            window: args.window,
            hop: 1,
        },
    )?;
    // Views into the recording: the sweep fits and measures on bounded samples of them.
    let (train, val, test) = (&split.train, &split.validation, &split.test);
    if val.is_empty() || test.is_empty() {
        bail!(
            "{}: too little data for validation and test splits of {}-sample windows",
            args.data.display(),
            args.window
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    eprintln!(
        "aecodec eval: {} ({} rows x {channels} channels), {} train / {} validation / {} test windows",
        args.data.display(),
        table.len(),
        train.len(),
        val.len(),
        test.len()
    );
    let rd = sweep(
        train,
        val,
        test,
        channels,
        &args.budgets,
        args.steps,
        args.refine,
        REPORT_HEADER,
        &mut |line| eprintln!("  {line}"),
    )?;
    let inputs = args.window * channels;
    let mut md = format!(
        "# aecodec rate–distortion report\n\nData: `{}`, columns {}, windows of {} samples; 15 % validation and 15 % test in blocks spread over the recording; \
         {} test windows ({} measured, evenly spread). Learned codecs trained {} steps.\n\n",
        args.data.display(),
        table.columns.join(", "),
        args.window,
        test.len(),
        test.len().min(HELD_OUT_SAMPLE),
        args.steps
    );
    md.push_str(&rd_markdown(&rd, inputs));
    md.push_str("\n![rate-distortion](rate-distortion.png)\n\n![signals](signals.png)\n");
    rd_plot(&args.out.join("rate-distortion.png"), &rd)?;
    // One test window, original against what auto's codec at each budget decodes.
    let (w, label) = test.get(test.len() / 2);
    let window: Window = (w.to_vec(), label);
    let mut decoded = Vec::new();
    for r in &rd {
        let blob = export_blob(&r.model, Precision::F32, &[])?;
        if let Some(w) = round_trip(&blob, std::slice::from_ref(&window), args.refine)?.pop() {
            decoded.push((format!("{} at {} B", r.chosen, r.bytes), w));
        }
    }
    plot::signals(
        &args.out.join("signals.png"),
        "A test window (black) and auto's reconstruction at each budget",
        &table.columns,
        &window.0,
        &decoded,
        None,
    )?;
    let json = serde_json::json!({
        "data": args.data.display().to_string(), "columns": table.columns, "window": args.window,
        "split": {"train": train.len(), "validation": val.len(), "test": test.len()},
        "rate_distortion": rd_json(&rd, inputs),
    });
    write_reports(&args.out, &md, &json)?;
    print_report(&md, &json, args.json)?;
    eprintln!(
        "outputs in {}: report.md, report.json, rate-distortion.png, signals.png",
        args.out.display()
    );
    Ok(())
}
