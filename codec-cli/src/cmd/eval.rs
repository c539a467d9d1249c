//! `aecodec eval`: the rate–distortion report of every codec against the classical
//! baselines on a recording: markdown, JSON and a PNG plot.

use std::path::PathBuf;

use aecodec_trainer::job::eval::EvalPlan;

use super::common::{print_report, Columns};

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
    /// Directory for report.md, report.json, rate-distortion.png, quality-airtime.png (the
    /// chosen codec's SNR against LoRaWAN time on air) and signals.png.
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
    let plan = EvalPlan {
        data: args.data.clone(),
        csv: args.columns.options(),
        window: args.window,
        budgets: args.budgets.clone(),
        steps: args.steps,
        refine: args.refine,
        out: args.out.clone(),
    };
    let eval = aecodec_trainer::job::eval::run(&plan, &mut |line| eprintln!("{line}"))?;
    print_report(&eval.markdown, &eval.json, args.json)?;
    eprintln!(
        "outputs in {}: report.md, report.json, rate-distortion.png, quality-airtime.png, signals.png",
        args.out.display()
    );
    Ok(())
}
